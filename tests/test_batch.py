"""Parallel analysis: many files (run_batch) and one long file in time chunks (analyze_chunked)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.spasm_injection import write_pingpong
from twitchcam.batch import (BATCH_COLUMNS, BatchRow, format_batch_table, output_folders, parse_shard, run_batch,
                             select_shard, write_batch_csv)
from twitchcam.chunked import _chunk_worker, _probe, plan_chunks
from twitchcam.errors import TwitchcamError


# -- fast: no video ----------------------------------------------------------------------------
def test_shard_selection_is_stable_and_covers_everything():
    items = [f"v{k}" for k in range(10)]
    shards = [select_shard(items, (i, 3)) for i in range(3)]
    assert shards[0] == ["v0", "v3", "v6", "v9"] and shards[1] == ["v1", "v4", "v7"]
    assert sorted(sum(shards, [])) == sorted(items)
    assert select_shard(items, None) == items
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "1/0"):
        with pytest.raises(TwitchcamError):
            parse_shard(bad)


def test_shard_in_run_batch_and_duplicate_names(tmp_path):
    # Missing inputs are reported by the parent without starting any worker: cheap to test.
    vids = [tmp_path / "a" / "x.mp4", tmp_path / "b" / "x.mp4", tmp_path / "y.mov", tmp_path / "z.avi"]
    folders = output_folders(vids, tmp_path / "out")
    assert len(set(folders)) == 4  # same stem in two folders: still distinct sessions
    rows = run_batch(vids, tmp_path / "out", model=Path("unused"), jobs=2, shard=(1, 2), on_row=None)
    assert [r.file for r in rows] == [str(vids[1]), str(vids[3])]
    assert all(r.status == "error" and "no such file" in r.reason for r in rows)
    assert "\n" not in rows[0].reason


def test_table_and_csv(tmp_path):
    rows = [BatchRow("a.mp4", 60.0, 95.0, 3, 3.16, 0, 0.0, "left", "complete", "", "s/a", 1.0),
            BatchRow("bad.mp4", status="error", reason="bad.mp4: not a video")]
    table = format_batch_table(rows)
    assert "a.mp4" in table and "error: bad.mp4: not a video" in table
    write_batch_csv(rows, tmp_path / "batch.csv")
    with open(tmp_path / "batch.csv", newline="") as f:
        got = list(csv.DictReader(f))
    assert tuple(got[0]) == BATCH_COLUMNS
    assert got[0]["left_count"] == "3" and got[0]["affected_side"] == "left" and got[1]["left_count"] == ""


# -- slow: real videos and MediaPipe ---------------------------------------------------------------
@pytest.mark.slow
def test_batch_errors_resume_and_redo(tmp_path, videos, model):
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n" * 100)
    inputs = [videos["single_face.mp4"], fake, videos["no_face.mp4"]]
    out = tmp_path / "out"
    seen = []
    rows = run_batch(inputs, out, model, jobs=2, on_row=lambda r, d, n: seen.append((r.file, d, n)))
    assert [r.status for r in rows] == ["complete", "error", "complete"]
    assert "not a video" in rows[1].reason and "\n" not in rows[1].reason
    assert rows[0].duration_s > 2 and rows[0].valid_pct > 50 and rows[0].left_count is not None
    assert sorted(d for _, d, _ in seen) == [1, 2, 3] and all(n == 3 for _, _, n in seen)
    single = out / "single_face"
    assert json.loads((single / "session.json").read_text())["status"] == "complete"
    frames_mtime = (single / "frames.csv").stat().st_mtime_ns

    # Mark no_face as cut off mid-run: the rerun must redo it and skip the complete one.
    meta_path = out / "no_face" / "session.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "status": "running"}))
    rows2 = run_batch(inputs, out, model, jobs=2, on_row=None)
    assert rows2[0].status == "complete" and rows2[0].reason.startswith("skipped")
    assert (single / "frames.csv").stat().st_mtime_ns == frames_mtime  # not rewritten
    assert rows2[2].status == "complete" and not rows2[2].reason.startswith("skipped")
    assert json.loads(meta_path.read_text())["status"] == "complete"
    assert rows2[1].status == "error"


@pytest.fixture(scope="module")
def long_video(tmp_path_factory, videos):
    path = tmp_path_factory.mktemp("long") / "pingpong.avi"
    write_pingpong(videos["WolfgangLanger_Pexels.mp4"], path, 30.0)
    return path


@pytest.mark.slow
def test_chunked_equals_sequential(tmp_path, long_video, model):
    from twitchcam.analyze import analyze_file
    from twitchcam.chunked import analyze_chunked
    from twitchcam.session import FRAME_COLUMNS, read_events, read_session

    seq, par = tmp_path / "seq", tmp_path / "par"
    s1 = analyze_file(long_video, seq, model, show_progress=False)
    s2 = analyze_chunked(long_video, par, model, jobs=2, warmup_s=2.0, show_progress=False)
    a, b = read_session(seq), read_session(par)
    assert len(a.t) == len(b.t) == s1["frames"] == s2["frames"]
    assert np.array_equal(a.frame, b.frame) and np.array_equal(a.t, b.t)  # same decode, bit for bit
    with open(par / "frames.csv") as f:
        assert tuple(f.readline().strip().split(",")) == FRAME_COLUMNS
    meta = json.loads((par / "session.json").read_text())
    assert meta["status"] == "complete" and len(meta["parallel"]["chunks"]) == 2
    seams = [c[0] for c in meta["parallel"]["chunks"][1:]]
    # Events: equal, except onsets may move by one frame near a seam (MediaPipe tracking restarts).
    ea, eb = read_events(seq), read_events(par)
    assert len(ea) == len(eb)
    frame = 1.0 / a.fps
    for x, y in zip(ea, eb):
        near_seam = any(abs(x.onset_s - s) < 3.0 or abs(x.offset_s - s) < 3.0 for s in seams)
        if near_seam:
            assert (x.side, x.kind) == (y.side, y.kind)
            assert abs(x.onset_s - y.onset_s) <= frame + 1e-9
        else:
            assert x.key() == y.key()
    # Away from seams (beyond the warm-up) the raw features are identical.
    far = np.all([np.abs(a.t - s) > 3.0 for s in seams], axis=0)
    assert np.array_equal(np.nan_to_num(a.raw[far], nan=-1), np.nan_to_num(b.raw[far], nan=-1))
    for side in ("left", "right"):
        assert s1["spasms"][side]["count"] == s2["spasms"][side]["count"]


@pytest.mark.slow
def test_seek_matches_sequential_timestamps(long_video, model):
    """A seeked chunk and the exact no-seek fallback see the same frames with the same stamps."""
    from twitchcam.features import FeatureParams

    fps, n, duration = _probe(long_video)
    assert plan_chunks(duration, 4, 2.0)[-1][1] == float("inf")
    s, e = 12.0, 13.0
    seek = _chunk_worker(str(long_video), str(model), FeatureParams(), False, s, e, 0.5, fps, True)
    grab = _chunk_worker(str(long_video), str(model), FeatureParams(), False, s, e, 0.5, fps, False)
    cap = cv2.VideoCapture(str(long_video))
    ts = []
    while cap.grab():
        ts.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    ts = np.array(ts)
    want = ts[(ts >= s) & (ts < e)]
    assert np.array_equal(grab.t[grab.t >= s], want)
    assert np.array_equal(seek.t[seek.t >= s], want)


# -- start-up cost: what the parent and each worker import ---------------------------------------
def _run_python(code: str) -> str:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_batch_parent_loads_neither_mediapipe_nor_scipy_signal(tmp_path, videos):
    """The parent only hands out work; loading MediaPipe and scipy.signal (~2 s) there would
    delay every worker's start.  Drive the real CLI with run_batch replaced by a probe."""
    a, b = videos["single_face.mp4"], videos["no_face.mp4"]
    code = (
        "import sys\n"
        "import twitchcam.batch as batch\n"
        "from twitchcam import cli\n"
        "seen = []\n"
        "batch.run_batch = lambda *a, **k: seen.append(sorted(m for m in ('mediapipe', 'scipy.signal') "
        "if m in sys.modules)) or []\n"
        f"cli.main(['analyze', {str(a)!r}, {str(b)!r}, '--jobs', '2', '--out', {str(tmp_path)!r}])\n"
        "print(seen)\n")
    assert _run_python(code) == "[[]]"


def test_mediapipe_import_leaves_matplotlib_unloaded_but_usable():
    code = (
        "import sys\n"
        "import twitchcam.landmarks\n"
        "before = 'matplotlib' in sys.modules\n"
        "from mediapipe.tasks.python.vision import drawing_utils\n"
        "import matplotlib.pyplot as plt\n"
        "print(before, type(plt) is type(sys), drawing_utils.plt.figure is plt.figure)\n")
    assert _run_python(code) == "False True True"


# -- dask.distributed ------------------------------------------------------------------------------
def test_dask_unreachable_scheduler_is_one_line_error(tmp_path):
    pytest.importorskip("distributed")
    import time

    from twitchcam.batch import connect_dask

    t0 = time.monotonic()
    with pytest.raises(TwitchcamError, match="cannot reach dask scheduler tcp://127.0.0.1:1") as err:
        connect_dask("tcp://127.0.0.1:1", timeout_s=2.0)
    assert time.monotonic() - t0 < 10 and "\n" not in str(err.value)


@pytest.mark.slow
def test_dask_local_cluster(tmp_path, videos, model):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from twitchcam.batch import run_batch_dask

    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n" * 100)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        rows = run_batch_dask([videos["single_face.mp4"], fake], tmp_path / "out", model,
                              scheduler=cluster.scheduler_address, on_row=None)
    assert [r.status for r in rows] == ["complete", "error"]
    assert "not a video" in rows[1].reason
    assert json.loads((tmp_path / "out" / "single_face" / "session.json").read_text())["status"] == "complete"
