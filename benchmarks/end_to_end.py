"""End to end, as a user waits for it: issue 11's table, process start to exit.

    .venv/bin/python benchmarks/end_to_end.py [--rounds 3] [--rows analyze,long,batch,live]

Every contender is a fresh process (`python -m twitchcam.cli.main ...` or a bare script);
the contenders of a row run side by side in one run, interleaved in a rotating order, and
the best of `--rounds` is kept, so machine noise hits them alike.  Rows:

  analyze  `twitchcam analyze` on a 40-s 640x360 clip (default --jobs auto, and --jobs 1)
           against a bare script: decode -> RGB -> detect_for_video with 2 faces and
           blendshapes, the naive loop a user would write;
  long     a 2-minute video: --jobs 1 vs --jobs 2 (and the bare script), peak RSS of the
           parent and of each worker, and the chunked run's events against --jobs 1's
           (equal except +-1 frame at a seam);
  batch    8 x 10-s clips: sequential (--jobs 1) vs --jobs 2, peak RSS per worker;
  live     `twitchcam live` on an MJPEG stream: process start -> first analysed frame, and
           how many of the stream's frames were read before the session's first frame.

The load average is printed before and after: other processes skew wall times.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scale_bench import vm_hwm_mb  # noqa: E402


# -- running one contender ------------------------------------------------------------------------
def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


class Run:
    """One process (and its workers): wall time from start to exit, peak RSS of each."""

    def __init__(self, argv: list[str], env: dict):
        self.argv = argv
        self.peaks: dict[int, float] = {}
        self.kinds: dict[int, str] = {}
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        done = threading.Event()
        sampler = threading.Thread(target=self._sample, args=(done,), daemon=True)
        sampler.start()
        self.stdout, self.stderr = self.proc.communicate()
        self.wall_s = time.perf_counter() - t0
        done.set()
        sampler.join()
        if self.proc.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, argv))} failed ({self.proc.returncode}):\n{self.stderr[-2000:]}")

    def _sample(self, done: threading.Event) -> None:
        while not done.wait(0.1):
            for pid in [self.proc.pid] + _descendants(self.proc.pid):
                if pid not in self.kinds:
                    try:
                        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                    except OSError:
                        continue
                    self.kinds[pid] = ("tracker" if b"resource_tracker" in cmd else
                                       "worker" if b"spawn_main" in cmd else "main")
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), vm_hwm_mb(pid))

    def rss(self, kind: str) -> list[float]:
        return [mb for pid, mb in self.peaks.items() if self.kinds.get(pid) == kind]


def interleaved(contenders: dict[str, callable], rounds: int) -> dict[str, list[Run]]:
    """Run every contender `rounds` times, in a rotating order."""
    names = list(contenders)
    out: dict[str, list[Run]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            out[name].append(contenders[name](r))
    return out


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.wall_s)


def walls(runs: list[Run]) -> str:
    return " ".join(f"{run.wall_s:.1f}" for run in runs)


# -- rows ------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, tmp: Path, rounds: int):
        from twitchcam.video.model import ensure_model

        self.tmp, self.rounds = tmp, rounds
        self.model = ensure_model()
        self.env = {**os.environ, "TWITCHCAM_MODEL": str(self.model), "PYTHONPATH": str(ROOT)}
        self.env.pop("DISPLAY", None)
        self.bare_script = Path(__file__).resolve().parent / "bare_loop.py"

    def bare(self, video: Path) -> Run:
        return Run([sys.executable, str(self.bare_script), str(video), str(self.model)], self.env)

    def analyze(self, inputs: list[Path] | Path, out: Path, *extra: str) -> Run:
        shutil.rmtree(out, ignore_errors=True)
        inputs = inputs if isinstance(inputs, list) else [inputs]
        return Run([sys.executable, "-m", "twitchcam.cli.main", "analyze", *map(str, inputs), "--out", str(out),
                    *extra], self.env)

    def row_analyze(self, clip: Path) -> None:
        runs = interleaved({
            "bare": lambda r: self.bare(clip),
            "auto": lambda r: self.analyze(clip, self.tmp / "a-auto"),
            "one": lambda r: self.analyze(clip, self.tmp / "a-one", "--jobs", "1"),
        }, self.rounds)
        b, a, o = (best(runs[k]).wall_s for k in ("bare", "auto", "one"))
        chunks = "in chunks" if "time chunks" in best(runs["auto"]).stderr else "one process"
        print(f"analyze, 40-s 640x360 clip, process start to exit (best of {self.rounds}; all runs: "
              f"bare {walls(runs['bare'])} | auto {walls(runs['auto'])} | --jobs 1 {walls(runs['one'])} s)")
        print(f"  bare loop (2 faces + blendshapes) {b:6.2f} s")
        print(f"  twitchcam analyze (--jobs auto: {chunks}) {a:6.2f} s = {a / b:.2f} x the bare loop's time"
              f"   (target <= 0.95)")
        print(f"  twitchcam analyze --jobs 1              {o:6.2f} s = {o / b:.2f} x")

    def row_long(self, video: Path) -> None:
        runs = interleaved({
            "bare": lambda r: self.bare(video),
            "one": lambda r: self.analyze(video, self.tmp / "l-one", "--jobs", "1"),
            "two": lambda r: self.analyze(video, self.tmp / "l-two", "--jobs", "2"),
        }, self.rounds)
        b, o, t = (best(runs[k]) for k in ("bare", "one", "two"))
        print(f"\n2-minute video (best of {self.rounds}; all runs: bare {walls(runs['bare'])} | --jobs 1 "
              f"{walls(runs['one'])} | --jobs 2 {walls(runs['two'])} s)")
        print(f"  bare loop {b.wall_s:6.2f} s   --jobs 1 {o.wall_s:6.2f} s   --jobs 2 {t.wall_s:6.2f} s")
        print(f"  --jobs 2 speed-up x{o.wall_s / t.wall_s:.2f} (target >= 1.9)   --jobs 2 = {t.wall_s / b.wall_s:.2f} x "
              f"the bare loop's time (target <= 0.6)")
        rss_main = max(max(r.rss("main"), default=0) for r in runs["two"])
        rss_work = max(max(r.rss("worker"), default=0) for r in runs["two"])
        print(f"  peak RSS --jobs 2: parent (analyses the first chunk) {rss_main:.0f} MB, largest worker {rss_work:.0f} MB"
              f" (target <= 300); --jobs 1 process {max(max(r.rss('main'), default=0) for r in runs['one']):.0f} MB")
        print(f"  events: {compare_events(self.tmp / 'l-one', self.tmp / 'l-two')}")

    def row_batch(self, clips: list[Path]) -> None:
        runs = interleaved({
            "seq": lambda r: self.analyze(clips, self.tmp / "b-seq", "--jobs", "1"),
            "par": lambda r: self.analyze(clips, self.tmp / "b-par", "--jobs", "2"),
        }, self.rounds)
        s, p = best(runs["seq"]), best(runs["par"])
        rss = max(max(r.rss("worker"), default=0) for r in runs["par"])
        print(f"\nbatch of {len(clips)} x 10-s clips (best of {self.rounds}; all runs: sequential "
              f"{walls(runs['seq'])} | --jobs 2 {walls(runs['par'])} s)")
        print(f"  sequential {s.wall_s:6.2f} s   --jobs 2 {p.wall_s:6.2f} s   speed-up x{s.wall_s / p.wall_s:.2f} "
              f"(target >= 1.8)   largest worker {rss:.0f} MB")

    def row_live(self, rounds: int) -> None:
        import cv2

        from tests.mjpeg_server import MjpegServer, encode_video
        from twitchcam.synth.videos import real_videos

        jpegs, fps = encode_video(real_videos()["WolfgangLanger_Pexels.mp4"], quality=92)
        served = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR).astype(np.float32) for j in jpegs[:120]]
        results = []
        for r in range(rounds):
            out = self.tmp / f"live{r}"
            shutil.rmtree(out, ignore_errors=True)
            with MjpegServer(jpegs, fps, loop=True) as server:
                Run([sys.executable, "-m", "twitchcam.cli.main", "live", "--source", server.url, "--no-display",
                           "--duration", "6", "--out", str(out), "--record-video", "--status-every", "60"], self.env)
                sent = server.sent
            live = json.loads((out / "summary.json").read_text())["live"]
            first = cv2.VideoCapture(str(out / "video.avi")).read()[1].astype(np.float32)
            before = int(np.argmin([np.abs(first - f).mean() for f in served]))
            results.append((live["first_result_s"], before, live, sent))
        startup = [x[0] for x in results]
        print(f"\nlive on an MJPEG stream ({fps:.0f} fps), {rounds} runs:")
        print(f"  process start -> first analysed frame: best {min(startup):.2f} s, all "
              f"{' '.join(f'{x:.2f}' for x in startup)} (target <= 1.5 s)")
        print(f"  stream frames read before the session's first frame: {' '.join(str(x[1]) for x in results)} "
              f"(target 0)")
        for _, _, live, sent in results:
            print(f"    captured {live['captured_frames']} = analysed {live['processed_frames']} + dropped "
                  f"{live['dropped_frames']} (counted); the server sent {sent}; measured {live['measured_fps']} fps")


def compare_events(seq: Path, par: Path) -> str:
    """The chunked session's events against the sequential one's."""
    from twitchcam.store.reader import read_events

    a, b = read_events(seq), read_events(par)
    meta = json.loads((par / "session.json").read_text())
    seams = [c[0] for c in meta.get("parallel", {}).get("chunks", [])[1:]]
    fps = json.loads((seq / "summary.json").read_text()).get("fps") or meta["fps"]
    if len(a) != len(b):
        return f"DIFFERENT: {len(a)} events sequential, {len(b)} chunked"
    moved = 0
    for x, y in zip(a, b):
        if x.key() == y.key():
            continue
        near = any(abs(x.onset_s - s) < 3 or abs(x.offset_s - s) < 3 for s in seams)
        if (x.side, x.kind) != (y.side, y.kind) or abs(x.onset_s - y.onset_s) > 1.0 / fps + 1e-9 or not near:
            return f"DIFFERENT: {x} vs {y}"
        moved += 1
    return (f"{len(a)} events, identical" if not moved else
            f"{len(a)} events, identical except {moved} moved by one frame at a seam")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", default="analyze,long,batch,live")
    args = ap.parse_args()
    rows = set(args.rows.split(","))

    from twitchcam.synth.inject import write_pingpong
    from twitchcam.synth.videos import real_videos

    vids = real_videos()
    tmp = Path(tempfile.mkdtemp(prefix="twitchcam-e2e-"))
    try:
        bench = Bench(tmp, args.rounds)
        print(f"cpus usable {len(os.sched_getaffinity(0))}, load average before {os.getloadavg()[0]:.1f} "
              f"(other processes skew wall times; ratios are side by side, interleaved)\n")
        if "analyze" in rows:
            clip = tmp / "clip40.avi"
            write_pingpong(vids["WolfgangLanger_Pexels.mp4"], clip, 40.0)
            bench.row_analyze(clip)
        if "long" in rows:
            long = tmp / "long120.avi"
            write_pingpong(vids["WolfgangLanger_Pexels.mp4"], long, 120.0)
            bench.row_long(long)
        if "batch" in rows:
            names = ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov", "noface_face.mov",
                     "no_face.mp4"]
            clips = []
            for k in range(8):
                clips.append(tmp / "clips" / f"v{k}.avi")
                clips[-1].parent.mkdir(exist_ok=True)
                write_pingpong(vids[names[k % len(names)]], clips[-1], 10.0)
            bench.row_batch(clips)
        if "live" in rows:
            bench.row_live(args.rounds)
        print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
