"""Per-frame facial features, measured per side in a head-fixed frame.

Why head-fixed: a nod changes the projected eyelid gap as much as a blink does.  We build
an orthonormal frame from landmarks that do not move with expression (nose bridge,
forehead, nose tip) and express every point in it, in units of the face's own size, so
turns, nods and distance to the camera cancel out.

All features grow with the *anatomical* movement a spasm produces on that side:
- ``eye_open``: mean upper-to-lower lid gap (falls when the eye closes);
- ``brow``: brow height above the eye corners (HFS often RAISES it, the "other Babinski");
- ``mouth``: mouth-corner elevation plus lateral pull (rises when the corner is pulled up/out);
- ``cheek``: cheek elevation (rises with the cheek).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twitchcam.core.anatomy import FOREHEAD, LANDMARKS, NOSE_BRIDGE, NOSE_TIP, SIDES

FEATURES: tuple[str, ...] = ("eye_open", "brow", "mouth", "cheek")
# Column order of the per-frame feature vector: feature-major, side-minor.
FEATURE_COLUMNS: tuple[str, ...] = tuple(f"{f}_{s}" for f in FEATURES for s in SIDES)

# Validity reasons written to frames.csv, and what they mean to a reader.
VALID = ""
NO_FACE = "no_face"
POSE = "extreme_pose"
SMALL = "face_too_small"
UNREADABLE = "unreadable"  # a frames.csv row damaged on disk (counted by the reader, never written)
INVALID_REASONS = {NO_FACE: "no face found", POSE: "head turned too far", SMALL: "face too small / too far",
                   UNREADABLE: "damaged rows in frames.csv"}


@dataclass(frozen=True)
class FeatureParams:
    """Limits beyond which eye signals are unreliable (DOMAIN.md: yaw beyond ~30 deg)."""

    max_yaw_deg: float = 30.0
    max_pitch_deg: float = 25.0
    min_face_px: float = 12.0  # inner-canthal distance; ~1/5 of face width


@dataclass(frozen=True)
class FrameFeatures:
    """What the feature stage reports for one frame."""

    valid: bool
    reason: str
    pose: tuple[float, float, float]  # yaw, pitch, roll in degrees
    values: np.ndarray  # shape (len(FEATURE_COLUMNS),), NaN when the face is missing


def _index_arrays() -> dict[str, np.ndarray]:
    idx = {}
    for side in SIDES:
        lm = LANDMARKS[side]
        idx[f"upper_{side}"] = np.array([u for u, _ in lm.lid_pairs])
        idx[f"lower_{side}"] = np.array([lo for _, lo in lm.lid_pairs])
        idx[f"brow_{side}"] = np.array(lm.brow_upper)
        idx[f"cheek_{side}"] = np.array(lm.cheek)
    return idx


_IDX = _index_arrays()
PITCH_OFFSET_DEG = 15.0
NAN_FEATURES = np.full(len(FEATURE_COLUMNS), np.nan)


def head_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Origin, rotation (rows = face x/y/z axes in camera space) and face scale.

    x runs from the subject's right inner canthus to the left one, y from forehead down
    the nose, z out of the face.  Scale is the inner-canthal distance, which squeezing
    the eye barely changes.
    """
    right_in = points[LANDMARKS["right"].eye_inner]
    left_in = points[LANDMARKS["left"].eye_inner]
    x = left_in - right_in
    scale = float(np.linalg.norm(x))
    x = x / scale
    down = points[NOSE_TIP] - points[FOREHEAD]
    y = down - x * float(x @ down)
    y = y / np.linalg.norm(y)
    z = np.cross(x, y)
    return points[NOSE_BRIDGE], np.stack([x, y, z]), scale


def pose_degrees(rot: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll of the head relative to the camera (degrees), as one rotation
    roll(pitch(yaw)) so that each angle reads true alone and in combination.

    The forehead-to-nose-tip axis leans ~PITCH_OFFSET_DEG away from the camera on a level
    head; the frame is levelled by turning it back about its x axis before the angles are read.
    Pitch > 0 when the chin comes toward the camera (head bowed, or a camera above the face),
    < 0 when it moves away (chin up, or a laptop or phone camera below the face).
    """
    x, y, z = rot
    o = np.radians(PITCH_OFFSET_DEG)
    y0 = np.cos(o) * y + np.sin(o) * z  # the level head's down and depth axes, in camera space
    z0 = np.cos(o) * z - np.sin(o) * y
    yaw = np.degrees(np.arctan2(-x[2], z0[2]))
    pitch = np.degrees(np.arcsin(np.clip(-y0[2], -1.0, 1.0)))
    roll = np.degrees(np.arctan2(-y0[0], y0[1]))
    return float(yaw), float(pitch), float(roll)


def frame_features(points: np.ndarray | None, params: FeatureParams = FeatureParams()) -> FrameFeatures:
    """Features for one frame from 478 landmarks in pixel units (x, y, z), or None."""
    if points is None:
        return FrameFeatures(False, NO_FACE, (np.nan, np.nan, np.nan), NAN_FEATURES)
    origin, rot, scale = head_frame(points)
    pose = pose_degrees(rot)
    local = (points - origin) @ rot.T / scale  # head-fixed, face units; +y is down
    values = np.empty(len(FEATURE_COLUMNS))
    n = len(SIDES)
    for k, side in enumerate(SIDES):
        lm = LANDMARKS[side]
        lateral = 1.0 if side == "left" else -1.0  # subject's left is +x in the head frame
        upper = local[_IDX[f"upper_{side}"]]
        lower = local[_IDX[f"lower_{side}"]]
        corners_y = 0.5 * (local[lm.eye_outer, 1] + local[lm.eye_inner, 1])
        corner = local[lm.mouth_corner]
        values[0 * n + k] = float(np.mean(lower[:, 1] - upper[:, 1]))
        values[1 * n + k] = float(corners_y - local[_IDX[f"brow_{side}"], 1].mean())
        values[2 * n + k] = float(-corner[1] + lateral * corner[0])
        values[3 * n + k] = float(-local[_IDX[f"cheek_{side}"], 1].mean())
    if abs(pose[0]) > params.max_yaw_deg or abs(pose[1]) > params.max_pitch_deg:
        return FrameFeatures(False, POSE, pose, values)
    if scale < params.min_face_px:
        return FrameFeatures(False, SMALL, pose, values)
    return FrameFeatures(True, VALID, pose, values)
