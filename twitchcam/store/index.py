"""Session index: a small SQLite cache of every session folder under recordings/.

The session folders stay the source of truth.  ``recordings/sessions.sqlite`` only caches a
few numbers per folder (date, length, per-side rate, affected side) so ``twitchcam sessions``
is instant with hundreds of sessions.  On every use the folders are scanned (a ``stat`` per
file, no parsing) and each row is compared with the size and mtime of the folder's
``session.json`` and ``summary.json``: new folders are added, changed ones re-read, vanished
ones dropped.  A missing, corrupt or old-schema index file is rebuilt from scratch; a
read-only recordings folder falls back to an in-memory index.

Also home to the light helpers for reading a session folder, shared with the report.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from twitchcam.core.clock import format_clock
from twitchcam.core.summary import finite
from twitchcam.errors import TwitchcamError
from twitchcam.store.folder import is_session_dir
from twitchcam.store.lock import is_being_written
from twitchcam.store.reader import read_meta, read_summary_file
from twitchcam.store.session import SESSION_FILE, SUMMARY_FILE

INDEX_NAME = "sessions.sqlite"
SCHEMA_VERSION = 2


# --------------------------------------------------------------------------- folder helpers

def find_session_dirs(root: str | Path, depth: int = 2) -> list[Path]:
    """Session folders (holding session.json) in ``root`` or up to ``depth`` levels below."""
    root = Path(root)
    found: list[Path] = []

    def walk(d: Path, level: int) -> None:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            if e.name.startswith(".") or not e.is_dir(follow_symlinks=True):
                continue
            p = Path(e.path)
            if is_session_dir(p):
                found.append(p)
            elif level < depth:
                walk(p, level + 1)

    if is_session_dir(root):
        return [root]
    walk(root, 1)
    return found


def parse_started_at(text: Any) -> dt.datetime | None:
    """The naive local datetime of an ISO-8601 string; a time with a UTC offset is converted
    to this machine's local time first."""
    if not isinstance(text, str) or not text.strip():
        return None
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        try:
            t = dt.datetime.fromisoformat(s[:19])
        except ValueError:
            return None
    if t.tzinfo is not None:
        try:
            t = t.astimezone()
        except (OverflowError, OSError, ValueError):
            pass
    return t.replace(tzinfo=None)


# --------------------------------------------------------------------------- the index

@dataclass
class SessionRow:
    path: str
    name: str
    started_at: str | None
    mode: str | None
    status: str | None
    duration_s: float | None
    valid_s: float | None
    left_count: int | None
    right_count: int | None
    left_per_min: float | None
    right_per_min: float | None
    affected_side: str | None
    no_face: int
    has_summary: int
    problem: str | None
    sig: str

    @property
    def started(self) -> dt.datetime | None:
        return parse_started_at(self.started_at)


_COLUMNS = [f.name for f in fields(SessionRow)]
_SQL_TYPES = {"duration_s": "REAL", "valid_s": "REAL", "left_per_min": "REAL",
              "right_per_min": "REAL", "left_count": "INTEGER", "right_count": "INTEGER",
              "no_face": "INTEGER", "has_summary": "INTEGER"}


def storable(text: str) -> str:
    """`text` as SQLite can store it: a folder name that is not UTF-8 (surrogates in Python)
    with its odd bytes written as \\udcXX escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _stat_sig(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}"


def signature(session_dir: Path) -> str:
    """Changes whenever session.json or summary.json is written, replaced or removed."""
    return _stat_sig(session_dir / SESSION_FILE) + "|" + _stat_sig(session_dir / SUMMARY_FILE)


def read_row(session_dir: Path) -> SessionRow:
    """One index row from a session folder; never raises (problems go in ``problem``)."""
    session_dir = Path(session_dir)
    sig = signature(session_dir)
    problem = None
    try:
        meta = read_meta(session_dir)
    except TwitchcamError as e:
        meta, problem = {}, str(e)
    summary: dict[str, Any] = {}
    has_summary = 0
    if (session_dir / SUMMARY_FILE).is_file():
        try:
            summary = read_summary_file(session_dir / SUMMARY_FILE)
            has_summary = 1
        except TwitchcamError as e:
            problem = problem or str(e)
    elif problem is None:
        problem = "no summary.json yet"
    spasms = summary.get("spasms") or {}

    def side(s: str, key: str) -> Any:
        return (spasms.get(s) or {}).get(key)

    def as_int(v: Any) -> int | None:
        f = finite(v)
        return None if f is None or abs(f) > 2 ** 53 else int(f)  # SQLite's INTEGER holds 64 bits

    def text(v: Any) -> str | None:
        return storable(v) if isinstance(v, str) else None

    affected = summary.get("affected_side")
    return SessionRow(
        path=storable(str(session_dir.resolve())),
        name=storable(session_dir.name),
        started_at=text(summary.get("started_at") or meta.get("started_at")),
        mode=text(meta.get("mode")),
        status=text(summary.get("status") or meta.get("status")),
        duration_s=finite(summary.get("duration_s")),
        valid_s=finite(summary.get("valid_s")),
        left_count=as_int(side("left", "count")),
        right_count=as_int(side("right", "count")),
        left_per_min=finite(side("left", "per_min")),
        right_per_min=finite(side("right", "per_min")),
        affected_side=affected if affected in ("left", "right") else None,
        no_face=1 if summary.get("no_face") else 0,
        has_summary=has_summary,
        problem=storable(problem) if problem else problem,
        sig=sig,
    )


def _connect(db_path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(db_path), timeout=5.0)
    con.execute("PRAGMA user_version")  # raises on a file that is not a database
    return con


def _create(con: sqlite3.Connection) -> None:
    cols = ", ".join(
        f"{c} {_SQL_TYPES.get(c, 'TEXT')}" + (" PRIMARY KEY" if c == "path" else "")
        for c in _COLUMNS)
    con.execute("DROP TABLE IF EXISTS sessions")
    con.execute(f"CREATE TABLE sessions ({cols})")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _open(db_path: Path, rebuild: bool) -> sqlite3.Connection:
    """The index database.  Rebuilds a corrupt/old index; in memory if unwritable."""
    if rebuild and db_path.exists():
        try:
            db_path.unlink()
        except OSError:
            pass
    try:
        con = _connect(db_path)
        version = con.execute("PRAGMA user_version").fetchone()[0]
        have = {r[1] for r in con.execute("PRAGMA table_info(sessions)")}
        if version != SCHEMA_VERSION or have != set(_COLUMNS):
            _create(con)
            con.commit()
        return con
    except sqlite3.DatabaseError:
        try:
            con.close()
        except Exception:  # noqa: BLE001 - best effort
            pass
        try:
            db_path.unlink()
            con = _connect(db_path)
            _create(con)
            con.commit()
            return con
        except (OSError, sqlite3.Error):
            pass
    except OSError:
        pass
    con = sqlite3.connect(":memory:")
    _create(con)
    return con


def _sync(con: sqlite3.Connection, dirs: list[Path]) -> list[SessionRow]:
    """Update the index in `con` from the session folders `dirs`; all its rows (closes `con`)."""
    try:
        cached = {r[0]: r[1] for r in con.execute("SELECT path, sig FROM sessions")}
        current = {storable(str(d.resolve())): d for d in dirs}
        stale = [p for p in cached if p not in current]
        changed = [d for p, d in current.items() if cached.get(p) != signature(d)]
        if stale:
            con.executemany("DELETE FROM sessions WHERE path = ?", [(p,) for p in stale])
        if changed:
            rows = [read_row(d) for d in changed]
            marks = ", ".join("?" for _ in _COLUMNS)
            con.executemany(
                f"INSERT OR REPLACE INTO sessions ({', '.join(_COLUMNS)}) VALUES ({marks})",
                [tuple(getattr(r, c) for c in _COLUMNS) for r in rows])
        if stale or changed:
            con.commit()
        return [SessionRow(*r) for r in con.execute(f"SELECT {', '.join(_COLUMNS)} FROM sessions")]
    finally:
        con.close()


def sync(recordings: str | Path, rebuild: bool = False) -> list[SessionRow]:
    """Bring the index up to date with the folders and return all rows, oldest first.

    ``rebuild=True`` throws the cached rows away and re-reads every folder.
    """
    root = Path(recordings)
    if not root.is_dir():
        raise TwitchcamError(f"recordings folder {root} does not exist")
    dirs = find_session_dirs(root)
    db = root / INDEX_NAME
    try:
        rows = _sync(_open(db, rebuild), dirs)
    except sqlite3.Error:
        # a damaged index ("database disk image is malformed") is rebuilt from the folders; one
        # that cannot be written (a read-only folder) is kept in memory for this run
        try:
            rows = _sync(_open(db, rebuild=True), dirs)
        except sqlite3.Error:
            con = sqlite3.connect(":memory:")
            _create(con)
            rows = _sync(con, dirs)
    rows.sort(key=lambda r: (r.started or dt.datetime.max, r.path))
    return rows


# --------------------------------------------------------------------------- text output

def _fmt_rate(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def format_table(rows: list[SessionRow]) -> str:
    if not rows:
        return "no sessions found"
    head = ("date", "length", "valid", "left/min", "right/min", "affected", "status", "folder")
    table = [head]
    for r in rows:
        t = r.started
        date = t.strftime("%Y-%m-%d %H:%M") if t else (r.started_at or "?")
        if r.no_face:
            affected = "no face"
        elif r.has_summary:
            affected = r.affected_side or "none"
        else:
            affected = "—"
        status = r.status or "?"
        if status == "running" and not is_being_written(Path(r.path)):
            status = "interrupted"  # its writer died (kill -9, power loss) before it finished
        if r.problem and not r.has_summary:
            status = f"{status} ({r.problem})"
        table.append((date, format_clock(r.duration_s), format_clock(r.valid_s),
                      _fmt_rate(r.left_per_min), _fmt_rate(r.right_per_min), affected,
                      status, r.name))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    right = {1, 2, 3, 4}
    lines = []
    for row in table:
        cells = [row[i].rjust(widths[i]) if i in right else row[i].ljust(widths[i])
                 for i in range(len(head))]
        lines.append("  ".join(cells).rstrip())
    lines.append(f"{len(rows)} session(s); rates are spasms per valid (face-tracked) minute, "
                 "sides are the patient's")
    return "\n".join(lines)
