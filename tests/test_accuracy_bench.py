"""benchmarks/accuracy.py's measure of what a spasm beside a blink shows in the video."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import accuracy as A  # noqa: E402

FPS = 30.0


def _closure(lead_frames: int, trail_frames: int, spasm: int) -> tuple[np.ndarray, np.ndarray]:
    """A 4-frame blink at frames 30-33 in both eyes; the spasm eye shut lead_frames before it
    and trail_frames after it."""
    t = np.arange(60) / FPS
    closure = np.zeros((60, 2))
    closure[30:34] = 0.9
    closure[30 - lead_frames:34 + trail_frames, spasm] = 0.9
    return t, closure


@pytest.mark.parametrize("lead, trail, spasm", [(3, 0, 0), (0, 0, 1), (2, 0, 1), (0, 4, 0)])
def test_the_lag_shown_is_how_many_frames_the_spasm_lid_led_or_trailed(lead, trail, spasm):
    t, closure = _closure(lead, trail, spasm)
    blinks = [A.Interval(31 / FPS, 33 / FPS, "both")]
    side = ("left", "right")[spasm]
    assert A.shown_lag_frames(t, closure, FPS, side, "blink_lead", blinks) == pytest.approx(lead)
    assert A.shown_lag_frames(t, closure, FPS, side, "blink_trail", blinks) == pytest.approx(trail)
    assert np.isnan(A.shown_lag_frames(t, closure, FPS, side, "blink_lead", []))
