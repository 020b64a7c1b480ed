"""Records the real-clip sessions that the fast tests replay (tests/data/real/); run once, commit.

    .venv/bin/python -m tests.record_real [NAME...]

Each clip (CLIPS) is a real face video of twitchcam/synth/videos.py, as it is or with known
one-sided spasms injected, analysed exactly as `twitchcam analyze` does (the MediaPipe model
needed).  For each, tests/data/real/ gets

- NAME.csv (NAME.csv.gz when over 200 KiB): the session's frames.csv without its filt_* columns: the replay's inputs (`frame`,
  `t_s`, the pose, the raw_* features, `dropped`; floats as analyze wrote them, with repr, so
  they are read back bit for bit) and what analyze made of each frame (`valid`, `reason`,
  `closure_left`, `closure_right`);
- NAME.json: how it was made (video and model SHA-256, the injected truth), the session's
  `session.json` fields a replay needs (fps, parameters), and analyze's `events.csv` rows and
  `summary.json` as they were written.

Rerecord only when the landmark or feature stage changes on purpose (then the replay tests say
so); a change after the features must reproduce these recordings as they are.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "real"
# summary.json fields that tell when and with what it ran, not what it found.
VOLATILE = ("versions", "started_at", "ended_at", "source", "source_id")
MAX_PLAIN_BYTES = 200 * 1024


@dataclass(frozen=True)
class Clip:
    video: str  # a name in twitchcam.synth.videos.VIDEOS
    # One-sided spasms to inject: (onset_s, side, kind, intensity, mouth); none: the video as it is.
    inject: tuple = ()
    seed: int = 0
    duration_s: float | None = None  # injected clips: played back and forth to this length
    demo: bool = False  # the sample clip of `twitchcam demo` (twitchcam/synth/demo.py) instead
    note: str = field(default="", compare=False)


CLIPS = {
    "wolfgang": Clip("WolfgangLanger_Pexels.mp4", note="a woman, expressive, natural blinks, 23.976 fps"),
    "injected": Clip("single_face.mp4", ((3.0, "left", "clonic", 1.0, False), (7.0, "right", "tonic", 1.0, False),
                                         (11.5, "left", "clonic", 0.8, True)), seed=3, duration_s=15.0,
                     note="a man, frontal, with three one-sided spasms injected (both sides, one with the mouth)"),
    "demo": Clip("single_face.mp4", demo=True, duration_s=40.0,
                 note="the sample clip of `twitchcam demo`: nine left spasms of every kind injected"),
    "face_noface": Clip("face_noface.mov", note="the face leaves the picture: frames without a face"),
    "carphone": Clip("carphone_pristine.mp4", note="a small, low-resolution talking face in a car"),
    "no_face": Clip("no_face.mp4", note="no face at all"),
}


def drop_filtered(frames_csv: Path) -> bytes:
    """frames.csv without its filt_* columns, every other cell as analyze wrote it."""
    with open(frames_csv, newline="") as f:
        rows = list(csv.reader(f))
    keep = [k for k, name in enumerate(rows[0]) if not name.startswith("filt_")]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([row[k] for k in keep] for row in rows)
    return out.getvalue().encode()


def record(name: str, clip: Clip, model: Path, tmp: Path) -> dict:
    from twitchcam.run.analyze import analyze_file
    from twitchcam.synth import inject as si
    from twitchcam.synth.videos import real_videos
    from twitchcam.video.model import MODEL_SHA256
    from twitchcam.video.wheelfetch import sha256_of

    video = real_videos()[clip.video]
    about = {"name": name, "note": clip.note, "video": clip.video, "video_sha256": sha256_of(video),
             "model_sha256": MODEL_SHA256, "recorded_by": "tests/record_real.py",
             "twitchcam_commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                                cwd=DATA.parent).stdout.strip()}
    if clip.demo:
        from twitchcam.synth.demo import SAMPLE_SEED, sample_clip

        item = sample_clip(model)
        about["injected"] = {"seed": SAMPLE_SEED, "duration_s": clip.duration_s, "truth": si.read_truth(item.truth)}
        video = item.video
    elif clip.inject:
        import numpy as np

        source = si.SourceClip.load(video, model)
        rng = np.random.default_rng(clip.seed)
        events = [si.make_event(rng, *spec) for spec in clip.inject]
        injected = tmp / f"{name}.avi"
        si.inject_video(source, injected, tmp / f"{name}_truth.csv", events, duration_s=clip.duration_s)
        about["injected"] = {"seed": clip.seed, "duration_s": clip.duration_s,
                             "truth": si.read_truth(tmp / f"{name}_truth.csv")}
        video = injected
    folder = tmp / name
    analyze_file(video, folder, model, show_progress=False)
    meta = json.loads((folder / "session.json").read_text())
    summary = json.loads((folder / "summary.json").read_text())
    with open(folder / "events.csv", newline="") as f:
        events = list(csv.DictReader(f))
    table = drop_filtered(folder / "frames.csv")
    for old in DATA.glob(f"{name}.csv*"):
        old.unlink()
    # Plain text where small enough to read in a diff; else gzip (pandas reads either).
    if len(table) <= MAX_PLAIN_BYTES:
        (DATA / f"{name}.csv").write_bytes(table)
    else:
        (DATA / f"{name}.csv.gz").write_bytes(gzip.compress(table, 9, mtime=0))
    recording = {**about, "fps": meta["fps"], "mirrored": meta["mirrored"], "params": meta["params"],
                 "status": meta["status"], "events": events,
                 "summary": {k: v for k, v in summary.items() if k not in VOLATILE}}
    (DATA / f"{name}.json").write_text(json.dumps(recording, indent=1) + "\n")
    return recording


def main(names: list[str]) -> None:
    from twitchcam.video.model import ensure_model

    model = ensure_model()
    DATA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names or CLIPS:
            r = record(name, CLIPS[name], model, Path(tmp))
            kinds = [f"{e['side']} {e['kind']}" for e in r["events"]]
            print(f"{name}: {r['summary']['frames']} frames, {len(kinds)} events: {', '.join(kinds) or 'none'}; "
                  f"{sum(p.stat().st_size for p in DATA.glob(f'{name}.csv*')) // 1024} KiB")


if __name__ == "__main__":
    main(sys.argv[1:])
