"""The report's figures (matplotlib, no pyplot), as embedded PNG data URIs.

Colours are Okabe-Ito (colour-blind safe); each figure has a caption saying how to read it.
"""
from __future__ import annotations

import base64
import datetime as dt
import io

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.style import SIDE_COLOUR, SIDE_NAME, SIDE_TINT
from twitchcam.core.summary import CLOSED_AT
from twitchcam.report.data import Session, session_span, span_mask, timeline_data
from twitchcam.store import treatments as tr
from twitchcam.store.index import parse_started_at

INVALID_COLOR = "#dcdcdc"
CALIB_COLOR = "#f1ecd9"
MARKER_COLOR = "#6a3d9a"
BLINK_COLOR = "#b0b0b0"
TREAT_COLOR = {"botox": "#009E73", "mvd": "#444444", "medication": "#888888",
               "other": "#888888"}
MAX_MARKER_LABELS = 12

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



def timeline_figure(s: Session, rd: dict | None) -> tuple[str, str] | None:
    """(data URI, caption) of the per-side closure timeline with events, markers and the
    per-side spasm rate (`rate_data(s)`); None when there is nothing honest to draw."""
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
                ax.plot(x, y, color=SIDE_COLOUR[side], lw=0.7, zorder=2)
                ax.axhline(CLOSED_AT, color="#999999", lw=0.5, ls=(0, (2, 2)), zorder=1)
                ax.set_yticks([0, 0.5, 1], ["open", "½", "closed"])
            else:
                ax.fill_between(x, 0, y, step="mid", color=SIDE_COLOUR[side], alpha=0.3,
                                lw=0, zorder=1)
                ax.step(x, y, where="mid", color=SIDE_COLOUR[side], lw=0.6, zorder=2)
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
                for kind, color in (("clonic", SIDE_TINT[side]), ("tonic", SIDE_COLOUR[side])):
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
                          color=SIDE_COLOUR[side])
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
                       align="edge", color=SIDE_COLOUR[side], lw=0)
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
                   (Patch(color=SIDE_COLOUR["left"]), Patch(color=SIDE_COLOUR["right"])),
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


def histogram_figure(hist: dict) -> str:
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
                   color=SIDE_COLOUR[side], edgecolor="white", linewidth=0.5)
            ax.set_xscale("log")
            ax.set_xlim(edges[0], edges[-1])
            ax.set_xticks([0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60],
                          ["0.1", "0.2", "0.5", "1", "2", "5", "10", "30", "60"])
            ax.minorticks_off()
            ax.axvline(1.0, color="#555555", lw=0.6, ls=(0, (3, 2)))
            ax.text(1.04, 0.97, "1 s", transform=ax.get_xaxis_transform(), fontsize=6.5,
                    color="#555555", va="top")
            ax.set_title(SIDE_NAME[side], loc="left", color=SIDE_COLOUR[side],
                         fontweight="bold")
            ax.set_xlabel("spasm duration (s, log scale)")
            ax.grid(axis="x", visible=False)
            if clonic.sum() + tonic.sum() == 0:
                ax.text(0.5, 0.5, "no spasms on this side", transform=ax.transAxes,
                        ha="center", va="center", color="#777777")
            ax.legend(handles=[Patch(color=SIDE_TINT[side], label=f"clonic ({clonic.sum()})"),
                               Patch(color=SIDE_COLOUR[side], label=f"tonic ({tonic.sum()})")],
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
                         color=SIDE_COLOUR[sd], alpha=0.55 if many else 1.0,
                         label=SIDE_NAME[sd])
                if len(pts) >= 15:
                    sm = _rolling(dated, when, sd)
                    ax1.plot(when, sm, color=SIDE_COLOUR[sd], lw=1.6)
            cpts = [(w, 100 * r[f"{sd}_closed_fraction"]) for w, r in zip(when, dated)
                    if r[f"{sd}_closed_fraction"] is not None]
            if cpts:
                xs, ys = zip(*cpts)
                main = side is None or sd == side
                ax2.plot(xs, ys, marker="o", ms=(2.2 if many else 3.5) if main else 2,
                         lw=(0.5 if many else 1.0) if main else 0.5, color=SIDE_COLOUR[sd],
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
        handles = [Line2D([], [], color=SIDE_COLOUR[s], marker="o", ms=3.5, lw=1,
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


def cycle_figure(curves: dict) -> str:
    """Spasm rate per side against weeks since the injection: a thin line per toxin cycle, the
    median over cycles in bold, the pre-injection level (half of it dashed: 'wearing off' is
    crossing it again) and the median wearing-off week."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(7.4, 2.6)
        axes = fig.subplots(1, 2, sharey=True, gridspec_kw={"wspace": 0.08})
        fig.subplots_adjust(left=0.08, right=0.985, top=0.86, bottom=0.16)
        for ax, sd in zip(axes, SIDES):
            colour = SIDE_COLOUR[sd]
            pre = [c[f"{sd}_pre"] for c in curves["cycles"] if c[f"{sd}_pre"] is not None]
            for c in curves["cycles"]:
                pts = [(w, v) for w, v in zip(c["weeks"], c[sd]) if v is not None]
                if pts:
                    ax.plot(*zip(*pts), color=SIDE_TINT[sd], lw=0.9, marker="o", ms=2)
            med = curves["median"].get(sd) or {}
            if med:
                ax.plot(list(med), list(med.values()), color=colour, lw=2.0, label="median over cycles")
            if pre:
                level = float(np.median(pre))
                ax.axhline(level, color="#777777", lw=0.8)
                ax.axhline(0.5 * level, color="#777777", lw=0.8, ls="--")
            off = curves.get(f"{sd}_wearing_off_week")
            if off is not None:
                ax.axvline(off, color=colour, lw=0.8, ls=":")
                ax.text(off, ax.get_ylim()[1] * 0.95, f" wearing off ~week {off:g}", color=colour, va="top", fontsize=6.5)
            ax.set_title(f"{SIDE_NAME[sd]} eye ({len(curves['cycles'])} cycles)")
            ax.set_xlabel("weeks since injection")
        axes[0].set_ylabel("spasms per valid minute")
        axes[0].set_ylim(bottom=0)
        return _png(fig)
