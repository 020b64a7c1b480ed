"""Lateralized spasm detector: the performance-critical loop.

Input per frame: a timestamp, a validity flag and the FILTERED per-side features
eye_open and mouth (no video, no I/O).  Output: events.

How it decides, per side s (o = the other side):
1. Normalise to the person.  closure_s = 1 - eye_open_s / B_s, where B_s is a high
   quantile of that eye's own recent valid openings (its open-eye level).  Resting
   asymmetry cancels because each eye is measured against itself.
2. Separate one side from both.  lateral_s = (open_o - open_s) / open_o (open = 1 -
   closure) is large only when s closes and o does not; it is judged only while o is
   open enough to compare (see `lateral`).  bilateral = min(closure_l, closure_r),
   measured above its lowest level of the last blink_floor_s, is large only when both
   close; a two-sided run is a blink if both eyes closed alike (MediaPipe drags the open
   eye's landmarks partly along with a closing one) and for <= blink_max_s.
3. Hysteresis with person-adapted thresholds: a run is a stretch above the 'off' level
   (half the 'on' level) that reaches 'on' somewhere.  'on' is the larger of a floor and
   noise_k robust SDs of that eye's frame-to-frame jitter.  A one-sided run survives a
   brief blind stretch (the other eye blinking mid-spasm) of up to blink_max_s, and its
   onset is dated back to where the lid began to move (tangent method).
4. A same-side mouth-corner pull (a quick rise of that corner over the other one, so
   talking and smiling cancel) lowers the eye threshold by mouth_boost.  The event is
   eye+mouth when such a pull STARTS with one of its twitches (-cocontraction_s to
   +mouth_lag_s around the lid's onset): co-contraction is strong evidence of HFS, while a
   corner that moves later in a long hold (talking through it) proves nothing.  The mouth
   alone never makes an event.
5. Interval rules (events.py): one-sided runs at the edge of, or inside, a blink are its
   uneven edge; twitches closer than merge_gap_s form one clonic train; a sustained
   closure of >= tonic_s makes it tonic.

Two drivers of the same rules: `StreamingDetector.update` handles one frame at a time
(live and analyze), `detect_recording` handles a whole stored recording vectorised
(`twitchcam detect`).  They give identical events; tests hold them to it.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from twitchcam.anatomy import SIDES
from twitchcam.events import (Event, Run, blink_event, group_twitches, has_mouth, is_absorbed,
                              spasm_event, tangent_onset, with_onset)

RISE_BEFORE, RISE_AFTER = 2, 6  # frames around a run's start that the tangent method looks at


@dataclass(frozen=True)
class DetectorParams:
    baseline_window_s: float = 20.0  # open-eye level: quantile over this much valid time
    open_quantile: float = 0.9
    update_every_s: float = 1.0  # how often the person's statistics are refreshed
    calibration_s: float = 1.0  # valid time needed before any event can be reported
    spasm_on: float = 0.2  # floor of the one-sided 'on' level (relative opening difference)
    other_open_min: float = 0.5  # laterality is judged only while the other eye is this open
    open_max: float = 1.5  # an eye 'more open' than this x its open level means a stale baseline
    blink_on: float = 0.35  # floor of the two-sided 'on' level
    blink_symmetry: float = 0.5  # a blink closes both eyes alike: min >= this * max
    blink_floor_s: float = 1.0  # a blink rises above the lowest two-sided closure of this recent past
    blink_max_s: float = 0.5  # longer two-sided closures (smiling, looking down) are no blinks; DOMAIN: 100-400 ms
    noise_k: float = 4.0  # 'on' is at least noise_k robust SDs of the eye's jitter
    off_ratio: float = 0.5  # 'off' level = off_ratio * 'on'
    mouth_rise: float = 0.14  # one corner rising this much over the other (face units) is a pull
    mouth_floor_s: float = 0.5  # ... measured from its lowest level over this recent past
    mouth_boost: float = 0.75  # eye 'on' level is multiplied by this during a same-side pull
    min_event_s: float = 0.06
    merge_gap_s: float = 0.3  # twitches closer than this form one clonic train (DOMAIN: 150-300 ms)
    tonic_s: float = 1.0
    blink_absorb_s: float = 0.07  # about two frames at 30 fps
    onset_back_s: float = 0.15  # how far the tangent method may move an onset back
    blink_edge_s: float = 0.15  # one-sided closures this brief touching a two-sided one are its edge
    cocontraction_rise: float = 0.10  # a same-side pull of this much (a weaker one than mouth_rise)...
    cocontraction_s: float = 0.1  # ...starting from this long before a twitch's onset...
    mouth_lag_s: float = 0.3  # ...to this long after it marks eye+mouth (<= merge_gap_s + min_event_s)

    def to_dict(self) -> dict:
        return asdict(self)


JITTER = 1.4826 / np.sqrt(2.0)  # robust SD of a signal from the MAD of its differences


def _order_stat(a: np.ndarray, k: int) -> float:
    return float(np.partition(a, k)[k])


def _median(a: np.ndarray) -> float:
    """Exact median from order statistics, so it does not depend on the order of `a`."""
    n = a.size
    if n % 2:
        return _order_stat(a, n // 2)
    lo, hi = np.partition(a, [n // 2 - 1, n // 2])[[n // 2 - 1, n // 2]]
    return float((lo + hi) / 2.0)


@dataclass(frozen=True)
class SideStats:
    open_level: float
    eye_noise: float  # robust SD of frame-to-frame jitter, in closure units
    on: float
    off: float


def side_stats(eye: np.ndarray, p: DetectorParams) -> SideStats:
    """The person's statistics for one side from a window of valid filtered values, oldest first.

    Noise is measured on frame-to-frame differences (MAD / sqrt 2): landmark jitter, not the
    slow changes of expression that a level MAD would mistake for noise.
    """
    open_level = _order_stat(eye, int(p.open_quantile * (eye.size - 1)))
    open_level = max(open_level, 1e-6)
    eye_noise = JITTER * _median(np.abs(np.diff(eye))) / open_level
    on = max(p.spasm_on, p.noise_k * eye_noise)
    return SideStats(open_level, eye_noise, on, p.off_ratio * on)


def blink_levels(stats: tuple[SideStats, SideStats], p: DetectorParams) -> tuple[float, float]:
    """Two-sided 'on'/'off' rise above the recent floor (see blink_floor_s)."""
    rise = max(p.blink_on, p.noise_k * max(s.eye_noise for s in stats))
    return rise, p.off_ratio * rise


@dataclass(frozen=True)
class Schedule:
    """Frame counts derived from the nominal frame rate."""

    window: int
    every: int
    calibration: int

    @classmethod
    def of(cls, p: DetectorParams, fps: float) -> "Schedule":
        return cls(max(3, round(p.baseline_window_s * fps)), max(1, round(p.update_every_s * fps)),
                   max(3, round(p.calibration_s * fps)))

    def is_update(self, count: int) -> bool:
        return count >= self.calibration and (count - self.calibration) % self.every == 0


def lateral(c_self, c_other, ok, p: DetectorParams):
    """How much more side s is closed than the other, relative to how open the other is.

    A relative difference, so a symmetric narrowing (smiling, squinting) cancels; 0 where
    `ok` (from `comparable`) says it cannot be judged.  Works on floats (streaming) and
    arrays (whole recording) alike.
    """
    r_self, r_other = 1.0 - c_self, 1.0 - c_other
    return np.where(ok, (r_other - r_self) / np.maximum(r_other, p.other_open_min), 0.0)


def comparable(c_self, c_other, p: DetectorParams):
    """Whether laterality can be judged: the other eye open enough to compare against and
    both readings sane, since MediaPipe's eyes are unreliable when both are nearly closed."""
    r_self, r_other = 1.0 - c_self, 1.0 - c_other
    return (r_other >= p.other_open_min) & (r_other <= p.open_max) & (r_self <= p.open_max)


def hold_through(above_off: np.ndarray, blind: np.ndarray, t: np.ndarray, hold_s: float) -> np.ndarray:
    """Vectorised twin of _RunState.hold: a run open when laterality goes blind (the other
    eye blinks) stays open through that stretch if it lasts no longer than hold_s."""
    out = above_off.copy()
    edges = np.diff(np.concatenate([[0], blind.view(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if a > 0 and above_off[a - 1] and t[b - 1] - t[a] <= hold_s:
            out[a:b] = True
    return out


def is_bilateral(run: Run, p: DetectorParams) -> bool:
    """A two-sided run that reached 'on', lasted, and closed both eyes alike."""
    return run.accepted and run.duration_s >= p.min_event_s and run.peak >= p.blink_symmetry * run.ref_peak


def is_blink(run: Run, p: DetectorParams) -> bool:
    """A two-sided closure as brief as a blink (longer ones: looking down, resting the eyes)."""
    return is_bilateral(run, p) and run.duration_s <= p.blink_max_s


class _SlidingMin:
    """Minimum of the last n pushed values (monotonic deque, O(1) amortised)."""

    def __init__(self, n: int):
        self.n = n
        self.i = 0
        self.q: deque[tuple[int, float]] = deque()

    def push(self, x: float) -> float:
        q = self.q
        while q and q[-1][1] >= x:
            q.pop()
        q.append((self.i, x))
        if q[0][0] <= self.i - self.n:
            q.popleft()
        self.i += 1
        return q[0][1]


def sliding_min(x: np.ndarray, n: int) -> np.ndarray:
    """Vectorised twin of _SlidingMin: min of each value and the n-1 before it."""
    padded = np.concatenate([np.full(n - 1, np.inf), x])
    return np.lib.stride_tricks.sliding_window_view(padded, n).min(axis=1)


class _RunState:
    """Streaming run extraction for one signal (see detector step 3)."""

    __slots__ = ("open", "onset", "peak", "ref_peak", "accepted", "blind_since")

    def __init__(self):
        self.open = False
        self.onset = self.peak = self.ref_peak = 0.0
        self.accepted = False
        self.blind_since = math.nan

    def hold(self, t: float, hold_s: float) -> Run | None:
        """A frame on which the signal cannot be judged: keep an open run open for up to
        hold_s, else end it where the blind stretch began."""
        if math.isnan(self.blind_since):
            self.blind_since = t
        if t - self.blind_since <= hold_s:
            return None
        return self.step(self.blind_since, False, False, 0.0)

    def step(self, t: float, above_off: bool, above_on: bool, value: float, ref: float = 0.0) -> Run | None:
        self.blind_since = math.nan
        if above_off:
            if self.open:
                if value > self.peak:
                    self.peak = value
                if ref > self.ref_peak:
                    self.ref_peak = ref
                self.accepted = self.accepted or above_on
            else:
                self.open, self.onset, self.peak, self.ref_peak, self.accepted = True, t, value, ref, above_on
            return None
        if self.open:
            self.open = False
            return Run(self.onset, t, self.peak, self.accepted, self.ref_peak)
        return None


class StreamingDetector:
    """One frame at a time; each call returns the events that became final at that frame.

    A spasm is reported (`started`, and later the event's detected_at_s) as soon as its
    first twitch is confirmed; its events.csv row follows once no further twitch can
    join the train (merge_gap_s after the last one).

    input_lag_s is how far the (causally filtered) inputs trail the face; event times are
    moved back by it, while detected_at_s stays the stream time at which we knew.
    """

    def __init__(self, fps: float, params: DetectorParams = DetectorParams(), input_lag_s: float = 0.0):
        self.p = params
        self.lag = input_lag_s
        self.schedule = Schedule.of(params, fps)
        self.recalibrate()
        self._lateral = [_RunState(), _RunState()]
        self._bilateral = _RunState()
        self._floor = _SlidingMin(max(1, round(params.blink_floor_s * fps)))
        self._mouth_floor = [_SlidingMin(max(1, round(params.mouth_floor_s * fps))) for _ in SIDES]
        self._mouth = [_RunState(), _RunState()]
        self._unconfirmed: list[list[tuple[Run, float]]] = [[], []]  # closed runs and their tangent onsets
        self._group: list[list[Run]] = [[], []]
        self._reported_at = [math.nan, math.nan]
        self.started: list[tuple[str, float]] = []  # spasms first reported at the last update: (side, onset_s)
        self._bilaterals: list[Run] = []  # recent two-sided closures, whose edges are no spasms
        self._mouth_runs: list[list[Run]] = [[], []]
        self._recent = [deque(maxlen=RISE_BEFORE), deque(maxlen=RISE_BEFORE)]  # (t, lateral) before now
        self._rise: list[list[tuple[float, float]]] = [[], []]  # (t, lateral) from just before a run's start
        self.closure = (math.nan, math.nan)  # last frame's per-side closure, for frames.csv

    def recalibrate(self) -> None:
        """Forget the person's statistics (e.g. after they moved or changed lighting)."""
        w = self.schedule.window
        self._eye_ring = np.zeros((2, w))
        self._count = 0
        self._stats: tuple[SideStats, SideStats] | None = None
        self._blink_levels = (math.inf, math.inf)

    @property
    def calibrating(self) -> bool:
        return self._stats is None

    @property
    def stats(self) -> tuple[SideStats, SideStats] | None:
        return self._stats

    def update(self, t_stream: float, valid: bool, eye_open: tuple[float, float],
               mouth: tuple[float, float]) -> list[Event]:
        p = self.p
        stats = self._stats
        t = t_stream - self.lag
        self.started = []
        if valid:
            slot = self._count % self.schedule.window
            self._eye_ring[:, slot] = eye_open
            self._count += 1
            if self.schedule.is_update(self._count):
                w = self.schedule.window
                if self._count <= w:
                    eye = self._eye_ring[:, :self._count]
                else:  # oldest first, as side_stats wants
                    eye = np.roll(self._eye_ring, -(self._count % w), axis=1)
                stats = self._stats = (side_stats(eye[0], p), side_stats(eye[1], p))
                self._blink_levels = blink_levels(stats, p)
        events: list[Event] = []
        if valid and stats is not None:
            c = (1.0 - float(eye_open[0]) / stats[0].open_level, 1.0 - float(eye_open[1]) / stats[1].open_level)
            pull = (float(mouth[0]) - float(mouth[1]), float(mouth[1]) - float(mouth[0]))
            self.closure = c
            bil = min(c)
            rise = bil - self._floor.push(bil)
            run = self._bilateral.step(t, rise > self._blink_levels[1], rise >= self._blink_levels[0], bil, max(c))
            if run is not None:
                self._on_blink_run(run, events)
            for s in (0, 1):
                o = 1 - s
                corner_rise = pull[s] - self._mouth_floor[s].push(pull[s])
                pulled = corner_rise >= p.mouth_rise
                moving = corner_rise >= p.cocontraction_rise
                run = self._mouth[s].step(t, moving, moving, pull[s])
                if run is not None:
                    self._mouth_runs[s].append(run)
                ok = comparable(c[s], c[o], p)
                lat = float(lateral(c[s], c[o], ok, p))
                was_open = self._lateral[s].open
                if not ok and was_open:
                    run = self._lateral[s].hold(t, p.blink_max_s)  # the other eye blinked mid-spasm
                else:
                    on = stats[s].on * p.mouth_boost if pulled else stats[s].on
                    run = self._lateral[s].step(t, lat > stats[s].off, lat >= on, c[s])
                self._track_rise(s, t, lat, was_open)
                if run is not None:
                    self._on_lateral_run(s, run)
        else:
            self.closure = (math.nan, math.nan)
            for floor in (self._floor, *self._mouth_floor):
                floor.push(math.inf)
            self._close_all(t, events)
            for s in (0, 1):
                self._track_rise(s, t, math.nan, False)
        for s in (0, 1):
            self._confirm(s, t, t_stream, events, final=False)
            self._flush(s, t, events, final=False)
        self._prune(t)
        return events

    def finish(self, t_end: float) -> list[Event]:
        """End of stream (stream time): close what is open and report everything still pending."""
        events: list[Event] = []
        t = t_end - self.lag
        self.started = []
        self._close_all(t, events)
        for s in (0, 1):
            self._confirm(s, t, t_end, events, final=True)
            self._flush(s, t, events, final=True)
        return events

    # -- internals -----------------------------------------------------------------------
    def _close_all(self, t: float, events: list[Event]) -> None:
        run = self._bilateral.step(t, False, False, 0.0)
        if run is not None:
            self._on_blink_run(run, events)
        for s in (0, 1):
            run = self._mouth[s].step(t, False, False, 0.0)
            if run is not None:
                self._mouth_runs[s].append(run)
            run = self._lateral[s].step(t, False, False, 0.0)
            if run is not None:
                self._on_lateral_run(s, run)

    def _on_blink_run(self, run: Run, events: list[Event]) -> None:
        if is_bilateral(run, self.p):
            self._bilaterals.append(run)
            if is_blink(run, self.p):
                events.append(blink_event(run, run.offset_s + self.lag))

    def _track_rise(self, s: int, t: float, lat: float, was_open: bool) -> None:
        """Keep the few (t, lateral) samples around a run's start for tangent_onset."""
        if self._lateral[s].open and not was_open:
            self._rise[s] = list(self._recent[s])
        if self._lateral[s].open and len(self._rise[s]) < RISE_BEFORE + RISE_AFTER:
            self._rise[s].append((t, lat))
        self._recent[s].append((t, lat))

    def _on_lateral_run(self, s: int, run: Run) -> None:
        if run.accepted and run.duration_s >= self.p.min_event_s:
            pts = self._rise[s]
            onset = tangent_onset([a for a, _ in pts], [b for _, b in pts], run.onset_s, self.p.onset_back_s)
            self._unconfirmed[s].append((run, onset))

    def _confirm(self, s: int, t: float, t_stream: float, events: list[Event], final: bool) -> None:
        """A closed run is judged blink_absorb_s after it ended: a twitch, or a blink's edge."""
        pending = self._unconfirmed[s]
        absorb = self.p.blink_absorb_s
        bil = self._bilateral
        while pending and (final or t >= pending[0][0].offset_s + absorb):
            run, onset = pending.pop(0)
            if is_absorbed(run, self._bilaterals, absorb, self.p.blink_edge_s, self.p.blink_max_s,
                           bil.onset if bil.open else None, t):
                continue
            run = with_onset(run, onset)
            if self._group[s] and run.onset_s - self._group[s][-1].offset_s >= self.p.merge_gap_s:
                self._emit(s, events)
            if not self._group[s]:  # a new spasm: report it now, its train may still grow
                self._reported_at[s] = t_stream
                self.started.append((SIDES[s], run.onset_s))
            self._group[s].append(run)

    def _flush(self, s: int, t: float, events: list[Event], final: bool) -> None:
        """Report a train once no further twitch can join it."""
        group = self._group[s]
        if not group:
            return
        if not final:
            horizon = group[-1].offset_s + self.p.merge_gap_s
            lat = self._lateral[s]
            # An open run may yet be dated back by up to onset_back_s.
            if t < horizon or (lat.open and lat.onset - self.p.onset_back_s < horizon) or any(
                    onset < horizon for _, onset in self._unconfirmed[s]):
                return
        self._emit(s, events)

    def _emit(self, s: int, events: list[Event]) -> None:
        """The train is complete; detected_at_s is when its first twitch was reported."""
        group = self._group[s]
        mouth_runs = list(self._mouth_runs[s])
        if self._mouth[s].open:
            mouth_runs.append(Run(self._mouth[s].onset, math.inf, 0.0, True))
        mouth = has_mouth([r.onset_s for r in group], mouth_runs, self.p.cocontraction_s, self.p.mouth_lag_s)
        events.append(spasm_event(SIDES[s], group, mouth, self.p.tonic_s, self._reported_at[s]))
        self._group[s] = []

    def _prune(self, t: float) -> None:
        """Keep memory flat: drop blinks and mouth runs no pending twitch can still touch."""
        oldest_off = min([t] + [r.offset_s for side in self._unconfirmed for r, _ in side])
        oldest_on = min([t] + [r.onset_s for side in self._unconfirmed for r, _ in side])
        horizon = min(oldest_off, oldest_on) - self.p.blink_absorb_s
        if self._bilaterals and self._bilaterals[0].offset_s < horizon:
            self._bilaterals = [b for b in self._bilaterals if b.offset_s >= horizon]
        for s in (0, 1):
            starts = [t] + [onset for _, onset in self._unconfirmed[s]] + [r.onset_s for r in self._group[s][:1]]
            if self._lateral[s].open:
                starts.append(self._lateral[s].onset - self.p.onset_back_s)
            keep_from = min(starts) - self.p.cocontraction_s
            runs = self._mouth_runs[s]
            if runs and runs[0].offset_s < keep_from:
                self._mouth_runs[s] = [m for m in runs if m.offset_s >= keep_from]


# -- whole-recording driver ---------------------------------------------------------------

def _run_bounds(above_off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First frame of each run of True, and the first frame after it."""
    edges = np.diff(np.concatenate([[0], above_off.view(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _runs(t: np.ndarray, t_end: float, above_off: np.ndarray, above_on: np.ndarray,
          value: np.ndarray, ref: np.ndarray | None = None) -> list[Run]:
    """Vectorised twin of _RunState over a whole recording.

    reduceat reduces from one run's start to the next one's, so callers pass `above_on`
    and `value` already masked outside the runs (False, -inf).
    """
    starts, ends = _run_bounds(above_off)
    if starts.size == 0:
        return []
    peaks = np.maximum.reduceat(value, starts)
    refs = np.maximum.reduceat(ref, starts) if ref is not None else np.zeros(starts.size)
    hit = np.maximum.reduceat(above_on.view(np.int8), starts) > 0
    t_after = np.append(t, t_end)
    return [Run(float(t[a]), float(t_after[b]), float(pk), bool(h), float(rf))
            for a, b, pk, h, rf in zip(starts, ends, peaks, hit, refs)]


def _absorption_judge(t: np.ndarray, b_runs: list[Run], starts: np.ndarray, ends: np.ndarray, p: DetectorParams):
    """is_absorbed as the streaming detector applies it: blink_absorb_s after the twitch,
    with the two-sided closures ended by then and the one still open then."""
    kept = [k for k, r in enumerate(b_runs) if is_bilateral(r, p)]
    closures = [b_runs[k] for k in kept]
    kept_ends = ends[kept]

    def absorbed(twitch: Run) -> bool:
        now = int(np.searchsorted(t, twitch.offset_s + p.blink_absorb_s, side="left"))
        if now >= t.size:  # judged at the end of the stream, when everything has ended
            return is_absorbed(twitch, closures, p.blink_absorb_s, p.blink_edge_s, p.blink_max_s)
        known = closures[:int(np.searchsorted(kept_ends, now, side="right"))]
        k = int(np.searchsorted(starts, now, side="right")) - 1
        open_onset = float(t[starts[k]]) if k >= 0 and ends[k] > now else None
        return is_absorbed(twitch, known, p.blink_absorb_s, p.blink_edge_s, p.blink_max_s, open_onset, float(t[now]))

    return absorbed


@dataclass
class DetectionResult:
    events: list[Event]
    closure: np.ndarray  # (n, 2) per-side closure, NaN where invalid or calibrating
    calibrated: np.ndarray  # (n,) bool


def _rows_median(a: np.ndarray) -> np.ndarray:
    """_median of every row at once (same order statistics, same arithmetic)."""
    m = a.shape[1]
    mid = [m // 2] if m % 2 else [m // 2 - 1, m // 2]
    part = np.partition(a, mid, axis=1)
    return part[:, m // 2] if m % 2 else (part[:, mid[0]] + part[:, mid[1]]) / 2.0


def _window_stats(eye: np.ndarray, p: DetectorParams) -> np.ndarray:
    """side_stats for many equal-length windows at once (rows), as a (rows, 4) array.

    Order statistics are exact whatever the route, so this matches side_stats bit for bit.
    """
    n = eye.shape[1]
    kq = int(p.open_quantile * (n - 1))
    median = _rows_median
    open_level = np.maximum(np.partition(eye, kq, axis=1)[:, kq], 1e-6)
    eye_noise = JITTER * median(np.abs(np.diff(eye, axis=1))) / open_level
    on = np.maximum(p.spasm_on, p.noise_k * eye_noise)
    return np.stack([open_level, eye_noise, on, p.off_ratio * on], axis=1)


def person_stats(t: np.ndarray, valid: np.ndarray, eye_open: np.ndarray, p: DetectorParams, fps: float):
    """Per-frame statistics arrays exactly as the streaming detector would have them."""
    n = t.size
    sched = Schedule.of(p, fps)
    vidx = np.flatnonzero(valid)
    eye_v = eye_open[vidx]
    counts = np.arange(1, vidx.size + 1)
    upd = np.flatnonzero((counts >= sched.calibration) & ((counts - sched.calibration) % sched.every == 0))
    # Per frame: index into the list of updates in force (-1 = still calibrating).
    which = np.full(n, -1)
    which[vidx[upd]] = np.arange(upd.size)
    np.maximum.accumulate(which, out=which)
    table = np.full((max(upd.size, 1), 2, 4), np.nan)
    blink = np.full((max(upd.size, 1), 2), np.inf)
    ends = counts[upd]
    short = ends < sched.window  # windows still filling up: one by one
    for k in np.flatnonzero(short):
        c = ends[k]
        st = tuple(side_stats(eye_v[:c, s], p) for s in (0, 1))
        table[k] = [(x.open_level, x.eye_noise, x.on, x.off) for x in st]
        blink[k] = blink_levels(st, p)
    full = np.flatnonzero(~short)
    if full.size:
        w = sched.window
        eye_w = [np.lib.stride_tricks.sliding_window_view(eye_v[:, s], w)[ends[full] - w] for s in (0, 1)]
        for s in (0, 1):
            table[full, s] = _window_stats(eye_w[s], p)
        rise = np.maximum(p.blink_on, p.noise_k * np.maximum(table[full, 0, 1], table[full, 1, 1]))
        blink[full] = np.stack([rise, p.off_ratio * rise], axis=1)
    return which, table, blink


def detect_recording(t: np.ndarray, valid: np.ndarray, eye_open: np.ndarray, mouth: np.ndarray,
                     fps: float, params: DetectorParams = DetectorParams(),
                     t_end: float | None = None, input_lag_s: float = 0.0) -> DetectionResult:
    """All events of a stored recording at once; same rules and results as StreamingDetector.

    detected_at_s is left NaN for spasms: it describes a live run, not the recording.
    """
    p = params
    t = np.asarray(t, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    eye_open = np.asarray(eye_open, dtype=np.float64).reshape(-1, 2)
    mouth = np.asarray(mouth, dtype=np.float64).reshape(-1, 2)
    n = t.size
    if t_end is None:
        t_end = float(t[-1] + 1.0 / fps) if n else 0.0
    t = t - input_lag_s  # content time, as in StreamingDetector.update
    t_end = t_end - input_lag_s
    which, table, blink_tab = person_stats(t, valid, eye_open, p, fps)
    live = valid & (which >= 0)
    w = np.where(live, which, 0)
    st = table[w]  # (n, 2, 6)
    closure = 1.0 - eye_open / st[:, :, 0]
    closure = np.where(live[:, None], closure, np.nan)
    c_safe = np.where(live[:, None], closure, 0.0)

    events: list[Event] = []
    bil = np.minimum(c_safe[:, 0], c_safe[:, 1])
    rise = bil - sliding_min(np.where(live, bil, np.inf), max(1, round(p.blink_floor_s * fps)))
    blink_on, blink_off = blink_tab[w, 0], blink_tab[w, 1]
    b_off = live & (rise > blink_off)
    b_runs = _runs(t, t_end, b_off, b_off & (rise >= blink_on), np.where(b_off, bil, -np.inf),
                   np.where(b_off, np.maximum(c_safe[:, 0], c_safe[:, 1]), -np.inf))
    events.extend(blink_event(r, r.offset_s + input_lag_s) for r in b_runs if is_blink(r, p))
    absorbed = _absorption_judge(t, b_runs, *_run_bounds(b_off), p)
    for s in (0, 1):
        o = 1 - s
        pull = mouth[:, s] - mouth[:, o]
        floor = sliding_min(np.where(live, pull, np.inf), max(1, round(p.mouth_floor_s * fps)))
        pulled = live & (pull - floor >= p.mouth_rise)
        moving = live & (pull - floor >= p.cocontraction_rise)
        mouth_runs = _runs(t, t_end, moving, moving, np.where(moving, pull, -np.inf))
        ok = comparable(c_safe[:, s], c_safe[:, o], p)
        lat = lateral(c_safe[:, s], c_safe[:, o], ok, p)
        on = np.where(pulled, st[:, s, 2] * p.mouth_boost, st[:, s, 2])
        l_off = live & (lat > st[:, s, 3])
        held = hold_through(l_off, live & ~ok, t, p.blink_max_s)
        runs = _runs(t, t_end, held, l_off & (lat >= on), np.where(l_off, c_safe[:, s], -np.inf))
        rise = np.where(live, lat, np.nan)
        twitches = []
        for r, a, b in zip(runs, *_run_bounds(held)):
            if r.accepted and r.duration_s >= p.min_event_s and not absorbed(r):
                near = slice(max(0, a - RISE_BEFORE), min(a + RISE_AFTER, b))  # as _track_rise keeps them
                twitches.append(with_onset(r, tangent_onset(t[near].tolist(), rise[near].tolist(), r.onset_s,
                                                            p.onset_back_s)))
        for group in group_twitches(twitches, p.merge_gap_s):
            with_mouth = has_mouth([r.onset_s for r in group], mouth_runs, p.cocontraction_s, p.mouth_lag_s)
            events.append(spasm_event(SIDES[s], group, with_mouth, p.tonic_s, math.nan))
    events.sort(key=lambda e: (e.onset_s, e.side))
    return DetectionResult(events, closure, which >= 0)
