"""Estimated Jankovic frequency and SMC-style spread grades: every branch of each rule."""
from __future__ import annotations

import math

import pytest

from twitchcam.core import grades


def summary(left=None, right=None, valid_s=600.0, blinks_per_min=15.0, affected="left",
            **kw):
    base = {"count": 0, "per_min": 0.0, "clonic": 0, "tonic": 0, "mean_duration_s": None,
            "max_duration_s": None, "closed_fraction": 0.05, "with_mouth": 0}
    return {"valid_s": valid_s, "duration_s": valid_s, "status": "complete",
            "no_face": valid_s == 0, "affected_side": affected,
            "spasms": {"left": {**base, **(left or {})}, "right": {**base, **(right or {})}},
            "blinks": {"count": 0, "per_min": blinks_per_min}, **kw}


@pytest.mark.parametrize("left,blink,want", [
    ({}, 15.0, 0),
    ({}, 30.0, 1),
    ({"count": 10, "clonic": 10, "max_duration_s": 0.6}, 15.0, 2),
    ({"count": 10, "clonic": 9, "tonic": 1, "max_duration_s": 2.5}, 15.0, 3),
    ({"count": 10, "clonic": 10, "max_duration_s": 1.0}, 15.0, 3),  # boundary: >= 1 s
    ({"count": 40, "tonic": 40, "max_duration_s": 30, "closed_fraction": 0.62}, 15.0, 4),
    ({"count": 40, "tonic": 40, "max_duration_s": 30, "closed_fraction": 0.5}, 15.0, 3),
])
def test_jankovic_frequency(left, blink, want):
    g = grades.jankovic_frequency(summary(left, blinks_per_min=blink), "left")
    assert g.grade == want
    assert g.label == grades.JANKOVIC_LABELS[want]
    assert g.estimate and g.rule == grades.JANKOVIC_RULE and g.reason


def test_both_eyes_closed_is_not_grade_4():
    # eyes shut (bilateral) for most of the time without one-sided spasms: not HFS grade 4
    g = grades.jankovic_frequency(summary({"closed_fraction": 0.9}), "left")
    assert g.grade == 0


@pytest.mark.parametrize("left,want", [
    ({}, "none"),
    ({"count": 20, "clonic": 20, "with_mouth": 1}, "I"),  # 1 < MOUTH_MIN_COUNT
    ({"count": 40, "clonic": 40, "with_mouth": 3}, "I"),  # 7.5 % < 10 %
    ({"count": 20, "clonic": 20, "with_mouth": 2}, "II"),  # 10 %, 2 events
    ({"count": 20, "clonic": 19, "tonic": 1, "with_mouth": 0, "closed_fraction": 0.2}, "I"),
    # tonic 0.2/min over 10 min = 2 tonic; closed 10 %
    ({"count": 20, "clonic": 18, "tonic": 2, "with_mouth": 0, "closed_fraction": 0.10}, "III"),
    ({"count": 20, "clonic": 18, "tonic": 2, "with_mouth": 0, "closed_fraction": 0.09}, "I"),
])
def test_smc_spread(left, want):
    g = grades.smc_spread(summary(left), "left")
    assert g.grade == want
    if want != "none":
        assert g.label == grades.SMC_LABELS[want]
    assert "IV" in g.rule and "not assessed" in g.rule


def test_no_valid_time_is_not_estimable():
    s = summary(valid_s=0.0, affected=None)
    est = grades.estimate(s)
    assert est["jankovic_frequency"]["grade"] is None
    assert est["smc_spread"]["grade"] is None
    assert est["jankovic_frequency"]["display"] == "not estimable"
    assert est["side"] is None


def test_missing_and_nan_fields_do_not_crash():
    s = {"valid_s": 120, "spasms": {"left": {"count": 3, "max_duration_s": math.nan,
                                             "closed_fraction": None}}}
    est = grades.estimate(s)
    assert est["side"] == "left"
    assert est["jankovic_frequency"]["grade"] == 2
    assert est["smc_spread"]["grade"] == "I"
    assert grades.estimate({})["jankovic_frequency"]["grade"] is None


def test_estimate_picks_affected_side_and_flags_short_recordings():
    s = summary({"count": 2, "clonic": 2, "max_duration_s": 0.4},
                {"count": 5, "tonic": 5, "max_duration_s": 3}, valid_s=120.0,
                affected="left")
    est = grades.estimate(s)
    assert est["side"] == "left" and est["jankovic_frequency"]["grade"] == 2
    assert est["per_side"]["right"]["jankovic_frequency"]["grade"] == 3
    assert any("low confidence" in c for c in est["jankovic_frequency"]["caveats"])
    assert "not a diagnosis" in est["disclaimer"]


def test_no_affected_side_shows_the_higher_grade():
    s = summary({"count": 3, "clonic": 3, "max_duration_s": 0.4},
                {"count": 3, "tonic": 3, "max_duration_s": 2.0, "with_mouth": 3},
                affected=None)
    est = grades.estimate(s)
    assert est["side"] is None
    assert est["jankovic_frequency"]["grade"] == 3
    assert est["smc_spread"]["grade"] == "II"
