"""The clone generator: the person's OWN closed eye, from a natural blink, on one side.

Per base and side, a closure ladder is built from the base's natural blinks (found from
the geometric eye opening, twitchcam.synth.bases): every blink frame with its closure
c in (0, 1] (1 = the most closed frame of the clip).  To close one eye by `level`:

1. take the ladder frame whose closure is nearest `level` (a mid-blink frame for a
   partial closure, the most closed one for a full closure);
2. align that frame's eye onto the target frame's same-side eye by the similarity
   transform (rotation, scale, shift) that maps its eye corners onto the target's;
3. clone the aligned eye region (the open eye's area plus the lid skin above it) into
   the target by Poisson blending (the donor's gradients inside, the target's pixels
   on the boundary), which matches colour and light at the boundary; near the frame
   edge a feathered blend with mean/std colour matching is used instead.  (Our own
   solver, not cv2.seamlessClone: in OpenCV 5.1.0 that returns the unchanged
   destination on every other call.)
4. below the ladder's smallest closure, blend by level / c_min, so a twitch starts
   smoothly.

Only the target eye's region changes; MediaPipe's mesh barely follows such a change,
so this is the appearance test: only a detector that looks at the eye itself finds it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import splu

from twitchcam.core.anatomy import LANDMARKS, LOWER_LID, SIDES, UPPER_LID
from twitchcam.synth.inject import pull_mouth

VERSION = 1


@dataclass(frozen=True)
class CloneParams:
    above: float = 0.45  # the cloned region reaches this far above the upper lid (x eye width)
    below: float = 0.18  # ... below the lower lid
    beyond: float = 0.15  # ... beyond the corners
    feather: float = 0.08  # soft edge of the fallback blend (x eye width)
    min_closure: float = 0.2  # ladder frames closed less than this are not used
    method: str = "seamless"  # or "feather"


@dataclass
class Ladder:
    """Per side: source frame indices and their closure (ascending)."""

    frames: dict[str, np.ndarray] = field(default_factory=dict)
    closure: dict[str, np.ndarray] = field(default_factory=dict)

    def pick(self, side: str, level: float) -> tuple[int, float] | None:
        """(source frame, its closure) nearest `level`, or None without blinks."""
        c = self.closure.get(side)
        if c is None or not len(c):
            return None
        k = int(np.argmin(np.abs(c - level)))
        return int(self.frames[side][k]), float(c[k])


def build_ladder(eye_open: np.ndarray, blinks, params: CloneParams = CloneParams(), pad: int = 3) -> Ladder:
    """Closure ladder from natural blinks: c = (open - eye_open) / (open - most closed)."""
    lad = Ladder()
    for k, side in enumerate(SIDES):
        idx, cs = [], []
        closed = min((np.nanmin(eye_open[a:b, k]) for a, _, b in blinks), default=np.nan)
        for a, _, b in blinks:
            pre = eye_open[max(0, a - pad):a, k]
            post = eye_open[b:b + pad, k]
            ref = np.nanmedian(np.r_[pre, post]) if len(pre) + len(post) else np.nan
            for i in range(a, b):
                c = (ref - eye_open[i, k]) / max(ref - closed, 1e-6)
                if np.isfinite(c) and c >= params.min_closure:
                    idx.append(i)
                    cs.append(min(float(c), 1.0))
        order = np.argsort(cs, kind="stable")
        lad.frames[side] = np.array(idx, dtype=int)[order]
        lad.closure[side] = np.array(cs)[order]
    return lad


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 similarity mapping the two src points onto the two dst points."""
    s0, s1 = (complex(*p) for p in src)
    d0, d1 = (complex(*p) for p in dst)
    a = (d1 - d0) / (s1 - s0) if s1 != s0 else 1.0
    b = d0 - a * s0
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


def eye_mask_polygon(points: np.ndarray, side: str, params: CloneParams = CloneParams()) -> np.ndarray:
    """The region that is replaced: the eye plus its upper-lid skin, as a polygon (px)."""
    lm = LANDMARKS[side]
    outer, inner = points[lm.eye_outer, :2], points[lm.eye_inner, :2]
    ex = inner - outer
    w = float(np.hypot(*ex))
    ex = ex / max(w, 1e-6)
    ey = np.array([-ex[1], ex[0]])
    if ey[1] < 0:
        ey = -ey  # image-down
    upper = points[list(UPPER_LID[side]), :2]
    lower = points[list(LOWER_LID[side]), :2]
    up = upper - ey * params.above * w * np.sin(np.linspace(0.15, np.pi - 0.15, len(upper)))[:, None] ** 0.5
    lo = lower + ey * params.below * w * np.sin(np.linspace(0.15, np.pi - 0.15, len(lower)))[:, None] ** 0.5
    ends = [outer - ex * params.beyond * w, inner + ex * params.beyond * w]
    return np.vstack([ends[0], up[1:-1], ends[1], lo[-2:0:-1]]).astype(np.float32)


def poisson_blend(src: np.ndarray, dst: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Seamless cloning: inside `mask` (bool, not touching the border) the result has
    src's gradients and meets dst on the mask's boundary (Perez et al. 2003)."""
    inside = mask.astype(bool).copy()
    inside[0], inside[-1], inside[:, 0], inside[:, -1] = False, False, False, False
    out = dst.astype(np.float64).copy()
    n = int(inside.sum())
    if n == 0:
        return dst.copy()
    ids = -np.ones(mask.shape, dtype=np.int64)
    ids[inside] = np.arange(n)
    ys, xs = np.nonzero(inside)
    g = src.astype(np.float64)
    rows, cols, vals = [np.arange(n)], [np.arange(n)], [np.full(n, 4.0)]
    rhs = np.zeros((n, src.shape[2]))
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        qy, qx = ys + dy, xs + dx
        rhs += g[ys, xs] - g[qy, qx]
        q = ids[qy, qx]
        inner = q >= 0
        rows.append(np.arange(n)[inner])
        cols.append(q[inner])
        vals.append(np.full(int(inner.sum()), -1.0))
        rhs[~inner] += out[qy[~inner], qx[~inner]]
    A = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsc()
    out[ys, xs] = splu(A).solve(rhs)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def clone_eye(frame: np.ndarray, points: np.ndarray, donor: np.ndarray, donor_points: np.ndarray, side: str,
              alpha: float = 1.0, params: CloneParams = CloneParams()) -> np.ndarray:
    """Clone `donor`'s `side` eye onto `frame`'s (in place), aligned by the eye corners."""
    lm = LANDMARKS[side]
    corners = [lm.eye_outer, lm.eye_inner]
    M = _similarity(donor_points[corners, :2], points[corners, :2])
    poly = eye_mask_polygon(points, side, params)
    h, w = frame.shape[:2]
    pad = 4
    x0, y0 = np.floor(poly.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + pad + 1
    if x1 - x0 < 6 or y1 - y0 < 6:
        return frame
    inside = x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    # The donor, warped into the target's ROI.
    Mroi = M.copy()
    Mroi[:, 2] -= (x0, y0)
    patch = cv2.warpAffine(donor, Mroi, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round(poly - (x0, y0)).astype(np.int32)], 255)
    roi = frame[y0:y1, x0:x1]
    if params.method == "seamless" and inside and mask[2:-2, 2:-2].any():
        mask[:2], mask[-2:], mask[:, :2], mask[:, -2:] = 0, 0, 0, 0
        blended = poisson_blend(patch, roi, mask > 0)
        out = roi * (1 - alpha) + blended * alpha
        frame[y0:y1, x0:x1] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return frame
    # Fallback: feathered blend with the patch's colour matched to the target's ring.
    eye_w = float(np.hypot(*(points[corners[1], :2] - points[corners[0], :2])))
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), max(0.8, params.feather * eye_w))
    ring = (soft > 0.05) & (soft < 0.6)
    if ring.sum() > 8:
        p, r = patch.astype(np.float32), roi.astype(np.float32)
        mp_, sp = p[ring].mean(0), p[ring].std(0) + 1e-3
        mr, sr = r[ring].mean(0), r[ring].std(0) + 1e-3
        patch = np.clip((p - mp_) * np.clip(sr / sp, 0.7, 1.4) + mr, 0, 255)
    out = roi * (1 - soft[..., None] * alpha) + patch * (soft[..., None] * alpha)
    frame[y0:y1, x0:x1] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return frame


@dataclass
class CloneSource:
    """What the clone generator draws from: the base's own frames, landmarks and ladder."""

    frames: np.ndarray
    landmarks: np.ndarray
    ladder: Ladder
    params: CloneParams = CloneParams()

    def apply(self, frame: np.ndarray, points: np.ndarray | None, levels: dict[str, tuple[float, float]]
              ) -> np.ndarray:
        out = frame.copy()
        if points is None or not np.isfinite(points).all():
            return out
        for side in SIDES:
            eye, mouth = levels.get(side, (0.0, 0.0))
            if eye > 0:
                pick = self.ladder.pick(side, eye)
                if pick is not None:
                    i, c = pick
                    alpha = min(1.0, eye / c) if eye < c else 1.0
                    clone_eye(out, points, self.frames[i], self.landmarks[i], side, alpha, self.params)
            pull_mouth(out, points, side, mouth)
        return out
