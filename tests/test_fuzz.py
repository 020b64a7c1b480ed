"""Seeded random damage (issues 10 and 17): every command ends with one clear line, never a crash.

Two families, each of $TWITCHCAM_FUZZ_CASES cases (200 in CI and by default; fewer in the fast
tier, see tests/conftest.py; $TWITCHCAM_FUZZ_SEEDS=3,17 runs just those seeds again):

- videos (slow, MediaPipe): flipped bytes, cut tails, duplicated and dropped chunks of
  single_face.mp4 through `twitchcam analyze`: exit 0, 1 or 2, at most one line on stderr
  (exactly one, "twitchcam: error: ...", when it fails), no traceback, no death by a signal,
  and any session folder it made is one that `twitchcam detect` reads;
- stored files and options (fast, no video): a finished session's session.json or summary.json
  (types, deep nesting, huge numbers, NaN, huge sizes, broken text, keys removed), its
  frames.csv or events.csv (huge first row, huge fields, cut, random bytes, rows repeated, an
  open quote), or strange values of numeric options (nan, inf, negative, huge, text) given to
  `sessions`, `detect`, `report` and `analyze` (tests/fuzz_stored.py): each ends with one clear
  line and exit 1 or 2 (or succeeds), never exit 70, `sessions` and a report of the folder still
  show the other session, and no file of a finished session changes.

Cases run in-process through the CLI's main() in two worker processes (tests/fuzz_worker.py;
stderr captured at the file-descriptor level); a few videos run as the real command, each its
own process.
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import ROOT

SUBPROCESS_EVERY = 20  # of the video cases, seeds 0, 20, 40, ... run as `python -m twitchcam.cli.main analyze`
WORKERS = 2
ERROR_LINE = re.compile(r"twitchcam( [a-z]+)?: error: \S")
MAX_LINE = 2000  # a clear line names what is wrong; it does not repeat a megabyte of it


def mutate(data: bytes, seed: int) -> bytes:
    """One seeded damage: flipped bytes, a cut tail, a duplicated or a dropped chunk."""
    rng = np.random.default_rng(seed)
    n = len(data)
    kind = seed % 4
    if kind == 0:  # a few runs of flipped bytes
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 8))):
            at = int(rng.integers(0, n))
            seg = np.frombuffer(bytes(b[at:at + int(rng.integers(1, 4096))]), np.uint8)
            b[at:at + seg.size] = (seg ^ rng.integers(1, 256, seg.size, dtype=np.uint8)).tobytes()
        return bytes(b)
    if kind == 1:  # the tail cut off
        return data[:int(rng.integers(0, n))]
    at, length = int(rng.integers(0, n)), int(rng.integers(1, 65536))
    if kind == 2:  # a chunk duplicated elsewhere
        to = int(rng.integers(0, n))
        return data[:to] + data[at:at + length] + data[to:]
    return data[:at] + data[at + length:]  # a chunk dropped


def check(case: str, code: int, stderr: str, what: str = "analyze") -> None:
    """Exit 0, 1 or 2; a failure is exactly one line "twitchcam: error: ..."; success prints at
    most one line (a warning); never a traceback, never exit 70 (internal error); no line of
    more than MAX_LINE characters."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert code in (0, 1, 2), (case, what, code, stderr[:MAX_LINE])
    assert all(len(ln) <= MAX_LINE for ln in lines), (case, what, "a line too long", stderr[:MAX_LINE])
    assert "Traceback" not in stderr, (case, what, stderr)
    if code == 0:
        assert len(lines) <= 1, (case, what, stderr)  # at most a warning (frames skipped)
        assert not lines or lines[0].startswith("twitchcam: warning: "), (case, what, stderr)
    else:
        assert len(lines) == 1 and ERROR_LINE.match(lines[0]), (case, what, code, stderr)


def run_workers(mode: str, out: Path, fixed: list[str], items: list[str]) -> list[dict]:
    """Items shared out to WORKERS fuzz_worker processes; their JSON results."""
    shares = [items[k::WORKERS] for k in range(WORKERS)]
    procs = [subprocess.Popen([sys.executable, "-m", "tests.fuzz_worker", mode, str(out), *fixed, *share], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for share in shares if share]
    results = []
    for proc, share in zip(procs, shares):
        out_text, err = proc.communicate(timeout=3600)
        started = [ln.split()[1] for ln in out_text.splitlines() if ln.startswith("start ")]
        done = [json.loads(ln) for ln in out_text.splitlines() if ln.startswith("{")]
        assert proc.returncode == 0, (f"worker died ({proc.returncode}) on case {started[-1] if started else '?'}",
                                      err[-3000:])
        assert len(done) == len(share), err[-3000:]
        results += done
    return results


# -- damaged videos ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cases(tmp_path_factory, videos, fuzz_seeds):
    data = videos["single_face.mp4"].read_bytes()
    folder = tmp_path_factory.mktemp("fuzz")
    paths = []
    for seed in fuzz_seeds:
        path = folder / f"m{seed:03d}.mp4"
        path.write_bytes(mutate(data, seed))
        paths.append(path)
    return paths


def _seed(path: Path) -> int:
    return int(path.stem[1:])


def test_mutations_in_process(cases, tmp_path, model):
    inproc = [str(p) for p in cases if _seed(p) % SUBPROCESS_EVERY]
    codes = {}
    for r in run_workers("video", tmp_path, [], inproc):
        check(r["case"], r["code"], r["stderr"])
        codes[r["code"]] = codes.get(r["code"], 0) + 1
        if r["folder"]:
            check(r["case"], *r["detect"], what="detect")
            assert r["detect"][0] == 0, (r["case"], r["detect"])
    assert sum(codes.values()) == len(inproc)
    if len(inproc) >= 20:
        assert codes.get(0, 0) + codes.get(1, 0) > 0  # some damage still leaves something to analyse


def test_mutations_as_the_real_command(cases, tmp_path, model):
    picked = [p for p in cases if _seed(p) % SUBPROCESS_EVERY == 0]

    def run(path: Path):
        out = tmp_path / path.stem
        proc = subprocess.run([sys.executable, "-m", "twitchcam.cli.main", "analyze", str(path), "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
        detect = None
        if out.exists():
            d = subprocess.run([sys.executable, "-m", "twitchcam.cli.main", "detect", str(out)], cwd=ROOT,
                               capture_output=True, text=True, timeout=600)
            detect = (d.returncode, d.stderr)
        return path.stem, proc.returncode, proc.stderr, detect

    with ThreadPoolExecutor(WORKERS) as pool:
        for case, code, stderr, detect in pool.map(run, picked):
            assert code >= 0, f"{case}: killed by {signal.Signals(-code).name}"
            check(case, code, stderr)
            if detect is not None:
                check(case, *detect, what="detect")
                assert detect[0] == 0, (case, detect)


# -- damaged session files and strange option values ------------------------------------------------
def test_damaged_session_files_and_option_values(recorded_sessions, fuzz_seeds, tmp_path):
    from tests import fuzz_stored

    template = fuzz_stored.template(recorded_sessions, tmp_path)
    model = fuzz_stored.model_for_analyze(tmp_path)
    results = run_workers("stored", tmp_path, [str(template), str(model)], [str(s) for s in fuzz_seeds])
    assert sorted(r["seed"] for r in results) == sorted(fuzz_seeds)
    met = set()
    for r in sorted(results, key=lambda r: r["seed"]):
        case = f"seed {r['seed']}: {r['family']} {r['kind']} {r['file']} {r['what']}"
        met.add((r["family"], r["kind"]))
        for run in r["runs"]:
            check(case, run["code"], run["stderr"], what=" ".join(run["argv"]))
            command = run["argv"][0]
            if command == "sessions":  # one bad session never hides the others
                assert run["code"] == 0 and "intact" in run["listed"], (case, run)
            if command == "report" and run["argv"][1] == "REC" and r["family"] != "option":
                assert run["code"] == 0 and "intact" in r["all_html_names"], (case, run, r["all_html_names"])
            if command == "analyze":  # nothing analysable here: refused, and no session made
                assert run["code"] != 0, (case, run)
        assert r["changed"] == [], (case, "a finished session's files changed", r["changed"])
        assert not r["new_session"], (case, "analyze left a session folder")
    if len(fuzz_seeds) >= len(fuzz_stored.KINDS):
        assert met == set(fuzz_stored.KINDS)
