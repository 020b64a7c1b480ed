"""Nothing lost: session folders are never silently replaced, never written by two processes,
and a session cut short stays usable (issue 10, items 1, 2, 5, 6, 7 and 14)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import ROOT, needs_tmpfs, on_full_disk, one_line_error, twitchcam, twitchcam_here
from twitchcam.errors import TwitchcamError
from twitchcam.store.folder import check_session_folder
from twitchcam.store.lock import SessionLock, is_being_written
from twitchcam.store.paths import output_folders
from twitchcam.store.session import LOCK_NAME
from twitchcam.store.source import finished_session, source_identity
from twitchcam.store.writer import SessionWriter


def fake_session(folder: Path, source: Path | None = None, status: str = "complete", **extra) -> Path:
    """A session folder as the writer leaves it (no frames needed for naming and refusal)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"format": 1, "status": status, "source": str(source or "x.mp4"), **extra}
    if source is not None and source.exists():
        meta["source_id"] = source_identity(source)
    (folder / "session.json").write_text(json.dumps(meta))
    (folder / "summary.json").write_text(json.dumps({"status": status, "duration_s": 1.0, "valid_s": 1.0}))
    return folder


# -- item 1: a default name never stands for two sessions --------------------------------------
def test_default_names_never_reuse_a_session_of_another_file(tmp_path):
    day1, day2 = tmp_path / "day1" / "clip.mp4", tmp_path / "day2" / "clip.mp4"
    for v in (day1, day2):
        v.parent.mkdir()
        v.write_bytes(b"video " + v.parent.name.encode())
    rec = tmp_path / "rec"
    assert output_folders([day1], rec) == [rec / "clip"]
    fake_session(rec / "clip", day1)
    assert output_folders([day1], rec) == [rec / "clip"]  # the same file: its own folder again
    (tmp_path / "link").symlink_to(day1.parent)
    assert output_folders([tmp_path / "link" / "clip.mp4"], rec) == [rec / "clip"]  # reached another way
    assert output_folders([day2], rec) == [rec / "clip-2"]  # another file of that name: a new one
    fake_session(rec / "clip-2", day2)
    assert output_folders([day2, day1], rec) == [rec / "clip-2", rec / "clip"]
    other = tmp_path / "day3" / "clip.mp4"
    assert output_folders([other], rec) == [rec / "clip-3"]
    # Within one list too (x.mp4 in two directories, x.mov), and a folder without a session is usable.
    (rec / "x").mkdir()
    (rec / "x" / "notes.txt").write_text("mine")
    assert output_folders([tmp_path / "a" / "x.mp4", tmp_path / "b" / "x.mp4", tmp_path / "x.mov"], rec) == [
        rec / "x", rec / "x-2", rec / "x-3"]


def test_explicit_folder_holding_a_session_is_refused_unless_overwrite(tmp_path):
    s = fake_session(tmp_path / "s")
    with pytest.raises(TwitchcamError, match="already holds a session .* --overwrite"):
        check_session_folder(s)
    check_session_folder(s, overwrite=True)
    with pytest.raises(TwitchcamError, match="already holds a session"):
        SessionWriter(s, {"fps": 30.0})
    assert json.loads((s / "session.json").read_text())["status"] == "complete"  # untouched


def test_overwrite_removes_all_of_the_old_session_and_nothing_else(tmp_path):
    s = fake_session(tmp_path / "s")
    (s / "markers.csv").write_text("t_s,label\n1.0,marker\n")
    (s / "detect").mkdir()
    (s / "detect" / "events.csv").write_text("old")
    (s / "video.avi").write_bytes(b"old")
    (s / "my-notes.txt").write_text("the user's own file")
    w = SessionWriter(s, {"fps": 30.0}, overwrite=True)
    w.close("complete", None)
    assert not (s / "markers.csv").exists() and not (s / "detect").exists() and not (s / "video.avi").exists()
    assert not (s / "summary.json").exists()  # the old summary went with the rest
    assert (s / "my-notes.txt").read_text() == "the user's own file"
    assert json.loads((s / "session.json").read_text())["status"] == "complete"


# -- item 7: never a session in the recordings folder itself ------------------------------------
def test_recordings_root_or_a_folder_of_sessions_is_refused(tmp_path):
    rec = tmp_path / "rec"
    fake_session(rec / "a")
    with pytest.raises(TwitchcamError, match="recordings folder itself"):
        check_session_folder(rec, overwrite=True, recordings=rec)
    with pytest.raises(TwitchcamError, match="holds other sessions"):
        check_session_folder(rec, overwrite=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(TwitchcamError, match="recordings folder itself"):
        check_session_folder(tmp_path / "empty", recordings=tmp_path / "empty")


def test_analyze_and_live_refuse_the_recordings_root_in_one_line(tmp_path):
    rec = tmp_path / "rec"
    fake_session(rec / "a")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not even read")
    for argv in (["analyze", video, "--out", rec, "--recordings", rec],
                 ["live", "--source", video, "--no-display", "--out", rec],
                 ["analyze", video, "--out", rec / "a"]):
        p = twitchcam(*argv, env={"TWITCHCAM_RECORDINGS": str(rec)})
        assert p.returncode == 2, p.stderr
        assert p.stderr.count("\n") == 1 and one_line_error(p)
    assert sorted(x.name for x in rec.iterdir()) == ["a"] and not (rec / "session.json").exists()


# -- item 2: one writer per folder --------------------------------------------------------------
def test_second_writer_is_refused_and_the_lock_dies_with_its_process(tmp_path):
    s = tmp_path / "s"
    w = SessionWriter(s, {"fps": 30.0})
    assert is_being_written(s)
    with pytest.raises(TwitchcamError, match=f"being written by another twitchcam process \\(pid {os.getpid()}\\)"):
        SessionWriter(s, {"fps": 30.0}, overwrite=True)
    w.close("complete", None)
    assert not is_being_written(s)
    # A process killed with SIGKILL while holding the lock leaves no stale lock behind.
    code = ("import sys, time\nfrom twitchcam.store.lock import SessionLock\nlock = SessionLock(sys.argv[1]).acquire()\n"
            "print('locked', flush=True)\ntime.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "k")], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    (tmp_path / "k").mkdir()
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert is_being_written(tmp_path / "k")
        with pytest.raises(TwitchcamError, match="being written"):
            SessionLock(tmp_path / "k").acquire()
    finally:
        proc.kill()
        proc.wait(timeout=60)
    SessionLock(tmp_path / "k").acquire().release()
    assert (tmp_path / "k" / LOCK_NAME).read_text() == ""


@pytest.mark.slow
def test_two_analyses_into_one_folder_one_is_refused(tmp_path, videos):
    """`analyze A --out o & analyze B --out o --overwrite`: the second gets one line and a
    non-zero exit while the first writes; the session on disk is A's, whole."""
    out = tmp_path / "o"
    first = subprocess.Popen([sys.executable, "-m", "twitchcam.cli.main", "analyze",
                              str(videos["WolfgangLanger_Pexels.mp4"]), "--out", str(out)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (out / "frames.csv").is_file():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.1)
        second = twitchcam("analyze", videos["single_face.mp4"], "--out", out, "--overwrite")
        if first.poll() is None:  # the normal case: the first still writes
            assert second.returncode == 2 and "being written by another twitchcam process" in one_line_error(second)
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    if second.returncode == 2:
        rows = (out / "frames.csv").read_text().splitlines()
        assert len(rows) == 473 and len({r.count(",") for r in rows}) == 1
        assert json.loads((out / "session.json").read_text())["source"].endswith("WolfgangLanger_Pexels.mp4")


# -- items 1 and 6 through the command line ------------------------------------------------------
@pytest.mark.slow
def test_same_name_in_two_folders_keeps_both_sessions_and_a_rerun_skips(tmp_path, videos):
    rec = tmp_path / "rec"
    day1, day2 = tmp_path / "day1" / "clip.mp4", tmp_path / "day2" / "clip.mp4"
    day1.parent.mkdir()
    day2.parent.mkdir()
    shutil.copy(videos["single_face.mp4"], day1)
    shutil.copy(videos["no_face.mp4"], day2)
    env = {"TWITCHCAM_RECORDINGS": str(rec)}
    assert twitchcam("analyze", day1, env=env).returncode == 0
    p = twitchcam("analyze", day2, env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads((rec / "clip" / "summary.json").read_text())["no_face"] is False  # day 1 kept
    assert json.loads((rec / "clip-2" / "summary.json").read_text())["no_face"] is True
    mtime = (rec / "clip" / "frames.csv").stat().st_mtime_ns
    p = twitchcam("analyze", day1, env=env)
    assert p.returncode == 0 and "already analysed" in p.stdout, p.stderr
    assert (rec / "clip" / "frames.csv").stat().st_mtime_ns == mtime
    sessions = twitchcam("sessions", env=env)
    assert "clip" in sessions.stdout and "clip-2" in sessions.stdout


@pytest.mark.slow
def test_batch_rerun_redoes_a_replaced_video_and_says_so(tmp_path, videos):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(videos["single_face.mp4"], src / "a.mp4")
    shutil.copy(videos["no_face.mp4"], src / "b.mp4")
    out = tmp_path / "out"
    p = twitchcam("analyze", src, "--jobs", "2", "--out", out)
    assert p.returncode == 0, p.stderr
    assert json.loads((out / "a" / "summary.json").read_text())["no_face"] is False
    shutil.copy(videos["no_face.mp4"], src / "a.mp4")  # another video in its place
    p = twitchcam("analyze", src, "--jobs", "2", "--out", out)
    assert p.returncode == 0, p.stderr
    assert "a.mp4 changed since a was made from it: analysed again" in p.stderr
    assert p.stderr.count("skipped: already complete") == 1  # b.mp4
    assert json.loads((out / "a" / "summary.json").read_text())["no_face"] is True
    summary, why = finished_session(out / "a", src / "a.mp4")
    assert summary is not None and why == ""


# -- item 5: a session killed with SIGKILL can be reported ----------------------------------------
@pytest.mark.slow
def test_killed_session_is_reported_as_interrupted(tmp_path, videos):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "twitchcam.cli.main", "analyze",
                             str(videos["WolfgangLanger_Pexels.mp4"]), "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (out / "frames.csv").is_file() or (out / "frames.csv").stat().st_size < 80000:  # ~120 rows
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert json.loads((out / "session.json").read_text())["status"] == "running"
    assert not (out / "summary.json").exists() and not is_being_written(out)
    r = twitchcam("report", out, "--out", tmp_path / "r.html")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "r.html").read_text()
    assert "Interrupted recording" in html and "ended before it was summarised" in html
    data = json.loads(html.split('id="twitchcam-data">')[1].split("</script>")[0])
    assert data["sessions"][0]["summary"]["status"] == "interrupted"
    assert data["sessions"][0]["summary"]["frames"] > 50
    d = twitchcam("detect", out)
    assert d.returncode == 0, d.stderr
    assert json.loads((out / "detect" / "summary.json").read_text())["status"] == "interrupted"
    assert twitchcam("report", out, "--out", tmp_path / "r2.html").returncode == 0
    # ...and a new analysis may replace it at once: the killed writer's lock is gone.
    p = twitchcam("analyze", videos["single_face.mp4"], "--out", out, "--overwrite")
    assert p.returncode == 0, p.stderr
    assert not (out / "detect").exists()


# -- item 14: the smaller defects ----------------------------------------------------------------
@needs_tmpfs
def test_nothing_written_says_so_instead_of_session_kept(tmp_path, videos):
    """A disk already full: the very first write (session.json) fails with ENOSPC."""
    disk = tmp_path / "disk"
    p, rc, shown = on_full_disk(disk, 0, [sys.executable, "-m", "twitchcam.cli.main", "analyze",
                                          videos["no_face.mp4"], "--out", disk / "s"], show=["s/session.json"])
    err = one_line_error(p)
    assert rc != 0 and "nothing was recorded" in err and "kept" not in err, p.stderr
    assert shown["s/session.json"].strip() == ""


def test_detect_never_writes_into_a_session_folder(tmp_path):
    a, b = fake_session(tmp_path / "a"), fake_session(tmp_path / "b")
    for out in (a, b):
        p = twitchcam("detect", a, "--out", out)
        assert p.returncode == 2 and "is a session folder" in one_line_error(p) and p.stderr.count("\n") == 1
    assert json.loads((a / "summary.json").read_text())["duration_s"] == 1.0


def test_wrong_types_in_summary_json_are_one_line_not_exit_70(tmp_path, capsys):
    rec = tmp_path / "rec"
    s = fake_session(rec / "s")
    good = fake_session(rec / "t")
    (good / "summary.json").write_text(json.dumps({"status": "complete", "duration_s": 60.0, "valid_s": 60.0}))
    for bad in ({"spasms": {"left": "x", "right": 5}}, {"blinks": 3}, {"params": "x", "versions": 3},
                {"spasms": []}, {"status": 5}):
        (s / "summary.json").write_text(json.dumps({"duration_s": 1.0, "valid_s": 1.0, **bad}))
        p = twitchcam_here(capsys, "report", s, "--out", tmp_path / "r.html")
        assert p.returncode == 2 and "damaged summary" in one_line_error(p), (bad, p.stderr)
        p = twitchcam_here(capsys, "sessions", "--recordings", rec)
        assert p.returncode == 0 and "damaged summary" in p.stdout, (bad, p.stderr)
        p = twitchcam_here(capsys, "report", rec, "--out", tmp_path / "r.html")  # the other session is still reported
        assert p.returncode == 0 and "1 skipped" in p.stdout, (bad, p.stderr)


def test_detect_and_report_read_a_session_while_it_is_written(tmp_path):
    """A session still being recorded (its writer alive, the last line half written) is read
    as far as it goes: detect and report work and call it running."""
    from twitchcam.core.features import FEATURE_COLUMNS

    rng = np.random.default_rng(1)
    folder = tmp_path / "s"
    w = SessionWriter(folder, {"fps": 30.0, "mode": "live", "source": "camera 0"})
    k = len(FEATURE_COLUMNS)
    for i in range(300):
        raw = 0.3 + 0.01 * rng.standard_normal(k)
        w.frame(i, i / 30.0, True, "", (0.0, 0.0, 0.0), raw, raw, (0.1, 0.1))
    w.flush()
    w._frames_f.write("300,10.0,1,,0.0,0.")  # a row cut off mid-write
    w._frames_f.flush()
    try:
        d = twitchcam("detect", folder)
        assert d.returncode == 0, d.stderr
        assert json.loads((folder / "detect" / "summary.json").read_text())["status"] == "running"
        r = twitchcam("report", folder, "--out", tmp_path / "r.html")
        assert r.returncode == 0, r.stderr
        assert "status: running" in (tmp_path / "r.html").read_text()
    finally:
        w.close("complete", None)


def test_a_damaged_cell_makes_its_own_row_damaged_and_no_other(tmp_path):
    """A cell that is not a number marks its row damaged; the NaNs of the same column (features of
    frames without a face) stay good rows.  Before, every such NaN row counted as damaged too."""
    import twitchcam
    from twitchcam.store.reader import read_frames

    folder = tmp_path / "s"
    sim = twitchcam.detect(twitchcam.simulate(30, seed=3))
    sim.save(folder)
    col = list(sim.frames.columns).index("raw_eye_open_left")
    assert sim.frames.raw_eye_open_left.isna().sum() > 5
    lines = (folder / "frames.csv").read_bytes().split(b"\r\n")
    row = next(k for k in range(200, 900) if sim.frames.raw_eye_open_left.notna()[k - 1])
    cells = lines[row].split(b",")
    cells[col] = cells[col].replace(b".", b"\xff.")
    lines[row] = b",".join(cells)
    (folder / "frames.csv").write_bytes(b"\r\n".join(lines))
    table = read_frames(folder / "frames.csv")
    assert table.bad_rows == 1 and len(table) == len(sim.frames) - 1
    assert table.df.raw_eye_open_left.isna().sum() == sim.frames.raw_eye_open_left.isna().sum()


def test_one_resume_plan_for_analyze_and_batches(tmp_path):
    """`analyze` of one video after another and a batch follow one rule (run.plan): skip a complete
    session of that very file, unchanged; redo anything else in a folder twitchcam named."""
    from twitchcam.batch.pool import _Batch
    from twitchcam.run.plan import InputPlan, plan_input

    video, gone = tmp_path / "clip.mp4", tmp_path / "gone.mp4"
    video.write_bytes(b"video one")
    done = fake_session(tmp_path / "rec" / "clip", video)
    cut = fake_session(tmp_path / "rec" / "cut", video, status="interrupted")
    fresh = tmp_path / "rec" / "new"
    skip = plan_input(video, done)
    assert skip.action == "skip" and skip.summary["duration_s"] == 1.0
    assert plan_input(video, done, named=True) == InputPlan("run", overwrite=False)  # --out: refused unless asked
    assert plan_input(video, done, overwrite=True) == InputPlan("run", overwrite=True)
    assert plan_input(video, cut) == plan_input(video, fresh) == InputPlan("run", overwrite=True)
    assert plan_input(gone, fresh) == InputPlan("missing", note=f"{gone}: no such file")
    batch = _Batch([video, video, gone], None, [done, cut, fresh], None, None)
    assert [(r.status, r.reason) for r in batch.in_order()] == [
        ("complete", "skipped: already complete"), ("error", f"{gone}: no such file")]
    assert batch.todo == [1] and batch.overwrite == {1: True}
    video.write_bytes(b"video two, in its place")
    again = plan_input(video, done)
    assert again.action == "run" and again.overwrite and "changed since clip was made from it" in again.note
    assert _Batch([video], None, [done], None, None).notes == {0: again.note}
