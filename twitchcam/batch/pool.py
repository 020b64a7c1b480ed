"""`twitchcam analyze --jobs N`: many videos at once, one worker process per job.

Each worker process runs `analyze_file` (its own MediaPipe landmarker) on one video at a
time and writes that video's session folder, exactly as a sequential run would.  Long
videos are cut into time chunks scheduled like any other work (see `chunk_plan`), so the
last videos of a batch do not run alone while the other workers idle.

- Resumable, by the rule `analyze` of one video follows too (`twitchcam.run.plan`): an input
  whose session folder already holds a complete session of that very file, unchanged (size,
  mtime, hash of its first and last MiB), is skipped; "running"/"interrupted"/"truncated" or
  missing ones are redone, and so is one whose file changed (its row says so).
  `overwrite=True` redoes them all.
- Sharding: ``shard=(i, n)`` keeps inputs i, i+n, i+2n, ... of the full, stable input list
  (0-based; the CLI spelling ``--shard i/N`` is 0-based too, see `parse_shard`).  Folder names
  are decided over the full list (`twitchcam.store.paths.output_folders`), so shards on
  different machines never collide.
- One bad file never stops the batch: it gets status "error" and a one-line reason.  A worker
  that crashes outright (segfault) takes only its own file with it: each worker is its own
  single-process pool, so a broken pool is attributed to exactly one input.
- Ctrl-C: nothing new is started, running workers finalise their sessions as "interrupted"
  (so a rerun redoes them), finished sessions stay; then `Interrupted` is raised.
"""
from __future__ import annotations

import csv
import io
import math
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Sequence

from twitchcam.batch.chunks import (
    MP_CONTEXT,
    WARMUP_S,
    Timeline,
    chunk_features,
    chunk_info,
    join_chunks,
    plan_chunks,
    probe_video,
    video_timeline,
    worker_init,
)
from twitchcam.core.anatomy import SIDES
from twitchcam.errors import Interrupted, TwitchcamError
from twitchcam.run.plan import plan_input
from twitchcam.run.replay import ChunkResult, write_chunked_session
from twitchcam.store.atomic import write_text_atomic
from twitchcam.store.csvcell import safe_cell
from twitchcam.store.paths import output_folders
from twitchcam.store.reader import read_json_or_none
from twitchcam.store.session import SUMMARY_FILE
from twitchcam.video.source import VideoHeader

STOP_GRACE_S = 30.0  # after Ctrl-C, how long running workers get to finalise their sessions
SPLIT_MIN_S = 120.0  # a batch cuts only videos at least this long...
PIECE_MIN_S = 60.0  # ...into chunks at least this long (the warm-up stays under 4 %)...
TAIL_SHARE = 4  # ...and about a quarter of one worker's fair share of the batch


@dataclass
class BatchRow:
    """One line of the batch table / CSV."""

    file: str
    duration_s: float | None = None
    valid_pct: float | None = None
    left_count: int | None = None
    left_per_min: float | None = None
    right_count: int | None = None
    right_per_min: float | None = None
    affected_side: str | None = None
    status: str = "error"  # complete | truncated | interrupted | error (skipped ones: complete + reason)
    reason: str = ""
    session: str = ""
    wall_s: float | None = None


BATCH_COLUMNS = tuple(f.name for f in fields(BatchRow))


def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' -> (i, N), 0 <= i < N (0-based: shards 0/2 and 1/2 together cover everything)."""
    try:
        i_s, n_s = text.split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise TwitchcamError(f"--shard {text!r}: expected i/N, e.g. 0/4 (0-based)") from None
    if n < 1 or not 0 <= i < n:
        raise TwitchcamError(f"--shard {text!r}: need 0 <= i < N (0-based), e.g. 0/{max(n, 2)}")
    return i, n


def select_shard(items: Sequence, shard: tuple[int, int] | None) -> list:
    """Every n-th item starting at i (0-based), in the given (stable) order."""
    if shard is None:
        return list(items)
    i, n = shard
    if n < 1 or not 0 <= i < n:
        raise TwitchcamError(f"shard {i}/{n}: need 0 <= i < N (0-based)")
    return list(items)[i::n]


def chunk_plan(durations_s: Sequence[float], jobs: int,
               timeline_of: Callable[[int], Timeline | None] | None = None) -> list[list[tuple[float, float]] | None]:
    """Time chunks for each video of a batch, or None to analyse it whole.

    A batch ends when its last piece of work does.  With whole videos only, a long one runs
    alone at the end while the other workers idle (three one-hour videos on 8 cores would use
    3).  So a video longer than SPLIT_MIN_S and than 1/TAIL_SHARE of one worker's fair share
    is cut into chunks of about that size, never shorter than PIECE_MIN_S; short videos in a
    batch of many stay whole, which costs no warm-up at all.  `timeline_of(k)` gives, for a
    video to cut, its frames' timeline (chunks.Timeline) where they pause: it is then cut by
    its frames, not its clock.
    """
    if jobs <= 1:
        return [None] * len(durations_s)
    piece = max(PIECE_MIN_S, sum(durations_s) / jobs / TAIL_SHARE)
    plans: list[list[tuple[float, float]] | None] = []
    for k, d in enumerate(durations_s):
        timeline = timeline_of(k) if timeline_of is not None and d >= SPLIT_MIN_S and d > piece else None
        frames_s = timeline.duration_s if timeline is not None else d
        chunks = (plan_chunks(d, math.ceil(frames_s / piece), WARMUP_S, min_chunk_s=PIECE_MIN_S, timeline=timeline)
                  if frames_s >= SPLIT_MIN_S and frames_s > piece else [])
        plans.append(chunks if len(chunks) > 1 else None)
    return plans


def row_from_summary(video: Path, folder: Path, summary: dict, status: str | None = None,
                     reason: str = "", wall_s: float | None = None) -> BatchRow:
    duration = summary.get("duration_s")
    valid_s = summary.get("valid_s")
    sp = summary.get("spasms") or {}
    row = BatchRow(file=str(video), duration_s=duration,
                   valid_pct=round(100.0 * valid_s / duration, 1) if duration and valid_s is not None else None,
                   affected_side=summary.get("affected_side"), status=status or summary.get("status", "complete"),
                   reason=reason, session=str(folder), wall_s=None if wall_s is None else round(wall_s, 2))
    for side in SIDES:
        setattr(row, f"{side}_count", (sp.get(side) or {}).get("count"))
        setattr(row, f"{side}_per_min", (sp.get(side) or {}).get("per_min"))
    if row.status == "truncated" and not reason:
        row.reason = f"truncated or corrupt after {summary.get('frames')} frames; analysed what decoded"
    if summary.get("no_face") and not row.reason:
        row.reason = "no face found"
    return row


# -- worker side ---------------------------------------------------------------------------
def _warm_up() -> None:
    """A worker's first task: load what every analysis needs (MediaPipe, OpenCV, numpy, the
    pipeline) while the parent is still planning, so its first video starts at once.  The
    worker keeps all of it for every later video (only the landmarker is new per video)."""
    import twitchcam.batch.chunks  # noqa: F401
    import twitchcam.run.analyze  # noqa: F401


def _one_sigint(signum, frame):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal and the parent may both send one
    raise KeyboardInterrupt


def _analyze(video: str, folder: str, model: str, params, mirrored: bool, overwrite: bool) -> dict:
    from twitchcam.run.analyze import analyze_file

    # The batch's plan (run.plan) decided this folder is (re)done: whatever unfinished or outdated
    # session of this very file it holds is replaced (under the folder's lock, see SessionWriter).
    return analyze_file(Path(video), Path(folder), Path(model), params, mirrored=mirrored, show_progress=False,
                        overwrite=overwrite)


def _session_result(folder: str, write_session: Callable[..., dict], *args) -> tuple[str, dict | None, str]:
    """Run a session-writing step: (status, summary or None, one-line reason)."""
    try:
        summary = write_session(*args)
        return summary.get("status", "complete"), summary, ""
    except Interrupted as exc:
        return "interrupted", read_json_or_none(Path(folder) / SUMMARY_FILE), str(exc)
    except TwitchcamError as exc:
        return "error", None, _reason(exc)


def _session_task(folder: str, write_session: Callable[..., dict], *args) -> tuple[str, dict | None, str]:
    """`_session_result` in a worker process, where Ctrl-C is ours to handle."""
    signal.signal(signal.SIGINT, _one_sigint)
    try:
        return _session_result(folder, write_session, *args)
    except KeyboardInterrupt:
        return "interrupted", None, "interrupted before the session started"
    except Exception as exc:  # never let one file take the batch down
        return "error", None, _reason(exc)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


# -- parent side ---------------------------------------------------------------------------
def _new_executor() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(MP_CONTEXT),
                               initializer=worker_init, initargs=(os.getpid(),))


def _worker_pids(executor: ProcessPoolExecutor) -> list[int]:
    procs = getattr(executor, "_processes", None) or {}
    return [p.pid for p in list(procs.values()) if p.is_alive()]


def print_row_line(row: BatchRow, done: int, total: int, stream=sys.stderr) -> None:
    counts = ""
    if row.left_count is not None:
        counts = f" L {row.left_count} R {row.right_count} affected {row.affected_side or '-'}"
    extra = f" ({row.reason})" if row.reason else ""
    wall = f" {row.wall_s:.1f}s" if row.wall_s is not None else ""
    stream.write(f"[{done}/{total}] {Path(row.file).name}: {row.status}{counts}{wall}{extra}\n")
    stream.flush()


class _Batch:
    """What both runners share: the inputs of this shard, their rows as they finish, and the
    cheap checks done in the parent (already complete, no such file)."""

    def __init__(self, videos: Sequence[Path], out_root: Path | None, folders: Sequence[Path] | None,
                 shard: tuple[int, int] | None, on_row: Callable[[BatchRow, int, int], None] | None,
                 overwrite: bool = False):
        videos = [Path(v) for v in videos]
        folders = [Path(f) for f in folders] if folders is not None else output_folders(videos, Path(out_root))
        if len(folders) != len(videos):
            raise TwitchcamError("run_batch: one folder per video is needed")
        self.work: list[tuple[Path, Path]] = select_shard(list(zip(videos, folders)), shard)
        self.rows: dict[int, BatchRow] = {}
        self.on_row = on_row
        self.todo: list[int] = []
        self.notes: dict[int, str] = {}  # why a finished session is redone (its file changed)
        self.overwrite: dict[int, bool] = {}  # whether a session the folder holds may be replaced
        for k, (video, folder) in enumerate(self.work):
            plan = plan_input(video, folder, overwrite)
            if plan.action == "skip":
                self.finish(k, row_from_summary(video, folder, plan.summary, status="complete",
                                                reason="skipped: already complete"))
            elif plan.action == "missing":  # no process needed to say so
                self.finish(k, self.row(k, "error", None, plan.note))
            else:
                self.todo.append(k)
                self.overwrite[k] = plan.overwrite
                if plan.note:
                    self.notes[k] = plan.note

    def row(self, k: int, status: str, summary: dict | None, reason: str, wall_s: float | None = None) -> BatchRow:
        video, folder = self.work[k]
        reason = reason or self.notes.get(k, "")
        if summary is not None:
            return row_from_summary(video, folder, summary, status=status, reason=reason, wall_s=wall_s)
        return BatchRow(file=str(video), status=status, reason=reason, session=str(folder),
                        wall_s=None if wall_s is None else round(wall_s, 2))

    def finish(self, k: int, row: BatchRow) -> None:
        self.rows[k] = row
        if self.on_row is not None:
            self.on_row(row, len(self.rows), len(self.work))

    def in_order(self) -> list[BatchRow]:
        return [self.rows[k] for k in sorted(self.rows)]

    def interrupted(self) -> Interrupted:
        where = os.path.commonpath([str(f.parent) for _, f in self.work]) if self.work else "."
        done = sum(r.status == "complete" for r in self.rows.values())
        return Interrupted(f"interrupted: {done} of {len(self.work)} sessions complete in {where}; "
                           f"run the same command again to resume")


@dataclass
class _Task:
    """One unit of work for a worker: a whole video, one time chunk of one, or joining them."""

    kind: str  # video | chunk | join
    k: int  # index of the video in the batch
    frames: float  # expected cost, for longest-first
    chunk: int = 0
    seek: bool = True


@dataclass
class _Split:
    """A video analysed in time chunks: what its chunks returned so far."""

    chunks: list[tuple[float, float]]
    header: VideoHeader
    results: list[ChunkResult | None]
    info: dict
    merged: ChunkResult | None = None
    started: float | None = None
    failed: bool = False


class _Plan:
    """A batch's work as tasks for any pool of workers: whole videos, time chunks of long
    ones (see `chunk_plan`), and the joins that turn a video's chunks into its session.

    `call(task)` says what a worker runs; `finished(task, ...)` records what came back and
    returns the follow-up tasks (a join once all chunks are in, or a chunk to redo).
    """

    def __init__(self, batch: _Batch, jobs: int, model: Path, params, mirrored: bool, session_task: Callable):
        self.batch, self.jobs, self.model, self.params, self.mirrored = batch, jobs, Path(model), params, mirrored
        self.session_task = session_task  # wraps a session-writing step for this kind of worker
        probes = {k: _probe_or_nothing(batch.work[k][0]) for k in batch.todo}
        self.splits: dict[int, _Split] = {}
        self.tasks: list[_Task] = []  # the initial ones, longest first

        def timeline(i: int) -> Timeline | None:  # read only for a video long enough to cut
            k = batch.todo[i]
            return video_timeline(batch.work[k][0], probes[k].fps)

        for k, chunks in zip(batch.todo, chunk_plan([probes[k].duration_s for k in batch.todo], jobs, timeline)):
            header = probes[k]
            if chunks is None:
                self.tasks.append(_Task("video", k, float(header.expected_frames)))
                continue
            self.splits[k] = _Split(chunks, header, [None] * len(chunks), chunk_info(chunks, WARMUP_S))
            for j, (start, end) in enumerate(chunks):
                cost = (min(end, header.duration_s) - start + (WARMUP_S if j else 0.0)) * header.fps
                self.tasks.append(_Task("chunk", k, cost, j))
        self.tasks.sort(key=lambda task: -task.frames)

    def cancelled(self, task: _Task) -> bool:
        """A task of a cut video that has already failed: not worth running."""
        return task.k in self.splits and self.splits[task.k].failed

    def call(self, task: _Task) -> tuple[Callable, tuple]:
        video, folder = (str(x.resolve()) for x in self.batch.work[task.k])
        if task.kind == "video":
            return self.session_task, (folder, _analyze, video, folder, str(self.model.resolve()), self.params,
                                       self.mirrored, self.batch.overwrite[task.k])
        sp = self.splits[task.k]
        sp.started = sp.started or time.monotonic()
        if task.kind == "chunk":
            start, end = sp.chunks[task.chunk]
            return chunk_features, (video, str(self.model.resolve()), self.mirrored, start,
                                    end, WARMUP_S if task.chunk else 0.0, task.seek)
        return self.session_task, (folder, write_chunked_session, video, folder, sp.merged, sp.header,
                                   self.params, self.mirrored, {"jobs": self.jobs, **sp.info},
                                   self.batch.overwrite[task.k])

    def finished(self, task: _Task, outcome: Callable[[], Any], started: float) -> list[_Task]:
        """Record a task's outcome (`outcome()` returns its result or raises its error)."""
        if task.kind == "chunk":
            return self._chunk_done(task, outcome)
        if task.kind == "join":
            started = self.splits[task.k].started
        try:
            status, summary, reason = outcome()
        except Exception as exc:  # a crashed worker, an unpicklable result: keep going
            status, summary, reason = "error", None, _reason(exc)
        self.batch.finish(task.k, self.batch.row(task.k, status, summary, reason, time.monotonic() - started))
        return []

    def _chunk_done(self, task: _Task, outcome: Callable[[], ChunkResult]) -> list[_Task]:
        """Keep a chunk's features; once all are in, join them (or redo one that does not line up)."""
        sp, video = self.splits[task.k], self.batch.work[task.k][0]
        if sp.failed:
            return []
        try:
            sp.results[task.chunk] = outcome()
            if any(r is None for r in sp.results):
                return []
            joined = join_chunks(video, sp.results, sp.chunks, sp.info)
        except Exception as exc:
            sp.failed = True
            self.batch.finish(task.k, self.batch.row(task.k, "error", None, _reason(exc),
                                                     time.monotonic() - sp.started))
            return []
        if isinstance(joined, ChunkResult):
            sp.merged, sp.results = joined, []
            return [_Task("join", task.k, 0.0)]
        sp.results[joined] = None  # an inexact seek: redo that chunk from the start (exact, slower)
        return [_Task("chunk", task.k, 0.0, joined, seek=False)]


def run_batch(videos: Sequence[Path], out_root: Path, model: Path, params=None, jobs: int = 1,
              shard: tuple[int, int] | None = None, mirrored: bool = False,
              on_row: Callable[[BatchRow, int, int], None] | None = print_row_line,
              folders: Sequence[Path] | None = None, overwrite: bool = False) -> list[BatchRow]:
    """Analyse videos with `jobs` worker processes; rows come back in input order.

    `folders` overrides the session folder of each video (default: `output_folders`).
    `overwrite` redoes sessions that are complete too.
    `on_row(row, done, total)` is called in the parent once per finished input (default:
    one line on stderr), so workers never draw progress bars over each other.
    Raises `Interrupted` (exit code 130) on Ctrl-C after finalising what was running.
    """
    from twitchcam.core.stream import PipelineParams

    params = params if params is not None else PipelineParams()
    jobs = max(1, int(jobs))
    batch = _Batch(videos, out_root, folders, shard, on_row, overwrite)
    idle: list[ProcessPoolExecutor] = []
    running: dict[Future, tuple[_Task, ProcessPoolExecutor, float]] = {}
    pools: list[ProcessPoolExecutor] = []  # every executor made here: each is ended, whatever happens

    def fresh() -> ProcessPoolExecutor:
        pools.append(_new_executor())
        return pools[-1]

    try:
        # Workers start now and load MediaPipe while this process probes the videos; each then
        # takes video after video (a crashed one is replaced by a fresh worker).
        for _ in range(min(jobs, len(batch.todo))):
            idle.append(fresh())
            idle[-1].submit(_warm_up)
        plan = _Plan(batch, jobs, model, params, mirrored, _session_task)
        queue = plan.tasks[::-1]  # popped from the end: longest first; follow-ups go to the end, next
        while queue or running:
            while queue and len(running) < jobs:
                task = queue.pop()
                if plan.cancelled(task):
                    continue
                ex = idle.pop() if idle else fresh()
                fn, args = plan.call(task)
                running[ex.submit(fn, *args)] = (task, ex, time.monotonic())
            if not running:
                continue
            done_set, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done_set:
                task, ex, t0 = running.pop(fut)
                if isinstance(fut.exception(), BrokenProcessPool):
                    ex.shutdown(wait=True, cancel_futures=True)  # its workers are gone: at once
                else:
                    idle.append(ex)
                queue.extend(plan.finished(task, fut.result, t0))
    except KeyboardInterrupt:
        _stop(running)
        raise batch.interrupted() from None
    finally:
        _shutdown_all(pools, idle)
    return batch.in_order()


def _probe_or_nothing(video: Path) -> VideoHeader:
    """What the container says of the video; nothing (no count, no duration) for a file that
    will fail anyway (in a worker, with its one-line reason)."""
    try:
        return probe_video(video)
    except TwitchcamError:
        return VideoHeader(0.0, 0, None)


def _reason(exc: BaseException) -> str:
    """One line for the batch table."""
    if isinstance(exc, BrokenProcessPool):
        return "worker process crashed on this file"
    if isinstance(exc, TwitchcamError):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"internal error: {type(exc).__name__}: {exc}".splitlines()[0]


def _stop(running: dict) -> None:
    """Ctrl-C: let running workers finalise their sessions as "interrupted" (run_batch then
    ends them, see _shutdown_all).

    A worker on a chunk has no session to save, so it ends at once; the video is redone whole
    on the next run."""
    sessions = []
    for fut, (task, ex, _) in running.items():
        if task.kind != "chunk":
            sessions.append(fut)
        for pid in _worker_pids(ex):
            try:  # SIGINT is harmless if the terminal already sent one
                os.kill(pid, signal.SIGTERM if task.kind == "chunk" else signal.SIGINT)
            except OSError:
                pass
    deadline = time.monotonic() + STOP_GRACE_S
    pending = sessions
    while pending and time.monotonic() < deadline:
        try:
            _, pending = wait(pending, timeout=0.5)
            pending = list(pending)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
            break


def _shutdown_all(pools: list[ProcessPoolExecutor], idle: list[ProcessPoolExecutor]) -> None:
    """Shut every executor of a batch down and wait for its manager thread: an idle one at once,
    any other (its work cut short by Ctrl-C or an error, including one taken from `idle` for a
    task the interruption then kept from being noted as running) after ending its workers now.
    A manager thread still running at exit races Python's own atexit wake-up of it, which then
    prints "OSError: [Errno 9] Bad file descriptor" after our one line (seen under load)."""
    for ex in pools:
        if not any(ex is i for i in idle):
            for pid in _worker_pids(ex):
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
        ex.shutdown(wait=True, cancel_futures=True)


# -- output ----------------------------------------------------------------------------------
def _cell(x, spec: str = "") -> str:
    if x is None or x == "":
        return "-"
    return format(x, spec) if spec else str(x)


def format_batch_table(rows: Sequence[BatchRow]) -> str:
    """Fixed-width table, one line per input, with a reason line under failures."""
    name_w = max([len("file")] + [len(Path(r.file).name) for r in rows])
    name_w = min(name_w, 40)
    head = (f"{'file':<{name_w}} {'dur s':>7} {'valid%':>6} {'L n':>4} {'L /min':>7} {'R n':>4} {'R /min':>7} "
            f"{'affected':>8}  status")
    lines = [head, "-" * len(head)]
    for r in rows:
        name = Path(r.file).name
        name = name if len(name) <= name_w else name[:name_w - 1] + "~"
        lines.append(f"{name:<{name_w}} {_cell(r.duration_s, '.1f'):>7} {_cell(r.valid_pct, '.1f'):>6} "
                     f"{_cell(r.left_count):>4} {_cell(r.left_per_min, '.2f'):>7} {_cell(r.right_count):>4} "
                     f"{_cell(r.right_per_min, '.2f'):>7} {_cell(r.affected_side):>8}  {r.status}"
                     + (f": {r.reason}" if r.reason else ""))
    n_ok = sum(r.status == "complete" for r in rows)
    n_err = sum(r.status == "error" for r in rows)
    lines.append(f"{len(rows)} files: {n_ok} complete, {n_err} errors, "
                 f"{len(rows) - n_ok - n_err} other")
    return "\n".join(lines)


def write_batch_csv(rows: Sequence[BatchRow], path: Path) -> None:
    """One line per session (empty cell = not available); `pandas.read_csv(path)` ready.
    Text a spreadsheet would run as a formula (a video named ``=cmd.mp4``) gets a leading
    apostrophe (`twitchcam.store.csvcell`)."""
    path = Path(path)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(BATCH_COLUMNS)
    for r in rows:
        d = asdict(r)
        w.writerow(["" if d[c] is None else safe_cell(d[c]) for c in BATCH_COLUMNS])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, buf.getvalue())
    except OSError as exc:
        raise TwitchcamError(f"cannot write {path}: {exc.strerror or exc}") from None


def batch_exit_code(rows: Sequence[BatchRow]) -> int:
    """0 if every input is complete (analysed now or before), else 1."""
    return 0 if all(r.status == "complete" for r in rows) else 1


# -- dask.distributed: the same batch across machines -------------------------------------------
def _session_task_dask(folder: str, write_session: Callable[..., dict], *args) -> tuple[str, dict | None, str]:
    """`_session_result` on a dask worker thread (no signals there; the client cancels)."""
    try:
        return _session_result(folder, write_session, *args)
    except Exception as exc:
        return "error", None, _reason(exc)


def connect_dask(scheduler: str, timeout_s: float = 3.0):
    """A dask.distributed Client for tcp://HOST:PORT, or a one-line TwitchcamError within ~timeout_s."""
    try:
        from distributed import Client
    except ImportError:
        raise TwitchcamError("--scheduler needs dask.distributed: pip install 'twitchcam[dask]'") from None
    import logging

    for name in ("distributed.client", "distributed.core", "distributed.comm"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # the one line below says it all
    try:
        return Client(scheduler, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise TwitchcamError(f"cannot reach dask scheduler {scheduler} within {timeout_s:g} s "
                             f"({type(exc).__name__})") from None
    except ValueError as exc:
        raise TwitchcamError(f"--scheduler {scheduler!r}: {exc}") from None


def run_batch_dask(videos: Sequence[Path], out_root: Path, model: Path, params=None, scheduler: str | object = "",
                   shard: tuple[int, int] | None = None, mirrored: bool = False,
                   on_row: Callable[[BatchRow, int, int], None] | None = print_row_line,
                   folders: Sequence[Path] | None = None, timeout_s: float = 3.0,
                   overwrite: bool = False) -> list[BatchRow]:
    """`run_batch` on a dask.distributed cluster: the same tasks (whole videos, time chunks of
    long ones sized for the cluster's threads, their joins), the same rows and resume rule.

    `scheduler` is "tcp://HOST:8786" (or an existing Client).  Workers must see the same paths
    (videos, model, out_root) as this machine, e.g. a shared filesystem.  Workers each run one
    landmarker per running task, so start them with --nthreads 1 (one video per process).
    """
    from twitchcam.core.stream import PipelineParams

    params = params if params is not None else PipelineParams()
    batch = _Batch(videos, out_root, folders, shard, on_row, overwrite)
    work = batch.work
    if not batch.todo:
        return batch.in_order()
    own = isinstance(scheduler, str)
    client = connect_dask(scheduler, timeout_s) if own else scheduler
    from distributed import as_completed

    futures: dict = {}

    def submit(task: _Task):
        fn, args = plan.call(task)
        video = work[task.k][0]
        fut = client.submit(fn, *args, pure=False,
                            key=f"twitchcam-{task.kind}-{task.k}-{task.chunk}-{video.name}-{time.time_ns()}")
        futures[fut] = (task, time.monotonic())
        return fut

    try:
        plan = _Plan(batch, max(1, sum(client.nthreads().values())), model, params, mirrored, _session_task_dask)
        pending = as_completed([submit(task) for task in plan.tasks], loop=client.loop)
        for fut in pending:
            task, t0 = futures.pop(fut)
            for follow in plan.finished(task, fut.result, t0):
                if not plan.cancelled(follow):
                    pending.add(submit(follow))
    except KeyboardInterrupt:
        client.cancel(list(futures))  # tasks not started never start; running ones are abandoned
        raise batch.interrupted() from None
    finally:
        if own:
            client.close()
    return batch.in_order()
