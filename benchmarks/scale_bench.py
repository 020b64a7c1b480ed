"""How twitchcam scales with --jobs: one long video in chunks, and a batch of short videos.

    .venv/bin/python benchmarks/scale_bench.py [--seconds 120] [--frames-split 600] [--jobs 2]

Prints, in one run: wall time of --jobs 1 vs --jobs N on one ~2-minute video (a test video
played back and forth), a batch of 8 short videos sequential vs --jobs N, the ratios, peak
RSS of the parent and of the largest worker, and the per-frame cost split (decode,
BGR->RGB, landmarks, the rest: features + filters + detector + writing).

Every configuration runs in a fresh Python process so peak RSS figures do not mix.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_long_video(src: Path, dst: Path, seconds: float) -> int:
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    cycle = frames + frames[-2:0:-1]
    n = int(seconds * fps)
    for k in range(n):
        out.write(cycle[k % len(cycle)])
    out.release()
    return n


# -- one configuration, in its own process ------------------------------------------------------
def run_one(mode: str, jobs: int, inputs: list[str], out: str) -> dict:
    from twitchcam.model import ensure_model

    model = ensure_model()
    t0 = time.perf_counter()
    if mode == "single":
        from twitchcam.analyze import analyze_file

        summary = analyze_file(Path(inputs[0]), Path(out), model, show_progress=False)
        frames = summary["frames"]
    elif mode == "chunked":
        from twitchcam.chunked import analyze_chunked

        summary = analyze_chunked(Path(inputs[0]), Path(out), model, jobs=jobs, show_progress=False)
        frames = summary["frames"]
    elif mode == "seqbatch":
        from twitchcam.analyze import analyze_file

        frames = 0
        for k, v in enumerate(inputs):
            frames += analyze_file(Path(v), Path(out) / f"s{k}", model, show_progress=False)["frames"]
    elif mode == "batch":
        from twitchcam.batch import run_batch

        rows = run_batch([Path(v) for v in inputs], Path(out), model, jobs=jobs, on_row=None)
        assert all(r.status == "complete" for r in rows), rows
        frames = sum(json.loads((Path(r.session) / "summary.json").read_text())["frames"] for r in rows)
    else:
        raise SystemExit(f"unknown mode {mode}")
    wall = time.perf_counter() - t0
    kib = 1  # Linux ru_maxrss is in KiB
    return {"wall_s": wall, "frames": frames,
            "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib / 1024,
            "rss_child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib / 1024}


def spawn(mode: str, jobs: int, inputs: list[Path], out: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--run", mode, "--jobs", str(jobs), "--out", str(out),
                           *map(str, inputs)], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_wall_s"] = time.perf_counter() - t0  # including interpreter start and imports
    return res


# -- per-frame cost split -------------------------------------------------------------------------
def cost_split(video: Path, max_frames: int, tmp: Path) -> dict:
    import cv2
    import numpy as np

    from twitchcam.detector import StreamingDetector
    from twitchcam.features import FEATURE_COLUMNS, frame_features
    from twitchcam.filters import FeatureFilter
    from twitchcam.landmarks import Landmarker
    from twitchcam.model import ensure_model
    from twitchcam.pipeline import PipelineParams, detector_inputs, session_meta
    from twitchcam.session import SessionWriter

    params = PipelineParams()
    cap = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = SessionWriter(tmp / "split", session_meta(str(video), "bench", fps, False, params))
    filt = FeatureFilter(len(FEATURE_COLUMNS), fps, params.filters)
    det = StreamingDetector(fps, params.detector, input_lag_s=filt.delay_s)
    acc = {"decode": 0.0, "bgr2rgb": 0.0, "landmarks": 0.0, "rest": 0.0}
    n = 0
    pc = time.perf_counter
    with Landmarker(ensure_model()) as lm:
        while n < max_frames:
            a = pc()
            ok, bgr = cap.read()
            if not ok:
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            b = pc()
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            c = pc()
            points = lm.detect(rgb, t)
            d = pc()
            ff = frame_features(points, params.features)
            f = filt.process(ff.values[None, :], np.array([ff.valid]))[0]
            eye, mouth = detector_inputs(f)
            det.update(t, ff.valid, (eye[0], eye[1]), (mouth[0], mouth[1]))
            writer.frame(n, t, ff.valid, ff.reason, ff.pose, ff.values, f, det.closure)
            e = pc()
            if n >= 5:  # skip start-up (model warm-up on the first inference)
                acc["decode"] += b - a
                acc["bgr2rgb"] += c - b
                acc["landmarks"] += d - c
                acc["rest"] += e - d
            n += 1
    writer.close("complete", None)
    cap.release()
    counted = max(n - 5, 1)
    return {k: 1000.0 * v / counted for k, v in acc.items()} | {"frames": counted}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("inputs", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=120.0, help="length of the long test video")
    ap.add_argument("--frames-split", type=int, default=600, help="frames timed for the per-frame split")
    args = ap.parse_args()
    if args.run:
        print(json.dumps(run_one(args.run, args.jobs, args.inputs, args.out)))
        return 0

    from tests.data import test_videos

    vids = test_videos()
    tmp = Path(tempfile.mkdtemp(prefix="twitchcam-bench-"))
    try:
        long = tmp / "long.avi"
        n = make_long_video(vids["WolfgangLanger_Pexels.mp4"], long, args.seconds)
        shorts = []
        names = ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov", "noface_face.mov",
                 "no_face.mp4"]
        for k in range(8):
            src = vids[names[k % len(names)]]
            dst = tmp / "short" / f"v{k}{src.suffix}"
            dst.parent.mkdir(exist_ok=True)
            shutil.copy(src, dst)
            shorts.append(dst)
        print(f"cpus: {os.cpu_count()}  python {sys.version.split()[0]}  jobs: {args.jobs}")
        print(f"long video: {n} frames, {args.seconds:.0f} s; batch: 8 short videos\n")

        r1 = spawn("single", 1, [long], tmp / "o1")
        rN = spawn("chunked", args.jobs, [long], tmp / "oN")
        b1 = spawn("seqbatch", 1, shorts, tmp / "b1")
        bN = spawn("batch", args.jobs, shorts, tmp / "bN")

        def line(label, r):
            return (f"{label:<34} {r['wall_s']:7.1f} s {r['frames'] / r['wall_s']:7.1f} fps "
                    f"(process {r['process_wall_s']:5.1f} s)  peak RSS parent {r['rss_self_mb']:6.0f} MB, "
                    f"largest worker {r['rss_child_mb']:6.0f} MB")

        print(line("long video  --jobs 1 (analyze_file)", r1))
        print(line(f"long video  --jobs {args.jobs} (chunked)", rN))
        print(f"{'':<34} speed-up x{r1['wall_s'] / rN['wall_s']:.2f}\n")
        print(line("8 short     sequential analyze_file", b1))
        print(line(f"8 short     --jobs {args.jobs} (run_batch)", bN))
        print(f"{'':<34} speed-up x{b1['wall_s'] / bN['wall_s']:.2f}\n")

        split = cost_split(long, args.frames_split, tmp)
        total = sum(v for k, v in split.items() if k != "frames")
        print(f"per-frame cost, one process, {split['frames']} frames of {long.name} "
              f"({total:.2f} ms/frame = {1000 / total:.0f} fps):")
        for k in ("decode", "bgr2rgb", "landmarks", "rest"):
            print(f"  {k:<10} {split[k]:7.3f} ms  {100 * split[k] / total:5.1f} %")
        print("  (rest = features + filters + detector + frames.csv row)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
