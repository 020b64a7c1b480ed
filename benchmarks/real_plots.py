"""What the detector saw on the real faces without HFS, and why it counted what it counted.

    .venv/bin/python benchmarks/real_plots.py [--out DIR] [--set NAME=VALUE ...]

Issue 16 asks for the separating evidence to be shown in plots of real clips before a rule is
written.  This draws, from the clips in ../shared/real/dev (read in place, analysed once and
cached like `make accuracy`'s):
- one figure per clip: each eye's closure over time (0 = its own open level, 1 = shut), the
  labelled winks and blinks, and the detector's events: counted spasms, 'possible' ones
  (listed, never counted) with their confidence, and blinks;
- evidence.png: every one-sided event on the real clips and on the synthetic set's injected
  spasms, by the eyes' closure difference that decided it (Evidence.asym) and how long it held
  (asym_s), marked counted or possible, the real ones named with their confidence: where real
  faces' one-sided moments fall against spasms.  On the dev clips they are one-sided smiles,
  which sit among the spasms by these two measures: what set them apart (confidence x 0.25) was
  the same-side mouth corner rising further than the eye narrowed (the smile rule, evidence.py).

The PNGs go to --out (default ~/.cache/twitchcam/plots), never into the repository: the clips
are third-party footage, for evaluation only.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import accuracy as A  # noqa: E402

from twitchcam.core.anatomy import SIDES  # noqa: E402
from twitchcam.core.style import SIDE_COLOUR, SIDE_TINT  # noqa: E402
from twitchcam.synth.bases import cache_root  # noqa: E402

BLINK_GREY = "#9a9a9a"
SHORTEST_S = 0.03  # evidence.png's floor for how long a difference held (a log axis has no 0)


def _save(fig, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=90)


def clip_figure(name: str, session, detection, labels: dict, path: Path) -> None:
    """One clip's closures, labels and events (see the module's docstring)."""
    from matplotlib.figure import Figure

    t = session.t
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    ax = fig.add_subplot()
    for k, side in enumerate(SIDES):
        ax.plot(t, detection.closure[:, k], color=SIDE_COLOUR[side], lw=1.2, label=f"{side} eye closure")
    for w in labels.get("one_sided", []):
        ax.axvspan(w["onset_s"], w["offset_s"], color=SIDE_TINT[w["side"]], alpha=0.5, lw=0,
                   label=f"labelled wink ({w['side']})")
    for b in labels.get("blinks", []):
        ax.axvline(b, color=BLINK_GREY, lw=0.8, ls=":")
    for e in detection.events:
        if e.side == "both":
            ax.axvspan(e.onset_s, e.offset_s, ymin=0.78, ymax=0.82, color=BLINK_GREY, lw=0)
            continue
        counted = e.is_spasm
        ax.axvspan(e.onset_s, e.offset_s, ymin=0.85, ymax=0.91, lw=0, color=SIDE_COLOUR[e.side],
                   alpha=0.9 if counted else 0.3, hatch=None if counted else "///")
        ax.text(e.onset_s, 0.93, f"{'spasm' if counted else 'possible'} {e.confidence:.2f}", fontsize=7,
                color=SIDE_COLOUR[e.side], transform=ax.get_xaxis_transform())
    ax.set_ylim(-0.3, 1.4)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("s (dotted: labelled blinks; grey bars: blinks found; solid bars: spasms counted, hatched: "
                  "possible)", fontsize=8)
    ax.set_ylabel("closure")
    ax.set_title(f"{name}: {labels.get('notes', '')[:110]}", fontsize=8, loc="left")
    handles, names = ax.get_legend_handles_labels()
    keep = dict(zip(names, handles))
    ax.legend(keep.values(), keep.keys(), fontsize=7, loc="lower right")
    _save(fig, path)


def evidence_figure(points: list[tuple[str, bool, float, float, str]], params, path: Path) -> None:
    """(group, counted, asym, asym_s, name) of each one-sided event, as one scatter per group; the
    real ones named by clip and confidence."""
    from matplotlib.figure import Figure

    p = params.detector
    fig = Figure(figsize=(7.5, 5), layout="constrained")
    ax = fig.add_subplot()
    style = {"real face, no HFS": ("o", "#CC79A7"), "real wink": ("*", "#000000"),
             "injected spasm": (".", "#56B4E9")}
    for group, (marker, colour) in style.items():
        for counted in (True, False):
            sel = [(a, max(s, SHORTEST_S)) for g, c, a, s, _ in points if g == group and c == counted and np.isfinite(a)]
            if sel:
                a, s = np.array(sel).T
                ax.scatter(a, s, marker=marker, s=50 if group != "injected spasm" else 12, alpha=0.8,
                           facecolors=colour if counted else "none", edgecolors=colour,
                           label=f"{group}: {'counted' if counted else 'possible'} ({len(sel)})")
    for group, _, a, s, name in points:
        if group != "injected spasm" and np.isfinite(a):
            ax.annotate(name, (a, max(s, SHORTEST_S)), fontsize=6, xytext=(4, 4), textcoords="offset points")
    ax.axvline(p.asym_full, color="#666666", lw=0.8, ls="--")
    ax.annotate("full evidence (asym_full)", (p.asym_full, ax.get_ylim()[1]), fontsize=7, rotation=90, va="top")
    ax.set_xlabel("the eyes' closure difference that decided it (Evidence.asym)")
    ax.set_ylabel("how long it held at least half that (s)")
    ax.set_yscale("log")
    ax.legend(fontsize=7, loc="upper right")
    _save(fig, path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=cache_root() / "plots", help="where the PNGs go")
    ap.add_argument("--set", action="append", default=[], help="detector parameter NAME=VALUE")
    args = ap.parse_args(argv)
    model = A.real_dev_model("real_plots")
    params = A.params_set(args.set)
    args.out.mkdir(parents=True, exist_ok=True)
    points = []
    for path in sorted(A.REAL_DEV.glob("*.labels.json")):
        labels = json.loads(path.read_text())
        session = A.analysed(A.REAL_DEV / labels["video"], model)
        if session is None:
            continue
        d = A.detection(session, params)
        name = path.name[:-len(".labels.json")]
        clip_figure(name, session, d, labels, args.out / f"{name}.png")
        for e in d.events:
            if e.side != "both":
                wink = any(e.side == w["side"] and e.onset_s < w["offset_s"] + A.TOL_S and e.offset_s > w["onset_s"] - A.TOL_S
                           for w in labels.get("one_sided", []))
                points.append(("real wink" if wink else "real face, no HFS", e.is_spasm, e.asym, e.asym_s,
                               f"{name} {e.onset_s:.1f} s: {e.confidence:.2f}"))
    for c in A.load_clips(A.GENERATORS, A.SEEDS, build=False):
        truth = [A.Interval(r.onset_s, r.offset_s, r.side) for r in c.truth.itertuples()]
        for e in A.detected(c.inj, params):
            if e.side != "both" and A.score([e], truth).tp:
                points.append(("injected spasm", e.is_spasm, e.asym, e.asym_s, ""))
    evidence_figure(points, params, args.out / "evidence.png")
    print(f"real_plots: {len(list(args.out.glob('*.png')))} figures in {args.out}")


if __name__ == "__main__":
    main()
