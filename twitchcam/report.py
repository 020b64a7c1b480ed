"""One self-contained HTML report (optionally PDF) from one or more session folders.

Every number in the report is read from the sessions' ``summary.json`` (so the report equals
the summary by construction); frames.csv, events.csv and markers.csv are read only to draw
the plots.  Each shown number is wrapped as ``<span class="num" data-key="spasms.left.per_min"
data-value="...">`` so tests (and curious users) can check it against summary.json, and the
whole report's data is embedded as JSON (``<script type="application/json"
id="twitchcam-data">``), the machine-readable twin of every figure.

Layout (A4, print-friendly; the same HTML prints to PDF with headless Chromium):

- one session: page 1 = header, key numbers per side, estimated grades, timeline;
  page 2 = duration histogram, patient markers, data quality, methods.
- several sessions: trend page(s) first (per-side rate and eye-closure against date,
  treatments, days since the last injection, change against the pre-treatment sessions, and
  a table), then full detail for the MOST RECENT session only (``detail="all"`` renders every
  session; ``"none"`` none).  With more than TABLE_PER_SESSION_MAX sessions the trend table
  is aggregated per week, or per calendar month when the sessions span more than
  WEEKLY_SPAN_MAX_DAYS, so 200 sessions over a year still read in a page or two.

Images are PNGs embedded as base64 data URIs; no scripts, fonts or styles are fetched.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from twitchcam import grades as grades_mod
from twitchcam import treatments as tr
from twitchcam.errors import TwitchcamError
from twitchcam.summary import AFFECTED_MIN_SHARE, AFFECTED_MIN_SPASMS
from twitchcam.index import (
    SESSION_FILE,
    SUMMARY_FILE,
    find_session_dirs,
    finite,
    is_session_dir,
    parse_started_at,
    read_json,
)

REPORT_FORMAT = 1
SIDES = ("left", "right")
SIDE_NAME = {"left": "Patient's left", "right": "Patient's right"}
# Okabe-Ito colours (colour-blind safe); clonic uses a tint of the side colour.
SIDE_COLOR = {"left": "#0072B2", "right": "#D55E00"}
SIDE_TINT = {"left": "#8fbfe0", "right": "#f0b48c"}
INVALID_COLOR = "#dcdcdc"
CALIB_COLOR = "#f1ecd9"
MARKER_COLOR = "#6a3d9a"
BLINK_COLOR = "#b0b0b0"
TREAT_COLOR = {"botox": "#009E73", "mvd": "#444444", "medication": "#888888",
               "other": "#888888"}
CLOSED_AT = 0.5  # closure >= this counts as "eye closed" (same rule as summary.json)
SHORT_VALID_S = 300.0
TABLE_PER_SESSION_MAX = 40
WEEKLY_SPAN_MAX_DAYS = 183
MAX_MARKER_LABELS = 12
DUR_EDGES = np.array([0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20,
                      30, 60])
DETAIL_CHOICES = ("latest", "all", "none")
PRE_WINDOW_DAYS = 30  # pre-treatment sessions: this many days before an injection

REASONS = {"no_face": "no face found", "extreme_pose": "head turned too far",
           "face_too_small": "face too small / too far"}


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

    @property
    def n(self) -> int:
        return int(self.onset.size)

    def spasm_mask(self, side: str) -> np.ndarray:
        return self.side == side


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


def _float_or_nan(s: str) -> float:
    if not s:
        return math.nan
    try:
        return float(s)
    except ValueError:
        return math.nan


_REASON_CODES = {"": 0.0, "no_face": 1.0, "extreme_pose": 2.0, "face_too_small": 3.0}
_REASON_NAMES = {1: "no_face", 2: "extreme_pose", 3: "face_too_small", 9: "other"}


def read_frames(path: Path) -> Frames:
    """The columns of frames.csv the plots need.  Fast path: np.loadtxt on the needed columns
    (~0.1 s per hour of video); a ragged file (e.g. a half-written last line after a crash)
    falls back to the csv module, skipping malformed rows."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            header = next(csv.reader([f.readline()]), [])
    except OSError as e:
        raise TwitchcamError(f"cannot read {path}: {e}") from None
    header = [h.strip() for h in header]
    want = ["t_s", "valid", "reason", "closure_left", "closure_right", "dropped"]
    if "t_s" not in header or "valid" not in header:
        raise TwitchcamError(f"{path} has no t_s/valid columns")
    idx = {c: header.index(c) for c in want if c in header}
    cols = list(idx)
    usecols = [idx[c] for c in cols]
    conv: dict[int, Any] = {i: _float_or_nan for i in usecols}
    if "reason" in idx:
        conv[idx["reason"]] = lambda s: _REASON_CODES.get(s.strip(), 9.0)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = np.loadtxt(path, delimiter=",", skiprows=1, usecols=usecols,
                              converters=conv, dtype=float, ndmin=2, encoding="utf-8")
    except (ValueError, IndexError):
        data = _read_frames_slow(path, usecols, conv)
    col = {c: data[:, i] if data.size else np.zeros(0) for i, c in enumerate(cols)}
    t = col["t_s"]
    ok = np.isfinite(t)
    valid = np.nan_to_num(col["valid"]) > 0
    closure = {}
    for s in SIDES:
        c = col.get(f"closure_{s}")
        c = np.full(t.size, np.nan) if c is None else c.copy()
        c[~valid] = np.nan
        closure[s] = c[ok]
    t, valid = t[ok], valid[ok]
    reasons: dict[str, int] = {}
    if "reason" in col:
        codes = col["reason"][ok].astype(int)
        counts = np.bincount(codes[~valid], minlength=10)
        for code, name in _REASON_NAMES.items():
            if counts[code]:
                reasons[name] = int(counts[code])
        unexplained = int((~valid).sum()) - sum(reasons.values())
        if unexplained > 0:
            reasons["other"] = reasons.get("other", 0) + unexplained
    elif (~valid).any():
        reasons["other"] = int((~valid).sum())
    dropped = int(np.nansum(col["dropped"])) if "dropped" in col else 0
    order = np.argsort(t, kind="stable")
    if order.size and np.any(order[1:] < order[:-1]):
        t, valid = t[order], valid[order]
        closure = {s: c[order] for s, c in closure.items()}
    return Frames(t=t, valid=valid, closure=closure, reasons=reasons, dropped=dropped)


def _read_frames_slow(path: Path, usecols: list[int], conv: dict[int, Any]) -> np.ndarray:
    rows = []
    need = max(usecols) + 1
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        for r in reader:
            if len(r) < need:
                continue
            try:
                rows.append([conv[i](r[i]) for i in usecols])
            except Exception:  # noqa: BLE001 - a malformed row is skipped, not fatal
                continue
    return np.array(rows, dtype=float).reshape(-1, len(usecols))


def read_events(path: Path) -> Events:
    onset, dur, side, kind, region = [], [], [], [], []
    bad = 0
    try:
        with open(path, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                try:
                    o = float(r["onset_s"])
                    d = r.get("duration_s")
                    d = float(d) if d not in (None, "") else float(r["offset_s"]) - o
                    s = (r.get("side") or "").strip()
                    if s not in ("left", "right", "both") or not (math.isfinite(o)
                                                                   and math.isfinite(d)):
                        raise ValueError
                except (KeyError, TypeError, ValueError):
                    bad += 1
                    continue
                onset.append(o)
                dur.append(max(d, 0.0))
                side.append(s)
                kind.append((r.get("kind") or "").strip())
                region.append((r.get("region") or "").strip())
    except OSError as e:
        raise TwitchcamError(f"cannot read {path}: {e}") from None
    return Events(np.array(onset, float), np.array(dur, float), np.array(side, str),
                  np.array(kind, str), np.array(region, str), bad)


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
    meta = read_json(path / SESSION_FILE)
    if not (path / SUMMARY_FILE).is_file():
        status = meta.get("status", "unknown")
        raise TwitchcamError(f"{path} has no {SUMMARY_FILE} (session status: {status}); "
                             "it was not summarised")
    summary = read_json(path / SUMMARY_FILE)
    started = parse_started_at(summary.get("started_at") or meta.get("started_at"))
    stored = summary.get("grades")
    grades = stored if isinstance(stored, dict) and "jankovic_frequency" in stored \
        else grades_mod.estimate(summary)
    s = Session(path=path, meta=meta, summary=summary, started=started, grades=grades)
    if detail:
        load_detail(s)
    return s


def load_detail(s: Session) -> None:
    """Plot inputs; a missing or broken file is a note in the report, never a crash."""
    if s.frames is None:
        p = s.path / "frames.csv"
        if p.is_file():
            try:
                s.frames = read_frames(p)
            except TwitchcamError as e:
                s.notes.append(f"frames.csv unreadable ({e}): no timeline")
        else:
            s.notes.append("frames.csv is missing: no timeline")
    if s.events is None:
        p = s.path / "events.csv"
        if p.is_file():
            try:
                s.events = read_events(p)
                if s.events.bad_rows:
                    s.notes.append(f"events.csv: {s.events.bad_rows} malformed row(s) skipped")
            except TwitchcamError as e:
                s.notes.append(f"events.csv unreadable ({e})")
        else:
            s.notes.append("events.csv is missing: no events marked")
    p = s.path / "markers.csv"
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


# =========================================================================== trend data

def _weighted(rows: list[dict], key: str) -> float | None:
    """Valid-time weighted mean of a per-session fraction."""
    num = den = 0.0
    for r in rows:
        v, w = r.get(key), r.get("valid_s") or 0.0
        if v is not None and w > 0:
            num += v * w
            den += w
    return num / den if den > 0 else None


def _pooled_rate(rows: list[dict], side: str) -> float | None:
    """Total spasms / total valid minutes (not a mean of per-session rates)."""
    n = sum(r[f"{side}_count"] or 0 for r in rows if (r.get("valid_s") or 0) > 0)
    vmin = sum(r["valid_s"] for r in rows if (r.get("valid_s") or 0) > 0) / 60.0
    return n / vmin if vmin > 0 else None


def overall_affected_side(sessions: list[Session]) -> str | None:
    """The side most sessions call affected; else the summary's own rule on all spasms pooled."""
    votes = {s: 0 for s in SIDES}
    totals = {s: 0.0 for s in SIDES}
    for ses in sessions:
        a = ses.summary.get("affected_side")
        if a in votes:
            votes[a] += 1
        for side in SIDES:
            totals[side] += finite(ses.side(side).get("count")) or 0
    if votes["left"] != votes["right"]:
        return max(votes, key=votes.get)
    top = max(SIDES, key=totals.get)
    if totals[top] >= AFFECTED_MIN_SPASMS and totals[top] >= AFFECTED_MIN_SHARE * sum(totals.values()):
        return top
    return None


def trend_rows(sessions: list[Session], treatments: list[tr.Treatment],
               side: str | None) -> list[dict]:
    """One row per session (oldest first), every value straight from its summary.json."""
    rows = []
    for s in sessions:
        day = s.started.date() if s.started else None
        last = tr.last_injection_before(treatments, day, side) if day else None
        row = {
            "name": s.name, "path": str(s.path), "started_at": s.summary.get("started_at")
            or s.meta.get("started_at"), "date": day.isoformat() if day else None,
            "duration_s": finite(s.summary.get("duration_s")), "valid_s": s.valid_s,
            "status": s.summary.get("status") or s.meta.get("status"),
            "no_face": s.no_face, "affected_side": s.summary.get("affected_side"),
            "days_since_injection": (day - last.date).days if last else None,
        }
        for sd in SIDES:
            d = s.side(sd)
            row[f"{sd}_count"] = int(finite(d.get("count")) or 0)
            row[f"{sd}_per_min"] = None if s.no_face else finite(d.get("per_min"))
            row[f"{sd}_closed_fraction"] = None if s.no_face else finite(d.get("closed_fraction"))
            row[f"{sd}_with_mouth"] = int(finite(d.get("with_mouth")) or 0)
        rows.append(row)
    return rows


def aggregate_rows(rows: list[dict]) -> tuple[str, list[dict]]:
    """('session', rows) up to TABLE_PER_SESSION_MAX sessions, else per ISO week or per
    calendar month, with pooled rates and valid-time weighted closure fractions."""
    dated = [r for r in rows if r["date"]]
    if len(rows) <= TABLE_PER_SESSION_MAX or not dated:
        return "session", rows
    first = dt.date.fromisoformat(dated[0]["date"])
    last = dt.date.fromisoformat(dated[-1]["date"])
    period = "week" if (last - first).days <= WEEKLY_SPAN_MAX_DAYS else "month"
    groups: dict[str, list[dict]] = {}
    starts: dict[str, dt.date] = {}
    for r in dated:
        d = dt.date.fromisoformat(r["date"])
        if period == "week":
            start = d - dt.timedelta(days=d.weekday())
            key = f"{start.isocalendar()[0]}-W{start.isocalendar()[1]:02d}"
        else:
            start = d.replace(day=1)
            key = start.strftime("%Y-%m")
        groups.setdefault(key, []).append(r)
        starts[key] = start
    out = []
    for key, g in groups.items():
        agg = {"period": key, "start": starts[key].isoformat(), "sessions": len(g),
               "duration_s": sum(r["duration_s"] or 0 for r in g),
               "valid_s": sum(r["valid_s"] or 0 for r in g),
               "no_face_sessions": sum(1 for r in g if r["no_face"])}
        for sd in SIDES:
            agg[f"{sd}_count"] = sum(r[f"{sd}_count"] for r in g)
            agg[f"{sd}_per_min"] = _pooled_rate(g, sd)
            agg[f"{sd}_closed_fraction"] = _weighted(g, f"{sd}_closed_fraction")
        out.append(agg)
    return period, out


def treatment_effect(rows: list[dict], treatments: list[tr.Treatment],
                     side: str | None) -> dict:
    """Days since the last injection and the affected side's rate after it versus before.

    Last injection = the latest one on or before the most recent session's date.  Pre-
    treatment sessions are those of the PRE_WINDOW_DAYS days before the injection day (and
    after the previous injection, if any): the state the patient came to be injected in.
    Post-treatment sessions are all those dated after it.  Sessions on the injection
    day itself are in neither group (was it before or after the injection? the log has no
    time, and toxin takes days to act anyway).  Rates are pooled (spasms / valid minutes)."""
    out: dict[str, Any] = {"side": side, "last_injection": None}
    inj = tr.relevant_injections(treatments, side)
    dated = [r for r in rows if r["date"]]
    if not inj or not dated:
        out["message"] = ("no injections in the treatment log" if not inj
                          else "sessions have no dates")
        return out
    latest = dt.date.fromisoformat(dated[-1]["date"])
    last = tr.last_injection_before(treatments, latest, side)
    if last is None:
        out["message"] = "no injection on or before the most recent session"
        return out
    prev = None
    for t in inj:
        if t.date < last.date:
            prev = t
    out["last_injection"] = last.to_dict()
    out["previous_injection"] = prev.to_dict() if prev else None
    out["days_since_at_latest_session"] = (latest - last.date).days
    out["latest_session_date"] = latest.isoformat()
    since = last.date - dt.timedelta(days=PRE_WINDOW_DAYS)
    if prev is not None and prev.date >= since:
        since = prev.date + dt.timedelta(days=1)
    out["pre_window_start"] = since.isoformat()
    pre = [r for r in dated if since <= dt.date.fromisoformat(r["date"]) < last.date]
    post = [r for r in dated if dt.date.fromisoformat(r["date"]) > last.date]
    out["pre_sessions"] = len(pre)
    out["post_sessions"] = len(post)
    out["same_day_sessions"] = sum(1 for r in dated
                                   if dt.date.fromisoformat(r["date"]) == last.date)
    sides = [side] if side else list(SIDES)
    for name, group in (("pre", pre), ("post", post)):
        for s in sides:
            out[f"{name}_{s}_per_min"] = _pooled_rate(group, s) if group else None
            out[f"{name}_{s}_closed_fraction"] = (_weighted(group, f"{s}_closed_fraction")
                                                  if group else None)
    changes = {}
    for s in sides:
        a, b = out[f"pre_{s}_per_min"], out[f"post_{s}_per_min"]
        changes[s] = (b - a) / a if (a is not None and b is not None and a > 0) else None
    out["rate_change"] = changes
    if not pre:
        out["message"] = "no sessions before this injection to compare with"
    elif not post:
        out["message"] = "no sessions after this injection yet"
    return out


# =========================================================================== formatting

def format_value(value: Any, fmt: str) -> str:
    """How the report prints a summary value (tests compare against this)."""
    v = finite(value) if fmt != "text" else value
    if v is None or v == "":
        return "—"
    if fmt == "int":
        return f"{int(round(v))}"
    if fmt == "rate":
        return f"{v:.2f}"
    if fmt == "s":
        return f"{v:.2f} s" if v < 10 else f"{v:.1f} s"
    if fmt == "pct":
        return f"{100 * v:.1f} %"
    if fmt == "len":
        return format_length(v)
    if fmt == "text":
        return str(v)
    raise ValueError(fmt)


def format_length(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    s = int(round(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h} h {m:02d} min"
    return f"{m} min {sec:02d} s"


def format_clock(seconds: float) -> str:
    s = int(max(seconds, 0))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _json_value(v: Any) -> str:
    return json.dumps(v, allow_nan=True)


def num(key: str, value: Any, fmt: str, session: str | None = None) -> str:
    """A number taken verbatim from summary.json, traceable by key."""
    attrs = f' data-key="{e(key)}" data-value="{e(_json_value(value))}" data-fmt="{fmt}"'
    if session is not None:
        attrs += f' data-session="{e(session)}"'
    return f'<span class="num"{attrs}>{e(format_value(value, fmt))}</span>'


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=170, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


_RC = {
    "font.family": "DejaVu Sans", "font.size": 7.5, "axes.titlesize": 8,
    "axes.labelsize": 7.5, "xtick.labelsize": 7, "ytick.labelsize": 7,
    "legend.fontsize": 7, "axes.edgecolor": "#888888", "axes.linewidth": 0.6,
    "xtick.color": "#555555", "ytick.color": "#555555", "axes.labelcolor": "#333333",
    "xtick.major.width": 0.6, "ytick.major.width": 0.6, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.color": "#ececec",
    "grid.linewidth": 0.6, "legend.frameon": False, "svg.fonttype": "none",
}


def _figure(w: float, h: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h))


def _time_unit(span_s: float) -> tuple[float, str]:
    if span_s < 180:
        return 1.0, "seconds from start"
    if span_s <= 3 * 3600:
        return 60.0, "minutes from start"
    return 3600.0, "hours from start"


# =========================================================================== figures

def timeline_figure(s: Session) -> tuple[str, str] | None:
    """(data URI, caption) of the per-side closure timeline with events, markers and the
    per-side spasm rate; None when there is nothing honest to draw."""
    import matplotlib
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    if s.frames is None or not s.frames.n or s.no_face:
        return None
    t0, t1 = session_span(s)
    scale, unit = _time_unit(t1 - t0)
    blink = None
    if s.events is not None:
        b = s.events.side == "both"
        blink = span_mask(s.frames.t, s.events.onset[b], s.events.duration[b])
    td = timeline_data(s.frames, t0, t1, exclude=blink)
    rd = rate_data(s)
    with matplotlib.rc_context(_RC):
        fig = _figure(7.4, 3.7)
        gs = fig.add_gridspec(3, 1, height_ratios=[1, 1, 0.95], hspace=0.2, left=0.1,
                              right=0.99, top=0.85, bottom=0.115)
        axes = [fig.add_subplot(gs[0])]
        axes += [fig.add_subplot(gs[i], sharex=axes[0]) for i in (1, 2)]
        x = td["x"] / scale
        for ax, side in zip(axes[:2], SIDES):
            ax.fill_between(x, 0, 1, where=td["invalid"], step="mid", color=INVALID_COLOR,
                            lw=0, transform=ax.get_xaxis_transform(), zorder=0)
            ax.fill_between(x, 0, 1, where=td["calibrating"], step="mid", color=CALIB_COLOR,
                            lw=0, transform=ax.get_xaxis_transform(), zorder=0)
            y = td["y"][side]
            if td["mode"] == "raw":
                ax.plot(x, y, color=SIDE_COLOR[side], lw=0.7, zorder=2)
                ax.axhline(CLOSED_AT, color="#999999", lw=0.5, ls=(0, (2, 2)), zorder=1)
                ax.set_yticks([0, 0.5, 1], ["open", "½", "closed"])
            else:
                ax.fill_between(x, 0, y, step="mid", color=SIDE_COLOR[side], alpha=0.3,
                                lw=0, zorder=1)
                ax.step(x, y, where="mid", color=SIDE_COLOR[side], lw=0.6, zorder=2)
                ax.set_yticks([0, 0.5, 1], ["0", "50%", "100%"])
            if s.events is not None and td["mode"] == "raw":
                bl = s.events.side == "both"
                if bl.any():
                    ax.broken_barh(list(zip(s.events.onset[bl] / scale,
                                            s.events.duration[bl] / scale)),
                                   (1.05, 0.11), facecolors=BLINK_COLOR,
                                   edgecolors=BLINK_COLOR, linewidth=0.5, zorder=3)
            if s.events is not None:
                m = s.events.spasm_mask(side)
                for kind, color in (("clonic", SIDE_TINT[side]), ("tonic", SIDE_COLOR[side])):
                    k = m & (s.events.kind == kind)
                    if k.any():
                        ax.broken_barh(list(zip(s.events.onset[k] / scale,
                                                s.events.duration[k] / scale)),
                                       (1.05, 0.11), facecolors=color, edgecolors=color,
                                       linewidth=0.7, zorder=3)
            if s.events is not None and not s.events.spasm_mask(side).any():
                ax.text(0.995, 0.9, "no spasms on this side", transform=ax.transAxes,
                        ha="right", va="top", fontsize=6.5, color="#777777")
            ax.set_ylim(0, 1.18)
            ax.grid(axis="x", visible=False)
            ax.set_ylabel(SIDE_NAME[side].replace(" ", "\n", 1) + " eye", labelpad=4,
                          color=SIDE_COLOR[side])
            ax.tick_params(labelbottom=False)
        ax = axes[2]
        bin_txt = ""
        if rd is not None:
            edges = rd["edges"] / scale
            w = np.diff(edges)
            top = 0.0
            for j, side in enumerate(SIDES):
                r = rd["rate"][side]
                ax.bar(edges[:-1] + w * (0.1 + 0.4 * j), np.nan_to_num(r), width=w * 0.4,
                       align="edge", color=SIDE_COLOR[side], lw=0)
                if np.isfinite(r).any():
                    top = max(top, float(np.nanmax(r)))
            inval = rd["valid_min"] * 60 < 0.5 * rd["bin_s"]
            ax.fill_between(edges, 0, 1, where=np.append(inval, inval[-1:]), step="post",
                            color=INVALID_COLOR, lw=0, transform=ax.get_xaxis_transform(),
                            zorder=0)
            ax.set_ylim(0, max(1.0, top * 1.12))
            if not any(rd["counts"][sd].sum() for sd in SIDES):
                ax.text(0.5, 0.5, "no spasms detected in this session", ha="center",
                        va="center", transform=ax.transAxes, color="#777777")
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=top >= 3))
            bin_txt = (f"{rd['bin_s'] / 60:g}-min" if rd["bin_s"] >= 60
                       else f"{rd['bin_s']:.3g}-s")
            ax.set_ylabel("spasms per\nvalid minute", labelpad=4)
        else:
            ax.text(0.5, 0.5, "no events.csv: rate not available", ha="center",
                    va="center", transform=ax.transAxes, color="#777777")
        ax.grid(axis="x", visible=False)
        ax.set_xlabel(unit)
        ax.set_xlim(t0 / scale, t1 / scale)
        for t, label in s.markers:
            for a in axes:
                a.axvline(t / scale, color=MARKER_COLOR, lw=0.8, ls=(0, (1, 1.5)), zorder=4)
        if 0 < len(s.markers) <= MAX_MARKER_LABELS:
            for t, label in s.markers:
                axes[0].annotate(label[:18], (t / scale, 1.0), xycoords=("data", "axes fraction"),
                                 xytext=(0, 2), textcoords="offset points", ha="center",
                                 va="bottom", fontsize=6.5, color=MARKER_COLOR,
                                 annotation_clip=False)
        handles = [(Patch(color=SIDE_TINT["left"]), Patch(color=SIDE_TINT["right"])),
                   (Patch(color=SIDE_COLOR["left"]), Patch(color=SIDE_COLOR["right"])),
                   Patch(color=INVALID_COLOR), Patch(color=CALIB_COLOR)]
        labels = ["clonic spasm", "tonic spasm", "face not tracked", "calibrating"]
        if td["mode"] == "raw" and s.events is not None and (s.events.side == "both").any():
            handles.insert(2, Patch(color=BLINK_COLOR))
            labels.insert(2, "blink")
        if s.markers:
            handles.append(Line2D([], [], color=MARKER_COLOR, lw=0.8, ls=(0, (1, 1.5))))
            labels.append("patient marker")
        fig.legend(handles, labels, loc="upper center", ncol=len(handles),
                   bbox_to_anchor=(0.545, 1.0), handlelength=2.0, columnspacing=1.4,
                   handler_map={tuple: HandlerTuple(ndivide=None, pad=0)})
        uri = _png(fig)
    if td["mode"] == "raw":
        what = ("Eye closure per side (0 = open, 1 = closed, relative to the person's own "
                "open eye)")
    else:
        what = (f"Share of time each eye was closed (closure ≥ {CLOSED_AT:g}) in "
                f"{td['bin_s']:g}-s bins, leaving out blinks")
    cap = (f"{what}. Bars above each trace: that side's spasms (light = clonic, dark = "
           f"tonic){'; grey = blinks (both eyes)' if td['mode'] == 'raw' else ''}. Bottom: spasms per valid minute in {bin_txt} bins (blue = left, orange "
           "= right). Grey: face not tracked, excluded from all rates.")
    if len(s.markers) > MAX_MARKER_LABELS:
        cap += " Markers are listed on the next page."
    return uri, cap


def histogram_figure(s: Session, hist: dict) -> str:
    import matplotlib
    from matplotlib.patches import Patch

    edges = np.array(hist["edges"])
    with matplotlib.rc_context(_RC):
        fig = _figure(7.4, 2.25)
        axes = fig.subplots(1, 2, sharey=True)
        fig.subplots_adjust(left=0.075, right=0.985, top=0.86, bottom=0.2, wspace=0.08)
        top = 1
        for side in SIDES:
            c = hist["counts"][side]
            top = max(top, max(a + b for a, b in zip(c["clonic"], c["tonic"])))
        for ax, side in zip(axes, SIDES):
            c = hist["counts"][side]
            clonic, tonic = np.array(c["clonic"]), np.array(c["tonic"])
            w = np.diff(edges)
            ax.bar(edges[:-1], clonic, width=w, align="edge", color=SIDE_TINT[side],
                   edgecolor="white", linewidth=0.5)
            ax.bar(edges[:-1], tonic, width=w, align="edge", bottom=clonic,
                   color=SIDE_COLOR[side], edgecolor="white", linewidth=0.5)
            ax.set_xscale("log")
            ax.set_xlim(edges[0], edges[-1])
            ax.set_xticks([0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60],
                          ["0.1", "0.2", "0.5", "1", "2", "5", "10", "30", "60"])
            ax.minorticks_off()
            ax.axvline(1.0, color="#555555", lw=0.6, ls=(0, (3, 2)))
            ax.text(1.04, 0.97, "1 s", transform=ax.get_xaxis_transform(), fontsize=6.5,
                    color="#555555", va="top")
            ax.set_title(SIDE_NAME[side], loc="left", color=SIDE_COLOR[side],
                         fontweight="bold")
            ax.set_xlabel("spasm duration (s, log scale)")
            ax.grid(axis="x", visible=False)
            if clonic.sum() + tonic.sum() == 0:
                ax.text(0.5, 0.5, "no spasms on this side", transform=ax.transAxes,
                        ha="center", va="center", color="#777777")
            ax.legend(handles=[Patch(color=SIDE_TINT[side], label=f"clonic ({clonic.sum()})"),
                               Patch(color=SIDE_COLOR[side], label=f"tonic ({tonic.sum()})")],
                      loc="upper right")
        axes[0].set_ylabel("spasms")
        axes[0].set_ylim(0, top * 1.25)
        from matplotlib.ticker import MaxNLocator

        axes[0].yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        uri = _png(fig)
    return uri


def trend_figure(rows: list[dict], treatments: list[tr.Treatment], side: str | None) -> str:
    import matplotlib
    import matplotlib.dates as mdates
    from matplotlib.lines import Line2D

    dated = [r for r in rows if r["started_at"] and parse_started_at(r["started_at"])]
    when = [parse_started_at(r["started_at"]) for r in dated]
    lo, hi = min(when), max(when)
    pad = max(dt.timedelta(days=1), (hi - lo) * 0.03)
    lo, hi = lo - pad, hi + pad
    many = len(dated) > 60
    with matplotlib.rc_context(_RC):
        fig = _figure(7.4, 3.05)
        ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"hspace": 0.12})
        fig.subplots_adjust(left=0.085, right=0.985, top=0.85, bottom=0.11)
        ymax = 0.0
        for sd in SIDES:
            pts = [(w, r[f"{sd}_per_min"]) for w, r in zip(when, dated)
                   if r[f"{sd}_per_min"] is not None]
            if pts:
                xs, ys = zip(*pts)
                ymax = max(ymax, max(ys))
                ax1.plot(xs, ys, marker="o", ms=2.2 if many else 3.5, lw=0.5 if many else 1.0,
                         color=SIDE_COLOR[sd], alpha=0.55 if many else 1.0,
                         label=SIDE_NAME[sd])
                if len(pts) >= 15:
                    sm = _rolling(dated, when, sd)
                    ax1.plot(when, sm, color=SIDE_COLOR[sd], lw=1.6)
            cpts = [(w, 100 * r[f"{sd}_closed_fraction"]) for w, r in zip(when, dated)
                    if r[f"{sd}_closed_fraction"] is not None]
            if cpts:
                xs, ys = zip(*cpts)
                main = side is None or sd == side
                ax2.plot(xs, ys, marker="o", ms=(2.2 if many else 3.5) if main else 2,
                         lw=(0.5 if many else 1.0) if main else 0.5, color=SIDE_COLOR[sd],
                         alpha=(0.8 if many else 1.0) if main else 0.45)
        nf = [w for w, r in zip(when, dated) if r["no_face"]]
        if nf:
            ax1.plot(nf, [0] * len(nf), ls="none", marker="x", ms=4, color="#999999",
                     label="no face tracked", clip_on=False)
        ax1.set_ylim(0, max(1.0, ymax * 1.15))
        ax1.set_ylabel("spasms per\nvalid minute")
        ax2.set_ylabel("eye closed\n(% valid time)")
        ax2.set_ylim(0, None)
        y2 = ax2.get_ylim()[1]
        ax2.set_ylim(0, max(5.0, y2))
        for t in treatments:
            td = dt.datetime.combine(t.date, dt.time(12))
            if not (lo <= td <= hi):
                continue
            color = TREAT_COLOR.get(t.kind, "#888888")
            for a in (ax1, ax2):
                a.axvline(td, color=color, lw=1.1, ls=(0, (4, 2)), zorder=0)
            label = f"{t.kind} {t.side[0].upper() if t.side != 'both' else 'L+R'}"
            ax1.annotate(label, (td, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 2),
                         textcoords="offset points", ha="center", va="bottom",
                         fontsize=6.5, color=color, annotation_clip=False)
        ax2.set_xlim(lo, hi)
        loc = mdates.AutoDateLocator(minticks=4, maxticks=9)
        ax2.xaxis.set_major_locator(loc)
        ax2.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        for a in (ax1, ax2):
            a.grid(axis="x", visible=False)
        handles = [Line2D([], [], color=SIDE_COLOR[s], marker="o", ms=3.5, lw=1,
                          label=SIDE_NAME[s]) for s in SIDES]
        if len(dated) >= 15:
            handles.append(Line2D([], [], color="#555555", lw=1.6, label="7-day pooled rate"))
        if treatments:
            handles.append(Line2D([], [], color=TREAT_COLOR["botox"], lw=1.1, ls=(0, (4, 2)),
                                  label="treatment"))
        if nf:
            handles.append(Line2D([], [], color="#999999", marker="x", ls="none", ms=4,
                                  label="no face tracked"))
        fig.legend(handles=handles, loc="upper center", ncol=len(handles),
                   bbox_to_anchor=(0.53, 1.0))
        uri = _png(fig)
    return uri


def _rolling(rows: list[dict], when: list[dt.datetime], side: str,
             half_days: float = 3.5) -> list[float]:
    ts = np.array([w.timestamp() for w in when])
    cnt = np.array([r[f"{side}_count"] if (r["valid_s"] or 0) > 0 else 0 for r in rows], float)
    vmin = np.array([(r["valid_s"] or 0) / 60 for r in rows], float)
    out = []
    for t in ts:
        m = np.abs(ts - t) <= half_days * 86400
        v = vmin[m].sum()
        out.append(cnt[m].sum() / v if v > 0 else np.nan)
    return out


# =========================================================================== HTML

CSS = """
:root { --ink:#1d2733; --muted:#5b6673; --rule:#d9dee4; --soft:#f4f6f8; --accent:#1f3a5f;
  --left:#0072B2; --right:#D55E00; --warn:#8a5a00; --warnbg:#fff6e0; --bad:#8b1e1e;
  --badbg:#fdecec; --ok:#0b6b4f; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin:0; font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
  color:var(--ink); font-size: 9.5pt; line-height: 1.38; background:#e9ecef; }
.sheet { width: 210mm; min-height: 297mm; margin: 8mm auto; background:#fff;
  padding: 11mm 13mm 10mm; box-shadow: 0 1px 4px rgba(0,0,0,.18); position: relative; }
.running { display:flex; justify-content:space-between; font-size:7.5pt; color:var(--muted);
  border-bottom: 1px solid var(--rule); padding-bottom: 1.5mm; margin-bottom: 3mm; }
.running b { color: var(--accent); letter-spacing: .02em; }
h1 { font-size: 17pt; margin: 0 0 1mm; color: var(--accent); font-weight: 700; }
h1 small { font-size: 10.5pt; color: var(--muted); font-weight: 400; margin-left: 2mm; }
h2 { font-size: 11.5pt; color: var(--accent); margin: 3.5mm 0 1.8mm; padding-bottom: 1mm;
  border-bottom: 1.5px solid var(--accent); break-after: avoid; }
h2 .sub { font-weight: 400; margin-left: 1.5mm; }
h3 { font-size: 10pt; margin: 3mm 0 1.5mm; color: var(--ink); }
p { margin: 1.5mm 0; }
ul { margin: 1mm 0; padding-left: 5mm; font-size: 8.5pt; }
.meta { display:grid; grid-template-columns: repeat(4, 1fr); gap: 1.5mm 5mm;
  background: var(--soft); border-radius: 2mm; padding: 2.5mm 4mm; margin: 2.5mm 0; }
.meta div { font-size: 8pt; color: var(--muted); }
.meta div b { display:block; font-size: 10pt; color: var(--ink); font-weight: 600; }
.convention { font-size: 8pt; color: var(--muted); margin: 1mm 0 2mm; }
.banner { border-left: 3.5px solid var(--warn); background: var(--warnbg); padding: 2mm 3mm;
  margin: 2mm 0; font-size: 9pt; border-radius: 0 1.5mm 1.5mm 0; }
.banner.bad { border-color: var(--bad); background: var(--badbg); }
.banner.info { border-color: var(--accent); background: #eef3f8; }
.banner b { margin-right: 1mm; }
.cols { display:grid; grid-template-columns: 1.15fr 1fr; gap: 5mm; align-items: start; }
table { border-collapse: collapse; width: 100%; }
table.key th, table.key td { padding: 1mm 2mm; border-bottom: 1px solid var(--rule);
  text-align: right; font-variant-numeric: tabular-nums; }
table.key th:first-child { text-align: left; font-weight: 400; color: var(--muted);
  white-space: nowrap; }
table.key .sub { display: block; font-size: 7pt; line-height: 1.1; }
table.key thead th { font-size: 8.5pt; border-bottom: 2px solid var(--ink); font-weight:700;
  white-space: nowrap; vertical-align: bottom; }
table.key thead th.left { color: var(--left); } table.key thead th.right { color: var(--right); }
table.key td.affected { background: #fbf7ee; font-weight: 700; }
table.key thead th.affected { background: #fbf7ee; }
.badge { display:inline-block; font-size: 6.5pt; font-weight: 700; letter-spacing: .05em;
  text-transform: uppercase; background: var(--ink); color: #fff; border-radius: 1mm;
  padding: .2mm 1.2mm; margin-left: 1mm; vertical-align: middle; }
.sub { font-size: 7.5pt; color: var(--muted); }
.grades { border: 1px solid var(--rule); border-radius: 2mm; padding: 2.5mm 3.5mm; }
.grades h3 { margin-top: 0; }
.grade { display:grid; grid-template-columns: 11mm 1fr; gap: 0 2.5mm; margin: 2mm 0; }
.grade .g { font-size: 15pt; font-weight: 700; color: var(--accent); text-align:center;
  border: 1.5px solid var(--accent); border-radius: 1.5mm; line-height: 1.45;
  align-self: start; }
.grade .g.na { color: var(--muted); border-color: var(--rule); font-size: 12pt;
  line-height: 1.9; }
.grade .t b { display:block; font-size: 9pt; }
.grade .t .lbl { font-size: 8.5pt; }
.grade .why { font-size: 7.5pt; color: var(--muted); margin-top: .5mm; }
.grades .caveat { font-size: 7.5pt; color: var(--warn); margin-bottom: 1mm; }
.estimate { font-size: 7.5pt; font-weight: 700; color: var(--warn); text-transform: uppercase;
  letter-spacing: .04em; }
.context { font-size: 8.5pt; margin-top: 2mm; }
figure { margin: 3mm 0 0; break-inside: avoid; }
.block { break-inside: avoid; }
figure img { width: 100%; display:block; }
figcaption { font-size: 7.5pt; color: var(--muted); margin-top: 1mm; }
table.list th, table.list td { padding: 1mm 2mm; border-bottom: 1px solid var(--rule);
  font-size: 8pt; text-align: right; font-variant-numeric: tabular-nums; }
table.list th { border-bottom: 1.5px solid var(--ink); background: #fff; }
table.list th:first-child, table.list td:first-child { text-align: left; }
table.list td.txt, table.list th.txt { text-align: left; }
table.list tr.treat td { background: #e9f6f1; color: var(--ok); font-weight: 600;
  text-align: left; padding-top: .25mm; padding-bottom: .25mm; }
table.list tr.nf td { color: var(--muted); }
table.list.compact td, table.list.compact th { padding: .45mm 1.5mm; font-size: 7.4pt; }
table.list.narrow { width: auto; min-width: 50%; }
.kpis { display:grid; grid-template-columns: repeat(4, 1fr); gap: 3mm; margin: 2mm 0; }
.kpi { background: var(--soft); border-radius: 2mm; padding: 2mm 3mm; }
.kpi .v { font-size: 13pt; font-weight: 700; color: var(--ink); }
.kpi .l { font-size: 7pt; color: var(--muted); line-height: 1.25; }
.kpi.good .v { color: var(--ok); } .kpi.worse .v { color: var(--bad); }
.methods { font-size: 8pt; color: #333; }
.params { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 7pt;
  color: var(--muted); word-break: break-word; }
.notmd { border: 1.5px solid var(--ink); border-radius: 2mm; padding: 2.5mm 3.5mm;
  font-size: 8.5pt; margin-top: 5mm; break-inside: avoid; }
.pill { display: inline-block; font-size: 7pt; font-weight:700; border:1px solid var(--bad);
  color:var(--bad); border-radius: 1mm; padding: 0 1.5mm; line-height: 1.5;
  text-transform: uppercase; letter-spacing: .05em; }
.muted { color: var(--muted); }
.nodata { border: 1px dashed var(--rule); border-radius: 2mm; padding: 5mm; text-align:center;
  color: var(--muted); margin: 3mm 0; }
@page { size: A4; margin: 10mm 13mm 10mm; }
@media print {
  body { background: #fff; }
  .sheet { width: auto; margin: 0; padding: 0; box-shadow: none; min-height: 0;
    height: auto; }
  .sheet + .sheet { break-before: page; }
  table.list thead { display: table-header-group; }
  table.list tr { break-inside: avoid; }
}
"""


def _running_header(title: str, generated: str) -> str:
    return (f'<div class="running"><span><b>twitchcam</b> · {e(title)}</span>'
            f'<span>generated {e(generated)} · <span class="pill">not a medical device'
            f'</span></span></div>')


def _fmt_dt(t: dt.datetime | None, raw: Any = None) -> str:
    if t is None:
        return str(raw) if raw else "date unknown"
    return t.strftime("%a %d %b %Y, %H:%M")


def _status_banners(s: Session) -> list[str]:
    out = []
    status = s.summary.get("status") or s.meta.get("status")
    length = format_length(s.duration_s)
    if status == "interrupted":
        out.append(("", f"<b>Interrupted recording.</b> The session was stopped early after "
                        f"{length}; all figures cover the recorded part only."))
    elif status == "truncated":
        out.append(("", f"<b>Truncated recording.</b> The video ended unexpectedly after "
                        f"{length}; all figures cover the part that could be read."))
    elif status not in (None, "complete"):
        out.append(("", f"<b>Incomplete session (status: {e(status)}).</b> The recording may "
                        "still have been running when it was summarised."))
    if s.no_face:
        out.append(("bad", "<b>No face was tracked in this recording.</b> Nothing could be "
                           "measured: no spasm counts, rates or grades. Check lighting, camera "
                           "position and that the face is visible and not turned away."))
    elif s.valid_s < SHORT_VALID_S:
        out.append(("", f"<b>Short recording.</b> Only {format_length(s.valid_s)} of valid "
                        "(face-tracked) time: rates and grades are indicative only. Five "
                        "minutes or more are recommended."))
    counts = sum(finite(s.side(sd).get("count")) or 0 for sd in SIDES)
    if not s.no_face and counts == 0:
        out.append(("info", f"<b>No one-sided spasms detected</b> in "
                            f"{format_length(s.valid_s)} of valid time."))
    return [f'<div class="banner {cls}">{msg}</div>' for cls, msg in out]


def _key_table(s: Session) -> str:
    aff = s.summary.get("affected_side")
    sid = s.name

    def cls(sd: str) -> str:
        return f' class="{sd}{" affected" if sd == aff else ""}"'

    def tdc(sd: str) -> str:
        return ' class="affected"' if sd == aff else ""

    badge = '<span class="badge">affected</span>'
    head = "".join(
        f"<th{cls(sd)}>{SIDE_NAME[sd]}{badge if sd == aff else ''}</th>" for sd in SIDES)
    rows = []

    def row(label: str, cells: dict[str, str]) -> None:
        rows.append(f"<tr><th>{label}</th>" + "".join(
            f"<td{tdc(sd)}>{cells[sd]}</td>" for sd in SIDES) + "</tr>")

    def k(sd: str, key: str) -> str:
        return f"spasms.{sd}.{key}"

    row("Spasms", {sd: num(k(sd, "count"), s.side(sd).get("count"), "int", sid) for sd in SIDES})
    row('Rate <span class="sub">per valid minute</span>',
        {sd: num(k(sd, "per_min"), s.side(sd).get("per_min"), "rate", sid) for sd in SIDES})
    row("Clonic / tonic", {sd: num(k(sd, "clonic"), s.side(sd).get("clonic"), "int", sid)
                           + " / " + num(k(sd, "tonic"), s.side(sd).get("tonic"), "int", sid)
                           for sd in SIDES})
    row("Mean duration", {sd: num(k(sd, "mean_duration_s"), s.side(sd).get("mean_duration_s"),
                                  "s", sid) for sd in SIDES})
    row("Longest spasm", {sd: num(k(sd, "max_duration_s"), s.side(sd).get("max_duration_s"),
                                  "s", sid) for sd in SIDES})
    row('Eye closed <span class="sub">% of valid time</span>',
        {sd: num(k(sd, "closed_fraction"), s.side(sd).get("closed_fraction"), "pct", sid)
         for sd in SIDES})
    cells = {}
    for sd in SIDES:
        n = finite(s.side(sd).get("count")) or 0
        wm = finite(s.side(sd).get("with_mouth"))
        share = f' <span class="sub">({100 * wm / n:.0f} %)</span>' if n and wm is not None \
            else ""
        cells[sd] = num(k(sd, "with_mouth"), s.side(sd).get("with_mouth"), "int", sid) + share
    row('With same-side mouth <span class="sub">spasms (share)</span>', cells)
    blinks = s.summary.get("blinks") or {}
    context = (f'<p class="context"><b>Blinks</b> (both eyes, for context): '
               f'{num("blinks.count", blinks.get("count"), "int", sid)}, '
               f'{num("blinks.per_min", blinks.get("per_min"), "rate", sid)}/min '
               f'<span class="sub">(typical ≈17/min at rest, ≈26 talking, ≈4.5 reading)'
               "</span></p>")
    return (f'<table class="key"><thead><tr><th></th>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>" + context)


def _grade_html(g: dict, title: str) -> str:
    grade = g.get("grade")
    val = "n/a" if grade is None else "—" if grade == "none" else str(grade)
    label = g.get("label") if grade is not None else "not estimable"
    return (f'<div class="grade"><div class="g{" na" if grade in (None, "none") else ""}" '
            f'data-grade="{e(g.get("scale"))}">{e(val)}</div><div class="t"><b>{e(title)}</b>'
            f'<span class="lbl">{e(label)}</span>'
            f'<div class="why">because {e(g.get("reason") or g.get("basis"))}</div>'
            "</div></div>")


def _grades_box(s: Session) -> str:
    g = s.grades
    side = g.get("side")
    caveats = list(dict.fromkeys(g["jankovic_frequency"].get("caveats", [])
                                 + g["smc_spread"].get("caveats", [])))
    who = f"Graded side: {SIDE_NAME[side].lower()}." if side in SIDES else \
        "No side stands out: the higher grade of the two sides is shown."
    return ('<div class="grades"><h3>Estimated clinical grades</h3>'
            '<div class="estimate">Estimates from the camera — not a diagnosis</div>'
            + _grade_html(g["jankovic_frequency"], "Jankovic frequency (0–4)")
            + _grade_html(g["smc_spread"], "SMC-style spread (I–III)")
            + "".join(f'<div class="caveat">Caution: {e(c)}.</div>' for c in caveats)
            + f'<div class="sub">{e(who)} The full rules are under Methods.</div></div>')


def _quality_html(s: Session) -> str:
    items = []
    dur, val = s.duration_s, s.valid_s
    share = f" ({100 * val / dur:.0f} %)" if dur > 0 else ""
    items.append(f"Face tracked for {num('valid_s', s.summary.get('valid_s'), 'len', s.name)}"
                 f" of {num('duration_s', s.summary.get('duration_s'), 'len', s.name)}{share}.")
    if s.frames is not None and s.frames.n:
        n = s.frames.n
        parts = [f"{REASONS.get(r, r)} {100 * c / n:.1f} %" for r, c in
                 sorted(s.frames.reasons.items(), key=lambda kv: -kv[1])]
        if parts:
            items.append("Frames not analysed: " + ", ".join(parts) + ".")
        measured = np.isfinite(s.frames.closure["left"]) | np.isfinite(s.frames.closure["right"])
        calib = s.frames.valid & ~measured
        if calib.any():
            fps = finite(s.meta.get("fps")) or (n / max(s.frames.t[-1] - s.frames.t[0], 1e-9))
            items.append(f"Eye closure not yet measured (baseline calibration) for "
                         f"{format_length(calib.sum() / fps)} of tracked time.")
        if s.frames.dropped:
            items.append(f"{s.frames.dropped} frame(s) were dropped during live capture.")
    if s.events is not None:
        for sd in SIDES:
            n_ev = int(s.events.spasm_mask(sd).sum())
            n_sum = finite(s.side(sd).get("count"))
            if n_sum is not None and n_ev != int(n_sum):
                items.append(f"Note: events.csv lists {n_ev} {sd} spasm(s) but summary.json "
                             f"counts {int(n_sum)}; tables use summary.json.")
    for note in s.notes:
        items.append(e(note[0].upper() + note[1:]) + ".")
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _flatten(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(d, dict):
        out = []
        for k in sorted(d):
            out += _flatten(d[k], f"{prefix}{k}.")
        return out
    return [(prefix[:-1], d)]


def _methods_html(s: Session, others: list[Session] | None = None) -> str:
    sm, meta = s.summary, s.meta
    v = sm.get("versions") or {}
    fps = finite(meta.get("fps"))
    mode = meta.get("mode") or "analyze"
    how = "recorded live from a webcam" if mode == "live" else "analysed from a video file"
    mirrored = meta.get("mirrored")
    mirror = (" The input was mirrored (selfie view) and was un-mirrored before analysis."
              if mirrored else "")
    sha = sm.get("model_sha256") or "unknown"
    nice = {"twitchcam": "twitchcam", "mediapipe": "MediaPipe", "opencv": "OpenCV",
            "opencv-contrib-python": "OpenCV (contrib)", "numpy": "NumPy", "scipy": "SciPy",
            "python": "Python"}
    order = list(nice) + sorted(k for k in v if k not in nice)
    versions = ", ".join(f"{e(nice.get(k, k))} {e(v[k])}" for k in order
                         if isinstance(v, dict) and v.get(k)) or "versions not recorded"
    source = str(sm.get("source") or meta.get("source") or "unknown")
    if "/" in source or "\\" in source:
        source = Path(source).name  # the file's name, not where it lives on this computer
    rule = sm.get("affected_side_rule")
    affected = (f" The affected side is the one with {e(rule)}." if rule else "")
    params = _flatten(sm.get("params") or {})
    ptxt = "; ".join(f"{e(k)} = {e(val)}" for k, val in params) or "not recorded"
    text = (
        f"<p>The session ({e(s.name)}) was {how}"
        f"{f' at {fps:.1f} frames/s' if fps else ''} (source: {e(source)})."
        f"{mirror} Faces were located with the MediaPipe Face Landmarker (478 landmarks; model "
        f"SHA-256 <span class=\"params\">{e(sha[:16])}…</span>). A frame counted as valid when a "
        "face was found, the head was not turned too far and the face was large enough; only "
        "valid time enters rates and percentages. Eye closure on each side was measured "
        "relative to the person's own open-eye baseline (0 = open, 1 = closed); “eye closed” "
        f"means closure ≥ {CLOSED_AT:g}. Closures of both eyes together were counted as "
        "blinks; one-sided closures as spasms of that side, classed by the detector as clonic "
        "(brief twitches or trains) or tonic (sustained). A spasm involved the mouth when the "
        "same-side mouth corner moved with it. Sides are the patient's own."
        f"{affected}</p>"
        f"<p><b>Estimated grades</b> (twitchcam's own mapping, not a clinical rating). "
        f"<i>Jankovic frequency:</i> {e(grades_mod.JANKOVIC_RULE.split(': ', 1)[1])} "
        f"<i>SMC-style spread:</i> {e(grades_mod.SMC_RULE.split(': ', 1)[1])}</p>"
        f"<p>Software: {versions}.</p>"
        f'<p>Detector parameters: <span class="params">{ptxt}</span></p>')
    if others:
        sets = {json.dumps([o.summary.get("params"), o.summary.get("versions")],
                           sort_keys=True, default=str) for o in others}
        if len(sets) > 1:
            text += (f"<p><b>Note:</b> the {len(others)} sessions in this report used "
                     f"{len(sets)} different combinations of detector parameters and software "
                     "versions; compare trends with care. The values above are those of the "
                     "most recent session.</p>")
        else:
            text += (f"<p>All {len(others)} sessions used the same parameters and software "
                     "versions.</p>")
    return f'<div class="methods">{text}</div>'


NOT_MEDICAL = (
    '<div class="notmd"><b>Not a medical device.</b> twitchcam is research software that '
    "measures eyelid and mouth movements from an ordinary webcam. Its counts can be wrong "
    "(lighting, glasses, head movement, talking), and its grades are estimates made by a "
    "fixed rule, not a clinical rating. It does not diagnose, treat or monitor any condition "
    "and must not guide treatment decisions on its own; discuss the results with your "
    "neurologist.</div>")

CONVENTION = (
    '<p class="convention"><b>Sides:</b> “left” and “right” are always the '
    "<b>patient's own</b> sides (as the patient names them), not sides of the image. "
    "{mirror}</p>")


def _skipped_banner(skipped: list[tuple[str, str]]) -> list[str]:
    if not skipped:
        return []
    return ['<div class="banner bad"><b>Not included:</b> ' + "; ".join(
        f"{e(n)} ({e(why)})" for n, why in skipped) + "</div>"]


def _session_pages(s: Session, title: str, generated: str, heading: str | None,
                   with_methods: bool, others: list[Session] | None,
                   skipped: list[tuple[str, str]] = ()) -> tuple[list[str], dict]:
    """Two sheets of HTML for one session, and the plot data that goes in the JSON."""
    sm = s.summary
    mirrored = s.meta.get("mirrored")
    mirror = ("This recording was mirrored (selfie view) and was un-mirrored before analysis."
              if mirrored else "This recording was not mirrored." if mirrored is False else "")
    dur, val = s.duration_s, s.valid_s
    share = f"{100 * val / dur:.0f} %" if dur > 0 else "—"
    mode = s.meta.get("mode")
    aff = sm.get("affected_side")
    h1 = (f'<h1>{e(heading)}<small>{e(_fmt_dt(s.started, sm.get("started_at")))}</small></h1>'
          if heading else
          f'<h1>Hemifacial spasm report<small>{e(_fmt_dt(s.started, sm.get("started_at")))}'
          f'</small></h1>')
    meta = (
        '<div class="meta">'
        f'<div>Recording length<b>{num("duration_s", sm.get("duration_s"), "len", s.name)}</b></div>'
        f'<div>Face tracked (valid)<b>{num("valid_s", sm.get("valid_s"), "len", s.name)}'
        f' <span class="sub">({share})</span></b></div>'
        f'<div>Affected side<b>{e(SIDE_NAME[aff] if aff in SIDES else "none identified")}'
        f'</b></div>'
        f'<div>Recording<b>{e({"live": "Live webcam", "analyze": "Video file"}.get(mode, mode or "—"))}'
        f'</b><span class="sub">{e(sm.get("status") or s.meta.get("status") or "status unknown")}'
        f'{", mirrored" if mirrored else ""}</span></div>'
        "</div>")
    page1 = [_running_header(title, generated), h1, meta,
             CONVENTION.format(mirror=e(mirror)), *_skipped_banner(list(skipped)),
             *_status_banners(s)]
    plot_json: dict[str, Any] = {"name": s.name}
    if s.no_face:
        page1.append('<div class="nodata"><b>Nothing could be measured.</b> Without a tracked '
                     "face there are no spasm counts, rates, durations or eye-closure "
                     "figures, and the clinical grades (Jankovic frequency, SMC-style spread) "
                     "are not estimable.</div>")
        page1.append('<h2>Data quality</h2>' + _quality_html(s))
    else:
        page1.append('<div class="cols"><div>' + _key_table(s) + "</div><div>"
                     + _grades_box(s) + "</div></div>")
        tl = timeline_figure(s)
        if tl:
            page1.append(f'<div class="block"><h2>Timeline</h2><figure><img alt="Timeline of '
                         f'eye closure and spasms per side" src="{tl[0]}"><figcaption>'
                         f"{e(tl[1])}</figcaption></figure></div>")
        else:
            page1.append('<h2>Timeline</h2><div class="nodata">No timeline: ' + e(
                "; ".join(s.notes) or "no frame data") + "</div>")
        rd = rate_data(s)
        if rd is not None:
            plot_json["rate_per_min"] = {
                "bin_s": rd["bin_s"], "edges_s": rd["edges"].round(3).tolist(),
                "valid_min": rd["valid_min"].round(4).tolist(),
                **{sd: [None if not math.isfinite(x) else round(float(x), 4)
                        for x in rd["rate"][sd]] for sd in SIDES},
                "counts": {sd: rd["counts"][sd].tolist() for sd in SIDES}}
    page2 = [_running_header(title, generated)]
    if not s.no_face:
        page2.append("<h2>Spasm durations</h2>")
        hist = duration_hist(s.events)
        if hist is None:
            page2.append('<div class="nodata">No events.csv: durations not available.</div>')
        elif sum(sum(c) for sd in SIDES for c in hist["counts"][sd].values()) == 0:
            page2.append(f'<div class="nodata">No one-sided spasms were detected in '
                         f'{e(format_length(val))} of valid time, so there are no durations '
                         "to show.</div>")
            plot_json["duration_histogram"] = hist
        else:
            plot_json["duration_histogram"] = hist
            page2.append(f'<figure><img alt="Spasm duration histogram" '
                         f'src="{histogram_figure(s, hist)}"><figcaption>Durations of '
                         "spasms per side, clonic (light) stacked under tonic (dark); log "
                         "scale. The dashed line marks 1 s, the Jankovic frequency boundary."
                         "</figcaption></figure>")
    if s.markers:
        page2.append("<h2>Patient markers</h2>")
        rows = []
        for t, label in s.markers:
            clock = (s.started + dt.timedelta(seconds=t)).strftime("%H:%M:%S") \
                if s.started else ""
            rows.append(f"<tr><td>{format_clock(t)}</td><td>{e(clock)}</td>"
                        f'<td class="txt">{e(label)}</td></tr>')
        page2.append('<table class="list compact narrow"><thead><tr><th>Time in session</th>'
                     '<th>Clock time</th><th class="txt">Marker</th></tr></thead><tbody>'
                     + "".join(rows) + "</tbody></table>")
        plot_json["markers"] = [{"t_s": t, "label": lbl} for t, lbl in s.markers]
    if not s.no_face:
        page2.append("<h2>Data quality</h2>" + _quality_html(s))
    if with_methods:
        page2.append("<h2>Methods</h2>" + _methods_html(s, others))
        page2.append(NOT_MEDICAL)
    sheets = ['<section class="sheet">' + "\n".join(page1) + "</section>"]
    if len(page2) > 1:
        sheets.append('<section class="sheet">' + "\n".join(page2) + "</section>")
    return sheets, plot_json


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def _rate(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def _trend_table(rows: list[dict], period: str, treatments: list[tr.Treatment],
                 side: str | None) -> str:
    closed_sides = [side] if side else list(SIDES)
    cs = side or "left"
    head = {"session": "Date", "week": "Week", "month": "Month"}[period]
    cols = [head]
    closed_heads = [f"Closed ({sd[0].upper()})" for sd in closed_sides]
    if period == "session":
        cols += ["Length", "Valid", "Left /min", "Right /min", *closed_heads,
                 f"Mouth ({cs[0].upper()})", "Day of cycle", "Status"]
    else:
        cols += ["Sessions", "Valid", "Left /min", "Right /min", *closed_heads, "No face"]
    out = ['<table class="list compact"><thead><tr>'
           + "".join(f"<th>{c}</th>" for c in cols) + "</tr></thead><tbody>"]

    def row_date(r: dict) -> dt.date | None:
        d = r.get("date") if period == "session" else r.get("start")
        return dt.date.fromisoformat(d) if d else None

    first_d = row_date(rows[0]) if rows else None
    pending = [t for t in treatments
               if first_d is None or t.date >= first_d - dt.timedelta(days=120)]
    for r in rows:
        d = row_date(r)
        while pending and d and pending[0].date <= d:
            t = pending.pop(0)
            out.append(_treat_row(t, len(cols)))
        if period == "session":
            ses = r["name"]
            cnt = r[f"{cs}_count"]
            mouth = (f"{r[f'{cs}_with_mouth']}/{cnt}" if cnt else "—")
            when = parse_started_at(r["started_at"])
            cells = [
                e(when.strftime("%Y-%m-%d %H:%M") if when else "?"),
                num("duration_s", r["duration_s"], "len", ses),
                num("valid_s", r["valid_s"], "len", ses),
                num("spasms.left.per_min", r["left_per_min"], "rate", ses),
                num("spasms.right.per_min", r["right_per_min"], "rate", ses),
                *[num(f"spasms.{sd}.closed_fraction", r[f"{sd}_closed_fraction"], "pct", ses)
                  for sd in closed_sides],
                mouth,
                "—" if r["days_since_injection"] is None else str(r["days_since_injection"]),
                e(r["status"] or "?") + (" · no face" if r["no_face"] else ""),
            ]
            tr_cls = ' class="nf"' if r["no_face"] else ""
            out.append(f"<tr{tr_cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        else:
            start = dt.date.fromisoformat(r["start"])
            if period == "month":
                label = start.strftime("%b %Y")
            else:
                label = f'{r["period"]} <span class="sub">({start.strftime("%d %b")})</span>'
            cells = [label, str(r["sessions"]), e(format_length(r["valid_s"])),
                     _rate(r["left_per_min"]), _rate(r["right_per_min"]),
                     *[_pct(r[f"{sd}_closed_fraction"]) for sd in closed_sides],
                     str(r["no_face_sessions"] or "—")]
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    last_d = row_date(rows[-1]) if rows else None
    for t in pending:
        if last_d and t.date <= last_d + dt.timedelta(days=31):
            out.append(_treat_row(t, len(cols)))
    out.append("</tbody></table>")
    return "".join(out)


def _treat_row(t: tr.Treatment, ncols: int) -> str:
    name = tr.KIND_NAMES.get(t.kind, t.kind)
    note = f" — {e(t.note)}" if t.note else ""
    return (f'<tr class="treat"><td colspan="{ncols}">▸ {e(t.date.isoformat())}: {e(name)}, '
            f"{e(t.side)} side{note}</td></tr>")


def _treatment_kpis(effect: dict, side: str | None, treatments: list[tr.Treatment]) -> str:
    if not treatments:
        return ('<p class="sub">No treatments recorded. Add them with <code>twitchcam '
                'treatment add DATE --side left --kind botox --note "25 U"</code> to see '
                "days since the last injection and the change in rate.</p>")
    if not effect.get("last_injection"):
        return f'<p class="sub">{e(effect.get("message", ""))}.</p>'
    last = effect["last_injection"]
    days = effect["days_since_at_latest_session"]
    sides = [side] if side else list(SIDES)
    kpis = [f'<div class="kpi"><div class="v">{days} days</div><div class="l">since the last '
            f'injection ({e(last["date"])}, {e(last["side"])}'
            f'{", " + e(last["note"]) if last.get("note") else ""}) at the most recent session'
            f"</div></div>"]
    for sd in sides:
        pre, post = effect.get(f"pre_{sd}_per_min"), effect.get(f"post_{sd}_per_min")
        ch = (effect.get("rate_change") or {}).get(sd)
        kpis.append(f'<div class="kpi"><div class="v">{_rate(pre)}</div><div class="l">'
                    f"{e(SIDE_NAME[sd].lower())} spasms/min in the {PRE_WINDOW_DAYS} days "
                    f"before it ({effect['pre_sessions']} session(s))</div></div>")
        same = effect.get("same_day_sessions") or 0
        excl = f"; {same} on the injection day left out" if same else ""
        kpis.append(f'<div class="kpi"><div class="v">{_rate(post)}</div><div class="l">'
                    f"after the injection ({effect['post_sessions']} session(s){excl})"
                    "</div></div>")
        if ch is None:
            kpis.append(f'<div class="kpi"><div class="v">—</div><div class="l">change: '
                        f'{e(effect.get("message") or "no pre-treatment rate to compare")}'
                        "</div></div>")
        else:
            cls = "good" if ch < 0 else "worse" if ch > 0 else ""
            kpis.append(f'<div class="kpi {cls}"><div class="v">{100 * ch:+.0f} %</div>'
                        f'<div class="l">change in {e(sd)} rate after vs. before '
                        f"({'better' if ch < 0 else 'worse' if ch > 0 else 'unchanged'})"
                        "</div></div>")
    return f'<div class="kpis">{"".join(kpis)}</div>'


def _trend_pages(sessions: list[Session], rows: list[dict], treatments: list[tr.Treatment],
                 side: str | None, effect: dict, title: str, generated: str,
                 skipped: list[tuple[str, str]]) -> tuple[list[str], dict]:
    dated = [s for s in sessions if s.started]
    first = dated[0].started if dated else None
    last = dated[-1].started if dated else None
    total = sum(s.duration_s for s in sessions)
    valid = sum(s.valid_s for s in sessions)
    n_aff = {sd: sum(1 for s in sessions if s.summary.get("affected_side") == sd)
             for sd in SIDES}
    span = (f"{first:%d %b %Y} – {last:%d %b %Y}" if first and last and first.date()
            != last.date() else f"{first:%d %b %Y}" if first else "dates unknown")
    parts = [_running_header(title, generated),
             f"<h1>Hemifacial spasm report<small>{len(sessions)} sessions · {e(span)}</small></h1>",
             '<div class="meta">'
             f"<div>Sessions<b>{len(sessions)}</b></div>"
             f"<div>Recorded in total<b>{e(format_length(total))}</b></div>"
             f"<div>Face tracked (valid)<b>{e(format_length(valid))}</b></div>"
             f"<div>Affected side<b>{e(SIDE_NAME[side] if side else 'none identified')}</b>"
             + (f'<span class="sub">{n_aff[side]} of {len(sessions)} sessions</span>' if side and n_aff[side]
                else '<span class="sub">all sessions\' spasms pooled</span>' if side else "") + "</div></div>",
             CONVENTION.format(mirror="")]
    nf = sum(1 for s in sessions if s.no_face)
    if nf:
        parts.append(f'<div class="banner">{nf} session(s) had no tracked face; they are '
                     "shown as grey crosses and excluded from rates.</div>")
    parts += _skipped_banner(skipped)
    parts.append("<h2>Treatment</h2>" + _treatment_kpis(effect, side, treatments))
    parts.append("<h2>Trend</h2>")
    if any(r["started_at"] and parse_started_at(r["started_at"]) for r in rows):
        parts.append(f'<figure><img alt="Spasm rate and eye closure per session against date" '
                     f'src="{trend_figure(rows, treatments, side)}"><figcaption>Top: spasms per '
                     "valid minute per session and side"
                     + (", with the 7-day pooled rate (spasms ÷ valid minutes of the sessions "
                        "within ±3.5 days)" if len(rows) >= 15 else "")
                     + ". Bottom: share of valid time with the eye closed"
                     + (f" (bold: {SIDE_NAME[side].lower()}, the affected side)" if side else "")
                     + ". Dashed vertical lines: treatments from the log.</figcaption></figure>")
    else:
        parts.append('<div class="nodata">No session has a recording date: no trend plot.'
                     "</div>")
    period, table_rows = aggregate_rows(rows)
    what = {"session": "one row per session",
            "week": f"{len(rows)} sessions aggregated per week",
            "month": f"{len(rows)} sessions aggregated per calendar month"}[period]
    parts.append(f'<h2>Sessions <span class="sub">{what}</span></h2>')
    legend = "Rates: spasms per valid minute" + (
        ", pooled over the sessions of a row (total spasms ÷ total valid minutes)"
        if period != "session" else "") + f". Closed: share of valid time with the " \
        f"{e(side) + ' eye' if side else 'eye'} closed" + (". Mouth: spasms with same-side mouth "
                                              "involvement. Day of cycle: days since the last "
                                              "injection" if period == "session" else "") + "."
    parts.append(f'<p class="sub">{legend}</p>')
    parts.append(_trend_table(table_rows, period, treatments, side))
    data = {"period": period, "rows": rows, "table": table_rows}
    return ['<section class="sheet">' + "\n".join(parts) + "</section>"], data


def _jsonable(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def build_report(session_dirs: Sequence[str | Path], treatments: list[tr.Treatment] | None = None,
                 detail: str = "latest", patient: str | None = None,
                 now: dt.datetime | None = None) -> tuple[str, dict]:
    """(HTML text, embedded data) for the given session folders.

    Sessions without a readable summary.json are skipped and listed in the report; if none
    is left, TwitchcamError.
    """
    if detail not in DETAIL_CHOICES:
        raise TwitchcamError(f"detail must be one of {', '.join(DETAIL_CHOICES)}")
    dirs = expand_paths(session_dirs)
    treatments = sorted(treatments or [], key=lambda t: t.date)
    sessions: list[Session] = []
    skipped: list[tuple[str, str]] = []
    for d in dirs:
        try:
            sessions.append(load_session(d, detail=False))
        except TwitchcamError as err:
            if len(dirs) == 1:
                raise
            skipped.append((d.name, str(err).replace(str(d), "").strip(" :") or str(err)))
    if not sessions:
        raise TwitchcamError("no session could be read: " + "; ".join(f"{n}: {w}"
                                                                     for n, w in skipped))
    sessions.sort(key=lambda s: (s.started or dt.datetime.min, str(s.path)))
    now = now or dt.datetime.now()
    generated = now.strftime("%Y-%m-%d %H:%M")
    title = "Hemifacial spasm monitoring report" + (f" · {patient}" if patient else "")
    multi = len(sessions) > 1
    if detail == "all" or not multi:
        detailed = sessions
    elif detail == "latest":
        detailed = [sessions[-1]]
    else:
        detailed = []
    for s in detailed:
        load_detail(s)

    data: dict[str, Any] = {"report_format": REPORT_FORMAT, "generated_at": now.isoformat(
        timespec="seconds"), "patient": patient, "detail": detail,
        "sessions": [{"name": s.name, "path": str(s.path), "summary": s.summary,
                      "grades": s.grades} for s in sessions],
        "skipped": [{"name": n, "reason": w} for n, w in skipped],
        "treatments": [t.to_dict() for t in treatments], "plots": []}
    sheets: list[str] = []
    if multi:
        side = overall_affected_side(sessions)
        rows = trend_rows(sessions, treatments, side)
        effect = treatment_effect(rows, treatments, side)
        tsheets, tdata = _trend_pages(sessions, rows, treatments, side, effect, title,
                                      generated, skipped)
        sheets += tsheets
        data["affected_side"] = side
        data["trend"] = tdata
        data["treatment_effect"] = effect
    else:
        side = sessions[0].summary.get("affected_side")
        data["affected_side"] = side
    for i, s in enumerate(detailed):
        last = i == len(detailed) - 1
        heading = None
        if multi:
            heading = "Most recent session" if detail == "latest" else f"Session {i + 1} of " \
                f"{len(detailed)}"
        sh, pj = _session_pages(s, title, generated, heading, with_methods=last,
                                others=sessions if multi else None,
                                skipped=skipped if not multi and i == 0 else ())
        sheets += sh
        data["plots"].append(pj)
    if not detailed:
        sheets.append('<section class="sheet">' + _running_header(title, generated)
                      + "<h2>Methods</h2>" + _methods_html(sessions[-1], sessions)
                      + NOT_MEDICAL + "</section>")
    blob = json.dumps(data, default=_jsonable, allow_nan=True, sort_keys=False)
    blob = blob.replace("</", "<\\/")
    page_title = title + (f" — {sessions[-1].started:%Y-%m-%d}" if sessions[-1].started else "")
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "img-src data:; style-src 'unsafe-inline'\">"
           f"<title>{e(page_title)}</title><style>{CSS}</style></head><body>\n"
           + "\n".join(sheets)
           + f'\n<script type="application/json" id="twitchcam-data">{blob}</script>'
           + "\n</body></html>\n")
    return doc, data


def write_report(session_dirs: Sequence[str | Path], out: str | Path,
                 treatments: list[tr.Treatment] | None = None, detail: str = "latest",
                 patient: str | None = None, pdf: bool = False) -> dict:
    """Write the HTML (and PDF next to it) and return {"html": path, "pdf": path|None,
    "sessions": n, "detailed": n, "skipped": n}."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise TwitchcamError(f"--out must end in .html (got {out.name})")
    chromium = find_chromium() if pdf else None
    if pdf and chromium is None:
        raise TwitchcamError("--pdf needs Chromium: install it (Debian/Ubuntu: apt-get install "
                             "chromium) or set TWITCHCAM_CHROMIUM to its path")
    doc, data = build_report(session_dirs, treatments, detail, patient)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        tmp.write_text(doc, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as err:
        raise TwitchcamError(f"cannot write {out}: {err}") from None
    pdf_path = None
    if pdf:
        pdf_path = out.with_suffix(".pdf")
        html_to_pdf(out, pdf_path, chromium)
    return {"html": out, "pdf": pdf_path, "sessions": len(data["sessions"]),
            "detailed": len(data["plots"]), "skipped": len(data["skipped"])}


# =========================================================================== PDF

def find_chromium() -> str | None:
    env = os.environ.get("TWITCHCAM_CHROMIUM")
    if env:
        return env if Path(env).is_file() or shutil.which(env) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                 "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def chromium_args(chromium: str, profile: str) -> list[str]:
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}"]


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, chromium: str | None = None,
                timeout: float = 180.0) -> Path:
    chromium = chromium or find_chromium()
    if chromium is None:
        raise TwitchcamError("--pdf needs Chromium: install it (Debian/Ubuntu: apt-get install "
                             "chromium) or set TWITCHCAM_CHROMIUM to its path")
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    tmp_pdf = pdf_path.with_name(pdf_path.name + ".part.pdf")
    with tempfile.TemporaryDirectory(prefix="twitchcam-chromium-") as profile:
        cmd = chromium_args(chromium, profile) + [
            f"--print-to-pdf={tmp_pdf}", "--no-pdf-header-footer", html_path.as_uri()]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TwitchcamError(f"Chromium did not finish the PDF within {timeout:.0f} s") \
                from None
        except OSError as err:
            raise TwitchcamError(f"cannot run Chromium ({chromium}): {err}") from None
    ok = tmp_pdf.is_file() and tmp_pdf.stat().st_size > 0 and tmp_pdf.read_bytes()[:5] == b"%PDF-"
    if not ok:
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        tmp_pdf.unlink(missing_ok=True)
        raise TwitchcamError(f"Chromium could not print the PDF (exit {proc.returncode}): "
                             f"{last[:200]}")
    os.replace(tmp_pdf, pdf_path)
    return pdf_path
