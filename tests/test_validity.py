"""Validity is judged against the person's own usual pose, and small faces stay in."""
from __future__ import annotations

import numpy as np
import pytest

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


def _wandering_poses(n, seed):
    """A head whose usual pose drifts, with turns past the person's and the hard limits,
    lost faces (NaN), tiny faces and a NaN size."""
    rng = np.random.default_rng(seed)
    pose = np.column_stack([np.cumsum(rng.normal(0, 0.8, n)), -20 + np.cumsum(rng.normal(0, 0.6, n)),
                            np.zeros(n), rng.uniform(3, 60, n)])
    pose[rng.random(n) < 0.05, :] = np.nan
    pose[rng.random(n) < 0.02, 3] = np.nan
    pose[rng.random(n) < 0.03, 0] += rng.choice([-40.0, 40.0])
    return pose


@pytest.mark.parametrize("fps,seed", [(30.0, 0), (30.0, 1), (2.0, 2), (0.1, 3)])
def test_a_block_is_judged_exactly_as_frame_by_frame(fps, seed):
    """detect judges a whole recording at once: the same verdicts, and the same gate state after
    (any split of the frames into blocks and single frames gives the same)."""
    pose = _wandering_poses(6000, seed)
    found = np.isfinite(pose[:, 0])
    single = ValidityGate(fps)
    expected = [single.judge(f, p) for f, p in zip(found.tolist(), pose)]
    assert len({r for _, r in expected}) == 4  # every reason occurs
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, pose.shape[0]), 12, replace=False))
    gate, got = ValidityGate(fps), []
    for k, (a, b) in enumerate(zip([0, *cuts], [*cuts, pose.shape[0]])):
        if k % 3 == 1:  # some stretches frame by frame, the rest as blocks (one of them empty)
            got += [gate.judge(f, p) for f, p in zip(found[a:b].tolist(), pose[a:b])]
        else:
            valid, reason = gate.judge_block(found[a:b], pose[a:b])
            assert valid.tolist() == [r == VALID for r in reason]
            got += list(zip(valid.tolist(), reason))
        if k == 5:
            assert gate.judge_block(found[:0], pose[:0])[1] == []
    assert got == expected
    assert (gate._count, gate.usual) == (single._count, single.usual)
    assert np.array_equal(np.frombuffer(gate._yaw), np.frombuffer(single._yaw))
    assert np.array_equal(np.frombuffer(gate._pitch), np.frombuffer(single._pitch))
