"""`twitchcam detect` (and the Python API's `detect`): filters and detector again on a stored
session, without the video.

It reads the raw per-frame features from frames.csv and feeds them through the very same
signal chain (twitchcam.core.stream) that `analyze` and `live` ran frame by frame, so with
the same parameters it finds the same events.
"""
from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from twitchcam.core.detector import DetectorParams
from twitchcam.core.events import EVENT_COLUMNS, Event
from twitchcam.core.features import OTHER, POSE_COLUMNS
from twitchcam.core.stream import Detection, PipelineParams, SignalChain, detect_features
from twitchcam.core.summary import FrameTotals
from twitchcam.errors import TwitchcamError
from twitchcam.run.summary import provenance, session_summary
from twitchcam.store.atomic import unlink_link, write_text_atomic
from twitchcam.store.folder import is_session_dir
from twitchcam.store.lock import SessionLock
from twitchcam.store.reader import StoredSession, read_stored_session
from twitchcam.store.session import DETECT_DIR, EVENTS_FILE, RAW_COLUMNS, SESSION_FILE, SUMMARY_FILE
from twitchcam.store.writer import event_cells, write_json


def stored_params(meta: dict) -> PipelineParams:
    """The parameters a session was analysed with (session.json, whose types and ranges
    store.reader.params_problem has checked); another version's, or values no chain can be built
    from at the session's rate (a filter it cannot design): one line."""
    try:
        params = PipelineParams.from_dict(meta.get("params") or {})
        SignalChain(float(meta.get("fps") or 30.0), params)
    except (TypeError, ValueError, AttributeError, OverflowError, ZeroDivisionError) as exc:
        raise TwitchcamError(f"session parameters are damaged or from another version: {exc}") from None
    return params


@dataclass
class StoredFrames:
    """A session's frames as `detect` feeds them to the chain: every frame of the source that
    was analysed, a damaged row of frames.csv put back in its place as a frame without a face."""

    frame: np.ndarray  # (n,) the source's frame numbers
    t: np.ndarray  # (n,) decoder timestamps
    pose: np.ndarray  # (n, len(POSE_COLUMNS)); NaN where no face was found, or the row was damaged
    raw: np.ndarray  # (n, len(FEATURE_COLUMNS))
    lost: np.ndarray  # (n,) frames of the source lost just before each frame (never analysed)
    row: np.ndarray  # (n,) the row of frames.csv each frame was read from; -1 where it was put back
    other: np.ndarray  # (n,) someone else's face (reason other_person): nothing of it was kept

    @classmethod
    def of_table(cls, table) -> "StoredFrames":
        """The rows of a frames table as they are (a DataFrame with frames.csv's columns; at
        least t_s, the pose columns and the raw_* features)."""
        t = table["t_s"].to_numpy(dtype=np.float64)

        def column(name: str, default: np.ndarray) -> np.ndarray:
            return np.nan_to_num(table[name].to_numpy(dtype=np.float64)).astype(np.int64) if name in table else default

        return cls(column("frame", np.arange(t.size)), t, table[list(POSE_COLUMNS)].to_numpy(dtype=np.float64),
                   table[list(RAW_COLUMNS)].to_numpy(dtype=np.float64),
                   column("dropped", np.zeros(t.size, dtype=np.int64)), np.arange(t.size),
                   (table["reason"] == OTHER).to_numpy() if "reason" in table else np.zeros(t.size, dtype=bool))


def frame_arrays(session: StoredSession) -> StoredFrames:
    """Every frame of `session`, with a damaged row of frames.csv (one `read_frames` skipped)
    put back in its place as a frame without a face.

    Where the rows were lost shows in the `frame` column: it numbers the source's frames,
    so a step of more than one that the frames lost before a row (`dropped`) do not explain
    is damaged rows.  Their times are spread evenly over the step.
    """
    stored = StoredFrames.of_table(session.frames.df)
    number, t, pose, raw, lost, other = stored.frame, stored.t, stored.pose, stored.raw, stored.lost, stored.other
    bad = session.frames.bad_rows
    if bad <= 0 or t.size < 2:
        return stored
    missing = np.clip(np.diff(number) - 1 - lost[1:], 0, None)
    missing = np.minimum(missing, np.clip(bad - np.concatenate(([0], np.cumsum(missing)[:-1])), 0, None))
    if not missing.any():
        return stored
    reps = np.concatenate((missing + 1, [1]))  # row i stands for itself and the rows lost after it
    pos = np.repeat(np.arange(t.size), reps)
    first = np.concatenate(([True], pos[1:] != pos[:-1]))  # the stored rows among them
    step = np.arange(pos.size) - np.flatnonzero(first)[pos]  # 0 for a stored row, k for its k-th lost one
    t_next = np.concatenate((t[1:], t[-1:]))
    t_all = t[pos] + (t_next - t)[pos] * step / reps[pos]
    raw_all, pose_all = raw[pos].copy(), pose[pos].copy()
    raw_all[~first] = np.nan
    pose_all[~first] = np.nan
    lost_all = np.where(first, lost[pos], 0)
    return StoredFrames(number[pos] + step, t_all, pose_all, raw_all, lost_all, np.where(first, pos, -1),
                        other[pos] & first)


def detect_frames(frames: StoredFrames, fps: float, params: PipelineParams, meta: dict, status: str,
                  bad_rows: int | None = None) -> tuple[Detection, dict]:
    """The chain over stored frames; returns the detection and its summary (`meta` gives the
    provenance, to which the parameters are added).  Someone else's frames stay theirs: their
    features were never kept, so they are invalid, and counted apart."""
    found = detect_features(frames.t, frames.pose, frames.raw, fps, params)
    for k in np.flatnonzero(frames.other):
        found.reason[k] = OTHER
    totals = FrameTotals.of(frames.t, found.valid, found.closure, fps, frames.lost, frames.other)
    return found, session_summary(totals, found.events, {**meta, "params": params.to_dict()}, status, bad_rows)


def detect_session(session: StoredSession, params: PipelineParams,
                   fps: float | None = None) -> tuple[StoredFrames, Detection, dict]:
    """The chain over a stored session's frames (at its own frame rate unless `fps`): the frames
    it ran on, the detection and its summary (what `twitchcam detect` writes, and the Python
    API's `detect` of a session folder).

    Damaged rows of frames.csv count as invalid frames, and `bad_rows` in the summary."""
    frames = frame_arrays(session)
    found, summary = detect_frames(frames, fps or session.fps, params,
                                   {**provenance(session.meta), "redetected_from": session.folder.name},
                                   session.status, bad_rows=session.frames.bad_rows)
    return frames, found, summary


def summarize_stored(folder: Path) -> dict:
    """The summary of a session that has none (cut off before it was summarised), from its
    frames with the parameters it was recorded with; nothing is written."""
    session = read_stored_session(folder)
    return detect_session(session, stored_params(session.meta))[2]


def write_events(path: Path, events: list[Event]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EVENT_COLUMNS)
    w.writerows(event_cells(e) for e in events)
    write_text_atomic(path, buf.getvalue())


def check_detect_out(out: Path) -> None:
    """`detect` never writes over a session's own events.csv and summary.json."""
    if (Path(out) / SESSION_FILE).is_file():
        raise TwitchcamError(f"{out} is a session folder: its events.csv and summary.json are that session's "
                             f"own; choose another --out (default SESSION/{DETECT_DIR})")


def redetect(folder: Path, out: Path, adjust: Callable[[DetectorParams], DetectorParams]) -> dict:
    """Detect again over the session in `folder`; write events, summary and parameters to `out`."""
    check_detect_out(out)
    session = read_stored_session(folder)
    params = stored_params(session.meta)
    params = dataclasses.replace(params, detector=adjust(params.detector))
    _, result, summary = detect_session(session, params)
    lock = SessionLock(out)
    try:
        if is_session_dir(out.parent):
            unlink_link(out)  # SESSION/detect as a link: replaced, not written through
        out.mkdir(parents=True, exist_ok=True)
        lock.acquire()  # two detects into one folder: the second says so
        try:
            write_events(out / EVENTS_FILE, result.events)
            write_json(out / SUMMARY_FILE, summary)
            write_json(out / "params.json", params.to_dict())
        finally:
            lock.release()
    except OSError as exc:
        raise TwitchcamError(f"cannot write {out}: {exc.strerror or exc}") from None
    return summary
