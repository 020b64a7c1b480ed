"""Whole-file writes: all or nothing, and no stray temporary file after a failure."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from twitchcam.store.atomic import write_text_atomic


def test_replaces_the_file_whole(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")
    write_text_atomic(path, "new\n")
    assert path.read_text() == "new\n" and sorted(os.listdir(tmp_path)) == ["a.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "x").write_text("keep")  # a non-empty directory cannot be replaced by a file
    with pytest.raises(OSError):
        write_text_atomic(target, "text")
    assert (target / "x").read_text() == "keep" and sorted(os.listdir(tmp_path)) == ["busy"]


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KB tmpfs: a real ENOSPC, not a simulated one (needs mount rights, as in CI)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


@pytest.mark.slow
def test_report_on_a_full_disk_is_one_line_and_leaves_nothing(full_disk, tmp_path):
    from tests.test_report import typical_sim, write_session  # the report tests' session simulator

    session = write_session(tmp_path / "s", typical_sim())
    proc = subprocess.run([sys.executable, "-m", "twitchcam.cli.main", "report", str(session), "--out",
                           str(full_disk / "report.html")], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("twitchcam: error: cannot write")
    assert os.listdir(full_disk) == []
