"""Lateralized spasm detector: the performance-critical loop.

Input per frame: a timestamp, a validity flag and the FILTERED per-side features
eye_open and mouth (no video, no I/O).  Output: events.

How it decides, per side s (o = the other side):
1. Normalise to the person.  closure_s = 1 - eye_open_s / B_s, where B_s is a high
   quantile of that eye's own recent valid openings (its open-eye level).  Resting
   asymmetry cancels because each eye is measured against itself.
2. Separate one side from both.  lateral_s = closure_s - max(closure_o, 0) is large only
   when s closes and o does not; bilateral = min(closure_l, closure_r) is large only when
   both close.  Blinks show up in `bilateral`, one-sided spasms in `lateral`.
3. Hysteresis with person-adapted thresholds: a run is a stretch above the 'off' level
   (half the 'on' level) that reaches 'on' somewhere.  The on level is the larger of a
   floor and k times that eye's robust (MAD) noise.  Starting the run at the 'off'
   crossing dates the onset to the start of the rise, not to the threshold crossing.
4. Same-side mouth corner pulled up/out (robust z, relative to the other corner so that
   talking and smiling cancel) lowers the eye threshold: co-contraction is strong
   evidence of HFS.  The mouth alone never makes an event.
5. Interval rules (events.py): one-sided runs that sit inside a blink are its uneven
   edge; twitches closer than merge_gap_s form one clonic train; a sustained closure of
   >= tonic_s makes it tonic.

Two drivers of the same rules: `StreamingDetector.update` handles one frame at a time
(live and analyze), `detect_recording` handles a whole stored recording vectorised
(`twitchcam detect`).  They give identical events; tests hold them to it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from twitchcam.anatomy import SIDES
from twitchcam.events import (Event, Run, blink_event, group_twitches, has_mouth, is_absorbed,
                              spasm_event)


@dataclass(frozen=True)
class DetectorParams:
    baseline_window_s: float = 20.0  # open-eye level: quantile over this much valid time
    open_quantile: float = 0.9
    update_every_s: float = 1.0  # how often the person's statistics are refreshed
    calibration_s: float = 1.0  # valid time needed before any event can be reported
    spasm_on: float = 0.3  # floor of the one-sided 'on' level (fraction of own open gap)
    blink_on: float = 0.35  # floor of the two-sided 'on' level
    noise_k: float = 4.0  # 'on' is at least noise_k robust SDs of the eye signal
    off_ratio: float = 0.5  # 'off' level = off_ratio * 'on'
    mouth_z: float = 3.0  # robust z of one corner over the other that counts as a pull
    mouth_floor: float = 0.01  # smallest mouth noise trusted (face units)
    mouth_boost: float = 0.75  # eye 'on' level is multiplied by this during a same-side pull
    min_event_s: float = 0.06
    merge_gap_s: float = 0.15  # DOMAIN: 150-300 ms; live must report within 250 ms of the end
    tonic_s: float = 1.0
    blink_absorb_s: float = 0.07  # about two frames at 30 fps
    cocontraction_s: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


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
    eye_noise: float  # robust SD of closure
    mouth_median: float
    mouth_scale: float
    on: float
    off: float


def side_stats(eye: np.ndarray, mouth: np.ndarray, p: DetectorParams) -> SideStats:
    """The person's statistics for one side from a window of valid filtered values."""
    open_level = _order_stat(eye, int(p.open_quantile * (eye.size - 1)))
    open_level = max(open_level, 1e-6)
    eye_noise = 1.4826 * _median(np.abs(eye - _median(eye))) / open_level
    mouth_median = _median(mouth)
    mouth_scale = max(1.4826 * _median(np.abs(mouth - mouth_median)), p.mouth_floor)
    on = max(p.spasm_on, p.noise_k * eye_noise)
    return SideStats(open_level, eye_noise, mouth_median, mouth_scale, on, p.off_ratio * on)


def blink_levels(stats: tuple[SideStats, SideStats], p: DetectorParams) -> tuple[float, float]:
    on = max(p.blink_on, p.noise_k * max(s.eye_noise for s in stats))
    return on, p.off_ratio * on


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


class _RunState:
    """Streaming run extraction for one signal (see detector step 3)."""

    __slots__ = ("open", "onset", "peak", "accepted")

    def __init__(self):
        self.open = False
        self.onset = 0.0
        self.peak = 0.0
        self.accepted = False

    def step(self, t: float, above_off: bool, above_on: bool, value: float) -> Run | None:
        if above_off:
            if self.open:
                if value > self.peak:
                    self.peak = value
                self.accepted = self.accepted or above_on
            else:
                self.open, self.onset, self.peak, self.accepted = True, t, value, above_on
            return None
        if self.open:
            self.open = False
            return Run(self.onset, t, self.peak, self.accepted)
        return None


class StreamingDetector:
    """One frame at a time; each call returns the events that became final at that frame.

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
        self._mouth = [_RunState(), _RunState()]
        self._unconfirmed: list[list[Run]] = [[], []]
        self._group: list[list[Run]] = [[], []]
        self._blinks: list[Run] = []
        self._mouth_runs: list[list[Run]] = [[], []]
        self.closure = (math.nan, math.nan)  # last frame's per-side closure, for frames.csv

    def recalibrate(self) -> None:
        """Forget the person's statistics (e.g. after they moved or changed lighting)."""
        w = self.schedule.window
        self._eye_ring = np.zeros((2, w))
        self._mouth_ring = np.zeros((2, w))
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
        if valid:
            slot = self._count % self.schedule.window
            self._eye_ring[:, slot] = eye_open
            self._mouth_ring[:, slot] = mouth
            self._count += 1
            if self.schedule.is_update(self._count):
                n = min(self._count, self.schedule.window)
                stats = self._stats = (side_stats(self._eye_ring[0, :n], self._mouth_ring[0, :n], p),
                                       side_stats(self._eye_ring[1, :n], self._mouth_ring[1, :n], p))
                self._blink_levels = blink_levels(stats, p)
        events: list[Event] = []
        if valid and stats is not None:
            c = (1.0 - float(eye_open[0]) / stats[0].open_level, 1.0 - float(eye_open[1]) / stats[1].open_level)
            z = ((float(mouth[0]) - stats[0].mouth_median) / stats[0].mouth_scale,
                 (float(mouth[1]) - stats[1].mouth_median) / stats[1].mouth_scale)
            self.closure = c
            bil = min(c)
            run = self._bilateral.step(t, bil > self._blink_levels[1], bil >= self._blink_levels[0], bil)
            if run is not None:
                self._on_blink_run(run, events)
            for s in (0, 1):
                o = 1 - s
                pulled = z[s] - max(z[o], 0.0) >= p.mouth_z
                run = self._mouth[s].step(t, pulled, pulled, z[s])
                if run is not None:
                    self._mouth_runs[s].append(run)
                lat = c[s] - max(c[o], 0.0)
                on = stats[s].on * p.mouth_boost if pulled else stats[s].on
                run = self._lateral[s].step(t, lat > stats[s].off, lat >= on, c[s])
                if run is not None:
                    self._on_lateral_run(s, run)
        else:
            self.closure = (math.nan, math.nan)
            self._close_all(t, events)
        for s in (0, 1):
            self._confirm(s, t, t_stream, events, final=False)
            self._flush(s, t, t_stream, events, final=False)
        self._prune(t)
        return events

    def finish(self, t_end: float) -> list[Event]:
        """End of stream (stream time): close what is open and report everything still pending."""
        events: list[Event] = []
        t = t_end - self.lag
        self._close_all(t, events)
        for s in (0, 1):
            self._confirm(s, t, t_end, events, final=True)
            self._flush(s, t, t_end, events, final=True)
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
        if run.accepted and run.duration_s >= self.p.min_event_s:
            self._blinks.append(run)
            events.append(blink_event(run, run.offset_s + self.lag))

    def _on_lateral_run(self, s: int, run: Run) -> None:
        if run.accepted and run.duration_s >= self.p.min_event_s:
            self._unconfirmed[s].append(run)

    def _confirm(self, s: int, t: float, t_stream: float, events: list[Event], final: bool) -> None:
        """A closed run becomes a twitch once every blink that could contain it has closed."""
        pending = self._unconfirmed[s]
        absorb = self.p.blink_absorb_s
        bil = self._bilateral
        while pending and (final or (t >= pending[0].offset_s + absorb and not (
                bil.open and bil.onset <= pending[0].onset_s + absorb))):
            run = pending.pop(0)
            if is_absorbed(run, self._blinks, self.p.blink_absorb_s):
                continue
            group = self._group[s]
            if group and run.onset_s - group[-1].offset_s >= self.p.merge_gap_s:
                self._emit(s, t_stream, events)
            group.append(run)

    def _flush(self, s: int, t: float, t_stream: float, events: list[Event], final: bool) -> None:
        """Report a train once no further twitch can join it."""
        group = self._group[s]
        if not group:
            return
        if not final:
            horizon = group[-1].offset_s + self.p.merge_gap_s
            lat = self._lateral[s]
            if t < horizon or (lat.open and lat.onset < horizon) or any(
                    r.onset_s < horizon for r in self._unconfirmed[s]):
                return
        self._emit(s, t_stream, events)

    def _emit(self, s: int, t_stream: float, events: list[Event]) -> None:
        group = self._group[s]
        mouth_runs = list(self._mouth_runs[s])
        if self._mouth[s].open:
            mouth_runs.append(Run(self._mouth[s].onset, math.inf, 0.0, True))
        mouth = has_mouth(group[0].onset_s, group[-1].offset_s, mouth_runs, self.p.cocontraction_s)
        events.append(spasm_event(SIDES[s], group, mouth, self.p.tonic_s, t_stream))
        self._group[s] = []

    def _prune(self, t: float) -> None:
        """Keep memory flat: drop blinks and mouth runs no pending twitch can still touch."""
        oldest_off = min([t] + [r.offset_s for side in self._unconfirmed for r in side])
        if self._blinks and self._blinks[0].offset_s + self.p.blink_absorb_s < oldest_off:
            self._blinks = [b for b in self._blinks if b.offset_s + self.p.blink_absorb_s >= oldest_off]
        for s in (0, 1):
            starts = [t] + [r.onset_s for r in self._unconfirmed[s] + self._group[s][:1]]
            if self._lateral[s].open:
                starts.append(self._lateral[s].onset)
            keep_from = min(starts) - self.p.cocontraction_s
            runs = self._mouth_runs[s]
            if runs and runs[0].offset_s < keep_from:
                self._mouth_runs[s] = [m for m in runs if m.offset_s >= keep_from]


# -- whole-recording driver ---------------------------------------------------------------

def _runs(t: np.ndarray, t_end: float, above_off: np.ndarray, above_on: np.ndarray,
          value: np.ndarray) -> list[Run]:
    """Vectorised twin of _RunState over a whole recording.

    reduceat reduces from one run's start to the next one's, so callers pass `above_on`
    and `value` already masked outside the runs (False, -inf).
    """
    edges = np.diff(np.concatenate([[0], above_off.view(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    if starts.size == 0:
        return []
    peaks = np.maximum.reduceat(value, starts)
    hit = np.maximum.reduceat(above_on.view(np.int8), starts) > 0
    t_after = np.append(t, t_end)
    return [Run(float(t[a]), float(t_after[b]), float(pk), bool(h))
            for a, b, pk, h in zip(starts, ends, peaks, hit)]


@dataclass
class DetectionResult:
    events: list[Event]
    closure: np.ndarray  # (n, 2) per-side closure, NaN where invalid or calibrating
    calibrated: np.ndarray  # (n,) bool


def _window_stats(eye: np.ndarray, mouth: np.ndarray, p: DetectorParams) -> np.ndarray:
    """side_stats for many equal-length windows at once (rows), as (rows, 6) arrays.

    Order statistics are exact whatever the route, so this matches side_stats bit for bit.
    """
    n = eye.shape[1]
    kq = int(p.open_quantile * (n - 1))
    mid = [n // 2] if n % 2 else [n // 2 - 1, n // 2]

    def median(a):
        part = np.partition(a, mid, axis=1)
        return part[:, n // 2] if n % 2 else (part[:, mid[0]] + part[:, mid[1]]) / 2.0

    open_level = np.maximum(np.partition(eye, kq, axis=1)[:, kq], 1e-6)
    eye_noise = 1.4826 * median(np.abs(eye - median(eye)[:, None])) / open_level
    mouth_median = median(mouth)
    mouth_scale = np.maximum(1.4826 * median(np.abs(mouth - mouth_median[:, None])), p.mouth_floor)
    on = np.maximum(p.spasm_on, p.noise_k * eye_noise)
    return np.stack([open_level, eye_noise, mouth_median, mouth_scale, on, p.off_ratio * on], axis=1)


def person_stats(t: np.ndarray, valid: np.ndarray, eye_open: np.ndarray, mouth: np.ndarray,
                 p: DetectorParams, fps: float):
    """Per-frame statistics arrays exactly as the streaming detector would have them."""
    n = t.size
    sched = Schedule.of(p, fps)
    vidx = np.flatnonzero(valid)
    eye_v, mouth_v = eye_open[vidx], mouth[vidx]
    counts = np.arange(1, vidx.size + 1)
    upd = np.flatnonzero((counts >= sched.calibration) & ((counts - sched.calibration) % sched.every == 0))
    # Per frame: index into the list of updates in force (-1 = still calibrating).
    which = np.full(n, -1)
    which[vidx[upd]] = np.arange(upd.size)
    np.maximum.accumulate(which, out=which)
    table = np.full((max(upd.size, 1), 2, 6), np.nan)
    ends = counts[upd]
    short = ends < sched.window  # windows still filling up: one by one
    for k in np.flatnonzero(short):
        c = ends[k]
        for s in (0, 1):
            x = side_stats(eye_v[:c, s], mouth_v[:c, s], p)
            table[k, s] = (x.open_level, x.eye_noise, x.mouth_median, x.mouth_scale, x.on, x.off)
    full = np.flatnonzero(~short)
    if full.size:
        w = sched.window
        for s in (0, 1):
            eye_w = np.lib.stride_tricks.sliding_window_view(eye_v[:, s], w)[ends[full] - w]
            mouth_w = np.lib.stride_tricks.sliding_window_view(mouth_v[:, s], w)[ends[full] - w]
            table[full, s] = _window_stats(eye_w, mouth_w, p)
    on = np.maximum(p.blink_on, p.noise_k * np.maximum(table[:, 0, 1], table[:, 1, 1]))
    blink = np.stack([on, p.off_ratio * on], axis=1)
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
    which, table, blink_tab = person_stats(t, valid, eye_open, mouth, p, fps)
    live = valid & (which >= 0)
    w = np.where(live, which, 0)
    st = table[w]  # (n, 2, 6)
    closure = 1.0 - eye_open / st[:, :, 0]
    z = (mouth - st[:, :, 2]) / st[:, :, 3]
    closure = np.where(live[:, None], closure, np.nan)
    c_safe = np.where(live[:, None], closure, 0.0)
    z = np.where(live[:, None], z, 0.0)

    events: list[Event] = []
    bil = np.minimum(c_safe[:, 0], c_safe[:, 1])
    blink_on, blink_off = blink_tab[w, 0], blink_tab[w, 1]
    b_off = live & (bil > blink_off)
    blink_runs = [r for r in _runs(t, t_end, b_off, b_off & (bil >= blink_on), np.where(b_off, bil, -np.inf))
                  if r.accepted and r.duration_s >= p.min_event_s]
    events.extend(blink_event(r, r.offset_s + input_lag_s) for r in blink_runs)
    for s in (0, 1):
        o = 1 - s
        pulled = live & (z[:, s] - np.maximum(z[:, o], 0.0) >= p.mouth_z)
        mouth_runs = _runs(t, t_end, pulled, pulled, np.where(pulled, z[:, s], -np.inf))
        lat = c_safe[:, s] - np.maximum(c_safe[:, o], 0.0)
        on = np.where(pulled, st[:, s, 4] * p.mouth_boost, st[:, s, 4])
        l_off = live & (lat > st[:, s, 5])
        runs = _runs(t, t_end, l_off, l_off & (lat >= on), np.where(l_off, c_safe[:, s], -np.inf))
        twitches = [r for r in runs if r.accepted and r.duration_s >= p.min_event_s
                    and not is_absorbed(r, blink_runs, p.blink_absorb_s)]
        for group in group_twitches(twitches, p.merge_gap_s):
            mouth = has_mouth(group[0].onset_s, group[-1].offset_s, mouth_runs, p.cocontraction_s)
            events.append(spasm_event(SIDES[s], group, mouth, p.tonic_s, math.nan))
    events.sort(key=lambda e: (e.onset_s, e.side))
    return DetectionResult(events, closure, which >= 0)
