"""The one table of MediaPipe Face Landmarker indices twitchcam uses.

Sides are the SUBJECT's own (anatomical) sides, as MediaPipe names them: the subject's
left eye is on the image's right in an unmirrored frame.  Every per-side computation in
the package looks its indices up here, with the side as a parameter, so left and right
can never drift apart in code.
"""
from __future__ import annotations

from dataclasses import dataclass

SIDES: tuple[str, str] = ("left", "right")


@dataclass(frozen=True)
class SideLandmarks:
    """Indices for one side of the face (subject's anatomy)."""

    eye_outer: int
    eye_inner: int
    # Upper/lower lid points paired top-to-bottom, from outer to inner corner, so
    # lid_pairs[i] measures the aperture at one position along the eye.
    lid_pairs: tuple[tuple[int, int], ...]
    brow_upper: tuple[int, ...]
    mouth_corner: int
    cheek: tuple[int, ...]
    iris_center: int


LANDMARKS: dict[str, SideLandmarks] = {
    "right": SideLandmarks(
        eye_outer=33,
        eye_inner=133,
        lid_pairs=((160, 144), (159, 145), (158, 153)),
        brow_upper=(70, 63, 105, 66, 107),
        mouth_corner=61,
        cheek=(50, 205),
        iris_center=468,
    ),
    "left": SideLandmarks(
        eye_outer=263,
        eye_inner=362,
        lid_pairs=((387, 373), (386, 374), (385, 380)),
        brow_upper=(300, 293, 334, 296, 336),
        mouth_corner=291,
        cheek=(280, 425),
        iris_center=473,
    ),
}

# Points that barely move with facial expression: nose bridge/dorsum and forehead.
# They define the head-fixed frame, so head turns and nods are not read as closures.
NOSE_BRIDGE = 168
NOSE_TIP = 4
FOREHEAD = 10

# Full upper/lower lid contours, for drawing overlays and for warping eyelids in tests.
UPPER_LID = {
    "right": (33, 246, 161, 160, 159, 158, 157, 173, 133),
    "left": (263, 466, 388, 387, 386, 385, 384, 398, 362),
}
LOWER_LID = {
    "right": (33, 7, 163, 144, 145, 153, 154, 155, 133),
    "left": (263, 249, 390, 373, 374, 380, 381, 382, 362),
}
