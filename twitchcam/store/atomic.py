"""Replace a file whole or not at all.

Readers (the report, a rerun of a batch, `twitchcam detect`) must never see half a file,
and a failed write (a full disk) must not leave a stray temporary file behind either.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """`write_bytes_atomic` of `text` in UTF-8, line endings as given; a file name that is
    not UTF-8 (surrogates in Python) is written with \\udcXX escapes, not a crash."""
    write_bytes_atomic(path, text.encode("utf-8", "backslashreplace"))


NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@contextlib.contextmanager
def locked(lock_path: str | os.PathLike):
    """Hold an exclusive OS lock (flock) on `lock_path` while a file is read, changed and written
    back, so that two processes doing so never lose each other's change; waits for the other.
    No lock where the OS has none."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    unlink_link(lock_path)
    with os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT | NO_FOLLOW, 0o666), "r+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def unlink_link(path: str | os.PathLike) -> None:
    """Remove a symbolic link at `path` (never what it points to), so that what is written there
    next is a file of its own: twitchcam never writes through a link it did not make."""
    p = Path(path)
    if p.is_symlink():
        p.unlink()


def open_new(path: str | os.PathLike, mode: str = "w", **kwargs):
    """`open(path, mode)` for writing a file of a session folder: a link there is replaced, not
    followed (O_NOFOLLOW: a link made in between is an error, not a write elsewhere)."""
    unlink_link(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NO_FOLLOW, 0o666)
    return os.fdopen(fd, mode, **kwargs)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to a new temporary file beside `path` (never through a link), then rename
    it over `path` (which replaces a link there, not its target).

    Raises OSError as the write did; the temporary file is gone either way.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NO_FOLLOW, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
