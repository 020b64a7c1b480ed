"""`twitchcam analyze --jobs N` on ONE long video: time chunks in parallel processes.

Design (exact where it can be):
- Workers only compute per-frame RAW features (decode -> landmarks -> features) for their
  chunk [start - warmup, end), each with its own landmarker, reading it as a time window of
  `FileSource` (the decode loop `analyze` runs, timing and skipping frames alike) starting by
  a seek.  The warm-up frames only warm MediaPipe's tracker and the patient tracker; they
  are dropped.
- The parent checks every seam: the warm-up frames of chunk i must have exactly the
  decoder timestamps of the last frames of chunk i-1 (so the seek landed inside the
  sequential frame sequence and nothing is missing or doubled).  If not (inexact seek,
  odd container), that chunk is redone by decoding from the start without seeking
  (grab() only up to its window, still exact, just slower).
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
from pathlib import Path

import numpy as np

from twitchcam.core.features import FEATURE_COLUMNS, POSE_COLUMNS
from twitchcam.errors import Interrupted, TwitchcamError
from twitchcam.run.replay import ChunkResult, write_chunked_session
from twitchcam.video.source import MAX_STEP_S, FileSource, VideoHeader, frame_stamps  # sets cv2's log levels
from twitchcam.video.timing import STATE_WINDOW_S

MP_CONTEXT = "spawn"  # MediaPipe starts threads; never fork a process that has them
WARMUP_S = 2.0  # a chunk starts this early so MediaPipe's tracking is warm at its seam
MIN_CHUNK_S = 5.0
AUTO_CHUNK_S = 15.0  # --jobs auto: a process is worth starting for at least this much video
SEAM_STEP_S = 0.5  # frames further apart are a pause in the recording: no seam, nor its warm-up, falls in one


def probe_video(video: Path) -> VideoHeader:
    """What the container says of the video (frame rate, count, duration), as FileSource reads it."""
    src = FileSource(video)
    src.close()
    return src.header


def usable_cores() -> int:
    """Cores this process may run on (taskset and cgroup CPU sets included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def auto_chunks(video: Path, cores: int | None = None) -> tuple[int, float]:
    """(processes, duration s) for `--jobs auto` on one video: one time chunk per core, as long
    as every chunk holds at least AUTO_CHUNK_S of video; 1 for anything shorter or unreadable.
    The duration of a video whose frames pause is its frames' (see Timeline), not its clock's.

    A worker's start-up (about 1 s: imports, model) plus its chunk's 2-s warm-up cost about as
    much as analysing 6 s of 30-fps video, so a chunk of 15 s or more pays them back."""
    try:
        header = probe_video(video)
    except TwitchcamError:
        return 1, 0.0  # the plain run reports what is wrong with it
    duration = header.duration_s
    if duration >= 2 * AUTO_CHUNK_S:  # worth cutting by the clock: by its frames too?
        timeline = video_timeline(video, header.fps)
        duration = timeline.duration_s if timeline is not None else duration
    cores = usable_cores() if cores is None else cores
    return max(1, min(cores, int(duration // AUTO_CHUNK_S))), duration


class Timeline:
    """Where a video's frames are, for cutting it in time: its decoder stamps, and its frame
    time, in which each pause (a step of more than SEAM_STEP_S between two frames: a recording
    of variable frame rate that stopped for a minute, or for ten hours) lasts one frame.

    Chunks planned on frame time hold about equal numbers of frames, and their seams go back
    on the decoder's clock only where frames are dense: a seam's warm-up is never a pause.
    """

    def __init__(self, stamps: np.ndarray, fps: float):
        self.t = np.sort(np.asarray(stamps, dtype=np.float64))
        steps = np.diff(self.t)
        pause = steps > SEAM_STEP_S
        self.a = self.t[0] + np.concatenate(([0.0], np.cumsum(np.where(pause, 1.0 / fps, steps))))
        self.duration_s = float(self.a[-1]) + 1.0 / fps
        cut = np.flatnonzero(pause)  # runs of frames without a pause: their first and last stamps
        self.runs = list(zip(self.t[np.concatenate(([0], cut + 1))], self.t[np.concatenate((cut, [self.t.size - 1]))]))

    @classmethod
    def of(cls, stamps: np.ndarray | None, fps: float) -> "Timeline | None":
        """The timeline of a video whose frames pause; None for one whose frames do not (it is
        cut by the clock), or whose stamps are broken (a step of more than a day, see
        video.source.frame_time: they are not the decoder's times)."""
        if stamps is None or stamps.size < 2:
            return None
        steps = np.diff(np.sort(stamps))
        if not (steps > SEAM_STEP_S).any() or (steps > MAX_STEP_S).any():
            return None
        return cls(stamps, fps)

    def frame_time(self, t_s: float) -> float:
        return float(np.interp(t_s, self.t, self.a))

    def seam_near(self, frame_time: float, warmup_s: float) -> float | None:
        """The point of the landmarker's state grid nearest `frame_time` whose warm-up
        [seam - warmup_s, seam] frames cover without a pause; None if there is none."""
        grid = [k * STATE_WINDOW_S for first, last in self.runs
                for k in range(math.ceil((first + warmup_s) / STATE_WINDOW_S), math.floor(last / STATE_WINDOW_S) + 1)]
        return min(grid, key=lambda g: abs(self.frame_time(g) - frame_time)) if grid else None


def video_timeline(video: Path, fps: float) -> Timeline | None:
    """The timeline of a video whose frames pause, from its container's stamps; else None."""
    try:
        return Timeline.of(frame_stamps(video), fps)
    except TwitchcamError:  # a name that cannot be handed to OpenCV: the analysis says so
        return None


def plan_chunks(duration_s: float, jobs: int, warmup_s: float, min_chunk_s: float = MIN_CHUNK_S,
                timeline: Timeline | None = None) -> list[tuple[float, float]]:
    """[(start, end)] in seconds; the last end is +inf (read to EOF).  Chunks are at least
    max(min_chunk_s, 2 * warmup_s) long so a warm-up never reaches back past the previous seam.

    Every chunk but the first also decodes and tracks `warmup_s` before its start, so the
    first one is that much longer: each then has about the same number of frames to analyse.
    Seams fall on the landmarker's state grid (timing.STATE_WINDOW_S), where its tracking
    state is renewed, so from each seam on a chunk's landmarks are the sequential run's.
    A video whose frames pause is cut on its `timeline`'s frame time instead of `duration_s`,
    with seams only where frames are dense."""
    longest = max(min_chunk_s, 2.0 * warmup_s)
    if timeline is not None:
        duration_s = timeline.duration_s
    n = max(1, min(int(jobs), int(duration_s // longest) if duration_s > 0 else 1))
    while n > 1:
        first = (duration_s + (n - 1) * warmup_s) / n
        ideal = [first + (duration_s - first) * k / (n - 1) for k in range(n - 1)]
        if timeline is None:
            seams = at = [round(x / STATE_WINDOW_S) * STATE_WINDOW_S for x in ideal]
        else:  # where the frames are: a seam's length is its frames'
            seams = [timeline.seam_near(x, warmup_s) for x in ideal]
            at = [math.nan if s is None else timeline.frame_time(s) for s in seams]
        edges = [0.0] + at + [duration_s]
        if all(b - a >= longest for a, b in zip(edges, edges[1:])):
            starts = [0.0] + seams
            return [(starts[k], starts[k + 1] if k < n - 1 else math.inf) for k in range(n)]
        n -= 1  # too short to cut this often on the grid (or where the frames are)
    return [(0.0, math.inf)]


def chunk_features(video: str, model: str, mirrored: bool, start_s: float, end_s: float, warmup_s: float,
                   seek: bool) -> ChunkResult:
    """Runs in a worker: raw features for frames with t in [~start - warmup, end).

    Its pools ignore Ctrl-C in their workers: the parent decides what it means."""
    import functools

    from twitchcam.video.identity import SignatureSchedule
    from twitchcam.video.landmarks import Landmarker
    from twitchcam.video.pipeline import landmark_features, prepare_frame
    from twitchcam.video.prefetch import Prefetched

    source = FileSource(video, start_s=start_s - warmup_s, end_s=end_s, seek=seek)
    schedule = SignatureSchedule()
    t, pose, raw, lost, new_track, signatures = [], [], [], [], [], []
    # Decoded and converted a frame or two ahead, in a thread (which also releases the file).
    with Prefetched(source.frames(), prepare=functools.partial(prepare_frame, mirrored=mirrored)) as frames, \
            Landmarker(Path(model)) as landmarker:
        for frame in frames:
            ff, _ = landmark_features(landmarker, None, frame.t_s, mirrored, frame.rgb, schedule)
            t.append(frame.t_s)
            pose.append(ff.pose)
            raw.append(ff.values)
            lost.append(frame.skipped_before)
            new_track.append(ff.new_track)
            signatures.append(ff.signature)
    sigs = np.empty(len(signatures), dtype=object)
    sigs[:] = signatures
    return ChunkResult(np.array(t, dtype=np.float64), np.array(pose, dtype=np.float64).reshape(-1, len(POSE_COLUMNS)),
                       np.array(raw, dtype=np.float64).reshape(-1, len(FEATURE_COLUMNS)), not source.window_ended,
                       np.array(lost, dtype=np.int64), np.array(new_track, dtype=bool), sigs)


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
    joined = [None if any(getattr(p, name) is None for p in parts) else np.concatenate([getattr(p, name) for p in parts])
              for name in ("new_track", "signatures")]
    return ChunkResult(np.concatenate([p.t for p in parts]), np.concatenate([p.pose for p in parts]),
                       np.concatenate([p.raw for p in parts]), parts[-1].stopped_early,
                       np.concatenate([p.lost_before() for p in parts]), *joined)


def _kill_pool(ex: ProcessPoolExecutor) -> None:
    """Ctrl-C or an error: end running workers now, reap them, drop queued chunks, and wait for
    the executor's manager thread (one still running at exit races Python's own atexit wake-up
    of it: see batch.pool._stop)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5.0)
    ex.shutdown(wait=True, cancel_futures=True)


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


def compute_raw_chunked(video: Path, model: Path, chunks: list[tuple[float, float]], jobs: int,
                        warmup_s: float = WARMUP_S, mirrored: bool = False, on_chunk=None) -> tuple[ChunkResult, dict]:
    """(joined raw features, info for session.json) for the whole video, cut as `chunks`.

    This process analyses the first chunk itself while `jobs - 1` worker processes take the
    others: one process fewer to start, and this one has its imports loaded already."""
    info = chunk_info(chunks, warmup_s)
    ctx = multiprocessing.get_context(MP_CONTEXT)
    ex = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(chunks)) - 1), mp_context=ctx,
                             initializer=worker_init, initargs=(os.getpid(),))

    def task(k: int, seek: bool = True) -> tuple:
        return str(video), str(model), mirrored, chunks[k][0], chunks[k][1], warmup_s if k else 0.0, seek

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

    header = probe_video(video)
    chunks = plan_chunks(header.duration_s, jobs, warmup_s, timeline=video_timeline(video, header.fps))
    if len(chunks) == 1:  # too short to split: the plain run, same output
        from twitchcam.run.analyze import analyze_file

        return analyze_file(video, folder, model, params, mirrored=mirrored, show_progress=show_progress,
                            overwrite=overwrite)
    try:
        merged, info = compute_raw_chunked(video, model, chunks, jobs, warmup_s, mirrored, on_chunk)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted before {video} was fully analysed; nothing written to {folder}") from None
    finally:
        if show_progress:
            sys.stderr.write("\n")
    return write_chunked_session(video, folder, merged, header, params, mirrored, {"jobs": jobs, **info},
                                 overwrite)
