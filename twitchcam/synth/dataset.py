"""Ground truth v2: one-sided spasms from several independent generators on several bases.

    python -m twitchcam.synth.dataset [OUT_DIR] --generator warp|lid|clone --seed N
        [--bases single_face,wolfgang,...] [--duration-scale 1.0] [--measure]

For each base (twitchcam.synth.bases) the builder plans events from a seed (the plan
depends on the base and the seed only, so every generator gets the SAME events and
their recalls compare pair-wise), renders them with the chosen generator, and writes:

- BASE_seedN.avi        the injected video (MJPG, inject.write_video);
- BASE_seedN_clean.avi  its clean twin: the same frames with nothing injected;
- BASE_seedN_truth.csv  one row per event: inject's TRUTH_COLUMNS + generator, pattern;
- BASE_seedN_truth_events.json  per-twitch timing (profiles.load_events);
- BASE_seedN_base.npz   per output frame: the source frame index, and per source frame
                        the clean landmarks in output pixels (mapped through the base's
                        transform) and MediaPipe's blink blendshapes on the clean frames;
- manifest.json / manifest.csv  clip, generator, base, tags, patterns, fps, n_frames,
                        face height (px), files.

OUT_DIR defaults to ~/.cache/twitchcam/accuracy-v2/GENERATOR-seedN (TWITCHCAM_ACCURACY_V2
moves the root).  A clip is rebuilt only when the generator's version, the plan, the
base or its source video changed, or a file is missing.  Generators:

- warp:  inject.py's mesh-driven remap that slides the upper lid down;
- lid:   lid.py draws a lid surface over the eye (own skin, lash line, shading);
- clone: clone.py clones the person's own closed eye from a natural blink (appearance).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import zlib
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.synth import clone as clone_mod
from twitchcam.synth import inject, lid, profiles
from twitchcam.synth.bases import BASES, MESH_VERSION, Base, cache_root, load_base, natural_blinks
from twitchcam.synth.profiles import BLINK_PATTERNS, PATTERNS, SpasmEvent
from twitchcam.video.wheelfetch import sha256_of

PLAN_VERSION = 1
TRUTH_V2_COLUMNS: tuple[str, ...] = profiles.TRUTH_COLUMNS + ("generator", "pattern")
Renderer = Callable[[np.ndarray, np.ndarray, dict], np.ndarray]


# ---------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------

def _warp(base: Base) -> Renderer:
    return lambda frame, pts, levels: inject.inject_frame(frame, pts, levels)


def _lid(base: Base) -> Renderer:
    return lambda frame, pts, levels: lid.lid_frame(frame, pts, levels)


def _clone(base: Base) -> Renderer:
    # The donor frames are the SOURCE frames (drawn on before the base's transform).
    blinks = natural_blinks(base.source_mesh, base.fps)
    ladder = clone_mod.build_ladder(base.clip.eye_open, blinks)
    return clone_mod.CloneSource(base.clip.frames, base.clip.landmarks, ladder).apply


GENERATORS: dict[str, tuple[int, Callable[[Base], Renderer]]] = {
    "warp": (inject.GENERATOR_VERSION, _warp),
    "lid": (lid.VERSION, _lid),
    "clone": (clone_mod.VERSION, _clone),
}


# ---------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanParams:
    warmup_s: float = 2.0  # the detector calibrates here: no events
    min_gap_s: float = 1.5  # between one event's offset and the next onset ...
    max_extra_gap_s: float = 2.5  # ... plus up to this much: 1.5-4 s, natural blinks fall between
    end_margin_s: float = 0.5
    guard_s: float = 0.25  # face usable and the eye open this long around an event
    clear_s: float = 0.3  # no natural blink this close to a non-blink event's first second
    mouth_share: float = 0.3  # events that also pull the same side's mouth corner
    lookahead: int = 4  # pending events competing for each slot
    patience_s: float = 4.0  # an older pending event may push the next one back this far
    patterns: tuple[str, ...] = PATTERNS


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]))


def plan_events(base: Base, rng: np.random.Generator, params: PlanParams = PlanParams()) -> list[SpasmEvent]:
    """Events from a shuffled cycle of (pattern, side), each at the earliest fitting slot.

    Blink patterns are tied to the base's natural blinks on the output clock; the others
    go where the face is usable, the eye is open around them and no natural blink falls
    near their start, so the pattern label stays what was rendered.
    """
    fps = base.fps
    idx = base.indices()
    use = {k: v[idx] for k, v in base.usable().items()}
    n = len(idx)
    blink_runs = _runs(use["blink"])
    guard, clear = int(np.ceil(params.guard_s * fps)), int(np.ceil(params.clear_s * fps))
    last = int(np.floor((base.spec.duration_s - params.end_margin_s) * fps))
    combos = [(p, s) for p in params.patterns for s in SIDES]

    def span(ev: SpasmEvent) -> tuple[int, int]:
        return int(np.floor(ev.onset_s * fps)), int(np.ceil(ev.offset_s * fps))

    def base_ok(ev: SpasmEvent, closed: tuple[int, int] | None = None) -> bool:
        """Face usable around the event; the eye open before and after it (and before and
        after the natural blink `closed` it overlaps)."""
        k0, k1 = span(ev)
        a, b = k0 - guard, k1 + guard + 1
        if a < int(params.warmup_s * fps) or k1 > last or b > n:
            return False
        eye = use[ev.side]
        before, after = (k0 + 1, k1) if closed is None else (min(k0 + 1, closed[0]), max(k1, closed[1]))
        return bool(use["face"][a:b].all() and eye[a:before].all() and eye[after:b].all()
                    and (not ev.mouth or use["mouth"][a:b].all()))

    def fits_plain(ev: SpasmEvent) -> bool:
        k0, k1 = span(ev)
        head = min(k1, k0 + int(fps)) + clear
        return base_ok(ev) and not use["blink"][max(0, k0 - clear):head].any() \
            and use[ev.side][k0:k1 + 1].mean() >= 0.85

    def fits_blink(ev: SpasmEvent, run: tuple[int, int]) -> bool:
        k0, k1 = span(ev)
        others = [r for r in blink_runs if r != run and r[1] > k0 - guard and r[0] < k1 + guard]
        return base_ok(ev, run) and not others

    def place(pattern: str, side: str, mouth: bool, start: int) -> SpasmEvent | None:
        if pattern in BLINK_PATTERNS:
            for run in blink_runs:
                if run[0] / fps - 0.16 < start / fps:
                    continue
                ev = profiles.around_blink(rng, pattern, run[0] / fps, run[1] / fps, side, mouth)
                ev = ev.shifted(profiles._r(ev.onset_s))
                if fits_blink(ev, run):
                    return ev
            return None
        template = profiles.make_pattern(rng, pattern, 0.0, side, mouth)
        for k in range(start, last + 1):
            ev = template.shifted(profiles._r(k / fps))
            if fits_plain(ev):
                return ev
        return None

    events: list[SpasmEvent] = []
    pending: list[tuple[str, str, bool]] = []
    order: list[tuple[str, str]] = []
    earliest = params.warmup_s
    misses = 0
    while misses < len(combos):
        while len(pending) < params.lookahead:
            if not order:
                order = [combos[j] for j in rng.permutation(len(combos))]
            pattern, side = order.pop()
            pending.append((pattern, side, bool(rng.random() < params.mouth_share)))
        start = int(np.ceil((earliest + rng.uniform(0, params.max_extra_gap_s)) * fps))
        placed = [(ev, c) for c in pending if (ev := place(*c, start)) is not None]
        if not placed:
            # Nothing pending fits anywhere later: drop the oldest and try others.
            pending.pop(0)
            misses += 1
            continue
        misses = 0
        # The oldest pending event that fits within a few seconds of the earliest one goes
        # first, so patterns that need a blink are not starved by the ones that fit anywhere.
        soonest = min(ev.onset_s for ev, _ in placed)
        ev, c = next((ev, c) for ev, c in placed if ev.onset_s <= soonest + params.patience_s)
        pending.remove(c)
        events.append(ev)
        earliest = ev.offset_s + params.min_gap_s
    return events


# ---------------------------------------------------------------------------------------
# Rendering and files
# ---------------------------------------------------------------------------------------

def render(base: Base, events: Sequence[SpasmEvent], renderer: Renderer | None) -> Iterator[np.ndarray]:
    """Output frames at t = k / fps; renderer None gives the clean twin."""
    idx = base.indices()
    lv = profiles.side_levels(events, inject.frame_times(len(idx), base.fps))
    clean: dict[int, np.ndarray] = {}
    for k, i in enumerate(idx):
        levels = {side: (float(eye[k]), float(mouth[k])) for side, (eye, mouth) in lv.items()}
        if renderer is None or not any(e > 0 or m > 0 for e, m in levels.values()):
            if i not in clean:
                clean[i] = base.output(base.clip.frames[i], i)
            yield clean[i]
        else:
            yield base.output(renderer(base.clip.frames[i], base.clip.landmarks[i], levels), i)


@dataclass(frozen=True)
class Clip:
    name: str
    generator: str
    base: str
    video: Path
    clean: Path
    truth: Path
    events: Path
    base_npz: Path
    fps: float
    n_frames: int
    face_height_px: float
    tags: tuple[str, ...]
    patterns: dict


def _files(out_dir: Path, stem: str) -> dict[str, Path]:
    return {"video": out_dir / f"{stem}.avi", "clean": out_dir / f"{stem}_clean.avi",
            "truth": out_dir / f"{stem}_truth.csv", "events": out_dir / f"{stem}_truth_events.json",
            "base_npz": out_dir / f"{stem}_base.npz"}


def default_out_dir(generator: str, seed: int) -> Path:
    return cache_root() / f"{generator}-seed{seed}"


def build(out_dir: str | Path | None, generator: str, seed: int, bases: Sequence[str] | None = None,
          params: PlanParams = PlanParams(), duration_scale: float = 1.0,
          model_path: str | Path | None = None, log=print) -> list[Clip]:
    """Build (or reuse) every clip of one generator; returns them and writes the manifest."""
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}; choose from {sorted(GENERATORS)}")
    out_dir = Path(out_dir) if out_dir else default_out_dir(generator, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    manifest = inject.read_manifest(manifest_path)
    version, make_renderer = GENERATORS[generator]
    clips = []
    for name in bases or list(BASES):
        spec = BASES[name]
        if duration_scale != 1.0:
            from dataclasses import replace
            spec = replace(spec, duration_s=round(spec.duration_s * duration_scale, 3))
        from twitchcam.synth.videos import real_videos
        src = real_videos()[spec.video]
        stem = f"{spec.name}_seed{seed}"
        files = _files(out_dir, stem)
        key = {"generator": generator, "generator_version": version, "plan_version": PLAN_VERSION,
               "mesh_version": MESH_VERSION,
               "seed": seed, "spec": asdict(spec), "params": asdict(params), "source_sha256": sha256_of(src)}
        key = json.loads(json.dumps(key))
        entry = manifest.get(stem)
        if not (entry and entry.get("key") == key and all(p.is_file() for p in files.values())):
            log(f"{generator}: building {stem} ...")
            base = load_base(spec, model_path)
            rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])
            events = plan_events(base, rng, params)
            n = inject.write_video(files["video"], render(base, events, make_renderer(base)), base.fps)
            clean_key = {k: key[k] for k in ("plan_version", "mesh_version", "spec", "source_sha256")}
            if not (entry and entry.get("clean_key") == clean_key and files["clean"].is_file()):
                inject.write_video(files["clean"], render(base, [], None), base.fps)
            profiles.write_truth(files["truth"], events, {"generator": generator, "pattern": ""})
            profiles.save_events(files["events"], events)
            np.savez_compressed(files["base_npz"], index=base.indices(),
                                landmarks=base.out_landmarks().astype(np.float32),
                                blink=base.mesh.blink.astype(np.float32),
                                eye_open=base.mesh.eye_open.astype(np.float32))
            entry = {"key": key, "clean_key": clean_key, "clip": stem, "generator": generator, "base": spec.name,
                     "source": spec.video, "tags": list(spec.tags), "fps": base.fps, "n_frames": n,
                     "duration_s": n / base.fps, "width": base.output(base.clip.frames[0], 0).shape[1],
                     "height": base.output(base.clip.frames[0], 0).shape[0],
                     "face_height_px": round(base.face_height(), 1), "n_events": len(events),
                     "patterns": dict(Counter(e.pattern for e in events)),
                     "sides": dict(Counter(e.side for e in events)),
                     "mouth_events": sum(e.mouth for e in events), "natural_blinks_src": len(base.blinks),
                     **{k: p.name for k, p in files.items()}}
            manifest[stem] = entry
            manifest_path.write_text(json.dumps(manifest, indent=1))
            _write_manifest_csv(out_dir, manifest)
        clips.append(Clip(stem, generator, entry["base"], *(out_dir / entry[k] for k in
                                                                ("video", "clean", "truth", "events", "base_npz")),
                          entry["fps"], entry["n_frames"], entry["face_height_px"], tuple(entry["tags"]),
                          entry["patterns"]))
    _write_manifest_csv(out_dir, manifest)
    return clips


MANIFEST_COLUMNS = ("clip", "generator", "base", "tags", "patterns", "fps", "n_frames", "duration_s", "width",
                    "height", "face_height_px", "n_events", "mouth_events", "video", "clean", "truth", "events")


def _write_manifest_csv(out_dir: Path, manifest: dict) -> None:
    with open(out_dir / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for entry in manifest.values():
            row = dict(entry)
            row["tags"] = " ".join(entry["tags"])
            row["patterns"] = " ".join(f"{k}={v}" for k, v in sorted(entry["patterns"].items()))
            row["fps"] = f"{entry['fps']:.5f}"
            row["duration_s"] = f"{entry['duration_s']:.2f}"
            w.writerow(row)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m twitchcam.synth.dataset", description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", nargs="?", help="default: ~/.cache/twitchcam/accuracy-v2/GENERATOR-seedN")
    ap.add_argument("--generator", required=True, choices=sorted(GENERATORS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bases", help=f"comma-separated, default all: {','.join(BASES)}")
    ap.add_argument("--duration-scale", type=float, default=1.0, help="shorten or lengthen every base")
    ap.add_argument("--model", help="face_landmarker.task (default: twitchcam's provisioned model)")
    ap.add_argument("--measure", action="store_true", help="also measure MediaPipe's response (slow)")
    args = ap.parse_args(argv)
    bases = args.bases.split(",") if args.bases else None
    clips = build(args.out_dir, args.generator, args.seed, bases, duration_scale=args.duration_scale,
                  model_path=args.model)
    total = sum(c.n_frames / c.fps for c in clips)
    pats = Counter()
    for c in clips:
        pats.update(c.patterns)
        print(f"{c.video}  {c.n_frames} frames @ {c.fps:.3f} fps, face {c.face_height_px:.0f} px, "
              f"{sum(c.patterns.values())} events")
    print(f"{len(clips)} clips, {total / 60:.1f} min, {sum(pats.values())} events: "
          + ", ".join(f"{k} {v}" for k, v in sorted(pats.items())))
    if args.measure:
        from twitchcam.synth.measure import format_table, measure_clips, summarize
        rows = measure_clips(clips, args.model)
        print(format_table(summarize(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
