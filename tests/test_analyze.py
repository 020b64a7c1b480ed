"""End to end on real video: analyze writes the session contract; detect reproduces its events."""
from __future__ import annotations

import csv
import json

import pytest

from twitchcam.analyze import analyze_file
from twitchcam.redetect import redetect
from twitchcam.session import FRAME_COLUMNS, read_events, read_session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session(tmp_path_factory, videos, model):
    folder = tmp_path_factory.mktemp("analyze") / "wl"
    summary = analyze_file(videos["WolfgangLanger_Pexels.mp4"], folder, model, show_progress=False)
    return folder, summary


def test_session_folder_contract(session):
    folder, summary = session
    meta = json.loads((folder / "session.json").read_text())
    assert meta["status"] == "complete" and meta["mode"] == "analyze"
    with open(folder / "frames.csv") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == FRAME_COLUMNS
    assert len(rows) - 1 == summary["frames"] == 472
    times = [float(r[1]) for r in rows[1:]]
    assert all(b > a for a, b in zip(times, times[1:]))  # decoder timestamps, strictly increasing
    assert abs(times[1] - 1 / 23.976) < 1e-3
    for key in ("duration_s", "valid_s", "spasms", "blinks", "affected_side", "params", "model_sha256", "versions"):
        assert key in summary
    for side in ("left", "right"):
        assert set(summary["spasms"][side]) >= {"count", "per_min", "clonic", "tonic", "mean_duration_s",
                                                "closed_fraction", "with_mouth"}


def test_detect_reproduces_analyze_exactly(session, tmp_path):
    folder, summary = session
    redone = redetect(folder, tmp_path / "d", lambda p: p)
    assert sorted(e.key() for e in read_events(folder)) == sorted(e.key() for e in read_events(tmp_path / "d"))
    assert redone["spasms"] == summary["spasms"] and redone["blinks"] == summary["blinks"]


def test_detect_with_changed_parameters_changes_the_result(session, tmp_path):
    import dataclasses
    folder, summary = session
    assert summary["blinks"]["count"] > 0
    strict = redetect(folder, tmp_path / "d", lambda p: dataclasses.replace(p, blink_on=5.0, spasm_on=5.0))
    assert strict["blinks"]["count"] == 0
    assert json.loads((tmp_path / "d" / "params.json").read_text())["detector"]["blink_on"] == 5.0


def test_mirrored_recording_swaps_the_patient_sides(tmp_path, videos, model):
    import cv2
    import numpy as np
    src = videos["single_face.mp4"]
    cap = cv2.VideoCapture(str(src))
    mirrored = tmp_path / "selfie.avi"
    out = cv2.VideoWriter(str(mirrored), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 360))
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.write(cv2.flip(frame, 1))
    out.release()
    analyze_file(src, tmp_path / "a", model, show_progress=False)
    analyze_file(mirrored, tmp_path / "b", model, mirrored=True, show_progress=False)
    a, b = read_session(tmp_path / "a"), read_session(tmp_path / "b")
    eye = [FRAME_COLUMNS.index("raw_eye_open_left") - 7, FRAME_COLUMNS.index("raw_eye_open_right") - 7]
    # Same patient sides after un-mirroring (MJPG re-encoding adds a little noise).
    assert np.nanmedian(np.abs(a.raw[:, eye] - b.raw[:, eye])) < 0.01
    c = read_session(tmp_path / "a")
    analyze_file(mirrored, tmp_path / "c", model, mirrored=False, show_progress=False)
    c = read_session(tmp_path / "c")
    swapped = np.nanmedian(np.abs(a.raw[:, eye] - c.raw[:, eye[::-1]]))
    assert swapped < 0.01


def test_second_person_does_not_replace_the_patient(tmp_path, videos, model):
    """Paste a smaller copy of another face beside the patient: the patient's track is kept."""
    import cv2
    import numpy as np
    man = cv2.VideoCapture(str(videos["single_face.mp4"]))
    woman = cv2.VideoCapture(str(videos["WolfgangLanger_Pexels.mp4"]))
    path = tmp_path / "two.avi"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 360))
    while True:
        ok1, a = man.read()
        ok2, b = woman.read()
        if not (ok1 and ok2):
            break
        small = cv2.resize(b, (240, 135))
        a[225:360, 400:640] = small  # a second, smaller face in the corner
        out.write(a)
    out.release()
    analyze_file(videos["single_face.mp4"], tmp_path / "alone", model, show_progress=False)
    analyze_file(path, tmp_path / "two", model, show_progress=False)
    alone, two = read_session(tmp_path / "alone"), read_session(tmp_path / "two")
    n = min(len(alone.t), len(two.t))
    assert two.valid[:n].mean() > 0.9
    assert np.nanmedian(np.abs(alone.raw[:n, 0] - two.raw[:n, 0])) < 0.02
