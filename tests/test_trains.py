"""The detector's train assembly (core/detector/trains.py), on hand-made twitches."""
from __future__ import annotations

import dataclasses

import pytest

from twitchcam.core.detector import DetectorParams
from twitchcam.core.detector.trains import Train
from twitchcam.core.events import POSSIBLE, SOURCE_NAMES, Evidence, Run

P = DetectorParams()  # merge_gap_s 0.3, tonic_s 1.0, confident 0.5


def twitch(on: float, off: float, confidence: float | None = 0.9) -> Run:
    ev = None if confidence is None else Evidence(0.5, off - on, SOURCE_NAMES, "run", confidence)
    return Run(on, off, 0.8, True, evidence=ev)


def never_shut(a: float, b: float) -> float:
    return 0.0


def test_twitches_closer_than_the_merge_gap_form_one_train_and_a_later_one_ends_it():
    train = Train("left", P, 30.0)
    train.add(twitch(1.0, 1.1), 1.2)
    assert not train.ends_before(twitch(1.35, 1.45), never_shut)  # 0.25 s after
    train.add(twitch(1.35, 1.45), 1.5)
    assert train.ends_before(twitch(1.8, 1.9), never_shut)  # 0.35 s after
    assert train.horizon(1.5, never_shut) == pytest.approx(1.75)


def blink(a: float, b: float) -> float:
    """Both eyes shut from 1.2 to 1.4."""
    return max(0.0, min(b, 1.4) - max(a, 1.2))


def test_time_both_eyes_were_shut_does_not_count_in_the_gap():
    train = Train("left", P, 30.0)
    train.add(twitch(1.0, 1.1), 1.2)
    assert not train.ends_before(twitch(1.55, 1.65), blink)  # 0.45 s after, 0.2 s of it blind
    assert train.horizon(1.5, blink) == pytest.approx(1.1 + 0.3 + 0.2)


def test_a_train_is_reported_once_at_its_first_confident_twitch():
    train = Train("right", P, 30.0)
    assert not train.add(twitch(1.0, 1.1, confidence=0.2), 1.2)  # possible: not reported
    assert train.reported_at == 1.2
    assert train.add(twitch(1.3, 1.4), 1.5)
    assert not train.add(twitch(1.6, 1.7), 1.8)  # reported already
    assert train.reported_at == 1.2


def test_nothing_is_reported_below_the_frame_rate_that_can_show_a_twitch():
    train = Train("right", P, 6.0)
    assert not train.add(twitch(1.0, 1.4), 1.5)
    event = train.complete([])
    assert event is not None and event.kind == POSSIBLE


def test_a_twitch_found_in_a_blink_may_join_before_the_twitches_already_there():
    train = Train("left", P, 30.0)
    train.add(twitch(2.0, 2.1), 2.2)
    train.add(twitch(1.8, 1.95), 2.3)  # judged after the blink it led
    assert [r.onset_s for r in train.twitches] == [1.8, 2.0]


def test_a_complete_train_is_one_event_and_a_new_train_begins():
    train = Train("left", P, 30.0)
    for k in range(3):
        train.add(twitch(1.0 + 0.25 * k, 1.1 + 0.25 * k), 1.2 + 0.25 * k)
    event = train.complete([Run(1.5, 1.7, 0.2, True)])  # a mouth pull starting with the third twitch
    assert (event.side, event.kind, event.twitches, event.region) == ("left", "clonic", 3, "eye+mouth")
    assert (event.onset_s, event.offset_s, event.detected_at_s) == (1.0, 1.6, 1.2)
    assert train.twitches == []
    train.add(twitch(5.0, 6.2), 6.3)
    event = train.complete([Run(4.0, 7.0, 0.2, True)])  # pulled long before: proves nothing
    assert (event.kind, event.region, event.detected_at_s) == ("tonic", "eye", 6.3)


def test_a_train_of_doubtful_twitches_is_possible_and_one_without_evidence_is_none():
    train = Train("left", P, 30.0)
    train.add(twitch(1.0, 1.1, confidence=0.3), 1.2)
    assert train.complete([]).kind == POSSIBLE
    train.add(twitch(2.0, 2.1, confidence=0.0), 2.2)  # e.g. like the person's own blinks
    assert train.complete([]) is None and train.twitches == []


def single_frame(on: float, diff: float, fps: float = 24.0, own: bool = True) -> Run:
    """A twitch seen on one frame only: on its own no evidence (a difference must hold over two)."""
    from twitchcam.core.detector.evidence import Asymmetry

    frames = Asymmetry()
    frames.add(diff, (0.6, 0.6, 0.5), (0.1, 0.1, 0.1))
    ev = frames.evidence("run", fps, P)
    assert ev.confidence == 0.0
    if not own:  # judged a lid of the person's own uneven blink: no evidence of its own
        ev = Evidence(ev.asym, ev.asym_s, ev.sources, ev.origin, 0.0)
    return Run(on, on + 1 / fps, 0.5, True, evidence=ev)


def test_a_fast_train_of_single_frame_twitches_pools_their_frames():
    train = Train("right", P, 24.0)
    assert not train.add(single_frame(1.0, 0.5), 1.1)  # one such twitch is nothing yet
    assert train.add(single_frame(1.25, 0.45), 1.35)  # the second makes a difference held over two frames
    train.add(single_frame(1.5, 0.42), 1.6)
    event = train.complete([])
    assert event is not None and event.kind == "clonic" and event.twitches == 3
    assert event.confidence >= P.confident and event.asym == pytest.approx(0.45)  # the 2nd largest of 3 frames
    assert event.asym_s == pytest.approx(3 / 24.0)


def weak_twitch(on: float, diff: float, fps: float = 24.0) -> Run:
    """A twitch that crossed only 'off': confidence 0, its frame kept to pool."""
    run = single_frame(on, diff, fps)
    return Run(run.onset_s, run.offset_s, run.peak, False, evidence=dataclasses.replace(
        run.evidence, origin="weak", confidence=0.0))


def test_weak_twitches_count_only_as_a_long_train():
    train = Train("left", P, 24.0)
    for k in range(P.weak_twitches - 1):
        assert not train.add(weak_twitch(1.0 + 0.2 * k, 0.3), 1.1 + 0.2 * k)
    assert train.evidence().confidence == 0.0
    k = P.weak_twitches - 1
    assert train.add(weak_twitch(1.0 + 0.2 * k, 0.3), 1.1 + 0.2 * k)  # the fourth: reported now
    event = train.complete([])
    assert event is not None and event.kind == "clonic" and event.twitches == P.weak_twitches
    assert event.asym == pytest.approx(0.3) and event.confidence >= P.confident
    short = Train("left", P, 24.0)
    for k in range(P.weak_twitches - 1):
        short.add(weak_twitch(1.0 + 0.2 * k, 0.3), 1.1 + 0.2 * k)
    assert short.complete([]) is None  # never even listed as possible


def test_weak_twitches_count_with_a_trains_single_frame_twitches():
    train = Train("right", P, 24.0)
    train.add(single_frame(1.0, 0.4), 1.1)  # one single-frame twitch: too few to pool alone
    for k in range(1, P.weak_twitches):
        train.add(weak_twitch(1.0 + 0.2 * k, 0.3), 1.1 + 0.2 * k)
    event = train.complete([])
    assert event is not None and event.is_spasm and event.twitches == P.weak_twitches


def test_twitches_without_evidence_of_their_own_pool_nothing():
    train = Train("right", P, 24.0)
    for k in range(4):
        train.add(single_frame(1.0 + 0.2 * k, 0.5, own=False), 1.1 + 0.2 * k)
    assert train.complete([]) is None
    alone = Train("right", P, 24.0)
    alone.add(single_frame(1.0, 0.6), 1.1)
    assert alone.complete([]) is None


def test_an_eye_narrowed_less_than_the_mouth_corner_rose_is_a_smile():
    """A smirk can narrow the eye as far as a wink (0.5) while its mouth corner rises further
    still (0.55); a wink pulls the mouth corner too (0.41), but less than it closes the eye."""
    from twitchcam.core.detector.evidence import confidence

    p = DetectorParams()
    assert confidence(0.5, 3, 3, 0.55, p) == pytest.approx(0.25)  # the smirk: a quarter
    assert confidence(0.3, 3, 3, 0.4, p) == pytest.approx(0.25)  # partway, the mouth far up
    assert confidence(0.57, 3, 3, 0.41, p) == 1.0  # the wink
    assert confidence(0.5, 3, 3, 0.3, p) == 1.0  # a spasm's pull: no smile however it compares
