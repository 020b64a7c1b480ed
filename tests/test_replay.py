"""Real faces in the fast tier: feature sessions recorded once from real clips (tests/data/real/,
made by tests/record_real.py) replayed through the signal chain, the API, `twitchcam detect`,
`sessions` and `report`, and held against what `twitchcam analyze` found when they were recorded.

No MediaPipe and no video: everything after the landmarker is pure and deterministic, so the
same inputs must give the same frames, events and summary.  Floats are compared to 6 decimals
(closures to 1e-9): a filter rewritten with other rounding passes, a frame's difference fails.
"""
from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter

import numpy as np
import pytest

import twitchcam
from tests import replay
from tests.test_cli import twitchcam as run_command
from tests.test_report import assert_report_equals_summaries
from twitchcam.cli.main import main
from twitchcam.core.features import FrameFeatures
from twitchcam.core.stream import SignalChain, detect_features
from twitchcam.store.reader import read_event_rows
from twitchcam.store.session import FRAME_COLUMNS

# What analyze found in each clip when it was recorded, as a person would check it: events by
# side and kind, the affected side.  (A re-recording that finds something else fails here.)
EXPECTED = {
    # a woman talking, no spasms: her three blinks, nothing one-sided
    "wolfgang": ({"both blink": 3}, None),
    # three injected spasms: left clonic at 3.0 s, right tonic at 7.0 s, left clonic with the
    # mouth at 11.5 s; six natural blinks (two of three spasms on the left: no affected side)
    "injected": ({"both blink": 6, "left clonic": 2, "right tonic": 1}, None),
    # the sample of `twitchcam demo`: nine left spasms injected between natural blinks; the weak
    # (0.55) clonic train at 22.4 s is missed
    "demo": ({"both blink": 17, "left tonic": 5, "left clonic": 3}, "left"),
    # the face leaves the picture after a blink (and its last glimpse, one frame, is taken for
    # someone else's)
    "face_noface": ({"both blink": 1}, None),
    # a small talking face, no spasms: two blinks.  At 3.7 s both lids close partway together
    # (0.33 and 0.48 for two frames, under the blink level): an incomplete blink with the right lid
    # a little deeper, once counted as a right 'clonic' twitch
    "carphone": ({"both blink": 2}, None),
    "no_face": ({}, None),
}


@pytest.fixture(params=replay.NAMES)
def rec(request) -> replay.Recording:
    return replay.load(request.param)


def kinds(events) -> dict:
    return dict(Counter(f"{e[2]} {e[3]}" for e in events))


def assert_same_closure(got: np.ndarray, rec: replay.Recording) -> None:
    want = rec.frames[["closure_left", "closure_right"]].to_numpy(np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), rtol=0, atol=1e-9)


# -- the recordings themselves ----------------------------------------------------------------------
def test_every_clip_is_recorded_and_expected():
    assert set(replay.NAMES) == set(EXPECTED)


def test_a_recording_is_small_and_says_where_it_came_from(rec):
    from twitchcam.synth.videos import VIDEOS
    from twitchcam.video.model import MODEL_SHA256

    path = replay.csv_path(rec.name)
    assert path.stat().st_size < 256 * 1024
    assert rec.about["video_sha256"] == VIDEOS[rec.about["video"]]
    assert rec.about["model_sha256"] == MODEL_SHA256, "another landmark model: record the clips again"
    with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as f:
        header = f.readline().strip().split(",")
    assert header == [c for c in FRAME_COLUMNS if not c.startswith("filt_")]
    assert len(rec.frames) == rec.summary["frames"] > 90
    assert (np.diff(rec.frames["t_s"]) > 0).all()


def test_analyze_found_what_a_person_expects(rec):
    counts, affected = EXPECTED[rec.name]
    assert kinds(rec.events()) == counts
    assert rec.summary["affected_side"] == affected
    assert rec.summary["blinks"]["count"] == counts.get("both blink", 0)
    assert rec.summary["no_face"] == (rec.name == "no_face")
    assert rec.summary["valid_frames"] == int(rec.frames["valid"].sum())
    if rec.name == "face_noface":
        assert 0 < rec.summary["valid_frames"] < rec.summary["frames"]
        assert set(rec.frames["reason"]) >= {"", "no_face"}
        assert rec.summary["other_person_frames"] == (rec.frames["reason"] == "other_person").sum() == 0


@pytest.mark.parametrize("name, missed", [("injected", []), ("demo", [22.3667])])
def test_the_injected_spasms_are_found_on_their_own_side(name, missed):
    rec = replay.load(name)
    found = [e for e in rec.events() if e[2] != "both"]
    truth = rec.about["injected"]["truth"]
    for t in truth:
        mine = [e for e in found if e[0] <= t["offset_s"] and t["onset_s"] <= e[1]]
        if t["onset_s"] in missed:
            assert not mine
            continue
        assert mine and {e[2] for e in mine} == {t["side"]}, (t, found)
        assert abs(mine[0][0] - t["onset_s"]) < 0.25  # dated back to where the lid began to move
        assert all(e[3] == t["kind"] for e in mine)
    # nothing one-sided where nothing was injected
    assert all(any(e[0] <= t["offset_s"] and t["onset_s"] <= e[1] for t in truth) for e in found)


# -- replayed ---------------------------------------------------------------------------------------
def test_frame_by_frame_replay_equals_the_recorded_analysis(rec):
    """SignalChain.process one frame at a time, as analyze and live feed it."""
    t, pose, raw = replay.chain_inputs(rec)
    chain = SignalChain(rec.fps, rec.params())
    events, valid, reasons, closure = [], [], [], []
    for k, frame in enumerate(rec.frames["frame"].tolist()):
        r = chain.process(frame, float(t[k]), FrameFeatures(bool(np.isfinite(pose[k, 0])), tuple(pose[k]), raw[k]))
        events += r.events
        valid.append(r.valid)
        reasons.append(r.reason)
        closure.append(r.closure)
    events += chain.finish(float(t[-1]) + 1.0 / rec.fps)
    assert [replay.event_fields(e) for e in events] == rec.events()
    assert valid == (rec.frames["valid"] > 0).tolist() and reasons == replay.chain_reasons(rec)
    assert_same_closure(np.array(closure, dtype=np.float64), rec)


def test_whole_recording_replay_equals_the_recorded_analysis(rec):
    """detect_features: the whole recording at once, as `twitchcam detect` runs it."""
    found = detect_features(*replay.chain_inputs(rec), rec.fps, rec.params())
    assert [replay.event_fields(e) for e in found.events] == rec.events()
    assert found.valid.tolist() == (rec.frames["valid"] > 0).tolist() and found.reason == replay.chain_reasons(rec)
    assert_same_closure(found.closure, rec)


def test_the_api_detect_equals_the_recorded_analysis(rec):
    result = twitchcam.detect(rec.result())
    assert replay.frame_event_fields(result.events) == rec.events()
    assert replay.findings(result.summary) == replay.findings(rec.summary)
    assert_same_closure(result.frames[["closure_left", "closure_right"]].to_numpy(np.float64), rec)
    assert list(result.events.columns[:2]) == ["onset", "duration"]


def test_a_stored_session_reads_back_bit_for_bit(rec, recorded_sessions):
    back = twitchcam.read_session(recorded_sessions[rec.name])
    inputs = ["frame", "t_s", "dropped", "yaw", "pitch", "roll", "face_px"] + [c for c in FRAME_COLUMNS
                                                                               if c.startswith("raw_")]
    assert np.array_equal(back.frames[inputs].to_numpy(np.float64), rec.frames[inputs].to_numpy(np.float64),
                          equal_nan=True)
    assert replay.frame_event_fields(back.events) == rec.events()
    assert replay.findings(back.summary) == replay.findings(rec.summary)
    assert back.meta["status"] == "complete" and back.fps == rec.fps


def test_twitchcam_detect_on_a_session_folder_equals_the_recorded_analysis(rec, recorded_sessions, tmp_path,
                                                                          capsys):
    folder = recorded_sessions[rec.name]
    assert main(["detect", str(folder), "--out", str(tmp_path / "d")]) == 0
    assert folder.name in capsys.readouterr().out
    events, bad = read_event_rows(tmp_path / "d" / "events.csv")
    assert bad == 0 and [replay.event_fields(e) for e in events] == rec.events()
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert replay.findings(summary) == replay.findings(rec.summary)
    assert summary["redetected_from"] == rec.name and summary["bad_rows"] == 0


def test_the_real_command_detects_again(recorded_sessions, tmp_path):
    folder = tmp_path / "injected"
    shutil.copytree(recorded_sessions["injected"], folder)
    p = run_command("detect", folder)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert "injected" in p.stdout and (folder / "detect" / "summary.json").is_file()
    events, _ = read_event_rows(folder / "detect" / "events.csv")
    assert [replay.event_fields(e) for e in events] == replay.load("injected").events()


def test_a_bad_value_for_a_real_session_is_one_line_before_anything_is_made(recorded_sessions, tmp_path, capsys):
    folder = tmp_path / "injected"
    shutil.copytree(recorded_sessions["injected"], folder)
    assert main(["detect", str(folder), "--spasm-on", "nan"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twitchcam: error: --spasm-on") and len(err.splitlines()) == 1
    assert not (folder / "detect").exists()


def test_detector_options_change_what_is_found_in_a_real_face(recorded_sessions, tmp_path):
    folder = recorded_sessions["injected"]
    assert main(["detect", str(folder), "--out", str(tmp_path / "none"), "--spasm-on", "5", "--blink-on", "5"]) == 0
    none = json.loads((tmp_path / "none" / "summary.json").read_text())
    assert none["spasms"]["left"]["count"] == none["spasms"]["right"]["count"] == none["blinks"]["count"] == 0
    params = json.loads((tmp_path / "none" / "params.json").read_text())["detector"]
    assert params["spasm_on"] == params["blink_on"] == 5.0
    # a shorter gap splits the left trains into their twitches; a longer hold makes the tonic clonic
    assert main(["detect", str(folder), "--out", str(tmp_path / "split"), "--merge-gap-s", "0.05",
                 "--tonic-s", "5"]) == 0
    split = json.loads((tmp_path / "split" / "summary.json").read_text())["spasms"]
    assert split["left"]["count"] > replay.load("injected").summary["spasms"]["left"]["count"] == 2
    assert (split["right"]["count"], split["right"]["clonic"], split["right"]["tonic"]) == (1, 1, 0)


def test_sessions_lists_every_recorded_session(recorded_sessions, capsys):
    root = next(iter(recorded_sessions.values())).parent
    assert main(["sessions", "--recordings", str(root)]) == 0
    out = capsys.readouterr().out
    lines = {ln.rsplit(None, 1)[-1]: ln for ln in out.splitlines() if ln.split() and ln.rsplit(None, 1)[-1]
             in recorded_sessions}
    assert set(lines) == set(recorded_sessions)
    assert "8.00" in lines["injected"].split() and "4.00" in lines["injected"].split()  # 2 left, 1 right in 15 s
    assert "left" in lines["demo"].split() and "none" in lines["wolfgang"].split()
    assert "no face" in lines["no_face"]
    assert f"{len(recorded_sessions)} session(s)" in out


@pytest.mark.parametrize("name", ["injected", "no_face"])
def test_a_report_of_a_real_session_shows_its_summary(name, recorded_sessions, tmp_path, capsys):
    folder = recorded_sessions[name]
    assert main(["report", str(folder), "--out", str(tmp_path / "r.html")]) == 0
    doc = (tmp_path / "r.html").read_text()
    assert assert_report_equals_summaries(doc, [folder]) >= (4 if name == "no_face" else 20)
    if name == "no_face":
        assert "no face" in doc.lower()


def test_a_report_of_every_recorded_session(recorded_sessions, tmp_path, capsys):
    root = next(iter(recorded_sessions.values())).parent
    assert main(["report", str(root), "--out", str(tmp_path / "all.html")]) == 0
    assert f"({len(recorded_sessions)} session(s)" in capsys.readouterr().out
    doc = (tmp_path / "all.html").read_text()
    assert assert_report_equals_summaries(doc, list(recorded_sessions.values())) > 10
    assert "Not included" not in doc


@pytest.mark.parametrize("how", ["twitchcam detect", "twitchcam.detect"])
def test_detect_keeps_the_frames_analyze_found_to_be_someone_elses(how, recorded_sessions, tmp_path, capsys):
    """Someone else's face is judged from its appearance, which frames.csv does not keep: detecting
    again from the stored frames (here face_noface's, its last five faces marked as analyze marks
    someone else's: no features, reason other_person) says so too, in frames and summary."""
    import pandas as pd

    folder = tmp_path / "s"
    shutil.copytree(recorded_sessions["face_noface"], folder)
    frames = pd.read_csv(folder / "frames.csv", dtype={"reason": str}, keep_default_na=False, na_values=["nan"])
    last = frames.index[frames["valid"] == 1][-5:]
    kept = ["frame", "t_s", "valid", "reason", "dropped"]
    frames.loc[last, [c for c in frames.columns if c not in kept]] = np.nan
    frames.loc[last, ["valid", "reason"]] = [0, "other_person"]
    frames.to_csv(folder / "frames.csv", index=False, na_rep="nan", float_format="%.17g")
    if how == "twitchcam detect":
        assert main(["detect", str(folder), "--out", str(tmp_path / "d")]) == 0
        summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    else:
        again = twitchcam.detect(folder)
        summary = again.summary
        assert again.frames["reason"].tolist() == frames["reason"].tolist()
    assert summary["other_person_frames"] == 5 and summary["valid_frames"] == int(frames["valid"].sum())


def test_damaged_rows_of_a_real_session_are_invalid_frames_not_lost_events(recorded_sessions, tmp_path, capsys):
    """Rows cut in the middle of frames.csv: `detect` counts them, treats them as frames without a
    face, and finds the events before them as analyze did."""
    folder = tmp_path / "injected"
    shutil.copytree(recorded_sessions["injected"], folder)
    lines = (folder / "frames.csv").read_text().splitlines(keepends=True)
    cut = range(360, 366)  # 12.0-12.2 s, after the last injected spasm
    for k in cut:
        lines[k] = lines[k][:len(lines[k]) // 3] + "\n"
    (folder / "frames.csv").write_text("".join(lines))
    assert main(["detect", str(folder)]) == 0
    assert "6 damaged rows skipped" in capsys.readouterr().err
    summary = json.loads((folder / "detect" / "summary.json").read_text())
    rec = replay.load("injected")
    assert summary["bad_rows"] == 6 and summary["frames"] == rec.summary["frames"]
    assert summary["valid_frames"] == rec.summary["valid_frames"] - 6
    events, _ = read_event_rows(folder / "detect" / "events.csv")
    before = [e for e in rec.events() if e[1] < 11.9]
    assert [replay.event_fields(e) for e in events][:len(before)] == before
