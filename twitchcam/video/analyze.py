"""The file driver: decode as fast as possible through the shared pipeline."""
from __future__ import annotations

from pathlib import Path

from twitchcam.errors import Interrupted
from twitchcam.video.landmarks import Landmarker
from twitchcam.core.stream import PipelineParams
from twitchcam.store.recorder import run_session
from twitchcam.video.pipeline import Pipeline, session_meta
from twitchcam.video.prefetch import Prefetched
from twitchcam.video.progress import Progress
from twitchcam.store.session import SessionWriter, source_identity
from twitchcam.video.source import FileSource

PREFETCH_DEPTH = 2  # decoded frames waiting for the landmarker: enough to hide decoding's jitter


def analyze_file(video: Path, folder: Path, model: Path, params: PipelineParams = PipelineParams(),
                 mirrored: bool = False, show_progress: bool = True, overwrite: bool = False) -> dict:
    """Analyse one video into a session folder and return its summary.

    A folder that already holds a session is refused unless `overwrite` (see SessionWriter).
    """
    source = FileSource(video)
    meta = session_meta(str(video), "analyze", source.fps, mirrored, params)
    meta["source_id"] = source_identity(video)
    with Landmarker(model) as landmarker:
        pipeline = Pipeline(landmarker, source.fps, params, mirrored)
        # The folder appears only now, with everything loaded: a Ctrl-C during start-up leaves
        # no half-made session behind, and from here on run_session finalises it.
        writer = SessionWriter(folder, meta, overwrite=overwrite)
        progress = Progress(video.name, source.expected_frames) if show_progress else None
        lost = [0]  # undecodable frames skipped before the frame being processed

        def frames(ahead):  # in this thread, as the landmarker takes each frame
            for frame in ahead:
                lost[0] = frame.skipped_before
                yield frame

        try:
            # Decoding and colour conversion run a frame or two ahead in a thread, while the
            # landmarker works on the current frame.
            with Prefetched(source.frames(), depth=PREFETCH_DEPTH, prepare=pipeline.prepare) as ahead:
                summary, _ = run_session(pipeline.results(frames(ahead)), pipeline.chain, writer, meta,
                                         on_result=(lambda r: progress.update(r.index + 1)) if progress else None,
                                         dropped=lambda: lost[0],
                                         end_status=lambda: "truncated" if source.truncated else "complete")
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted; the session so far is saved in {folder}") from None
        finally:
            if progress:
                progress.done()
    return summary
