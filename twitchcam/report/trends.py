"""Across sessions: one trend row per session, weekly/monthly aggregation, the affected
side over all sessions, and the change in spasm rate around a botulinum-toxin injection."""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.summary import affected_side, finite
from twitchcam.report.data import Session
from twitchcam.store import treatments as tr

TABLE_PER_SESSION_MAX = 40
WEEKLY_SPAN_MAX_DAYS = 183
PRE_WINDOW_DAYS = 30  # pre-treatment sessions: this many days before an injection

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
    return affected_side(totals)


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


MIN_CYCLES = 2  # a cycle view needs this many injections with sessions after them
MIN_WEEKS = 2  # ... each with sessions in this many distinct weeks


def cycle_curves(rows: list[dict], treatments: list[tr.Treatment], side: str | None) -> dict:
    """The spasm rate per side against weeks since the last injection, one curve per toxin cycle.

    A cycle runs from an injection to the next one (the last: to the latest session).  Week w
    pools the sessions of days 7w..7w+6 after the injection (spasms / valid minutes); the
    injection day itself belongs to no cycle.  Each cycle's pre-injection level is its
    injection's PRE_WINDOW_DAYS before it (as `treatment_effect`); 'wearing off' is the first
    week after a cycle's lowest week whose rate is back above half that level.  The median
    over cycles is taken week by week, over the cycles that have that week.  With fewer than
    MIN_CYCLES cycles of MIN_WEEKS weeks, `message` says why there is no view."""
    inj = tr.relevant_injections(treatments, side)
    dated = sorted(((dt.date.fromisoformat(r["date"]), r) for r in rows if r["date"]), key=lambda x: x[0])
    out: dict[str, Any] = {"side": side, "cycles": [], "median": {}}
    for k, t in enumerate(inj):
        end = inj[k + 1].date if k + 1 < len(inj) else dt.date.max
        after = [(d, r) for d, r in dated if t.date < d < end]
        if not after:
            continue
        since = max(t.date - dt.timedelta(days=PRE_WINDOW_DAYS), inj[k - 1].date + dt.timedelta(days=1)
                    if k else dt.date.min)
        pre = [r for d, r in dated if since <= d < t.date]
        weeks: dict[int, list[dict]] = {}
        for d, r in after:
            weeks.setdefault((d - t.date).days // 7, []).append(r)
        cycle = {"injection": t.date.isoformat(), "weeks": sorted(weeks)}
        for s in SIDES:
            rates = [_pooled_rate(weeks[w], s) for w in cycle["weeks"]]
            cycle[s] = rates
            level = _pooled_rate(pre, s) if pre else None
            cycle[f"{s}_pre"] = level
            cycle[f"{s}_wearing_off_week"] = _wearing_off(cycle["weeks"], rates, level)
        out["cycles"].append(cycle)
    usable = [c for c in out["cycles"] if len(c["weeks"]) >= MIN_WEEKS]
    if len(inj) < 2:
        out["message"] = "a cycle view needs two or more injections in the treatment log"
    elif len(usable) < MIN_CYCLES:
        out["message"] = (f"a cycle view needs sessions in at least {MIN_WEEKS} weeks after each of "
                          f"{MIN_CYCLES} injections; the log and the sessions have {len(usable)} such cycle(s)")
    out["cycles"] = usable
    if "message" in out:
        return out
    for s in SIDES:
        by_week: dict[int, list[float]] = {}
        for c in usable:
            for w, v in zip(c["weeks"], c[s]):
                if v is not None:
                    by_week.setdefault(w, []).append(v)
        out["median"][s] = {w: float(np.median(v)) for w, v in sorted(by_week.items())}
        offs = [c[f"{s}_wearing_off_week"] for c in usable if c[f"{s}_wearing_off_week"] is not None]
        out[f"{s}_wearing_off_week"] = float(np.median(offs)) if offs else None
    return out


def _wearing_off(weeks: list[int], rates: list[float | None], level: float | None) -> int | None:
    """The first week after the lowest one whose rate is back above half the pre-injection level."""
    pts = [(w, r) for w, r in zip(weeks, rates) if r is not None]
    if not pts or not level:
        return None
    low = min(range(len(pts)), key=lambda k: pts[k][1])
    return next((w for w, r in pts[low + 1:] if r > 0.5 * level), None)
