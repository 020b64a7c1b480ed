"""MediaPipe Face Landmarker in VIDEO mode, keeping one patient's face over time.

One landmarker per video (MediaPipe's VIDEO mode keeps tracking state), always closed via
`with`.  We keep the patient: the largest face at first, afterwards the face nearest to
where the patient was, so a second person walking by neither erases nor replaces them.

By default every frame asks for two faces (a one-face search can return none in a crowded
frame), which costs MediaPipe a face detection on every frame.  With TWITCHCAM_ONE_FACE=1
it asks for one face while the patient is tracked steadily and alone, and for two at the
start, whenever the tracked face is lost or jumps, and throughout while a second face is
around (faces are counted every 2 s).  That skips the per-frame face detection (15 % of
the landmarker's time as issue 11 measured it) and halves the landmarks' frame-to-frame
jitter, but on benchmarks/accuracy.py's injected spasms the detector as tuned then found
fewer real blinks and reported false spasms on clean video (F1 0.75 against 0.85, 2 false
spasms a minute against none, 2026-12-02), so it stays off until the detector is tuned
for tracked landmarks.

MediaPipe is created in a thread of its own that cannot open network sockets (netguard):
its usage logger, which posts to Google on every close, inherits that and gets nowhere.
"""
from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import signal
import sys
import threading
import types
from pathlib import Path
from typing import NamedTuple

import numpy as np

from twitchcam.video.timing import state_window

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
    from mediapipe.tasks.python.vision import face_landmarker as _mp_face_landmarker  # noqa: E402

from twitchcam import netguard  # noqa: E402


@contextlib.contextmanager
def _ctrl_c_deferred():
    """A Ctrl-C that arrives meanwhile takes effect when the block ends.

    MediaPipe's set-up runs in C++ on its own thread and cannot be interrupted: leaving the
    block midway would leave it running, logging to a terminal no longer silenced, while the
    process winds down.  It takes a fraction of a second."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(signal.SIGINT, caught[0])
        elif caught and previous == signal.SIG_DFL:
            raise KeyboardInterrupt


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


ONE_FACE_ENV = "TWITCHCAM_ONE_FACE"


def _create_offline(options):
    """FaceLandmarker created in a short-lived thread that first loses the right to open sockets;
    every thread MediaPipe starts there (its graph and its usage logger) inherits that, while the
    caller's thread keeps the network (a live stream may need to reconnect).

    Linux only; elsewhere MediaPipe is created as is (see the README's Privacy section)."""
    box: dict = {}

    def create() -> None:
        try:
            if netguard.supported():
                netguard.deny_sockets()
            with _quiet_stderr():
                box["landmarker"] = vision.FaceLandmarker.create_from_options(options)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=create, name="twitchcam-mediapipe")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["landmarker"]


class Face(NamedTuple):
    """The patient's face in one frame: 478 landmarks in pixels (z scaled like x), and
    MediaPipe's blendshape scores by name (e.g. eyeBlinkLeft: the SUBJECT's left eye)."""

    points: np.ndarray
    blendshapes: dict[str, float]
    new_track: bool = False  # picked up afresh, not followed from the frame before: maybe someone else


class _ResultReader:
    """The landmarks and blendshapes of a detect_for_video call read straight from MediaPipe's
    C result into numpy.

    MediaPipe's own `detect_for_video` first builds a Python object per landmark (478 per face)
    and per blendshape, about 1 ms a face in Python holding the GIL: a tenth of the inference
    time, spent on objects twitchcam turns straight back into an array.  This makes the same C
    call MediaPipe's method makes (`MpFaceLandmarkerDetectForVideo`, then
    `MpFaceLandmarkerCloseResult`) and views the C arrays with numpy (about 25 µs a face).
    It uses MediaPipe's private names, so it checks them once (`usable`) and the Landmarker
    falls back to the public method without them; tests/test_landmarks.py checks that both
    give identical faces on real frames with the locked MediaPipe.
    """

    def __init__(self):
        lib = _mp_face_landmarker
        self.usable = all(hasattr(lib, name) for name in ("MpFaceLandmarkerResultC", "landmark_c_lib",
                                                          "category_c_lib"))
        if not self.usable:
            return
        landmark, category = lib.landmark_c_lib.MpNormalizedLandmarkC, lib.category_c_lib.MpCategoryC
        self._result_type = lib.MpFaceLandmarkerResultC
        self._landmark = np.dtype({"names": ["x", "y", "z"], "formats": ["<f4"] * 3,
                                   "offsets": [landmark.x.offset, landmark.y.offset, landmark.z.offset],
                                   "itemsize": ctypes.sizeof(landmark)})
        self._category = np.dtype({"names": ["index", "score"], "formats": ["<i4", "<f4"],
                                   "offsets": [category.index.offset, category.score.offset],
                                   "itemsize": ctypes.sizeof(category)})
        self._names: dict[int, str] = {}  # blendshape index -> name, read once

    @staticmethod
    def _view(pointer, count: int, dtype: np.dtype) -> np.ndarray:
        if count == 0:
            return np.zeros(0, dtype)
        raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(ctypes.addressof(pointer.contents))
        return np.frombuffer(raw, dtype)

    def detect(self, instance, image, ms: int, scale: np.ndarray) -> list["Face"]:
        result = self._result_type()
        instance._lib.MpFaceLandmarkerDetectForVideo(instance._handle, image._image_ptr, None, ms,
                                                     ctypes.byref(result))
        try:  # copy everything out before MediaPipe frees the result
            faces = []
            for i in range(result.face_landmarks_count):
                marks = result.face_landmarks[i]
                xyz = self._view(marks.landmarks, marks.landmarks_count, self._landmark)
                points = np.stack([xyz["x"], xyz["y"], xyz["z"]], axis=1).astype(np.float64) * scale
                shapes: dict[str, float] = {}
                if i < result.face_blendshapes_count:
                    cats = result.face_blendshapes[i]
                    scores = self._view(cats.categories, cats.categories_count, self._category)
                    for j, index in enumerate(scores["index"].tolist()):
                        if index not in self._names:
                            self._names[index] = cats.categories[j].category_name.decode()
                    shapes = dict(zip([self._names[k] for k in scores["index"].tolist()],
                                      scores["score"].astype(np.float64).tolist()))
                faces.append(Face(points, shapes))
            return faces
        finally:
            instance._lib.MpFaceLandmarkerCloseResult(ctypes.byref(result))


def _public_detect(instance, image, ms: int, scale: np.ndarray) -> list["Face"]:
    """The same faces through MediaPipe's public detect_for_video."""
    result = instance.detect_for_video(image, ms)
    shapes = result.face_blendshapes or [[] for _ in result.face_landmarks]
    return [Face(np.array([(p.x, p.y, p.z) for p in face], dtype=np.float64) * scale,
                 {c.category_name: float(c.score) for c in scores})
            for face, scores in zip(result.face_landmarks, shapes)]


def _face_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    lo, hi = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    return (lo + hi) / 2, float(np.prod(hi - lo))


class PatientTracker:
    """Pick the patient's face among those MediaPipe returns, consistently over time, and say
    when every face must be looked for rather than only the tracked one.

    The patient is the largest face at first (or after `forget_s` without them), afterwards
    the face nearest to where they were; a face further than `max_jump` face sizes per frame
    gap is someone else, and gives no face rather than a stranger's.

    Looking for every face (two) costs MediaPipe a face detection on every frame, and its
    landmarks then follow each frame's detection box (about twice the frame-to-frame jitter
    of a tracked face).  So the patient's landmarks come from the one-face search while they
    are tracked steadily and alone (`steady`); every face is looked for while they are not
    tracked, while a second face has been seen within `crowd_hold_s`, and on any frame where
    the tracked face is lost or jumps.  Once in every `check_every_s` of video time (on a fixed
    grid, so a chunk of the video counts on the same frames as the whole) the frame's faces
    are counted (`count`) to notice a second person in time.

    A face found after the patient was out of view for `retrack_s` starts a new track
    (`new_track`): it may be someone else, which twitchcam.core.identity judges.
    """

    def __init__(self, max_jump: float = 0.5, forget_s: float = 2.0, check_every_s: float = 2.0,
                 crowd_hold_s: float = 3.0, retrack_s: float = 0.5):
        self.max_jump = max_jump  # fraction of face size the centre may move per frame gap
        self.forget_s = forget_s
        self.retrack_s = retrack_s  # out of view this long: whoever is found next may be someone else
        self.check_every_s = check_every_s
        self.crowd_hold_s = crowd_hold_s
        self._centre: np.ndarray | None = None
        self._size = 0.0
        self._seen_t = -np.inf
        self._lost = True  # the last look at every face found no patient
        self._crowded_until = -np.inf
        self._counted = -1  # the check_every_s window of the last count
        self.new_track = False  # the last face picked was picked up afresh, not followed

    def steady(self, t_s: float) -> bool:
        """The patient is tracked and alone: one face is enough for this frame."""
        return (not self._lost and self._centre is not None and t_s - self._seen_t <= self.forget_s
                and t_s >= self._crowded_until)

    def check_due(self, t_s: float) -> bool:
        return int(t_s // self.check_every_s) != self._counted

    def count(self, faces: list, t_s: float) -> None:
        """All the faces of a frame were looked for: a second one makes the frame crowded."""
        self._counted = int(t_s // self.check_every_s)
        if len(faces) > 1:
            self._crowded_until = t_s + self.crowd_hold_s

    def choose(self, faces: list[np.ndarray], t_s: float, all_faces: bool = True) -> np.ndarray | None:
        """The patient among `faces` (all of the frame's faces if `all_faces`, else the one
        MediaPipe tracks), or None."""
        if all_faces:
            self.count(faces, t_s)
        patient = self._pick(faces, t_s)
        if all_faces:
            self._lost = patient is None
        return patient

    def _pick(self, faces: list[np.ndarray], t_s: float) -> np.ndarray | None:
        if not faces:
            return None
        boxes = [_face_box(f) for f in faces]
        self.new_track = self._centre is None or t_s - self._seen_t > self.retrack_s
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
    """Context manager: feed RGB frames with strictly increasing timestamps, get the patient's Face.

    One MediaPipe instance in VIDEO mode asks for `num_faces` faces.  With `steady_faces`
    fewer (default: 1 if TWITCHCAM_ONE_FACE=1, else `num_faces`, see the module doc) a second
    instance asks for that many and serves while the patient is tracked steadily and alone
    (see PatientTracker).  Each instance sees strictly increasing timestamps of its own.

    Results are read from MediaPipe's C result directly (`_ResultReader`); `public_api=True`
    goes through MediaPipe's public method instead (the tests compare the two).

    An instance tracking a face carries state from frame to frame; the first time it is used
    in a new window of video time (timing.STATE_WINDOW_S) it is first shown a blank frame,
    which ends its track, so its landmarks depend only on the frames of the current window:
    a chunk starting on the grid gets exactly the landmarks of the whole video's run.
    """

    def __init__(self, model_path: Path, num_faces: int = 2, steady_faces: int | None = None,
                 public_api: bool = False):
        if steady_faces is None:
            steady_faces = 1 if os.environ.get(ONE_FACE_ENV) == "1" else num_faces

        def options(n: int):
            return vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(model_path)),
                running_mode=vision.RunningMode.VIDEO,
                num_faces=n,
                min_face_detection_confidence=0.5,
                min_face_presence_confidence=0.5,
                min_tracking_confidence=0.5,
                output_face_blendshapes=True,  # same inference: per-side eyeBlink/eyeSquint cost ~0.5 ms
            )

        self._options = {"all": options(num_faces)}
        if steady_faces < num_faces:
            self._options["steady"] = options(steady_faces)
        self._instances: dict = {}
        self._used: dict[str, int] = {}  # instance -> state window of its last frame
        self._blank: np.ndarray | None = None
        self._last_ms = -2
        self.tracker = PatientTracker()
        reader = _ResultReader()
        self._read = reader.detect if reader.usable and not public_api else _public_detect
        self.calls = {name: 0 for name in self._options}  # inferences per instance, for benchmarks

    def __enter__(self) -> "Landmarker":
        try:
            with _ctrl_c_deferred():
                for name, options in self._options.items():
                    self._instances[name] = _create_offline(options)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for instance in self._instances.values():
            instance.close()
        self._instances.clear()

    def _faces(self, name: str, image, ms: int, window: int, rgb: np.ndarray) -> list[Face]:
        """Every face instance `name` finds."""
        instance = self._instances[name]
        self.calls[name] += 1
        h, w = rgb.shape[:2]
        scale = np.array([w, h, w], dtype=np.float64)
        if name not in self._used:
            with _ctrl_c_deferred(), _quiet_stderr():  # the first inference logs its delegate set-up
                faces = self._read(instance, image, ms, scale)
        else:
            if self._used[name] != window:  # a new window: end the track it carries (see class doc)
                if self._blank is None or self._blank.shape != rgb.shape:
                    self._blank = np.zeros_like(rgb)
                self._read(instance, mp.Image(image_format=mp.ImageFormat.SRGB, data=self._blank), ms - 1, scale)
            faces = self._read(instance, image, ms, scale)
        self._used[name] = window
        return faces

    def detect(self, rgb: np.ndarray, t_s: float) -> Face | None:
        """The patient's face in this frame, or None when there is none."""
        if not self._instances:
            raise RuntimeError("Landmarker used outside its `with` block")
        # VIDEO mode needs strictly increasing ms; 2 apart leaves room for a blank frame between.
        ms = max(int(round(t_s * 1000.0)), self._last_ms + 2)
        self._last_ms = ms
        rgb = np.ascontiguousarray(rgb)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        window = state_window(t_s)
        tracker = self.tracker
        if "steady" in self._instances and tracker.steady(t_s):
            faces = self._faces("steady", image, ms, window, rgb)
            patient = _the(faces, tracker.choose([f.points for f in faces], t_s, all_faces=False), tracker.new_track)
            if patient is not None:
                if tracker.check_due(t_s):  # is anyone else in view?
                    tracker.count(self._faces("all", image, ms, window, rgb), t_s)
                return patient
            # Lost, or it jumped to someone else: look at every face of this very frame.
        faces = self._faces("all", image, ms, window, rgb)
        return _the(faces, tracker.choose([f.points for f in faces], t_s), tracker.new_track)


def _the(faces: list[Face], points: np.ndarray | None, new_track: bool) -> Face | None:
    """The Face whose landmarks the tracker chose."""
    face = next((f for f in faces if f.points is points), None)
    return face._replace(new_track=True) if face is not None and new_track else face
