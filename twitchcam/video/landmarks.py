"""MediaPipe Face Landmarker in VIDEO mode, keeping one patient's face over time.

One landmarker per video (MediaPipe's VIDEO mode keeps tracking state), always closed via
`with`.  We ask for two faces because with num_faces=1 a crowded frame can return none,
then keep the patient: the largest face at first, afterwards the face nearest to where
the patient was, so a second person walking by neither erases nor replaces them.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import types
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ start-up chatter
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class _ImportedOnUse(types.ModuleType):
    """Stands in for a module until something reads from it; then imports the real one."""

    def __getattr__(self, attr: str):
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


@contextlib.contextmanager
def _imported_on_use(*names: str):
    """Keep `import mediapipe` from loading modules twitchcam never uses.

    mediapipe's vision package imports `matplotlib.pyplot` for 3-D plotting helpers (~0.75 s),
    and `mediapipe.tasks` imports its audio (with `sounddevice` and PortAudio), text, retrieval
    and decision task families (~0.3 s together): paid by every start and every
    batch worker.  During that one import these modules are stand-ins; mediapipe keeps them
    (they import the real modules if ever used) and everything imported afterwards gets the
    real ones.  Names are parents first.
    """
    if any(name in sys.modules for name in names):
        yield
        return
    stand_ins = {name: _ImportedOnUse(name) for name in names}
    for name, module in stand_ins.items():
        parent, _, child = name.rpartition(".")
        if parent in stand_ins:
            setattr(stand_ins[parent], child, module)
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


# mediapipe.tasks.python imports every task family; twitchcam needs only vision.
_UNUSED = [f"mediapipe.tasks.python.{family}" for family in ("audio", "text", "retrieval", "decision")]
with _imported_on_use("matplotlib", "matplotlib.pyplot"), _imported_on_use(*_UNUSED):
    import mediapipe as mp  # noqa: E402
    from mediapipe.tasks.python import BaseOptions, vision  # noqa: E402


@contextlib.contextmanager
def _quiet_stderr():
    """MediaPipe's C++ start-up logs go straight to fd 2; keep the user's terminal clean."""
    if os.environ.get("TWITCHCAM_DEBUG"):
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _face_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    lo, hi = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    return (lo + hi) / 2, float(np.prod(hi - lo))


class PatientTracker:
    """Pick the patient's face among those MediaPipe returns, consistently over time."""

    def __init__(self, max_jump: float = 0.5, forget_s: float = 2.0):
        self.max_jump = max_jump  # fraction of face size the centre may move per frame gap
        self.forget_s = forget_s
        self._centre: np.ndarray | None = None
        self._size = 0.0
        self._seen_t = -np.inf

    def choose(self, faces: list[np.ndarray], t_s: float) -> np.ndarray | None:
        if not faces:
            return None
        boxes = [_face_box(f) for f in faces]
        if self._centre is None or t_s - self._seen_t > self.forget_s:
            k = int(np.argmax([area for _, area in boxes]))
        else:
            dists = [float(np.linalg.norm(c - self._centre)) for c, _ in boxes]
            k = int(np.argmin(dists))
            if dists[k] > self.max_jump * np.sqrt(self._size) * max(1.0, (t_s - self._seen_t) * 10):
                # The patient is not in view; someone else is.  Better no face than a stranger's.
                return None
        self._centre, self._size = boxes[k]
        self._seen_t = t_s
        return faces[k]


class Landmarker:
    """Context manager: feed RGB frames with strictly increasing timestamps, get 478x3 pixel points."""

    def __init__(self, model_path: Path, num_faces: int = 2):
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=num_faces,
            min_face_detection_confidence=0.5,
            min_face_presence_confidence=0.5,
            min_tracking_confidence=0.5,
        )
        self._options = options
        self._landmarker = None
        self._last_ms = -1
        self.tracker = PatientTracker()

    def __enter__(self) -> "Landmarker":
        with _quiet_stderr():
            self._landmarker = vision.FaceLandmarker.create_from_options(self._options)
        return self

    def __exit__(self, *exc) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def detect(self, rgb: np.ndarray, t_s: float) -> np.ndarray | None:
        """Patient landmarks (478, 3) in pixels (z scaled like x), or None when no face."""
        if self._landmarker is None:
            raise RuntimeError("Landmarker used outside its `with` block")
        ms = max(int(round(t_s * 1000.0)), self._last_ms + 1)  # VIDEO mode needs strictly increasing ms
        first = self._last_ms < 0
        self._last_ms = ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if first:
            with _quiet_stderr():  # the first inference logs its delegate set-up
                result = self._landmarker.detect_for_video(image, ms)
        else:
            result = self._landmarker.detect_for_video(image, ms)
        h, w = rgb.shape[:2]
        scale = np.array([w, h, w], dtype=np.float64)
        faces = [
            np.array([(p.x, p.y, p.z) for p in face], dtype=np.float64) * scale
            for face in result.face_landmarks
        ]
        return self.tracker.choose(faces, t_s)
