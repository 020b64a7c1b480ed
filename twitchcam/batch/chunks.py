"""`twitchcam analyze --jobs N` on ONE long video: time chunks in parallel processes.

Design (exact where it can be):
- Workers only compute per-frame RAW features (decode -> landmarks -> features) for their
  chunk [start - warmup, end), each with its own landmarker, starting by a seek.  The
  warm-up frames only warm MediaPipe's tracker and the patient tracker; they are dropped.
- The parent checks every seam: the warm-up frames of chunk i must have exactly the
  decoder timestamps of the last frames of chunk i-1 (so the seek landed inside the
  sequential frame sequence and nothing is missing or doubled).  If not (inexact seek,
  odd container), that chunk is redone by decoding from the start without seeking
  (grab() only, still exact, just slower).
- The parent concatenates the raw features in frame order and replays the causal
  filters and the streaming detector over them (the same code `analyze` runs per frame),
  writing a session folder in exactly the `analyze` format (frames.csv columns, events.csv
  with detected_at_s, summary.json, session.json).

So frames, timestamps, filter states and the detector's per-person statistics equal the
single-process run; only MediaPipe's own tracking state can differ for a few frames after
each seam (landmarks differ slightly there), which can move an event near a seam by a frame.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twitchcam.video.source import (decoder_time, grab_skipping, is_truncated,  # also sets OpenCV/FFmpeg log
                                    open_capture, retry_budget)  # levels before cv2 loads
from twitchcam.video.timing import STATE_WINDOW_S
from twitchcam.errors import Interrupted, TwitchcamError
from twitchcam.core.features import FEATURE_COLUMNS, POSE_COLUMNS


MP_CONTEXT = "spawn"  # MediaPipe starts threads; never fork a process that has them
WARMUP_S = 2.0  # a chunk starts this early so MediaPipe's tracking is warm at its seam
MIN_CHUNK_S = 5.0
AUTO_CHUNK_S = 15.0  # --jobs auto: a process is worth starting for at least this much video


@dataclass
class ChunkResult:
    """Per-frame raw output of one chunk (warm-up included; the parent trims it)."""

    t: np.ndarray  # (n,) decoder timestamps, as FileSource computes them
    pose: np.ndarray  # (n, len(POSE_COLUMNS)), NaN where no face was found
    raw: np.ndarray  # (n, len(FEATURE_COLUMNS))
    stopped_early: bool  # hit EOF before `end` (only expected for the last chunk)
    lost: np.ndarray | None = None  # (n,) undecodable frames skipped just before each frame

    def slice(self, sl: slice) -> "ChunkResult":
        lost = None if self.lost is None else self.lost[sl]
        return ChunkResult(self.t[sl], self.pose[sl], self.raw[sl], self.stopped_early, lost)

    def lost_before(self) -> np.ndarray:
        return np.zeros(self.t.size, dtype=np.int64) if self.lost is None else self.lost


def probe_video(video: Path) -> tuple[float, int, float]:
    """(fps, expected frames, duration estimate in s) the way FileSource reads them."""
    from twitchcam.video.source import FileSource

    src = FileSource(video)
    fps, n = src.fps, src.expected_frames
    src.close()
    return fps, n, n / fps if n > 0 else 0.0


def usable_cores() -> int:
    """Cores this process may run on (taskset and cgroup CPU sets included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def auto_chunks(video: Path, cores: int | None = None) -> tuple[int, float]:
    """(processes, duration s) for `--jobs auto` on one video: one time chunk per core, as long
    as every chunk holds at least AUTO_CHUNK_S of video; 1 for anything shorter or unreadable.

    A worker's start-up (about 1 s: imports, model) plus its chunk's 2-s warm-up cost about as
    much as analysing 6 s of 30-fps video, so a chunk of 15 s or more pays them back."""
    try:
        _, _, duration = probe_video(video)
    except TwitchcamError:
        return 1, 0.0  # the plain run reports what is wrong with it
    cores = usable_cores() if cores is None else cores
    return max(1, min(cores, int(duration // AUTO_CHUNK_S))), duration


def plan_chunks(duration_s: float, jobs: int, warmup_s: float, min_chunk_s: float = MIN_CHUNK_S) -> list[tuple[float, float]]:
    """[(start, end)] in seconds; the last end is +inf (read to EOF).  Chunks are at least
    max(min_chunk_s, 2 * warmup_s) long so a warm-up never reaches back past the previous seam.

    Every chunk but the first also decodes and tracks `warmup_s` before its start, so the
    first one is that much longer: each then has about the same number of frames to analyse.
    Seams fall on the landmarker's state grid (timing.STATE_WINDOW_S), where its tracking
    state is renewed, so from each seam on a chunk's landmarks are the sequential run's."""
    longest = max(min_chunk_s, 2.0 * warmup_s)
    n = max(1, min(int(jobs), int(duration_s // longest) if duration_s > 0 else 1))
    while n > 1:
        first = (duration_s + (n - 1) * warmup_s) / n
        seams = [round((first + (duration_s - first) * k / (n - 1)) / STATE_WINDOW_S) * STATE_WINDOW_S
                 for k in range(n - 1)]
        edges = [0.0] + seams + [duration_s]
        if all(b - a >= longest for a, b in zip(edges, edges[1:])):
            return [(edges[k], edges[k + 1] if k < n - 1 else math.inf) for k in range(n)]
        n -= 1  # too short to cut this often on the grid
    return [(0.0, math.inf)]


def chunk_features(video: str, model: str, mirrored: bool, start_s: float, end_s: float,
                   warmup_s: float, fps: float, seek: bool) -> ChunkResult:
    """Runs in a worker: raw features for frames with t in [~start - warmup, end).

    Its pools ignore Ctrl-C in their workers: the parent decides what it means."""
    import cv2

    from twitchcam.video.landmarks import Landmarker
    from twitchcam.video.pipeline import landmark_features
    from twitchcam.video.prefetch import Prefetched

    cap, handle = open_capture(Path(video))
    if not cap.isOpened():
        handle.close()
        raise TwitchcamError(f"{video}: not a video OpenCV can decode (corrupt or unsupported)")
    from_s = max(0.0, start_s - warmup_s)
    if from_s > 0 and seek:
        cap.set(cv2.CAP_PROP_POS_MSEC, from_s * 1000.0)
    t_list, pose, raw, lost_list = [], [], [], []
    end = {"stopped_early": True}
    # Decoded and converted a frame or two ahead, in a thread (which also releases `cap`).
    with Prefetched(_chunk_frames(cap, handle, fps, from_s, end_s, seek, mirrored, end)) as frames, \
            Landmarker(Path(model)) as landmarker:
        for t, rgb, lost in frames:
            ff, _ = landmark_features(landmarker, None, t, mirrored, rgb)
            t_list.append(t)
            pose.append(ff.pose)
            raw.append(ff.values)
            lost_list.append(lost)
    k = len(FEATURE_COLUMNS)
    return ChunkResult(np.array(t_list, dtype=np.float64), np.array(pose, dtype=np.float64).reshape(-1, len(POSE_COLUMNS)),
                       np.array(raw, dtype=np.float64).reshape(-1, k), end["stopped_early"],
                       np.array(lost_list, dtype=np.int64))


def _chunk_frames(cap, handle, fps: float, from_s: float, end_s: float, seek: bool, mirrored: bool, end: dict):
    """(t, analysis image, undecodable frames skipped just before it) of a chunk's frames, as
    FileSource times and skips them, from wherever we start; sets end["stopped_early"] to False
    when it stops at `end_s` rather than at the file's end."""
    from twitchcam.video.pipeline import analysis_image

    last = -np.inf  # decoder_time's rule, as FileSource applies it, from wherever we start
    lost = 0
    try:
        # read() is grab() + retrieve(); undecodable frames are skipped as FileSource does
        while (failed := grab_skipping(cap, retry_budget(0, 0, fps))) is not None:
            lost += failed
            t = last = decoder_time(cap, last, fps)
            if not seek and t < from_s - 0.5 / fps:
                lost = 0
                continue  # exact fallback: step through to the warm-up without converting
            ok, bgr = cap.retrieve()
            if not ok or bgr is None:
                lost += 1
                continue
            if t >= end_s:
                end["stopped_early"] = False
                break
            yield t, analysis_image(bgr, mirrored), lost
            lost = 0
    finally:
        cap.release()
        handle.close()


def _seam(prev: ChunkResult, cur: ChunkResult, start_s: float) -> int | None:
    """Index in `cur` of its first frame after the seam, if cur's warm-up frames are exactly
    prev's last frames (same decoder timestamps, nothing missing or doubled); else None."""
    if cur.t.size == 0 or prev.t.size == 0:
        return None
    n_warm = int(np.searchsorted(cur.t, start_s, side="left"))  # frames with t < start
    if n_warm == 0 or n_warm > prev.t.size:
        return None  # the seek overshot: no overlap to prove continuity
    if not np.array_equal(cur.t[:n_warm], prev.t[-n_warm:]):
        return None
    if prev.stopped_early:
        return None
    return n_warm


def _concat(parts: list[ChunkResult]) -> ChunkResult:
    return ChunkResult(np.concatenate([p.t for p in parts]), np.concatenate([p.pose for p in parts]),
                       np.concatenate([p.raw for p in parts]), parts[-1].stopped_early,
                       np.concatenate([p.lost_before() for p in parts]))


def _kill_pool(ex: ProcessPoolExecutor) -> None:
    """Ctrl-C or an error: drop queued chunks, end running workers now and reap them."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5.0)


def join_chunks(video: Path, results: list[ChunkResult], chunks: list[tuple[float, float]],
                info: dict) -> ChunkResult | int:
    """The chunks' frames in order with each warm-up trimmed off, or the index of the first
    chunk that does not line up with the one before it (an inexact seek), noted in
    info["reseeked"]: the caller redoes it without seeking and joins again."""
    parts = [results[0]]
    for k in range(1, len(chunks)):
        if results[k - 1].stopped_early:  # the file ended early (truncated): nothing after it
            info["ended_in_chunk"] = k - 1
            break
        cut = _seam(results[k - 1], results[k], chunks[k][0])
        if cut is None:
            if k in info["reseeked"]:
                raise TwitchcamError(f"{video}: chunk {k} does not line up with chunk {k - 1} even "
                                     f"without seeking; analyse it with --jobs 1")
            info["reseeked"].append(k)
            return k
        parts.append(results[k].slice(slice(cut, None)))
    merged = _concat(parts)
    if merged.t.size == 0:
        raise TwitchcamError(f"{video}: no frame could be decoded (corrupt or not a video)")
    return merged


def chunk_info(chunks: list[tuple[float, float]], warmup_s: float) -> dict:
    """What session.json records under "parallel" about how a video was cut."""
    return {"chunks": [[s, e if math.isfinite(e) else None] for s, e in chunks], "warmup_s": warmup_s,
            "reseeked": []}


PR_SET_PDEATHSIG = 1  # prctl(2)


def worker_init(parent: int) -> None:
    """Every worker process (batches and chunks): idle workers ignore Ctrl-C (no stray
    tracebacks; a running task handles exactly one), and die with the process that made them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)


def _die_with(parent: int) -> None:
    """Linux: the kernel kills this worker when the process that made it dies, however it dies
    (kill -9 included), so no orphan goes on analysing and writing sessions."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def compute_raw_chunked(video: Path, model: Path, params, chunks: list[tuple[float, float]], fps: float, jobs: int,
                        warmup_s: float = WARMUP_S, mirrored: bool = False, on_chunk=None) -> tuple[ChunkResult, dict]:
    """(joined raw features, info for session.json) for the whole video, cut as `chunks`.

    This process analyses the first chunk itself while `jobs - 1` worker processes take the
    others: one process fewer to start, and this one has its imports loaded already."""
    info = chunk_info(chunks, warmup_s)
    ctx = multiprocessing.get_context(MP_CONTEXT)
    ex = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(chunks)) - 1), mp_context=ctx,
                             initializer=worker_init, initargs=(os.getpid(),))

    def task(k: int, seek: bool = True) -> tuple:
        return (str(video), str(model), mirrored, chunks[k][0], chunks[k][1],
                warmup_s if k else 0.0, fps, seek)

    try:
        futs = [ex.submit(chunk_features, *task(k)) for k in range(1, len(chunks))]
        results = [chunk_features(*task(0))]
        if on_chunk:
            on_chunk(0, len(chunks))
        for k, f in enumerate(futs, start=1):
            results.append(f.result())
            if on_chunk:
                on_chunk(k, len(chunks))
        while not isinstance(joined := join_chunks(video, results, chunks, info), ChunkResult):
            results[joined] = ex.submit(chunk_features, *task(joined, seek=False)).result()
    except BrokenProcessPool:
        _kill_pool(ex)
        raise TwitchcamError(f"{video}: a worker process died while analysing a chunk; try --jobs 1") from None
    except BaseException:
        _kill_pool(ex)
        raise
    ex.shutdown(wait=True)
    return joined, info


def replayed(merged: ChunkResult, chain):
    """The joined features through the signal chain's stages: validity and filters over them at
    once, the detector frame by frame (the same results as frame by frame throughout)."""
    number = np.arange(merged.t.size) + np.cumsum(merged.lost_before())  # the source's frame numbers
    return chain.results(number, merged.t, merged.pose, merged.raw)


def analyze_chunked(video: Path, folder: Path, model: Path, params=None, jobs: int = 2, warmup_s: float = WARMUP_S,
                    mirrored: bool = False, show_progress: bool = True, overwrite: bool = False) -> dict:
    """Like `analyze_file` but with `jobs` processes on time chunks of one video; same session format."""
    import sys

    from twitchcam.core.stream import PipelineParams

    params = params if params is not None else PipelineParams()
    video, folder = Path(video), Path(folder)
    show_progress = show_progress and sys.stderr.isatty()  # as Progress: on a terminal only

    def on_chunk(k, n):
        if show_progress:
            sys.stderr.write(f"\r{video.name[:28]:<28} chunk {k + 1}/{n} done")
            sys.stderr.flush()

    fps, expected, duration = probe_video(video)
    chunks = plan_chunks(duration, jobs, warmup_s)
    if len(chunks) == 1:  # too short to split: the plain run, same output
        from twitchcam.video.analyze import analyze_file

        return analyze_file(video, folder, model, params, mirrored=mirrored, show_progress=show_progress,
                            overwrite=overwrite)
    try:
        merged, info = compute_raw_chunked(video, model, params, chunks, fps, jobs, warmup_s, mirrored, on_chunk)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted before {video} was fully analysed; nothing written to {folder}") from None
    finally:
        if show_progress:
            sys.stderr.write("\n")
    return write_chunked_session(video, folder, merged, fps, expected, params, mirrored, {"jobs": jobs, **info},
                                 overwrite)


def write_chunked_session(video: Path, folder: Path, merged: ChunkResult, fps: float, expected: int, params,
                          mirrored: bool, parallel: dict, overwrite: bool = False) -> dict:
    """Replay the joined features through the pipeline into a session folder; returns the summary."""
    from twitchcam.core.stream import SignalChain
    from twitchcam.store.recorder import run_session
    from twitchcam.store.session import SessionWriter, source_identity
    from twitchcam.video.pipeline import session_meta

    meta = session_meta(str(video), "analyze", fps, mirrored, params)
    meta["source_id"] = source_identity(Path(video))
    meta["parallel"] = parallel
    chain = SignalChain(fps, params)  # before the folder exists: see analyze_file
    writer = SessionWriter(Path(folder), meta, overwrite=overwrite)
    lost = merged.lost_before()
    truncated = is_truncated(merged.t.size + int(lost.sum()), expected, fps)
    count = iter(range(merged.t.size))
    try:
        summary, _ = run_session(replayed(merged, chain), chain, writer, meta,
                                 dropped=lambda: int(lost[next(count)]),
                                 end_status=lambda: "truncated" if truncated else "complete")
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; the session so far is saved in {folder}") from None
    return summary
