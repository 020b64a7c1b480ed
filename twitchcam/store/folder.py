"""A session folder's place among the recordings: which folder may hold a new session, and
removing a session (its files, nothing else the folder holds)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from twitchcam.errors import TwitchcamError
from twitchcam.store.atomic import unlink_link
from twitchcam.store.reader import read_meta_or_empty
from twitchcam.store.session import DETECT_DIR, SESSION_FILE, SESSION_FILES


def check_session_folder(folder: Path, overwrite: bool = False, recordings: Path | None = None) -> None:
    """Refuse, in one line, a folder a new session must not be written into.

    A folder already holding a session is refused unless `overwrite`; the recordings
    folder itself, or any folder holding other sessions, always (the new session would
    hide them from `sessions` and `report`).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise TwitchcamError(f"{folder} is a file, not a session folder")
    if recordings is not None and _same_dir(folder, Path(recordings)):
        raise TwitchcamError(f"{folder} is the recordings folder itself; a session needs a folder of its own "
                             f"(leave out --out, or give a new folder inside it)")
    if folder.is_dir() and any((sub / SESSION_FILE).is_file() for sub in _subdirs(folder)):
        raise TwitchcamError(f"{folder} holds other sessions; a session needs a folder of its own")
    if (folder / SESSION_FILE).is_file() and not overwrite:
        status = read_meta_or_empty(folder).get("status") or "unknown"
        raise TwitchcamError(f"{folder} already holds a session (status {status}); choose another folder, "
                             f"or --overwrite to replace it")


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _subdirs(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder) if e.is_dir() and e.name != DETECT_DIR]
    except OSError:
        return []


def remove_session(folder: Path) -> None:
    """Remove every file of the session in `folder` (SESSION_FILES, detect/, temporary
    files), and nothing else the folder holds."""
    folder = Path(folder)
    for name in SESSION_FILES:
        (folder / name).unlink(missing_ok=True)
        (folder / (name + ".tmp")).unlink(missing_ok=True)
    unlink_link(folder / DETECT_DIR)  # a link is removed, never what it points to
    shutil.rmtree(folder / DETECT_DIR, ignore_errors=True)


def is_session_dir(path: Path) -> bool:
    return (Path(path) / SESSION_FILE).is_file()
