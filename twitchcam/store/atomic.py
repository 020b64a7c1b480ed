"""Replace a file whole or not at all.

Readers (the report, a rerun of a batch, `twitchcam detect`) must never see half a file,
and a failed write (a full disk) must not leave a stray temporary file behind either.
"""
from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """`write_bytes_atomic` of `text` in UTF-8, line endings as given; a file name that is
    not UTF-8 (surrogates in Python) is written with \\udcXX escapes, not a crash."""
    write_bytes_atomic(path, text.encode("utf-8", "backslashreplace"))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    Raises OSError as the write did; the temporary file is gone either way.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
