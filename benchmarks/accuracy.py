"""Accuracy table: twitchcam's detector vs a plain fixed-threshold baseline, on real faces.

Ground truth comes from twitchcam/synth/inject.py: one-sided eyelid closures (and mouth
pulls) warped into real face videos of two people at known times, both sides, clonic
trains and tonic holds, intensities 1.0 / 0.75 / 0.55, two seeds.  Each injected clip has
a clean twin (the same frames, nothing injected): the two-sided closures twitchcam finds
there are the "real blinks", and any spasm it reports there is a false spasm.

Clips are analysed once (MediaPipe) and cached; scoring then re-runs filters + detector
from the stored features (`twitchcam detect`'s path, which tests hold identical to
`analyze`), so detector parameters can be explored quickly:

    python benchmarks/accuracy.py [--set spasm_on=0.25 --set lowpass_hz=10]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twitchcam.synth.videos import cache_dir, real_videos  # noqa: E402
from twitchcam.synth.inject import SourceClip, inject_video, make_dataset, read_truth  # noqa: E402
from twitchcam.video.analyze import analyze_file  # noqa: E402
from twitchcam.core.detector import DetectorParams  # noqa: E402
from twitchcam.core.filters import FilterParams  # noqa: E402
from twitchcam.video.model import ensure_model  # noqa: E402
from twitchcam.store.redetect import run_detection  # noqa: E402
from twitchcam.core.scoring import Score, score  # noqa: E402
from twitchcam.store.session import read_session  # noqa: E402
from twitchcam.core.simulate import simulate  # noqa: E402

SEEDS = (7, 8)
FACES = ("single_face.mp4", "WolfgangLanger_Pexels.mp4")


@dataclass(frozen=True)
class Interval:
    onset_s: float
    offset_s: float
    side: str


def baseline_events(session, threshold: float = 0.35, min_frames: int = 2) -> list[Interval]:
    """The plain method papers beat: a fixed threshold on eye-opening asymmetry.

    asym = (open_l - open_r) / mean(open) of the raw per-frame lid gaps; a run of
    |asym| > threshold for >= min_frames frames is a spasm on the narrower eye.  No person
    baseline, no filtering, no blink logic, no merging.
    """
    eye = session.raw[:, 0:2]
    asym = (eye[:, 0] - eye[:, 1]) / np.maximum(eye.mean(axis=1), 1e-6)
    out = []
    for sign, side in ((-1, "left"), (1, "right")):
        on = session.valid & (sign * asym > threshold)
        edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            if b - a >= min_frames:
                out.append(Interval(float(session.t[a]), float(session.t[min(b, len(session.t) - 1)]), side))
    return sorted(out, key=lambda e: e.onset_s)


FILTER = FilterParams()


def twitchcam_events(session, params: DetectorParams):
    result, _ = run_detection(session.t, session.valid, session.raw, session.fps, FILTER, params)
    return result.events


def valid_minutes(session) -> float:
    dt = np.diff(session.t, append=session.t[-1] + 1 / session.fps)
    return float(dt[session.valid].sum()) / 60.0


def analysed(video: Path, model: Path, root: Path):
    folder = root / video.stem
    if not (folder / "summary.json").is_file() or (folder / "summary.json").stat().st_mtime < video.stat().st_mtime:
        analyze_file(video, folder, model, show_progress=False, overwrite=True)
    return read_session(folder)


def build_clips(model: Path) -> list[tuple[str, Path, Path, Path]]:
    """(label, injected video, truth csv, clean twin) for every face and seed."""
    vids = real_videos()
    root = cache_dir() / "accuracy"
    clips = []
    for seed in SEEDS:
        for item in make_dataset(root, [vids[f] for f in FACES], seed):
            clean = item.video.with_name(item.video.stem + "_clean" + item.video.suffix)
            if not clean.is_file() or clean.stat().st_mtime < item.video.stat().st_mtime:
                inject_video(SourceClip.load(item.source), clean, clean.with_suffix(".csv"), [],
                             item.n_frames / item.fps)
            clips.append((f"{item.source.stem[:14]} seed {seed}", item.video, item.truth, clean))
    return clips


def row(name: str, sc: Score, fp_per_min: float | None = None) -> str:
    blinks = f"{sc.blinks_as_spasms}/{sc.blinks}" if sc.blinks else "-"
    fpm = "-" if fp_per_min is None else f"{fp_per_min:.2f}"
    return (f"{name:<34} {sc.tp:>3} {sc.fp:>3} {sc.fn:>3} {sc.precision:6.3f} {sc.recall:6.3f} {sc.f1:6.3f} "
            f"{sc.side_errors:>5} {1000 * sc.median_onset_error_s:8.0f} {blinks:>9} {fpm:>8}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", action="append", default=[], help="detector parameter NAME=VALUE")
    args = ap.parse_args(argv)
    global FILTER
    changes = dict(s.split("=") for s in args.set)
    filter_fields = {f.name for f in dataclasses.fields(FilterParams)}
    FILTER = dataclasses.replace(FILTER, **{k: float(v) for k, v in changes.items() if k in filter_fields})
    params = dataclasses.replace(DetectorParams(), **{k: float(v) for k, v in changes.items() if k not in filter_fields})
    model = ensure_model()
    sessions = cache_dir() / "accuracy" / "sessions"
    header = (f"{'set':<34} {'TP':>3} {'FP':>3} {'FN':>3} {'prec':>6} {'recall':>6} {'F1':>6} "
              f"{'side!':>5} {'onset ms':>8} {'blink->sp':>9} {'FP/min':>8}")
    print(header)
    print("-" * len(header))
    totals: dict[str, Score] = {}
    false_spasms = {"twitchcam": 0, "baseline": 0}
    clean_minutes = 0.0
    by_intensity: dict[float, list[int]] = {}
    region = {True: [], False: []}  # truth mouth flag -> detected eye+mouth, for matched spasms
    for label, video, truth_csv, clean in build_clips(model):
        truth_rows = read_truth(truth_csv)
        truth = [Interval(r["onset_s"], r["offset_s"], r["side"]) for r in truth_rows]
        inj, ref = analysed(video, model, sessions), analysed(clean, model, sessions)
        real_blinks = [e for e in twitchcam_events(ref, params) if e.side == "both"]
        clean_minutes += valid_minutes(ref)
        for name, detect in (("twitchcam", lambda s: twitchcam_events(s, params)), ("baseline", baseline_events)):
            detected = detect(inj)
            sc = score(detected, truth + real_blinks)
            totals[name] = totals[name] + sc if name in totals else sc
            false_spasms[name] += sum(e.side != "both" for e in detect(ref))
            print(row(f"{name}: {label}", sc))
            if name == "twitchcam":
                for r, t in zip(truth_rows, truth):
                    hit = [d for d in detected if d.side == t.side and score([d], [t]).tp]
                    by_intensity.setdefault(r["intensity"], []).append(bool(hit))
                    if hit:
                        region[bool(r["mouth"])].append(hit[0].region == "eye+mouth")
    print("-" * len(header))
    for name in ("twitchcam", "baseline"):
        print(row(f"{name}: ALL", totals[name], false_spasms[name] / clean_minutes))
    print(f"FP/min: spasms reported in the clean twins ({clean_minutes:.1f} valid minutes of real video: "
          "talking, smiling, looking down, hand over mouth)")
    print("twitchcam recall by injected intensity: " + ", ".join(
        f"{k:.2f}: {sum(v)}/{len(v)}" for k, v in sorted(by_intensity.items(), reverse=True)))
    print(f"mouth involvement (region eye+mouth) among found spasms: injected with mouth "
          f"{sum(region[True])}/{len(region[True])}, without mouth {sum(region[False])}/{len(region[False])}")

    vids = real_videos()
    fp = minutes = 0.0
    for name in ("face_noface.mov", "noface_face.mov", "single_face.mp4", "WolfgangLanger_Pexels.mp4"):
        s = analysed(vids[name], model, sessions)
        fp += sum(e.side != "both" for e in twitchcam_events(s, params))
        minutes += valid_minutes(s)
    print(f"untouched source videos (face leaving/arriving too): {int(fp)} false spasms in {minutes:.2f} valid min")

    sim_total = None
    for seed in range(10):
        sim = simulate(300, 30.0, seed, sides=("left", "right"), blink_lag_frames=1)
        raw = np.zeros((sim.t.size, 8))
        raw[:, 0:2], raw[:, 4:6] = np.nan_to_num(sim.eye_open), np.nan_to_num(sim.mouth)
        result, _ = run_detection(sim.t, sim.valid, raw, sim.fps, FILTER, params)
        sc = score(result.events, sim.truth)
        sim_total = sc if sim_total is None else sim_total + sc
    print(row("twitchcam: simulated 10 x 5 min", sim_total))


if __name__ == "__main__":
    main()
