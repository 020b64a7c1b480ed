"""Command line: `twitchcam analyze | detect | models | live | report | treatment | sessions`.

Every failure the user can act on ends as one line on stderr and a non-zero exit code,
never a traceback (set TWITCHCAM_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

from twitchcam.cli.options import add_detector_options, add_recordings_option, detector_params
from twitchcam.errors import Interrupted, TwitchcamError
from twitchcam.store.paths import output_folders, recordings_dir, session_path


def _output_folders(videos: list[Path], args: argparse.Namespace) -> tuple[list[Path], bool]:
    """Each video's session folder, and whether they were named by the user (one video with
    --out) rather than by twitchcam (see store.paths.output_folders)."""
    from twitchcam.store.folder import check_session_folder
    from twitchcam.store.session import SESSION_FILE

    recordings = recordings_dir(args.recordings)
    if len(videos) == 1 and args.out:
        folder = Path(args.out)
        check_session_folder(folder, args.overwrite, recordings)
        return [folder], True
    root = Path(args.out) if args.out else recordings
    if (root / SESSION_FILE).is_file():
        raise TwitchcamError(f"{root} is a session folder; several videos need a folder to hold their sessions")
    return output_folders(videos, root), False


def _batch(args: argparse.Namespace, videos: list[Path], folders: list[Path], model: Path, params) -> int:
    """Many videos: parallel worker processes (or a dask cluster), resumable, one bad file never stops it."""
    from twitchcam.batch.pool import (
        batch_exit_code,
        format_batch_table,
        parse_shard,
        run_batch,
        run_batch_dask,
        write_batch_csv,
    )

    shard = parse_shard(args.shard) if args.shard else None
    if args.scheduler:
        rows = run_batch_dask(videos, None, model, params, scheduler=args.scheduler, shard=shard,
                              mirrored=args.mirrored, folders=folders, overwrite=args.overwrite)
    else:
        rows = run_batch(videos, None, model, params, jobs=args.jobs, shard=shard, mirrored=args.mirrored,
                         folders=folders, overwrite=args.overwrite)
    print(format_batch_table(rows))
    if args.batch_csv:
        write_batch_csv(rows, Path(args.batch_csv))
        print(f"  table: {args.batch_csv}")
    return batch_exit_code(rows)


def _auto_jobs(videos: list[Path]) -> int:
    """--jobs auto: one video long enough to pay back the start of more processes is cut into
    time chunks, one per core (say so); anything else runs as --jobs 1."""
    if len(videos) != 1:
        return 1
    from twitchcam.batch.chunks import auto_chunks

    jobs, duration = auto_chunks(videos[0])
    if jobs > 1:
        print(f"twitchcam: {videos[0].name} ({duration:.0f} s): {jobs} time chunks on {jobs} cores in parallel "
              f"(--jobs 1 for one process)", file=sys.stderr, flush=True)
    return jobs


def _jobs(text: str) -> int | None:
    """--jobs N as a number; None for auto."""
    if text == "auto":
        return None
    try:
        jobs = int(text)
    except ValueError:
        raise TwitchcamError(f"--jobs {text}: expected a number of processes or 'auto'") from None
    if jobs < 1:
        raise TwitchcamError(f"--jobs {jobs}: must be at least 1")
    return jobs


def cmd_analyze(args: argparse.Namespace) -> int:
    # No MediaPipe here: a batch's parent only hands work to processes that load it themselves.
    from twitchcam.cli.tables import summary_table
    from twitchcam.core.stream import PipelineParams
    from twitchcam.run.plan import plan_input
    from twitchcam.video.model import ensure_model
    from twitchcam.video.source import find_videos

    jobs = _jobs(args.jobs)
    videos = find_videos(args.videos)
    folders, named = _output_folders(videos, args)
    model = ensure_model(args.model)
    params = PipelineParams(detector=detector_params(args))
    if args.evidence and jobs not in (None, 1):
        raise TwitchcamError("--evidence analyses one video at a time, in order: leave out --jobs (or --jobs 1)")
    if args.evidence:
        jobs = 1  # the strips need each video's frames in order, in this process
    args.jobs = jobs if jobs is not None else 1 if args.shard or args.scheduler else _auto_jobs(videos)
    if len(videos) > 1 and (args.jobs > 1 or args.shard or args.scheduler or args.batch_csv):
        return _batch(args, videos, folders, model, params)
    if args.shard or args.scheduler:
        raise TwitchcamError("--shard and --scheduler need several input videos")
    failures = []
    rows = []
    for video, folder in zip(videos, folders):
        plan = plan_input(video, folder, args.overwrite, named)  # twitchcam's own name: a rerun resumes
        if plan.action == "skip":
            print(summary_table(video.name, plan.summary))
            print(f"  session: {folder} (already analysed; --overwrite analyses it again)")
            continue
        if plan.action == "missing":
            failures.append(TwitchcamError.exit_code)
            print(f"twitchcam: error: {plan.note}", file=sys.stderr)
            continue
        if plan.note:
            print(f"twitchcam: {plan.note}", file=sys.stderr)
        overwrite = plan.overwrite
        try:
            if args.jobs > 1:  # one long video, several processes: time chunks
                from twitchcam.batch.chunks import analyze_chunked

                summary = analyze_chunked(video, folder, model, params, jobs=args.jobs, mirrored=args.mirrored,
                                          overwrite=overwrite)
            else:
                from twitchcam.run.analyze import analyze_file

                summary = analyze_file(video, folder, model, params, mirrored=args.mirrored, overwrite=overwrite,
                                       evidence=args.evidence)
        except Interrupted:
            raise  # Ctrl-C stops the whole run (exit 130), not just this video
        except TwitchcamError as exc:
            failures.append(exc.exit_code)
            print(f"twitchcam: error: {exc}", file=sys.stderr)
            continue
        print(summary_table(video.name, summary))
        print(f"  session: {folder}")
        lost = _lost_note(summary)
        if summary["status"] == "truncated":
            failures.append(1)
            print(f"twitchcam: error: {video}: truncated or corrupt after {summary['frames']} frames{lost}; "
                  f"analysed what decoded (session saved in {folder})", file=sys.stderr)
        elif lost:
            print(f"twitchcam: warning: {video}: damaged{lost}; analysed the rest (session saved in {folder})",
                  file=sys.stderr)
        if summary.get("fps_note"):
            print(f"twitchcam: warning: {video}: {summary['fps_note']}", file=sys.stderr)
        if summary.get("other_person_frames"):
            n = summary["other_person_frames"]
            print(f"twitchcam: warning: {video}: someone else's face in {n} frame{'s' if n != 1 else ''}: "
                  "not analysed as the patient's", file=sys.stderr)
        if summary.get("too_slow_for_spasms"):
            print(f"twitchcam: warning: {video}: {summary.get('fps', 0):.3g} frames/s is too slow to see a twitch "
                  "of 90-250 ms; no spasm was counted (one-sided closures are listed as possible)", file=sys.stderr)
        if args.batch_csv:
            from twitchcam.batch.pool import row_from_summary

            rows.append(row_from_summary(video, folder, summary))
    if args.batch_csv and rows:
        from twitchcam.batch.pool import write_batch_csv

        write_batch_csv(rows, Path(args.batch_csv))
    if not failures:
        return 0
    return failures[0] if len(videos) == 1 else 1  # one input: its own code (2: bad input); several: 1


def _lost_note(summary: dict) -> str:
    """', 12 undecodable frames skipped in 2 gaps' or ''."""
    lost, gaps = summary.get("lost_frames") or 0, summary.get("gaps") or 0
    if not lost:
        return ""
    return f", {lost} undecodable frame{'s' if lost != 1 else ''} skipped in {gaps} gap{'s' if gaps != 1 else ''}"


def cmd_detect(args: argparse.Namespace) -> int:
    from twitchcam.cli.tables import summary_table
    from twitchcam.run.detect import redetect
    from twitchcam.store.session import DETECT_DIR

    folder = session_path(args.session, args.recordings)
    out = Path(args.out) if args.out else folder / DETECT_DIR
    summary = redetect(folder, out, lambda base: detector_params(args, base))
    print(summary_table(folder.name, summary))
    print(f"  events and summary: {out}")
    if summary.get("bad_rows"):
        n = summary["bad_rows"]
        print(f"twitchcam: warning: {folder / 'frames.csv'}: {n} damaged row{'s' if n != 1 else ''} skipped "
              f"(counted as invalid frames)", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from twitchcam.cli.tables import summary_table
    from twitchcam.synth.demo import run_demo
    from twitchcam.video.model import ensure_model

    folder, summary, verdict = run_demo(recordings_dir(args.recordings), ensure_model(args.model))
    print(summary_table(folder.name, summary))
    print(f"  session: {folder}")
    print(f"  {verdict}")
    print(f"  next: twitchcam report {folder}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from twitchcam.video.model import MODEL_SHA256, ensure_model, status

    if args.fetch:
        ensure_model(args.model)
    st = status(args.model)
    print(f"model:    {st.path} (from {st.source})")
    print(f"expected: sha256 {MODEL_SHA256}")
    if not st.exists:
        print("status:   missing (fetched on first use, or run `twitchcam models --fetch`)")
        return 1
    print(f"found:    sha256 {st.sha256}")
    print(f"status:   {'valid' if st.valid else 'INVALID: checksum mismatch, delete it and fetch again'}")
    return 0 if st.valid else 1


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (what is wrong, and where the usage is) instead of
    the whole usage text."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# Options whose value may start with '-' (argparse would take "--shard -1/3" for two options).
VALUE_MAY_START_WITH_DASH = ("--shard",)


def _join_dash_values(argv: list[str]) -> list[str]:
    out, k = [], 0
    while k < len(argv):
        if argv[k] in VALUE_MAY_START_WITH_DASH and k + 1 < len(argv) and argv[k + 1].startswith("-") \
                and argv[k + 1][1:2].isdigit():
            out.append(f"{argv[k]}={argv[k + 1]}")
            k += 2
        else:
            out.append(argv[k])
            k += 1
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="twitchcam", description="Lateralized hemifacial-spasm monitor.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("analyze", help="analyse recorded videos")
    p.add_argument("videos", nargs="+", help="video files or directories of videos")
    p.add_argument("--out", help="session folder (one input) or parent folder (several); "
                                 "default: under the recordings folder")
    add_recordings_option(p)
    p.add_argument("--overwrite", action="store_true",
                   help="replace a session already in --out (all of it: frames, events, summary, detect/, "
                        "markers); without it such a folder is refused, and a rerun skips videos whose "
                        "unchanged file was already analysed")
    p.add_argument("--mirrored", action="store_true",
                   help="selfie-view recording: flip so left/right are the patient's own sides")
    p.add_argument("--evidence", nargs="?", const="eye", choices=("eye", "face"), default=None,
                   help="also keep a strip of both eyes (or the face) around every one-sided event and a few "
                        "blinks in SESSION/evidence/, for `twitchcam review` and the report")
    p.add_argument("--model", help="path to face_landmarker.task (or set TWITCHCAM_MODEL)")
    p.add_argument("--jobs", "-j", default="auto", metavar="N",
                   help="worker processes: N videos at once, or one long video split into N time chunks; "
                        "a rerun skips sessions already complete.  Default auto: one video long enough to "
                        "pay back the extra processes' start-up uses every core, anything else one process")
    p.add_argument("--shard", metavar="i/N",
                   help="analyse only inputs i, i+N, i+2N, ... of the input list (0-based), "
                        "to split one batch across machines")
    p.add_argument("--scheduler", metavar="tcp://HOST:8786",
                   help="run the batch on a dask.distributed cluster (pip install twitchcam[dask]; "
                        "workers must see the same paths)")
    p.add_argument("--batch-csv", metavar="FILE",
                   help="also write one CSV line per video (per-side counts and rates, affected side)")
    add_detector_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("detect", help="re-run filtering and detection on a session folder, without video")
    p.add_argument("session")
    p.add_argument("--out", help="where to write events.csv and summary.json (default SESSION/detect)")
    add_recordings_option(p)
    add_detector_options(p)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("demo", help="analyse a real face with known injected one-sided spasms (what `make run` does)")
    add_recordings_option(p)
    p.add_argument("--model", help="path to face_landmarker.task (or set TWITCHCAM_MODEL)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("models", help="show (or fetch) the landmark model")
    p.add_argument("--model", help="path to check instead of the default")
    p.add_argument("--fetch", action="store_true", help="fetch the model now if missing")
    p.set_defaults(func=cmd_models)

    from twitchcam.cli.live import register as add_live_command
    from twitchcam.cli.report import add_report_commands
    from twitchcam.cli.review import add_review_command

    add_live_command(sub)
    add_report_commands(sub)
    add_review_command(sub)
    return parser


class _Printable(io.TextIOBase):
    """A terminal stream through which names, notes and messages print as text: the control
    characters a file name or a note may carry (ESC sequences that move the cursor, clear the
    screen or set the title; other C0/C1 codes) are shown escaped (\\x1b), never obeyed.
    Newlines, tabs and the progress line's carriage return pass."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(text.translate(_CONTROL))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self):
        return self._stream.encoding


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7f, *range(0x80, 0xa0)) if chr(c) not in "\n\t\r"}


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is printed, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(sys.stdout), _Printable(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_dash_values(list(sys.argv[1:] if argv is None else argv)))
    try:
        return int(args.func(args) or 0)
    except TwitchcamError as exc:
        print(f"twitchcam: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("twitchcam: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # last resort: one line, not a traceback
        if os.environ.get("TWITCHCAM_DEBUG"):
            raise
        print(f"twitchcam: internal error: {type(exc).__name__}: {exc} (TWITCHCAM_DEBUG=1 shows more)",
              file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
