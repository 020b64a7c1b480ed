"""The detector's two-sided closures and blink judgement (core/detector/blinks.py), on hand-made frames."""
from __future__ import annotations

import pytest

from twitchcam.core.detector import DetectorParams
from twitchcam.core.detector.blinks import NAN_EYE, BlinkJudge, TwoSided
from twitchcam.core.events import SOURCE_NAMES, Evidence, Run

FPS = 30.0
P = DetectorParams()


def t(k: float) -> float:
    return k / FPS


def eye(closure: float) -> tuple:
    """An eye that every source finds `closure` closed."""
    return closure, 1.0 - closure, (closure, closure, closure)


def profile(n: int, closed: dict[int, float]) -> list[float]:
    return [closed.get(k, 0.0) for k in range(n)]


def judge_of(left: list[float], right: list[float]) -> BlinkJudge:
    judge = BlinkJudge(P, FPS)
    for k, (a, b) in enumerate(zip(left, right)):
        judge.record(t(k), eye(a), eye(b))
    return judge


RAMP = {10: 0.3, 11: 0.9, 12: 0.9, 13: 0.3}  # a blink: frames 10-13
BLINK = Run(t(10), t(14), 0.9, True, 0.9)


def judged(left: list[float], right: list[float], blink: Run = BLINK, under_way=lambda onset: False):
    judge = judge_of(left, right)
    assert judge.add(blink) == [blink]
    return judge, list(judge.judge(t(len(left)), True, under_way))


def test_a_two_sided_closure_that_closes_both_eyes_alike_ends_as_one_run():
    two = TwoSided(P, FPS)
    closures = profile(40, RAMP)
    ended = [(k, two.step(t(k), c, c)) for k, c in enumerate(closures)]
    runs = [(k, r) for k, r in ended if r is not None]
    assert len(runs) == 1 and runs[0][0] == 14  # ended on the first frame below the 'off' level
    assert runs[0][1].onset_s == t(10) and runs[0][1].peak == 0.9 and two.ended == [runs[0][1]]


def test_a_closure_much_deeper_on_one_side_is_no_two_sided_closure():
    two = TwoSided(P, FPS)
    for k, c in enumerate(profile(40, {11: 0.4, 12: 0.4})):
        assert two.step(t(k), 2.5 * c, c) is None  # one eye shut, the other 0.4: not alike
    assert two.ended == []


def test_a_frame_without_a_face_ends_an_open_two_sided_closure():
    two = TwoSided(P, FPS)
    for k in range(20):
        two.step(t(k), 0.0, 0.0)
    two.step(t(20), 0.9, 0.9)
    two.step(t(21), 0.9, 0.9)
    assert two.open_onset == t(20)
    two.skip()
    closure = two.close(t(22))
    assert closure is not None and (closure.onset_s, closure.offset_s) == (t(20), t(22)) and two.open_onset is None


def test_a_partial_closure_of_both_eyes_alike_is_an_incomplete_blink_kept_but_never_counted():
    two = TwoSided(P, FPS)
    for k, c in enumerate(profile(40, {20: 0.3, 21: 0.3})):  # under 'on' (0.35), the right lid a little deeper
        assert two.step(t(k), c, 1.4 * c) is None  # no blink
    assert [(r.onset_s, r.offset_s, r.accepted) for r in two.ended] == [(t(20), t(22), False)]
    assert two.touches(Run(t(21), t(23), 0.42, True), t(40))  # its edges are no spasms (is_absorbed)
    assert two.blind(0.0, 2.0) == 0.0  # both eyes stayed open enough to compare


def test_a_partial_closure_much_deeper_on_one_side_is_no_incomplete_blink():
    two = TwoSided(P, FPS)
    for k, c in enumerate(profile(40, {20: 0.3, 21: 0.3})):
        two.step(t(k), c, 1.8 * c)  # 0.3 against 0.54: a spasm's side, with the other eye dragged along
    assert two.ended == []


def test_time_both_eyes_were_shut_between_two_moments():
    two = TwoSided(P, FPS)
    two.ended = [Run(1.0, 1.2, 0.9, True, 0.9), Run(3.0, 3.1, 0.9, True, 0.9)]
    assert two.blind(0.9, 1.5) == pytest.approx(0.2)
    assert two.blind(1.1, 3.05) == pytest.approx(0.1 + 0.05)
    assert two.blind(1.5, 2.5) == 0.0
    two.run.step(4.0, True, True, 0.9)  # a closure still open since 4.0
    assert two.blind(3.5, 4.3) == pytest.approx(0.3)


def test_a_twitch_touches_a_closure_give_or_take_two_frames():
    two = TwoSided(P, FPS)
    two.ended = [Run(1.0, 1.2, 0.9, True, 0.9)]
    assert two.touches(Run(1.25, 1.5, 0.5, True), 1.6)  # 50 ms after it: within blink_absorb_s
    assert not two.touches(Run(1.3, 1.5, 0.5, True), 1.6)
    two.prune(1.3)
    assert two.ended == [] and not two.touches(Run(1.1, 1.5, 0.5, True), 1.6)


def test_a_closure_still_going_on_counts_as_one_only_if_it_has_closed_both_eyes_alike():
    """A two-sided closure that is no blink so far (under 'on', one eye far deeper: the mesh
    dragging the other eye along with a twitching one) neither absorbs a twitch nor holds it."""
    twitch = Run(2.0, 2.1, 0.9, True)
    for on, both, alike in ((True, 0.9, True), (False, 0.2, False), (True, 0.3, False)):
        two = TwoSided(P, FPS)
        two.run.step(2.0, True, on, both, 0.9)  # min and max of the two eyes' closure
        assert two.touches(twitch, 2.2) is alike
        assert two.absorbs(twitch, 2.2) is alike


def test_a_blink_with_both_lids_together_holds_no_twitch_but_tells_the_persons_blinks():
    judge, twitches = judged(profile(30, RAMP), profile(30, RAMP))
    assert twitches == [] and list(judge.asym) == [0.0] and judge.queue == []


def test_a_lid_closing_three_frames_before_the_other_is_a_twitch_on_that_side():
    left = profile(30, {7: 0.3, 8: 0.9, 9: 0.9, 10: 0.9, 11: 0.9, 12: 0.9, 13: 0.3})
    judge, twitches = judged(left, profile(30, RAMP))
    assert len(twitches) == 1
    side, twitch = twitches[0]
    assert side == 0 and twitch.onset_s == pytest.approx(t(7.25))  # half-peak crossing, interpolated
    assert twitch.offset_s == pytest.approx(t(12.75)) and twitch.peak == 0.9
    ev = twitch.evidence
    assert ev.origin == "blink" and ev.asym >= 0.5 and ev.sources == SOURCE_NAMES
    assert judge.asym[0] == ev.asym  # the person's blink asymmetry: the larger lid's


def test_a_right_lid_reopening_late_is_a_twitch_on_the_right():
    right = profile(30, {10: 0.3, 11: 0.9, 12: 0.9, 13: 0.9, 14: 0.9, 15: 0.9, 16: 0.3})
    _, twitches = judged(profile(30, RAMP), right)
    assert [side for side, _ in twitches] == [1]


def test_a_one_frame_lag_is_never_evidence():
    left = profile(30, {9: 0.3, 10: 0.9, 11: 0.9, 12: 0.9, 13: 0.3})
    judge, twitches = judged(left, profile(30, RAMP))
    assert twitches == [] and len(judge.asym) == 1


def test_a_lid_shut_a_frame_before_and_a_frame_after_the_other_is_a_twitch_on_that_side():
    """Neither lag alone is over a frame, but the lid was shut longer than the other by two:
    a spasm around a blink, where a slow lid (shifted, not longer) would lead and lag alike."""
    left = profile(30, {9: 0.3, 10: 0.9, 11: 0.9, 12: 0.9, 13: 0.9, 14: 0.3})
    _, twitches = judged(left, profile(30, RAMP))
    assert [side for side, _ in twitches] == [0]
    shifted = profile(30, {11: 0.3, 12: 0.9, 13: 0.9, 14: 0.3})  # a lid a frame late throughout
    _, twitches = judged(shifted, profile(30, RAMP))
    assert twitches == []


def test_a_blink_of_a_lid_already_shut_or_of_a_spasm_under_way_is_not_judged():
    shut = [0.6] * 30  # the left lid closed before the blink began
    judge, twitches = judged(shut, profile(30, RAMP))
    assert twitches == [] and len(judge.asym) == 0
    left = profile(30, {7: 0.3, 8: 0.9, 9: 0.9, 10: 0.9, 11: 0.9, 12: 0.9, 13: 0.3})
    judge, twitches = judged(left, profile(30, RAMP), under_way=lambda onset: True)
    assert twitches == [] and len(judge.asym) == 0


def test_a_blink_is_judged_once_both_lids_reopened_and_not_before():
    left = profile(30, {7: 0.3, 8: 0.9, 9: 0.9, 10: 0.9, 11: 0.9, 12: 0.9, 13: 0.3})
    right = profile(30, RAMP)
    judge = judge_of(left[:13], right[:13])  # lids still closing or closed
    judge.add(BLINK)
    assert list(judge.judge(t(12), False, lambda onset: False)) == [] and judge.queue == [BLINK]
    for k in range(13, 17):
        judge.record(t(k), eye(left[k]), eye(right[k]))
    assert [side for side, _ in judge.judge(t(16), False, lambda onset: False)] == [0]


def test_frames_without_a_face_are_no_closure():
    judge = BlinkJudge(P, FPS)
    judge.record(0.0, NAN_EYE, NAN_EYE)
    assert judge.frames[0][1][0] != judge.frames[0][1][0]


def test_a_long_closure_holds_a_blink_where_the_lids_were_above_half_their_peak_over_their_held_level():
    lowered = {k: 0.2 for k in range(5, 27)} | {k: 0.9 for k in range(15, 20)}  # lids lowered, a blink amid
    judge = judge_of(profile(40, lowered), profile(40, lowered))
    closure = Run(t(5), t(27), 0.9, True, 0.9)  # 0.73 s: too long for a blink itself
    blinks = judge.add(closure)
    assert len(blinks) == 1 and judge.queue == blinks  # a lone blink is judged
    half = (0.55 - 0.2) / 0.7  # half-way from the held 0.2 to the peak 0.9
    assert blinks[0].onset_s == pytest.approx(t(14 + half)) and blinks[0].offset_s == pytest.approx(t(20 - half))


def test_blinks_while_looking_down_are_each_a_blink_and_no_evidence_of_a_spasm():
    """Two blinks 0.6 s apart on lids lowered all the while (the left one lower): one two-sided
    closure holding both.  Each is a blink; neither is judged, since the left lid, held lower,
    crosses its half peak later than the right."""
    left = {k: 0.55 for k in range(5, 40)} | {k: 0.9 for k in range(10, 14)} | {k: 0.9 for k in range(28, 32)}
    right = {k: 0.35 for k in range(5, 40)} | {k: 0.9 for k in range(10, 14)} | {k: 0.9 for k in range(28, 32)}
    judge = judge_of(profile(45, left), profile(45, right))
    blinks = judge.add(Run(t(5), t(40), 0.9, True, 0.9))
    assert [(round(b.onset_s * FPS), round(b.offset_s * FPS)) for b in blinks] == [(10, 14), (28, 32)]
    assert judge.queue == []


def test_a_closure_in_a_long_one_that_stays_under_blink_on_is_a_partial_blink_not_a_blink():
    lids = {k: 0.1 for k in range(5, 35)} | {k: 0.3 for k in range(10, 13)} | {k: 0.5 for k in range(25, 28)}
    judge = judge_of(profile(40, lids), profile(40, lids))
    blinks = judge.add(Run(t(5), t(35), 0.5, True, 0.5))
    assert [round(b.onset_s * FPS) for b in blinks] == [25]  # 0.3 < blink_on: partial; 0.5: a blink


def test_a_closure_that_began_before_the_frames_held_holds_no_blink():
    lowered = {k: 0.2 for k in range(0, 80)} | {k: 0.9 for k in range(70, 74)}
    judge = judge_of(profile(80, lowered), profile(80, lowered))
    assert judge.frames[0][0] > t(0)
    assert judge.add(Run(t(0), t(80), 0.9, True, 0.9)) == [] and judge.queue == []


def test_a_blink_under_way_as_the_recording_starts_rises_from_the_open_level():
    two = TwoSided(P, FPS)
    closed = [0.9, 0.9, 0.6, 0.2] + [0.0] * 10
    runs = [r for k, c in enumerate(closed) if (r := two.step(t(k), c, c)) is not None]
    assert [(r.onset_s, round(r.offset_s * FPS)) for r in runs] == [(0.0, 4)]


def evidence(asym: float, confidence: float = 1.0, sources: tuple = SOURCE_NAMES) -> Evidence:
    return Evidence(asym, 0.1, sources, "blink", confidence)


def test_a_twitch_in_a_blink_counts_only_beyond_the_persons_own_blinks():
    judge = BlinkJudge(P, FPS)
    assert not judge.like_own_blinks(evidence(0.5))  # clear, and no blinks known yet
    assert judge.like_own_blinks(evidence(0.05))  # below blink_asym_min
    assert judge.like_own_blinks(evidence(0.5, confidence=0.3))  # not confident
    assert judge.like_own_blinks(evidence(0.5, sources=("geometry",)))  # the mesh's lid gap alone
    judge.asym.extend([0.5] * 5)  # a person whose blinks are uneven
    assert judge.like_own_blinks(evidence(0.55)) and not judge.like_own_blinks(evidence(0.65))


def test_before_a_persons_blinks_are_known_a_twitch_in_a_blink_is_judged_against_peoples_in_general():
    judge = BlinkJudge(P, FPS)
    uneven = evidence(P.blink_asym_prior - 0.05)  # as uneven as some people's natural blinks
    for _ in range(P.blink_known - 1):
        assert judge.like_own_blinks(uneven)
        judge.asym.append(0.0)  # a person whose blinks are even
    assert judge.like_own_blinks(uneven)
    assert not judge.like_own_blinks(evidence(P.blink_asym_prior + 0.05))  # beyond anyone's blinks
    judge.asym.append(0.0)  # now known: beyond their own range
    assert not judge.like_own_blinks(uneven)
