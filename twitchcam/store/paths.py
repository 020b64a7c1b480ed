"""Where twitchcam keeps things on disk: the one home of every default location.

Recordings: an explicit argument, else ``$TWITCHCAM_RECORDINGS``, else ``recordings/``
beside the package.  Every command (analyze, live, detect, sessions, report, treatment,
demo) asks `recordings_dir` and nothing else, so a session written by one is found by all.
"""
from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit, urlunsplit

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
MAX_NAME_BYTES = 200  # a session folder's name at most (file systems allow 255)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_stem(video: str | os.PathLike) -> str:
    """A plain folder name from a video's name: its stem without path separators or control
    characters, not starting with '.' or '-' (no '.', '..', hidden or option-like names), at
    most MAX_NAME_BYTES bytes (cut names end with a short hash of the whole, so two long
    names stay apart); 'video' if nothing is left."""
    stem = Path(video).stem
    name = _UNSAFE.sub("_", stem).lstrip(".-") or "video"
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) > MAX_NAME_BYTES:
        tag = hashlib.sha256(raw).hexdigest()[:8]
        name = raw[:MAX_NAME_BYTES - 9].decode("utf-8", "ignore") + "-" + tag
    return name


def redacted_source(source: str) -> str:
    """What may be stored and shown of a video source: a stream URL without its user name,
    password, query and fragment (scheme, host, port and path); anything else as it is."""
    parts = urlsplit(source)
    if not (parts.scheme and parts.netloc) or len(parts.scheme) < 2:  # a path (C:\... has a 1-letter scheme)
        return source
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return urlunsplit((parts.scheme, host + (f":{port}" if port else ""), parts.path, "", ""))


def output_folders(videos: Sequence[str | os.PathLike], root: str | os.PathLike) -> list[Path]:
    """The session folder of each video under `root`, decided over the whole list.

    A video's folder is named after its stem: STEM, else STEM-2, STEM-3, ... .  A name never
    stands for two sessions: a folder holding a session of another file (another video of
    that name, in another directory) is passed over, and so is a name another input of the
    list took.  A folder holding a session of this very file is its folder again (a rerun
    resumes or skips it, see `twitchcam.store.source.finished_session`).
    """
    from twitchcam.store.reader import read_meta_or_empty
    from twitchcam.store.session import SESSION_FILE
    from twitchcam.store.source import same_source_path

    root = Path(root)
    taken: set[Path] = set()
    out = []
    for video in map(Path, videos):
        chosen = free = None
        k = 1
        while chosen is None:
            stem = safe_stem(video)
            folder = root / (stem if k == 1 else f"{stem}-{k}")
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
