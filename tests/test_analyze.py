"""End to end on real video: analyze writes the session contract; detect reproduces its events."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from twitchcam.run.analyze import analyze_file
from twitchcam.run.detect import redetect
from twitchcam.store.reader import read_events, read_stored_session
from twitchcam.store.session import FRAME_COLUMNS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session(analyzed_wolfgang):
    return analyzed_wolfgang


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


# What may differ between an analyze summary and a detect summary of the same session.
PROVENANCE = {"redetected_from", "status", "ended_at"}


@pytest.fixture(scope="module")
def injected(tmp_path_factory, single_face_clip):
    """A real face with one-sided spasms injected, so there are spasms to compare (the clip
    tests/data/real/injected.* was recorded from)."""
    from twitchcam.synth import inject as si

    out = tmp_path_factory.mktemp("injected")
    clip = single_face_clip
    rng = np.random.default_rng(3)
    events = [si.make_event(rng, 3.0, "left", "clonic", 1.0), si.make_event(rng, 7.0, "right", "tonic", 1.0),
              si.make_event(rng, 11.5, "left", "clonic", 0.8, mouth=True)]
    si.inject_video(clip, out / "inj.avi", out / "inj_truth.csv", events, duration_s=15.0)
    return out / "inj.avi"


@pytest.mark.parametrize("name", ["injected", "WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov",
                                  "noface_face.mov", "no_face.mp4"])
def test_detect_reproduces_analyze_exactly_on_every_real_video(name, session, injected, videos, model, tmp_path):
    if name == "WolfgangLanger_Pexels.mp4":
        folder, summary = session
    else:  # the short clips played back and forth to 20 s, long enough to calibrate and blink
        from twitchcam.synth.inject import write_pingpong

        video = injected
        if name != "injected":
            video = tmp_path / f"{name}.avi"
            write_pingpong(videos[name], video, 20.0)
        folder = tmp_path / "a"
        summary = analyze_file(video, folder, model, show_progress=False)
    redone = redetect(folder, tmp_path / "d", lambda p: p)
    analysed, detected = read_events(folder), read_events(tmp_path / "d")
    if name == "no_face.mp4":
        assert summary["no_face"] and analysed == []
    else:
        assert analysed, "nothing to compare: the video produced no events"
    if name == "injected":
        assert {e.side for e in analysed} >= {"left", "right"}
    assert [e.key() for e in analysed] == [e.key() for e in detected]
    same = {k for k in summary if k not in PROVENANCE}
    assert {k: redone.get(k) for k in same} == {k: summary[k] for k in same}


def test_analysis_in_three_threads_equals_the_plain_loop(injected, model):
    """run_file (decoding, landmarks, and the rest each in a thread of its own) gives exactly
    the plain one-thread loop's frames and events, as live monitoring runs it."""
    from twitchcam.core.stream import PipelineParams
    from twitchcam.run.analyze import run_file
    from twitchcam.video.landmarks import Landmarker
    from twitchcam.video.pipeline import Pipeline
    from twitchcam.video.source import FileSource

    video = injected

    class Rows:
        def __init__(self):
            self.rows, self.got = [], []

        def frame(self, index, t_s, valid, reason, pose, raw, filt, closure, dropped=0):
            self.rows.append((index, t_s, valid, reason, *raw, *filt))

        def events(self, events):
            self.got.extend(e.key() for e in events)

        def close(self, status, summary, **extra):
            pass

    source = FileSource(video)
    with Landmarker(model) as lm:
        pipeline = Pipeline(lm, source.fps)
        plain = [pipeline.process(f) for f in source.frames()]
        plain_events = [e.key() for r in plain for e in r.events] + [e.key() for e in pipeline.chain.finish(
            plain[-1].t_s + 1.0 / source.fps)]
    threaded = Rows()
    with Landmarker(model) as lm:
        run_file(FileSource(video), lm, lambda: threaded, {}, PipelineParams(), False)
    assert len(threaded.rows) == len(plain) > 300
    assert len(plain_events) >= 3
    assert [r[:4] for r in threaded.rows] == [(r.index, r.t_s, r.valid, r.reason) for r in plain]
    assert np.array_equal(np.array([r[4:] for r in threaded.rows], dtype=float),
                          np.array([[*r.raw, *r.filt] for r in plain], dtype=float), equal_nan=True)
    assert threaded.got == plain_events


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
    a, b = read_stored_session(tmp_path / "a"), read_stored_session(tmp_path / "b")
    from twitchcam.core.features import FEATURE_COLUMNS

    eye = [FEATURE_COLUMNS.index("eye_open_left"), FEATURE_COLUMNS.index("eye_open_right")]
    # Same patient sides after un-mirroring (MJPG re-encoding adds a little noise).
    assert np.nanmedian(np.abs(a.raw[:, eye] - b.raw[:, eye])) < 0.01
    c = read_stored_session(tmp_path / "a")
    analyze_file(mirrored, tmp_path / "c", model, mirrored=False, show_progress=False)
    c = read_stored_session(tmp_path / "c")
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
    alone, two = read_stored_session(tmp_path / "alone"), read_stored_session(tmp_path / "two")
    n = min(len(alone.t), len(two.t))
    assert two.valid[:n].mean() > 0.9
    assert np.nanmedian(np.abs(alone.raw[:n, 0] - two.raw[:n, 0])) < 0.02
