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
