"""Lateralized spasm detector: the performance-critical loop.

Input per frame: a timestamp, a validity flag, the FILTERED per-side eye and mouth
features, and the head's yaw (no video, no I/O).  Output: events.

How it decides, per side s (o = the other side):
1. Normalise to the person.  closure_s = 1 - eye_open_s / B_s, where B_s is a high
   quantile of that eye's own recent valid openings (its open-eye level).  Resting
   asymmetry cancels because each eye is measured against itself.
2. Separate one side from both.  lateral_s = (open_o - open_s) / open_o (open = 1 -
   closure) is large only when s closes and o does not; it is judged only while o is
   open enough to compare (see `lateral`).  bilateral = min(closure_l, closure_r),
   measured above its lowest level of the last blink_floor_s, is large only when both
   close; a two-sided run is a blink if both eyes closed alike (MediaPipe drags the open
   eye's landmarks partly along with a closing one) and for <= blink_max_s (above half its
   peak, if the lids settle a little lower after it).
   A one-sided run counts only if MediaPipe's mesh finds that eye more closed too
   (mesh_support), and more so while the head turns (turn_support): a turn changes what the
   camera sees of each eye, while the mesh is measured in a head-fixed frame.
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
   uneven edge; twitches closer than merge_gap_s (not counting time both eyes were shut)
   form one clonic train; a sustained closure of >= tonic_s makes it tonic.
6. How sure (Asymmetry, confidence): each twitch carries its evidence, the eyes' difference
   in one-sided closure held over two frames and a third of the twitch, which sources agree,
   and whether the same-side mouth corner rose as far as in a smile.  Real faces without HFS
   make one-sided runs too (issue 16: uneven blinks, one-sided smiles, head turns), so a train
   is counted only if its clearest twitch is confident; the rest are 'possible' (listed, never
   counted).  A lid leading or trailing a blink is a spasm only if it lags by more than
   blink_lag_frames frames and the difference is confident and beyond this person's own blinks
   (_within_own_blinks); otherwise it may still join a train, but never makes one.

One implementation: `StreamingDetector.update` takes one frame at a time, whether the
frame was just decoded (analyze, live) or read back from a session (`twitchcam detect`,
the Python API), so the same inputs always give the same events.
"""
from __future__ import annotations

import dataclasses
import math
from array import array
from bisect import insort
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.events import (SOURCE_NAMES, Event, Evidence, Run, blink_asymmetry, blink_event, has_mouth,
                                   is_absorbed, spasm_event, tangent_onset, with_onset)

RISE_BEFORE, RISE_AFTER = 2, 6  # frames around a run's start that the tangent method looks at
NAN3 = (math.nan, math.nan, math.nan)
MIN_TWITCH_FPS = 8.0  # below this a 90-250 ms twitch may fall between frames: nothing one-sided is counted


@dataclass(frozen=True)
class DetectorParams:
    baseline_window_s: float = 20.0  # open-eye level: quantile over this much valid time
    open_quantile: float = 0.9
    rest_quantile: float = 0.2  # a blendshape's resting level (it rises as the eye closes)
    update_every_s: float = 1.0  # how often the person's statistics are refreshed
    calibration_s: float = 1.0  # valid time needed before any event can be reported
    lateral_appearance: float = 1.0  # how much each source counts in the one-sided opening: the
    lateral_geometry: float = 0.5  # eye's own pixels most, the mesh (which drags the open eye along
    lateral_blendshape: float = 0.5  # with a closing one) half
    mesh_support: float = 0.05  # a one-sided run counts only if the mesh (geometry or blendshape)
    #   finds that eye at least this much more closed than the other too, on average over the run
    turn_deg: float = 6.0  # a head turning this much (yaw range over the run and turn_before_s
    turn_before_s: float = 0.3  # before it) changes what the camera sees of each eye, so ...
    turn_support: float = 0.125  # ... the mesh (head-fixed, blind to the turn) must support it this much
    spasm_on: float = 0.2  # floor of the one-sided 'on' level (relative opening difference)
    other_open_min: float = 0.5  # laterality is judged only while the other eye is this open ...
    other_closed_max: float = 0.5  # ... and no source finds it more closed than this
    open_max: float = 1.5  # an eye 'more open' than this x its open level means a stale baseline
    blink_on: float = 0.35  # floor of the two-sided 'on' level
    blink_symmetry: float = 0.5  # a blink closes both eyes alike: min >= this * max
    blink_floor_s: float = 1.0  # a blink rises above the lowest two-sided closure of this recent past
    blink_max_s: float = 0.5  # longer two-sided closures (smiling, looking down) are no blinks; DOMAIN: 100-400 ms
    noise_k: float = 4.0  # 'on' is at least noise_k robust SDs of the one-sided opening's own spread
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
    blink_lead_s: float = 0.02  # a lid closing this much earlier than the other in a blink is a spasm...
    blink_trail_s: float = 0.04  # ...and so is one reopening this much later (natural blinks: < 0.015 s)
    blink_lag_frames: float = 1.25  # ... and this many frame periods (a one-frame lag, with a little jitter, is none)
    blink_judge_s: float = 0.3  # a blink's sides are compared this long after it ends (a trailing lid)
    cocontraction_rise: float = 0.10  # a same-side pull of this much (a weaker one than mouth_rise)...
    cocontraction_s: float = 0.1  # ...starting from this long before a twitch's onset...
    mouth_lag_s: float = 0.3  # ...to this long after it marks eye+mouth (<= merge_gap_s + min_event_s)
    asym_floor: float = 0.05  # confidence: an eyes' closure difference (Evidence.asym) of this is no evidence...
    asym_full: float = 0.2  # ... and this much is full evidence
    source_agree: float = 0.1  # a source agrees when it finds the eye this much more closed than the other
    confident: float = 0.5  # spasms this sure are counted; the rest are listed as 'possible'
    smile_rise: float = 0.35  # a smile: the same-side mouth corner rising this much (a spasm's pull: ~0.1-0.25) ...
    smile_asym: float = 0.45  # ... while the eye narrows less than this (a wink, a full spasm: ~0.55)
    blink_asym_min: float = 0.1  # a lid leading/trailing a blink is evidence only with at least this asym ...
    blink_asym_margin: float = 0.1  # ... and this much beyond the person's usual blink (the lower quartile
    #   of their recent blinks' asym: robust to the blinks that do hold a spasm, as long as most do not)

    def to_dict(self) -> dict:
        return asdict(self)

    def problems(self) -> list[tuple[str, str]]:
        """(field, what is wrong) for each unusable value (empty when all are fine): every value a
        finite number >= 0, at most an hour (the *_s durations) or a million, shares and
        quantiles within 0..1, some more than 0."""
        out = []
        for name, v in asdict(self).items():
            top = 1.0 if name in UNIT_INTERVAL else 3600.0 if name.endswith("_s") else 1e6
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                out.append((name, f"must be a finite number, not {v!r}"))
            elif not 0 <= v <= top or (v == 0 and name in POSITIVE):
                out.append((name, f"must be {'more than' if name in POSITIVE else 'at least'} 0 and at most {top:g}, "
                                  f"not {v!r}"))
        return out


# DetectorParams fields that are shares or quantiles (0..1), and those that must not be 0
UNIT_INTERVAL = {"open_quantile", "rest_quantile", "off_ratio", "confident", "blink_symmetry", "other_open_min",
                 "mouth_boost"}
POSITIVE = {"baseline_window_s", "update_every_s", "off_ratio", "open_max"}


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
    """One side's statistics over the recent window (see DetectorParams.baseline_window_s)."""

    geometry_open: float  # the mesh's lid gap with the eye open (a high quantile)
    appearance_open: float  # the eye patch's vertical-edge share with the eye open
    blink_rest: float  # the blendshape eyeBlink at rest (a low quantile)
    lateral_noise: float  # robust SD of this side's one-sided opening difference
    on: float
    off: float

    def closures(self, g: float, a: float, b: float) -> tuple[float, float, float]:
        """Each source's closure (0 = this eye's own open level, ~1 = closed)."""
        return 1.0 - g / self.geometry_open, 1.0 - a / self.appearance_open, (b - self.blink_rest) / (1.0 - self.blink_rest)


def _quantile(a: np.ndarray, q: float) -> float:
    a = a[np.isfinite(a)]
    return _order_stat(a, int(q * (a.size - 1))) if a.size else math.nan


def side_stats(window: np.ndarray, lateral: np.ndarray, p: DetectorParams) -> SideStats:
    """The person's statistics for one side: `window` rows are geometry, appearance and
    blendshape values of recent valid frames, `lateral` that side's recent one-sided
    openings (NaN where not judged).  Quantiles and medians only: the order of the frames
    does not matter.

    The 'on' level adapts to the spread of the one-sided opening itself (MAD around its
    median): landmark jitter, appearance noise on a small face and the slow lopsided
    changes of expression alike raise it, so the same rule fits a sharp webcam and a
    176x144 phone video."""
    lat = lateral[np.isfinite(lateral)]
    noise = 1.4826 * _median(np.abs(lat - _median(lat))) if lat.size >= 10 else 0.0
    on = max(p.spasm_on, p.noise_k * noise)
    return SideStats(max(_quantile(window[0], p.open_quantile), 1e-6), max(_quantile(window[1], p.open_quantile), 1e-6),
                     min(_quantile(window[2], p.rest_quantile), 0.7), noise, on, p.off_ratio * on)


def blink_levels(p: DetectorParams) -> tuple[float, float]:
    """Two-sided 'on'/'off' rise above the recent floor (see blink_floor_s)."""
    return p.blink_on, p.off_ratio * p.blink_on


def confidence(asym: float, agree: int, measured: int, mouth: float, p: DetectorParams) -> float:
    """How sure a one-sided twitch is, 0-1: how much more one eye closed than the other (asym,
    from asym_floor = 0 to asym_full = 1), times how many of the eye's measured sources agree
    (all: x1, none: x0.5), and a quarter of that for a smile: an eye narrowed only partway (asym < smile_asym)
    while the same-side mouth corner rose far more (mouth >= smile_rise) than a spasm pulls it."""
    depth = min(1.0, max(0.0, (asym - p.asym_floor) / (p.asym_full - p.asym_floor)))
    smile = 0.25 if mouth >= p.smile_rise and asym < p.smile_asym else 1.0
    return round(depth * (0.5 + 0.5 * (agree / measured if measured else 0.0)) * smile, 3)


HIST_BINS = 40  # Asymmetry's histogram of closure differences over 0..1


class Asymmetry:
    """One side's evidence over frames (an open one-sided run, or a lid leading a blink): a
    histogram of the eyes' closure difference (constant memory, however long a tonic spasm
    lasts) and each source's summed difference."""

    __slots__ = ("hist", "n", "src", "src_n", "mouth")

    def __init__(self):
        self.hist = [0] * HIST_BINS
        self.n = 0
        self.src = [0.0, 0.0, 0.0]
        self.src_n = [0, 0, 0]
        self.mouth = 0.0  # the most the same-side mouth corner rose over the other one

    def add(self, diff: float, mine, other, mouth: float = 0.0) -> None:
        """One frame: this eye's closure minus the other's, each source's closure per eye, and
        how far this side's mouth corner has risen over the other one (see DetectorParams.mouth_rise)."""
        if mouth > self.mouth:
            self.mouth = mouth
        if diff != diff:
            return
        self.hist[min(HIST_BINS - 1, max(0, int(diff * HIST_BINS)))] += 1
        self.n += 1
        for k in range(3):
            d = mine[k] - other[k]
            if d == d:
                self.src[k] += d
                self.src_n[k] += 1

    def held(self, share: float) -> float:
        """The difference held over at least two frames and `share` of them (a bin's lower edge)."""
        need = max(2, math.ceil(share * self.n))
        total = 0
        for b in range(HIST_BINS - 1, -1, -1):
            total += self.hist[b]
            if total >= need:
                return b / HIST_BINS
        return 0.0

    def evidence(self, origin: str, fps: float, p: DetectorParams) -> Evidence:
        """A run's evidence is what held over a third of it (a brief peak of a slow expression
        is none); a lid leading or trailing a blink differs from the other only over the lead
        or trail, so what held over two frames (a one-frame lag is none)."""
        asym = self.held(1 / 3 if origin == "run" else 0.0)
        half = int(asym / 2 * HIST_BINS)
        asym_s = sum(self.hist[half:]) / fps if asym > 0 else 0.0
        measured = [k for k in range(3) if self.src_n[k]]
        agree = tuple(SOURCE_NAMES[k] for k in measured if self.src[k] / self.src_n[k] >= p.source_agree)
        return Evidence(asym, asym_s, agree, origin, confidence(asym, len(agree), len(measured), self.mouth, p))


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


def lateral(r_self: float, r_other: float, ok: bool, p: DetectorParams) -> float:
    """How much less open side s is than the other (openings, 1 = own open level), relative
    to how open the other is.

    A relative difference, so a symmetric narrowing (smiling, squinting) cancels; 0 where
    `ok` (from `comparable`) says it cannot be judged.
    """
    if not ok:
        return 0.0
    r_other = min(r_other, 1.0)  # the other eye opening wider than usual is no closure of this one
    return (r_other - r_self) / max(r_other, p.other_open_min)


def comparable(r_self: float, r_other: float, c_other: float, p: DetectorParams) -> bool:
    """Whether laterality can be judged: the other eye open enough to compare against, by the
    lateral sources (opening r) and by every source (c_other, the most any source finds it
    closed: eyes nearly shut while crying or looking down fool one source, rarely all), and
    both readings sane (NaN compares False)."""
    return p.other_open_min <= r_other <= p.open_max and r_self <= p.open_max and c_other <= p.other_closed_max


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
        self.fps = fps
        self.lag = input_lag_s
        self.schedule = Schedule.of(params, fps)
        self.recalibrate()
        self._lateral = [_RunState(), _RunState()]
        self._bilateral = _RunState()
        self._floor = _SlidingMin(max(1, round(params.blink_floor_s * fps)))
        self._mouth_floor = [_SlidingMin(max(1, round(params.mouth_floor_s * fps))) for _ in SIDES]
        self._mouth = [_RunState(), _RunState()]
        # closed runs, their tangent onsets, and whether a blink may absorb them (by offset)
        self._unconfirmed: list[list[tuple[Run, float, bool]]] = [[], []]
        self._judge: list[Run] = []  # blinks whose two sides are still to be compared
        self._last_run: list[Run | None] = [None, None]  # per side: the last one-sided run kept
        self._support = [[0.0, 0], [0.0, 0]]  # per side: the mesh's lateral agreement over the open run
        self._asym = [Asymmetry(), Asymmetry()]  # per side: the evidence over the open run
        self._blink_asym: deque[float] = deque(maxlen=30)  # the person's recent blinks' asym (both sides' max)
        self._reopened_at = [math.nan, math.nan]  # per side: when its eye reopened while it could not be compared
        self._turn = [[math.inf, -math.inf], [math.inf, -math.inf]]  # per side: yaw range around the open run
        self._recent_yaw: deque[float] = deque(maxlen=max(1, round(params.turn_before_s * fps)))
        self._weights = (params.lateral_geometry, params.lateral_appearance, params.lateral_blendshape)
        keep = round((2 * params.blink_max_s + params.blink_judge_s + 0.5) * fps)
        # (t, closure l, r, sources' closures l, r, one-sided openings l, r)
        self._recent_c: deque[tuple] = deque(maxlen=max(8, keep))
        self._group: list[list[Run]] = [[], []]
        self._reported_at = [math.nan, math.nan]
        self._now = 0.0  # the stream time of the frame being judged (frames kept while calibrating: later)
        self._announced = [False, False]  # per side: the train under way was reported as a spasm
        self.started: list[tuple[str, float]] = []  # spasms first reported at the last update: (side, onset_s)
        self._bilaterals: list[Run] = []  # recent two-sided closures, whose edges are no spasms
        self._mouth_runs: list[list[Run]] = [[], []]
        self._recent = [deque(maxlen=RISE_BEFORE), deque(maxlen=RISE_BEFORE)]  # (t, lateral) before now
        self._rise: list[list[tuple[float, float]]] = [[], []]  # (t, lateral) from just before a run's start
        self.closure = (math.nan, math.nan)  # last frame's per-side closure, for frames.csv

    def recalibrate(self) -> None:
        """Forget the person's statistics (e.g. after they moved or changed lighting)."""
        w = self.schedule.window
        # Recent valid frames, overwritten in turn (array.array: a cheap write per frame, read by
        # numpy without a copy): left geometry, appearance, blendshape, right ditto; and each
        # side's one-sided opening.
        self._ring = [array("d", bytes(8 * w)) for _ in range(6)]
        self._lat_ring = [array("d", [math.nan]) * w for _ in range(2)]
        self._count = 0
        self._stats: tuple[SideStats, SideStats] | None = None
        # frames seen while calibrating, judged once the statistics are known (bounded: a face
        # that stays away does not grow it)
        self._early: deque[tuple] = deque(maxlen=2 * self.schedule.calibration + 1)
        self._blink_levels = (math.inf, math.inf)

    @property
    def calibrating(self) -> bool:
        return self._stats is None

    def _refresh(self) -> None:
        n = min(self._count, self.schedule.window)
        ring = [np.frombuffer(r)[:n] for r in self._ring]
        lat = [np.frombuffer(r)[:n] for r in self._lat_ring]
        self._stats = (side_stats(ring[0:3], lat[0], self.p), side_stats(ring[3:6], lat[1], self.p))
        self._blink_levels = blink_levels(self.p)

    def _closures(self, eyes):
        """Per side: the closure from all sources (0 = own open level, ~1 = closed), the
        one-sided opening (1 = open) from the sources weighted for laterality, each source's
        closure (SOURCE_NAMES), and the most any source finds it closed."""
        p, stats = self.p, self._stats
        closure, opening, each, shut = [0.0, 0.0], [1.0, 1.0], [(0.0, 0.0, 0.0)] * 2, [0.0, 0.0]
        weights = self._weights
        wsum_all = weights[0] + weights[1] + weights[2]
        for s in (0, 1):
            parts = stats[s].closures(*eyes[s])
            g, a, b = parts
            if g == g and a == a and b == b:  # all three measured: the usual case, quickly
                closure[s] = (g + a + b) / 3.0
                opening[s] = 1.0 - (weights[0] * g + weights[1] * a + weights[2] * b) / wsum_all
                each[s] = parts
                shut[s] = max(parts)
                continue
            total = n = wsum = lat = 0.0
            most = -math.inf
            for x, wx in zip(parts, weights):
                if x == x:  # not NaN
                    total += x
                    most = x if x > most else most
                    n += 1
                    if wx > 0:
                        lat += wx * x
                        wsum += wx
            closure[s] = total / n if n else math.nan
            opening[s] = 1.0 - lat / wsum if wsum else math.nan
            each[s] = parts
            shut[s] = most
        return (closure[0], closure[1]), (opening[0], opening[1]), (each[0], each[1]), (shut[0], shut[1])

    def update(self, t_stream: float, valid: bool, eyes, mouth: tuple[float, float],
               yaw: float = math.nan) -> list[Event]:
        """One frame: `eyes` per side (left, right) is (geometry lid gap, appearance edge share,
        blendshape eyeBlink), filtered; `mouth` the two corners' elevation; `yaw` the head's yaw
        in degrees on the frame the filtered values stand for (NaN: not known).

        While the person's statistics are still unknown (the first calibration_s of valid
        face) frames are kept, and judged as soon as they are known: a blink or a spasm in the
        first second is found too, a moment late."""
        self.started = []
        self._now = t_stream
        events: list[Event] = []
        slot = -1
        if valid:
            slot = self._count % self.schedule.window
            ring = self._ring
            (ring[0][slot], ring[1][slot], ring[2][slot]), (ring[3][slot], ring[4][slot], ring[5][slot]) = eyes
            self._count += 1
            if self.schedule.is_update(self._count):
                self._refresh()
        if self._stats is None:
            self._early.append((t_stream, valid, eyes, mouth, yaw, slot))
            self.closure = (math.nan, math.nan)
            return events
        while self._early:
            self._step(*self._early.popleft(), events)
        self._step(t_stream, valid, eyes, mouth, yaw, slot, events)
        return events

    def _step(self, t_stream: float, valid: bool, eyes, mouth, yaw: float, slot: int, events: list[Event]) -> None:
        """One frame once the person's statistics are known (`slot`: its place in the rings)."""
        p, stats = self.p, self._stats
        t = t_stream - self.lag
        if valid:
            c, e, parts, most = self._closures(eyes)
            pull = (float(mouth[0]) - float(mouth[1]), float(mouth[1]) - float(mouth[0]))
            self.closure = c
            self._recent_c.append((t, c[0], c[1], parts[0], parts[1], e[0], e[1]))
            bil = min(c)
            if bil != bil:
                bil = 0.0
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
                ok = comparable(e[s], e[o], most[o], p)
                lat = lateral(e[s], e[o], ok, p)
                self._lat_ring[s][slot] = lat if ok else math.nan
                was_open = self._lateral[s].open
                if not ok and was_open:
                    run = self._lateral[s].hold(t, p.blink_max_s)  # the other eye blinked mid-spasm
                    self._track_reopening(s, t, c[s])
                else:
                    on = stats[s].on * p.mouth_boost if pulled else stats[s].on
                    run = self._lateral[s].step(t, lat > stats[s].off, lat >= on, c[s])
                    if self._lateral[s].open:
                        if not was_open:
                            self._asym[s] = Asymmetry()
                        self._asym[s].add(e[o] - e[s], parts[s], parts[o], corner_rise)
                        if lat >= on:
                            self._add_support(s, was_open, parts[s][0::2], parts[o][0::2])
                self._track_rise(s, t, lat, was_open)
                self._track_turn(s, yaw, was_open)
                if run is not None:
                    self._on_lateral_run(s, run)
            self._recent_yaw.append(yaw)
        else:
            self.closure = (math.nan, math.nan)
            self._recent_c.append((t, math.nan, math.nan, NAN3, NAN3, math.nan, math.nan))
            for floor in (self._floor, *self._mouth_floor):
                floor.push(math.inf)
            self._close_all(t, events)
            for s in (0, 1):
                self._track_rise(s, t, math.nan, False)
        if self._judge:
            self._judge_blinks(t, final=False)
        for s in (0, 1):
            if self._unconfirmed[s]:
                self._confirm(s, t, events, final=False)
            if self._group[s]:
                self._flush(s, t, events, final=False)
        self._prune(t)

    def finish(self, t_end: float) -> list[Event]:
        """End of stream (stream time): close what is open and report everything still pending."""
        events: list[Event] = []
        t = t_end - self.lag
        self.started = []
        self._now = t_end
        self._close_all(t, events)
        self._judge_blinks(t, final=True)
        for s in (0, 1):
            self._confirm(s, t, events, final=True)
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
            blink = run if is_blink(run, self.p) else self._blink_within(run)
            if blink is not None:
                # known when it ended, or, for one judged after calibration, only now
                events.append(blink_event(blink, max(run.offset_s + self.lag, self._now)))
                self._judge.append(blink)

    def _blink_within(self, run: Run) -> Run | None:
        """A two-sided run too long for a blink whose lids were above half their peak only
        as briefly as in a blink: a blink after which the lids settled a little lower than
        before (looking down a little, a tired eye), or lowered before it, so the run's 'off'
        level came late or its 'on' level early.  The blink is where the lids were above half
        their peak: from the first lid's rise through it to the last one's fall."""
        p = self.p
        if run.duration_s > 2 * p.blink_max_s:  # longer than _recent_c is sure to hold
            return None
        crossings = self._half_peak_times(run)
        if crossings is None:
            return None
        _, on_l, off_l, on_r, off_r = crossings
        blink = dataclasses.replace(run, onset_s=max(run.onset_s, min(on_l, on_r)), offset_s=max(off_l, off_r))
        return blink if is_blink(blink, p) else None  # False for NaN

    def _half_peak_times(self, run: Run) -> tuple[float, float, float, float, float] | None:
        """(time of the last recent frame but one, and when the left lid rose above and fell back
        below half its peak closure of the two-sided `run`, then the right lid); None with too
        few frames."""
        near = [x for x in self._recent_c if x[0] >= run.onset_s - self.p.onset_back_s]
        if len(near) < 3:
            return None
        times = [x[0] for x in near]
        return (times[-2], *blink_asymmetry(times, [x[1] for x in near], [x[2] for x in near], run))

    def _judge_blinks(self, t: float, final: bool) -> None:
        """A blink with one lid closing first or reopening last is a spasm on that side that
        overlaps the blink (JeFaPaTo-style left/right matching, at sub-frame precision)."""
        p = self.p
        while self._judge and (final or t >= self._judge[0].offset_s + p.blink_judge_s
                               or self._reopened(self._judge[0])):
            blink = self._judge.pop(0)
            lo, hi = blink.onset_s - p.onset_back_s, blink.offset_s + p.blink_judge_s
            near = [x for x in self._recent_c if lo <= x[0] <= hi]
            before = [x for x in near if x[0] < blink.onset_s]
            if not before or any(not min(x[1 + s] for x in before) < p.other_closed_max for s in (0, 1)) \
                    or self._under_way(blink.onset_s):
                continue  # a lid already shut (a spasm under way): its blink is no evidence either way
            times = [x[0] for x in near]
            on_l, off_l, on_r, off_r = blink_asymmetry(times, [x[1] for x in near], [x[2] for x in near], blink)
            frames = p.blink_lag_frames / self.fps  # a one-frame lag is never evidence
            lead_s, trail_s = max(p.blink_lead_s, frames), max(p.blink_trail_s, frames)
            odd = [(s, on, off) for s, lead, trail, on, off in ((0, on_r - on_l, off_l - off_r, on_l, off_l),
                                                                 (1, on_l - on_r, off_r - off_l, on_r, off_r))
                   if lead >= lead_s or trail >= trail_s]
            # this person's blink asymmetry: each lid measured as a twitch would be, over its own closure
            self._blink_asym.append(max(self._frames_evidence(near, 0, on_l, off_l).asym,
                                        self._frames_evidence(near, 1, on_r, off_r).asym))
            if len(odd) != 1:  # both lids odd (one leads, the other trails) is a timing offset
                continue
            s, on, off = odd[0]
            evidence = self._frames_evidence(near, s, on, off, "blink")
            twitch = Run(on, off, max(x[1 + s] for x in near), True, evidence=evidence)
            pending = self._unconfirmed[s]
            k = len(pending)
            while k and pending[k - 1][0].offset_s > off:
                k -= 1
            pending.insert(k, (twitch, on, False))

    def _frames_evidence(self, near, s: int, lo: float, hi: float, origin: str = "blink") -> Evidence:
        """Side s's evidence over the recent frames (of _recent_c) from lo to hi."""
        acc = Asymmetry()
        for x in near:
            if lo <= x[0] <= hi:
                acc.add(x[6 - s] - x[5 + s], x[3 + s], x[4 - s])
        return acc.evidence(origin, self.fps, self.p)

    def _own_blink_asym(self) -> float:
        """The top of this person's own range of blink asymmetry: their usual blink's (the
        lower quartile over their recent blinks) plus blink_asym_margin; 0 before five blinks."""
        if len(self._blink_asym) < 5:
            return 0.0
        return float(np.quantile(np.array(self._blink_asym), 0.25)) + self.p.blink_asym_margin

    def _within_own_blinks(self, run: Run) -> bool:
        """A twitch inside or beside a blink that is not clearly a spasm: its eyes' difference
        no larger than this person's own blinks show (nor than blink_asym_min), seen by the
        mesh's lid gap alone, or not confident: their uneven blink, no spasm."""
        p, absorb, ev, bil = self.p, self.p.blink_absorb_s, run.evidence, self._bilateral
        touches = (bil.open and bil.onset - absorb <= run.offset_s) or any(
            b.onset_s - absorb <= run.offset_s and run.onset_s <= b.offset_s + absorb for b in self._bilaterals)
        if ev is None or not touches:
            return False
        clear = ev.confidence >= p.confident and ev.sources != (SOURCE_NAMES[0],)
        return not (clear and ev.asym >= max(p.blink_asym_min, self._own_blink_asym()))

    def _under_way(self, t: float) -> bool:
        """A one-sided closure began well before t (longer ago than any blink lasts) and lasted
        until about t: a lid already partly shut, whose half-peak timing in a blink means nothing."""
        p = self.p
        for s in (0, 1):
            lat, last = self._lateral[s], self._last_run[s]
            if lat.open and lat.onset < t - p.blink_max_s:
                return True
            if last is not None and last.onset_s < t - p.blink_max_s and last.offset_s >= t - p.blink_absorb_s:
                return True
        return False

    def _reopened(self, blink: Run) -> bool:
        """Both lids are back below half their peak closure of this blink, for two frames (a
        one-frame dip is bridged): a trailing lid can no longer trail, so the blink can be
        judged now rather than blink_judge_s after it."""
        crossings = self._half_peak_times(blink)
        if crossings is None:
            return False
        before_last, _, off_l, _, off_r = crossings
        return off_l < before_last and off_r < before_last  # False for NaN

    def _track_rise(self, s: int, t: float, lat: float, was_open: bool) -> None:
        """Keep the few (t, lateral) samples around a run's start for tangent_onset."""
        if self._lateral[s].open and not was_open:
            self._rise[s] = list(self._recent[s])
        if self._lateral[s].open and len(self._rise[s]) < RISE_BEFORE + RISE_AFTER:
            self._rise[s].append((t, lat))
        self._recent[s].append((t, lat))

    def _track_reopening(self, s: int, t: float, closure: float) -> None:
        """While side s's open run is held (the other eye shut too), note when s's own eye
        reopened (its closure below off_ratio of the run's peak), or forget it if it shuts again."""
        if closure >= self.p.off_ratio * self._lateral[s].peak:
            self._reopened_at[s] = math.nan
        elif self._reopened_at[s] != self._reopened_at[s]:
            self._reopened_at[s] = t

    def _track_turn(self, s: int, yaw: float, was_open: bool) -> None:
        """The head's yaw range from turn_before_s before side s's open run to now."""
        if not self._lateral[s].open:
            return
        if not was_open:
            before = [y for y in self._recent_yaw if y == y]
            self._turn[s] = [min(before, default=math.inf), max(before, default=-math.inf)]
        if yaw == yaw:
            lo, hi = self._turn[s]
            self._turn[s] = [min(lo, yaw), max(hi, yaw)]

    def _add_support(self, s: int, was_open: bool, mine, other) -> None:
        """How much more closed the mesh finds side s than the other, over the run's 'on' frames."""
        if not was_open:
            self._support[s] = [0.0, 0]
        diffs = [a - b for a, b in zip(mine, other) if a == a and b == b]
        if diffs:
            self._support[s][0] += max(diffs)
            self._support[s][1] += 1

    def _on_lateral_run(self, s: int, run: Run) -> None:
        total, n = self._support[s]
        self._support[s] = [0.0, 0]
        reopened, self._reopened_at[s] = self._reopened_at[s], math.nan
        if reopened < run.offset_s:  # it ended when its eye reopened, not when it could be compared again
            run = dataclasses.replace(run, offset_s=reopened)
        lo, hi = self._turn[s]
        self._turn[s] = [math.inf, -math.inf]
        needed = self.p.turn_support if hi - lo >= self.p.turn_deg else self.p.mesh_support
        if n and total / n < needed:  # no mesh reading at all is no veto
            return
        if run.accepted and run.duration_s >= self.p.min_event_s:
            run = dataclasses.replace(run, evidence=self._asym[s].evidence("run", self.fps, self.p))
            pts = self._rise[s]
            onset = tangent_onset([a for a, _ in pts], [b for _, b in pts], run.onset_s, self.p.onset_back_s)
            self._unconfirmed[s].append((run, onset, True))
            self._last_run[s] = run

    def _confirm(self, s: int, t: float, events: list[Event], final: bool) -> None:
        """A closed run is judged blink_absorb_s after it ended: a twitch, or a blink's edge."""
        pending = self._unconfirmed[s]
        absorb = self.p.blink_absorb_s
        bil = self._bilateral
        while pending and (final or t >= pending[0][0].offset_s + absorb):
            run, onset, absorbable = pending.pop(0)
            if absorbable and is_absorbed(run, self._bilaterals, absorb, self.p.blink_edge_s, self.p.blink_max_s,
                                          bil.onset if bil.open else None, t):
                continue
            if self._within_own_blinks(run):  # no evidence of its own, though it may belong to a train
                run = dataclasses.replace(run, evidence=dataclasses.replace(run.evidence, confidence=0.0))
            run = with_onset(run, onset)
            group = self._group[s]
            if group:
                last = max(r.offset_s for r in group)
                if run.onset_s - last - self._blind(last, run.onset_s) >= self.p.merge_gap_s:
                    self._emit(s, events)
            if not self._group[s]:  # a new train: detected now, its train may still grow
                self._reported_at[s] = self._now
                self._announced[s] = False
            # a twitch found in a blink is judged after the blink, so it may precede twitches already here
            insort(self._group[s], run, key=lambda r: r.onset_s)
            if not self._announced[s] and self.fps >= MIN_TWITCH_FPS and (
                    run.evidence is None or run.evidence.confidence >= self.p.confident):
                self._announced[s] = True  # a spasm: report it now (a 'possible' one never is)
                self.started.append((SIDES[s], self._group[s][0].onset_s))

    def _flush(self, s: int, t: float, events: list[Event], final: bool) -> None:
        """Report a train once no further twitch can join it."""
        group = self._group[s]
        if not group:
            return
        if not final:
            last = max(r.offset_s for r in group)
            horizon = last + self.p.merge_gap_s + self._blind(last, t)
            lat = self._lateral[s]
            # An open run may yet be dated back by up to onset_back_s.
            bil = self._bilateral  # an open two-sided closure may still be judged a spasm's blink
            if t < horizon or (lat.open and lat.onset - self.p.onset_back_s < horizon) or (
                    bil.open and bil.onset - self.p.onset_back_s < horizon) or any(
                    onset < horizon for _, onset, _ in self._unconfirmed[s]) or any(
                    b.onset_s - self.p.onset_back_s < horizon for b in self._judge):
                return
        self._emit(s, events)

    def _blind(self, a: float, b: float) -> float:
        """How much of the time from a to b both eyes were shut (two-sided closures, ended or
        still open), when laterality cannot be judged: it does not count in the gap between two
        twitches of a train, so a blink in the middle of a clonic train does not split it."""
        blind = sum(min(b, x.offset_s) - max(a, x.onset_s) for x in self._bilaterals
                    if x.onset_s < b and x.offset_s > a)
        if self._bilateral.open and self._bilateral.onset < b:
            blind += b - max(a, self._bilateral.onset)
        return blind

    def _emit(self, s: int, events: list[Event]) -> None:
        """The train is complete; detected_at_s is when its first twitch was reported."""
        group = self._group[s]
        mouth_runs = list(self._mouth_runs[s])
        if self._mouth[s].open:
            mouth_runs.append(Run(self._mouth[s].onset, math.inf, 0.0, True))
        mouth = has_mouth([r.onset_s for r in group], mouth_runs, self.p.cocontraction_s, self.p.mouth_lag_s)
        confident = self.p.confident if self.fps >= MIN_TWITCH_FPS else math.inf
        event = spasm_event(SIDES[s], group, mouth, self.p.tonic_s, self._reported_at[s], confident)
        if not event.confidence <= 0:  # no evidence at all (NaN: none was measured) is no event
            events.append(event)
        self._group[s] = []

    def _prune(self, t: float) -> None:
        """Keep memory flat: drop blinks and mouth runs no pending twitch can still touch."""
        if not (self._bilaterals or self._mouth_runs[0] or self._mouth_runs[1]):
            return
        oldest_off = min([t] + [r.offset_s for side in self._unconfirmed for r, _, _ in side])
        oldest_on = min([t] + [r.onset_s for side in self._unconfirmed for r, _, _ in side]
                        + [lat.onset for lat in self._lateral if lat.open]  # open runs will be judged too
                        + [max(r.offset_s for r in g) for g in self._group if g])  # a train's gaps too
        horizon = min(oldest_off, oldest_on) - self.p.blink_absorb_s
        if self._bilaterals and self._bilaterals[0].offset_s < horizon:
            self._bilaterals = [b for b in self._bilaterals if b.offset_s >= horizon]
        for s in (0, 1):
            starts = [t] + [onset for _, onset, _ in self._unconfirmed[s]] + [r.onset_s for r in self._group[s][:1]]
            if self._lateral[s].open:
                starts.append(self._lateral[s].onset - self.p.onset_back_s)
            keep_from = min(starts) - self.p.cocontraction_s
            runs = self._mouth_runs[s]
            if runs and runs[0].offset_s < keep_from:
                self._mouth_runs[s] = [m for m in runs if m.offset_s >= keep_from]
