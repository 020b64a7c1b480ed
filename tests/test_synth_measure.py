"""How generators move MediaPipe's signals (twitchcam.synth.measure), on hand-made meshes."""
from __future__ import annotations

import numpy as np
import pytest

from twitchcam.synth import measure as ms
from twitchcam.synth import profiles
from twitchcam.synth.mesh import Mesh


def _mesh(n: int, eye: float = 0.25, blink: float = 0.05) -> Mesh:
    return Mesh(np.zeros((n, 478, 3)), np.full((n, 2), blink), np.full((n, 2), eye), np.ones(n, bool),
                np.zeros(n), np.zeros(n))


def test_event_windows_cover_each_event_with_a_lead_in():
    ev = profiles.make_pattern(np.random.default_rng(0), "twitch", 2.0, "left")
    w = ms.event_windows([ev], 150, 30.0, lead_s=0.4, tail_s=0.1)
    on = np.nonzero(w)[0]
    assert on[0] == int(np.floor(1.6 * 30)) and on[-1] >= int(np.ceil(ev.offset_s * 30))
    assert (np.diff(on) == 1).all() and not w[:40].any() and not w[100:].any()


def test_measure_reports_the_injected_sides_fall_and_rise_against_the_clean_twin():
    n, fps = 150, 30.0
    ev = profiles.make_pattern(np.random.default_rng(0), "tonic", 1.0, "right")
    clean, inj = _mesh(n), _mesh(n)
    t = np.arange(n) / fps
    lv = ev.level(t)
    inj.eye_open[:, 1] = 0.25 * (1 - 0.6 * lv / lv.max())  # right eye to 40 % at the peak
    inj.eye_open[:, 0] = 0.25 * (1 - 0.1 * lv / lv.max())  # the left is dragged a little
    inj.blink[:, 1] = 0.05 + 0.5 * lv / lv.max()
    (r,) = ms.measure([ev], inj, clean, fps, "lid", "test")
    assert r.side == "right" and r.pattern == "tonic" and r.frames > 10
    assert r.eye_ratio == pytest.approx(0.4, abs=0.06) and r.eye_ratio_other == pytest.approx(0.9, abs=0.02)
    assert r.blink_rise == pytest.approx(0.5, abs=0.1) and r.blink_rise_other == pytest.approx(0.0)
    (row,) = ms.summarize([r, r])
    assert row["n"] == 2 and row["eye_ratio"] == pytest.approx(r.eye_ratio)
    assert "| lid | test | tonic | 2 |" in ms.format_table([row])


def test_blink_patterns_are_measured_outside_the_natural_blink():
    n, fps = 150, 30.0
    ev = profiles.around_blink(np.random.default_rng(1), "blink_trail", 2.0, 2.2, "left")
    clean, inj = _mesh(n), _mesh(n)
    t = np.arange(n) / fps
    natural = (t >= 2.0) & (t < 2.2)
    clean.blink[natural] = 0.6
    clean.eye_open[natural] = 0.03
    inj.blink[natural] = 0.6
    inj.eye_open[natural] = 0.03
    tail = (t >= 2.2) & (ev.level(t) > 0)
    inj.eye_open[tail, 0] = 0.05  # the left eye stays shut after the blink
    (r,) = ms.measure([ev], inj, clean, fps, "clone", "test")
    assert r.frames >= 2 and r.eye_ratio == pytest.approx(0.2) and r.eye_ratio_other == pytest.approx(1.0)
