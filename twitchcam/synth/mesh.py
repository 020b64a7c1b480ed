"""MediaPipe's view of a clip: landmarks, eye blendshapes, eye opening and pose per frame.

twitchcam's own Landmarker gives landmarks only; the ground-truth tools also need the
blendshapes eyeBlinkLeft/Right (to find natural blinks and to measure how a generator
moves them), so this module runs the Face Landmarker with output_face_blendshapes=True.
It reuses twitchcam.video.landmarks (its quiet mediapipe import and PatientTracker) and the
feature stage's eye_open, so its numbers are the detector's numbers.
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
    eyeBlink in SIDES order; eye_open (N, 2) the feature stage's eye_open; valid (N,)
    the feature stage's validity; pitch/yaw (N,) degrees."""

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
            eye[i], valid[i] = ff.values[cols], ff.valid
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
    from twitchcam.video.landmarks import BaseOptions, PatientTracker, _quiet_stderr, mp, vision
    from twitchcam.video.model import ensure_model

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(ensure_model(model_path))),
        running_mode=vision.RunningMode.VIDEO, num_faces=2, output_face_blendshapes=True,
        min_face_detection_confidence=0.5, min_face_presence_confidence=0.5, min_tracking_confidence=0.5)
    tracker = PatientTracker()
    lms, blinks = [], []
    with _quiet_stderr():
        landmarker = vision.FaceLandmarker.create_from_options(options)
    try:
        numbers = iter(indices) if indices is not None else None
        for j, fr in enumerate(frames):
            i = next(numbers) if numbers is not None else j
            h, w = fr.shape[:2]
            image = mp.Image(image_format=mp.ImageFormat.SRGB,
                             data=np.ascontiguousarray(cv2.cvtColor(fr, cv2.COLOR_BGR2RGB)))
            res = landmarker.detect_for_video(image, int(round(i * 1000.0 / fps)))
            scale = np.array([w, h, w], dtype=np.float64)
            faces = [np.array([(p.x, p.y, p.z) for p in f], dtype=np.float64) * scale for f in res.face_landmarks]
            chosen = tracker.choose(faces, i / fps)
            if chosen is None:
                lms.append(np.full((478, 3), np.nan))
                blinks.append([np.nan] * len(SIDES))
                continue
            k = next(j for j, f in enumerate(faces) if f is chosen)
            shapes = {c.category_name: c.score for c in res.face_blendshapes[k]}
            lms.append(chosen)
            blinks.append([shapes[BLINK_SHAPES[s]] for s in SIDES])
    finally:
        landmarker.close()
    return Mesh.from_landmarks(np.array(lms).reshape(-1, 478, 3), np.array(blinks, dtype=np.float64).reshape(-1, 2))
