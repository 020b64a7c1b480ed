"""The streaming detector: one frame at a time, each side's state in its own record (Side), the
two-sided closures, blinks and trains in their collaborators (blinks.py, trains.py)."""
from __future__ import annotations

import dataclasses
import math
from array import array
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.detector.blinks import NAN_EYE, BlinkJudge, TwoSided
from twitchcam.core.detector.evidence import Asymmetry
from twitchcam.core.detector.params import DetectorParams
from twitchcam.core.detector.person import Schedule, SideStats, side_stats, usual_yaw
from twitchcam.core.detector.runs import RunState, SlidingMin, comparable, lateral
from twitchcam.core.detector.trains import Train
from twitchcam.core.events import SOURCE_NAMES, Event, Run, blink_event, tangent_onset, with_onset

RISE_BEFORE, RISE_AFTER = 2, 6  # frames around a run's start that the tangent method looks at
MESH_SOURCES = {SOURCE_NAMES[0], SOURCE_NAMES[2]}  # geometry and blendshape
APPEARANCE = SOURCE_NAMES[1]
NAN3 = (math.nan, math.nan, math.nan)


@dataclass(eq=False, slots=True)
class Side:
    """Everything the detector keeps for one side: a side is a parameter, and the code for a
    side takes its record."""

    name: str  # left | right
    mouth_floor: SlidingMin  # the same-side mouth corner's rise over the other, from its recent lowest
    train: Train  # the train under way
    # the person: recent valid frames' geometry, appearance and blendshape values, and one-sided
    # openings (NaN where not judged), overwritten in turn (array.array: a cheap write per frame,
    # read by numpy without a copy); their statistics, None while calibrating
    ring: tuple[array, array, array] = ()
    lat_ring: array = field(default_factory=lambda: array("d"))
    stats: SideStats | None = None
    # this frame's eye (StreamingDetector._read_eye)
    closure: float = math.nan  # from all sources (0 = own open level, ~1 = closed)
    opening: float = 1.0  # from the sources weighted for laterality (1 = open)
    parts: tuple[float, float, float] = NAN3  # each source's closure (SOURCE_NAMES)
    shut: float = 0.0  # the most any source finds it closed
    # the mouth corner's pulls
    mouth: RunState = field(default_factory=RunState)
    mouth_runs: list[Run] = field(default_factory=list)
    # the one-sided run and what is gathered over it while it is open
    lateral: RunState = field(default_factory=RunState)
    asym: Asymmetry = field(default_factory=Asymmetry)  # its evidence
    support: float = 0.0  # the mesh's lateral agreement, summed over its 'on' frames ...
    support_n: int = 0  # ... and how many
    reopened_at: float = math.nan  # when the eye reopened while it could not be compared
    turn: tuple[float, float] = (math.inf, -math.inf)  # the head's yaw range around it
    recent: deque = field(default_factory=lambda: deque(maxlen=RISE_BEFORE))  # (t, lateral) before now
    rise: list[tuple[float, float]] = field(default_factory=list)  # (t, lateral) from just before its start
    last_run: Run | None = None  # the last one-sided run kept
    # closed runs, their tangent onsets, and whether a blink may absorb them (by offset)
    unconfirmed: list[tuple[Run, float, bool]] = field(default_factory=list)

    def forget(self, window: int) -> None:
        """Forget the person's statistics: empty rings of `window` frames."""
        self.ring = tuple(array("d", bytes(8 * window)) for _ in range(3))
        self.lat_ring = array("d", [math.nan]) * window
        self.stats = None


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
        self.sides = tuple(Side(name, SlidingMin(max(1, round(params.mouth_floor_s * fps))), Train(name, params, fps))
                           for name in SIDES)
        self.recalibrate()
        self.two_sided = TwoSided(params, fps)  # closure runs
        self.blinks = BlinkJudge(params, fps)  # blink judgement
        self._recent_yaw: deque[float] = deque(maxlen=max(1, round(params.turn_before_s * fps)))
        self._weights = (params.lateral_geometry, params.lateral_appearance, params.lateral_blendshape)
        self._weight_sum = self._weights[0] + self._weights[1] + self._weights[2]
        self._now = 0.0  # the stream time of the frame being judged (frames kept while calibrating: later)
        self.started: list[tuple[str, float]] = []  # spasms first reported at the last update: (side, onset_s)
        self.closure = (math.nan, math.nan)  # last frame's per-side closure, for frames.csv

    def recalibrate(self) -> None:
        """Forget the person's statistics (e.g. after they moved or changed lighting)."""
        for side in self.sides:
            side.forget(self.schedule.window)
        self._yaw_ring = array("d", [math.nan]) * self.schedule.window  # recent valid frames' yaw ...
        self.usual_yaw = math.nan  # ... and its median (unknown while calibrating)
        self._count = 0
        # frames seen while calibrating, judged once the statistics are known (bounded: a face
        # that stays away does not grow it)
        self._early: deque[tuple] = deque(maxlen=2 * self.schedule.calibration + 1)

    @property
    def calibrating(self) -> bool:
        return self.sides[0].stats is None

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
            for side, eye in zip(self.sides, eyes):
                ring = side.ring
                ring[0][slot], ring[1][slot], ring[2][slot] = eye
            self._yaw_ring[slot] = yaw
            self._count += 1
            if self.schedule.is_update(self._count):
                self._refresh()
        if self.calibrating:
            self._early.append((t_stream, valid, eyes, mouth, yaw, slot))
            self.closure = (math.nan, math.nan)
            return events
        while self._early:
            self._step(*self._early.popleft(), events)
        self._step(t_stream, valid, eyes, mouth, yaw, slot, events)
        return events

    def finish(self, t_end: float) -> list[Event]:
        """End of stream (stream time): close what is open and report everything still pending."""
        events: list[Event] = []
        t = t_end - self.lag
        self.started = []
        self._now = t_end
        self._close_all(t, events)
        self._judge_blinks(t, final=True)
        for side in self.sides:
            self._confirm(side, t, events, final=True)
            self._flush(side, t, events, final=True)
        return events

    def _refresh(self) -> None:
        n = min(self._count, self.schedule.window)
        for side in self.sides:
            side.stats = side_stats([np.frombuffer(r)[:n] for r in side.ring], np.frombuffer(side.lat_ring)[:n],
                                    self.p)
        self.usual_yaw = usual_yaw(np.frombuffer(self._yaw_ring)[:n])

    def _read_eye(self, side: Side, eye) -> None:
        """This frame's eye of `side` (geometry, appearance, blendshape) against its own levels."""
        parts = side.stats.closures(*eye)
        side.parts = parts
        g, a, b = parts
        weights = self._weights
        if g == g and a == a and b == b:  # all three measured: the usual case, quickly
            side.closure = (g + a + b) / 3.0
            side.opening = 1.0 - (weights[0] * g + weights[1] * a + weights[2] * b) / self._weight_sum
            side.shut = max(parts)
            return
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
        side.closure = total / n if n else math.nan
        side.opening = 1.0 - lat / wsum if wsum else math.nan
        side.shut = most

    def _step(self, t_stream: float, valid: bool, eyes, mouth, yaw: float, slot: int, events: list[Event]) -> None:
        """One frame once the person's statistics are known (`slot`: its place in the rings)."""
        t = t_stream - self.lag
        left, right = self.sides
        if valid:
            self._read_eye(left, eyes[0])
            self._read_eye(right, eyes[1])
            self.closure = (left.closure, right.closure)
            self.blinks.record(t, (left.closure, left.opening, left.parts), (right.closure, right.opening, right.parts))
            closure = self.two_sided.step(t, left.closure, right.closure)
            if closure is not None:
                self._on_two_sided(closure, events)
            self._one_sided(left, right, t, float(mouth[0]) - float(mouth[1]), yaw, slot)
            self._one_sided(right, left, t, float(mouth[1]) - float(mouth[0]), yaw, slot)
            self._recent_yaw.append(yaw)
        else:
            self.closure = (math.nan, math.nan)
            self.blinks.record(t, NAN_EYE, NAN_EYE)
            self.two_sided.skip()
            for side in self.sides:
                side.mouth_floor.push(math.inf)
            self._close_all(t, events)
            for side in self.sides:
                self._track_rise(side, t, math.nan, False)
        if self.blinks.queue:
            self._judge_blinks(t, final=False)
        for side in self.sides:
            if side.unconfirmed:
                self._confirm(side, t, events, final=False)
            if side.train.twitches:
                self._flush(side, t, events, final=False)
        self._prune(t)

    def _close_all(self, t: float, events: list[Event]) -> None:
        """End every open run at t (a frame without a face, or the end of the stream)."""
        closure = self.two_sided.close(t)
        if closure is not None:
            self._on_two_sided(closure, events)
        for side in self.sides:
            run = side.mouth.step(t, False, False, 0.0)
            if run is not None:
                side.mouth_runs.append(run)
            run = side.lateral.step(t, False, False, 0.0)
            if run is not None:
                self._on_lateral_run(side, run)

    # -- closure runs and blink judgement (blinks.py) --------------------------------------------
    def _on_two_sided(self, closure: Run, events: list[Event]) -> None:
        """A two-sided closure ended: the blinks in it, if any, are events at once."""
        for blink in self.blinks.add(closure):
            # known when it ended, or, for one judged after calibration, only now
            events.append(blink_event(blink, max(closure.offset_s + self.lag, self._now)))

    def _judge_blinks(self, t: float, final: bool) -> None:
        """A twitch found in a blink waits with the side's closed runs (by offset) to be confirmed."""
        for s, twitch in self.blinks.judge(t, final, self._under_way):
            pending = self.sides[s].unconfirmed
            k = len(pending)
            while k and pending[k - 1][0].offset_s > twitch.offset_s:
                k -= 1
            pending.insert(k, (twitch, twitch.onset_s, False))

    def _within_own_blinks(self, run: Run, t: float) -> bool:
        """A twitch inside or beside a blink that is not clearly a spasm (BlinkJudge.like_own_blinks):
        their uneven blink, no spasm."""
        return run.evidence is not None and self.two_sided.touches(run, t) and self.blinks.like_own_blinks(run.evidence)

    def _under_way(self, t: float) -> bool:
        """A one-sided closure began well before t (longer ago than any blink lasts) and lasted
        until about t: a lid already partly shut, whose half-peak timing in a blink means nothing."""
        p = self.p
        for side in self.sides:
            lat, last = side.lateral, side.last_run
            if lat.open and lat.onset < t - p.blink_max_s:
                return True
            if last is not None and last.onset_s < t - p.blink_max_s and last.offset_s >= t - p.blink_absorb_s:
                return True
        return False

    # -- one-sided runs --------------------------------------------------------------------------
    def _one_sided(self, me: Side, other: Side, t: float, pull: float, yaw: float, slot: int) -> None:
        """Side `me`'s one-sided run on this frame, and its mouth corner's `pull` over the other's."""
        p = self.p
        corner_rise = pull - me.mouth_floor.push(pull)
        pulled = corner_rise >= p.mouth_rise
        moving = corner_rise >= p.cocontraction_rise
        run = me.mouth.step(t, moving, moving, pull)
        if run is not None:
            me.mouth_runs.append(run)
        ok = comparable(me.opening, other.opening, other.shut, p)
        lat = lateral(me.opening, other.opening, ok, p)
        me.lat_ring[slot] = lat if ok else math.nan
        was_open = me.lateral.open
        if not ok and was_open:
            run = me.lateral.hold(t, p.blink_max_s)  # the other eye blinked mid-spasm
            self._track_reopening(me, t)
        else:
            stats = me.stats
            on = stats.on * p.mouth_boost if pulled else stats.on
            run = me.lateral.step(t, lat > stats.off, lat >= on, me.closure)
            if me.lateral.open:
                if not was_open:
                    me.asym = Asymmetry()
                me.asym.add(other.opening - me.opening, me.parts, other.parts, corner_rise)
                if lat >= on:
                    self._add_support(me, was_open, me.parts[0::2], other.parts[0::2])
        self._track_rise(me, t, lat, was_open)
        self._track_turn(me, yaw, was_open)
        if run is not None:
            self._on_lateral_run(me, run)

    def _track_rise(self, side: Side, t: float, lat: float, was_open: bool) -> None:
        """Keep the few (t, lateral) samples around a run's start for tangent_onset."""
        if side.lateral.open and not was_open:
            side.rise = list(side.recent)
        if side.lateral.open and len(side.rise) < RISE_BEFORE + RISE_AFTER:
            side.rise.append((t, lat))
        side.recent.append((t, lat))

    def _track_reopening(self, side: Side, t: float) -> None:
        """While the side's open run is held (the other eye shut too), note when its own eye
        reopened (its closure below off_ratio of the run's peak), or forget it if it shuts again."""
        if side.closure >= self.p.off_ratio * side.lateral.peak:
            side.reopened_at = math.nan
        elif side.reopened_at != side.reopened_at:
            side.reopened_at = t

    def _track_turn(self, side: Side, yaw: float, was_open: bool) -> None:
        """The head's yaw range from turn_before_s before the side's open run to now."""
        if not side.lateral.open:
            return
        if not was_open:
            before = [y for y in self._recent_yaw if y == y]
            side.turn = (min(before, default=math.inf), max(before, default=-math.inf))
        if yaw == yaw:
            lo, hi = side.turn
            side.turn = (min(lo, yaw), max(hi, yaw))

    def _add_support(self, side: Side, was_open: bool, mine, other) -> None:
        """How much more closed the mesh finds the side than the other, over the run's 'on' frames."""
        if not was_open:
            side.support, side.support_n = 0.0, 0
        diffs = [a - b for a, b in zip(mine, other) if a == a and b == b]
        if diffs:
            side.support += max(diffs)
            side.support_n += 1

    def _on_lateral_run(self, side: Side, run: Run) -> None:
        """A one-sided run ended: it waits to be confirmed if it lasted and the mesh supports it,
        with its evidence and its onset dated back (tangent_onset).  A run that crossed only 'off'
        waits too, as a weak twitch (no evidence alone, see Train.evidence), if it was as brief as
        a twitch and the mesh found that eye more closed too."""
        total, n = side.support, side.support_n
        side.support, side.support_n = 0.0, 0
        reopened, side.reopened_at = side.reopened_at, math.nan
        if reopened < run.offset_s:  # it ended when its eye reopened, not when it could be compared again
            run = dataclasses.replace(run, offset_s=reopened)
        lo, hi = side.turn
        side.turn = (math.inf, -math.inf)
        far = max(self.usual_yaw - lo, hi - self.usual_yaw) > self.p.far_yaw_deg  # False for NaN
        needed = self.p.turn_support if hi - lo >= self.p.turn_deg else self.p.mesh_support
        if n and total / n < needed:  # no mesh reading at all is no veto
            return
        if run.duration_s < self.p.min_event_s or (not run.accepted and run.duration_s > self.p.weak_max_s):
            return
        evidence = side.asym.evidence("run", self.fps, self.p)
        if far and APPEARANCE not in evidence.sources:  # the mesh alone, on a foreshortened eye
            evidence = evidence.of_no_weight()
        run = dataclasses.replace(run, evidence=evidence)
        if run.accepted:
            side.last_run = run
        elif self._may_be_weak(run):
            run = dataclasses.replace(run, evidence=evidence.as_weak())
        else:
            return
        pts = side.rise
        onset = tangent_onset([a for a, _ in pts], [b for _, b in pts], run.onset_s, self.p.onset_back_s)
        side.unconfirmed.append((run, onset, True))

    def _may_be_weak(self, run: Run) -> bool:
        """A twitch with no evidence of its own may still pool its frames with its train's (a weak
        twitch) if it was as brief as a twitch and the mesh found that eye more closed too."""
        return run.duration_s <= self.p.weak_max_s and bool(MESH_SOURCES & set(run.evidence.sources))

    # -- trains and their events (trains.py) -----------------------------------------------------
    def _confirm(self, side: Side, t: float, events: list[Event], final: bool) -> None:
        """A closed run is judged blink_absorb_s after it ended: a twitch, or a blink's edge."""
        pending = side.unconfirmed
        absorb = self.p.blink_absorb_s
        two_sided = self.two_sided
        while pending and (final or t >= pending[0][0].offset_s + absorb):
            run, onset, absorbable = pending[0]
            if absorbable and not final and two_sided.may_become_blink(run, t):
                break  # judged once that closure has shown what it is
            pending.pop(0)
            edge = absorbable and two_sided.absorbs(run, t)
            if edge and (two_sided.absorbs(run, t, blinks_only=True) or not self._may_be_weak(run)):
                continue  # a blink's uneven edge
            if edge:  # only an incomplete blink's: a weak twitch (each twitch of a fast train can drag the
                run = dataclasses.replace(run, evidence=run.evidence.as_weak())  # other eye into a partial blink)
            elif self._within_own_blinks(run, t):  # no evidence of its own, though it may belong to a train
                run = dataclasses.replace(run, evidence=run.evidence.of_no_weight())
            run = with_onset(run, onset)
            train = side.train
            if train.twitches and train.ends_before(run, self.two_sided.blind):
                self._emit(side, events)
            if train.add(run, self._now):  # a spasm: report it now
                self.started.append((side.name, train.twitches[0].onset_s))

    def _flush(self, side: Side, t: float, events: list[Event], final: bool) -> None:
        """Report a train once no further twitch can join it."""
        if not side.train.twitches:
            return
        if not final:
            horizon = side.train.horizon(t, self.two_sided.blind)
            if t < horizon or self._may_start_before(side, horizon):
                return
        self._emit(side, events)

    def _may_start_before(self, side: Side, horizon: float) -> bool:
        """Whether a twitch of this side may yet turn out to start before `horizon`: an open
        one-sided run (its onset may be dated back by up to onset_back_s), an open two-sided
        closure (it may be judged a blink holding a spasm), a closed run still to be confirmed,
        or a blink still to be judged."""
        back, lat, bil = self.p.onset_back_s, side.lateral, self.two_sided.open_onset
        return (lat.open and lat.onset - back < horizon) or (bil is not None and bil - back < horizon) or any(
            onset < horizon for _, onset, _ in side.unconfirmed) or any(
            b.onset_s - back < horizon for b in self.blinks.queue)

    def _emit(self, side: Side, events: list[Event]) -> None:
        """The side's train is complete (with the mouth pull still under way, if one is)."""
        mouth_runs = list(side.mouth_runs)
        if side.mouth.open:
            mouth_runs.append(Run(side.mouth.onset, math.inf, 0.0, True))
        event = side.train.complete(mouth_runs)
        if event is not None:
            events.append(event)

    def _prune(self, t: float) -> None:
        """Keep memory flat: drop blinks and mouth runs no pending twitch can still touch."""
        if not (self.two_sided.ended or self.sides[0].mouth_runs or self.sides[1].mouth_runs):
            return
        oldest_off = min([t] + [r.offset_s for side in self.sides for r, _, _ in side.unconfirmed])
        oldest_on = min([t] + [r.onset_s for side in self.sides for r, _, _ in side.unconfirmed]
                        + [side.lateral.onset for side in self.sides if side.lateral.open]  # open runs too
                        + [side.train.last_offset() for side in self.sides if side.train.twitches])  # train gaps
        horizon = min(oldest_off, oldest_on) - self.p.blink_absorb_s
        self.two_sided.prune(horizon)
        for side in self.sides:
            starts = [t] + [onset for _, onset, _ in side.unconfirmed] + [r.onset_s for r in side.train.twitches[:1]]
            if side.lateral.open:
                starts.append(side.lateral.onset - self.p.onset_back_s)
            keep_from = min(starts) - self.p.cocontraction_s
            runs = side.mouth_runs
            if runs and runs[0].offset_s < keep_from:
                side.mouth_runs = [m for m in runs if m.offset_s >= keep_from]
