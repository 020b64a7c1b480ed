"""A person's decisions on the one-sided events of a session: `review.csv` beside `events.csv`.

`events.csv` is what the detector found and is never changed; `review.csv` holds what a
person decided, one row per event they decided on: confirmed or rejected, and the side if
they moved it.  Events are numbered 1, 2, ... in `events.csv` order among the one-sided ones
(spasms and 'possible' ones); each decision also keeps the event's onset, so a decision made
on an earlier analysis of the folder is not applied to another event.

Decisions are written whole (atomically) under an OS lock, so two review pages or commands on
one session never interleave, and not while the session is still being written (`live`).
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from twitchcam.core.anatomy import SIDES
from twitchcam.core.events import BOTH, Event
from twitchcam.errors import TwitchcamError
from twitchcam.store.atomic import locked, write_text_atomic
from twitchcam.store.lock import is_being_written
from twitchcam.store.reader import read_event_rows
from twitchcam.store.session import EVENTS_FILE

REVIEW_FILE = "review.csv"
REVIEW_COLUMNS = ("id", "onset_s", "decision", "side", "decided_at")
CONFIRMED, REJECTED = "confirmed", "rejected"
DECISIONS = (CONFIRMED, REJECTED)
ONSET_TOLERANCE_S = 0.001  # a decision belongs to the event with this onset (events.csv stores repr floats)


@dataclass(frozen=True)
class Item:
    """One one-sided event and what a person decided on it."""

    id: int
    event: Event
    decision: str = ""  # '' (not reviewed), confirmed or rejected
    side: str = ""  # the side a person gave it, where they moved it
    decided_at: str = ""  # when (ISO time), as review.csv keeps it

    @property
    def final_side(self) -> str:
        return self.side or self.event.side


def number(events: list[Event]) -> list[tuple[int, Event]]:
    """The one-sided events with their ids (1, 2, ... in events.csv order)."""
    return list(enumerate((e for e in events if e.side != BOTH), start=1))


def read_decisions(folder: Path) -> tuple[dict[int, dict], int]:
    """review.csv's decisions by id, and how many rows were damaged (ignored, never fatal)."""
    path = Path(folder) / REVIEW_FILE
    if not path.is_file():
        return {}, 0
    out, bad = {}, 0
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            for row in csv.DictReader(f):
                try:
                    key, onset = int(row["id"]), float(row["onset_s"])
                    decision, side = row["decision"].strip(), (row.get("side") or "").strip()
                except (KeyError, TypeError, ValueError, AttributeError):
                    bad += 1
                    continue
                if decision not in DECISIONS or side not in ("", *SIDES) or not math.isfinite(onset) or key < 1:
                    bad += 1
                    continue
                out[key] = {"onset_s": onset, "decision": decision, "side": side,
                            "decided_at": (row.get("decided_at") or "").strip()}
    except (OSError, csv.Error) as exc:
        raise TwitchcamError(f"cannot read {path}: {exc}") from None
    return out, bad


def items(folder: Path, events: list[Event] | None = None) -> tuple[list[Item], int]:
    """Every one-sided event of the session with its decision, and the damaged review rows."""
    folder = Path(folder)
    if events is None:
        events = read_event_rows(folder / EVENTS_FILE)[0] if (folder / EVENTS_FILE).is_file() else []
    decided, bad = read_decisions(folder)
    out = []
    for key, e in number(events):
        d = decided.get(key)
        if d is not None and abs(d["onset_s"] - e.onset_s) <= ONSET_TOLERANCE_S:
            out.append(Item(key, e, d["decision"], d["side"] if d["side"] != e.side else "", d["decided_at"]))
        else:
            out.append(Item(key, e))
    return out, bad


def decide(folder: Path, changes: dict[int, tuple[str | None, str | None]]) -> list[Item]:
    """Apply `changes` {id: (decision or None, side or None)} and return every item.

    A decision of '' clears one; a side moves the event (and confirms it: a person who says
    'this is a spasm of the other side' has confirmed it).  Unknown ids and values are one
    line (exit 2) and change nothing; so is a session still being written."""
    folder = Path(folder)
    if is_being_written(folder):
        raise TwitchcamError(f"{folder} is still being recorded; review it once the recording has ended")
    with locked(folder / (REVIEW_FILE + ".lock")):
        current, _ = items(folder)
        by_id = {it.id: it for it in current}
        unknown = sorted(k for k in changes if k not in by_id)
        if unknown:
            raise TwitchcamError(f"no event {', '.join(map(str, unknown))} in {folder} "
                                 f"(ids are 1 to {len(by_id)}; see `twitchcam review {folder} --list`)")
        now = datetime.now().astimezone().isoformat(timespec="seconds")
        for key, (decision, side) in changes.items():
            if decision not in (None, "", *DECISIONS) or side not in (None, *SIDES):
                raise TwitchcamError(f"event {key}: {decision or side!r} is no decision or side")
            it = by_id[key]
            new_side = it.side if side is None else ("" if side == it.event.side else side)
            new_decision = it.decision if decision is None else decision
            if side is not None and decision is None:
                new_decision = CONFIRMED
            by_id[key] = Item(key, it.event, new_decision, new_side, now)
        rows = [[key, repr(it.event.onset_s), it.decision, it.side, it.decided_at or now]
                for key, it in sorted(by_id.items()) if it.decision]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(REVIEW_COLUMNS)
        w.writerows(rows)
        try:
            write_text_atomic(folder / REVIEW_FILE, buf.getvalue())
        except OSError as exc:
            raise TwitchcamError(f"cannot write {folder / REVIEW_FILE}: {exc.strerror or exc}") from None
        return [by_id[k] for k in sorted(by_id)]


def counts(reviewed: list[Item], valid_s: float | None) -> dict:
    """Per side: detected (counted spasms), possible, confirmed, rejected and unreviewed (counted
    spasms nobody decided on); once every counted spasm is decided, the confirmed rate."""
    out: dict = {}
    for side in SIDES:
        mine = [it for it in reviewed if it.event.side == side]
        counted = [it for it in mine if it.event.is_spasm]
        confirmed = sum(1 for it in reviewed if it.decision == CONFIRMED and it.final_side == side)
        out[side] = {"detected": len(counted), "possible": len(mine) - len(counted), "confirmed": confirmed,
                     "rejected": sum(1 for it in mine if it.decision == REJECTED),
                     "unreviewed": sum(1 for it in counted if not it.decision)}
    done = all(out[s]["unreviewed"] == 0 for s in SIDES)
    out["fully_reviewed"] = done
    for side in SIDES:
        out[side]["confirmed_per_min"] = (round(out[side]["confirmed"] / (valid_s / 60.0), 4)
                                          if done and valid_s else None)
    return out
