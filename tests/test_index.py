"""Session index: SQLite cache under recordings/, refreshed from the session folders."""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from tests.test_report import Sim, typical_sim, write_session
from twitchcam.cli import report as report_cli
from twitchcam.cli.main import main as cli_main
from twitchcam.errors import TwitchcamError
from twitchcam.store import index


def make(root: Path, name: str, when: str, **kw) -> Path:
    return write_session(root / name, typical_sim(when, duration_s=60.0, **kw), frames=False)


def bump(path: Path) -> None:
    """Make a rewrite visible even on coarse-mtime filesystems."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_builds_and_lists(tmp_path):
    make(tmp_path, "b", "2024-05-08T10:00:00")
    make(tmp_path, "a", "2024-05-01T10:00:00")
    rows = index.sync(tmp_path)
    assert [r.name for r in rows] == ["a", "b"]  # by date
    assert (tmp_path / index.INDEX_NAME).is_file()
    r = rows[0]
    s = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert r.left_per_min == pytest.approx(s["spasms"]["left"]["per_min"])
    assert r.duration_s == 60.0 and r.affected_side == s["affected_side"]
    table = index.format_table(rows)
    assert "2024-05-01 10:00" in table and "1:00" in table and "2 session(s)" in table


def test_refreshes_changed_new_and_removed_folders(tmp_path):
    a = make(tmp_path, "a", "2024-05-01T10:00:00")
    make(tmp_path, "b", "2024-05-02T10:00:00")
    index.sync(tmp_path)
    # change a's summary, add c, remove b
    s = json.loads((a / "summary.json").read_text())
    s["spasms"]["left"]["per_min"] = 42.0
    (a / "summary.json").write_text(json.dumps(s))
    bump(a / "summary.json")
    make(tmp_path, "c", "2024-05-03T10:00:00")
    import shutil

    shutil.rmtree(tmp_path / "b")
    rows = index.sync(tmp_path)
    assert [r.name for r in rows] == ["a", "c"]
    assert rows[0].left_per_min == 42.0


def test_unchanged_folders_are_not_reread(tmp_path, monkeypatch):
    make(tmp_path, "a", "2024-05-01T10:00:00")
    index.sync(tmp_path)
    calls = []
    monkeypatch.setattr(index, "read_row", lambda d: calls.append(d))
    index.sync(tmp_path)
    assert calls == []


def test_corrupt_or_old_index_is_rebuilt(tmp_path):
    make(tmp_path, "a", "2024-05-01T10:00:00")
    (tmp_path / index.INDEX_NAME).write_bytes(b"this is not sqlite" * 100)
    rows = index.sync(tmp_path)
    assert [r.name for r in rows] == ["a"]
    con = sqlite3.connect(tmp_path / index.INDEX_NAME)
    con.execute("PRAGMA user_version = 0")
    con.commit()
    con.close()
    assert [r.name for r in index.sync(tmp_path)] == ["a"]
    assert [r.name for r in index.sync(tmp_path, rebuild=True)] == ["a"]


def test_running_and_broken_sessions_are_listed_not_fatal(tmp_path):
    make(tmp_path, "ok", "2024-05-01T10:00:00")
    running = make(tmp_path, "running", "2024-05-02T10:00:00", status="running")
    (running / "summary.json").unlink()
    broken = make(tmp_path, "broken", "2024-05-03T10:00:00")
    (broken / "summary.json").write_text("{nope")
    write_session(tmp_path / "nf", Sim(duration_s=30, invalid=[(0, 30, "no_face")],
                                            started_at="2024-05-04T10:00:00"), frames=False)
    rows = {r.name: r for r in index.sync(tmp_path)}
    assert rows["running"].has_summary == 0 and "no summary" in rows["running"].problem
    assert rows["broken"].has_summary == 0 and "cannot read" in rows["broken"].problem
    assert rows["nf"].no_face == 1
    table = index.format_table(list(rows.values()))
    assert "no face" in table and "running" in table


def test_nested_folders_and_hidden_ignored(tmp_path):
    make(tmp_path / "2024", "a", "2024-05-01T10:00:00")
    make(tmp_path / ".trash", "x", "2024-05-01T10:00:00")
    assert [r.name for r in index.sync(tmp_path)] == ["a"]


def test_readonly_recordings_still_list(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    make(tmp_path, "a", "2024-05-01T10:00:00")
    tmp_path.chmod(0o555)
    try:
        assert [r.name for r in index.sync(tmp_path)] == ["a"]
    finally:
        tmp_path.chmod(0o755)


def test_missing_recordings_folder(tmp_path):
    with pytest.raises(TwitchcamError, match="does not exist"):
        index.sync(tmp_path / "nope")


def test_sessions_command(tmp_path, capsys):
    make(tmp_path, "a", "2024-05-01T10:00:00")
    parser = argparse.ArgumentParser()
    report_cli.add_report_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sessions", "--recordings", str(tmp_path)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "2024-05-01" in out and "left/min" in out
    assert cli_main(["sessions", "--recordings", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twitchcam: error:") and err.count("\n") == 1


def test_200_sessions_index_is_fast(tmp_path):
    for i in range(200):
        make(tmp_path, f"s{i:03d}", f"2024-01-01T{i % 24:02d}:00:00")
    t = time.perf_counter()
    index.sync(tmp_path)
    first = time.perf_counter() - t
    t = time.perf_counter()
    rows = index.sync(tmp_path)
    again = time.perf_counter() - t
    assert len(rows) == 200
    assert again < 1.0 and first < 10.0
