"""The pure interval rules of core/events.py, one by one."""
from __future__ import annotations

import math

import numpy as np
import pytest

from twitchcam.core.events import (
    Event,
    Run,
    blink_asymmetry,
    blink_event,
    has_mouth,
    is_absorbed,
    spasm_event,
    tangent_onset,
)

ABSORB, EDGE, BLINK_MAX = 0.07, 0.15, 0.5


def run(on: float, off: float, peak: float = 0.8) -> Run:
    return Run(on, off, peak, True)


def test_a_one_sided_edge_inside_a_blink_is_the_blink():
    blink = run(10.0, 10.25)
    assert is_absorbed(run(10.05, 10.2), [blink], ABSORB, EDGE, BLINK_MAX)
    assert is_absorbed(run(9.97, 10.1), [blink], ABSORB, EDGE, BLINK_MAX)  # a frame early: still inside


def test_a_brief_closure_touching_a_blink_is_its_uneven_edge_but_a_long_one_is_not():
    blink = run(10.0, 10.25)
    assert is_absorbed(run(10.2, 10.32), [blink], ABSORB, EDGE, BLINK_MAX)  # 120 ms reopening late
    assert not is_absorbed(run(10.2, 11.5), [blink], ABSORB, EDGE, BLINK_MAX)  # the eye stays shut


def test_a_long_two_sided_closure_does_not_swallow_what_happens_inside_it():
    squint = run(10.0, 13.0)  # smiling with narrowed eyes
    assert not is_absorbed(run(11.0, 11.4), [squint], ABSORB, EDGE, BLINK_MAX)


def test_closures_far_from_any_blink_are_spasms():
    assert not is_absorbed(run(20.0, 20.2), [run(10.0, 10.25), run(30.0, 30.2)], ABSORB, EDGE, BLINK_MAX)


def test_a_two_sided_closure_still_open_judges_what_is_known_so_far():
    twitch = run(10.02, 10.12)
    assert is_absorbed(twitch, [], ABSORB, EDGE, BLINK_MAX, open_onset_s=10.0, now_s=10.19)
    assert not is_absorbed(run(9.0, 9.5), [], ABSORB, EDGE, BLINK_MAX, open_onset_s=10.0, now_s=10.19)


def test_mouth_counts_only_when_its_pull_starts_with_a_twitch():
    pulls = [run(5.0, 5.6), run(20.05, 21.0)]
    assert has_mouth([20.0], pulls, before_s=0.1, after_s=0.3)
    assert has_mouth([4.95], pulls, before_s=0.1, after_s=0.3)
    assert not has_mouth([5.5], pulls, before_s=0.1, after_s=0.3)  # already pulled: proves nothing
    assert not has_mouth([12.0], pulls, before_s=0.1, after_s=0.3)
    assert has_mouth([12.0, 20.0], pulls, before_s=0.1, after_s=0.3)  # any twitch of the train


def test_a_train_of_brief_twitches_is_clonic_and_one_long_closure_is_tonic():
    train = [run(1.0, 1.2), run(1.35, 1.5, 0.9), run(1.6, 1.8)]
    e = spasm_event("left", train, False, 1.0, 1.25)
    assert (e.onset_s, e.offset_s, e.kind, e.twitches, e.peak_closure, e.region) == (1.0, 1.8, "clonic", 3, 0.9, "eye")
    assert e.duration_s == pytest.approx(0.8)
    hold = spasm_event("right", [run(5.0, 6.5, 1.3)], True, 1.0, 5.2)
    assert (hold.kind, hold.region, hold.peak_closure) == ("tonic", "eye+mouth", 1.0)  # peak clipped to 1
    long_train = [run(10.0 + 0.3 * k, 10.2 + 0.3 * k) for k in range(8)]
    assert spasm_event("left", long_train, False, 1.0, 10.1).kind == "clonic"  # 2.3 s of twitches
    # a lid seen leading a blink, and judged again in the blink: one twitch, not two
    train = [run(np.float64(39.90), 40.0), run(np.float64(39.93), 40.18), run(40.4, 40.5)]
    assert type(spasm_event("left", train, False, 1.0, 40.3).twitches) is int  # a plain int for JSON
    assert spasm_event("left", train, False, 1.0, 40.3).twitches == 2


def test_blinks_are_two_sided_single_events():
    b = blink_event(Run(3.0, 3.2, -0.1, True), 3.25)
    assert (b.side, b.kind, b.twitches, b.peak_closure, b.detected_at_s) == ("both", "blink", 1, 0.0, 3.25)


def test_tangent_onset_finds_where_the_lid_started_to_move():
    fps = 30.0
    times = [k / fps for k in range(8)]
    values = [0.0, 0.0, 0.1, 0.3, 0.5, 0.6, 0.6, 0.6]  # starts rising at frame 1
    onset = tangent_onset(times, values, times[3], max_back_s=0.15)
    assert times[1] <= onset <= times[2]
    assert tangent_onset(times, values, times[3], max_back_s=0.02) == pytest.approx(times[3] - 0.02)
    assert tangent_onset(times, [0.5] * 8, times[3], 0.15) == times[3]  # no rise: the run's own start
    assert tangent_onset(times, [math.nan] * 8, times[3], 0.15) == times[3]


def test_event_key_ignores_only_the_detection_time():
    a = Event(1.0, 2.0, "left", "tonic", 1, 0.8, "eye", 1.1)
    b = Event(1.0, 2.0, "left", "tonic", 1, 0.8, "eye", math.nan)
    assert a.key() == b.key() and a != b


def test_blink_sides_are_timed_at_half_their_peak_and_a_one_frame_dip_is_bridged():
    """JeFaPaTo-style matching: each lid's half-peak crossings, interpolated between frames.
    A lid that glitches open for one frame mid-blink still reopens when it really does."""
    times = [k / 30 for k in range(12)]
    left = [0.0, 0.0, 0.2, 0.8, 0.8, 0.8, 0.8, 0.2, 0.0, 0.0, 0.0, 0.0]
    right = [0.0, 0.0, 0.2, 0.8, 0.2, 0.8, 0.8, 0.2, 0.0, 0.0, 0.0, 0.0]  # frame 4: a glitch
    blink = Run(2 / 30, 7 / 30, 0.8, True)
    on_l, off_l, on_r, off_r = blink_asymmetry(times, left, right, blink)
    assert on_l == pytest.approx(on_r) and off_l == pytest.approx(off_r)
    assert 2 / 30 < on_l < 3 / 30 and 6 / 30 < off_l < 7 / 30
    late = right[:7] + [0.8, 0.8, 0.2, 0.0, 0.0]  # really reopening two frames later
    assert blink_asymmetry(times, left, late, blink)[3] - off_l == pytest.approx(2 / 30)
