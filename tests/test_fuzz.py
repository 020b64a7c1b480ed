"""200 seeded random mutations of a real video through `twitchcam analyze` (issue 10).

Flipped bytes, cut tails, duplicated and dropped chunks of single_face.mp4: every run ends
with exit 0, 1 or 2, at most one line on stderr (exactly one, "twitchcam: error: ...", when
it fails), no traceback, no death by a signal, and any session folder it made is one that
`twitchcam detect` reads.  Most cases run in-process through the CLI's main() in two worker
processes (tests/fuzz_worker.py; stderr captured at the file-descriptor level); a few run as
the real command, each its own process.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import ROOT

pytestmark = pytest.mark.slow
N_CASES = 200
N_SUBPROCESS = 10  # of them, run as `python -m twitchcam.cli.main analyze ...`
WORKERS = 2


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
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert code in (0, 1, 2), (case, what, code, stderr)
    assert "Traceback" not in stderr, (case, what, stderr)
    if code == 0:
        assert len(lines) <= 1, (case, what, stderr)  # at most a warning (frames skipped)
    else:
        assert len(lines) == 1 and lines[0].startswith("twitchcam: error: "), (case, what, code, stderr)


@pytest.fixture(scope="module")
def cases(tmp_path_factory, videos):
    data = videos["single_face.mp4"].read_bytes()
    folder = tmp_path_factory.mktemp("fuzz")
    paths = []
    for seed in range(N_CASES):
        path = folder / f"m{seed:03d}.mp4"
        path.write_bytes(mutate(data, seed))
        paths.append(path)
    return paths


def test_mutations_in_process(cases, tmp_path, model):
    inproc = [p for k, p in enumerate(cases) if k % (N_CASES // N_SUBPROCESS)]
    shares = [inproc[k::WORKERS] for k in range(WORKERS)]
    procs = [subprocess.Popen([sys.executable, "-m", "tests.fuzz_worker", str(tmp_path), *map(str, share)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for share in shares]
    results = []
    for proc, share in zip(procs, shares):
        out, err = proc.communicate(timeout=3600)
        started = [ln.split()[1] for ln in out.splitlines() if ln.startswith("start ")]
        done = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
        assert proc.returncode == 0, (f"worker died ({proc.returncode}) on {started[-1] if started else '?'}", err)
        assert len(done) == len(share), err
        results += done
    codes = {}
    for r in results:
        check(r["case"], r["code"], r["stderr"])
        codes[r["code"]] = codes.get(r["code"], 0) + 1
        if r["folder"]:
            check(r["case"], *r["detect"], what="detect")
            assert r["detect"][0] == 0, (r["case"], r["detect"])
    assert sum(codes.values()) == len(inproc)
    assert codes.get(0, 0) + codes.get(1, 0) > 0  # some damage still leaves something to analyse


def test_mutations_as_the_real_command(cases, tmp_path, model):
    picked = [p for k, p in enumerate(cases) if k % (N_CASES // N_SUBPROCESS) == 0]

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
