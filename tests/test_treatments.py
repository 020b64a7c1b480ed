"""Treatment log: plain CSV, append-only from the CLI, tolerant of hand edits."""
from __future__ import annotations

import argparse
import datetime as dt

import pytest

from twitchcam.cli import report as report_cli
from twitchcam.errors import TwitchcamError
from twitchcam.store import treatments


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="twitchcam")
    sub = parser.add_subparsers(dest="command")
    report_cli.add_report_commands(sub)
    args = parser.parse_args(argv)
    code = args.func(args)
    return code, capsys.readouterr().out


def test_add_and_list(tmp_path, capsys):
    code, out = run(["treatment", "add", "2024-03-01", "--side", "left", "--kind", "botox",
                     "--note", "25 U orbicularis, lower lid", "--recordings", str(tmp_path)],
                    capsys)
    assert code == 0 and "added 2024-03-01 botox left" in out
    run(["treatment", "add", "2023-12-01", "--side", "left", "--recordings", str(tmp_path)],
        capsys)
    text = (tmp_path / "treatments.csv").read_text()
    assert text.splitlines()[0] == "date,side,kind,note"
    assert '2024-03-01,left,botox,"25 U orbicularis, lower lid"' in text  # plain, quoted CSV
    code, out = run(["treatment", "list", "--recordings", str(tmp_path)], capsys)
    lines = out.splitlines()
    assert code == 0
    assert lines[1].startswith("2023-12-01")  # sorted by date
    assert "25 U orbicularis, lower lid" in lines[2]
    items = treatments.load(tmp_path / "treatments.csv")
    assert [t.date for t in items] == [dt.date(2023, 12, 1), dt.date(2024, 3, 1)]
    assert items[0].kind == "botox" and items[0].is_injection


def test_remove_exactly_one_entry_and_keep_the_rest(tmp_path, capsys):
    log = tmp_path / "treatments.csv"
    log.write_text("date,side,kind,note\n# first cycle\n2024-03-01,left,botox,\"25 U, lower lid\"\n"
                   "2024-03-01,left,medication,carbamazepine\n2024-06-01,left,botox,\n")
    before = log.read_text().splitlines(keepends=True)
    with pytest.raises(TwitchcamError, match="2 treatments 2024-03-01: left botox .*left medication"):
        treatments.remove(log, "2024-03-01")
    assert log.read_text().splitlines(keepends=True) == before  # an ambiguous remove changes nothing
    with pytest.raises(TwitchcamError, match="no treatment 2024-03-02"):
        treatments.remove(log, "2024-03-02")
    code, out = run(["treatment", "remove", "2024-03-01", "--kind", "botox", "--recordings", str(tmp_path)],
                    capsys)
    assert code == 0 and "removed 2024-03-01 botox left (25 U, lower lid)" in out
    assert log.read_text().splitlines(keepends=True) == before[:2] + before[3:]  # comment and order kept
    assert [t.kind for t in treatments.load(log)] == ["medication", "botox"]
    with pytest.raises(TwitchcamError, match="no treatment"):
        treatments.remove(tmp_path / "missing.csv", "2024-03-01")


def test_list_empty(tmp_path, capsys):
    code, out = run(["treatment", "list", "--recordings", str(tmp_path)], capsys)
    assert code == 0 and "no treatments recorded" in out


@pytest.mark.parametrize("date", ["2024-3-1", "01/03/2024", "2024-02-30", "yesterday", ""])
def test_bad_dates(tmp_path, date):
    with pytest.raises(TwitchcamError, match="YYYY-MM-DD"):
        treatments.add(tmp_path / "t.csv", date, "left")
    assert not (tmp_path / "t.csv").exists()


def test_bad_side_and_kind(tmp_path):
    with pytest.raises(TwitchcamError, match="side"):
        treatments.add(tmp_path / "t.csv", "2024-01-01", "middle")
    with pytest.raises(TwitchcamError, match="kind"):
        treatments.add(tmp_path / "t.csv", "2024-01-01", "left", "magic")
    with pytest.raises(TwitchcamError, match="single line"):
        treatments.add(tmp_path / "t.csv", "2024-01-01", "left", note="a\nb")


def test_hand_edited_file(tmp_path):
    p = tmp_path / "treatments.csv"
    p.write_text("date,side,kind,note\n# my notes\n\n 2024-01-10 , Left , BOTOX , 20 U\n"
                 "2024-04-02,both,mvd,surgery")  # no trailing newline
    treatments.add(p, "2024-06-01", "left", "botox", "30 U")
    items = treatments.load(p)
    assert [(t.date.isoformat(), t.side, t.kind) for t in items] == [
        ("2024-01-10", "left", "botox"), ("2024-04-02", "both", "mvd"),
        ("2024-06-01", "left", "botox")]
    assert "# my notes" in p.read_text()  # append never rewrites the user's lines


def test_broken_file_names_the_line(tmp_path):
    p = tmp_path / "treatments.csv"
    p.write_text("date,side,kind,note\n2024-01-10,left,botox,ok\n2024-13-01,left,botox,x\n")
    with pytest.raises(TwitchcamError, match=r"treatments.csv:3"):
        treatments.load(p)
    with pytest.raises(TwitchcamError):
        treatments.add(p, "2024-06-01", "left")


def test_injection_helpers():
    log = [treatments.Treatment(dt.date(2024, 1, 1), "right", "botox"),
           treatments.Treatment(dt.date(2024, 2, 1), "left", "botox"),
           treatments.Treatment(dt.date(2024, 3, 1), "left", "medication"),
           treatments.Treatment(dt.date(2024, 4, 1), "both", "botox")]
    assert treatments.last_injection_before(log, dt.date(2024, 3, 15), "left").date == \
        dt.date(2024, 2, 1)
    assert treatments.last_injection_before(log, dt.date(2024, 4, 1), "left").date == \
        dt.date(2024, 4, 1)
    assert treatments.last_injection_before(log, dt.date(2023, 12, 1), "left") is None
    # no injection on that side at all: fall back to any injection
    only_right = log[:1]
    assert treatments.last_injection_before(only_right, dt.date(2024, 5, 1), "left").date == \
        dt.date(2024, 1, 1)


def test_add_and_remove_at_once_lose_no_entry(tmp_path):
    """Two processes: one adds 150 entries while the other removes 150 that were there: every
    add is kept (a read-modify-rename without a lock lost some)."""
    import subprocess
    import sys

    log = tmp_path / "treatments.csv"
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=k) for k in range(150)]
    for d in days:
        treatments.add(log, d.isoformat(), "left")
    code = ("import sys\nfrom twitchcam.store import treatments as t\n"
            "op, log = sys.argv[1:]\n"
            "import datetime as dt\n"
            "for k in range(150):\n"
            "    d = dt.date(2020 if op == 'remove' else 2021, 1, 1) + dt.timedelta(days=k)\n"
            "    t.add(log, d.isoformat(), 'right') if op == 'add' else t.remove(log, d.isoformat())\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, op, str(log)]) for op in ("remove", "add")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    kept = treatments.load(log)
    assert [t.date for t in kept] == [dt.date(2021, 1, 1) + dt.timedelta(days=k) for k in range(150)]


def test_a_crlf_log_keeps_its_line_endings(tmp_path):
    log = tmp_path / "treatments.csv"
    log.write_bytes(b"date,side,kind,note\r\n2024-01-01,left,botox,a\r\n2024-02-01,left,botox,b\r\n")
    treatments.remove(log, "2024-01-01")
    treatments.add(log, "2024-03-01", "right", note="c")
    assert log.read_bytes() == b"date,side,kind,note\r\n2024-02-01,left,botox,b\r\n2024-03-01,right,botox,c\r\n"
