"""How twitchcam scales with --jobs: one long video in chunks, and a batch of short videos.

    .venv/bin/python benchmarks/scale_bench.py [--seconds 120] [--short-seconds 30] [--frames-split 600] [--jobs 2]

Prints, in one run: wall time of --jobs 1 vs --jobs N on one ~2-minute video (a test video
played back and forth), two batches of 8 short videos sequential vs --jobs N (30-s videos,
and the test clips as they are, 2-20 s, with the ceiling their start-up cost sets), a batch
of one long and one short video with the long one whole vs cut into chunks, the ratios, peak
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


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak RSS of one process (VmHWM; unlike ru_maxrss it does not inherit the forking parent's)."""
    try:
        for ln in Path(f"/proc/{pid}/status").read_text().splitlines():
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


class ChildPeaks:
    """Polls the peak RSS of this process's children (the workers) while they run."""

    def __init__(self, every_s: float = 0.2):
        import threading

        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._every = every_s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _children(self) -> list[int]:
        me = os.getpid()
        out = []
        for task in Path(f"/proc/{me}/task").iterdir():
            try:
                out += [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                pass
        return out

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            for pid in self._children():
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"spawn_main" in cmd and b"resource_tracker" not in cmd:  # workers only
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), vm_hwm_mb(pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peaks.values(), default=0.0)


def cpu_s() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


# -- one configuration, in its own process ------------------------------------------------------
def run_one(mode: str, jobs: int, inputs: list[str], out: str) -> dict:
    from twitchcam.video.model import ensure_model

    model = ensure_model()
    peaks = ChildPeaks()
    cpu0 = cpu_s()
    t0 = time.perf_counter()
    frames = 0
    if mode == "startup":  # what every process pays before its first frame
        from twitchcam.core.features import FEATURE_COLUMNS
        from twitchcam.core.filters import FeatureFilter
        from twitchcam.run.analyze import analyze_file  # noqa: F401
        from twitchcam.video.landmarks import Landmarker

        FeatureFilter(len(FEATURE_COLUMNS), 30.0)  # the filter design
        with Landmarker(model):
            pass
    elif mode == "single":
        from twitchcam.run.analyze import analyze_file

        summary = analyze_file(Path(inputs[0]), Path(out), model, show_progress=False, overwrite=True)
        frames = summary["frames"]
    elif mode == "chunked":
        from twitchcam.batch.chunks import analyze_chunked

        summary = analyze_chunked(Path(inputs[0]), Path(out), model, jobs=jobs, show_progress=False, overwrite=True)
        frames = summary["frames"]
    elif mode == "seqbatch":
        from twitchcam.run.analyze import analyze_file

        frames = 0
        for k, v in enumerate(inputs):
            frames += analyze_file(Path(v), Path(out) / f"s{k}", model, show_progress=False, overwrite=True)["frames"]
    elif mode in ("batch", "batch-whole"):
        from twitchcam.batch.pool import pool as batch
        from twitchcam.batch.pool import run_batch

        if mode == "batch-whole":  # the batch as before it cut long videos into chunks
            batch.SPLIT_MIN_S = float("inf")
        rows = run_batch([Path(v) for v in inputs], Path(out), model, jobs=jobs, on_row=None)
        assert all(r.status == "complete" for r in rows), rows
        frames = sum(json.loads((Path(r.session) / "summary.json").read_text())["frames"] for r in rows)
    else:
        raise SystemExit(f"unknown mode {mode}")
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "frames": frames, "cpu_s": cpu_s() - cpu0, "rss_self_mb": vm_hwm_mb(),
            "rss_child_mb": peaks.stop(), "workers": len(peaks.peaks)}


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

    from twitchcam.core.anatomy import SIDES
    from twitchcam.core.features import NO_FEATURES, frame_features
    from twitchcam.core.stream import PipelineParams, SignalChain
    from twitchcam.run.session import SessionRecorder
    from twitchcam.store.writer import SessionWriter
    from twitchcam.video.eyes import eye_edge
    from twitchcam.video.landmarks import Landmarker
    from twitchcam.video.model import ensure_model
    from twitchcam.video.pipeline import session_meta

    params = PipelineParams()
    cap = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    fps = cap.get(cv2.CAP_PROP_FPS)
    meta = session_meta(str(video), "bench", fps, False, params)
    writer = SessionWriter(tmp / "split", meta)
    recorder = SessionRecorder(writer, fps, meta)
    acc = {"decode": 0.0, "bgr2rgb": 0.0, "landmarks": 0.0, "rest": 0.0}
    n = 0
    pc = time.perf_counter
    with Landmarker(ensure_model()) as lm:
        chain = SignalChain(fps, params)  # the pipeline's stages one by one, to time each
        while n < max_frames:
            a = pc()
            ok, bgr = cap.read()
            if not ok:
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            b = pc()
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            c = pc()
            face = lm.detect(rgb, t)
            d = pc()
            ff = NO_FEATURES if face is None else frame_features(
                face.points, face.blendshapes, {s: eye_edge(bgr, face.points, s) for s in SIDES})
            recorder.add(chain.process(n, t, ff, None if face is None else face.points))
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
    ap.add_argument("--short-seconds", type=float, default=30.0,
                    help="length of each of the 8 short videos (test clips played back and forth)")
    ap.add_argument("--tail-seconds", type=float, default=180.0,
                    help="the long video of a 2-video batch (cut into chunks or not)")
    ap.add_argument("--frames-split", type=int, default=600, help="frames timed for the per-frame split")
    args = ap.parse_args()
    if args.run:
        print(json.dumps(run_one(args.run, args.jobs, args.inputs, args.out)))
        return 0

    from twitchcam.synth.inject import write_pingpong
    from twitchcam.synth.videos import real_videos

    vids = real_videos()
    tmp = Path(tempfile.mkdtemp(prefix="twitchcam-bench-"))
    try:
        long = tmp / "long.avi"
        n = write_pingpong(vids["WolfgangLanger_Pexels.mp4"], long, args.seconds)
        names = ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov", "noface_face.mov",
                 "no_face.mp4"]
        clips, shorts = [], []  # the test clips as they are (2-20 s); the same faces as --short-seconds videos
        for k in range(8):
            src = vids[names[k % len(names)]]
            clips.append(tmp / "clips" / f"v{k}{src.suffix}")
            shorts.append(tmp / "short" / f"v{k}.avi")
            clips[-1].parent.mkdir(exist_ok=True)
            shorts[-1].parent.mkdir(exist_ok=True)
            shutil.copy(src, clips[-1])
            write_pingpong(src, shorts[-1], args.short_seconds)
        tail = [tmp / "tail.avi", shorts[1]]  # fewer videos than workers could share: one long, one short
        write_pingpong(vids["WolfgangLanger_Pexels.mp4"], tail[0], args.tail_seconds)
        print(f"cpus: {os.cpu_count()}  python {sys.version.split()[0]}  jobs: {args.jobs}  "
              f"load average before: {os.getloadavg()[0]:.1f} (other processes skew wall times)")
        print(f"long video: {n} frames, {args.seconds:.0f} s; batches: 8 videos of {args.short_seconds:.0f} s, "
              f"and the 8 test clips as they are (2-20 s)\n")

        r1 = spawn("single", 1, [long], tmp / "o1")
        rN = spawn("chunked", args.jobs, [long], tmp / "oN")
        b1 = spawn("seqbatch", 1, shorts, tmp / "b1")
        bN = spawn("batch", args.jobs, shorts, tmp / "bN")
        c1 = spawn("seqbatch", 1, clips, tmp / "c1")
        cN = spawn("batch", args.jobs, clips, tmp / "cN")
        start = spawn("startup", 1, [], tmp / "st")
        tw = spawn("batch-whole", args.jobs, tail, tmp / "tw")
        ts = spawn("batch", args.jobs, tail, tmp / "ts")

        def line(label, r):
            workers = (f"{r['workers']} workers, largest {r['rss_child_mb']:4.0f} MB" if r["workers"]
                       else "no workers")
            return (f"{label:<36} {r['wall_s']:6.1f} s {r['frames'] / r['wall_s']:6.1f} fps  CPU {r['cpu_s']:6.1f} s"
                    f"  peak RSS: main {r['rss_self_mb']:4.0f} MB, {workers}")

        print(line("long video  --jobs 1 (analyze_file)", r1))
        print(line(f"long video  --jobs {args.jobs} (chunked)", rN))
        print(f"{'':<36} speed-up x{r1['wall_s'] / rN['wall_s']:.2f}\n")
        for label, seq, par in ((f"8 x {args.short_seconds:.0f} s", b1, bN), ("8 clips", c1, cN)):
            print(line(f"{label:<11} sequential analyze_file", seq))
            print(line(f"{label:<11} --jobs {args.jobs} (run_batch)", par))
            print(f"{'':<36} speed-up x{seq['wall_s'] / par['wall_s']:.2f}\n")
        # Two floors for the batch's wall time on the short clips.  Start-up: every process pays
        # it once, the sequential run once, the batch once per worker (in parallel), so with W
        # seconds of work it cannot end before S + W / jobs.  CPU: one sequential analysis
        # already keeps more than one core busy (MediaPipe's own threads), and the batch cannot
        # end before its CPU time spread over the cores.
        s_up = start["wall_s"]
        work = c1["wall_s"] - s_up
        floor_startup = s_up + work / args.jobs
        floor_cpu = cN["cpu_s"] / min(args.jobs, os.cpu_count() or 1)
        print(f"start-up per process (imports, filter design, landmarker): {s_up:.2f} s; the 8 clips hold "
              f"{work:.1f} s of work.\nFloors for --jobs {args.jobs} on them: start-up {floor_startup:.1f} s "
              f"(x{c1['wall_s'] / floor_startup:.2f}); CPU {cN['cpu_s']:.1f} s over "
              f"{min(args.jobs, os.cpu_count() or 1)} cores {floor_cpu:.1f} s (x{c1['wall_s'] / floor_cpu:.2f}); "
              f"sequential used {c1['cpu_s'] / c1['wall_s']:.2f} cores\n")

        print(line(f"{args.tail_seconds:.0f} s + {args.short_seconds:.0f} s, whole videos", tw))
        print(line(f"{args.tail_seconds:.0f} s + {args.short_seconds:.0f} s, long one in chunks", ts))
        print(f"{'':<36} speed-up x{tw['wall_s'] / ts['wall_s']:.2f} (a batch that would end on one video alone)\n")

        print(f"load average after: {os.getloadavg()[0]:.1f}\n")
        split = cost_split(long, args.frames_split, tmp)
        total = sum(v for k, v in split.items() if k != "frames")
        print(f"per-frame cost, one process, {split['frames']} frames of {long.name} "
              f"({total:.2f} ms/frame = {1000 / total:.0f} fps):")
        for k in ("decode", "bgr2rgb", "landmarks", "rest"):
            print(f"  {k:<10} {split[k]:7.3f} ms  {100 * split[k] / total:5.1f} %")
        print("  (rest = features + filters + detector + session writing: SignalChain.process + SessionRecorder.add)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
