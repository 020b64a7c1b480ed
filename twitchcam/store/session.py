"""Session folders: the stable on-disk contract every later tool builds on.

    session.json   written at the start (status "running"), finalised at the end
    frames.csv     one row per decoded frame, appended as it happens
    events.csv     one row per event, appended as it happens
    markers.csv    patient markers (live mode)
    summary.json   written at the end (and by `twitchcam detect`)
    session.lock   an empty file: the OS lock a writer holds while it writes (see SessionLock)

Rows are flushed at least once a second, so a session killed at any moment is still
readable by `twitchcam detect`; a session.json still saying "running" marks it as
interrupted.  Floats are written with repr(), which round-trips exactly, so `detect`
re-runs the filters on the very numbers the live run saw.
"""
from __future__ import annotations

import csv
import errno
import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.store.atomic import NO_FOLLOW, open_new, unlink_link, write_text_atomic
from twitchcam.errors import TwitchcamError
from twitchcam.core.events import EVENT_COLUMNS, Event
from twitchcam.core.features import FEATURE_COLUMNS, POSE_COLUMNS
from twitchcam.core.summary import finite

SESSION_FORMAT = 2  # 2: appearance and blendshape features, face_px; validity judged against the person
# The files of a session folder (see the module docstring).
SESSION_FILE, FRAMES_FILE, EVENTS_FILE, MARKERS_FILE, SUMMARY_FILE, VIDEO_FILE = (
    "session.json", "frames.csv", "events.csv", "markers.csv", "summary.json", "video.avi")
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


def disk_error(exc: OSError, path: Path, kept: bool = True) -> TwitchcamError:
    """One line for a failed write; `kept` says whether a session is there to keep."""
    if exc.errno == errno.ENOSPC:
        return TwitchcamError(f"disk full while writing {path}; " + (
            "the session so far is kept there" if kept else "nothing was recorded"))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return TwitchcamError(f"cannot write to {path}: permission denied")
    return TwitchcamError(f"cannot write {path}: {exc.strerror or exc}")


# -- who may write a session folder ----------------------------------------------------------
LOCK_NAME = "session.lock"
DETECT_DIR = "detect"  # where `twitchcam detect` writes by default
# Everything a session consists of: what --overwrite removes (and nothing else of the folder).
SESSION_FILES = (SESSION_FILE, FRAMES_FILE, EVENTS_FILE, MARKERS_FILE, SUMMARY_FILE, VIDEO_FILE)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    try:
        import msvcrt
    except ImportError:
        msvcrt = None


class SessionLock:
    """An OS lock on SESSION/session.lock, held while one process writes the session.

    It is the kernel's (flock): it ends with the process however that ends, kill -9
    included, so it never goes stale.  A second writer gets a one-line TwitchcamError.
    Where the platform has no such lock, writing goes on unlocked.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._f = None

    def acquire(self, what: str = "a session") -> "SessionLock":
        path = self.folder / LOCK_NAME
        unlink_link(path)
        f = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | NO_FOLLOW, 0o666), "r+")
        try:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif msvcrt is not None:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            f.seek(0)
            owner = f.read().strip()
            f.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
                pid = f" (pid {owner})" if owner.isdigit() else ""
                raise TwitchcamError(f"{self.folder} is being written by another twitchcam process{pid}; "
                                     f"wait for it to end or choose another folder") from None
            raise
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._f = f
        return self

    def release(self) -> None:
        if self._f is not None:
            try:
                self._f.seek(0)
                self._f.truncate()  # the pid of a process that no longer writes is no help
            except OSError:
                pass
            self._f.close()  # closing the file drops the lock
            self._f = None


def is_being_written(folder: Path) -> bool:
    """True while another process holds the folder's lock (a session still being recorded)."""
    path = Path(folder) / LOCK_NAME
    if fcntl is None or not path.is_file():
        return False
    try:
        with open(path) as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
    except OSError:
        return False
    return False


def check_session_folder(folder: Path, overwrite: bool = False, recordings: Path | None = None) -> None:
    """Refuse, in one line, a folder a new session must not be written into.

    A folder already holding a session is refused unless `overwrite`; the recordings
    folder itself, or any folder holding other sessions, always (the new session would
    hide them from `sessions` and `report`).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise TwitchcamError(f"{folder} is a file, not a session folder")
    if recordings is not None and _same_dir(folder, Path(recordings)):
        raise TwitchcamError(f"{folder} is the recordings folder itself; a session needs a folder of its own "
                             f"(leave out --out, or give a new folder inside it)")
    if folder.is_dir() and any((sub / SESSION_FILE).is_file() for sub in _subdirs(folder)):
        raise TwitchcamError(f"{folder} holds other sessions; a session needs a folder of its own")
    if (folder / SESSION_FILE).is_file() and not overwrite:
        status = read_meta_or_empty(folder).get("status") or "unknown"
        raise TwitchcamError(f"{folder} already holds a session (status {status}); choose another folder, "
                             f"or --overwrite to replace it")


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _subdirs(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder) if e.is_dir() and e.name != DETECT_DIR]
    except OSError:
        return []


def remove_session(folder: Path) -> None:
    """Remove every file of the session in `folder` (SESSION_FILES, detect/, temporary
    files), and nothing else the folder holds."""
    folder = Path(folder)
    for name in SESSION_FILES:
        (folder / name).unlink(missing_ok=True)
        (folder / (name + ".tmp")).unlink(missing_ok=True)
    unlink_link(folder / DETECT_DIR)  # a link is removed, never what it points to
    shutil.rmtree(folder / DETECT_DIR, ignore_errors=True)


# -- the source a session was made from -------------------------------------------------------
HASH_SPAN = 1 << 20  # the first and last MiB


def source_identity(path: Path) -> dict:
    """What tells a video file from another one put in its place: its absolute path, size,
    modification time and a SHA-256 of its first and last MiB (quick even for hours of video)."""
    path = Path(path)
    h = hashlib.sha256()
    try:
        st = path.stat()
        with open(path, "rb") as f:
            h.update(f.read(HASH_SPAN))
            if st.st_size > HASH_SPAN:
                f.seek(max(HASH_SPAN, st.st_size - HASH_SPAN))
                h.update(f.read(HASH_SPAN))
    except OSError as exc:
        raise TwitchcamError(f"cannot read {path}: {exc.strerror or exc}") from None
    return {"path": os.fsdecode(os.path.realpath(path)), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "head_tail_sha256": h.hexdigest()}


def same_source_path(meta: dict, video: Path) -> bool:
    """Was this session made from the file at `video`'s path (whatever it holds now)?
    Sessions from before source identities were stored: the same file name."""
    ident = meta.get("source_id")
    if isinstance(ident, dict) and isinstance(ident.get("path"), str):
        return ident["path"] == os.fsdecode(os.path.realpath(video))
    return Path(str(meta.get("source") or "")).name == Path(video).name


def source_changed(meta: dict, video: Path) -> bool:
    """True if the file at `video` is no longer the one this session was made from."""
    ident = meta.get("source_id")
    if not isinstance(ident, dict):
        return False  # made before identities were stored: nothing to compare
    try:
        now = source_identity(video)
    except TwitchcamError:
        return True
    return any(ident.get(k) != now[k] for k in ("size", "mtime_ns", "head_tail_sha256"))


def finished_session(folder: Path, video: Path) -> tuple[dict | None, str]:
    """Whether `folder` already holds the finished analysis of the file at `video`.

    (summary, "") when it holds a complete session of that very file, unchanged: nothing to
    do.  Otherwise (None, why): the session must be (re)done; `why` is empty for a new or an
    unfinished one and says so when the file changed since the session was made.
    """
    meta = read_meta_or_empty(folder)
    if meta.get("status") != "complete":
        return None, ""
    summary = read_json_or_none(Path(folder) / SUMMARY_FILE)
    if summary is None:
        return None, ""
    if source_changed(meta, video):
        return None, f"{Path(video).name} changed since {Path(folder).name} was made from it: analysed again"
    return summary, ""


def read_json_or_none(path: Path) -> dict | None:
    """A JSON object from `path`, or None when it is missing, unreadable or not an object
    (the lenient twin of `read_json`, for files whose absence only means 'not done')."""
    try:
        data = json.loads(_json_text(Path(path)))
    except (OSError, ValueError, RecursionError, TwitchcamError):
        return None
    return data if isinstance(data, dict) else None


def read_meta_or_empty(folder: Path) -> dict:
    return read_json_or_none(Path(folder) / SESSION_FILE) or {}


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


MAX_HEADER_BYTES = 1 << 16  # frames.csv's header is ~2 KB
MAX_JSON_BYTES = 4 << 20  # session.json and summary.json are a few KB


def read_frames(path: Path) -> FrameTable:
    """frames.csv as a FrameTable: the one reader that detect, the report and the API use.

    Floats were written with repr(), and pandas' parser reads them back bit for bit.
    """
    import pandas as pd

    try:
        with open(path, "rb") as f:
            head = f.readline(MAX_HEADER_BYTES + 1)
    except OSError as exc:
        raise TwitchcamError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(head) > MAX_HEADER_BYTES:  # no header of ours is this long: damaged, and not read whole
        raise TwitchcamError(f"{path}: its first row is over {MAX_HEADER_BYTES} bytes, not a frames table (damaged)")
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
        if not pd.api.types.is_numeric_dtype(col):  # a damaged cell: the column did not parse as numbers
            num = pd.to_numeric(col, errors="coerce")
            ok &= ~(num.isna() & col.notna()).to_numpy()  # a cell that is not a number ('nan' read as NaN is one)
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
        """The nominal frame rate session.json gives; a damaged one (not a number within
        0.1-1000) is a damaged session, one line."""
        fps = finite(self.meta.get("fps", 30.0))
        if fps is None or not 0.1 <= fps <= 1000.0:
            raise TwitchcamError(f"{self.folder / SESSION_FILE}: fps is {self.meta.get('fps')!r}, not a frame rate "
                                 "(damaged session)")
        return fps

    @property
    def status(self) -> str:
        """How the session ended; "running" only while a process still writes it (a session
        that says "running" with nobody writing it was cut off: "interrupted")."""
        status = self.meta.get("status", "running")
        if status == "running" and not is_being_written(self.folder):
            return "interrupted"
        return status if isinstance(status, str) else "unknown"


def is_session_dir(path: Path) -> bool:
    return (Path(path) / SESSION_FILE).is_file()


def _json_text(path: Path) -> str:
    """A JSON file's text, read no further than MAX_JSON_BYTES (a larger one is damaged)."""
    with open(path, encoding="utf-8") as f:
        text = f.read(MAX_JSON_BYTES + 1)
    if len(text) > MAX_JSON_BYTES:
        raise TwitchcamError(f"{path} is over {MAX_JSON_BYTES >> 20} MiB: not a twitchcam file (damaged)")
    return text


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; TwitchcamError with a one-line reason otherwise."""
    try:
        data = json.loads(_json_text(path))
    except FileNotFoundError:
        raise TwitchcamError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TwitchcamError(f"cannot read {path}: {e}") from None
    except RecursionError:
        raise TwitchcamError(f"cannot read {path}: nested too deeply") from None
    if not isinstance(data, dict):
        raise TwitchcamError(f"{path} is not a JSON object")
    return data


# What the parts of session.json and summary.json must be for anything to read them: a type,
# and for numbers the range a real session can have (a duration of 1e300 s, a count SQLite
# cannot store, a mode that is a list: a damaged or hand-edited file, one line, skipped).
_TEXT = ("status", "affected_side", "started_at", "source", "mode", "model_sha256", "ended_at")
_META_SHAPE = {**{k: str for k in _TEXT}, "params": dict, "source_id": dict, "fps": (int, float),
               "mirrored": bool}
_SUMMARY_SHAPE = {**_META_SHAPE, "spasms": dict, "blinks": dict, "versions": dict, "grades": dict}
_RANGES = {"duration_s": 1e8, "valid_s": 1e8, "fps": 1e4, "frames": 1e10, "valid_frames": 1e10,
           "lost_frames": 1e10, "count": 1e9, "per_min": 1e6, "clonic": 1e9, "tonic": 1e9, "twitches": 1e10,
           "mean_duration_s": 1e8, "max_duration_s": 1e8, "with_mouth": 1e9, "possible": 1e9}


def check_shape(path: Path, data: dict, shape: dict, what: str) -> dict:
    """`data` if its parts have the types in `shape` and its numbers (at the top, and per side
    under 'spasms') are within _RANGES; else a one-line TwitchcamError naming the first that
    is not ('damaged <what>')."""
    for key, kind in shape.items():
        if data.get(key) is not None and not isinstance(data[key], kind):
            want = {dict: "JSON object", str: "string", bool: "true/false"}.get(kind, "number")
            raise TwitchcamError(f"{path}: {key!r} is a {type(data[key]).__name__}, not a {want} (damaged {what})")
    parts = [("", data)] + [(f"spasms.{side}.", (data.get("spasms") or {}).get(side)) for side in SIDES]
    for prefix, part in parts:
        if part is not None and not isinstance(part, dict):
            raise TwitchcamError(f"{path}: {prefix[:-1]!r} is a {type(part).__name__}, not a JSON object "
                                 f"(damaged {what})")
        for key, top in _RANGES.items():
            v = (part or {}).get(key)
            if v is not None and not isinstance(v, bool) and isinstance(v, (int, float)) and not 0 <= v <= top:
                raise TwitchcamError(f"{path}: {prefix}{key} is {v!r}, out of range (damaged {what})")
    return data


def read_summary_file(path: Path) -> dict:
    """summary.json as a dict whose parts have the types and ranges the readers expect."""
    return check_shape(path, read_json(path), _SUMMARY_SHAPE, "summary")


def read_summary(folder: Path) -> dict | None:
    """summary.json, or None while a session has none (running, or cut short by kill -9)."""
    path = Path(folder) / SUMMARY_FILE
    return read_summary_file(path) if path.is_file() else None


def read_meta(folder: Path) -> dict:
    """session.json: what the session is (source, mode, fps, parameters, status)."""
    if not (Path(folder) / SESSION_FILE).is_file():
        raise TwitchcamError(f"{folder}: not a twitchcam session folder (no {SESSION_FILE})")
    return check_shape(Path(folder) / SESSION_FILE, read_json(Path(folder) / SESSION_FILE), _META_SHAPE, "session")


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


def _evidence_cells(r: dict) -> tuple[float, float, float, str]:
    """confidence, asym, asym_s, sources of an events.csv row (absent before format 3: unknown)."""
    return (float(r.get("confidence") or "nan"), float(r.get("asym") or "nan"), float(r.get("asym_s") or "nan"),
            (r.get("sources") or "").strip())


def read_event_rows(path: Path) -> tuple[list[Event], int]:
    """events.csv: the events, and how many rows were damaged (skipped, never fatal)."""
    out, bad = [], 0
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            for r in csv.DictReader(f):
                try:
                    e = Event(float(r["onset_s"]), float(r["offset_s"]), r["side"].strip(), r["kind"].strip(),
                              int(r["twitches"]), float(r["peak_closure"]), r["region"].strip(),
                              float(r["detected_at_s"] or "nan"), *_evidence_cells(r))
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
