"""PNG crops of built clips, to look at what a generator did (clean above, injected below).

    python -m twitchcam.synth.preview DIR [--out PNG_DIR] [--scale 3]

For each clip and pattern, the first event's peak frame: both eyes of the clean twin over
the same frame of the injected video, enlarged with nearest-neighbour pixels.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from twitchcam.core.anatomy import LOWER_LID, SIDES, UPPER_LID
from twitchcam.synth import profiles
from twitchcam.synth.inject import frame_times


def read_frame(video: Path, k: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, k)
        ok, fr = cap.read()
        if not ok:
            raise ValueError(f"no frame {k} in {video}")
        return fr
    finally:
        cap.release()


def eyes_box(points: np.ndarray, shape, margin: float = 0.6) -> tuple[int, int, int, int]:
    idx = [i for s in SIDES for i in UPPER_LID[s] + LOWER_LID[s]]
    p = points[idx, :2]
    lo, hi = p.min(axis=0), p.max(axis=0)
    w = hi[0] - lo[0]
    x0, x1 = lo[0] - 0.15 * w, hi[0] + 0.15 * w
    y0, y1 = lo[1] - margin * 0.5 * w, hi[1] + 0.2 * w
    h, wd = shape[:2]
    return int(max(x0, 0)), int(max(y0, 0)), int(min(x1, wd)), int(min(y1, h))


def crop_pair(clean: np.ndarray, injected: np.ndarray, points: np.ndarray, scale: int = 3) -> np.ndarray:
    x0, y0, x1, y1 = eyes_box(points, clean.shape)
    sc = max(1, int(round(scale * 300 / max(x1 - x0, 1))))
    tiles = [cv2.resize(f[y0:y1, x0:x1], None, fx=sc, fy=sc, interpolation=cv2.INTER_NEAREST)
             for f in (clean, injected)]
    return np.vstack([tiles[0], np.zeros((2, tiles[0].shape[1], 3), np.uint8), tiles[1]])


def preview_dir(out_dir: str | Path, png_dir: str | Path | None = None, scale: int = 1) -> list[Path]:
    out_dir = Path(out_dir)
    png_dir = Path(png_dir) if png_dir else out_dir / "preview"
    png_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, entry in json.loads((out_dir / "manifest.json").read_text()).items():
        events = profiles.load_events(out_dir / entry["events"])
        with np.load(out_dir / entry["base_npz"]) as z:
            index, landmarks = z["index"], z["landmarks"]
        t = frame_times(entry["n_frames"], entry["fps"])
        seen = set()
        for ev in events:
            key = (ev.pattern, ev.intensity == 1.0)
            if key in seen:
                continue
            seen.add(key)
            k = int(np.argmax(ev.level(t)))
            pts = landmarks[index[k]]
            if not np.isfinite(pts).all():
                continue
            img = crop_pair(read_frame(out_dir / entry["clean"], k), read_frame(out_dir / entry["video"], k), pts, scale)
            path = png_dir / f"{stem}_{ev.pattern}_{ev.side}_i{ev.intensity:.2f}_t{t[k]:.2f}.png"
            cv2.imwrite(str(path), img)
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m twitchcam.synth.preview", description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--out")
    ap.add_argument("--scale", type=int, default=1)
    args = ap.parse_args(argv)
    for p in preview_dir(args.dir, args.out, args.scale):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
