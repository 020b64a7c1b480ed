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
import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.store.atomic import write_text_atomic
from twitchcam.errors import TwitchcamError
from twitchcam.core.events import EVENT_COLUMNS, Event
from twitchcam.core.features import FEATURE_COLUMNS, POSE_COLUMNS

SESSION_FORMAT = 2  # 2: appearance and blendshape features, face_px; validity judged against the person
# The files of a session folder (see the module docstring).
SESSION_FILE, FRAMES_FILE, EVENTS_FILE, MARKERS_FILE, SUMMARY_FILE = (
    "session.json", "frames.csv", "events.csv", "markers.csv", "summary.json")
FRAME_COLUMNS = (
    ("frame", "t_s", "valid", "reason") + POSE_COLUMNS
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
            write_json(self.folder / SESSION_FILE, self.meta)
            self._frames_f = open(self.folder / FRAMES_FILE, "w", newline="")
            self._events_f = open(self.folder / EVENTS_FILE, "w", newline="")
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
            self._markers_f = open(self.folder / MARKERS_FILE, "w", newline="")
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
        if problem:
            raise problem


@dataclass
class FrameTable:
    """frames.csv as a DataFrame (pandas), and how many damaged rows were left out of it.

    Rows that cannot be parsed (a line cut off by kill -9, a damaged byte, a wrong number of
    cells) are skipped and counted in `bad_rows`; everything else is kept.
    """

    df: "pandas.DataFrame"  # noqa: F821
    bad_rows: int

    def __len__(self) -> int:
        return len(self.df)

    def has(self, name: str) -> bool:
        return name in self.df.columns

    def column(self, name: str) -> np.ndarray:
        return self.df[name].to_numpy(dtype=np.float64)

    def columns(self, names) -> np.ndarray:
        return self.df[list(names)].to_numpy(dtype=np.float64)


def read_frames(path: Path) -> FrameTable:
    """frames.csv as a FrameTable: the one reader that detect, the report and the API use.

    Floats were written with repr(), and pandas' parser reads them back bit for bit.
    """
    import pandas as pd

    try:
        df = pd.read_csv(path, on_bad_lines="skip", encoding_errors="replace", dtype={"reason": str},
                         low_memory=False)
    except pd.errors.EmptyDataError:
        raise TwitchcamError(f"{path}: empty, not a frames table") from None
    except (OSError, pd.errors.ParserError) as exc:
        raise TwitchcamError(f"cannot read {path}: {exc}") from None
    if "t_s" not in df.columns or "valid" not in df.columns:
        raise TwitchcamError(f"{path}: not a frames table (no t_s/valid columns)")
    with open(path, "rb") as f:
        lines = sum(1 for _ in f) - 1  # rows that on_bad_lines dropped count as bad too
    ok = np.ones(len(df), dtype=bool)
    for name in df.columns:
        if name == "reason":
            continue
        col = df[name]
        if col.dtype == object:  # a damaged cell: the column did not parse as numbers
            num = pd.to_numeric(col, errors="coerce")
            ok &= ~(num.isna() & ~col.isin(["nan", "NaN"])).to_numpy()
            df[name] = num
    ok &= df[df.columns[-1]].notna().to_numpy()  # a row with cells missing: its last cell is NaN
    ok &= df["t_s"].notna().to_numpy()
    if not ok.all():
        df = df[ok].reset_index(drop=True)
    if "reason" in df.columns:
        df["reason"] = df["reason"].fillna("")
    return FrameTable(df, max(0, lines - len(df)))


@dataclass
class StoredSession:
    folder: Path
    meta: dict
    frames: FrameTable

    @property
    def frame(self) -> np.ndarray:
        return self.frames.column("frame").astype(np.int64)

    @property
    def t(self) -> np.ndarray:
        return self.frames.column("t_s")

    @property
    def valid(self) -> np.ndarray:
        return self.frames.column("valid") > 0

    @property
    def pose(self) -> np.ndarray:
        """(n, len(POSE_COLUMNS)) head pose and face size; NaN where no face was found."""
        return self.frames.columns(POSE_COLUMNS)

    @property
    def raw(self) -> np.ndarray:
        """(n, len(FEATURE_COLUMNS)) raw per-frame features."""
        return self.frames.columns([f"raw_{c}" for c in FEATURE_COLUMNS])

    @property
    def fps(self) -> float:
        return float(self.meta.get("fps") or 30.0)

    @property
    def status(self) -> str:
        status = self.meta.get("status", "running")
        return "interrupted" if status == "running" else status


def is_session_dir(path: Path) -> bool:
    return (Path(path) / SESSION_FILE).is_file()


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; TwitchcamError with a one-line reason otherwise."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise TwitchcamError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TwitchcamError(f"cannot read {path}: {e}") from None
    if not isinstance(data, dict):
        raise TwitchcamError(f"{path} is not a JSON object")
    return data


def read_summary(folder: Path) -> dict | None:
    """summary.json, or None while a session has none (running, or cut short by kill -9)."""
    path = Path(folder) / SUMMARY_FILE
    return read_json(path) if path.is_file() else None


def read_meta(folder: Path) -> dict:
    """session.json: what the session is (source, mode, fps, parameters, status)."""
    if not (Path(folder) / SESSION_FILE).is_file():
        raise TwitchcamError(f"{folder}: not a twitchcam session folder (no {SESSION_FILE})")
    return read_json(Path(folder) / SESSION_FILE)


def read_session(folder: Path) -> StoredSession:
    """What `detect` needs: the metadata and every frame's raw features."""
    folder = Path(folder)
    meta = read_meta(folder)
    frames_path = folder / FRAMES_FILE
    if not frames_path.is_file():
        raise TwitchcamError(f"{folder}: not a twitchcam session folder (no frames.csv)")
    frames = read_frames(frames_path)
    missing = [c for c in FRAME_COLUMNS if not frames.has(c)]
    if missing:
        raise TwitchcamError(f"{frames_path}: columns {', '.join(missing[:3])}... missing "
                             f"(written by another version, format {meta.get('format')})")
    return StoredSession(folder, meta, frames)


def read_event_rows(path: Path) -> tuple[list[Event], int]:
    """events.csv: the events, and how many rows were damaged (skipped, never fatal)."""
    out, bad = [], 0
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            for r in csv.DictReader(f):
                try:
                    e = Event(float(r["onset_s"]), float(r["offset_s"]), r["side"].strip(), r["kind"].strip(),
                              int(r["twitches"]), float(r["peak_closure"]), r["region"].strip(),
                              float(r["detected_at_s"] or "nan"))
                except (KeyError, TypeError, ValueError, AttributeError):
                    bad += 1
                    continue
                if e.side not in ("left", "right", "both") or not (math.isfinite(e.onset_s)
                                                                  and math.isfinite(e.offset_s)):
                    bad += 1
                    continue
                out.append(e)
    except OSError as exc:
        raise TwitchcamError(f"cannot read {path}: {exc.strerror or exc}") from None
    return out, bad


def read_events(folder: Path) -> list[Event]:
    return read_event_rows(Path(folder) / EVENTS_FILE)[0]
