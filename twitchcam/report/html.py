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

This module writes the HTML; its inputs come from ``report.data`` (session folders, plot
data), ``report.trends`` (across sessions, treatment effect) and ``report.figures``
(matplotlib figures); ``report.pdf`` prints it with Chromium.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from twitchcam.core import grades as grades_mod
from twitchcam.core.anatomy import SIDES
from twitchcam.core.clock import format_clock
from twitchcam.core.features import INVALID_REASONS
from twitchcam.core.stream import PipelineParams
from twitchcam.core.style import SIDE_NAME
from twitchcam.core.summary import CLOSED_AT, finite
from twitchcam.errors import TwitchcamError
from twitchcam.report.data import (
    DETAIL_CHOICES,
    Session,
    duration_hist,
    expand_paths,
    load_detail,
    load_session,
    rate_data,
)
from twitchcam.report.figures import cycle_figure, histogram_figure, timeline_figure, trend_figure
from twitchcam.report.pdf import html_to_pdf, require_chromium
from twitchcam.report.trends import (
    PRE_WINDOW_DAYS,
    aggregate_rows,
    cycle_curves,
    overall_affected_side,
    treatment_effect,
    trend_rows,
)
from twitchcam.store import review
from twitchcam.store import treatments as tr
from twitchcam.store.atomic import write_text_atomic
from twitchcam.store.index import parse_started_at
from twitchcam.video.evidence import EVIDENCE_DIR, strip_path

REPORT_FORMAT = 1


# =========================================================================== formatting

def format_value(value: Any, fmt: str) -> str:
    """How the report prints a summary value (tests compare against this)."""
    v = finite(value)
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
table.evidence img.strip { width: 118mm; display: block; }
table.evidence td { vertical-align: middle; }
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
    elif s.valid_s < grades_mod.SHORT_VALID_S:
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
    row('Possible <span class="sub">listed, not counted</span>',
        {sd: num(k(sd, "possible"), s.side(sd).get("possible"), "int", sid) for sd in SIDES})
    if s.review:  # a person checked the events (twitchcam review)
        rv = s.review
        row('Reviewed <span class="sub">confirmed / rejected / not yet</span>',
            {sd: f'{rv[sd]["confirmed"]} / {rv[sd]["rejected"]} / {rv[sd]["unreviewed"]}' for sd in SIDES})
        row('Confirmed rate <span class="sub">per valid minute</span>',
            {sd: (format_value(rv[sd]["confirmed_per_min"], "rate") if rv["fully_reviewed"]
                  else '<span class="sub">once every spasm is reviewed</span>') for sd in SIDES})
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
        parts = [f"{INVALID_REASONS.get(r, r)} {100 * c / n:.1f} %" for r, c in
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
    defaults = dict(_flatten(PipelineParams().to_dict()))
    changed = [(k, val) for k, val in params if defaults.get(k, object()) != val]
    if not params:
        ptxt = "not recorded"
    elif changed:
        ptxt = (f"twitchcam {e(v.get('twitchcam', ''))}'s defaults, except "
                + "; ".join(f"{e(k)} = {e(val)}" for k, val in changed) + " (all of them: summary.json)")
    else:
        ptxt = f"twitchcam {e(v.get('twitchcam', ''))}'s defaults (all of them: summary.json)"
    text = (
        f"<p>The session ({e(s.name)}) was {how}"
        f"{f' at {fps:.1f} frames/s' if fps else ''} (source: {e(source)})."
        f"{mirror} Faces were located with the MediaPipe Face Landmarker (478 landmarks; model "
        f"SHA-256 <span class=\"params\">{e(sha[:16])}…</span>). A frame counted as valid when a "
        "face was found, the head was not turned too far from the person's own usual pose and "
        "the face was large enough; only valid time enters rates and percentages. Each eye's "
        "closure combines three measurements, each relative to that person's own open eye "
        "(0 = open, 1 = closed): the landmarks' lid gap, MediaPipe's eye-blink score, and the "
        "eye's own appearance (how much of the iris edge the lid leaves visible), which alone "
        f"sees a lid the landmarks barely follow; “eye closed” means closure ≥ {CLOSED_AT:g}. "
        "Closures of both eyes together were counted as blinks; one-sided closures, and blinks in "
        "which one lid closed first or reopened last by more than a frame and clearly beyond this "
        "person's own uneven blinks, as spasms of that side, classed as clonic (brief twitches or "
        "trains) or tonic (sustained). Each has a confidence from how much more that eye closed than "
        "the other, for how long, and how many measurements agreed; those below 0.5 (for example a "
        "one-sided smile, which narrows the eye only partway while the mouth corner rises far) are "
        "listed as possible and counted nowhere. A spasm involved the mouth when the "
        "same-side mouth corner started to pull up or out together with one of its twitches "
        "(co-contraction); a mouth that was already moving, or moved later during a long "
        "spasm, does not count. Sides are the patient's own."
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


MAX_STRIPS = 60  # evidence strips embedded in one report (~50 KB each); the rest are in `twitchcam review`


def _evidence_html(s: Session) -> str:
    """Each one-sided event's evidence strip beside its row (analysed with --evidence)."""
    import base64

    found, _ = review.items(s.path)  # the ids (events.csv order) the strips are named by, and the decisions
    rows, shown = [], 0
    for it in found:
        path = strip_path(s.path, it.id)
        if shown >= MAX_STRIPS or not path.is_file():
            continue
        shown += 1
        img = base64.b64encode(path.read_bytes()).decode()
        decision = it.decision or ("not reviewed" if s.review is not None else "")
        rows.append(f"<tr><td>{it.id}</td><td>{format_clock(it.event.onset_s)}</td>"
                    f"<td>{e(SIDE_NAME.get(it.event.side, it.event.side))}</td><td>{e(it.event.kind)}</td>"
                    f"<td>{format_value(it.event.duration_s, 's')}</td><td>{e(decision)}</td>"
                    f'<td><img class="strip" alt="eyes around event {it.id}" src="data:image/png;base64,{img}">'
                    "</td></tr>")
    total = len(found)
    more = (f" The first {shown} of {total} are shown; `twitchcam review` shows them all."
            if shown < total else "")
    return ("<h2>Evidence <span class=\"sub\">what the eyes looked like</span></h2>"
            '<p class="context">Both eyes before, at the start, middle and end of each one-sided event and just '
            "after it (the patient's right eye on the left, as you face them); the event's eye is framed in its "
            f"side's colour.{more}</p>"
            '<table class="list compact evidence"><thead><tr><th>#</th><th>Time</th><th>Side</th><th>Kind</th>'
            "<th>Duration</th><th>Review</th><th>Strip</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _possible_html(s: Session) -> str:
    """The one-sided events too weakly one-sided to count: listed with their times, so a
    reader can look, never counted in a rate or a grade."""
    ev = s.events
    rows = []
    for k in np.flatnonzero(ev.possible_mask()):
        conf, asym = ev.confidence[k], ev.asym[k]
        rows.append(f"<tr><td>{format_clock(float(ev.onset[k]))}</td><td>{e(SIDE_NAME.get(str(ev.side[k]), ev.side[k]))}"
                    f"</td><td>{format_value(float(ev.duration[k]), 's')}</td>"
                    f"<td>{'—' if not math.isfinite(asym) else f'{asym:.2f}'}</td>"
                    f"<td>{'—' if not math.isfinite(conf) else f'{conf:.2f}'}</td></tr>")
    return ("<h2>Possible spasms <span class=\"sub\">listed, not counted</span></h2>"
            '<p class="context">One eye closed more than the other, but not clearly enough to count '
            "(an uneven blink, a one-sided smile or a head turn can do this). They are in no rate, "
            "count or grade above.</p>"
            '<table class="list compact narrow"><thead><tr><th>Time in session</th><th>Side</th>'
            "<th>Duration</th><th>Closure difference</th><th>Confidence</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


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
        rd = rate_data(s)
        tl = timeline_figure(s, rd)
        if tl:
            page1.append(f'<div class="block"><h2>Timeline</h2><figure><img alt="Timeline of '
                         f'eye closure and spasms per side" src="{tl[0]}"><figcaption>'
                         f"{e(tl[1])}</figcaption></figure></div>")
        else:
            page1.append('<h2>Timeline</h2><div class="nodata">No timeline: ' + e(
                "; ".join(s.notes) or "no frame data") + "</div>")
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
                         f'src="{histogram_figure(hist)}"><figcaption>Durations of '
                         "spasms per side, clonic (light) stacked under tonic (dark); log "
                         "scale. The dashed line marks 1 s, the Jankovic frequency boundary."
                         "</figcaption></figure>")
    if s.events is not None and s.events.possible_mask().any():
        page2.append(_possible_html(s))
    if s.events is not None and (s.path / EVIDENCE_DIR).is_dir():
        page2.append(_evidence_html(s))
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
                     format_value(r["left_per_min"], "rate"), format_value(r["right_per_min"], "rate"),
                     *[format_value(r[f"{sd}_closed_fraction"], "pct") for sd in closed_sides],
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
        kpis.append(f'<div class="kpi"><div class="v">{format_value(pre, "rate")}</div><div class="l">'
                    f"{e(SIDE_NAME[sd].lower())} spasms/min in the {PRE_WINDOW_DAYS} days "
                    f"before it ({effect['pre_sessions']} session(s))</div></div>")
        same = effect.get("same_day_sessions") or 0
        excl = f"; {same} on the injection day left out" if same else ""
        kpis.append(f'<div class="kpi"><div class="v">{format_value(post, "rate")}</div><div class="l">'
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


def _cycle_html(curves: dict) -> str:
    """The treatment-cycle view, or why there is none."""
    head = '<h2>Toxin cycles <span class="sub">spasm rate against weeks since each injection</span></h2>'
    if curves.get("message"):
        return head + f'<div class="nodata">No cycle view: {e(curves["message"])}.</div>'
    offs = [f"{SIDE_NAME[sd].lower()}: ~week {curves[f'{sd}_wearing_off_week']:g}" for sd in SIDES
            if curves.get(f"{sd}_wearing_off_week") is not None]
    note = ("The rate came back above half its pre-injection level (wearing off) at the median " + "; ".join(offs)
            + "." if offs else "In these cycles the rate did not come back above half its pre-injection level.")
    return (head + f'<figure><img alt="Spasm rate per side against weeks since injection, one line per cycle" '
            f'src="{cycle_figure(curves)}"><figcaption>One thin line per toxin cycle (sessions pooled per week '
            "after the injection), the median over cycles in bold; grey: the level in the 30 days before the "
            f"injections (median), dashed: half of it. {e(note)}</figcaption></figure>")


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
    parts.append(_cycle_html(cycle_curves(rows, treatments, side)))
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
    return str(o)  # paths and anything else


def local_prefixes(dirs: Sequence[Path], sessions: Sequence[Session]) -> list[str]:
    """The folders on this computer a report could name: where the sessions and their videos
    are, and the home folder; longest first, so the deepest is removed whole."""
    found = set()
    for d in dirs:
        found.update({str(Path(d).absolute().parent), str(Path(d).resolve().parent)})
    for s in sessions:
        ident = s.meta.get("source_id") if isinstance(s.meta.get("source_id"), dict) else {}
        for src in (s.summary.get("source"), s.meta.get("source"), ident.get("path")):
            if isinstance(src, str) and src:
                found.add(str(Path(src).absolute().parent))
    found.discard(os.sep)
    return sorted(found, key=len, reverse=True) + [str(Path.home())]


def strip_prefixes(value: Any, prefixes: Sequence[str]) -> Any:
    """`value` (strings inside lists and dicts too) with those folders left out: a file is
    named by its name alone (and anything else under the home folder as ~/...)."""
    if isinstance(value, str):
        for p in prefixes[:-1]:
            value = "." if value == p else value.replace(p + os.sep, "")
        home = prefixes[-1]
        if home != os.sep:
            value = "~" if value == home else value.replace(home + os.sep, "~" + os.sep)
        return value
    if isinstance(value, dict):
        return {k: strip_prefixes(v, prefixes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strip_prefixes(v, prefixes) for v in value]
    return value


def build_report(session_dirs: Sequence[str | Path], treatments: list[tr.Treatment] | None = None,
                 detail: str = "latest", patient: str | None = None,
                 now: dt.datetime | None = None, full_paths: bool = False) -> tuple[str, dict]:
    """(HTML text, embedded data) for the given session folders.

    Sessions without a readable summary.json are skipped and listed in the report; if none
    is left, TwitchcamError.  The report names files by their names only: no folder of
    this computer (which tends to hold the user's name) appears in it unless `full_paths`.
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
    body = "\n".join(sheets)
    if not full_paths:
        prefixes = local_prefixes(dirs, sessions)
        data = strip_prefixes(json.loads(json.dumps(data, default=_jsonable, allow_nan=True)), prefixes)
        body = strip_prefixes(body, prefixes + [e(p) for p in prefixes[:-1]] + prefixes[-1:])
    blob = json.dumps(data, default=_jsonable, allow_nan=True, sort_keys=False)
    blob = blob.replace("</", "<\\/")
    page_title = title + (f" — {sessions[-1].started:%Y-%m-%d}" if sessions[-1].started else "")
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "img-src data:; style-src 'unsafe-inline'\">"
           f"<title>{e(page_title)}</title><style>{CSS}</style></head><body>\n"
           + body
           + f'\n<script type="application/json" id="twitchcam-data">{blob}</script>'
           + "\n</body></html>\n")
    return doc, data


def write_report(session_dirs: Sequence[str | Path], out: str | Path,
                 treatments: list[tr.Treatment] | None = None, detail: str = "latest",
                 patient: str | None = None, pdf: bool = False, full_paths: bool = False) -> dict:
    """Write the HTML (and PDF next to it) and return {"html": path, "pdf": path|None,
    "sessions": n, "detailed": n, "skipped": n}."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise TwitchcamError(f"--out must end in .html (got {out.name})")
    chromium = require_chromium() if pdf else None  # before the work, not after it
    doc, data = build_report(session_dirs, treatments, detail, patient, full_paths=full_paths)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out, doc)
    except OSError as err:
        raise TwitchcamError(f"cannot write {out}: {err}") from None
    pdf_path = None
    if pdf:
        pdf_path = out.with_suffix(".pdf")
        html_to_pdf(out, pdf_path, chromium)
    return {"html": out, "pdf": pdf_path, "sessions": len(data["sessions"]),
            "detailed": len(data["plots"]), "skipped": len(data["skipped"])}
