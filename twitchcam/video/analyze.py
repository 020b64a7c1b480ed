"""The file driver: decode as fast as possible through the shared pipeline."""
from __future__ import annotations

from pathlib import Path

from twitchcam.errors import Interrupted
from twitchcam.video.landmarks import Landmarker
from twitchcam.core.stream import PipelineParams
from twitchcam.store.recorder import run_session
from twitchcam.video.pipeline import Pipeline, session_meta
from twitchcam.video.prefetch import Prefetched
from twitchcam.cli.progress import Progress
from twitchcam.store.session import SessionWriter
from twitchcam.video.source import FileSource

PREFETCH_DEPTH = 2  # decoded frames waiting for the landmarker: enough to hide decoding's jitter


def analyze_file(video: Path, folder: Path, model: Path, params: PipelineParams = PipelineParams(),
                 mirrored: bool = False, show_progress: bool = True) -> dict:
    """Analyse one video into a session folder and return its summary."""
    source = FileSource(video)
    meta = session_meta(str(video), "analyze", source.fps, mirrored, params)
    with Landmarker(model) as landmarker:
        pipeline = Pipeline(landmarker, source.fps, params, mirrored)
        # The folder appears only now, with everything loaded: a Ctrl-C during start-up leaves
        # no half-made session behind, and from here on run_session finalises it.
        writer = SessionWriter(folder, meta)
        progress = Progress(video.name, source.expected_frames) if show_progress else None
        try:
            # Decoding and colour conversion run a frame or two ahead in a thread, while the
            # landmarker works on the current frame.
            with Prefetched(source.frames(), depth=PREFETCH_DEPTH, prepare=pipeline.prepare) as frames:
                summary, _ = run_session(pipeline.results(frames), pipeline.chain, writer, meta,
                                         on_result=(lambda r: progress.update(r.index + 1)) if progress else None,
                                         end_status=lambda: "truncated" if source.truncated else "complete")
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted; the session so far is saved in {folder}") from None
        finally:
            if progress:
                progress.done()
    return summary
