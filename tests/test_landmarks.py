"""Which faces the landmarker asks MediaPipe for, and which one is the patient (one face while
tracking steadily: the TWITCHCAM_ONE_FACE=1 mode)."""
from __future__ import annotations

import numpy as np
import pytest

from twitchcam.video.landmarks import PatientTracker


def face(cx: float, cy: float, size: float) -> np.ndarray:
    """A stand-in for 478 landmarks: the corners of a face box (only the box matters here)."""
    h = size / 2
    return np.array([[cx - h, cy - h, 0.0], [cx + h, cy + h, 0.0]])


PATIENT, STRANGER = face(300, 200, 120), face(520, 260, 160)


def test_all_faces_until_the_patient_is_found_then_the_largest_face_is_kept():
    tr = PatientTracker()
    assert not tr.steady(0.0)  # nobody tracked yet: look for every face
    assert tr.choose([], 0.0) is None and not tr.steady(0.04)
    small, large = face(100, 100, 60), face(300, 200, 120)
    assert tr.choose([small, large], 0.08) is large
    assert not tr.steady(0.12)  # two faces: crowded for a while
    assert tr.choose([large], 3.2) is large
    assert tr.steady(3.24)


def test_steady_tracking_uses_one_face_and_counts_faces_every_check():
    tr = PatientTracker(check_every_s=2.0)
    tr.choose([PATIENT], 0.0)
    t = 0.04
    checks = []
    while t < 6.0:
        assert tr.steady(t)
        assert tr.choose([PATIENT], t, all_faces=False) is PATIENT
        if tr.check_due(t):
            checks.append(round(t, 2))
            tr.count([PATIENT], t)
        t += 0.04
    assert len(checks) == 2 and checks[0] >= 2.0 and checks[1] >= checks[0] + 2.0


def test_a_second_face_makes_every_frame_look_for_all_faces_until_it_is_gone():
    tr = PatientTracker(crowd_hold_s=3.0)
    tr.choose([PATIENT], 0.0)
    for k in range(1, 51):
        tr.choose([PATIENT], 0.04 * k, all_faces=False)
    tr.count([PATIENT, STRANGER], 2.0)  # the periodic count sees someone else
    assert not tr.steady(2.04)
    for k in range(25):  # while both are in view, every frame looks at both, and keeps the patient
        t = 2.04 + 0.04 * k
        assert tr.choose([STRANGER, PATIENT], t) is PATIENT
    assert not tr.steady(t + 1.0)
    assert tr.choose([PATIENT], t + 1.0) is PATIENT  # alone again
    assert not tr.steady(t + 2.9)  # the crowd is remembered for crowd_hold_s after it was last seen
    assert tr.choose([PATIENT], t + 2.95) is PATIENT
    assert tr.steady(t + 3.01)


def test_a_tracked_face_that_jumps_is_not_the_patient():
    """The one-face search may jump to a stranger when the patient is hidden: that gives no
    face (the landmarker then looks at every face of the same frame), never the stranger."""
    tr = PatientTracker()
    tr.choose([PATIENT], 0.0)
    assert tr.choose([STRANGER], 0.04, all_faces=False) is None
    assert tr.steady(0.04)  # a one-face miss alone does not end tracking...
    assert tr.choose([], 0.04) is None  # ...but every face of the frame without the patient does
    assert not tr.steady(0.08)
    assert tr.choose([STRANGER, PATIENT], 0.08) is PATIENT


@pytest.mark.slow
def test_a_larger_stranger_stepping_in_never_replaces_or_hides_the_patient(tmp_path, videos, model):
    """A second, larger face appears beside the patient half-way through and stays: the
    patient's track and features are kept, and from the next face count on every frame
    looks at all faces."""
    import cv2

    from twitchcam.video.landmarks import Landmarker

    patient = cv2.VideoCapture(str(videos["single_face.mp4"]))
    other = cv2.VideoCapture(str(videos["WolfgangLanger_Pexels.mp4"]))
    frames, crowded = [], []
    while True:
        ok1, a = patient.read()
        ok2, b = other.read()
        if not (ok1 and ok2):
            break
        alone = a.copy()
        if len(frames) >= 30:
            a = a.copy()
            a[:, 400:640] = b[:, 320:560]  # the other face, ~1.4x the patient's, beside them
        frames.append((alone, a))
    assert len(frames) > 60

    def run(use_crowded: bool):
        out = []
        with Landmarker(model, steady_faces=1) as lm:
            for k, (alone, crowd) in enumerate(frames):
                img = crowd if use_crowded else alone
                out.append(lm.detect(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), k / 30.0))
                if use_crowded:
                    crowded.append(not lm.tracker.steady(k / 30.0))
        return out, lm.calls

    ref, _ = run(False)
    got, calls = run(True)
    assert all(p is not None for p in got), "the patient was lost in a crowded frame"
    centre = [np.mean(f.points[:, :2], axis=0) for f in got]
    ref_centre = [np.mean(f.points[:, :2], axis=0) for f in ref]
    assert max(np.linalg.norm(c - r) for c, r in zip(centre, ref_centre)) < 20  # the patient, not the stranger
    assert calls["all"] >= len(frames) - 30 - 2 * 30  # looked at all faces from (at most) the next count on
    assert crowded[-1]


@pytest.mark.slow
def test_landmarks_from_a_grid_seam_on_do_not_depend_on_where_tracking_began(videos, model):
    """Tracking one face carries state from frame to frame; it is renewed on the state grid,
    so a landmarker started 2 s before a grid seam (a chunk with its warm-up) gives exactly
    the landmarks of one that saw the whole video, from the seam on."""
    import cv2

    from twitchcam.video.landmarks import Landmarker
    from twitchcam.video.timing import STATE_WINDOW_S

    cap = cv2.VideoCapture(str(videos["WolfgangLanger_Pexels.mp4"]))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append((cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    seam = 2 * STATE_WINDOW_S
    assert frames[-1][0] > seam + 3.0

    def run(start_s: float):
        with Landmarker(model, steady_faces=1) as lm:
            return {round(t, 6): lm.detect(rgb, t) for t, rgb in frames if t >= start_s}

    def same(a, b) -> bool:
        return np.array_equal(a.points, b.points) and a.blendshapes == b.blendshapes

    whole, chunk = run(0.0), run(seam - 2.0)
    after = [t for t in chunk if t >= seam]
    assert after and all(same(whole[t], chunk[t]) for t in after)
    before = [t for t in chunk if t < seam - 1.0]
    assert not all(same(whole[t], chunk[t]) for t in before)  # the state really is carried


def test_two_faces_on_every_frame_unless_one_face_tracking_is_asked_for(monkeypatch, tmp_path):
    from twitchcam.video.landmarks import ONE_FACE_ENV, Landmarker

    monkeypatch.delenv(ONE_FACE_ENV, raising=False)
    assert set(Landmarker(tmp_path / "model.task")._options) == {"all"}
    monkeypatch.setenv(ONE_FACE_ENV, "1")
    assert set(Landmarker(tmp_path / "model.task")._options) == {"all", "steady"}
    assert set(Landmarker(tmp_path / "model.task", steady_faces=2)._options) == {"all"}


def test_results_read_straight_from_mediapipe_equal_its_public_method(videos, model):
    """The Landmarker reads MediaPipe's C result with numpy instead of building a Python object
    per landmark (_ResultReader); on real frames, with two faces in some of them, both readings
    give the same faces, landmark for landmark and blendshape for blendshape."""
    import cv2

    from twitchcam.video.landmarks import Landmarker, _ResultReader

    assert _ResultReader().usable, "the locked MediaPipe no longer has the result layout read here"
    patient = cv2.VideoCapture(str(videos["WolfgangLanger_Pexels.mp4"]))
    other = cv2.VideoCapture(str(videos["WolfgangLanger_Pexels.mp4"]))
    frames = []
    for k in range(90):
        ok1, a = patient.read()
        ok2, b = other.read()
        assert ok1 and ok2
        if k >= 20:
            a = a.copy()
            a[:, 400:640] = b[:, 320:560]
        frames.append(cv2.cvtColor(a, cv2.COLOR_BGR2RGB))

    def faces(public: bool):
        with Landmarker(model, public_api=public) as lm:
            return [face for k, rgb in enumerate(frames)
                    for face in lm._faces("all", _image(rgb), 33 * k, 0, rgb)]  # every face found

    fast, public = faces(False), faces(True)
    assert len(fast) == len(public) > len(frames)  # some frames had two faces
    for a, b in zip(fast, public):
        assert np.array_equal(a.points, b.points)
        assert a.blendshapes == b.blendshapes and len(a.blendshapes) == 52
        assert a.blendshapes["eyeBlinkLeft"] >= 0.0


def _image(rgb):
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
