"""Writing a session folder as it happens: append-only rows flushed every second, JSON written
atomically, the folder locked while written."""
from __future__ import annotations

import csv
import errno
import json
import time
from datetime import datetime
from pathlib import Path

from twitchcam.core.events import EVENT_COLUMNS, Event
from twitchcam.errors import TwitchcamError
from twitchcam.store.atomic import open_new, write_text_atomic
from twitchcam.store.folder import check_session_folder, remove_session
from twitchcam.store.lock import SessionLock
from twitchcam.store.session import (
    EVENTS_FILE,
    FRAME_COLUMNS,
    FRAMES_FILE,
    LOCK_NAME,
    MARKERS_FILE,
    SESSION_FILE,
    SESSION_FORMAT,
    SUMMARY_FILE,
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


def disk_error(exc: OSError, path: Path, kept: bool = True) -> TwitchcamError:
    """One line for a failed write; `kept` says whether a session is there to keep."""
    if exc.errno == errno.ENOSPC:
        return TwitchcamError(f"disk full while writing {path}; " + (
            "the session so far is kept there" if kept else "nothing was recorded"))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return TwitchcamError(f"cannot write to {path}: permission denied")
    return TwitchcamError(f"cannot write {path}: {exc.strerror or exc}")


class SessionWriter:
    """Append-only writer for one session folder, which it holds locked until `close`.

    A folder that already holds a session is refused unless `overwrite`, which first
    removes that session whole (see `remove_session`); both are decided under the lock, so
    two processes never write one folder and a session finished meanwhile is never lost.
    """

    def __init__(self, folder: Path, meta: dict, flush_every_s: float = 1.0, overwrite: bool = False):
        self.folder = Path(folder)
        self._lock = SessionLock(self.folder)
        self._started = False  # session.json is on disk: from here on there is a session to keep
        created = not self.folder.exists()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except OSError as exc:
            raise disk_error(exc, self.folder, kept=False) from None
        try:
            check_session_folder(self.folder, overwrite)
            if overwrite and (self.folder / SESSION_FILE).is_file():
                remove_session(self.folder)
            self.meta = {"format": SESSION_FORMAT, "started_at": datetime.now().astimezone().isoformat(
                timespec="seconds"), **meta, "status": "running", "ended_at": None}
            write_json(self.folder / SESSION_FILE, self.meta)
            self._started = True
            self._frames_f = open_new(self.folder / FRAMES_FILE, newline="")
            self._events_f = open_new(self.folder / EVENTS_FILE, newline="")
            self._frames = csv.writer(self._frames_f)
            self._events = csv.writer(self._events_f)
            self._frames.writerow(FRAME_COLUMNS)
            self._events.writerow(EVENT_COLUMNS)
            self._markers_f = None
        except BaseException as exc:
            self._lock.release()
            if not self._started and created:  # nothing recorded: leave no empty folder behind
                (self.folder / LOCK_NAME).unlink(missing_ok=True)
                try:
                    self.folder.rmdir()
                except OSError:
                    pass
            if isinstance(exc, OSError):
                raise disk_error(exc, self.folder, kept=self._started) from None
            raise
        self._flush_every = flush_every_s
        self.flush()

    def frame(self, index: int, t_s: float, valid: bool, reason: str, pose, raw, filt, closure,
              dropped: int = 0) -> None:
        row = [index, repr(float(t_s)), int(valid), reason, *map(_num, pose), *map(_num, raw),
               *map(_num, filt), *map(_num, closure), dropped]
        self._guard(self._frames.writerow, row)

    def rows(self, rows) -> None:
        """Whole frames.csv rows (cells in FRAME_COLUMNS order), e.g. a Result being saved."""
        for row in rows:
            self._guard(self._frames.writerow, [c if isinstance(c, str) else _num(c) if isinstance(c, float) else c
                                                for c in row])

    def events(self, events: list[Event]) -> None:
        for e in events:
            self._guard(self._events.writerow, event_cells(e))
        if events:
            self.flush()  # events are rare and precious: on disk at once

    def marker(self, t_s: float, label: str) -> None:
        if self._markers_f is None:
            self._markers_f = open_new(self.folder / MARKERS_FILE, newline="")
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
                write_json(self.folder / SUMMARY_FILE, summary)
            self.meta.update(status=status, ended_at=datetime.now().astimezone().isoformat(timespec="seconds"),
                             **extra)
            write_json(self.folder / SESSION_FILE, self.meta)
        except OSError as exc:
            problem = problem or disk_error(exc, self.folder)
        finally:
            self._lock.release()
        if problem:
            raise problem
