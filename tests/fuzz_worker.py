"""Runs fuzz cases in-process through the CLI's main(), one JSON line per case on stdout
(test_fuzz.py starts two of these):

    python -m tests.fuzz_worker video OUT_DIR VIDEO...          # analyze, then detect, each damaged video
    python -m tests.fuzz_worker stored OUT_DIR TEMPLATE MODEL SEED...   # tests/fuzz_stored.run_case

Each case's stderr is captured at the file-descriptor level, so whatever OpenCV, FFmpeg or
MediaPipe print themselves is seen too.  A line "start N" is printed before case N, so if
the process dies on a signal the parent knows which case killed it.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def run_captured(argv: list[str], with_stdout: bool = False) -> tuple:
    """(exit code, everything written to fd 2) of twitchcam's main(argv); and what it wrote to
    fd 1 too, `with_stdout`."""
    from twitchcam.cli.main import main

    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        os.dup2(out.fileno(), 1)
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
        out.seek(0)
        text = err.read().decode("utf-8", "replace")
        return (code, text, out.read().decode("utf-8", "replace")) if with_stdout else (code, text)


def videos(out: Path, paths: list[str], report) -> None:
    for video in paths:
        name = Path(video).stem
        report.write(f"start {name}\n")
        folder = out / name
        code, err = run_captured(["analyze", video, "--out", str(folder)])
        detect = None
        if folder.exists():
            detect = run_captured(["detect", str(folder)])
        report.write(json.dumps({"case": name, "code": code, "stderr": err, "folder": folder.exists(),
                                 "detect": detect}) + "\n")


def stored(out: Path, template: Path, model: Path, seeds: list[int], report) -> None:
    from tests.fuzz_stored import run_case

    for seed in seeds:
        report.write(f"start {seed}\n")
        report.write(json.dumps(run_case(seed, out, template, model,
                                         lambda argv: run_captured(argv, with_stdout=True))) + "\n")


def main() -> None:
    mode, out = sys.argv[1], Path(sys.argv[2])
    report = os.fdopen(os.dup(1), "w", buffering=1)
    if mode == "video":
        videos(out, sys.argv[3:], report)
    else:
        stored(out, Path(sys.argv[3]), Path(sys.argv[4]), [int(a) for a in sys.argv[5:]], report)


if __name__ == "__main__":
    main()
