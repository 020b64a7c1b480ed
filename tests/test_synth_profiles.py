"""Time profiles of the v2 ground truth (twitchcam.synth.profiles)."""
from __future__ import annotations

import numpy as np
import pytest

from twitchcam.synth import profiles as pr

T = np.arange(0.0, 12.0, 0.0005)


def _check_support(ev: pr.SpasmEvent) -> np.ndarray:
    lv = ev.level(T)
    inside = (T > ev.onset_s) & (T < ev.offset_s)
    assert (lv[~inside] == 0).all() and (lv[inside] > 0).mean() > 0.5
    return lv


@pytest.mark.parametrize("seed", range(15))
def test_single_twitch_is_a_short_rise_and_fall(seed):
    ev = pr.single_twitch(np.random.default_rng(seed), 2.0, "left")
    (tw,) = ev.twitches
    assert tw.hold_s == 0 and 0.09 - 1e-3 <= ev.duration_s <= 0.25 + 1e-3
    assert _check_support(ev).max() == pytest.approx(1.0, abs=1e-3)
    assert ev.pattern == "twitch" and ev.kind == "clonic"


@pytest.mark.parametrize("seed", range(15))
def test_clonic_trains_keep_the_clinical_timing(seed):
    rng = np.random.default_rng(seed)
    ev = pr.clonic_train(rng, 1.0, "right")
    assert 2 <= len(ev.twitches) <= 4 and 0.3 - 1e-3 <= ev.duration_s <= 0.75 + 1e-3
    fast = pr.fast_clonic_train(rng, 1.0, "right")
    assert 5 <= len(fast.twitches) <= 8
    for e, (g0, g1) in ((ev, (0.06, 0.15)), (fast, (0.03, 0.06))):
        gaps = [b.onset_s - a.end_s for a, b in zip(e.twitches, e.twitches[1:])]
        assert all(g0 - 1e-3 <= g <= max(g1, 0.125 - 0.09) + 1e-3 for g in gaps), gaps
        lv = _check_support(e)
        assert (lv[(T > e.onset_s) & (T < e.offset_s)] == 0).any()  # the lid reopens between twitches
    starts = [tw.onset_s for tw in fast.twitches]
    assert min(np.diff(starts)) >= 0.125 - 1e-3  # at most 8 twitches a second


@pytest.mark.parametrize("seed", range(10))
def test_tonic_hold_trembles_but_stays_closed(seed):
    ev = pr.tonic_hold(np.random.default_rng(seed), 3.0, "left", 0.9)
    (tw,) = ev.twitches
    assert 1.0 <= tw.hold_s <= 4.0 and 4 <= ev.tremor_hz <= 10 and 0.1 <= ev.tremor_depth <= 0.25
    lv = _check_support(ev)
    hold = lv[(T > tw.onset_s + tw.rise_s) & (T < tw.onset_s + tw.rise_s + tw.hold_s)]
    assert hold.max() <= 0.9 + 1e-9 and hold.min() >= 0.9 * (1 - ev.tremor_depth) - 1e-9
    assert hold.max() - hold.min() > 0.9 * ev.tremor_depth * 0.8  # the tremor is there


def test_partial_closures_peak_between_half_and_most():
    rng = np.random.default_rng(0)
    evs = [pr.partial(rng, 1.0, "left") for _ in range(40)]
    assert {e.kind for e in evs} == set(pr.KINDS) and all(e.pattern == "partial" for e in evs)
    assert all(0.5 <= e.intensity <= 0.85 for e in evs)


@pytest.mark.parametrize("seed", range(10))
def test_long_partial_trains_are_five_to_seven_partial_twitches_and_only_made_when_asked(seed):
    ev = pr.make_pattern(np.random.default_rng(seed), "long_partial", 1.0, "left")
    assert ev.pattern == "long_partial" and ev.kind == "clonic" and 0.5 <= ev.intensity <= 0.7
    assert 5 <= len(ev.twitches) <= 7 and all(0.09 <= tw.end_s - tw.onset_s <= 0.2 + 1e-9 for tw in ev.twitches)
    assert _check_support(ev).max() <= ev.intensity + 1e-9
    assert "long_partial" not in pr.PATTERNS  # the default set (make accuracy) stays as it was


@pytest.mark.parametrize("seed", range(10))
def test_blink_patterns_overlap_the_blink_as_specified(seed):
    rng = np.random.default_rng(seed)
    lead = pr.around_blink(rng, "blink_lead", 5.0, 5.25, "left")
    assert 0.05 - 1e-3 <= 5.0 - lead.onset_s <= 0.15 + 1e-3 and 5.25 <= lead.offset_s <= 5.31 + 1e-3
    trail = pr.around_blink(rng, "blink_trail", 5.0, 5.25, "right")
    assert 5.0 <= trail.onset_s <= 5.04 + 1e-3 and 0.1 - 1e-3 <= trail.offset_s - 5.25 <= 0.3 + 1e-3
    for ev in (lead, trail):
        assert _check_support(ev).max() == pytest.approx(1.0, abs=1e-3)


def test_truth_csv_carries_generator_and_pattern_and_events_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    evs = [pr.make_pattern(rng, p, 2.0 + 5 * k, "left", mouth=k % 2 == 1)
           for k, p in enumerate(("twitch", "clonic", "fast_clonic", "tonic", "partial"))]
    path = tmp_path / "truth.csv"
    pr.write_truth(path, evs, {"generator": "lid", "pattern": ""})
    assert path.read_text().splitlines()[0] == ",".join(pr.TRUTH_COLUMNS + ("generator", "pattern"))
    rows = pr.read_truth(path)
    assert [r["pattern"] for r in rows] == [e.pattern for e in evs]
    assert {r["generator"] for r in rows} == {"lid"}
    pr.save_events(tmp_path / "e.json", evs)
    assert pr.load_events(tmp_path / "e.json") == evs
    shifted = evs[3].shifted(9.0)
    assert shifted.onset_s == 9.0 and shifted.tremor_hz == evs[3].tremor_hz
