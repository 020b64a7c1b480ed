"""Eye appearance (video/eyes.py) on drawn eyes: open vs closed, and the invariances it promises."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from twitchcam.video.eyes import CORNERS, eye_edge, eye_patch

IRIS = {"right": (468, 469, 470, 471, 472), "left": (473, 474, 475, 476, 477)}

SKIN = 170


def _points(corners: dict, iris: dict) -> np.ndarray:
    pts = np.zeros((478, 3))
    for side, (outer, inner) in corners.items():
        pts[CORNERS[side][0], :2] = outer
        pts[CORNERS[side][1], :2] = inner
        c, r = iris[side]
        ids = IRIS[side]
        pts[ids[0], :2] = c
        for k, ang in enumerate((0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi)):
            pts[ids[1 + k], :2] = (c[0] + r * math.cos(ang), c[1] + r * math.sin(ang))
    return pts


def draw_face(open_eyes: dict[str, bool], gaze: float = 0.0, width: int = 60, lash: int = 5,
              size=(320, 180)) -> tuple[np.ndarray, np.ndarray]:
    """A skin-coloured face with two eyes (each open or closed) and their landmarks.

    Open: white sclera almond, dark iris disc (gaze shifts it along the eye), dark pupil,
    a lash line on the upper lid.  Closed: skin with a thick dark HORIZONTAL lash line,
    which is what fools darkness-based measures (mascara).
    """
    w, h = size
    img = np.full((h, w, 3), SKIN, np.uint8)
    cy = h // 2
    eyes = {"right": w * 0.3, "left": w * 0.7}  # subject's right eye is on the image's left
    corners, iris = {}, {}
    for side, cx in eyes.items():
        half = width / 2
        outer_x = cx - half if side == "right" else cx + half
        inner_x = cx + half if side == "right" else cx - half
        corners[side] = ((outer_x, cy), (inner_x, cy))
        r = 0.2 * width
        ic = (cx + gaze * 0.25 * width, cy - 0.04 * width)
        iris[side] = (ic, r)
        if open_eyes[side]:
            cv2.ellipse(img, (int(cx), cy), (int(half), int(0.17 * width)), 0, 0, 360, (235, 235, 235), -1)
            mask = np.zeros(img.shape[:2], np.uint8)
            cv2.ellipse(mask, (int(cx), cy), (int(half), int(0.17 * width)), 0, 0, 360, 255, -1)
            iris_img = img.copy()
            cv2.circle(iris_img, (int(ic[0]), int(ic[1])), int(r), (70, 90, 60), -1)
            cv2.circle(iris_img, (int(ic[0]), int(ic[1])), int(0.4 * r), (15, 15, 15), -1)
            img[mask > 0] = iris_img[mask > 0]
            cv2.ellipse(img, (int(cx), cy), (int(half), int(0.17 * width)), 0, 180, 360, (30, 30, 30), 2)
        else:
            cv2.ellipse(img, (int(cx), cy - 2), (int(half), int(0.05 * width)), 0, 0, 180, (25, 25, 25), lash)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    return img, _points(corners, iris)


def transform(img: np.ndarray, pts: np.ndarray, angle_deg: float, scale: float):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, scale)
    size = (int(w * max(scale, 1)), int(h * max(scale, 1)))
    m[:, 2] += ((size[0] - w) / 2, (size[1] - h) / 2)
    out = cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderValue=(SKIN, SKIN, SKIN))
    p = pts.copy()
    p[:, :2] = pts[:, :2] @ m[:, :2].T + m[:, 2]
    return out, p


def test_open_eye_scores_higher_than_closed():
    img, pts = draw_face({"left": True, "right": False})
    left, right = eye_edge(img, pts, "left"), eye_edge(img, pts, "right")
    assert left > right + 0.2
    assert right < 0.35  # a closed eye is mostly horizontal structure


def test_closed_eye_with_heavy_lashes_still_reads_closed():
    """A thick dark lash line is dark (darkness measures say 'open') but horizontal."""
    img, pts = draw_face({"left": True, "right": False}, lash=9)
    open_edge, closed_edge = eye_edge(img, pts, "left"), eye_edge(img, pts, "right")
    assert closed_edge < 0.3 < open_edge


@pytest.mark.parametrize("gaze", [-0.8, 0.0, 0.8])
def test_gaze_shift_keeps_open_eye_open(gaze):
    img, pts = draw_face({"left": True, "right": False}, gaze=gaze)
    assert eye_edge(img, pts, "left") > eye_edge(img, pts, "right") + 0.2


@pytest.mark.parametrize("angle,scale", [(20.0, 1.0), (-15.0, 1.6), (0.0, 0.5), (10.0, 0.3)])
def test_rotation_and_scale_invariance(angle, scale):
    img, pts = draw_face({"left": True, "right": False})
    img2, pts2 = transform(img, pts, angle, scale)
    for side in ("left", "right"):
        a, b = eye_edge(img, pts, side), eye_edge(img2, pts2, side)
        tol = 0.06 if scale >= 0.5 else 0.1  # 0.3: an 18 px eye, interpolated up
        assert b == pytest.approx(a, abs=tol)
    assert eye_edge(img2, pts2, "left") > eye_edge(img2, pts2, "right") + 0.15


def test_lighting_scale_and_one_sided_gradient_invariance():
    img, pts = draw_face({"left": True, "right": False})
    base = {s: eye_edge(img, pts, s) for s in ("left", "right")}
    dim = (img.astype(np.float32) * 0.45).astype(np.uint8)
    ramp = np.linspace(0.4, 1.1, img.shape[1], dtype=np.float32)[None, :, None]  # light from one side
    lit = np.clip(img.astype(np.float32) * ramp, 0, 255).astype(np.uint8)
    for changed in (dim, lit):
        for s in ("left", "right"):
            assert eye_edge(changed, pts, s) == pytest.approx(base[s], abs=0.03)


def test_mirror_symmetry_between_sides():
    """A mirrored frame with sides swapped gives the same numbers: one definition for both eyes."""
    img, pts = draw_face({"left": True, "right": False}, gaze=0.5)
    flipped = np.ascontiguousarray(img[:, ::-1])
    fpts = pts.copy()
    fpts[:, 0] = img.shape[1] - 1 - pts[:, 0]
    swapped = fpts.copy()
    for a, b in (CORNERS["left"], CORNERS["right"]), (IRIS["left"], IRIS["right"]):
        swapped[list(a)], swapped[list(b)] = fpts[list(b)], fpts[list(a)]
    for s, o in (("left", "right"), ("right", "left")):
        assert eye_edge(flipped, swapped, o) == pytest.approx(eye_edge(img, pts, s), abs=0.02)


def test_patch_is_aligned_on_the_corners():
    img, pts = draw_face({"left": True, "right": True})
    for side in ("left", "right"):
        patch = eye_patch(img, pts, side)
        assert patch.shape == (24, 32) and patch.dtype == np.float32
        assert patch[11, 16] < 60  # the pupil sits mid-eye, a little above the corner line


def test_unusable_input_gives_nan():
    img, pts = draw_face({"left": True, "right": True})
    assert math.isnan(eye_edge(img, None, "left"))
    bad = pts.copy()
    bad[CORNERS["left"][0]] = np.nan
    assert math.isnan(eye_edge(img, bad, "left"))
    tiny = pts.copy()
    tiny[CORNERS["left"][1], :2] = tiny[CORNERS["left"][0], :2] + (2.0, 0.0)  # a 2 px eye
    assert math.isnan(eye_edge(img, tiny, "left"))
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    assert eye_edge(gray, pts, "left") == pytest.approx(eye_edge(img, pts, "left"), abs=0.01)


def test_eye_at_the_image_border_does_not_crash():
    img, pts = draw_face({"left": True, "right": True})
    shifted = pts.copy()
    shifted[:, 0] -= 80  # the subject's right eye half out of the frame
    assert isinstance(eye_edge(img, shifted, "right"), float)
