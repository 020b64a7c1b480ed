"""`twitchcam live`: registered into the main parser by twitchcam.cli.build_parser."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _positive(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return x


def register(subparsers) -> None:
    from twitchcam.cli.options import add_detector_options, add_recordings_option

    p = subparsers.add_parser(
        "live", help="monitor a webcam live: per-side spasm counts, overlay window, crash-safe recording",
        description="Count one-sided spasms per side as they happen, from a camera, a network stream "
                    "(http/rtsp MJPEG) or a video file played at its real frame rate.  Sides are the "
                    "PATIENT's own.  Keys in the window: q/Esc quit, space drops a marker, r re-calibrates.")
    p.add_argument("--source", default="0",
                   help="camera index (0), device (/dev/video2), stream URL (http://..., rtsp://...) "
                        "or a video file (played in real time); default 0")
    p.add_argument("--duration", type=_positive, metavar="S", help="stop after S seconds (default: until q/Ctrl-C)")
    p.add_argument("--out", help="session folder (default: <recordings>/<YYYYMMDD-HHMMSS>/)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a session already in --out (all of it); without it such a folder is refused")
    add_recordings_option(p)
    p.add_argument("--no-display", action="store_true",
                   help="no window: print a status line every few seconds (automatic without a display)")
    p.add_argument("--record-video", action="store_true",
                   help="also save the analysed raw (unmirrored) frames as video.avi in the session folder")
    p.add_argument("--evidence", nargs="?", const="eye", choices=("eye", "face"), default=None,
                   help="also keep a strip of both eyes (or the face) around every one-sided event in "
                        "SESSION/evidence/, for `twitchcam review` (a few seconds of crops in memory)")
    p.add_argument("--stall-timeout", type=_positive, default=10.0, metavar="S",
                   help="keep retrying a source that stops sending frames for S seconds, then end the "
                        "session (default 10)")
    p.add_argument("--mirrored", action="store_true",
                   help="the source itself is selfie-view (already flipped); analysis un-mirrors it")
    p.add_argument("--fps", type=_positive, metavar="F",
                   help="frame rate to assume (default: measured for cameras/streams, the file's own rate)")
    p.add_argument("--no-drop", action="store_true",
                   help="file sources only: if the analysis falls behind, slow playback down instead of "
                        "dropping frames (results then equal `twitchcam analyze` exactly)")
    p.add_argument("--status-every", type=_positive, default=5.0, metavar="S",
                   help="headless status line interval (default 5 s)")
    p.add_argument("--model", help="path to face_landmarker.task (or set TWITCHCAM_MODEL)")
    add_detector_options(p)
    p.set_defaults(func=cmd_live)


def cmd_live(args: argparse.Namespace) -> int:
    from twitchcam.cli.options import detector_params
    from twitchcam.cli.tables import summary_table
    from twitchcam.core.stream import PipelineParams
    from twitchcam.live.loop import LiveOptions, run_live

    opts = LiveOptions(
        source=args.source, model=args.model, out=Path(args.out) if args.out else None, recordings=args.recordings,
        duration_s=args.duration, display=False if args.no_display else None,
        record_video=args.record_video, stall_timeout_s=args.stall_timeout, mirrored=args.mirrored,
        fps=args.fps, status_every_s=args.status_every, no_drop=args.no_drop, overwrite=args.overwrite,
        evidence=args.evidence,
        params=PipelineParams(detector=detector_params(args)))
    outcome = run_live(opts)
    print(summary_table(Path(str(outcome.folder)).name, outcome.summary))
    dropped = outcome.summary.get("dropped_frames", 0)
    print(f"  dropped frames: {dropped}")
    print(f"  session: {outcome.folder}")
    if outcome.summary.get("status") == "truncated":
        print(f"twitchcam: error: {args.source}: truncated or corrupt; analysed what decoded "
              f"(session saved in {outcome.folder})", file=sys.stderr)
        return 1
    return 0
