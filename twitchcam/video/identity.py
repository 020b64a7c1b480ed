"""A face's appearance signature, for telling the patient from someone else (core.identity).

The face is cut out of the frame with its eyes at fixed places (rotation, scale and shift
from the two eye centres), equalised, and described by uniform local binary patterns
counted in an 8 x 8 grid of cells (Ahonen et al. 2006): a texture description that follows
the person's features rather than the light or the expression.  No model, no network.
"""
from __future__ import annotations

import cv2
import numpy as np

SIZE = 96  # the aligned face, pixels
EYES_APART = 0.4  # of SIZE
EYE_ROW = 0.38  # of SIZE
GRID = 8
RIGHT_EYE = (33, 133)  # the subject's right eye corners (MediaPipe indices): the image's left
LEFT_EYE = (362, 263)


def _uniform_map() -> tuple[np.ndarray, int]:
    """8-neighbour LBP codes with at most two 0/1 transitions get a bin each; the rest share one."""
    codes = np.arange(256)
    bits = (codes[:, None] >> np.arange(8)) & 1
    uniform = (bits != np.roll(bits, 1, axis=1)).sum(axis=1) <= 2
    bins = np.full(256, uniform.sum(), dtype=np.int64)
    bins[uniform] = np.arange(uniform.sum())
    return bins, int(uniform.sum()) + 1


BINS, N_BINS = _uniform_map()
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
_CELL = (np.arange(SIZE - 2) * GRID // (SIZE - 2))
_CELLS = (_CELL[:, None] * GRID + _CELL[None, :]) * N_BINS  # each pixel's first histogram slot


def aligned_face(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The face in grey, SIZE x SIZE, eyes level at fixed places."""
    right, left = points[list(RIGHT_EYE), :2].mean(axis=0), points[list(LEFT_EYE), :2].mean(axis=0)
    v = left - right
    scale = EYES_APART * SIZE / max(float(np.hypot(*v)), 1e-6)
    angle = np.arctan2(v[1], v[0])
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    m = np.array([[c, s, 0.0], [-s, c, 0.0]])
    m[:, 2] = np.array([0.5 * SIZE, EYE_ROW * SIZE]) - m[:, :2] @ ((left + right) / 2)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.warpAffine(grey, m, (SIZE, SIZE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def face_signature(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Uniform-LBP histograms of the aligned face, GRID x GRID cells each summing to 1 (float32)."""
    g = cv2.equalizeHist(aligned_face(rgb, points)).astype(np.int16)
    centre = g[1:-1, 1:-1]
    code = np.zeros(centre.shape, dtype=np.uint8)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        code |= (g[1 + dy:SIZE - 1 + dy, 1 + dx:SIZE - 1 + dx] >= centre).astype(np.uint8) << bit
    hist = np.bincount((_CELLS + BINS[code]).ravel(), minlength=GRID * GRID * N_BINS).reshape(GRID * GRID, N_BINS)
    return (hist / hist.sum(axis=1, keepdims=True)).ravel().astype(np.float32)  # half the bytes a chunk sends


class SignatureSchedule:
    """On which frames to measure a signature: each frame of a new track, then one in every
    `probe_every_s` of video time for `probe_s` while the track is being judged, and one in every
    `every_s` after.  The grid is fixed in video time, so a time chunk of a video (which picks up
    the face afresh in its warm-up) measures on the same frames as the whole run after it."""

    def __init__(self, every_s: float = 1.0, probe_every_s: float = 0.1, probe_s: float = 1.0):
        self.every_s, self.probe_every_s, self.probe_s = every_s, probe_every_s, probe_s
        self._last = -np.inf  # the frame before
        self._probe_until = -np.inf

    def due(self, t_s: float, new_track: bool) -> bool:
        if new_track:
            self._probe_until = t_s + self.probe_s
        last, self._last = self._last, t_s
        step = self.probe_every_s if t_s < self._probe_until else self.every_s
        return new_track or t_s // step != last // step
