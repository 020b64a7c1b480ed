"""Who may write a session folder: an OS lock held while one process writes it."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from twitchcam.errors import TwitchcamError
from twitchcam.store.atomic import NO_FOLLOW, unlink_link
from twitchcam.store.session import LOCK_NAME

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    try:
        import msvcrt
    except ImportError:
        msvcrt = None


class SessionLock:
    """An OS lock on SESSION/session.lock, held while one process writes the session.

    It is the kernel's (flock): it ends with the process however that ends, kill -9
    included, so it never goes stale.  A second writer gets a one-line TwitchcamError.
    Where the platform has no such lock, writing goes on unlocked.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._f = None

    def acquire(self, what: str = "a session") -> "SessionLock":
        path = self.folder / LOCK_NAME
        unlink_link(path)
        f = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | NO_FOLLOW, 0o666), "r+")
        try:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif msvcrt is not None:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            f.seek(0)
            owner = f.read().strip()
            f.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
                pid = f" (pid {owner})" if owner.isdigit() else ""
                raise TwitchcamError(f"{self.folder} is being written by another twitchcam process{pid}; "
                                     f"wait for it to end or choose another folder") from None
            raise
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._f = f
        return self

    def release(self) -> None:
        if self._f is not None:
            try:
                self._f.seek(0)
                self._f.truncate()  # the pid of a process that no longer writes is no help
            except OSError:
                pass
            self._f.close()  # closing the file drops the lock
            self._f = None


def is_being_written(folder: Path) -> bool:
    """True while another process holds the folder's lock (a session still being recorded)."""
    path = Path(folder) / LOCK_NAME
    if fcntl is None or not path.is_file():
        return False
    try:
        with open(path) as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
    except OSError:
        return False
    return False
