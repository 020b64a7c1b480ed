"""What each generator does to MediaPipe: eye opening and eyeBlink per event and side.

For every event of a built dataset (twitchcam.synth.dataset) MediaPipe runs on the
injected video and on its clean twin; at the event's peak frames (closure >= 80 % of the
event's own peak) we take per side:

- eye_ratio: the feature stage's eye_open, injected / clean (1 = unchanged, 0 = shut);
- blink_rise: blendshape eyeBlink, injected - clean (0 = unchanged, ~+0.5 = a blink).

For the blink patterns, frames inside the clean video's natural blink are left out (and
frames at >= 50 % of the peak count), so the numbers show the one-sided part: the lead
before, or the tail after, the blink.

    python -m twitchcam.synth.measure DIR [DIR ...] [--csv OUT.csv]
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.synth import profiles
from twitchcam.synth.bases import MESH_VERSION, cache_root
from twitchcam.synth.inject import frame_times, iter_frames, video_fps
from twitchcam.synth.mesh import Mesh, run_mediapipe
from twitchcam.video.wheelfetch import sha256_of


def video_mesh(video: Path, model_path=None, wanted: np.ndarray | None = None) -> Mesh:
    """MediaPipe on a video (all frames, or only the `wanted` ones: NaN elsewhere), cached
    by the video's content and the frame set, so a clean twin shared by several
    generators, or a clip rebuilt byte for byte, is analysed once."""
    sha = sha256_of(video)[:20]
    folder = cache_root() / "meshes"
    full = folder / f"{sha}-v{MESH_VERSION}.npz"
    if full.is_file():
        return Mesh.load(full)
    if wanted is None:
        path = full
    else:
        tag = hashlib.sha256(np.packbits(wanted).tobytes()).hexdigest()[:12]
        path = folder / f"{sha}-v{MESH_VERSION}-w{tag}.npz"
    if path.is_file():
        return Mesh.load(path)
    fps = video_fps(video)
    if wanted is None:
        mesh = run_mediapipe(iter_frames(video), fps, model_path)
    else:
        keep = np.nonzero(wanted)[0]
        part = run_mediapipe((fr for k, fr in enumerate(iter_frames(video)) if k < len(wanted) and wanted[k]),
                             fps, model_path, indices=keep)
        mesh = Mesh(np.full((len(wanted), 478, 3), np.nan), *(np.full((len(wanted), 2), np.nan) for _ in range(2)),
                    np.zeros(len(wanted), bool), np.full(len(wanted), np.nan), np.full(len(wanted), np.nan))
        for name in Mesh.__dataclass_fields__:
            getattr(mesh, name)[keep[:len(getattr(part, name))]] = getattr(part, name)
    folder.mkdir(parents=True, exist_ok=True)
    mesh.save(path)
    return mesh


def event_windows(events: Sequence[profiles.SpasmEvent], n: int, fps: float, lead_s: float = 0.4,
                  tail_s: float = 0.1) -> np.ndarray:
    """Frames worth measuring: each event from lead_s before it (MediaPipe settles after
    a gap) to tail_s after it."""
    wanted = np.zeros(n, dtype=bool)
    for ev in events:
        a = max(0, int(np.floor((ev.onset_s - lead_s) * fps)))
        wanted[a:min(n, int(np.ceil((ev.offset_s + tail_s) * fps)) + 1)] = True
    return wanted


@dataclass(frozen=True)
class EventMeasure:
    generator: str
    base: str
    pattern: str
    side: str
    kind: str
    intensity: float
    mouth: bool
    onset_s: float
    frames: int  # peak frames measured
    eye_ratio: float  # injected side
    eye_ratio_min: float
    eye_ratio_other: float
    blink_rise: float  # injected side
    blink_rise_max: float
    blink_rise_other: float


def _nanmed(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def measure(events: Sequence[profiles.SpasmEvent], inj: Mesh, clean: Mesh, fps: float, generator: str,
            base: str, peak_share: float = 0.8) -> list[EventMeasure]:
    n = min(len(inj.eye_open), len(clean.eye_open))
    t = frame_times(n, fps)
    natural = np.zeros(n, dtype=bool)
    # Natural blinks from eyeBlink on the clean video (both eyes >= 0.35): the geometric
    # finder needs a continuous signal, which a windowed measurement does not have.
    with warnings.catch_warnings():  # frames outside the measured windows are all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        both = np.nan_to_num(np.nanmin(clean.blink[:n], axis=1) if n else np.zeros(0), nan=0.0)
    natural = both >= 0.35
    out = []
    for ev in events:
        k = SIDES.index(ev.side)
        o = 1 - k
        lv = ev.level(t)
        if ev.pattern in profiles.BLINK_PATTERNS:  # the one-sided lead or tail only
            peak = (lv >= 0.5 * lv.max() - 1e-9) & ~natural
        else:
            peak = lv >= peak_share * lv.max() - 1e-9
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = inj.eye_open[:n] / clean.eye_open[:n]
        rise = inj.blink[:n] - clean.blink[:n]
        r, ro, b, bo = ratio[peak, k], ratio[peak, o], rise[peak, k], rise[peak, o]
        out.append(EventMeasure(
            generator, base, ev.pattern, ev.side, ev.kind, ev.intensity, ev.mouth, ev.onset_s, int(peak.sum()),
            _nanmed(r), float(np.nanmin(r)) if np.isfinite(r).any() else float("nan"), _nanmed(ro),
            _nanmed(b), float(np.nanmax(b)) if np.isfinite(b).any() else float("nan"), _nanmed(bo)))
    return out


def measure_dir(out_dir: str | Path, model_path=None, log=print, windows: bool = True) -> list[EventMeasure]:
    """Every event of a built dataset; windows=True runs MediaPipe only around the events
    (each from 0.4 s before it), a third of the frames, on both videos alike."""
    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    rows = []
    for stem, entry in manifest.items():
        log(f"measuring {out_dir.name}/{stem} ...")
        events = profiles.load_events(out_dir / entry["events"])
        wanted = event_windows(events, entry["n_frames"], entry["fps"]) if windows else None
        inj = video_mesh(out_dir / entry["video"], model_path, wanted)
        clean = video_mesh(out_dir / entry["clean"], model_path, wanted)
        rows += measure(events, inj, clean, entry["fps"], entry["generator"], entry["base"])
    return rows


def measure_clips(clips, model_path=None) -> list[EventMeasure]:
    dirs = sorted({c.video.parent for c in clips})
    return [r for d in dirs for r in measure_dir(d, model_path)]


GROUP_VALUES = ("eye_ratio", "eye_ratio_other", "blink_rise", "blink_rise_other")


def summarize(rows: Sequence[EventMeasure], keys: tuple[str, ...] = ("generator", "base", "pattern")
              ) -> list[dict]:
    """Median of each measure per group, plus the group's event count."""
    groups = defaultdict(list)
    for r in rows:
        groups[tuple(getattr(r, k) for k in keys)].append(r)
    out = []
    for key in sorted(groups):
        rs = groups[key]
        row = dict(zip(keys, key))
        row["n"] = len(rs)
        for v in GROUP_VALUES:
            row[v] = _nanmed(np.array([getattr(r, v) for r in rs], dtype=float))
        out.append(row)
    return out


def format_table(summary: Sequence[dict]) -> str:
    if not summary:
        return "(no events)"
    keys = [k for k in summary[0] if k not in GROUP_VALUES and k != "n"]
    head = "| " + " | ".join(keys) + " | n | eye_open inj/clean | other side | eyeBlink rise inj | other side |"
    lines = [head, "|" + "---|" * (len(keys) + 5)]
    for r in summary:
        lines.append("| " + " | ".join(str(r[k]) for k in keys) + f" | {r['n']} | {r['eye_ratio']:.2f} | "
                     f"{r['eye_ratio_other']:.2f} | {r['blink_rise']:+.2f} | {r['blink_rise_other']:+.2f} |")
    return "\n".join(lines)


def write_csv(path: str | Path, rows: Sequence[EventMeasure]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(EventMeasure.__dataclass_fields__))
        w.writeheader()
        for r in rows:
            w.writerow(asdict(r))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m twitchcam.synth.measure", description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", help="dataset folders (with manifest.json)")
    ap.add_argument("--csv", help="write one row per event here")
    ap.add_argument("--model")
    args = ap.parse_args(argv)
    rows = [r for d in args.dirs for r in measure_dir(d, args.model)]
    if args.csv:
        write_csv(args.csv, rows)
    print(format_table(summarize(rows, ("generator", "pattern"))))
    print()
    print(format_table(summarize(rows, ("generator", "base"))))
    print()
    print(format_table(summarize(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
