"""Run a command while other processes keep every core busy: the suite must pass on a
loaded machine (CI machines often are).

    python tests/cpu_hog.py [--procs N] -- COMMAND ...     (make test-busy)

The hogs are plain busy loops at normal priority, one per core by default; they stop when
the command ends, and the command's exit code is returned.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys


def _spin() -> None:
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 2, help="busy processes (default: one per core)")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("give a command after --")
    hogs = [mp.Process(target=_spin, daemon=True) for _ in range(args.procs)]
    for h in hogs:
        h.start()
    print(f"cpu_hog: {args.procs} busy process(es) while running: {' '.join(command)}", file=sys.stderr, flush=True)
    try:
        return subprocess.call(command)
    finally:
        for h in hogs:
            h.terminate()
        for h in hogs:
            h.join()


if __name__ == "__main__":
    sys.exit(main())
