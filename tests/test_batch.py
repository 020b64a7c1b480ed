"""Parallel analysis: many files (run_batch) and one long file in time chunks (analyze_chunked)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.test_cli import needs_tmpfs, on_full_disk
from twitchcam.batch import pool as batch
from twitchcam.batch.chunks import chunk_features, plan_chunks, probe_video
from twitchcam.batch.pool import (
    BATCH_COLUMNS,
    BatchRow,
    chunk_plan,
    format_batch_table,
    output_folders,
    parse_shard,
    run_batch,
    select_shard,
    write_batch_csv,
)
from twitchcam.errors import TwitchcamError
from twitchcam.synth.inject import write_pingpong


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


def test_chunk_plan_cuts_only_what_would_run_alone():
    # Many short videos: nothing is cut (no warm-up spent).
    assert chunk_plan([30.0] * 8, 2) == [None] * 8
    assert chunk_plan([3600.0, 3600.0], 1) == [None, None]
    # Three one-hour videos on 8 workers: every piece at most a quarter of a worker's share.
    plans = chunk_plan([3600.0] * 3, 8)
    share = 3 * 3600.0 / 8
    for chunks in plans:
        assert chunks[0][0] == 0.0 and chunks[-1][1] == float("inf")
        ends = [e for _, e in chunks[:-1]] + [3600.0]
        lengths = [e - s for (s, _), e in zip(chunks, ends)]
        assert all(batch.PIECE_MIN_S <= x <= share / batch.TAIL_SHARE + 1e-9 for x in lengths)
        assert all(e == s2 for (_, e), (s2, _) in zip(chunks, chunks[1:]))  # no gap, no overlap
    assert sum(len(c) for c in plans) >= 8
    # One long video among short ones is cut; the short ones stay whole; nothing below the minimum.
    plans = chunk_plan([3600.0] + [60.0] * 20, 4)
    assert len(plans[0]) > 1 and plans[1:] == [None] * 20
    assert chunk_plan([batch.SPLIT_MIN_S - 1, 10.0], 8) == [None, None]


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


@pytest.fixture(scope="module")
def sequential(tmp_path_factory, long_video, model):
    """The --jobs 1 session of long_video, which every parallel run must reproduce."""
    from twitchcam.run.analyze import analyze_file

    folder = tmp_path_factory.mktemp("seq") / "seq"
    analyze_file(long_video, folder, model, show_progress=False)
    return folder


def assert_same_as_sequential(seq: Path, par: Path, n_chunks: int) -> None:
    """Same frames bit for bit; same events, except onsets may move by one frame near a seam
    (MediaPipe's tracking restarts there); identical raw features beyond the warm-up."""
    from twitchcam.store.reader import read_events, read_stored_session
    from twitchcam.store.session import FRAME_COLUMNS

    a, b = read_stored_session(seq), read_stored_session(par)
    assert len(a.t) == len(b.t)
    assert np.array_equal(a.frame, b.frame) and np.array_equal(a.t, b.t)  # same decode, bit for bit
    with open(par / "frames.csv") as f:
        assert tuple(f.readline().strip().split(",")) == FRAME_COLUMNS
    meta = json.loads((par / "session.json").read_text())
    assert meta["status"] == "complete" and len(meta["parallel"]["chunks"]) == n_chunks
    seams = [c[0] for c in meta["parallel"]["chunks"][1:]]
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
    far = np.all([np.abs(a.t - s) > 3.0 for s in seams], axis=0)
    assert np.array_equal(np.nan_to_num(a.raw[far], nan=-1), np.nan_to_num(b.raw[far], nan=-1))
    s1, s2 = (json.loads((f / "summary.json").read_text()) for f in (seq, par))
    assert s1["frames"] == s2["frames"]
    for side in ("left", "right"):
        assert s1["spasms"][side]["count"] == s2["spasms"][side]["count"]


@pytest.mark.slow
def test_chunked_equals_sequential(tmp_path, long_video, sequential, model):
    from twitchcam.batch.chunks import analyze_chunked

    analyze_chunked(long_video, tmp_path / "par", model, jobs=2, warmup_s=2.0, show_progress=False)
    assert_same_as_sequential(sequential, tmp_path / "par", 2)


@pytest.fixture
def small_pieces(monkeypatch):
    """Let a batch cut the 30-s test video (the real thresholds are minutes)."""
    monkeypatch.setattr(batch, "SPLIT_MIN_S", 10.0)
    monkeypatch.setattr(batch, "PIECE_MIN_S", 8.0)


@pytest.mark.slow
def test_batch_cuts_a_long_video_and_joins_it_like_sequential(tmp_path, long_video, sequential, videos, model,
                                                              small_pieces):
    inputs = [long_video, videos["single_face.mp4"]]
    rows = run_batch(inputs, tmp_path / "out", model, jobs=2, on_row=None)
    assert [r.status for r in rows] == ["complete", "complete"], rows
    assert_same_as_sequential(sequential, Path(rows[0].session), 3)  # 30 s in pieces of >= 8 s
    assert "parallel" not in json.loads((Path(rows[1].session) / "session.json").read_text())


@pytest.mark.slow
def test_batch_cut_video_that_is_truncated(tmp_path, long_video, videos, model, small_pieces):
    """The header promises 30 s, the data stops early: what decoded is analysed, status truncated."""
    from twitchcam.run.analyze import analyze_file

    cut = tmp_path / "cut.avi"
    data = long_video.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.45)])
    rows = run_batch([cut, videos["single_face.mp4"]], tmp_path / "out", model, jobs=2, on_row=None)
    assert rows[0].status == "truncated" and "truncated" in rows[0].reason, rows[0]
    alone = analyze_file(cut, tmp_path / "alone", model, show_progress=False)
    got = json.loads((Path(rows[0].session) / "summary.json").read_text())
    assert got["frames"] == alone["frames"] and alone["status"] == "truncated"


@pytest.mark.slow
def test_batch_ctrl_c_stops_at_once_and_a_rerun_resumes(tmp_path, long_video, videos):
    """Ctrl-C from the terminal (SIGINT to the whole process group) while chunks and whole
    videos run: exit 130 with one line, finished sessions kept, a rerun does only the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time

    inputs = [long_video, videos["WolfgangLanger_Pexels.mp4"], videos["single_face.mp4"], videos["no_face.mp4"]]
    code = ("import sys\nfrom twitchcam.batch import pool as batch\nfrom twitchcam.cli import main as cli\nbatch.SPLIT_MIN_S, batch.PIECE_MIN_S = 10.0, 8.0\n"
            "sys.exit(cli.main(sys.argv[1:]))\n")
    argv = [sys.executable, "-c", code, "analyze", *map(str, inputs), "--jobs", "2", "--out", str(tmp_path / "out")]
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    first = proc.stderr.readline()  # "[1/4] ...": one session done, the rest under way
    assert first.startswith("[1/4]"), first + proc.communicate(timeout=60)[1]
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=60)
    err = first + err
    assert time.monotonic() - t0 < batch.STOP_GRACE_S / 2  # chunk workers end at once
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("twitchcam: error: interrupted:") and "Traceback" not in err, err
    done = [f for f in (tmp_path / "out").iterdir()
            if json.loads((f / "session.json").read_text()).get("status") == "complete"]
    assert 1 <= len(done) < len(inputs)
    rerun = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count("skipped: already complete") == len(done)
    for f in (tmp_path / "out").iterdir():
        assert json.loads((f / "session.json").read_text())["status"] == "complete"


@pytest.mark.slow
def test_jobs_auto_cuts_only_a_video_long_enough(long_video, videos, capsys):
    from twitchcam.batch.chunks import AUTO_CHUNK_S, auto_chunks, usable_cores
    from twitchcam.cli.main import _auto_jobs

    jobs, duration = auto_chunks(long_video, cores=8)
    assert duration == pytest.approx(30.0, abs=0.5) and jobs == int(duration // AUTO_CHUNK_S) >= 1
    assert auto_chunks(long_video, cores=1)[0] == 1
    assert auto_chunks(videos["single_face.mp4"], cores=8)[0] == 1  # a few seconds: not worth a worker
    assert _auto_jobs([videos["single_face.mp4"]]) == 1 and capsys.readouterr().err == ""
    assert _auto_jobs([long_video, long_video]) == 1  # several videos: one after the other, as before
    jobs = _auto_jobs([long_video])
    assert jobs == min(usable_cores(), int(duration // AUTO_CHUNK_S))
    err = capsys.readouterr().err
    assert (f"{jobs} time chunks" in err) == (jobs > 1)


@pytest.mark.slow
def test_seek_matches_sequential_timestamps(long_video, model):
    """A seeked chunk and the exact no-seek fallback see the same frames with the same stamps."""

    assert plan_chunks(probe_video(long_video).duration_s, 4, 2.0)[-1][1] == float("inf")
    s, e = 12.0, 13.0
    seek = chunk_features(str(long_video), str(model), False, s, e, 0.5, True)
    grab = chunk_features(str(long_video), str(model), False, s, e, 0.5, False)
    cap = cv2.VideoCapture(str(long_video))
    ts = []
    while cap.grab():
        ts.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    ts = np.array(ts)
    want = ts[(ts >= s) & (ts < e)]
    assert np.array_equal(grab.t[grab.t >= s], want)
    assert np.array_equal(seek.t[seek.t >= s], want)


@pytest.mark.slow
@needs_tmpfs
def test_batch_full_disk_on_one_session_is_its_error_only(tmp_path, videos, model):
    """A disk that fills while one session is written fails that session with one line;
    the others finish (on a disk with room) and the batch says so."""
    import sys

    inputs = [videos["single_face.mp4"], videos["no_face.mp4"]]
    disk, roomy = tmp_path / "disk", tmp_path / "roomy"
    script = ("import json, sys\nfrom pathlib import Path\nfrom twitchcam.batch.pool import run_batch\n"
              "a, b, model, disk, roomy = sys.argv[1:]\n"
              "full = run_batch([Path(a)], Path(disk), Path(model), jobs=1, on_row=None)\n"
              "ok = run_batch([Path(b)], Path(roomy), Path(model), jobs=1, on_row=None)\n"
              "print(json.dumps([[r.status, r.reason] for r in full + ok]))\n")
    p, rc, _ = on_full_disk(disk, 48, [sys.executable, "-c", script, *inputs, model, disk, roomy])
    assert rc == 0, p.stderr
    (full_status, full_reason), (ok_status, _) = json.loads(p.stdout.strip().splitlines()[-1])
    assert full_status == "error" and "disk full" in full_reason and "\n" not in full_reason
    assert ok_status == "complete"


@pytest.mark.slow
def test_one_long_video_ctrl_c_is_one_line_and_writes_nothing(tmp_path, long_video):
    """Ctrl-C during `analyze LONG --jobs 2`: exit 130 at once, one line, no half session."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "twitchcam.cli.main", "analyze", str(long_video), "--jobs", "2",
                             "--out", str(out)], cwd=Path(__file__).resolve().parent.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    # Workers started and ignoring Ctrl-C (however slow a loaded machine makes that), chunks far from done.
    deadline = time.monotonic() + 60
    while not _workers_ignore_sigint(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("twitchcam: error: interrupted before")
    assert not out.exists()


def _workers_ignore_sigint(pid: int) -> bool:
    """The process has worker children and all of them ignore SIGINT (their initializer ran)."""
    workers = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            workers += (task / "children").read_text().split()
        except OSError:
            pass
    ignoring = []
    for child in workers:
        try:
            status = Path(f"/proc/{child}/status").read_text()
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            return False
        if b"resource_tracker" in cmd:
            continue
        ignored = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigIgn:")), 16)
        ignoring.append(bool(ignored & (1 << (2 - 1))))  # bit of SIGINT (2)
    return bool(ignoring) and all(ignoring)


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
        "import twitchcam.batch.pool as batch\n"
        "from twitchcam.cli import main as cli\n"
        "seen = []\n"
        "batch.run_batch = lambda *a, **k: seen.append(sorted(m for m in ('mediapipe', 'scipy.signal') "
        "if m in sys.modules)) or []\n"
        f"cli.main(['analyze', {str(a)!r}, {str(b)!r}, '--jobs', '2', '--out', {str(tmp_path)!r}])\n"
        "print(seen)\n")
    assert _run_python(code) == "[[]]"


def test_mediapipe_import_leaves_matplotlib_unloaded_but_usable():
    code = (
        "import sys\n"
        "import twitchcam.video.landmarks\n"
        "before = 'matplotlib' in sys.modules\n"
        "from mediapipe.tasks.python.vision import drawing_utils\n"
        "import matplotlib.pyplot as plt\n"
        "print(before, type(plt) is type(sys), drawing_utils.plt.figure is plt.figure)\n")
    assert _run_python(code) == "False True True"


# -- dask.distributed ------------------------------------------------------------------------------
def test_dask_unreachable_scheduler_is_one_line_error(tmp_path):
    pytest.importorskip("distributed")
    import time

    from twitchcam.batch.pool import connect_dask

    t0 = time.monotonic()
    with pytest.raises(TwitchcamError, match="cannot reach dask scheduler tcp://127.0.0.1:1") as err:
        connect_dask("tcp://127.0.0.1:1", timeout_s=2.0)
    assert time.monotonic() - t0 < 10 and "\n" not in str(err.value)


@pytest.mark.slow
def test_dask_local_cluster(tmp_path, videos, model, long_video, sequential, small_pieces):
    """The same batch on dask.distributed: a bad file is its own error, and a long video is
    cut into chunks across the cluster and joined exactly as on one machine."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from twitchcam.batch.pool import run_batch_dask

    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n" * 100)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        rows = run_batch_dask([videos["single_face.mp4"], fake, long_video], tmp_path / "out", model,
                              scheduler=cluster.scheduler_address, on_row=None)
    assert [r.status for r in rows] == ["complete", "error", "complete"], rows
    assert "not a video" in rows[1].reason
    assert json.loads((tmp_path / "out" / "single_face" / "session.json").read_text())["status"] == "complete"
    assert_same_as_sequential(sequential, Path(rows[2].session), 3)


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


@pytest.mark.slow
@pytest.mark.parametrize("what", ["batch", "long"])
def test_workers_die_with_a_killed_parent(tmp_path, long_video, videos, what):
    """kill -9 of `analyze --jobs 2` (a batch, or one long video in chunks): its workers die with
    it instead of living on as orphans that write sessions and then block forever."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "in"
    src.mkdir()
    if what == "batch":
        for k in range(3):
            shutil.copy(long_video, src / f"v{k}.avi")
        target = src
    else:
        target = long_video
    proc = subprocess.Popen([sys.executable, "-m", "twitchcam.cli.main", "analyze", str(target), "--jobs", "2",
                             "--out", str(tmp_path / "out")],
                            cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 90
    while not _workers_ignore_sigint(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [c for c in _children(proc.pid) if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]
    assert proc.poll() is None and workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{w}").exists() and "zombie" not in Path(f"/proc/{w}/status").read_text()
              for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [w for w in workers if Path(f"/proc/{w}").exists() and "zombie" not in Path(f"/proc/{w}/status").read_text()]
    for w in alive:  # leave nothing behind whatever the outcome
        os.kill(w, signal.SIGKILL)
    assert not alive


def _busy_executor():
    import time

    ex = batch._new_executor()
    fut = ex.submit(time.sleep, 60)
    deadline = time.monotonic() + 60
    while not fut.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ex._executor_manager_thread is not None and ex._executor_manager_thread.is_alive()
    return ex, fut


def test_a_stopped_batch_leaves_no_executor_thread_running():
    """Ctrl-C ends the workers and waits for each executor's manager thread: one still running at
    exit races Python's atexit wake-up of it ('OSError: [Errno 9] Bad file descriptor' after the
    one-line message).  Every executor is ended, also one at work that the interruption kept
    from being noted as running, and an idle one."""
    import time

    running, running_fut = _busy_executor()
    stray, _ = _busy_executor()
    idle = batch._new_executor()
    threads = [ex._executor_manager_thread for ex in (running, stray)]
    t0 = time.monotonic()
    batch._stop({running_fut: (batch._Task("chunk", 0, 0.0), running, 0.0)})
    batch._shutdown_all([running, stray, idle], [idle])
    assert not any(t.is_alive() for t in threads) and time.monotonic() - t0 < batch.STOP_GRACE_S / 2


def test_a_killed_chunk_pool_leaves_no_executor_thread_running():
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    from twitchcam.batch import chunks

    ex = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context(batch.MP_CONTEXT))
    futs = [ex.submit(time.sleep, 60) for _ in range(3)]  # two running, one queued
    thread = ex._executor_manager_thread
    t0 = time.monotonic()
    chunks._kill_pool(ex)
    assert not thread.is_alive() and time.monotonic() - t0 < 15
    assert futs[2].cancelled() or futs[2].done()
