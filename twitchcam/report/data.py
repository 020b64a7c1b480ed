"""The report's inputs: session folders read back, and the data behind each plot.

Plots only: every number the report prints comes from summary.json (see report.py).
Frames and events are read column-wise and thinned, so an hour-long session loads fast.
"""
from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from twitchcam.core import grades as grades_mod
from twitchcam.core.anatomy import SIDES
from twitchcam.core.events import POSSIBLE
from twitchcam.core.features import INVALID_REASONS, UNREADABLE
from twitchcam.core.summary import CLOSED_AT, finite
from twitchcam.errors import TwitchcamError
from twitchcam.store import review
from twitchcam.store.folder import is_session_dir
from twitchcam.store.index import find_session_dirs, parse_started_at
from twitchcam.store.paths import redacted_source
from twitchcam.store.reader import read_event_rows, read_frames, read_meta, read_summary_file
from twitchcam.store.session import EVENTS_FILE, FRAMES_FILE, MARKERS_FILE, SESSION_FILE, SUMMARY_FILE

DETAIL_CHOICES = ("latest", "all", "none")  # which sessions of a multi-session report get full detail
DUR_EDGES = np.array([0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20,
                      30, 60])

# =========================================================================== loading

@dataclass
class Frames:
    t: np.ndarray
    valid: np.ndarray  # bool
    closure: dict[str, np.ndarray]  # per side, NaN when not measured
    reasons: dict[str, int]  # invalid-frame counts per reason
    dropped: int  # frames dropped in live mode (sum of the dropped column)

    @property
    def n(self) -> int:
        return int(self.t.size)


@dataclass
class Events:
    onset: np.ndarray
    duration: np.ndarray
    side: np.ndarray  # str
    kind: np.ndarray  # str
    region: np.ndarray  # str
    bad_rows: int = 0
    confidence: np.ndarray | None = None  # NaN where not known (blinks, older sessions)
    asym: np.ndarray | None = None  # the eyes' closure difference behind a one-sided event

    @property
    def n(self) -> int:
        return int(self.onset.size)

    def spasm_mask(self, side: str) -> np.ndarray:
        """Counted spasms of one side ('possible' ones are listed, never counted)."""
        return (self.side == side) & (self.kind != POSSIBLE)

    def possible_mask(self) -> np.ndarray:
        return self.kind == POSSIBLE


@dataclass
class Session:
    path: Path
    meta: dict[str, Any]
    summary: dict[str, Any]
    started: dt.datetime | None
    grades: dict[str, Any]
    frames: Frames | None = None
    events: Events | None = None
    markers: list[tuple[float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # problems with plot inputs
    review: dict | None = None  # a person's decisions per side (store.review.counts), once there are any

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def valid_s(self) -> float:
        return finite(self.summary.get("valid_s")) or 0.0

    @property
    def duration_s(self) -> float:
        return finite(self.summary.get("duration_s")) or 0.0

    @property
    def no_face(self) -> bool:
        return bool(self.summary.get("no_face")) or self.valid_s <= 0

    def side(self, side: str) -> dict[str, Any]:
        return (self.summary.get("spasms") or {}).get(side) or {}


def plot_frames(path: Path) -> Frames:
    """The columns of frames.csv the plots need, through the one frames.csv reader."""
    table = read_frames(path)
    n = len(table)
    t = table.column("t_s")
    valid = np.nan_to_num(table.column("valid")) > 0
    closure = {}
    for s in SIDES:
        c = table.column(f"closure_{s}").copy() if table.has(f"closure_{s}") else np.full(n, np.nan)
        c[~valid] = np.nan
        closure[s] = c
    reasons: dict[str, int] = {}
    if table.has("reason"):
        for name, count in table.df["reason"][~valid].value_counts().items():
            key = name if name in INVALID_REASONS else "other"
            reasons[key] = reasons.get(key, 0) + int(count)
    elif (~valid).any():
        reasons["other"] = int((~valid).sum())
    if table.bad_rows:
        reasons[UNREADABLE] = table.bad_rows
    dropped = int(np.nansum(table.column("dropped"))) if table.has("dropped") else 0
    order = np.argsort(t, kind="stable")
    if order.size and np.any(order[1:] < order[:-1]):
        t, valid = t[order], valid[order]
        closure = {s: c[order] for s, c in closure.items()}
    return Frames(t=t, valid=valid, closure=closure, reasons=reasons, dropped=dropped)


def plot_events(path: Path) -> Events:
    """The columns of events.csv the plots and tables need, through the one events.csv reader."""
    events, bad = read_event_rows(path)
    return Events(np.array([e.onset_s for e in events], float), np.array([max(round(e.duration_s, 6), 0.0) for e in events], float),
                  np.array([e.side for e in events], str), np.array([e.kind for e in events], str),
                  np.array([e.region for e in events], str), bad,
                  np.array([e.confidence for e in events], float), np.array([e.asym for e in events], float))


def read_markers(path: Path) -> list[tuple[float, str]]:
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            t = finite(r.get("t_s"))
            if t is not None:
                out.append((t, (r.get("label") or "").strip()))
    return sorted(out)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Session folders from the command line; a folder that is not a session itself but
    holds session folders (e.g. recordings/) stands for all of them.  Duplicates dropped."""
    out: list[Path] = []
    seen = set()
    for p in paths:
        p = Path(p).expanduser()
        if not p.exists():
            raise TwitchcamError(f"{p} does not exist")
        if not p.is_dir():
            raise TwitchcamError(f"{p} is not a session folder")
        found = [p] if is_session_dir(p) else find_session_dirs(p)
        if not found:
            raise TwitchcamError(f"{p} is not a session folder (no {SESSION_FILE}) and holds "
                                 "none")
        for d in found:
            key = d.resolve()
            if key not in seen:
                seen.add(key)
                out.append(d)
    return out


def load_session(path: str | Path, detail: bool = True) -> Session:
    """A session's metadata and summary; with ``detail``, also the plot inputs."""
    path = Path(path)
    if not is_session_dir(path):
        raise TwitchcamError(f"{path} is not a session folder (no {SESSION_FILE})")
    meta = read_meta(path)
    notes = []
    if (path / SUMMARY_FILE).is_file():
        summary = read_summary_file(path / SUMMARY_FILE)
    else:  # cut off (kill -9, power loss) before it was summarised: summarise its frames now
        from twitchcam.run.detect import summarize_stored

        summary = summarize_stored(path)
        notes.append(f"the session ended before it was summarised; its numbers were computed from its "
                     f"{summary.get('frames', 0)} recorded frames")
    for d in (meta, summary):  # a session written before sources were redacted: no credentials in a report
        if isinstance(d.get("source"), str):
            d["source"] = redacted_source(d["source"])
    started = parse_started_at(summary.get("started_at") or meta.get("started_at"))
    stored = summary.get("grades")
    grades = stored if isinstance(stored, dict) and "jankovic_frequency" in stored \
        else grades_mod.estimate(summary)
    s = Session(path=path, meta=meta, summary=summary, started=started, grades=grades, notes=notes)
    if detail:
        load_detail(s)
    return s


def load_detail(s: Session) -> None:
    """Plot inputs; a missing or broken file is a note in the report, never a crash."""
    if s.frames is None:
        p = s.path / FRAMES_FILE
        if p.is_file():
            try:
                s.frames = plot_frames(p)
            except TwitchcamError as e:
                s.notes.append(f"frames.csv unreadable ({e}): no timeline")
        else:
            s.notes.append("frames.csv is missing: no timeline")
    if s.events is None:
        p = s.path / EVENTS_FILE
        if p.is_file():
            try:
                s.events = plot_events(p)
                if s.events.bad_rows:
                    s.notes.append(f"events.csv: {s.events.bad_rows} malformed row(s) skipped")
            except TwitchcamError as e:
                s.notes.append(f"events.csv unreadable ({e})")
        else:
            s.notes.append("events.csv is missing: no events marked")
    if (s.path / review.REVIEW_FILE).is_file():
        try:
            found, bad = review.items(s.path)
            s.review = review.counts(found, s.valid_s)
            if bad:
                s.notes.append(f"review.csv: {bad} damaged row(s) ignored")
        except TwitchcamError as e:
            s.notes.append(f"review.csv unreadable ({e})")
    p = s.path / MARKERS_FILE
    if p.is_file():
        try:
            s.markers = read_markers(p)
        except (OSError, csv.Error, UnicodeDecodeError) as e:
            s.notes.append(f"markers.csv unreadable ({e})")


# =========================================================================== plot data

def _nice_bin(span_s: float, max_bins: int, choices: Sequence[float]) -> float:
    for c in choices:
        if span_s / c <= max_bins:
            return float(c)
    return float(choices[-1])


def session_span(s: Session) -> tuple[float, float]:
    """(start, end) of the session's time axis in seconds."""
    t0 = 0.0
    end = s.duration_s
    if s.frames is not None and s.frames.n:
        t0 = min(0.0, float(s.frames.t[0]))
        end = max(end, float(s.frames.t[-1]))
    return t0, max(end, t0 + 1.0)


def span_mask(t: np.ndarray, onset: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Frames (sorted times ``t``) that fall inside any [onset, onset + duration] span."""
    delta = np.zeros(t.size + 1, int)
    np.add.at(delta, np.searchsorted(t, onset, "left"), 1)
    np.add.at(delta, np.searchsorted(t, onset + duration, "right"), -1)
    return np.cumsum(delta[:-1]) > 0


def timeline_data(frames: Frames, t0: float, t1: float, max_points: int = 1500,
                  exclude: np.ndarray | None = None) -> dict:
    """Per-side closure for the timeline.

    Sessions of up to ``max_points`` frames plot the closure itself ("raw").  Longer ones are
    binned: each bin gives the share of measured time the eye was closed (closure >= 0.5),
    leaving out the frames flagged in ``exclude`` (the report passes detected blinks, which
    would otherwise paint a constant band), so a tonic spasm fills its bin.  Also flags bins
    mostly without a tracked face ("invalid") or without a closure measurement while tracked
    ("calibrating").
    """
    t = frames.t
    if t.size <= max_points:
        measured = {s: np.isfinite(frames.closure[s]) for s in SIDES}
        return {
            "mode": "raw", "bin_s": None, "x": t,
            "y": {s: np.clip(frames.closure[s], 0, 1) for s in SIDES},
            "invalid": ~frames.valid,
            "calibrating": frames.valid & ~(measured["left"] | measured["right"]),
        }
    bin_s = _nice_bin(t1 - t0, max_points, (0.5, 1, 2, 3, 5, 10, 15, 30, 60, 120, 300, 600))
    nb = int(math.ceil((t1 - t0) / bin_s)) or 1
    b = np.clip(((t - t0) / bin_s).astype(int), 0, nb - 1)
    total = np.bincount(b, minlength=nb).astype(float)
    n_valid = np.bincount(b, weights=frames.valid.astype(float), minlength=nb)
    y, any_measured = {}, np.zeros(nb)
    keep = np.ones(t.size, bool) if exclude is None else ~exclude
    for s in SIDES:
        c = frames.closure[s]
        m = np.isfinite(c)
        any_measured = np.maximum(any_measured, np.bincount(b, weights=m.astype(float),
                                                            minlength=nb))
        m &= keep
        n_meas = np.bincount(b, weights=m.astype(float), minlength=nb)
        n_closed = np.bincount(b, weights=(m & (np.nan_to_num(c) >= CLOSED_AT)).astype(float),
                               minlength=nb)
        with np.errstate(invalid="ignore", divide="ignore"):
            y[s] = np.where(n_meas > 0, n_closed / np.maximum(n_meas, 1), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        invalid = np.where(total > 0, 1 - n_valid / np.maximum(total, 1), 1.0) > 0.5
        calib = (~invalid) & (any_measured < 0.5 * np.maximum(n_valid, 1))
    return {"mode": "binned", "bin_s": bin_s, "x": t0 + (np.arange(nb) + 0.5) * bin_s,
            "y": y, "invalid": invalid, "calibrating": calib}


def rate_bin_seconds(span_s: float) -> float:
    if span_s <= 180:
        return 10.0
    if span_s <= 480:
        return 30.0
    if span_s <= 2 * 3600:
        return 60.0
    if span_s <= 6 * 3600:
        return 300.0
    return 900.0


def rate_data(s: Session) -> dict | None:
    """Spasms per valid minute per side in fixed time bins (None without frames/events).

    A bin's valid minutes = its length x the share of its frames with a tracked face; bins
    with less than half their length valid are left empty (NaN) rather than extrapolated.
    """
    if s.frames is None or s.events is None or not s.frames.n:
        return None
    t0, t1 = session_span(s)
    bin_s = min(rate_bin_seconds(t1 - t0), t1 - t0)
    nb = int(math.ceil((t1 - t0) / bin_s - 1e-9)) or 1
    edges = t0 + np.arange(nb + 1) * bin_s
    edges[-1] = max(edges[-1], t1)
    lengths = np.minimum(edges[1:], t1) - edges[:-1]
    b = np.clip(((s.frames.t - t0) / bin_s).astype(int), 0, nb - 1)
    total = np.bincount(b, minlength=nb).astype(float)
    nv = np.bincount(b, weights=s.frames.valid.astype(float), minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, nv / np.maximum(total, 1), 0.0)
    valid_min = share * lengths / 60.0
    out = {"bin_s": bin_s, "edges": edges, "valid_min": valid_min, "counts": {}, "rate": {}}
    for side in SIDES:
        on = s.events.onset[s.events.spasm_mask(side)]
        cb = np.clip(((on - t0) / bin_s).astype(int), 0, nb - 1)
        counts = np.bincount(cb, minlength=nb)[:nb]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(share * lengths >= 0.5 * bin_s, counts / valid_min, np.nan)
        out["counts"][side] = counts
        out["rate"][side] = rate
    return out


def duration_hist(events: Events | None) -> dict | None:
    """Spasm-duration counts per side and kind in log-spaced bins (DUR_EDGES; shorter and
    longer durations go in the first and last bin)."""
    if events is None:
        return None
    out = {"edges": DUR_EDGES.tolist(), "counts": {}}
    for side in SIDES:
        m = events.spasm_mask(side)
        out["counts"][side] = {}
        for kind in ("clonic", "tonic"):
            d = np.clip(events.duration[m & (events.kind == kind)], DUR_EDGES[0],
                        DUR_EDGES[-1] * 0.999)
            c, _ = np.histogram(d, DUR_EDGES)
            out["counts"][side][kind] = c.astype(int).tolist()
    return out
