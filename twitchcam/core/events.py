"""Events and the interval-level rules that turn per-side closures into them.

Everything here works on intervals (runs of frames), never on frames; the streaming
detector (twitchcam.core.detector) applies these rules as each run ends.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass, field, fields, replace

SOURCE_NAMES = ("geometry", "appearance", "blendshape")  # the eye's three sources, in the detector's order


@dataclass(frozen=True)
class Evidence:
    """How clearly one eye closed while the other did not, over one twitch.

    asym: the eyes' closure difference (this side minus the other; 0 = alike, 1 = one shut,
    one open) held over at least two frames and a third of the twitch, so a one-frame lag
    of one lid, a landmark glitch, or a single-frame peak of a slow expression is no evidence;
    asym_s: how long the difference was at least half of that; sources: which of the eye's
    sources (SOURCE_NAMES) found this eye more closed too; origin: 'run' (a one-sided run),
    'weak' (one that crossed only 'off': confidence 0, but its frames pool with its train's),
    'blink' (a lid leading or trailing a blink) or 'train' (a train's twitches together);
    confidence 0-1 (see detector.confidence); frames: the per-frame record it was read from
    (the detector's Asymmetry), which a train pools, None where the twitch is no evidence of its own.
    """

    asym: float
    asym_s: float
    sources: tuple[str, ...]
    origin: str
    confidence: float
    frames: object = field(default=None, compare=False, repr=False)

    def of_no_weight(self) -> "Evidence":
        """The same readings, as no evidence of its own: confidence 0, no frames for a train to pool."""
        return replace(self, confidence=0.0, frames=None)

    def as_weak(self) -> "Evidence":
        """The same readings, as a weak twitch's: no evidence of its own (confidence 0), but its
        frames pool with its train's (see detector.trains.Train.evidence)."""
        return replace(self, origin="weak", confidence=0.0)


@dataclass(frozen=True)
class Run:
    """A run of frames in which a signal stayed above its 'off' level.

    onset_s is the first frame of the run, offset_s the first frame after it (or the end
    of the stream), so offset_s - onset_s is the closure's duration.
    """

    onset_s: float
    offset_s: float
    peak: float
    accepted: bool  # the run reached the 'on' level somewhere
    ref_peak: float = 0.0  # peak of a second signal over the run (two-sided runs: the more closed eye)
    evidence: "Evidence | None" = None  # one-sided runs: how clearly one-sided they were

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s


BOTH = "both"  # the side of a blink
POSSIBLE = "possible"  # the kind of a one-sided event too weakly one-sided to count
KINDS = ("blink", "clonic", "tonic", POSSIBLE)


@dataclass(frozen=True)
class Event:
    """One row of events.csv."""

    onset_s: float
    offset_s: float
    side: str  # left | right | both (the patient's own sides)
    kind: str  # blink | clonic | tonic | possible (one-sided, but not clearly enough to count)
    twitches: int
    peak_closure: float
    region: str  # eye | eye+mouth
    detected_at_s: float
    confidence: float = math.nan  # spasms: 0-1, from the evidence below (NaN: blinks, older sessions)
    asym: float = math.nan  # the eyes' closure difference that decided it (Evidence.asym)
    asym_s: float = math.nan  # ... and how long it lasted
    sources: str = ""  # the eye's sources that agreed, '+'-joined

    @property
    def is_spasm(self) -> bool:
        """A counted (confident) spasm; 'possible' ones are listed, never counted."""
        return self.side != BOTH and self.kind != POSSIBLE

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s

    def key(self) -> tuple:
        """Everything but detection time: what must agree between live, analyze and detect."""
        return (round(self.onset_s, 6), round(self.offset_s, 6), self.side, self.kind, self.twitches,
                round(self.peak_closure, 6), self.region)

    def row(self) -> dict:
        d = asdict(self)
        d["duration_s"] = self.duration_s
        return d


EVENT_COLUMNS = ("onset_s", "offset_s", "duration_s", "side", "kind", "twitches", "peak_closure",
                 "region", "detected_at_s", "confidence", "asym", "asym_s", "sources")
assert set(EVENT_COLUMNS) == {f.name for f in fields(Event)} | {"duration_s"}


def is_absorbed(twitch: Run, closures: list[Run], absorb_s: float, edge_s: float, blink_max_s: float,
                open_onset_s: float | None = None, now_s: float = 0.0) -> bool:
    """Is this one-sided closure just the uneven edge of a two-sided one?

    Either it lies within a blink (give or take a frame or two), or it is brief (<= edge_s)
    and touches any two-sided closure: one eye closing a little before, or reopening a
    little after, the other.  A longer two-sided closure (narrowing the eyes to smile,
    looking down) does not swallow what happens inside it: `lateral` already discounts it.

    `closures` are the two-sided closures that have ended by now_s, sorted and disjoint
    (runs of one signal): only the last two starting before the twitch ends can touch it.
    `open_onset_s` is the start of a two-sided closure still going on at now_s, judged by
    what is known so far, so that the decision need not wait for it to end.
    """
    k = bisect_right(closures, twitch.offset_s + absorb_s, key=lambda b: b.onset_s)
    for b in closures[max(0, k - 2):k]:
        touches = b.onset_s - absorb_s <= twitch.offset_s and twitch.onset_s <= b.offset_s + absorb_s
        inside = b.onset_s - absorb_s <= twitch.onset_s and twitch.offset_s <= b.offset_s + absorb_s
        if (inside and b.duration_s <= blink_max_s) or (touches and twitch.duration_s <= edge_s):
            return True
    if open_onset_s is not None and open_onset_s - absorb_s <= twitch.offset_s:
        inside = open_onset_s - absorb_s <= twitch.onset_s and now_s - open_onset_s <= blink_max_s
        return inside or twitch.duration_s <= edge_s
    return False


def has_mouth(twitch_onsets: list[float], mouth_runs: list[Run], before_s: float, after_s: float) -> bool:
    """Co-contraction: a same-side mouth-corner pull that STARTS with one of the eye's twitches.

    DOMAIN: eye and mouth contracting together, within about 100 ms, is the evidence.  The
    pull may start from before_s before a twitch's onset to after_s after it: a pull's run
    begins where it crosses its threshold, partway up its rise, while the twitch's onset is
    dated back to where the lid began to move.  A corner that was already pulled, or that
    moves later during a long hold (talking or smiling through it), does not count.

    `mouth_runs` are sorted and disjoint, so they are sorted by onset too.
    """
    for t in twitch_onsets:
        k = bisect_left(mouth_runs, t - before_s, key=lambda m: m.onset_s)
        if k < len(mouth_runs) and mouth_runs[k].onset_s <= t + after_s:
            return True
    return False


def spasm_event(side: str, twitches: list[Run], mouth: bool, tonic_s: float, detected_at_s: float,
                confident: float = 0.5, evidence: Evidence | None = None) -> Event:
    """A clonic train or tonic hold from the twitches merged into it.

    Tonic means one sustained closure of >= tonic_s (the Jankovic 1-s boundary), not a
    long train of brief twitches, which stays clonic.  Twitches that overlap in time (a lid
    seen leading a blink and judged again in it) are one twitch.  A train is as sure as its
    `evidence` (default: its clearest twitch's); below `confident` it is a 'possible' spasm,
    listed but never counted.
    """
    best = evidence or clearest(twitches)
    conf = best.confidence if best is not None else 1.0
    kind = "tonic" if max(t.duration_s for t in twitches) >= tonic_s else "clonic"
    return Event(
        onset_s=min(t.onset_s for t in twitches),
        offset_s=max(t.offset_s for t in twitches),
        side=side,
        kind=kind if conf >= confident else POSSIBLE,
        twitches=_distinct(twitches),
        peak_closure=min(1.0, max(0.0, max(t.peak for t in twitches))),
        region="eye+mouth" if mouth else "eye",
        detected_at_s=detected_at_s,
        confidence=conf,
        asym=best.asym if best is not None else math.nan,
        asym_s=(math.nan if best is None else best.asym_s if best.origin == "train"  # pooled: over all its frames
                else sum(t.evidence.asym_s for t in twitches if t.evidence is not None)),
        sources="+".join(best.sources) if best is not None else "",
    )


def clearest(twitches: list[Run]) -> Evidence | None:
    """The evidence of the surest of `twitches` (None if none was measured)."""
    return max((t.evidence for t in twitches if t.evidence is not None), key=lambda e: e.confidence, default=None)


def _distinct(runs: list[Run]) -> int:
    """How many of `runs` do not overlap an earlier one."""
    count, end = 0, -math.inf
    for run in sorted(runs, key=lambda r: r.onset_s):
        count += 1 if run.onset_s >= end else 0
        end = max(end, run.offset_s)
    return count


def blink_event(run: Run, detected_at_s: float) -> Event:
    """Blinks are final the moment they end: they never merge."""
    return Event(run.onset_s, run.offset_s, BOTH, "blink", 1, min(1.0, max(0.0, run.peak)), "eye",
                 detected_at_s)


def tangent_onset(times: list[float], values: list[float], onset_s: float, max_back_s: float) -> float:
    """When the closure began: the steepest rise near the run's start, extended back to 0.

    A run starts where the signal crosses its 'off' level, partway up the rise; the
    tangent at the steepest step meets zero close to where the lid started to move (the
    classic tangent method for EMG and kinematic onsets).  Never later than the run's
    start, never more than max_back_s before it.  Plain floats, so the streaming and the
    whole-recording detectors compute the very same number.
    """
    best, j = 0.0, -1
    for k in range(len(times) - 1):
        v0, v1 = values[k], values[k + 1]
        if v0 == v0 and v1 == v1 and times[k + 1] > times[k]:  # both finite (NaN != NaN)
            slope = (v1 - v0) / (times[k + 1] - times[k])
            if slope > best:
                best, j = slope, k
    if j < 0:
        return onset_s
    return min(onset_s, max(onset_s - max_back_s, times[j] - values[j] / best))


def with_onset(run: Run, onset_s: float) -> Run:
    return replace(run, onset_s=onset_s)


def _crossings(times: list[float], values: list[float], frac: float, peak_from: float,
               peak_to: float) -> tuple[float, float]:
    """When one eye's closure rose through, and fell back through, `frac` of its peak (the
    largest value between peak_from and peak_to) above where it started: interpolated between
    frames, so a lead of half a frame shows.  Walks out from the peak, so a closure that
    starts later in the window is not mistaken for this one; a single frame below the level
    is bridged, as one frame's glitch of the landmarks or of the eye patch."""
    inside = [k for k, (t, v) in enumerate(zip(times, values)) if peak_from <= t <= peak_to and v == v]
    if not inside:
        return math.nan, math.nan
    k = max(inside, key=lambda j: values[j])
    before = [values[j] for j in range(k + 1) if values[j] == values[j]]
    base = min(before)
    level = base + frac * (values[k] - base)
    if not values[k] > base:
        return math.nan, math.nan

    def above(j: int) -> bool:
        return values[j] == values[j] and values[j] >= level

    def walk(j: int, step: int) -> int:
        """Out from the peak while above the level; one frame's dip below it (a landmark
        glitch) does not end the closure."""
        while True:
            if 0 <= j + step < len(values) and above(j + step):
                j += step
            elif 0 <= j + 2 * step < len(values) and values[j + step] == values[j + step] and above(j + 2 * step):
                j += 2 * step
            else:
                return j

    a, b = walk(k, -1), walk(k, 1)
    onset = times[a] if a == 0 or values[a - 1] != values[a - 1] else \
        times[a - 1] + (level - values[a - 1]) / (values[a] - values[a - 1]) * (times[a] - times[a - 1])
    offset = times[b] if b == len(values) - 1 or values[b + 1] != values[b + 1] else \
        times[b] + (values[b] - level) / (values[b] - values[b + 1]) * (times[b + 1] - times[b])
    return onset, offset


def blink_asymmetry(times: list[float], left: list[float], right: list[float], blink: Run,
                    frac: float = 0.5) -> tuple[float, float, float, float]:
    """Per side, when a two-sided closure (the `blink` run) began and ended: half-peak
    crossings, as JeFaPaTo matches left and right blinks; (onset_left, offset_left,
    onset_right, offset_right).

    A natural blink closes both lids within a few milliseconds of each other; a spasm that
    starts just before a blink, or holds one lid shut after it, shows as one side leading or
    trailing by 50-300 ms.
    """
    on_l, off_l = _crossings(times, left, frac, blink.onset_s, blink.offset_s)
    on_r, off_r = _crossings(times, right, frac, blink.onset_s, blink.offset_s)
    return on_l, off_l, on_r, off_r
