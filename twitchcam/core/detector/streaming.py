"""The streaming detector: one frame at a time, the same rules for every feeder (see the package)."""
from __future__ import annotations

import dataclasses
import math
from array import array
from bisect import insort
from collections import deque

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.detector.evidence import Asymmetry
from twitchcam.core.detector.params import MIN_TWITCH_FPS, DetectorParams
from twitchcam.core.detector.person import SideStats, Schedule, blink_levels, side_stats
from twitchcam.core.detector.runs import RunState, SlidingMin, comparable, is_bilateral, is_blink, lateral
from twitchcam.core.events import (SOURCE_NAMES, Event, Evidence, Run, blink_asymmetry, blink_event, has_mouth,
                                   is_absorbed, spasm_event, tangent_onset, with_onset)

RISE_BEFORE, RISE_AFTER = 2, 6  # frames around a run's start that the tangent method looks at
NAN3 = (math.nan, math.nan, math.nan)


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
        self._lateral = [RunState(), RunState()]
        self._bilateral = RunState()
        self._floor = SlidingMin(max(1, round(params.blink_floor_s * fps)))
        self._mouth_floor = [SlidingMin(max(1, round(params.mouth_floor_s * fps))) for _ in SIDES]
        self._mouth = [RunState(), RunState()]
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

