"""Session folders: the stable on-disk contract every later tool builds on.

    session.json   written at the start (status "running"), finalised at the end
    frames.csv     one row per decoded frame, appended as it happens
    events.csv     one row per event, appended as it happens
    markers.csv    patient markers (live mode)
    summary.json   written at the end (and by `twitchcam detect`)

Rows are flushed at least once a second, so a session killed at any moment is still
readable by `twitchcam detect`; a session.json still saying "running" marks it as
interrupted.  Floats are written with repr(), which round-trips exactly, so `detect`
re-runs the filters on the very numbers the live run saw.
"""
from __future__ import annotations

import csv
import errno
import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from twitchcam.anatomy import SIDES
from twitchcam.atomic import write_text_atomic
from twitchcam.errors import TwitchcamError
from twitchcam.events import EVENT_COLUMNS, Event
from twitchcam.features import FEATURE_COLUMNS

SESSION_FORMAT = 1
FRAME_COLUMNS = (
    ("frame", "t_s", "valid", "reason", "yaw", "pitch", "roll")
    + tuple(f"raw_{c}" for c in FEATURE_COLUMNS)
    + tuple(f"filt_{c}" for c in FEATURE_COLUMNS)
    + tuple(f"closure_{s}" for s in SIDES)
    + ("dropped",)
)


def _num(x: float) -> str:
    """repr round-trips exactly; 'nan' (not '') keeps numpy's fast C parser on read."""
    return "nan" if x is None else repr(float(x))


def event_cells(e: Event) -> list:
    """One events.csv row, cells in EVENT_COLUMNS order (live, analyze and detect alike)."""
    r = e.row()
    return [_num(r[c]) if isinstance(r[c], float) else r[c] for c in EVENT_COLUMNS]


def write_json(path: Path, data: dict) -> None:
    """Atomic write: a crash leaves the old file or the new one, never half of one."""
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False, default=str) + "\n")


def disk_error(exc: OSError, path: Path) -> TwitchcamError:
    if exc.errno == errno.ENOSPC:
        return TwitchcamError(f"disk full while writing {path}; the session so far is kept there")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return TwitchcamError(f"cannot write to {path}: permission denied")
    return TwitchcamError(f"cannot write {path}: {exc.strerror or exc}")


class SessionWriter:
    """Append-only writer for one session folder."""

    def __init__(self, folder: Path, meta: dict, flush_every_s: float = 1.0):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.meta = {"format": SESSION_FORMAT, "started_at": datetime.now().astimezone().isoformat(
                timespec="seconds"), **meta, "status": "running", "ended_at": None}
            write_json(self.folder / "session.json", self.meta)
            self._frames_f = open(self.folder / "frames.csv", "w", newline="")
            self._events_f = open(self.folder / "events.csv", "w", newline="")
            self._frames = csv.writer(self._frames_f)
            self._events = csv.writer(self._events_f)
            self._frames.writerow(FRAME_COLUMNS)
            self._events.writerow(EVENT_COLUMNS)
            self._markers_f = None
        except OSError as exc:
            raise disk_error(exc, self.folder) from None
        self._flush_every = flush_every_s
        self.flush()

    def frame(self, index: int, t_s: float, valid: bool, reason: str, pose, raw, filt, closure,
              dropped: int = 0) -> None:
        row = [index, repr(float(t_s)), int(valid), reason, *map(_num, pose), *map(_num, raw),
               *map(_num, filt), *map(_num, closure), dropped]
        self._guard(self._frames.writerow, row)

    def events(self, events: list[Event]) -> None:
        for e in events:
            self._guard(self._events.writerow, event_cells(e))
        if events:
            self.flush()  # events are rare and precious: on disk at once

    def marker(self, t_s: float, label: str) -> None:
        if self._markers_f is None:
            self._markers_f = open(self.folder / "markers.csv", "w", newline="")
            csv.writer(self._markers_f).writerow(("t_s", "label"))
        self._guard(csv.writer(self._markers_f).writerow, (repr(float(t_s)), label))
        self.flush()  # a marker is a patient's note: on disk at once

    def _guard(self, fn, row) -> None:
        try:
            fn(row)
            now = time.monotonic()
            if now - self._last_flush >= self._flush_every:
                self.flush()
        except OSError as exc:
            raise disk_error(exc, self.folder) from None

    def flush(self) -> None:
        """Hand everything written so far to the OS, so that even kill -9 keeps it."""
        try:
            for f in (self._frames_f, self._events_f, self._markers_f):
                if f is not None and not f.closed:
                    f.flush()
        except OSError as exc:
            raise disk_error(exc, self.folder) from None
        self._last_flush = time.monotonic()

    def close(self, status: str, summary: dict | None, **extra) -> None:
        """Finalise: flush, write summary.json, mark session.json with how it ended."""
        problem = None
        for f in (self._frames_f, self._events_f, self._markers_f):
            if f is None:
                continue
            try:
                f.close()
            except OSError as exc:
                problem = problem or disk_error(exc, self.folder)
        try:
            if summary is not None:
                write_json(self.folder / "summary.json", summary)
            self.meta.update(status=status, ended_at=datetime.now().astimezone().isoformat(timespec="seconds"),
                             **extra)
            write_json(self.folder / "session.json", self.meta)
        except OSError as exc:
            problem = problem or disk_error(exc, self.folder)
        if problem:
            raise problem


@dataclass
class StoredSession:
    folder: Path
    meta: dict
    frame: np.ndarray
    t: np.ndarray
    valid: np.ndarray
    raw: np.ndarray  # (n, len(FEATURE_COLUMNS))
    dropped: np.ndarray

    @property
    def fps(self) -> float:
        return float(self.meta.get("fps") or 30.0)

    @property
    def status(self) -> str:
        status = self.meta.get("status", "running")
        return "interrupted" if status == "running" else status


def read_session(folder: Path) -> StoredSession:
    """Load what `detect` needs; tolerates a last line cut off by a crash."""
    folder = Path(folder)
    meta_path, frames_path = folder / "session.json", folder / "frames.csv"
    if not frames_path.is_file() or not meta_path.is_file():
        raise TwitchcamError(f"{folder}: not a twitchcam session folder (no session.json / frames.csv)")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise TwitchcamError(f"{meta_path}: unreadable ({exc})") from None
    with open(frames_path, newline="") as f:
        header = f.readline().strip().split(",")
        if tuple(header) != FRAME_COLUMNS:
            raise TwitchcamError(f"{frames_path}: unexpected columns (format {meta.get('format')})")
        lines = f.read().splitlines()
    width = len(FRAME_COLUMNS)
    if lines and lines[-1].count(",") != width - 1:  # a row cut off by kill -9
        lines.pop()
    cols = ["frame", "t_s", "valid"] + [f"raw_{c}" for c in FEATURE_COLUMNS] + ["dropped"]
    idx = [FRAME_COLUMNS.index(c) for c in cols]
    if lines:
        data = np.loadtxt(lines, delimiter=",", usecols=idx, dtype=np.float64, ndmin=2)
    else:
        data = np.zeros((0, len(idx)))
    k = len(FEATURE_COLUMNS)
    return StoredSession(folder, meta, data[:, 0].astype(np.int64), data[:, 1], data[:, 2] > 0,
                         data[:, 3:3 + k], data[:, 3 + k].astype(np.int64))


def read_events(folder: Path) -> list[Event]:
    path = Path(folder) / "events.csv"
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("region") is None:  # cut-off last line
                continue
            out.append(Event(float(r["onset_s"]), float(r["offset_s"]), r["side"], r["kind"], int(r["twitches"]),
                             float(r["peak_closure"]), r["region"],
                             float(r["detected_at_s"] or "nan")))
    return out
