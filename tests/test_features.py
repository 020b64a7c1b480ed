"""features.py on synthetic landmarks: moving, turning or scaling the head changes no feature;
closing one eye or pulling one mouth corner changes that side's feature only."""
from __future__ import annotations

import numpy as np
import pytest

from twitchcam.core.anatomy import FOREHEAD, LANDMARKS, NOSE_BRIDGE, NOSE_TIP
from twitchcam.core.features import FEATURE_COLUMNS, PITCH_OFFSET_DEG, POSE_COLUMNS, frame_features, head_frame


def col(name: str, side: str) -> int:
    return FEATURE_COLUMNS.index(f"{name}_{side}")


def face(eye_gap=(0.3, 0.3), mouth_up=(0.0, 0.0)) -> np.ndarray:
    """478 points in face units (inner canthi 1 apart, x to the subject's left, y down,
    z toward the camera), with the landmarks features.py reads placed anatomically."""
    rng = np.random.default_rng(0)
    p = rng.normal(0, 0.5, (478, 3))
    p[NOSE_BRIDGE] = (0.0, 0.0, 0.3)
    p[FOREHEAD] = (0.0, -1.2, 0.0)
    p[NOSE_TIP] = (0.0, 0.9, 2.1 * np.tan(np.radians(PITCH_OFFSET_DEG)))  # the nose leans out, as on a real face
    for k, side in enumerate(("left", "right")):
        sx = 1.0 if side == "left" else -1.0
        lm = LANDMARKS[side]
        p[lm.eye_inner] = (0.5 * sx, 0.0, 0.0)
        p[lm.eye_outer] = (1.5 * sx, 0.05, -0.1)
        for j, (up, lo) in enumerate(lm.lid_pairs):
            x = sx * (0.75 + 0.25 * j) if side == "right" else sx * (1.25 - 0.25 * j)
            p[up] = (x, -eye_gap[k] / 2, 0.05)
            p[lo] = (x, eye_gap[k] / 2, 0.05)
        for j, b in enumerate(lm.brow_upper):
            p[b] = (sx * (0.5 + 0.25 * j), -0.6, 0.05)
        p[lm.mouth_corner] = (0.8 * sx, 1.6 - mouth_up[k], 0.0)
        for j, c in enumerate(lm.cheek):
            p[c] = (sx * (1.0 + 0.2 * j), 0.9, 0.1)
    return p


def rot(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def camera_view(points: np.ndarray, yaw=0.0, pitch=0.0, roll=0.0, scale=60.0, shift=(320.0, 180.0, 0.0)):
    """The face as MediaPipe reports it: pixels, z scaled like x and growing AWAY from the
    camera (so the face's z is flipped)."""
    pts = points * np.array([1.0, 1.0, -1.0])
    return pts @ rot(yaw, pitch, roll).T * scale + np.asarray(shift)


@pytest.mark.parametrize("yaw,pitch,roll", [(0, 0, 0), (20, 0, 0), (-25, 10, 5), (10, -20, -15), (0, 0, 40)])
@pytest.mark.parametrize("scale", [25.0, 60.0, 200.0])
def test_turning_scaling_and_moving_the_head_changes_no_feature(yaw, pitch, roll, scale):
    base = frame_features(camera_view(face()))
    moved = frame_features(camera_view(face(), yaw, pitch, roll, scale, shift=(100.0, 400.0, 50.0)))
    assert base.found and moved.found
    geometric = np.isfinite(base.values)
    assert geometric.sum() == 8  # eye_open, brow, mouth, cheek per side
    np.testing.assert_allclose(moved.values[geometric], base.values[geometric], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("angle", [-20.0, 10.0])
def test_pose_is_measured_in_degrees(axis, angle):
    turn = [0.0, 0.0, 0.0]
    turn[axis] = angle
    assert frame_features(camera_view(face())).pose[:3] == pytest.approx((0.0, 0.0, 0.0), abs=1e-9)
    assert np.abs(frame_features(camera_view(face(), *turn)).pose[:3]) == pytest.approx(np.abs(turn), abs=1e-6)


def test_closing_one_eye_moves_only_that_eyes_opening():
    open_, half = frame_features(camera_view(face())), frame_features(camera_view(face(eye_gap=(0.15, 0.3))))
    assert half.values[col("eye_open", "left")] == pytest.approx(0.5 * open_.values[col("eye_open", "left")])
    assert half.values[col("eye_open", "right")] == pytest.approx(open_.values[col("eye_open", "right")])


def test_pulling_one_mouth_corner_raises_only_that_sides_mouth_feature():
    rest, pulled = frame_features(camera_view(face())), frame_features(camera_view(face(mouth_up=(0.0, 0.2))))
    # elevation is measured along the forehead-to-nose-tip axis, which leans PITCH_OFFSET_DEG out
    lift = 0.2 * np.cos(np.radians(PITCH_OFFSET_DEG))
    assert pulled.values[col("mouth", "right")] == pytest.approx(rest.values[col("mouth", "right")] + lift)
    assert pulled.values[col("mouth", "left")] == pytest.approx(rest.values[col("mouth", "left")])


def test_no_face_measures_nothing():
    ff = frame_features(None)
    assert not ff.found and np.isnan(ff.values).all() and np.isnan(ff.pose).all()


def test_blendshapes_and_appearance_land_on_their_own_side():
    ff = frame_features(camera_view(face()), {"eyeBlinkLeft": 0.7, "eyeBlinkRight": 0.1, "eyeSquintLeft": 0.3},
                        {"left": 0.2, "right": 0.6})
    assert ff.values[col("blink", "left")] == 0.7 and ff.values[col("blink", "right")] == 0.1
    assert ff.values[col("squint", "left")] == 0.3 and np.isnan(ff.values[col("squint", "right")])
    assert ff.values[col("edge", "left")] == 0.2 and ff.values[col("edge", "right")] == 0.6
    assert ff.pose[POSE_COLUMNS.index("face_px")] == pytest.approx(60.0)


def test_head_frame_scale_is_the_inner_canthal_distance():
    _, r, scale = head_frame(camera_view(face(), 15, 5, 3, scale=80.0))
    assert scale == pytest.approx(80.0)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
