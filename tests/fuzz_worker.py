"""Runs `twitchcam analyze` and then `twitchcam detect` on damaged videos, in-process through
the CLI's main(), one JSON line per case on stdout (test_fuzz.py starts two of these).

    python -m tests.fuzz_worker OUT_DIR VIDEO...

Each case's stderr is captured at the file-descriptor level, so whatever OpenCV, FFmpeg or
MediaPipe print themselves is seen too.  A line "start N" is printed before case N, so if
the process dies on a signal the parent knows which video killed it.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def run_captured(argv: list[str]) -> tuple[int, str]:
    """(exit code, everything written to fd 2) of twitchcam's main(argv)."""
    from twitchcam.cli.main import main

    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as err, open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
        err.seek(0)
        return code, err.read().decode("utf-8", "replace")


def main() -> None:
    out = Path(sys.argv[1])
    report = os.fdopen(os.dup(1), "w", buffering=1)
    for video in sys.argv[2:]:
        name = Path(video).stem
        report.write(f"start {name}\n")
        folder = out / name
        code, err = run_captured(["analyze", video, "--out", str(folder)])
        detect = None
        if folder.exists():
            detect = run_captured(["detect", str(folder)])
        report.write(json.dumps({"case": name, "code": code, "stderr": err, "folder": folder.exists(),
                                 "detect": detect}) + "\n")


if __name__ == "__main__":
    main()
