"""Per-side eye APPEARANCE: is there an open eye between the lids, judged from pixels.

Why: MediaPipe's face mesh is biased toward symmetric eyes.  When only one eye really
closes, its lid landmarks barely move (the other eye's are dragged along), so the
geometric opening cannot tell a one-sided spasm from an open eye.  The landmarks are
still good for WHERE each eye is: its two corners.  So we resample each eye into a
small patch aligned on its corners and ask the pixels WHETHER the eye is open.

The patch (`eye_patch`) is PATCH_W x PATCH_H pixels, eye width = EYE_PX pixels
whatever the face size, rotated with the corner line (head roll and in-plane turns
cancel), always with the outer corner on the left (the subject's left eye is mirrored),
grey levels.  Patch coordinates in eye widths: u = 0 at the outer corner, 1 at the inner
one; v = 0 on the corner line, positive downwards.

An open eye shows the two sides of a dark iris against the sclera: vertical edges.  A
closed eye shows lid skin crossed by the lash line and lid crease: horizontal edges.  The
share of vertical edges is a ratio of gradients, so exposure, one-sided lighting and skin
tone do not change it, and the detector normalises it like the geometric opening:
closure = 1 - edge / the person's open level.  (Darkness measures fail: a closed eye's
lashes and shadow are darker than an open eye's iris on some faces.)

Stateless: one frame and its landmarks give the numbers (chunked analysis and
re-detection from stored features keep working).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from twitchcam.core.anatomy import LANDMARKS

CORNERS = {side: (lm.eye_outer, lm.eye_inner) for side, lm in LANDMARKS.items()}

EYE_PX = 24  # eye width (corner to corner) in patch pixels
PATCH_W, PATCH_H = 32, 24
U0_PX, V0_PX = 4.0, 12.0  # patch pixel of the outer corner (u = 0, v = 0)
MIN_EYE_PX = 4.0  # below this an eye is a few pixels: no appearance measure


def _span(lo: float, hi: float, origin: float) -> slice:
    """Patch pixel rows/columns whose centres lie in [lo, hi] eye widths."""
    return slice(int(math.ceil(origin + lo * EYE_PX)), int(math.floor(origin + hi * EYE_PX)) + 1)


# Where an open eye's aperture is, fixed in (u, v): it does not follow the lid landmarks,
# which are the biased part of the mesh.  An open iris sits a little above the corner line.
APERTURE = (_span(-0.2, 0.1, V0_PX), _span(0.15, 0.85, U0_PX))  # rows, columns
EDGE_BLUR = 0.8  # patch pixels: takes JPEG blocking and sensor noise out of the gradients


class EyeFrame(NamedTuple):
    """Patch <-> image mapping for one eye."""

    to_image: np.ndarray  # 2x3 affine, patch pixel -> image pixel
    width_px: float  # eye width in image pixels
    mirrored: bool


def eye_frame(points: np.ndarray, side: str) -> EyeFrame | None:
    """Affine map of the eye patch into the image, or None when the eye is unusable."""
    outer, inner = CORNERS[side]
    ox, oy = float(points[outer, 0]), float(points[outer, 1])
    dx, dy = float(points[inner, 0]) - ox, float(points[inner, 1]) - oy
    width = math.hypot(dx, dy)
    if not width >= MIN_EYE_PX:  # also catches NaN
        return None
    # Patch x runs outer -> inner corner.  Patch y must point image-down on both sides, so
    # the subject's left eye (outer corner on the image's right) is mirrored, not rotated.
    k = width / EYE_PX
    ex, ey = dx / width, dy / width
    mirrored = ex < 0
    vx, vy = (ey, -ex) if mirrored else (-ey, ex)
    to_image = np.array([[ex * k, vx * k, ox - k * (ex * U0_PX + vx * V0_PX)],
                         [ey * k, vy * k, oy - k * (ey * U0_PX + vy * V0_PX)]])
    return EyeFrame(to_image, width, mirrored)


def _gray_roi(image: np.ndarray, to_image: np.ndarray, margin: int = 2):
    """Grey crop covering the patch, plus its top-left corner (x0, y0)."""
    corners = np.array([[0, 0, 1], [PATCH_W, 0, 1], [0, PATCH_H, 1], [PATCH_W, PATCH_H, 1]], float)
    xy = corners @ to_image.T
    h, w = image.shape[:2]
    x0 = max(int(math.floor(xy[:, 0].min())) - margin, 0)
    y0 = max(int(math.floor(xy[:, 1].min())) - margin, 0)
    x1 = min(int(math.ceil(xy[:, 0].max())) + margin + 1, w)
    y1 = min(int(math.ceil(xy[:, 1].max())) + margin + 1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None, 0, 0
    roi = image[y0:y1, x0:x1]
    if roi.ndim == 3:
        roi = cv2.cvtColor(roi, cv2.COLOR_RGB2GRAY)
    return roi, x0, y0


def eye_patch(image: np.ndarray, points: np.ndarray, side: str) -> np.ndarray | None:
    """The eye resampled to PATCH_H x PATCH_W float32 grey levels (see the module doc).

    `image` is RGB (the analysis image the landmarker sees) or already grey; `points` are the 478
    landmarks in pixels.  Large eyes are area-averaged down first (no aliasing, so
    frame-to-frame jitter stays low at any resolution); small ones are interpolated up.
    """
    frame = eye_frame(points, side)
    return None if frame is None else _patch(image, frame)


def _patch(image: np.ndarray, frame: EyeFrame) -> np.ndarray | None:
    roi, x0, y0 = _gray_roi(image, frame.to_image)
    if roi is None:
        return None
    m = frame.to_image.copy()
    m[:, 2] -= (x0, y0)
    shrink = frame.width_px / EYE_PX
    if shrink > 1.5:
        f = 1.0 / shrink
        small = cv2.resize(roi, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        sx, sy = small.shape[1] / roi.shape[1], small.shape[0] / roi.shape[0]
        m = np.diag([sx, sy]) @ m + np.array([[0.5 * sx - 0.5], [0.5 * sy - 0.5]]) * [[0, 0, 1]]
        roi = small
    patch = cv2.warpAffine(roi, m, (PATCH_W, PATCH_H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    return patch.astype(np.float32)


def edge_share(patch: np.ndarray) -> float:
    """Share of VERTICAL edges in the aperture: sum|dI/dx| / (sum|dI/dx| + sum|dI/dy|).

    The recommended measure.  An open eye's strongest edges are the two sides of the iris
    (limbus) against the sclera, and the lid margins bending round them: about 0.55-0.65.
    A closed eye is lid skin crossed by the HORIZONTAL lash line and lid crease, whose
    gradients are vertical (dI/dy): about 0.2-0.35.  Unlike darkness, this does not
    mistake a heavy mascara lash line (dark, but horizontal) for an open eye, and being a
    ratio of gradients it ignores exposure, skin tone and a lighting gradient across the
    patch.  Gaze shifts move the iris inside the aperture but keep its edges vertical.
    """
    blurred = cv2.GaussianBlur(patch, (0, 0), EDGE_BLUR)
    rows, cols = APERTURE
    # one pixel of margin so the 3x3 Sobel sees real neighbours at the aperture border
    win = blurred[rows.start - 1:rows.stop + 1, cols.start - 1:cols.stop + 1]
    gx = np.abs(cv2.Sobel(win, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1]).sum()
    gy = np.abs(cv2.Sobel(win, cv2.CV_32F, 0, 1, ksize=3)[1:-1, 1:-1]).sum()
    return float(gx / (gx + gy)) if gx + gy > 1e-3 else math.nan


def eye_edge(image: np.ndarray, points: np.ndarray | None, side: str) -> float:
    """Appearance of the SUBJECT's `side` eye ("left"/"right") in an RGB (the landmarker's
    analysis image) or grey frame: the
    vertical-edge share of its aperture (`edge_share`), NaN when the eye cannot be measured.

    `points`: the 478 landmarks in pixels.  Stateless: needs only this frame.  High for an
    open eye, falling as it closes, so the detector can use closure = 1 - edge / open level.
    """
    if points is None:
        return math.nan
    frame = eye_frame(points, side)
    if frame is None:
        return math.nan
    patch = _patch(image, frame)
    return math.nan if patch is None else edge_share(patch)
