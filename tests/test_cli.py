"""The command line on real files: bad input gets one line and a non-zero exit, never a traceback."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def twitchcam(*args, env=None):
    proc = subprocess.run([sys.executable, "-m", "twitchcam.cli.main", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=300)
    return proc


def one_line_error(proc) -> str:
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("twitchcam:")]
    assert lines, proc.stderr
    return lines[-1]


def test_missing_path(tmp_path):
    p = twitchcam("analyze", tmp_path / "nope.mp4", "--out", tmp_path / "s")
    assert p.returncode != 0 and "no such file" in one_line_error(p)


def test_directory_without_videos(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    p = twitchcam("analyze", tmp_path)
    assert p.returncode != 0 and "no video files" in one_line_error(p)


def test_text_file_renamed_mp4(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n" * 100)
    p = twitchcam("analyze", fake, "--out", tmp_path / "s")
    assert p.returncode != 0 and "not a video" in one_line_error(p)


def test_zero_length_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    p = twitchcam("analyze", empty, "--out", tmp_path / "s")
    assert p.returncode != 0 and "empty file" in one_line_error(p)


def test_truncated_video_analyses_what_decodes_then_says_so(tmp_path, videos):
    data = videos["WolfgangLanger_Pexels.mp4"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    p = twitchcam("analyze", cut, "--out", tmp_path / "s")
    assert p.returncode != 0 and "truncated" in one_line_error(p)
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["status"] == "truncated" and summary["frames"] > 50


def test_no_face_at_all_exits_0_with_no_events(tmp_path, videos):
    p = twitchcam("analyze", videos["no_face.mp4"], "--out", tmp_path / "s")
    assert p.returncode == 0, p.stderr
    assert "no face found" in p.stdout
    assert (tmp_path / "s" / "events.csv").read_text().strip().count("\n") == 0
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["no_face"] is True and summary["valid_s"] == 0
    assert summary["spasms"]["left"]["count"] == summary["spasms"]["right"]["count"] == 0


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
def test_face_that_leaves_or_arrives(tmp_path, videos, name):
    p = twitchcam("analyze", videos[name], "--out", tmp_path / "s")
    assert p.returncode == 0, p.stderr
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert 0 < summary["valid_s"] < 0.7 * summary["duration_s"]
    lines = (tmp_path / "s" / "frames.csv").read_text().splitlines()
    assert sum(",no_face," in ln for ln in lines) > 50
    assert summary["spasms"]["left"]["count"] == summary["spasms"]["right"]["count"] == 0


def test_unwritable_out(tmp_path, videos):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # root ignores permissions: use a path under a regular file
            target = tmp_path / "afile"
            target.write_text("x")
            out = target / "session"
        else:
            out = ro / "session"
        p = twitchcam("analyze", videos["single_face.mp4"], "--out", out)
        assert p.returncode != 0 and "cannot write" in one_line_error(p)
    finally:
        ro.chmod(0o700)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_is_one_line_and_keeps_the_folder(tmp_path, videos):
    out = tmp_path / "s"
    out.mkdir()
    (out / "frames.csv").symlink_to("/dev/full")  # every write to it fails with ENOSPC
    p = twitchcam("analyze", videos["WolfgangLanger_Pexels.mp4"], "--out", out)
    assert p.returncode != 0 and "disk full" in one_line_error(p)
    assert json.loads((out / "session.json").read_text())["status"] in ("running", "interrupted")


def test_models_command_reports_a_valid_model():
    p = twitchcam("models")
    assert p.returncode == 0 and "status:   valid" in p.stdout


def test_model_override_that_does_not_exist_is_an_error(tmp_path, videos):
    p = twitchcam("analyze", videos["single_face.mp4"], "--out", tmp_path / "s",
                  env={"TWITCHCAM_MODEL": str(tmp_path / "missing.task")})
    assert p.returncode != 0 and "TWITCHCAM_MODEL" in one_line_error(p)
    bad = tmp_path / "bad.task"
    bad.write_bytes(b"0" * 100)
    p = twitchcam("analyze", videos["single_face.mp4"], "--out", tmp_path / "s", "--model", bad)
    assert p.returncode != 0 and "SHA-256" in one_line_error(p)


def test_several_inputs_get_one_subfolder_each(tmp_path, videos):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    shutil.copy(videos["single_face.mp4"], a)
    shutil.copy(videos["single_face.mp4"], b)
    p = twitchcam("analyze", a, b, "--out", tmp_path / "out")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out" / "a" / "summary.json").is_file()
    assert (tmp_path / "out" / "b" / "summary.json").is_file()


def test_ctrl_c_stops_the_whole_run_and_keeps_the_session(tmp_path, videos):
    """Ctrl-C while the first of two videos is analysed: exit 130 with one line, the first
    session kept and marked interrupted, the second never started."""
    import signal
    import time

    first, second = videos["WolfgangLanger_Pexels.mp4"], videos["single_face.mp4"]
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "twitchcam.cli.main", "analyze", str(first), str(second),
                             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (out / first.stem / "frames.csv").is_file() or (out / first.stem / "frames.csv").stat().st_size < 2000:
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()[1]
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("twitchcam: error: interrupted")
    assert json.loads((out / first.stem / "session.json").read_text())["status"] == "interrupted"
    assert (out / first.stem / "summary.json").is_file()
    assert not (out / second.stem).exists()
