"""MediaPipe's view of a clip: landmarks, eye blendshapes, eye opening and pose per frame.

The ground-truth tools need the blendshapes eyeBlinkLeft/Right (to find natural blinks and
to measure how a generator moves them) and the feature stage's eye_open, from twitchcam's
own Landmarker, so its numbers are the detector's numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.features import FEATURE_COLUMNS, frame_features

BLINK_SHAPES = {"left": "eyeBlinkLeft", "right": "eyeBlinkRight"}  # subject's sides (DOMAIN.md)
FACE_TOP, FACE_BOTTOM = 10, 152  # forehead and chin: the face height we report


@dataclass
class Mesh:
    """Per frame: landmarks (N, 478, 3) px, NaN without a face; blink (N, 2) blendshape
    eyeBlink in SIDES order; eye_open (N, 2) the feature stage's eye_open; valid (N,) a face
    was found; pitch/yaw (N,) degrees."""

    landmarks: np.ndarray
    blink: np.ndarray
    eye_open: np.ndarray
    valid: np.ndarray
    pitch: np.ndarray
    yaw: np.ndarray

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, **self.__dict__)

    @classmethod
    def load(cls, path: str | Path) -> "Mesh":
        with np.load(path) as z:
            return cls(**{k: z[k] for k in cls.__dataclass_fields__})

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, blink: np.ndarray | None = None) -> "Mesh":
        """Features from given landmarks (e.g. transformed ones); blink NaN unless given."""
        n = len(landmarks)
        eye = np.full((n, len(SIDES)), np.nan)
        valid = np.zeros(n, dtype=bool)
        pitch, yaw = np.full(n, np.nan), np.full(n, np.nan)
        cols = [FEATURE_COLUMNS.index(f"eye_open_{s}") for s in SIDES]
        for i, pts in enumerate(landmarks):
            if not np.isfinite(pts).all():
                continue
            ff = frame_features(pts)
            eye[i], valid[i] = ff.values[cols], ff.found
            yaw[i], pitch[i] = ff.pose[0], ff.pose[1]
        if blink is None:
            blink = np.full((n, len(SIDES)), np.nan)
        return cls(np.asarray(landmarks, dtype=np.float64), blink, eye, valid, pitch, yaw)

    def face_height(self) -> float:
        """Median forehead-to-chin height in pixels over frames with a face."""
        h = np.abs(self.landmarks[:, FACE_BOTTOM, 1] - self.landmarks[:, FACE_TOP, 1])
        h = h[np.isfinite(h)]
        return float(np.median(h)) if h.size else float("nan")

    def take(self, idx: np.ndarray) -> "Mesh":
        return Mesh(*(getattr(self, k)[idx] for k in self.__dataclass_fields__))


def run_mediapipe(frames: Iterable[np.ndarray], fps: float, model_path: str | Path | None = None,
                  indices: Iterable[int] | None = None) -> Mesh:
    """Landmarks and eye blendshapes of the patient's face in each BGR frame (VIDEO mode).

    `indices` gives each frame's number in its video when only some frames are fed (the
    timestamps then keep their gaps, and MediaPipe re-detects after a gap)."""
    from twitchcam.video.landmarks import Landmarker
    from twitchcam.video.model import ensure_model

    lms, blinks = [], []
    numbers = iter(indices) if indices is not None else None
    with Landmarker(ensure_model(model_path)) as landmarker:
        for j, fr in enumerate(frames):
            i = next(numbers) if numbers is not None else j
            face = landmarker.detect(cv2.cvtColor(fr, cv2.COLOR_BGR2RGB), i / fps)
            if face is None:
                lms.append(np.full((478, 3), np.nan))
                blinks.append([np.nan] * len(SIDES))
            else:
                lms.append(face.points)
                blinks.append([face.blendshapes.get(BLINK_SHAPES[s], np.nan) for s in SIDES])
    return Mesh.from_landmarks(np.array(lms).reshape(-1, 478, 3), np.array(blinks, dtype=np.float64).reshape(-1, 2))
