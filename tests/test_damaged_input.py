"""Damaged input gets one clear line, and damaged data is skipped and counted, never fatal
(issue 10, items 3, 4, 12, 13 and 14)."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from tests.test_cli import one_line_error, twitchcam
from twitchcam.errors import TwitchcamError
from twitchcam.video.source import FileSource, grab_skipping, retry_budget


def flipped_middle(data: bytes, n: int = 4096) -> bytes:
    """The issue's case: n bytes of the middle of the file flipped."""
    mid = len(data) // 2
    return data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + n]) + data[mid + n:]


# -- item 3: a damaged packet is skipped, not the end ---------------------------------------------
def test_grab_retries_a_gap_but_not_past_the_end():
    class Cap:
        def __init__(self, pattern):
            self.pattern = list(pattern)

        def grab(self):
            return self.pattern.pop(0) if self.pattern else False

    assert grab_skipping(Cap([True]), 3) == 0
    assert grab_skipping(Cap([False, False, True]), 10) == 2
    assert grab_skipping(Cap([False] * 50), 10) is None
    assert retry_budget(472, 226, 24.0) == 472 - 226 + 3  # what the container still promises
    assert retry_budget(472, 472, 24.0) == 3  # at the end: a few tries, not a long wait
    assert retry_budget(0, 0, 30.0) == 60  # no frame count: a short gap at most
    assert retry_budget(10 ** 8, 0, 30.0) == 900  # an absurd header: never more than 30 s of frames


def test_damaged_packet_is_skipped_and_decoding_goes_on_to_the_end(tmp_path, videos):
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(flipped_middle(videos["WolfgangLanger_Pexels.mp4"].read_bytes()))
    src = FileSource(damaged)
    frames = list(src.frames())
    assert len(frames) >= 460 and src.skipped >= 1 and src.gaps >= 1 and not src.truncated
    gap = [f for f in frames if f.skipped_before]
    assert sum(f.skipped_before for f in gap) == src.skipped and len(gap) == src.gaps
    assert frames[-1].index == len(frames) + src.skipped - 1  # frames are numbered as in the source
    assert all(b.t_s > a.t_s for a, b in zip(frames, frames[1:]))


def test_a_time_window_of_a_damaged_file_is_the_same_frames_as_the_whole_file(tmp_path, videos):
    """One decode loop: FileSource's time window (what a time chunk reads, by a seek or by
    decoding from the start) gives the whole file's frames in that window, with the same stamps
    and the same undecodable frames skipped before them."""
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(flipped_middle(videos["WolfgangLanger_Pexels.mp4"].read_bytes()))
    whole = [(f.t_s, f.skipped_before) for f in FileSource(damaged).frames()]
    at = next(k for k, (_, lost) in enumerate(whole) if lost)
    start, end = whole[at - 48][0], whole[at + 72][0]  # on frames: the window starts and ends there
    inside = [x for x in whole if start <= x[0] < end]
    exact = FileSource(damaged, start_s=start, end_s=end, seek=False)
    assert [(f.t_s, f.skipped_before) for f in exact.frames()] == inside and exact.window_ended
    seeked = FileSource(damaged, start_s=start, end_s=end)
    got = [(f.t_s, f.skipped_before) for f in seeked.frames()]
    assert [x for x in got if x[0] >= start] == inside  # a key frame before start may come too
    assert all(x in whole for x in got) and seeked.window_ended
    tail = FileSource(damaged, start_s=whole[-24][0], seek=False)
    assert [(f.t_s, f.skipped_before) for f in tail.frames()] == whole[-24:]
    assert not tail.window_ended  # the file's own end


@pytest.mark.slow
def test_analyze_counts_skipped_frames_in_frames_csv_summary_and_line(tmp_path, videos):
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(flipped_middle(videos["WolfgangLanger_Pexels.mp4"].read_bytes()))
    p = twitchcam("analyze", damaged, "--out", tmp_path / "s")
    assert p.returncode == 0, p.stderr
    line = one_line_error(p)
    assert p.stderr.count("\n") == 1 and "undecodable frame" in line and "skipped in 1 gap" in line
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["frames"] >= 460
    assert summary["lost_frames"] >= 1 and summary["gaps"] == 1
    import pandas as pd

    df = pd.read_csv(tmp_path / "s" / "frames.csv")
    assert df["dropped"].sum() == summary["lost_frames"]
    d = twitchcam("detect", tmp_path / "s")
    assert d.returncode == 0, d.stderr
    redone = json.loads((tmp_path / "s" / "detect" / "summary.json").read_text())
    assert (redone["lost_frames"], redone["gaps"], redone["frames"]) == (summary["lost_frames"], 1, summary["frames"])


# -- item 4: damaged rows of frames.csv --------------------------------------------------------------
@pytest.mark.slow
def test_detect_skips_damaged_rows_counts_them_and_treats_them_as_invalid(tmp_path, analyzed_wolfgang):
    folder = tmp_path / "s"
    shutil.copytree(analyzed_wolfgang[0], folder)
    summary = analyzed_wolfgang[1]
    lines = (folder / "frames.csv").read_bytes().split(b"\r\n")
    assert len(lines) >= 473 and lines[350].count(b",") == lines[0].count(b",")
    were_valid = sum(int(lines[k].split(b",")[2]) for k in (100, 200, 350))
    lines[100] = lines[100][:40]  # a row cut short
    lines[350] = lines[350].replace(b"0.", b"0\xff.", 3)  # damaged bytes in numbers (the "row 599")
    lines[200] = lines[200] + b",1,2"  # cells too many
    (folder / "frames.csv").write_bytes(b"\r\n".join(lines))
    p = twitchcam("detect", folder)
    assert p.returncode == 0, p.stderr
    assert "3 damaged rows skipped" in one_line_error(p) and p.stderr.count("\n") == 1
    redone = json.loads((folder / "detect" / "summary.json").read_text())
    assert redone["bad_rows"] == 3
    assert redone["frames"] == summary["frames"]  # put back as frames...
    assert redone["valid_frames"] == summary["valid_frames"] - were_valid  # ...that are invalid
    assert abs(redone["valid_s"] - summary["valid_s"]) < 4 / 23.976
    assert redone["duration_s"] == summary["duration_s"]
    r = twitchcam("report", folder, "--out", tmp_path / "r.html")
    assert r.returncode == 0, r.stderr


# -- item 12: a file name that is not UTF-8 -------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX file names are bytes")
def test_non_utf8_file_name_is_analysed_alone_and_in_a_batch(tmp_path, videos):
    folder = tmp_path / "in"
    folder.mkdir()
    weird = os.path.join(os.fsencode(folder), b"caf\xe9.mp4")
    shutil.copy(videos["single_face.mp4"], weird)
    shutil.copy(videos["no_face.mp4"], folder / "plain.mp4")
    rec = tmp_path / "rec"
    p = twitchcam("analyze", os.fsdecode(weird), "--recordings", rec)
    assert p.returncode == 0, p.stderr
    (session,) = rec.iterdir()
    assert os.fsencode(session.name) == b"caf\xe9"
    assert json.loads((session / "summary.json").read_text())["frames"] == 72
    for argv in (["report", rec, "--out", tmp_path / "r.html"], ["sessions", "--recordings", rec], ["detect", session]):
        p = twitchcam(*argv)
        assert p.returncode == 0 and "caf" in p.stdout + (tmp_path / "r.html").read_text(errors="replace"), (
            argv, p.stderr)
    p = twitchcam("analyze", folder, "--jobs", "2", "--out", tmp_path / "batch", "--batch-csv", tmp_path / "b.csv")
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("complete") >= 2 and "2 files: 2 complete" in p.stdout
    assert (tmp_path / "b.csv").read_text().count("\n") == 3


# -- item 13: still images ------------------------------------------------------------------------------
def test_still_images_are_not_videos(tmp_path):
    import cv2

    img = (np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "photo.png"), img)
    cv2.imwrite(str(tmp_path / "photo.jpg"), img)
    cv2.imwrite(str(tmp_path / "photo.ppm"), img)
    shutil.copy(tmp_path / "photo.png", tmp_path / "renamed.mp4")
    shutil.copy(tmp_path / "photo.jpg", tmp_path / "renamed.avi")
    for name in ("photo.png", "photo.jpg", "photo.ppm", "renamed.mp4", "renamed.avi"):
        with pytest.raises(TwitchcamError, match="is an image.*not a video"):
            FileSource(tmp_path / name)
    p = twitchcam("analyze", tmp_path / "renamed.mp4", "--out", tmp_path / "s")
    assert p.returncode == 2 and "is an image (PNG), not a video" in one_line_error(p)
    assert p.stderr.count("\n") == 1 and not (tmp_path / "s").exists()


def test_a_one_frame_video_is_still_a_video(tmp_path):
    import cv2

    w = cv2.VideoWriter(str(tmp_path / "one.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (80, 60))
    w.write(np.zeros((60, 80, 3), np.uint8))
    w.release()
    assert len(list(FileSource(tmp_path / "one.avi").frames())) == 1


# -- item 14 ------------------------------------------------------------------------------------------------
def test_no_opencv_warnings_besides_the_one_line_even_if_asked_for(tmp_path, videos):
    head = tmp_path / "head.mp4"
    head.write_bytes(videos["single_face.mp4"].read_bytes()[:3000])  # no moov atom: OpenCV warns
    p = twitchcam("analyze", head, "--out", tmp_path / "s", env={"OPENCV_LOG_LEVEL": "WARNING"})
    assert p.returncode == 2 and "not a video" in one_line_error(p)
    assert p.stderr.count("\n") == 1, p.stderr


def test_bad_shard_is_one_line_not_the_usage(tmp_path):
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(b"never opened")
    for shard in ("-1/3", "3/3", "x"):
        p = twitchcam("analyze", tmp_path, "--jobs", "2", "--shard", shard, "--out", tmp_path / "out")
        assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
        assert "usage:" not in p.stderr and f"--shard {shard!r}" in one_line_error(p)
    p = twitchcam("analyze")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "required: videos" in p.stderr


def test_treatment_dates_must_be_past_and_plausible(tmp_path):
    import datetime as dt

    for date in ("9999-12-31", (dt.date.today() + dt.timedelta(days=3)).isoformat(), "1850-01-01"):
        p = twitchcam("treatment", "add", date, "--side", "left", "--recordings", tmp_path)
        assert p.returncode == 2 and date in one_line_error(p), p.stderr
    assert not (tmp_path / "treatments.csv").exists()
    p = twitchcam("treatment", "add", dt.date.today().isoformat(), "--side", "left", "--recordings", tmp_path)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("bad", [{"order": -1}, {"order": "2"}, {"order": 2.5}, {"lowpass_hz": "x"},
                                 {"lowpass_hz": float("nan")}, {"lowpass_hz": 1e-300}])
def test_damaged_filter_settings_in_session_json_are_one_line(tmp_path, bad):
    """Before: 'internal error' and exit 70 (only a parameter of another version was caught)."""
    import json

    from tests.test_cli import twitchcam
    from twitchcam import api

    folder = api.detect(api.simulate(20.0, seed=1)).save(tmp_path / "s")
    meta = json.loads((folder / "session.json").read_text())
    meta["params"]["filters"].update(bad)
    (folder / "session.json").write_text(json.dumps(meta))
    p = twitchcam("detect", folder)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.startswith("twitchcam: error: ") and "session parameters are damaged" in p.stderr
    assert p.stderr.count("\n") == 1
