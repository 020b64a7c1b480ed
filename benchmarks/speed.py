"""Speed benchmark: prints numbers, run on purpose (`make bench`), never part of the tests.

All comparisons are ratios measured side by side in one run, alternating the contenders
so machine noise hits both alike (best of 3).  In this process, start-up excluded (see
benchmarks/end_to_end.py for process start to exit):
  1. analyze_file vs a bare loop (decode -> RGB -> detect_for_video, 2 faces + blendshapes)
     on the same real video;
  2. the landmarker alone on the same frames in memory: num_faces 1 / 2, with and without
     blendshapes, and twitchcam's Landmarker (one face while tracking steadily) against
     asking for two faces on every frame;
  3. the streaming detector's cost per frame;
  4. the filters' cost per frame: one frame at a time (live, analyze: SciPy's sosfilt on a
     block of one, with its state) against the whole recording at once (detect: one sosfilt
     call), and the whole chain (validity, filters, detector) the same two ways;
  5. `detect` re-analysis speed over one simulated hour (filters + detector), in process (read
     that hour's frames.csv, detect, write), and the command from process start to exit, with
     what its imports cost;
  6. peak Python memory of the pipeline bookkeeping for a short vs a 4x longer input.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bare_loop import landmarker as mediapipe_landmarker  # noqa: E402
from bare_loop import run as bare_loop

from twitchcam.core.detector import StreamingDetector  # noqa: E402
from twitchcam.core.features import FEATURE_COLUMNS  # noqa: E402
from twitchcam.core.simulate import simulate  # noqa: E402
from twitchcam.core.stream import detect_features  # noqa: E402
from twitchcam.run.analyze import analyze_file  # noqa: E402
from twitchcam.run.detect import redetect  # noqa: E402
from twitchcam.store.writer import SessionWriter
from twitchcam.synth.videos import real_videos  # noqa: E402
from twitchcam.video.landmarks import Landmarker  # noqa: E402
from twitchcam.video.model import ensure_model  # noqa: E402


def bench_analyze(model: Path, rounds: int = 3) -> None:
    video = real_videos()["WolfgangLanger_Pexels.mp4"]
    bare, full = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(rounds):
            for which in (("bare", "full") if k % 2 == 0 else ("full", "bare")):
                t0 = time.perf_counter()
                if which == "bare":
                    n = bare_loop(video, model)
                    bare.append(time.perf_counter() - t0)
                else:
                    analyze_file(video, Path(tmp) / f"s{k}", model, show_progress=False)
                    full.append(time.perf_counter() - t0)
    b, f = min(bare), min(full)
    print(f"analyze_file vs bare loop, in process ({video.name}, {n} frames, best of {rounds}):")
    print(f"  bare loop {n / b:7.1f} fps   analyze {n / f:7.1f} fps   analyze speed = {b / f:.3f} x the bare loop's"
          f"   (target >= 0.95)")


def bench_landmarker(model: Path, rounds: int = 3, max_frames: int = 600) -> None:
    """The landmarker alone, on the same decoded frames in memory (decoding excluded)."""
    import mediapipe as mp

    cap = cv2.VideoCapture(str(real_videos()["WolfgangLanger_Pexels.mp4"]))
    frames = []
    while len(frames) < max_frames:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    step_ms = 1000.0 / (cap.get(cv2.CAP_PROP_FPS) or 30.0)

    def plain(num_faces: int, blendshapes: bool) -> float:
        lm = mediapipe_landmarker(model, num_faces, blendshapes)
        try:
            t0 = time.perf_counter()
            for k, rgb in enumerate(frames):
                lm.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), int(k * step_ms))
            return time.perf_counter() - t0
        finally:
            lm.close()

    def ours(steady_faces: int) -> tuple[float, dict]:
        with Landmarker(model, steady_faces=steady_faces) as lm:
            t0 = time.perf_counter()
            for k, rgb in enumerate(frames):
                lm.detect(rgb, k * step_ms / 1000.0)
            return time.perf_counter() - t0, lm.calls

    configs = [("plain", 1, False), ("plain", 1, True), ("plain", 2, False), ("plain", 2, True),
               ("ours", 2, None), ("ours", 1, None)]
    best = {c: np.inf for c in configs}
    calls = {}
    for r in range(rounds):
        for c in configs[r % len(configs):] + configs[:r % len(configs)]:
            if c[0] == "plain":
                best[c] = min(best[c], plain(c[1], c[2]))
            else:
                dt, calls[c[1]] = ours(c[1])
                best[c] = min(best[c], dt)
    ms = {c: 1000.0 * v / len(frames) for c, v in best.items()}
    print(f"landmarker alone, {len(frames)} frames in memory, ms per frame (best of {rounds}):")
    print(f"  {'':<14}{'no blendshapes':>16}{'blendshapes':>14}")
    for n in (1, 2):
        print(f"  num_faces={n:<4}{ms[('plain', n, False)]:16.2f}{ms[('plain', n, True)]:14.2f}")
    two, adaptive = ms[("ours", 2, None)], ms[("ours", 1, None)]
    print(f"  twitchcam Landmarker: two faces every frame {two:.2f}, one face while tracking steadily "
          f"{adaptive:.2f} ({100 * (1 - adaptive / two):.0f} % less; inferences {calls[1]})")


def bench_detector() -> None:
    """The streaming detector alone, on the filtered inputs the chain would give it."""
    from twitchcam.core.stream import SignalChain, detector_inputs

    sim = simulate(600, 30.0, 1, sides=("left", "right"), lead_share=0.3)
    chain = SignalChain(30.0)
    filt = chain.filter.process(sim.features(), sim.valid)
    eye, mouth = detector_inputs(filt)
    eyes = [(tuple(a), tuple(b)) for a, b in zip(eye[:, 0].tolist(), eye[:, 1].tolist())]
    mouths = [tuple(m) for m in mouth.tolist()]
    t = sim.t.tolist()
    valid = sim.valid.tolist()
    yaw = (8.0 * np.sin(sim.t / 3.0)).tolist()  # a head that keeps turning
    best = np.inf
    for _ in range(3):
        det = StreamingDetector(30.0)
        t0 = time.perf_counter()
        for i in range(len(t)):
            det.update(t[i], valid[i], eyes[i], mouths[i], yaw[i])
        best = min(best, (time.perf_counter() - t0) / len(t))
    print(f"streaming detector: {best * 1e6:.1f} us/frame over {len(t)} frames (target <= 15 us)")


def bench_filters(rounds: int = 3) -> None:
    """Filters and chain frame by frame against the same frames as one block (best of `rounds`,
    alternating), on ten simulated minutes with landmark jitter."""
    from twitchcam.core.features import FrameFeatures
    from twitchcam.core.stream import SignalChain

    sim = simulate(600, 30.0, 1, sides=("left", "right"), dropouts=4, lead_share=0.3)
    raw, pose, n = _jittered(sim), sim.pose(), sim.t.size
    rows = [(raw[i:i + 1], sim.valid[i:i + 1]) for i in range(n)]
    frames = [FrameFeatures(bool(sim.valid[i]), tuple(pose[i]), raw[i]) for i in range(n)]
    t = sim.t.tolist()

    def filters_per_frame():
        f = SignalChain(30.0).filter
        for x, ok in rows:
            f.process(x, ok)

    def chain_per_frame():
        chain = SignalChain(30.0)
        for i in range(n):
            chain.process(i, t[i], frames[i])

    contenders = {"filters, frame by frame": filters_per_frame,
                  "filters, one block": lambda: SignalChain(30.0).filter.process(raw, sim.valid),
                  "chain, frame by frame": chain_per_frame,
                  "chain, one block": lambda: SignalChain(30.0).run(sim.t, pose, raw)}
    best = {k: np.inf for k in contenders}
    for r in range(rounds):
        for k in (list(contenders) if r % 2 == 0 else list(contenders)[::-1]):
            t0 = time.perf_counter()
            contenders[k]()
            best[k] = min(best[k], time.perf_counter() - t0)
    us = {k: 1e6 * v / n for k, v in best.items()}
    print(f"filters and chain per frame, {n} frames (best of {rounds}):")
    for what in ("filters", "chain"):
        one, block = us[f"{what}, frame by frame"], us[f"{what}, one block"]
        print(f"  {what:<8} frame by frame {one:6.1f} us/frame   one block {block:6.2f} us/frame   "
              f"block = {one / block:5.1f} x faster")


def _jittered(sim) -> np.ndarray:
    """The simulation's features, with landmark-like jitter on the smoothed ones, NaN where no face."""
    raw = sim.features()
    rng = np.random.default_rng(0)
    for name, level in (("brow", 0.6), ("cheek", -1.0), ("squint", 0.2)):  # jitter like real landmarks
        for side in ("left", "right"):
            raw[:, FEATURE_COLUMNS.index(f"{name}_{side}")] = level + rng.normal(0, 0.01, sim.t.size)
    raw[~sim.valid] = np.nan
    return raw


def bench_detect() -> None:
    """`twitchcam detect` over one simulated hour: the chain alone, and end to end
    (read frames.csv, validity, filters, detector, write events and summary)."""
    sim = simulate(3600, 30.0, 2, sides=("left", "right"), dropouts=20, lead_share=0.3)
    n = sim.t.size
    raw, pose = _jittered(sim), sim.pose()
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        result = detect_features(sim.t, pose, raw, 30.0)
        best = min(best, time.perf_counter() - t0)
    print(f"detect over 1 h at 30 fps ({n} frames, {len(result.events)} events): validity + filters + detector "
          f"{best:.3f} s = {n / best:,.0f} frames/s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        w = SessionWriter(folder, {"fps": 30.0, "params": {}})
        for i in range(n):  # every column filled, so the file is as large as a real one
            w.frame(i, sim.t[i], result.valid[i], result.reason[i], pose[i], raw[i], result.filt[i],
                    result.closure[i])
        w.close("complete", None)
        size = (folder / "frames.csv").stat().st_size
        best = np.inf
        for k in range(3):
            t0 = time.perf_counter()
            redetect(folder, Path(tmp) / f"d{k}", lambda p: p)
            best = min(best, time.perf_counter() - t0)
        print(f"  in process, `twitchcam detect`'s work on that hour's session ({size / 1e6:.0f} MB frames.csv, "
              f"read + detect + write, best of 3): {best:.2f} s (target <= 1.5 s)")
        _bench_detect_command(folder, Path(tmp))


def _wall(argv: list[str], rounds: int = 3) -> float:
    """The best wall time of a command, process start to exit."""
    best = np.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best


def _bench_detect_command(folder: Path, tmp: Path) -> None:
    """The `twitchcam detect` command on the hour's session, process start to exit, and what its
    imports alone cost (a fresh interpreter importing each, less one importing nothing)."""
    py = sys.executable
    command = _wall([py, "-m", "twitchcam", "detect", str(folder), "--out", str(tmp / "cmd")])
    bare = _wall([py, "-c", "pass"])
    imports = {name: _wall([py, "-c", f"import {name}"]) - bare
               for name in ("twitchcam.cli.main", "pandas", "scipy.signal")}
    print(f"  the command, process start to exit (best of 3): {command:.2f} s, of which importing "
          + ", ".join(f"{name} {cost:.2f} s" for name, cost in imports.items()))


def bench_memory(model: Path) -> None:
    """Peak traced Python memory of analyze for 1x and 4x the same footage."""
    from twitchcam.synth.inject import decode_video, pingpong, write_video
    frames, fps = decode_video(real_videos()["single_face.mp4"])
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for reps in (4, 16):
            video = Path(tmp) / f"v{reps}.avi"
            write_video(video, pingpong(list(frames), reps), fps)
            tracemalloc.start()
            analyze_file(video, Path(tmp) / f"s{reps}", model, show_progress=False)
            out.append((reps * len(frames), tracemalloc.get_traced_memory()[1] / 1e6))
            tracemalloc.stop()
    print("peak traced Python memory of analyze: " + ", ".join(f"{n} frames {mb:.1f} MB" for n, mb in out))


if __name__ == "__main__":
    model = ensure_model()
    bench_detector()
    bench_filters()
    bench_detect()
    bench_analyze(model)
    bench_landmarker(model)
    bench_memory(model)
