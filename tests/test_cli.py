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


def twitchcam_here(capsys, *args) -> subprocess.CompletedProcess:
    """`twitchcam(*args)` run by the command line's main() in this process (no Python start-up):
    its exit code and what it printed (pytest's capsys), as the command would give them."""
    from twitchcam.cli.main import main

    capsys.readouterr()
    try:
        code = main(list(map(str, args)))
    except SystemExit as exc:  # argparse's own exit
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


FULL_DISK_SH = r"""
set -e
mount -t tmpfs -o size=4m tmpfs "$D"
dd if=/dev/zero of="$D/.fill" bs=1k count="$FILL" status=none 2>/dev/null || true
set +e
"$@"
echo "@@rc=$?"
for f in $SHOW; do echo "@@file $f"; cat "$D/$f" 2>/dev/null; echo; done
"""


def can_mount_tmpfs() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        _unshare() + ["sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True).returncode == 0


def _unshare() -> list[str]:
    return ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]


def on_full_disk(folder: Path, free_kib: int, argv, show=()) -> tuple[subprocess.CompletedProcess, int, dict]:
    """Run argv with `folder` on a disk of its own that has only `free_kib` KiB free (a 4-MiB
    tmpfs in a mount namespace of the child's own, filled up first: a real ENOSPC, seen by no
    other process).  Returns the process, argv's exit code, and the text of each `show` file
    (relative to `folder`) as argv left it, read before the disk goes away."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "D": str(folder), "FILL": str(4096 - free_kib), "SHOW": " ".join(show)}
    proc = subprocess.run(_unshare() + ["sh", "-c", FULL_DISK_SH, "sh", *map(str, argv)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)
    out, _, tail = proc.stdout.partition("@@rc=")
    rc, _, files = tail.partition("\n")
    shown = {}
    for chunk in files.split("@@file ")[1:]:
        name, _, text = chunk.partition("\n")
        shown[name] = text
    proc.stdout = out
    return proc, int(rc or -1), shown


needs_tmpfs = pytest.mark.skipif(not can_mount_tmpfs(), reason="needs unshare and a mount namespace")


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


@needs_tmpfs
def test_full_disk_is_one_line_and_keeps_the_folder(tmp_path, videos):
    """The disk fills while frames.csv grows (a real ENOSPC): one line, and the session so far
    is kept."""
    disk = tmp_path / "disk"
    p, rc, shown = on_full_disk(disk, 48, [sys.executable, "-m", "twitchcam.cli.main", "analyze",
                                           videos["WolfgangLanger_Pexels.mp4"], "--out", disk / "s"],
                                show=["s/session.json"])
    assert rc != 0 and "disk full" in one_line_error(p)
    assert json.loads(shown["s/session.json"])["status"] in ("running", "interrupted")


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
