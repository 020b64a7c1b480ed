"""Where twitchcam keeps things on disk: the one home of every default location.

Recordings: an explicit argument, else ``$TWITCHCAM_RECORDINGS``, else ``recordings/``
beside the package.  Every command (analyze, live, detect, sessions, report, treatment,
demo) asks `recordings_dir` and nothing else, so a session written by one is found by all.
"""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Sequence

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


# -- session folder names ----------------------------------------------------------------------
def output_folders(videos: Sequence[str | os.PathLike], root: str | os.PathLike) -> list[Path]:
    """The session folder of each video under `root`, decided over the whole list.

    A video's folder is named after its stem: STEM, else STEM-2, STEM-3, ... .  A name never
    stands for two sessions: a folder holding a session of another file (another video of
    that name, in another directory) is passed over, and so is a name another input of the
    list took.  A folder holding a session of this very file is its folder again (a rerun
    resumes or skips it, see `twitchcam.store.session.finished_session`).
    """
    from twitchcam.store.session import SESSION_FILE, read_meta_or_empty, same_source_path

    root = Path(root)
    taken: set[Path] = set()
    out = []
    for video in map(Path, videos):
        chosen = free = None
        k = 1
        while chosen is None:
            folder = root / (video.stem if k == 1 else f"{video.stem}-{k}")
            k += 1
            if folder in taken:
                continue
            if not (folder / SESSION_FILE).is_file():
                free = free or folder
                if not folder.exists():  # past the names in use: no session of this file further on
                    chosen = free
            elif same_source_path(read_meta_or_empty(folder), video):
                chosen = folder
        taken.add(chosen)
        out.append(chosen)
    return out


def live_folder(root: str | os.PathLike) -> Path:
    """A new live session's folder: <root>/YYYYMMDD-HHMMSS (-2, -3, ... if that exists)."""
    return unique_folder(Path(root), datetime.now().strftime("%Y%m%d-%H%M%S"))
