"""The ``report``, ``treatment`` and ``sessions`` subcommands.

``twitchcam.cli.main`` calls ``add_report_commands(subparsers)`` on its argparse subparsers; every
subcommand sets ``args.func(args) -> int``.  User-facing problems raise TwitchcamError with
a one-line message, which the main command line prints.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from twitchcam.cli.options import add_recordings_option
from twitchcam.errors import TwitchcamError
from twitchcam.report.data import DETAIL_CHOICES
from twitchcam.store import index, treatments
from twitchcam.store.paths import recordings_dir, session_path


def _recordings(args: argparse.Namespace) -> Path:
    return recordings_dir(getattr(args, "recordings", None))


def _sessions(args: argparse.Namespace) -> list[Path]:
    """Session folders as given, or by name under the recordings folder."""
    return [session_path(s, args.recordings) for s in args.sessions] or [recordings_dir(args.recordings)]


def _treatment_log_for_report(args: argparse.Namespace) -> Path | None:
    """--treatments; else treatments.csv in --recordings, in the folder holding the given
    sessions, or in the default recordings folder (first that exists)."""
    if args.treatments:
        p = Path(args.treatments).expanduser()
        if not p.is_file():
            raise TwitchcamError(f"treatment log {p} does not exist")
        return p
    candidates = []
    if args.recordings:
        candidates.append(treatments.path_for(Path(args.recordings).expanduser()))
    for s in _sessions(args):
        p = Path(s).expanduser().resolve()
        candidates += [treatments.path_for(p), treatments.path_for(p.parent)]
    candidates.append(treatments.path_for(recordings_dir()))
    for c in candidates:
        if c.is_file():
            return c
    return None


def cmd_report(args: argparse.Namespace) -> int:
    from twitchcam.report import html as report  # matplotlib is imported only when a report is built

    t0 = time.perf_counter()
    log_path = _treatment_log_for_report(args)
    log = treatments.load(log_path) if log_path else []
    res = report.write_report(_sessions(args), args.out, treatments=log, detail=args.detail,
                              patient=args.patient, pdf=args.pdf, full_paths=args.full_paths)
    took = time.perf_counter() - t0
    what = f"{res['sessions']} session(s)"
    if res["sessions"] > 1:
        what += f", full detail for {res['detailed']}"
    if res["skipped"]:
        what += f", {res['skipped']} skipped (see report)"
    if log_path:
        what += f", {len(log)} treatment(s) from {log_path}"
    print(f"wrote {res['html']} ({what}) in {took:.1f} s")
    if res["pdf"]:
        print(f"wrote {res['pdf']}")
    return 0


def cmd_treatment_add(args: argparse.Namespace) -> int:
    path = treatments.path_for(_recordings(args))
    t = treatments.add(path, args.date, args.side, args.kind, args.note or "")
    note = f" ({t.note})" if t.note else ""
    print(f"added {t.date.isoformat()} {t.kind} {t.side}{note} to {path}")
    return 0


def cmd_treatment_remove(args: argparse.Namespace) -> int:
    path = treatments.path_for(_recordings(args))
    t = treatments.remove(path, args.date, args.side, args.kind)
    note = f" ({t.note})" if t.note else ""
    print(f"removed {t.date.isoformat()} {t.kind} {t.side}{note} from {path}")
    return 0


def cmd_treatment_list(args: argparse.Namespace) -> int:
    path = treatments.path_for(_recordings(args))
    items = treatments.load(path)
    print(treatments.format_table(items))
    if items:
        print(f"{len(items)} treatment(s) in {path}")
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    rows = index.sync(_recordings(args), rebuild=args.rebuild)
    print(index.format_table(rows))
    return 0


def add_report_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``report``, ``treatment {add,remove,list}`` and ``sessions``."""
    p = subparsers.add_parser(
        "report", help="build a one-page HTML (and PDF) report from session folders",
        description="Build a self-contained HTML report (images embedded, works offline) from "
                    "one or more session folders; a folder holding session folders (such as "
                    "recordings/) stands for all of them. With several sessions the report "
                    "starts with trends over time and treatments, then shows the most recent "
                    "session in full.")
    p.add_argument("sessions", nargs="*", metavar="SESSION",
                   help="session folders, or their names under the recordings folder "
                        "(default: every session in the recordings folder)")
    p.add_argument("--out", default="report.html", metavar="FILE.html",
                   help="HTML file to write (default: report.html)")
    p.add_argument("--pdf", action="store_true",
                   help="also write FILE.pdf next to it (needs Chromium)")
    p.add_argument("--detail", choices=DETAIL_CHOICES, default="latest",
                   help="which sessions get full per-session pages when several are given "
                        "(default: latest)")
    p.add_argument("--treatments", metavar="CSV",
                   help="treatment log (default: treatments.csv in the recordings folder)")
    add_recordings_option(p)
    p.add_argument("--patient", metavar="NAME", help="name or ID to print in the header")
    p.add_argument("--full-paths", action="store_true",
                   help="name sessions and videos by their full paths on this computer (default: "
                        "file names only, so a report sent to a doctor carries no local folders)")
    p.set_defaults(func=cmd_report)

    t = subparsers.add_parser("treatment", help="add to, remove from or list the treatment log",
                              description="The treatment log is a plain CSV file, "
                                          "recordings/treatments.csv, that you may also edit.")
    tsub = t.add_subparsers(dest="treatment_command", metavar="{add,remove,list}")
    tsub.required = True
    a = tsub.add_parser("add", help="record a treatment",
                        description="Record a treatment. Dates are YYYY-MM-DD; sides are the "
                                    "patient's own; kind botox means any botulinum-toxin "
                                    "injection.")
    a.add_argument("date", metavar="DATE", help="YYYY-MM-DD")
    a.add_argument("--side", required=True, choices=treatments.SIDES,
                   help="the patient's side treated")
    a.add_argument("--kind", default="botox", choices=treatments.KINDS,
                   help="default: botox (botulinum toxin, any brand)")
    a.add_argument("--note", default="", help='e.g. "25 U orbicularis"')
    add_recordings_option(a)
    a.set_defaults(func=cmd_treatment_add)
    r = tsub.add_parser("remove", help="delete one entry (a mistake)",
                        description="Delete the entry on DATE; when several share that date, "
                                    "--side and --kind say which. Other lines stay as written.")
    r.add_argument("date", metavar="DATE", help="YYYY-MM-DD")
    r.add_argument("--side", choices=treatments.SIDES)
    r.add_argument("--kind", choices=treatments.KINDS)
    add_recordings_option(r)
    r.set_defaults(func=cmd_treatment_remove)
    ls = tsub.add_parser("list", help="show the treatment log")
    add_recordings_option(ls)
    ls.set_defaults(func=cmd_treatment_list)

    s = subparsers.add_parser("sessions", help="list recorded sessions",
                              description="List the sessions under the recordings folder "
                                          "(date, length, per-side spasm rate, affected side). "
                                          "Uses a cached SQLite index, refreshed from the "
                                          "session folders whenever they change.")
    add_recordings_option(s)
    s.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch")
    s.set_defaults(func=cmd_sessions)
