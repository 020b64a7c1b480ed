"""Summary statistics: golden values on a recording with known events, and frame-by-frame
totals (live, constant memory) equal to whole-array totals (detect)."""
from __future__ import annotations

import numpy as np
import pytest

from twitchcam.core.events import Event
from twitchcam.core.summary import FrameTotals, summarize


def _recording(fps=30.0):
    n = int(60 * fps)  # 60 s
    t = np.arange(n) / fps
    valid = np.ones(n, bool)
    valid[(t >= 45)] = False  # face lost for the last 15 s
    closure = np.zeros((n, 2))
    closure[(t >= 10) & (t < 13), 0] = 0.9  # left eye closed 3 s
    closure[(t >= 50) & (t < 55), 1] = 0.9  # right eye 'closed' while the face is lost: not counted
    return t, valid, closure


EVENTS = [
    Event(10.0, 13.0, "left", "tonic", 1, 0.9, "eye+mouth", 13.1),
    Event(20.0, 20.4, "left", "clonic", 3, 0.7, "eye", 20.2),
    Event(30.0, 30.2, "left", "clonic", 1, 0.6, "eye", 30.3),
    Event(40.0, 40.3, "right", "clonic", 2, 0.5, "eye", 40.2),
    Event(5.0, 5.2, "both", "blink", 1, 0.9, "eye", 5.2),
    Event(6.0, 6.2, "both", "blink", 1, 0.9, "eye", 6.2),
]


def test_golden_values():
    t, valid, closure = _recording()
    s = summarize(FrameTotals.of(t, valid, closure, 30.0), EVENTS, {"status": "complete"})
    assert s["duration_s"] == pytest.approx(60.0)
    assert s["valid_s"] == pytest.approx(45.0)
    left, right = s["spasms"]["left"], s["spasms"]["right"]
    assert (left["count"], left["clonic"], left["tonic"], left["twitches"], left["with_mouth"]) == (3, 2, 1, 5, 1)
    assert left["per_min"] == pytest.approx(3 / 0.75, abs=1e-4)
    assert left["mean_duration_s"] == pytest.approx((3.0 + 0.4 + 0.2) / 3, abs=1e-4)
    assert left["max_duration_s"] == pytest.approx(3.0)
    assert left["closed_fraction"] == pytest.approx(3.0 / 45.0, abs=1e-4)
    assert right["count"] == 1 and right["closed_fraction"] == 0.0
    assert s["blinks"]["count"] == 2 and s["blinks"]["per_min"] == pytest.approx(2 / 0.75, abs=1e-4)
    assert s["affected_side"] == "left" and s["no_face"] is False


def test_no_face_summary_says_so():
    t = np.arange(300) / 30.0
    s = summarize(FrameTotals.of(t, np.zeros(300, bool), np.full((300, 2), np.nan), 30.0), [], {})
    assert s["no_face"] is True and s["valid_s"] == 0
    assert s["spasms"]["left"]["per_min"] is None and s["affected_side"] is None


def test_affected_side_needs_a_clear_majority():
    t, valid, closure = _recording()
    even = EVENTS + [Event(41.0, 41.2, "right", "clonic", 1, 0.5, "eye", 41.3)] * 2
    s = summarize(FrameTotals.of(t, valid, closure, 30.0), even, {})
    assert s["affected_side"] is None  # 3 left vs 3 right


def test_frame_by_frame_totals_equal_whole_array_totals():
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.02, 0.05, 5000))
    t[2500:] += 3.0  # a stall: capped, not counted as tracked time
    valid = rng.random(5000) > 0.2
    closure = rng.uniform(0, 1, (5000, 2))
    closure[rng.random(5000) < 0.05] = np.nan
    live = FrameTotals(30.0)
    for i in range(t.size):
        live.add(float(t[i]), bool(valid[i]), (float(closure[i, 0]), float(closure[i, 1])))
    a, b = live.closed(), FrameTotals.of(t, valid, closure, 30.0)
    assert (a.valid_ns, a.closed_ns, a.frames, a.valid_frames) == (b.valid_ns, b.closed_ns, b.frames, b.valid_frames)
    assert a.valid_ns < 0.9 * (t[-1] - t[0]) * 1e9
