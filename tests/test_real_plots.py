"""benchmarks/real_plots.py draws what it says: a clip's closures with its labels and events, and
the evidence scatter (on small made-up inputs; the real clips are third-party and stay outside)."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import real_plots as RP  # noqa: E402

from twitchcam.core.events import Event  # noqa: E402
from twitchcam.core.stream import PipelineParams  # noqa: E402


def _drawn(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100
    return image


def test_a_clip_figure_shows_both_eyes_the_labels_and_the_events(tmp_path):
    t = np.arange(150) / 30.0
    closure = np.zeros((150, 2))
    closure[60:75, 0] = 0.8  # a left wink
    events = [Event(2.0, 2.5, "left", "clonic", 1, 0.8, "eye", 2.6, 1.0, 0.55, 0.3, "geometry"),
              Event(3.5, 4.0, "right", "possible", 1, 0.3, "eye", 4.1, 0.25, 0.3, 0.5, "geometry"),
              Event(4.5, 4.7, "both", "blink", 1, 0.9, "eye", 4.7)]
    labels = {"one_sided": [{"onset_s": 2.0, "offset_s": 2.5, "side": "left"}], "blinks": [4.6], "notes": "made up"}
    path = tmp_path / "clip.png"
    RP.clip_figure("clip", SimpleNamespace(t=t), SimpleNamespace(closure=closure, events=events), labels, path)
    image = _drawn(path)
    blue = np.all(np.abs(image.astype(int) - (0xB2, 0x72, 0x00)) < 40, axis=2)  # the left side's colour (BGR)
    assert blue.sum() > 200


def test_the_evidence_figure_draws_every_group_even_with_a_difference_held_for_no_time(tmp_path):
    points = [("real face, no HFS", False, 0.3, 0.5, "a 1.0 s: 0.25"), ("real wink", True, 0.6, 0.0, "b 2.0 s: 1.00"),
              ("injected spasm", True, 0.4, 0.2, ""), ("injected spasm", False, 0.1, float("nan"), "")]
    path = tmp_path / "evidence.png"
    RP.evidence_figure(points, PipelineParams(), path)
    _drawn(path)
