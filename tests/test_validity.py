"""Validity is judged against the person's own usual pose, and small faces stay in."""
from __future__ import annotations

import numpy as np

from twitchcam.core.features import NO_FACE, POSE, SMALL, VALID
from twitchcam.core.validity import ValidityGate, ValidityParams


def judge_all(poses, fps=30.0):
    gate = ValidityGate(fps)
    return [gate.judge(np.isfinite(p[0]), p) for p in poses]


def test_a_camera_below_the_face_is_this_persons_normal_view():
    rng = np.random.default_rng(0)
    poses = [(rng.normal(0, 3), -30 + rng.normal(0, 2), 0.0, 40.0) for _ in range(600)]
    verdicts = judge_all(poses)
    assert sum(v for v, _ in verdicts[30:]) == len(verdicts) - 30  # steady at -30 deg pitch: all valid


def test_turning_away_from_the_usual_pose_is_invalid():
    poses = [(0.0, -28.0, 0.0, 40.0)] * 300 + [(0.0, 5.0, 0.0, 40.0)] * 5 + [(35.0, -28.0, 0.0, 40.0)] * 5
    verdicts = judge_all(poses)
    assert [r for _, r in verdicts[300:305]] == [POSE] * 5  # 33 deg from the usual pitch
    assert [r for _, r in verdicts[305:]] == [POSE] * 5  # 35 deg of yaw


def test_hard_limits_hold_whatever_the_habit():
    verdicts = judge_all([(50.0, 0.0, 0.0, 40.0)] * 300)
    assert {r for _, r in verdicts} == {POSE}


def test_no_face_and_tiny_faces():
    nan = (np.nan,) * 4
    assert judge_all([nan])[0] == (False, NO_FACE)
    assert judge_all([(0.0, 0.0, 0.0, ValidityParams().min_face_px - 1)])[0] == (False, SMALL)
    assert judge_all([(0.0, 0.0, 0.0, 9.0)])[0] == (True, VALID)  # a 176x144 talking face
