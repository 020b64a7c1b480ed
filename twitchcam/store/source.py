"""The video a session was made from: what tells the file from another put in its place, and
whether a finished session of it is already there."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from twitchcam.errors import TwitchcamError
from twitchcam.store.reader import read_json_or_none, read_meta_or_empty
from twitchcam.store.session import SUMMARY_FILE

# -- the source a session was made from -------------------------------------------------------
HASH_SPAN = 1 << 20  # the first and last MiB


def source_identity(path: Path) -> dict:
    """What tells a video file from another one put in its place: its absolute path, size,
    modification time and a SHA-256 of its first and last MiB (quick even for hours of video)."""
    path = Path(path)
    h = hashlib.sha256()
    try:
        st = path.stat()
        with open(path, "rb") as f:
            h.update(f.read(HASH_SPAN))
            if st.st_size > HASH_SPAN:
                f.seek(max(HASH_SPAN, st.st_size - HASH_SPAN))
                h.update(f.read(HASH_SPAN))
    except OSError as exc:
        raise TwitchcamError(f"cannot read {path}: {exc.strerror or exc}") from None
    return {"path": os.fsdecode(os.path.realpath(path)), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "head_tail_sha256": h.hexdigest()}


def same_source_path(meta: dict, video: Path) -> bool:
    """Was this session made from the file at `video`'s path (whatever it holds now)?
    Sessions from before source identities were stored: the same file name."""
    ident = meta.get("source_id")
    if isinstance(ident, dict) and isinstance(ident.get("path"), str):
        return ident["path"] == os.fsdecode(os.path.realpath(video))
    return Path(str(meta.get("source") or "")).name == Path(video).name


def source_changed(meta: dict, video: Path) -> bool:
    """True if the file at `video` is no longer the one this session was made from."""
    ident = meta.get("source_id")
    if not isinstance(ident, dict):
        return False  # made before identities were stored: nothing to compare
    try:
        now = source_identity(video)
    except TwitchcamError:
        return True
    return any(ident.get(k) != now[k] for k in ("size", "mtime_ns", "head_tail_sha256"))


def finished_session(folder: Path, video: Path) -> tuple[dict | None, str]:
    """Whether `folder` already holds the finished analysis of the file at `video`.

    (summary, "") when it holds a complete session of that very file, unchanged: nothing to
    do.  Otherwise (None, why): the session must be (re)done; `why` is empty for a new or an
    unfinished one and says so when the file changed since the session was made.
    """
    meta = read_meta_or_empty(folder)
    if meta.get("status") != "complete":
        return None, ""
    summary = read_json_or_none(Path(folder) / SUMMARY_FILE)
    if summary is None:
        return None, ""
    if source_changed(meta, video):
        return None, f"{Path(video).name} changed since {Path(folder).name} was made from it: analysed again"
    return summary, ""
