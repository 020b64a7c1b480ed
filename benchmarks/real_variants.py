"""The real faces without HFS (../shared/real/dev), made harder as other cameras and rooms would.

    .venv/bin/python benchmarks/real_variants.py [--set NAME=VALUE ...]

Each clip is re-encoded eight ways, and `make accuracy`'s real-face row is printed for each way:
- mirror: flipped left to right (the person's sides swap, and so do the winks' labels);
  MediaPipe is not exactly symmetric, so a case on the edge of a rule shows up here;
- half, small: 50 % and 30 % of the size (a face of about 70 px across at 30 %);
- dusk: darker, lower contrast, with sensor noise;
- blur: out of focus and heavily compressed (JPEG quality 25);
- half_fps: every other frame (a 30-fps clip becomes 15 fps; the 12-fps one, 6 fps, is below what
  can show a twitch);
- tilted: the picture turned 20 degrees (a rolled head, a phone held askew);
- backlit: underexposed before a bright window (a dim, low-contrast face, washed-out edges).

The footage is third-party, for evaluation only: the variants are written under
~/.cache/twitchcam (never into the repository) and analysed once; later runs re-detect in seconds.
No rule was tuned on the variants, but they are the dev clips, so this is not held-out evidence:
it shows whether a result on the dev clips holds when the picture changes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import accuracy as A  # noqa: E402

from twitchcam.synth.bases import cache_root  # noqa: E402

SWAP = {"left": "right", "right": "left", "image_left": "image_right", "image_right": "image_left"}


def _even(x: float) -> int:
    return max(2, int(x) // 2 * 2)


def _dusk(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    dark = (frame.astype(np.float32) / 255.0) ** 1.8 * 255.0 * 0.6
    return np.clip(dark + rng.normal(0.0, 6.0, frame.shape), 0, 255).astype(np.uint8)


def _blur(frame: np.ndarray) -> np.ndarray:
    ok, jpeg = cv2.imencode(".jpg", cv2.GaussianBlur(frame, (5, 5), 1.5), [cv2.IMWRITE_JPEG_QUALITY, 25])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


def _scaled(frame: np.ndarray, k: float) -> np.ndarray:
    h, w = frame.shape[:2]
    return cv2.resize(frame, (_even(w * k), _even(h * k)), interpolation=cv2.INTER_AREA)


def _tilted(frame: np.ndarray, degrees: float) -> np.ndarray:
    """The whole picture turned about its centre (a head rolled, or a phone held askew)."""
    h, w = frame.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(frame, turn, (w, h), borderMode=cv2.BORDER_REFLECT)


def _backlit(frame: np.ndarray) -> np.ndarray:
    """A bright window behind the person: the picture underexposed, its edges washed out."""
    h, w = frame.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2)) / np.sqrt(2)
    glow = (255.0 * np.clip(1.6 * r ** 2, 0, 1))[..., None]
    dim = frame.astype(np.float32) * 0.45
    return np.clip(dim + glow * (1 - dim / 255.0), 0, 255).astype(np.uint8)


# Each variant: what it does to a frame, and which frames it keeps (every n-th).
VARIANTS = {
    "mirror": (lambda f, rng: cv2.flip(f, 1), 1),
    "half": (lambda f, rng: _scaled(f, 0.5), 1),
    "small": (lambda f, rng: _scaled(f, 0.3), 1),
    "dusk": (_dusk, 1),
    "blur": (lambda f, rng: _blur(f), 1),
    "half_fps": (lambda f, rng: f, 2),
    "tilted": (lambda f, rng: _tilted(f, 20.0), 1),
    "backlit": (lambda f, rng: _backlit(f), 1),
}


def _labels(lab: dict, variant: str, video: str) -> dict:
    out = {**lab, "video": video}
    if variant == "mirror":
        out["one_sided"] = [{**t, **{k: SWAP.get(t[k], t[k]) for k in ("side", "image_side") if k in t}}
                            for t in lab.get("one_sided", [])]
    return out


def _write(src: Path, variant: str, dest: Path, seed: int) -> None:
    """The variant of one clip, written to `dest` (a temporary name first: a cut-short run leaves none)."""
    rng = np.random.default_rng(seed)
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    change, every = VARIANTS[variant]
    part = dest.with_suffix(".part.mp4")
    writer = None
    k = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if k % every == 0:
                out = change(frame, rng)
                if writer is None:
                    writer = cv2.VideoWriter(str(part), cv2.VideoWriter_fourcc(*"mp4v"), fps / every,
                                             (out.shape[1], out.shape[0]))
                writer.write(out)
            k += 1
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    part.replace(dest)


def build(folder: Path = A.REAL_DEV) -> dict[str, Path]:
    """Each variant's folder of clips and labels (built where missing)."""
    out = {}
    for v, variant in enumerate(VARIANTS):
        target = cache_root() / "real-variants" / variant
        target.mkdir(parents=True, exist_ok=True)
        for n, path in enumerate(sorted(folder.glob("*.labels.json"))):
            lab = json.loads(path.read_text())
            name = f"{Path(lab['video']).stem}.mp4"
            if not (target / name).is_file():
                print(f"  {variant}: {name}", file=sys.stderr, flush=True)
                _write(folder / lab["video"], variant, target / name, seed=100 * v + n)
            (target / path.name).write_text(json.dumps(_labels(lab, variant, name)))
        out[variant] = target
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", default=[], help="detector parameter NAME=VALUE")
    args = ap.parse_args(argv)
    model = A.real_dev_model("real_variants")
    params = A.params_set(args.set)
    print(A.real_row(A.real_counts(model, params), "as recorded"))
    total = None
    for variant, folder in build().items():
        c = A.real_counts(model, params, folder)
        print(A.real_row(c, variant))
        total = c if total is None else {k: total[k] + c[k] for k in c}
    print(A.real_row(total, f"all {len(VARIANTS)} variants"))


if __name__ == "__main__":
    main()
