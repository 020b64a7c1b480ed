"""Command line: `twitchcam analyze | detect | models | live | report | treatment | sessions`.

Every failure the user can act on ends as one line on stderr and a non-zero exit code,
never a traceback (set TWITCHCAM_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from twitchcam.cli.options import add_detector_options, add_recordings_option, detector_params
from twitchcam.errors import Interrupted, TwitchcamError
from twitchcam.store.paths import recordings_dir

def _output_folders(videos: list[Path], out: str | None, recordings: str | None) -> list[Path]:
    if len(videos) == 1:
        return [Path(out) if out else recordings_dir(recordings) / videos[0].stem]
    from twitchcam.batch.pool import output_folders  # unique names even for a.mp4 in two directories

    return output_folders(videos, Path(out) if out else recordings_dir(recordings))


def _batch(args: argparse.Namespace, videos: list[Path], folders: list[Path], model: Path, params) -> int:
    """Many videos: parallel worker processes (or a dask cluster), resumable, one bad file never stops it."""
    from twitchcam.batch.pool import (batch_exit_code, format_batch_table, parse_shard, run_batch, run_batch_dask,
                                 write_batch_csv)

    shard = parse_shard(args.shard) if args.shard else None
    if args.scheduler:
        rows = run_batch_dask(videos, None, model, params, scheduler=args.scheduler, shard=shard,
                              mirrored=args.mirrored, folders=folders)
    else:
        rows = run_batch(videos, None, model, params, jobs=args.jobs, shard=shard, mirrored=args.mirrored,
                         folders=folders)
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
    from twitchcam.video.model import ensure_model
    from twitchcam.core.stream import PipelineParams
    from twitchcam.cli.progress import summary_table
    from twitchcam.video.source import find_videos

    jobs = _jobs(args.jobs)
    videos = find_videos(args.videos)
    model = ensure_model(args.model)
    params = PipelineParams(detector=detector_params(args))
    folders = _output_folders(videos, args.out, args.recordings)
    args.jobs = jobs if jobs is not None else 1 if args.shard or args.scheduler else _auto_jobs(videos)
    if len(videos) > 1 and (args.jobs > 1 or args.shard or args.scheduler or args.batch_csv):
        return _batch(args, videos, folders, model, params)
    if args.shard or args.scheduler:
        raise TwitchcamError("--shard and --scheduler need several input videos")
    failures = 0
    rows = []
    for video, folder in zip(videos, folders):
        try:
            if args.jobs > 1:  # one long video, several processes: time chunks
                from twitchcam.batch.chunks import analyze_chunked

                summary = analyze_chunked(video, folder, model, params, jobs=args.jobs, mirrored=args.mirrored)
            else:
                from twitchcam.video.analyze import analyze_file

                summary = analyze_file(video, folder, model, params, mirrored=args.mirrored)
        except Interrupted:
            raise  # Ctrl-C stops the whole run (exit 130), not just this video
        except TwitchcamError as exc:
            failures += 1
            print(f"twitchcam: error: {exc}", file=sys.stderr)
            continue
        print(summary_table(video.name, summary))
        print(f"  session: {folder}")
        if summary["status"] == "truncated":
            failures += 1
            print(f"twitchcam: error: {video}: truncated or corrupt after {summary['frames']} frames; "
                  f"analysed what decoded (session saved in {folder})", file=sys.stderr)
        if args.batch_csv:
            from twitchcam.batch.pool import row_from_summary

            rows.append(row_from_summary(video, folder, summary))
    if args.batch_csv and rows:
        from twitchcam.batch.pool import write_batch_csv

        write_batch_csv(rows, Path(args.batch_csv))
    return 1 if failures else 0


def cmd_detect(args: argparse.Namespace) -> int:
    from twitchcam.store.redetect import redetect
    from twitchcam.cli.progress import summary_table

    folder = Path(args.session)
    out = Path(args.out) if args.out else folder / "detect"
    summary = redetect(folder, out, lambda base: detector_params(args, base))
    print(summary_table(folder.name, summary))
    print(f"  events and summary: {out}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twitchcam", description="Lateralized hemifacial-spasm monitor.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="analyse recorded videos")
    p.add_argument("videos", nargs="+", help="video files or directories of videos")
    p.add_argument("--out", help="session folder (one input) or parent folder (several); "
                                 "default: under the recordings folder")
    add_recordings_option(p)
    p.add_argument("--mirrored", action="store_true",
                   help="selfie-view recording: flip so left/right are the patient's own sides")
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
    add_detector_options(p)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("models", help="show (or fetch) the landmark model")
    p.add_argument("--model", help="path to check instead of the default")
    p.add_argument("--fetch", action="store_true", help="fetch the model now if missing")
    p.set_defaults(func=cmd_models)

    from twitchcam.cli.live import register as add_live_command
    from twitchcam.cli.report import add_report_commands

    add_live_command(sub)
    add_report_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
