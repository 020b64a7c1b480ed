"""The ``review`` subcommand: confirm or reject each counted spasm, on a page or from a script."""
from __future__ import annotations

import argparse
import json
import sys

from twitchcam.cli.options import add_recordings_option
from twitchcam.core.anatomy import SIDES
from twitchcam.errors import TwitchcamError
from twitchcam.store import review
from twitchcam.store.folder import is_session_dir
from twitchcam.store.paths import session_path


def add_review_command(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "review", help="confirm or reject each one-sided event of sessions (a local page, or --list/--confirm)",
        description="Opens a page on this computer (127.0.0.1 only, with a secret token in its address) that "
                    "lists each one-sided event of the sessions with its evidence strip: y confirms, n rejects, "
                    "s moves it to the other side, j/k or the arrows move, space plays the clip. Each decision is "
                    "saved at once in SESSION/review.csv; events.csv is never changed. With --list, --confirm, "
                    "--reject or --side it changes decisions without the page.")
    p.add_argument("sessions", nargs="+", metavar="SESSION", help="session folders, or their names")
    p.add_argument("--list", action="store_true", help="print one line per event: id, onset, side, kind, decision")
    p.add_argument("--json", action="store_true", help="with --list: a JSON list instead")
    p.add_argument("--confirm", nargs="+", type=int, default=[], metavar="ID", help="confirm these events")
    p.add_argument("--reject", nargs="+", type=int, default=[], metavar="ID", help="reject these events")
    p.add_argument("--side", action="append", default=[], metavar="ID=left|right",
                   help="move an event to the other side (and confirm it)")
    p.add_argument("--port", type=int, default=0, help="port of the page (default 0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the page's address instead of opening it")
    add_recordings_option(p)
    p.set_defaults(func=cmd_review)


def _changes(args: argparse.Namespace) -> dict[int, tuple[str | None, str | None]]:
    changes: dict[int, tuple[str | None, str | None]] = {}
    for key in args.confirm:
        changes[key] = (review.CONFIRMED, None)
    for key in args.reject:
        changes[key] = (review.REJECTED, None)
    for text in args.side:
        key, _, side = text.partition("=")
        if not key.strip().isdigit() or side not in SIDES:
            raise TwitchcamError(f"--side {text}: expected ID=left or ID=right")
        changes[int(key)] = (changes.get(int(key), (None, None))[0], side)
    return changes


def cmd_review(args: argparse.Namespace) -> int:
    folders = [session_path(s, args.recordings) for s in args.sessions]
    for f in folders:
        if not is_session_dir(f):
            raise TwitchcamError(f"{f} is not a session folder")
    changes = _changes(args)
    if changes or args.list:
        if len(folders) != 1:
            raise TwitchcamError("--list, --confirm, --reject and --side take one session")
        folder = folders[0]
        found = review.decide(folder, changes) if changes else review.items(folder)[0]
        if args.list:
            _print(found, args.json)
        else:
            print(f"{len(changes)} decision(s) saved in {folder / review.REVIEW_FILE}")
        return 0
    from twitchcam.review.server import serve

    serve(folders, port=args.port, open_browser=not args.no_browser)
    return 0


def _print(found: list[review.Item], as_json: bool) -> None:
    rows = [{"id": it.id, "onset_s": round(it.event.onset_s, 3), "side": it.final_side,
             "detected_side": it.event.side, "kind": it.event.kind, "duration_s": round(it.event.duration_s, 3),
             "confidence": None if it.event.confidence != it.event.confidence else it.event.confidence,
             "decision": it.decision or "unreviewed"} for it in found]
    if as_json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return
    if not rows:
        print("no one-sided events")
        return
    print(f"{'id':>4}  {'onset s':>9}  {'side':<6} {'kind':<9} {'s':>6}  decision")
    for r in rows:
        moved = f" (detected {r['detected_side']})" if r["side"] != r["detected_side"] else ""
        print(f"{r['id']:>4}  {r['onset_s']:>9.3f}  {r['side']:<6} {r['kind']:<9} {r['duration_s']:>6.2f}  "
              f"{r['decision']}{moved}")


