"""Treatment log: a plain CSV file the user can read and edit, ``recordings/treatments.csv``.

::

    date,side,kind,note
    2024-03-01,left,botox,25 U orbicularis

``date`` is YYYY-MM-DD, ``side`` the PATIENT's side treated (left|right|both), ``kind`` one
of KINDS (``botox`` means any botulinum-toxin injection, whatever the brand).  Lines starting
with ``#`` and blank lines are ignored, so the user may annotate the file by hand.  ``add``
appends a line and never rewrites what is already there; ``remove`` drops exactly one entry
and leaves every other line, comments included, as it was.  A note a spreadsheet would run
as a formula (``=HYPERLINK(...)``) is stored with a leading apostrophe and read back as
written (see `twitchcam.store.csvcell`).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from twitchcam.errors import TwitchcamError
from twitchcam.store.atomic import locked, write_text_atomic
from twitchcam.store.csvcell import read_cell, safe_cell

FILENAME = "treatments.csv"
HEADER = ("date", "side", "kind", "note")
SIDES = ("left", "right", "both")
KINDS = ("botox", "mvd", "medication", "other")
KIND_NAMES = {
    "botox": "botulinum toxin",
    "mvd": "microvascular decompression",
    "medication": "medication",
    "other": "other",
}
INJECTION_KINDS = ("botox",)
EARLIEST = dt.date(1900, 1, 1)  # `add` refuses dates before this and after today


@dataclass(frozen=True)
class Treatment:
    date: dt.date
    side: str
    kind: str
    note: str = ""

    @property
    def is_injection(self) -> bool:
        return self.kind in INJECTION_KINDS

    def to_dict(self) -> dict:
        return {"date": self.date.isoformat(), "side": self.side, "kind": self.kind,
                "note": self.note}


def path_for(recordings: str | Path) -> Path:
    return Path(recordings) / FILENAME


def parse_date(text: str) -> dt.date:
    text = (text or "").strip()
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise TwitchcamError(f"bad date {text!r}: use YYYY-MM-DD, e.g. 2024-03-01") from None


def _check(side: str, kind: str) -> tuple[str, str]:
    side = (side or "").strip().lower()
    kind = (kind or "").strip().lower()
    if side not in SIDES:
        raise TwitchcamError(f"bad side {side!r}: use one of {', '.join(SIDES)}")
    if kind not in KINDS:
        raise TwitchcamError(f"bad kind {kind!r}: use one of {', '.join(KINDS)}")
    return side, kind


def _read(path: Path) -> str:
    """The log's text; a missing file is an empty log."""
    if not path.is_file():
        return ""
    try:
        with open(path, encoding="utf-8", newline="") as f:  # line endings as they are (CRLF kept)
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise TwitchcamError(f"cannot read treatment log {path}: {e}") from None


def _entries(path: Path, text: str) -> list[tuple[slice, Treatment]]:
    """Every entry in file order with the lines it spans.  Comments, blank lines and the
    header are skipped; anything else that is not an entry is an error naming its line."""
    out: list[tuple[slice, Treatment]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 0
    for row in reader:
        lines, start = slice(start, reader.line_num), reader.line_num
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if [c.strip().lower() for c in row[:3]] == list(HEADER[:3]):
            continue
        if len(row) < 3:
            raise TwitchcamError(f"{path}:{lines.start + 1}: expected date,side,kind,note")
        try:
            date = parse_date(row[0])
            side, kind = _check(row[1], row[2])
        except TwitchcamError as e:
            raise TwitchcamError(f"{path}:{lines.start + 1}: {e}") from None
        out.append((lines, Treatment(date, side, kind, read_cell(",".join(row[3:]).strip()))))
    return out


def load(path: str | Path) -> list[Treatment]:
    """All treatments in the file, sorted by date (stable).  A missing file is an empty log."""
    path = Path(path)
    return sorted((t for _, t in _entries(path, _read(path))), key=lambda t: t.date)


def add(path: str | Path, date: str, side: str, kind: str = "botox",
        note: str = "") -> Treatment:
    """Append one treatment to the log (creating it with a header if needed)."""
    path = Path(path)
    t = Treatment(parse_date(date), *_check(side, kind), note=(note or "").strip())
    latest = dt.date.today() + dt.timedelta(days=1)  # a day of slack for time zones
    if not EARLIEST <= t.date <= latest:
        raise TwitchcamError(f"{t.date.isoformat()}: a treatment is logged once it was given, between "
                             f"{EARLIEST.isoformat()} and today")
    if "\n" in t.note or "\r" in t.note:
        raise TwitchcamError("the note must be a single line")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(_lock_path(path)):
            text = _read(path)
            _entries(path, text)  # refuse to append to a log we could not read back
            end = "\r\n" if "\r\n" in text else "\n"  # the file's own line endings
            prefix = ",".join(HEADER) + end if not text else "" if text.endswith(("\n", "\r")) else end
            buf = io.StringIO()
            csv.writer(buf, lineterminator=end).writerow([t.date.isoformat(), t.side, t.kind, safe_cell(t.note)])
            with open(path, "a", encoding="utf-8", newline="") as f:
                f.write(prefix + buf.getvalue())
    except OSError as e:
        raise TwitchcamError(f"cannot write treatment log {path}: {e}") from None
    return t


def _lock_path(path: Path) -> Path:
    """treatments.csv.lock: held while the log is read and written, so `treatment add` and
    `treatment remove` at once never lose an entry (remove's rewrite would drop an add that
    landed between its read and its rename)."""
    return path.with_name(path.name + ".lock")


def remove(path: str | Path, date: str, side: str | None = None, kind: str | None = None) -> Treatment:
    """Delete the one entry on ``date`` (narrowed by ``side`` and ``kind`` when given).

    Several matches are an error that lists them, so a wrong guess never deletes the wrong
    injection.  The file is replaced atomically; other lines are kept byte for byte.
    """
    path = Path(path)
    day = parse_date(date)
    if not path.is_file():
        raise TwitchcamError(f"no treatment {day.isoformat()} in {path}")
    try:
        with locked(_lock_path(path)):
            return _remove(path, day, side, kind)
    except OSError as e:
        raise TwitchcamError(f"cannot write treatment log {path}: {e}") from None


def _remove(path: Path, day: dt.date, side: str | None, kind: str | None) -> Treatment:
    text = _read(path)
    matches = [(lines, t) for lines, t in _entries(path, text)  # never rewrite a log we could not read
               if t.date == day and side in (None, t.side) and kind in (None, t.kind)]
    which = " ".join(x for x in (day.isoformat(), side, kind) if x)
    if not matches:
        raise TwitchcamError(f"no treatment {which} in {path}")
    if len(matches) > 1:
        listed = "; ".join(f"{t.side} {t.kind}" + (f" ({t.note})" if t.note else "") for _, t in matches)
        raise TwitchcamError(f"{len(matches)} treatments {which}: {listed}; say which with --side/--kind")
    lines, removed = matches[0]
    kept = io.StringIO(text, newline="").readlines()  # the very lines csv.reader counted, endings kept
    del kept[lines]
    write_text_atomic(path, "".join(kept))
    return removed


def last_injection_before(treatments: list[Treatment], day: dt.date,
                          side: str | None = None) -> Treatment | None:
    """The latest injection on or before ``day`` (on ``side`` or both sides, if given)."""
    best = None
    for t in relevant_injections(treatments, side):
        if t.date <= day:
            best = t
    return best


def relevant_injections(treatments: list[Treatment], side: str | None = None) -> list[Treatment]:
    """Injections, keeping only those on ``side`` (or both sides) when a side is given and
    such injections exist; otherwise all injections."""
    inj = [t for t in treatments if t.is_injection]
    if side in ("left", "right"):
        same = [t for t in inj if t.side in (side, "both")]
        if same:
            return same
    return inj


def format_table(treatments: list[Treatment]) -> str:
    if not treatments:
        return "no treatments recorded"
    rows = [("date", "side", "kind", "note")] + [
        (t.date.isoformat(), t.side, t.kind, t.note) for t in treatments]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for r in rows:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    return "\n".join(line.rstrip() for line in lines)
