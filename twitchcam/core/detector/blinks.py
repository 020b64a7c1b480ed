"""Closure runs and blink judgement, from each frame's time and per-eye readings.

TwoSided finds runs of two-sided closure; BlinkJudge keeps the recent frames, tells the blink
in a two-sided closure, and judges each blink's two lids: one closing first or reopening last
is a one-sided twitch on that side (JeFaPaTo-style left/right matching, at sub-frame
precision), and every blink adds to the person's own range of blink asymmetry.
"""
from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable, Iterator

import numpy as np

from twitchcam.core.detector.evidence import Asymmetry
from twitchcam.core.detector.params import DetectorParams
from twitchcam.core.detector.runs import RunState, SlidingMin
from twitchcam.core.events import SOURCE_NAMES, Evidence, Run, blink_asymmetry, is_absorbed

NAN_EYE = (math.nan, math.nan, (math.nan, math.nan, math.nan))  # an eye on a frame without a face


def is_bilateral(run: Run, p: DetectorParams) -> bool:
    """A two-sided run that reached 'on', lasted, and closed both eyes alike."""
    return run.accepted and run.duration_s >= p.min_event_s and run.peak >= p.blink_symmetry * run.ref_peak


def is_blink(run: Run, p: DetectorParams) -> bool:
    """A two-sided closure as brief as a blink (longer ones: looking down, resting the eyes)."""
    return is_bilateral(run, p) and run.duration_s <= p.blink_max_s


def is_incomplete_blink(run: Run, p: DetectorParams) -> bool:
    """A two-sided closure that stayed under 'on' but lasted, as briefly as a blink, and closed
    both eyes very alike (incomplete_symmetry): a partial blink, even with one lid going a little
    deeper.  Not counted as a blink, and its edges and what lies inside it are no evidence of
    their own (weak twitches, which only a train of them can make a spasm)."""
    return (not run.accepted and p.min_event_s <= run.duration_s <= p.blink_max_s
            and run.peak >= p.incomplete_symmetry * run.ref_peak)


def _stretches(values: list[float], level: float) -> Iterator[tuple[int, int]]:
    """(first, last + 1) of each stretch of consecutive values at or above `level`."""
    start = None
    for k, v in enumerate(values + [-math.inf]):
        if v >= level and start is None:
            start = k
        elif v < level and start is not None:
            yield start, k
            start = None


class TwoSided:
    """Runs of two-sided closure: min(closure_l, closure_r) above its lowest level of the last
    blink_floor_s; `ended` holds the recent ones that closed both eyes alike, and the incomplete
    blinks (whose edges are no spasms, and in which both eyes were shut or closing)."""

    def __init__(self, p: DetectorParams, fps: float):
        self.p = p
        self.run = RunState()
        self.floor = SlidingMin(max(1, round(p.blink_floor_s * fps)))
        self.floor.push(0.0)  # before the first frame, the lids at their own open level: a blink
        #   under way as the recording starts rises from there
        self.on, self.off = p.blink_on, p.off_ratio * p.blink_on
        self.ended: list[Run] = []

    def step(self, t: float, closure_l: float, closure_r: float) -> Run | None:
        """One valid frame: the two-sided closure that ended here, if it closed both eyes alike."""
        bil = min(closure_l, closure_r)
        if bil != bil:
            bil = 0.0
        rise = bil - self.floor.push(bil)
        return self._ended(self.run.step(t, rise > self.off, rise >= self.on, bil, max(closure_l, closure_r)))

    def skip(self) -> None:
        """A frame without a face: the recent floor is unknown (close() ends the run)."""
        self.floor.push(math.inf)

    def close(self, t: float) -> Run | None:
        """End what is open at t (see step)."""
        return self._ended(self.run.step(t, False, False, 0.0))

    def _ended(self, run: Run | None) -> Run | None:
        """A run that ended: kept if it closed both eyes alike or was an incomplete blink, and
        returned only in the first case (a blink may be in it)."""
        if run is None:
            return None
        if is_bilateral(run, self.p):
            self.ended.append(run)
            return run
        if is_incomplete_blink(run, self.p):
            self.ended.append(run)
        return None

    @property
    def open_onset(self) -> float | None:
        """When the two-sided closure still going on began (None: none is)."""
        return self.run.onset if self.run.open else None

    def may_become_blink(self, twitch: Run, t: float) -> bool:
        """Whether a two-sided closure still going on at t touches the twitch and is still brief
        enough to turn out a blink: until it ends (or outlasts one), whether the twitch is its
        uneven edge cannot be told.  The mesh drags the other eye along with a closing one, so a
        one-sided twitch alone can open a two-sided run that never reaches 'on' nor closes both
        eyes alike (no blink, no incomplete one)."""
        onset = self.open_onset
        return onset is not None and onset - self.p.blink_absorb_s <= twitch.offset_s and t - onset <= self.p.blink_max_s

    def _open_alike(self, t: float) -> float | None:
        """When the two-sided closure still going on at t began, if it has closed both eyes alike
        so far, as one kept in `ended` must have (None: none is going on, or it has not)."""
        run = self.run
        alike = run.open and is_bilateral(Run(run.onset, t, run.peak, run.accepted, run.ref_peak), self.p)
        return run.onset if alike else None

    def absorbs(self, twitch: Run, t: float, blinks_only: bool = False) -> bool:
        """Whether the twitch is the uneven edge of a two-sided closure at t (events.is_absorbed):
        a kept one that ended (with `blinks_only`, one that reached 'on': no incomplete blink), or
        the one still going on if it has closed both eyes alike so far."""
        p = self.p
        ended = [b for b in self.ended if b.accepted] if blinks_only else self.ended
        return is_absorbed(twitch, ended, p.blink_absorb_s, p.blink_edge_s, p.blink_max_s, self._open_alike(t), t)

    def touches(self, twitch: Run, t: float) -> bool:
        """Whether a twitch touches a two-sided closure at t (give or take blink_absorb_s): a kept
        one that ended, or the one still going on if it has closed both eyes alike so far."""
        absorb = self.p.blink_absorb_s
        onset = self._open_alike(t)
        return (onset is not None and onset - absorb <= twitch.offset_s) or any(
            b.onset_s - absorb <= twitch.offset_s and twitch.onset_s <= b.offset_s + absorb for b in self.ended)

    def blind(self, a: float, b: float) -> float:
        """How much of the time from a to b both eyes were shut (two-sided closures, ended or
        still open), when laterality cannot be judged: it does not count in the gap between two
        twitches of a train, so a blink in the middle of a clonic train does not split it."""
        blind = sum(min(b, x.offset_s) - max(a, x.onset_s) for x in self.ended
                    if x.accepted and x.onset_s < b and x.offset_s > a)  # an incomplete blink shuts neither eye
        if self.run.open and self.run.onset < b:
            blind += b - max(a, self.run.onset)
        return blind

    def prune(self, horizon: float) -> None:
        """Forget the closures that ended before `horizon` (none still pending can touch them)."""
        if self.ended and self.ended[0].offset_s < horizon:
            self.ended = [b for b in self.ended if b.offset_s >= horizon]


class BlinkJudge:
    """Blinks, and the one-sided twitches found in them.

    `frames` holds the recent frames as (t, left, right), each eye (closure, one-sided opening,
    each source's closure); `queue` the blinks still to be judged; `asym` the person's recent
    blinks' asymmetry (the larger of the two lids')."""

    def __init__(self, p: DetectorParams, fps: float):
        self.p = p
        self.fps = fps
        keep = round((2 * p.blink_max_s + p.blink_judge_s + 0.5) * fps)
        self.frames: deque[tuple] = deque(maxlen=max(8, keep))
        self.queue: list[Run] = []
        self.asym: deque[float] = deque(maxlen=30)

    def record(self, t: float, left: tuple, right: tuple) -> None:
        """One frame's eyes (NAN_EYE without a face)."""
        self.frames.append((t, left, right))

    def add(self, closure: Run) -> list[Run]:
        """The blinks in a two-sided closure: the closure itself, or those found in a longer one
        (see _within).  A lone blink is queued to be judged; several in one closure are blinks
        while looking down, on lids lowered for the whole time, where a small difference in how
        low each lid held moves its half-peak crossing a long way (DOMAIN): no evidence."""
        blinks = [closure] if is_blink(closure, self.p) else self._within(closure)
        if len(blinks) == 1:
            self.queue += blinks
        return blinks

    def _within(self, run: Run) -> list[Run]:
        """The blinks in a two-sided run too long for one: the lids lowered for a while (looking
        down, a tired eye) around one or more blinks, so the run's 'off' level came late or its
        'on' level early.  A blink is a stretch of the run where the two-sided closure rose half
        of blink_on above the level it held over the run (its median) and reached blink_on (a
        lesser one is a partial blink), timed where each lid was above half its peak over its own
        held level: from the first lid's rise through it to the last one's fall, kept if it is as
        brief as a blink."""
        p = self.p
        near = [x for x in self.frames if x[0] >= run.onset_s - p.onset_back_s]
        if len(near) < 3 or near[0][0] > run.onset_s:
            return []  # longer than `frames` holds
        times = [x[0] for x in near]
        inside = [k for k, t in enumerate(times) if run.onset_s <= t < run.offset_s]
        if not inside:
            return []
        lids = []
        for s in (1, 2):
            lid = [x[s][0] for x in near]
            read = [lid[k] for k in inside if lid[k] == lid[k]]
            held = float(np.median(read)) if read else -math.inf
            lids.append([max(v, held) for v in lid])  # NaN frames stay NaN (max keeps its first argument)
        both = [min(lids[0][k], lids[1][k]) for k in inside]
        both = [b if b == b else -math.inf for b in both]
        blinks = []
        for a, b in _stretches(both, float(np.median(both)) + p.blink_on / 2):
            if max(both[a:b]) >= p.blink_on:
                stretch = dataclasses.replace(run, onset_s=times[inside[a]], offset_s=times[inside[b - 1]])
                on_l, off_l, on_r, off_r = blink_asymmetry(times, lids[0], lids[1], stretch)
                blink = dataclasses.replace(run, onset_s=max(run.onset_s, min(on_l, on_r)), offset_s=max(off_l, off_r))
                if is_blink(blink, p):  # False for NaN
                    blinks.append(blink)
        return blinks

    def _half_peak_times(self, run: Run) -> tuple[float, float, float, float, float] | None:
        """(time of the last recent frame but one, and when the left lid rose above and fell back
        below half its peak closure of the two-sided `run`, then the right lid); None with too
        few frames."""
        near = [x for x in self.frames if x[0] >= run.onset_s - self.p.onset_back_s]
        if len(near) < 3:
            return None
        times = [x[0] for x in near]
        return (times[-2], *blink_asymmetry(times, [x[1][0] for x in near], [x[2][0] for x in near], run))

    def _reopened(self, blink: Run) -> bool:
        """Both lids are back below half their peak closure of this blink, for two frames (a
        one-frame dip is bridged): a trailing lid can no longer trail, so the blink can be
        judged now rather than blink_judge_s after it."""
        crossings = self._half_peak_times(blink)
        if crossings is None:
            return False
        before_last, _, off_l, _, off_r = crossings
        return off_l < before_last and off_r < before_last  # False for NaN

    def judge(self, t: float, final: bool, under_way: Callable[[float], bool]) -> Iterator[tuple[int, Run]]:
        """(side index, twitch) for each blink judged by time t (every queued one when `final`) in
        which one lid closed first or reopened last by more than blink_lag_frames frame periods,
        or did both by that much in all: shut longer than the other, where a slow lid (a lag)
        would only be shifted.
        `under_way(onset)`: a one-sided closure began well before the blink, so its timing means
        nothing."""
        p = self.p
        while self.queue and (final or t >= self.queue[0].offset_s + p.blink_judge_s
                              or self._reopened(self.queue[0])):
            blink = self.queue.pop(0)
            lo, hi = blink.onset_s - p.onset_back_s, blink.offset_s + p.blink_judge_s
            near = [x for x in self.frames if lo <= x[0] <= hi]
            before = [x for x in near if x[0] < blink.onset_s]
            if not before or any(not min(x[1 + s][0] for x in before) < p.other_closed_max for s in (0, 1)) \
                    or under_way(blink.onset_s):
                continue  # a lid already shut (a spasm under way): its blink is no evidence either way
            times = [x[0] for x in near]
            closure = ([x[1][0] for x in near], [x[2][0] for x in near])
            on_l, off_l, on_r, off_r = blink_asymmetry(times, closure[0], closure[1], blink)
            frames = p.blink_lag_frames / self.fps  # a one-frame lag is never evidence
            lead_s, trail_s = max(p.blink_lead_s, frames), max(p.blink_trail_s, frames)
            odd = [(s, on, off) for s, lead, trail, on, off in ((0, on_r - on_l, off_l - off_r, on_l, off_l),
                                                                 (1, on_l - on_r, off_r - off_l, on_r, off_r))
                   if lead >= lead_s or trail >= trail_s or (lead > 0 and trail > 0 and lead + trail >= frames)]
            # this person's blink asymmetry: each lid measured as a twitch would be, over its own closure
            self.asym.append(max(self._evidence(near, 0, on_l, off_l).asym, self._evidence(near, 1, on_r, off_r).asym))
            if len(odd) != 1:  # both lids odd (one leads, the other trails) is a timing offset
                continue
            s, on, off = odd[0]
            yield s, Run(on, off, max(closure[s]), True, evidence=self._evidence(near, s, on, off))

    def _evidence(self, near: list[tuple], s: int, lo: float, hi: float) -> Evidence:
        """Side s's evidence (0 left, 1 right) over the frames of `near` from lo to hi."""
        acc = Asymmetry()
        for x in near:
            if lo <= x[0] <= hi:
                mine, other = x[1 + s], x[2 - s]
                acc.add(other[1] - mine[1], mine[2], other[2])
        return acc.evidence("blink", self.fps, self.p)

    def _own_asym(self) -> float:
        """The top of this person's own range of blink asymmetry: their usual blink's (the
        lower quartile over their recent blinks) plus blink_asym_margin; before blink_known
        blinks, the top of people's in general (blink_asym_prior)."""
        if len(self.asym) < self.p.blink_known:
            return self.p.blink_asym_prior
        return float(np.quantile(np.array(self.asym), 0.25)) + self.p.blink_asym_margin

    def like_own_blinks(self, ev: Evidence) -> bool:
        """Evidence that is not clearly a spasm's: the eyes' difference no larger than this person's
        own blinks show (nor than blink_asym_min), seen by the mesh's lid gap alone, or not
        confident."""
        p = self.p
        clear = ev.confidence >= p.confident and ev.sources != (SOURCE_NAMES[0],)
        return not (clear and ev.asym >= max(p.blink_asym_min, self._own_asym()))
