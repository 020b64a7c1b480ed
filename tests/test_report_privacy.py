"""Nothing leaked: reports name no local folder, the PDF printer stays off the network, and
spreadsheets never run a CSV cell (issue 10, items 9, 10 and 11)."""
from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import ROOT, twitchcam
from twitchcam.batch.pool import BatchRow, write_batch_csv
from twitchcam.report import pdf as report_pdf
from twitchcam.store import treatments
from twitchcam.store.csvcell import read_cell, safe_cell


def user_session(home: Path, name: str, started: str) -> Path:
    """A session in a folder that names its user, made from a video in another such folder."""
    video = home / "jane.doe" / "Videos" / f"{name}.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(b"x")
    folder = home / "jane.doe" / "twitchcam" / "recordings" / name
    folder.mkdir(parents=True)
    meta = {"format": 1, "status": "complete", "source": str(video), "started_at": started, "mode": "analyze",
            "source_id": {"path": str(video), "size": 1, "mtime_ns": 1, "head_tail_sha256": "0"}}
    summary = {"format": 1, **meta, "duration_s": 120.0, "valid_s": 110.0, "frames": 3600, "valid_frames": 3300,
               "no_face": False, "spasms": {s: {"count": 4, "per_min": 2.18, "clonic": 4, "tonic": 0,
                                                 "twitches": 6, "mean_duration_s": 0.4, "max_duration_s": 0.6,
                                                 "closed_fraction": 0.05, "with_mouth": 1}
                                             for s in ("left", "right")},
               "blinks": {"count": 20, "per_min": 10.9}, "affected_side": None}
    (folder / "session.json").write_text(json.dumps(meta))
    (folder / "summary.json").write_text(json.dumps(summary))
    t = np.arange(0, 120, 1 / 30)
    rows = ["t_s,valid,reason,closure_left,closure_right,dropped"] + [f"{x!r},1,,0.1,0.1,0" for x in t]
    (folder / "frames.csv").write_text("\n".join(rows) + "\n")
    (folder / "events.csv").write_text("onset_s,offset_s,duration_s,side,kind,twitches,peak_closure,region,"
                                       "detected_at_s\n10.0,10.4,0.4,left,clonic,2,0.8,eye,10.5\n")
    return folder


# -- item 10 ----------------------------------------------------------------------------------------
def test_report_names_files_not_the_folders_they_are_in(tmp_path):
    a = user_session(tmp_path, "monday", "2026-01-05T09:00:00")
    b = user_session(tmp_path, "tuesday", "2026-01-06T09:00:00")
    broken = a.parent / "broken"
    broken.mkdir()
    (broken / "session.json").write_text("{}")
    (broken / "summary.json").write_text("{not json")
    for sessions in ([a], [a.parent]):  # one session; all of them, one skipped as unreadable
        p = twitchcam("report", *sessions, "--out", tmp_path / "r.html")
        assert p.returncode == 0, p.stderr
        html = (tmp_path / "r.html").read_text()
        assert str(a) not in html and str(a.resolve()) not in html and str(tmp_path) not in html
        assert "jane.doe" not in html
        data = json.loads(html.split('id="twitchcam-data">')[1].split("</script>")[0])
        assert data["sessions"][0]["path"] == "monday" and data["sessions"][0]["summary"]["source"] == "monday.mp4"
    assert b.name in html and "broken" in html
    p = twitchcam("report", a, "--out", tmp_path / "full.html", "--full-paths")
    assert p.returncode == 0 and str(a) in (tmp_path / "full.html").read_text()


# -- item 9 -----------------------------------------------------------------------------------------
def test_chromium_runs_without_network_services_and_with_a_fresh_profile():
    args = report_pdf.chromium_args("chromium", "/tmp/profile-x")
    for flag in ("--headless", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-default-apps", "--metrics-recording-only", "--no-pings",
                 "--disable-domain-reliability", "--disable-breakpad", "--user-data-dir=/tmp/profile-x",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost"):
        assert flag in args


LOCAL = re.compile(r'inet_(?:addr|pton)\((?:AF_INET6, )?"(127\.[0-9.]+|::1|::ffff:127\.[0-9.]+)"')
# Chromium's IPv6 reachability check connect()s a UDP socket, which sends nothing.
UDP_PROBE = re.compile(r'sin6_port=htons\(443\).*"2001:4860:4860::8888"')


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("strace") and report_pdf.find_chromium()), reason="needs strace and chromium")
def test_report_pdf_makes_no_network_connection(tmp_path):
    a = user_session(tmp_path, "monday", "2026-01-05T09:00:00")
    trace = tmp_path / "trace.txt"
    proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o", str(trace),
                           sys.executable, "-m", "twitchcam.cli.main", "report", str(a), "--out",
                           str(tmp_path / "r.html"), "--pdf"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    outside = [ln for ln in trace.read_text().splitlines()
               if ("AF_INET" in ln and "sa_family=AF_UNIX" not in ln and not LOCAL.search(ln)
                   and not UDP_PROBE.search(ln))]
    assert not outside, "\n".join(outside[:10])


# -- item 11 ----------------------------------------------------------------------------------------
FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "@SUM(1+1)*cmd|' /C calc'!A0", "+1", "-5 U", "\tx", "\rx",
            "'=already quoted", "'", "''", "plain 25 U", "it's fine", ""]


def test_csv_cells_round_trip_and_never_start_a_formula():
    for value in FORMULAS + ["".join(chr(c) for c in np.random.default_rng(k).integers(32, 127, 5))
                             for k in range(300)]:
        cell = safe_cell(value)
        assert read_cell(cell) == value
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert safe_cell(-1.5) == -1.5 and safe_cell(None) is None


def test_treatment_notes_are_stored_safely_and_read_back_unchanged(tmp_path):
    log = tmp_path / "treatments.csv"
    for k, note in enumerate(n for n in FORMULAS if "\r" not in n):
        treatments.add(log, f"2024-01-{k + 1:02d}", "left", "botox", note)
    cells = [row[3] for row in csv.reader(log.open(newline=""))][1:]
    assert not any(c.startswith(("=", "+", "-", "@", "\t")) for c in cells)
    assert [t.note for t in treatments.load(log)] == [n.strip() for n in FORMULAS if "\r" not in n]
    p = twitchcam("treatment", "list", "--recordings", tmp_path)
    assert "=HYPERLINK(" in p.stdout and "'=HYPERLINK" not in p.stdout


def test_batch_csv_neutralises_formula_file_names(tmp_path):
    rows = [BatchRow("=cmd.mp4", 60.0, 95.0, 3, 3.16, 0, 0.0, "left", "complete", "@reason", "s/=cmd", 1.0)]
    write_batch_csv(rows, tmp_path / "b.csv")
    got = list(csv.DictReader((tmp_path / "b.csv").open(newline="")))[0]
    assert got["file"] == "'=cmd.mp4" and got["reason"] == "'@reason" and got["left_per_min"] == "3.16"
    assert read_cell(got["file"]) == "=cmd.mp4"
