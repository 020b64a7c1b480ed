"""Per-frame facial features, measured per side in a head-fixed frame.

Why head-fixed: a nod changes the projected eyelid gap as much as a blink does.  We build
an orthonormal frame from landmarks that do not move with expression (nose bridge,
forehead, nose tip) and express every point in it, in units of the face's own size, so
turns, nods and distance to the camera cancel out.

Per side, from three sources that fail in different ways:
- the mesh's geometry (``eye_open``: mean upper-to-lower lid gap, falls when the eye closes;
  ``brow``: brow height above the eye corners, HFS often RAISES it, the "other Babinski";
  ``mouth``: mouth-corner elevation plus lateral pull; ``cheek``: cheek elevation).  Good for
  where things are; biased toward symmetric eyes, and slow (MediaPipe smooths it);
- the eye's appearance (``edge``: vertical-edge share of the eye patch, measured in the video
  layer by twitchcam.video.eyes): falls when that eye's lid covers the iris, whatever the mesh
  believes;
- MediaPipe's blendshapes (``blink``, ``squint``: eyeBlink*, eyeSquint* of the same inference,
  the subject's own sides): rise when the eye closes or squeezes.

This module only measures.  Whether a frame can be trusted (face found, head pose against the
person's own usual pose, face size) is judged by twitchcam.core.validity, which keeps state.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twitchcam.core.anatomy import FOREHEAD, LANDMARKS, NOSE_BRIDGE, NOSE_TIP, SIDES

FEATURES: tuple[str, ...] = ("eye_open", "edge", "blink", "squint", "brow", "mouth", "cheek")
EYE_FEATURES: tuple[str, ...] = ("eye_open", "edge", "blink", "squint")  # the rest: brow, mouth, cheek
# Column order of the per-frame feature vector: feature-major, side-minor.
FEATURE_COLUMNS: tuple[str, ...] = tuple(f"{f}_{s}" for f in FEATURES for s in SIDES)
# Head pose (degrees) and face size (inner-canthal distance in pixels) of each frame.
POSE_COLUMNS: tuple[str, ...] = ("yaw", "pitch", "roll", "face_px")
# MediaPipe's blendshape names per feature; a side's name ends with Left or Right (subject's own).
BLENDSHAPES = {"blink": "eyeBlink", "squint": "eyeSquint"}

# Validity reasons written to frames.csv, and what they mean to a reader.
VALID = ""
NO_FACE = "no_face"
POSE = "extreme_pose"
SMALL = "face_too_small"
OTHER = "other_person"  # a face, but not the patient's (twitchcam.core.identity)
UNREADABLE = "unreadable"  # a frames.csv row damaged on disk (counted by the reader, never written)
INVALID_REASONS = {NO_FACE: "no face found", POSE: "head turned too far from the usual pose",
                   SMALL: "face too small / too far", OTHER: "someone else's face",
                   UNREADABLE: "damaged rows in frames.csv"}


@dataclass(frozen=True)
class FrameFeatures:
    """What the feature stage measured in one frame."""

    found: bool  # a face was found
    pose: tuple[float, ...]  # POSE_COLUMNS; NaN without a face
    values: np.ndarray  # shape (len(FEATURE_COLUMNS),), NaN where not measured
    new_track: bool = False  # the face was picked up afresh, not followed from the frame before
    signature: np.ndarray | None = None  # its appearance, when measured (twitchcam.core.identity)


NO_FEATURES = FrameFeatures(False, (np.nan,) * len(POSE_COLUMNS), np.full(len(FEATURE_COLUMNS), np.nan))


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
_COL = {f: FEATURES.index(f) * len(SIDES) for f in FEATURES}  # first column of each feature
_BLENDSHAPE_NAMES = {side: [(f, name + side.capitalize()) for f, name in BLENDSHAPES.items()] for side in SIDES}
PITCH_OFFSET_DEG = 15.0


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


def frame_features(points: np.ndarray | None, blendshapes: dict[str, float] | None = None,
                   edge: dict[str, float] | None = None) -> FrameFeatures:
    """Features of one frame: 478 landmarks in pixel units (x, y, z) or None, MediaPipe's
    blendshape scores by name, and each eye's appearance (`edge` per side, from the video layer)."""
    if points is None:
        return NO_FEATURES
    origin, rot, scale = head_frame(points)
    pose = (*pose_degrees(rot), scale)
    local = (points - origin) @ rot.T / scale  # head-fixed, face units; +y is down
    values = np.full(len(FEATURE_COLUMNS), np.nan)
    col = _COL
    for k, side in enumerate(SIDES):
        lm = LANDMARKS[side]
        lateral = 1.0 if side == "left" else -1.0  # subject's left is +x in the head frame
        upper = local[_IDX[f"upper_{side}"]]
        lower = local[_IDX[f"lower_{side}"]]
        corners_y = 0.5 * (local[lm.eye_outer, 1] + local[lm.eye_inner, 1])
        corner = local[lm.mouth_corner]
        values[col["eye_open"] + k] = float(np.mean(lower[:, 1] - upper[:, 1]))
        values[col["brow"] + k] = float(corners_y - local[_IDX[f"brow_{side}"], 1].mean())
        values[col["mouth"] + k] = float(-corner[1] + lateral * corner[0])
        values[col["cheek"] + k] = float(-local[_IDX[f"cheek_{side}"], 1].mean())
        if edge is not None:
            values[col["edge"] + k] = edge.get(side, np.nan)
        if blendshapes:
            for feature, name in _BLENDSHAPE_NAMES[side]:
                values[col[feature] + k] = blendshapes.get(name, np.nan)
    return FrameFeatures(True, pose, values)
