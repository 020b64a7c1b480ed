"""Where twitchcam keeps things on disk: the one home of every default location.

Recordings: an explicit argument, else ``$TWITCHCAM_RECORDINGS``, else ``recordings/``
beside the package.  Every command (analyze, live, detect, sessions, report, treatment,
demo) asks `recordings_dir` and nothing else, so a session written by one is found by all.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RECORDINGS_ENV = "TWITCHCAM_RECORDINGS"
MODELS_DIR = PROJECT_ROOT / "models"


def recordings_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The recordings folder: `explicit` > $TWITCHCAM_RECORDINGS > recordings/ beside the package."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(RECORDINGS_ENV)
    return Path(env).expanduser() if env else PROJECT_ROOT / "recordings"


def unique_folder(root: Path, stem: str) -> Path:
    """root/stem, or root/stem-2, -3, ... : the first name no folder has yet."""
    folder, k = Path(root) / stem, 2
    while folder.exists():
        folder, k = Path(root) / f"{stem}-{k}", k + 1
    return folder


def session_path(text: str | os.PathLike, recordings: str | os.PathLike | None = None) -> Path:
    """A session given on the command line: a path as given if it exists, else that name
    under the recordings folder (so `twitchcam detect clip` finds recordings/clip)."""
    given = Path(text).expanduser()
    if given.exists() or given.is_absolute():
        return given
    under = recordings_dir(recordings) / given
    return under if under.exists() else given
