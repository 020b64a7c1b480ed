"""Command line: `twitchcam analyze | detect | models | live | report | treatment | sessions`.

Every failure the user can act on ends as one line on stderr and a non-zero exit code,
never a traceback (set TWITCHCAM_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from twitchcam.errors import TwitchcamError

DEFAULT_RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


def add_detector_options(parser: argparse.ArgumentParser) -> None:
    """One --option per DetectorParams field, so every threshold can be changed without code."""
    from twitchcam.detector import DetectorParams

    group = parser.add_argument_group("detector parameters")
    for f in dataclasses.fields(DetectorParams):
        group.add_argument(f"--{f.name.replace('_', '-')}", dest=f"det_{f.name}", type=float, default=None,
                           metavar="X", help=f"default {f.default}")


def detector_params(args: argparse.Namespace, base=None):
    from twitchcam.detector import DetectorParams

    base = base or DetectorParams()
    changes = {f.name: getattr(args, f"det_{f.name}") for f in dataclasses.fields(DetectorParams)
               if getattr(args, f"det_{f.name}", None) is not None}
    return dataclasses.replace(base, **changes)


def _output_folders(videos: list[Path], out: str | None) -> list[Path]:
    if len(videos) == 1:
        return [Path(out) if out else DEFAULT_RECORDINGS / videos[0].stem]
    root = Path(out) if out else DEFAULT_RECORDINGS
    names = [v.stem for v in videos]
    return [root / (v.stem if names.count(v.stem) == 1 else f"{v.stem}-{v.suffix.lstrip('.')}") for v in videos]


def cmd_analyze(args: argparse.Namespace) -> int:
    from twitchcam.analyze import analyze_file
    from twitchcam.model import ensure_model
    from twitchcam.pipeline import PipelineParams
    from twitchcam.progress import summary_table
    from twitchcam.source import find_videos

    videos = find_videos(args.videos)
    model = ensure_model(args.model)
    params = PipelineParams(detector=detector_params(args))
    failures = 0
    for video, folder in zip(videos, _output_folders(videos, args.out)):
        try:
            summary = analyze_file(video, folder, model, params, mirrored=args.mirrored)
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
    return 1 if failures else 0


def cmd_detect(args: argparse.Namespace) -> int:
    from twitchcam.redetect import redetect
    from twitchcam.progress import summary_table

    folder = Path(args.session)
    out = Path(args.out) if args.out else folder / "detect"
    summary = redetect(folder, out, lambda base: detector_params(args, base))
    print(summary_table(folder.name, summary))
    print(f"  events and summary: {out}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from twitchcam.model import MODEL_SHA256, ensure_model, status

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
    p.add_argument("--out", help="session folder (one input) or parent folder (several)")
    p.add_argument("--mirrored", action="store_true",
                   help="selfie-view recording: flip so left/right are the patient's own sides")
    p.add_argument("--model", help="path to face_landmarker.task (or set TWITCHCAM_MODEL)")
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

    for name in ("twitchcam.live_cli", "twitchcam.report_cli"):
        try:
            module = __import__(name, fromlist=["register"])
        except ImportError:
            continue
        module.register(sub)
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
