"""The wrong person, on real video (issue 17, item 11): the patient leaves, someone else sits
down; the patient leaves and comes back.  Real faces, the real model, OpenCV decoding."""
from __future__ import annotations

import subprocess
import sys

import cv2
import pytest

from twitchcam.store.reader import read_stored_session, read_summary

pytestmark = pytest.mark.slow
SIZE = (640, 360)


def clip(path, n: int, back_and_forth: bool = True) -> list:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, SIZE))
    cap.release()
    seq = frames + frames[::-1] if back_and_forth else frames
    return [seq[k % len(seq)] for k in range(n)]


def write(path, *parts) -> None:
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, SIZE)
    for part in parts:
        for f in part:
            out.write(f)
    out.release()


@pytest.fixture(scope="module")
def scenes(tmp_path_factory, videos):
    """8 s of the patient, 3 s of an empty room, then 8 s of someone else or of the patient."""
    d = tmp_path_factory.mktemp("identity")
    patient = clip(videos["single_face.mp4"], 240)
    room = clip(videos["no_face.mp4"], 90)
    write(d / "someone_else.mp4", patient, room, clip(videos["WolfgangLanger_Pexels.mp4"], 240, False))
    write(d / "comes_back.mp4", patient, room, patient[::-1])
    return d


def analyze(scenes, name: str, tmp_path, model, jobs: int = 1):
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "twitchcam", "analyze", str(scenes / f"{name}.mp4"), "--out",
                           str(out), "--model", str(model), "--jobs", str(jobs)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return read_stored_session(out), read_summary(out), proc.stderr


def reasons(session, start_s: float, end_s: float) -> set[str]:
    t = session.t
    return set(session.frames.df["reason"].to_numpy()[(t >= start_s) & (t < end_s)].tolist())


@pytest.mark.parametrize("jobs", [1, 2])  # 2: time chunks, whose workers send the signatures
def test_someone_else_after_the_patient_left_is_not_the_patient(scenes, tmp_path, model, jobs):
    session, summary, stderr = analyze(scenes, "someone_else", tmp_path, model, jobs)
    assert reasons(session, 0.0, 8.0) == {""}
    assert reasons(session, 11.0, 19.0) == {"other_person"}
    assert summary["other_person_frames"] == 240
    assert "someone else's face in 240 frames" in stderr
    assert summary["valid_frames"] == 240


def test_the_patient_coming_back_is_the_patient(scenes, tmp_path, model):
    session, summary, stderr = analyze(scenes, "comes_back", tmp_path, model)
    assert reasons(session, 11.0, 19.0) == {""}
    assert summary["other_person_frames"] == 0 and "someone else" not in stderr
