"""Nothing lost, round two (issue 17): names that would leave the recordings folder, stream
credentials, JSON nested or sized to break a reader, values no database stores."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.test_cli import twitchcam, twitchcam_here
from tests.test_session_safety import fake_session
from twitchcam.core.summary import finite
from twitchcam.errors import TwitchcamError
from twitchcam.store.index import read_row
from twitchcam.store.paths import MAX_NAME_BYTES, output_folders, redacted_source, safe_stem
from twitchcam.store.reader import read_json, read_json_or_none


@pytest.mark.parametrize("name,stem", [("...mp4", "video"), ("..mp4", "video"), (".hidden.mp4", "hidden"),
                                       ("-rf.mp4", "rf"), ("a\nb\x1b[2J.mp4", "a_b_[2J"), ("clip.mp4", "clip"),
                                       ("a\\b.mp4", "a_b")])
def test_a_video_name_gives_a_plain_folder_name(name, stem):
    assert safe_stem(name) == stem


def test_every_session_folder_is_a_new_child_of_the_recordings_folder(tmp_path):
    root = tmp_path / "rec"
    (root / "..").mkdir(parents=True, exist_ok=True)
    names = ["...mp4", "..mp4", "-x.mp4", "a" * 250 + ".mp4", "a" * 249 + "b.mp4", "é" * 200 + ".mp4"]
    folders = output_folders([tmp_path / n for n in names], root)
    assert all(f.parent == root and f.name not in (".", "..") for f in folders), folders
    assert len(set(folders)) == len(folders)
    assert all(len(f.name.encode()) <= MAX_NAME_BYTES for f in folders)
    for f in folders:
        f.mkdir()  # a file system takes each (ENAMETOOLONG before)


def test_a_dotted_video_name_is_analysed_into_its_own_folder(tmp_path, videos):
    """`...mp4` has the stem '..': its session went to recordings/.., replacing a summary.json
    of the user's there."""
    rec = tmp_path / "rec"
    rec.mkdir()
    mine = tmp_path / "summary.json"
    mine.write_text("mine")
    video = tmp_path / "...mp4"
    shutil.copy(videos["no_face.mp4"], video)
    p = twitchcam("analyze", video, env={"TWITCHCAM_RECORDINGS": str(rec)})
    assert p.returncode == 0, p.stderr
    assert mine.read_text() == "mine"
    assert (rec / "video" / "summary.json").is_file()


@pytest.mark.parametrize("url,shown", [
    ("http://alice:pw@cam.local:8080/stream.mjpg?token=T#x", "http://cam.local:8080/stream.mjpg"),
    ("rtsp://bob:secret@[::1]:554/live", "rtsp://[::1]:554/live"),
    ("http://127.0.0.1/video", "http://127.0.0.1/video"),
    ("/home/me/clip.mp4", "/home/me/clip.mp4"), ("0", "0"), ("C:\\v\\clip.mp4", "C:\\v\\clip.mp4")])
def test_a_stream_url_is_stored_without_its_credentials(url, shown):
    assert redacted_source(url) == shown


def test_a_report_of_an_older_session_shows_no_stream_password(tmp_path):
    s = fake_session(tmp_path / "rec" / "s", mode="live")
    meta = json.loads((s / "session.json").read_text())
    meta["source"] = "http://alice:pw@cam/x?token=T"
    (s / "session.json").write_text(json.dumps(meta))
    summary = json.loads((s / "summary.json").read_text())
    (s / "summary.json").write_text(json.dumps({**summary, "source": meta["source"]}))
    out = tmp_path / "r.html"
    p = twitchcam("report", s, "--out", out)
    assert p.returncode == 0, p.stderr
    html = out.read_text()
    assert "pw" not in html.replace("pwa", "") and "token=T" not in html and "alice" not in html


def test_json_nested_100000_deep_is_a_damaged_file_not_a_crash(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TwitchcamError, match="nested"):
        read_json(path)
    assert read_json_or_none(path) is None


def test_values_no_database_stores_leave_the_session_listed(tmp_path, capsys):
    s = fake_session(tmp_path / "s", mode=[])
    (s / "summary.json").write_text(json.dumps({"status": "complete", "duration_s": 1e300, "valid_s": 1.0,
                                                 "spasms": {"left": {"count": 1e300}, "right": {"count": 10 ** 400}},
                                                 "model_sha256": 5}))
    row = read_row(s)
    assert row.left_count is None and row.right_count is None and row.mode is None and "damaged" in row.problem
    assert finite(10 ** 400) is None
    good = fake_session(tmp_path / "t")
    p = twitchcam_here(capsys, "sessions", "--recordings", tmp_path)
    assert p.returncode == 0 and "damaged" in p.stdout and "2 session(s)" in p.stdout, p.stderr
    p = twitchcam_here(capsys, "report", s, "--out", tmp_path / "r.html")
    assert p.returncode == 2 and "damaged" in p.stderr and "Traceback" not in p.stderr
    p = twitchcam_here(capsys, "report", s, good, "--out", tmp_path / "r.html")  # the other session is still reported
    assert p.returncode == 0 and "1 skipped" in p.stdout, p.stderr


@pytest.mark.parametrize("bad", [{"duration_s": 1e300}, {"spasms": {"left": {"count": 1e300}}}, {"model_sha256": 5},
                                 {"valid_s": -1}, {"fps": "abc"}])
def test_out_of_range_summary_values_are_a_damaged_summary(tmp_path, bad):
    from twitchcam.store.reader import read_summary_file

    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"status": "complete", "duration_s": 60.0, **bad}))
    with pytest.raises(TwitchcamError, match="damaged summary"):
        read_summary_file(path)


# -- links inside a session folder are never written through (item 2) ---------------------------
def _links(folder: Path, outside: Path, names) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    targets = {}
    for name in names:
        target = outside / f"precious-{name}"
        target.write_text("mine")
        (folder / name).symlink_to(target)
        targets[name] = target
    return targets


def test_a_new_session_writes_no_file_through_a_link(tmp_path):
    from twitchcam.store.writer import SessionWriter

    outside = tmp_path / "home"
    outside.mkdir()
    folder = tmp_path / "s"
    targets = _links(folder, outside, ["frames.csv", "events.csv", "session.lock", "session.json.tmp",
                                       "summary.json.tmp", "markers.csv"])
    w = SessionWriter(folder, {"source": "x.mp4", "mode": "analyze", "fps": 30.0})
    w.marker(1.0, "coffee")
    w.close("complete", {"status": "complete"})
    assert all(t.read_text() == "mine" for t in targets.values())
    assert not any((folder / n).is_symlink() for n in targets if not n.endswith(".tmp"))
    assert (folder / "summary.json").is_file() and not (folder / "summary.json").is_symlink()


def test_overwrite_removes_a_link_never_its_target_and_detect_writes_no_link(tmp_path):
    from twitchcam.run.detect import redetect
    from twitchcam.store.folder import remove_session

    outside = tmp_path / "home"
    (outside / "d").mkdir(parents=True)
    s = fake_session(tmp_path / "s")
    targets = _links(s, outside, ["video.avi"])
    (s / "detect").symlink_to(outside / "d")
    remove_session(s)
    assert targets["video.avi"].read_text() == "mine" and (outside / "d").is_dir()
    assert not (s / "detect").exists() and not (s / "video.avi").exists()
    import twitchcam

    real = tmp_path / "real"
    twitchcam.detect(twitchcam.simulate(20, seed=3)).save(real)
    (real / "detect").symlink_to(outside / "d")
    redetect(real, real / "detect", lambda p: p)
    assert list((outside / "d").iterdir()) == []
    assert (real / "detect" / "events.csv").is_file() and not (real / "detect").is_symlink()


# -- option values (item 10) --------------------------------------------------------------------
@pytest.mark.parametrize("option,value", [("--merge-gap-s", "nan"), ("--spasm-on", "inf"), ("--open-quantile", "2"),
                                          ("--baseline-window-s", "1e12"), ("--spasm-on", "-1"), ("--tonic-s", "-5"),
                                          ("--off-ratio", "0")])
def test_a_bad_detector_value_is_one_line_before_anything_is_made(tmp_path, capsys, option, value):
    out = tmp_path / "s"
    p = twitchcam_here(capsys, "analyze", tmp_path / "any.mp4", "--out", out, option, value)
    assert p.returncode == 2 and option in p.stderr.strip() and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists()


def test_the_default_detector_parameters_are_sane():
    from twitchcam.core.detector import DetectorParams

    assert DetectorParams().problems() == []


def test_a_session_whose_fps_is_not_a_number_is_damaged_not_a_crash(tmp_path, capsys):
    import twitchcam

    s = tmp_path / "s"
    twitchcam.detect(twitchcam.simulate(10, seed=4)).save(s)
    meta = json.loads((s / "session.json").read_text())
    for bad in ("abc", 0, -5, 1e9):
        (s / "session.json").write_text(json.dumps({**meta, "fps": bad}))
        p = twitchcam_here(capsys, "detect", s)
        assert p.returncode == 2 and "damaged session" in p.stderr and "Traceback" not in p.stderr, (bad, p.stderr)


# Found by the fuzz test of stored files (tests/test_fuzz.py): each was exit 70 before.
STORED_PARAMS = [("filters", "order", "abc"), ("filters", "order", 1000), ("filters", "order", 2.5),
                 ("validity", "usual_window_s", 1e300), ("validity", "max_yaw_deg", "nan"),
                 ("validity", "min_face_px", None), ("eye_filters", "median", "yes"),
                 ("detector", "other_open_min", "x" * 10 ** 6), ("detector", "rest_quantile", -10 ** 300),
                 ("detector", "spasm_on", 2e6), ("detector", "open_quantile", 2.0)]


@pytest.mark.parametrize("section,name,bad", STORED_PARAMS, ids=[f"{s}.{n}={str(b)[:8]}" for s, n, b in STORED_PARAMS])
def test_stored_parameters_of_the_wrong_type_or_size_are_a_damaged_session(tmp_path, capsys, section, name, bad):
    import twitchcam

    s = tmp_path / "s"
    twitchcam.detect(twitchcam.simulate(10, seed=4)).save(s)
    meta = json.loads((s / "session.json").read_text())
    meta["params"][section][name] = bad
    (s / "session.json").write_text(json.dumps(meta))
    p = twitchcam_here(capsys, "detect", s)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and len(p.stderr) < 300, p.stderr[:300]
    assert f"params.{section}.{name}" in p.stderr and "session parameters are damaged" in p.stderr
    assert not (s / "detect").exists()


def test_an_integer_beyond_any_float_is_a_damaged_file(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text('{"duration_s": 1' + "0" * 5000 + "}")  # more digits than int() takes
    with pytest.raises(TwitchcamError, match="5001 digits.*damaged"):
        read_json(path)
    path.write_text('{"params": {"detector": {"rest_quantile": -1' + "0" * 400 + "}}}")
    with pytest.raises(TwitchcamError, match="401 digits.*damaged"):
        read_json(path)
    path.write_text('{"frames": 1' + "0" * 300 + "}")  # a float holds it: only out of range
    assert read_json(path)["frames"] == 10 ** 300


def test_an_events_cell_over_the_csv_limit_is_a_damaged_row(tmp_path, capsys):
    import twitchcam
    from twitchcam.store.reader import read_event_rows

    s = tmp_path / "s"
    twitchcam.detect(twitchcam.simulate(60, seed=2, sides=("left",))).save(s)
    lines = (s / "events.csv").read_text().splitlines()
    assert len(lines) > 3
    lines[2] = lines[2].replace(",", "," + "9" * 200_000, 1)  # csv refuses cells over 128 KiB
    (s / "events.csv").write_text("\n".join(lines) + "\n")
    events, bad = read_event_rows(s / "events.csv")
    assert bad == 1 and len(events) == len(lines) - 2
    p = twitchcam_here(capsys, "report", s, "--out", tmp_path / "r.html")
    assert p.returncode == 0 and p.stderr == "", p.stderr[:300]
    assert "1 malformed row(s) skipped" in (tmp_path / "r.html").read_text()


# -- frame rates and stamps no camera makes (item 5) ----------------------------------------------
def test_broken_decoder_stamps_are_replaced_by_one_frame_steps():
    from twitchcam.video.source import MAX_STEP_S, frame_time

    t, times = -float("inf"), []
    for k in range(5):  # a header of 4.7e-10 frames/s: each stamp ~2e9 s after the last
        t = frame_time(k / 4.7e-10, t, 30.0)
        times.append(t)
    assert times == pytest.approx([0.0, 1 / 30, 2 / 30, 3 / 30, 4 / 30])
    assert frame_time(70.0, 10.0, 30.0) == 70.0  # a real pause of a minute is kept
    assert frame_time(10.0 + MAX_STEP_S + 1, 10.0, 30.0) == pytest.approx(10.0 + 1 / 30)
    assert frame_time(float("nan"), 1.0, 25.0) == pytest.approx(1.04) and frame_time(0.5, 1.0, 25.0) == pytest.approx(1.04)


# -- stored files of any size (item 6) -------------------------------------------------------------
def test_a_huge_summary_or_first_row_is_a_damaged_file_read_no_further(tmp_path):
    import twitchcam as tc

    s = tmp_path / "s"
    tc.detect(tc.simulate(10, seed=5)).save(s)
    (s / "summary.json").write_text('{"pad": "' + "x" * (5 << 20) + '"}')
    with pytest.raises(TwitchcamError, match="damaged"):
        read_json(s / "summary.json")
    frames = (s / "frames.csv").read_text().split("\n", 1)
    (s / "frames.csv").write_text(frames[0] + ",x" * 2_000_000 + "\n" + frames[1])
    import subprocess
    import sys

    from tests.test_cli import ROOT

    # `detect` run under a small wrapper that reports the peak memory of its one child
    wrap = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.stderr.write(p.stderr)")
    p = subprocess.run([sys.executable, "-c", wrap, sys.executable, "-m", "twitchcam.cli.main", "detect", str(s)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    rc, peak_kib = map(int, p.stdout.split())
    assert rc == 2 and "damaged" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert peak_kib < 600_000  # it was 14 GB


# -- state shown right (item 14) ----------------------------------------------------------------
def test_a_killed_session_shows_as_interrupted_and_escapes_reach_no_terminal(tmp_path):
    rec = tmp_path / "rec"
    fake_session(rec / "killed", status="running")  # its writer died: no process holds its lock
    evil = fake_session(rec / "x\x1b]0;owned\x07\x1b[2J")
    assert evil.is_dir()
    p = twitchcam("sessions", "--recordings", rec)
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout and "\\x1b" in p.stdout
    line = next(ln for ln in p.stdout.splitlines() if ln.rstrip().endswith("killed"))
    assert "interrupted" in line and "running" not in line
    p = twitchcam("report", evil, "--out", tmp_path / "r\x1b[2J.html")
    assert "\x1b" not in p.stdout + p.stderr


# -- the session index (item 9) ------------------------------------------------------------------
def test_a_damaged_index_is_rebuilt_by_itself(tmp_path):
    from twitchcam.store.index import INDEX_NAME

    rec = tmp_path / "rec"
    for k in range(40):
        fake_session(rec / f"s{k}")
    assert twitchcam("sessions", "--recordings", rec).returncode == 0
    db = rec / INDEX_NAME
    data = bytearray(db.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # a page of the table overwritten
    db.write_bytes(bytes(data))
    for _ in range(2):
        p = twitchcam("sessions", "--recordings", rec)
        assert p.returncode == 0 and "40 session(s)" in p.stdout, p.stderr


def test_a_read_only_recordings_folder_is_indexed_in_memory(tmp_path):
    import subprocess
    import sys

    from tests.test_cli import ROOT, _unshare, can_mount_tmpfs

    if not can_mount_tmpfs():
        pytest.skip("needs a mount namespace")
    rec = tmp_path / "rec"
    for k in range(3):
        fake_session(rec / f"s{k}")
    assert twitchcam("sessions", "--recordings", rec).returncode == 0  # the index exists ...
    fake_session(rec / "s3")  # ... and has a session to add when the folder turns read-only
    script = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && touch "$1/x" 2>/dev/null '
              '&& exit 9; shift; exec "$@"')
    p = subprocess.run(_unshare() + ["sh", "-c", script, "sh", str(rec), sys.executable, "-m", "twitchcam.cli.main",
                                     "sessions", "--recordings", str(rec)], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0 and "4 session(s)" in p.stdout, p.stderr
