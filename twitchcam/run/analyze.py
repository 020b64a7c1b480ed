"""The file driver (`twitchcam analyze`, and the API's `process_video`): decode as fast as
possible through the shared pipeline into a session."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from twitchcam.core.filters import preload_scipy
from twitchcam.core.stream import PipelineParams
from twitchcam.errors import Interrupted
from twitchcam.run.session import file_meta, run_session
from twitchcam.store.writer import SessionWriter
from twitchcam.video.evidence import EvidenceRecorder, EvidenceWriter
from twitchcam.video.landmarks import Landmarker
from twitchcam.video.pipeline import Pipeline
from twitchcam.video.prefetch import Prefetched
from twitchcam.video.progress import Progress
from twitchcam.video.source import FileSource

PREFETCH_DEPTH = 2  # decoded frames waiting for the landmarker: enough to hide decoding's jitter


def analyze_file(video: Path, folder: Path, model: Path, params: PipelineParams = PipelineParams(),
                 mirrored: bool = False, show_progress: bool = True, overwrite: bool = False,
                 evidence: str | None = None) -> dict:
    """Analyse one video into a session folder and return its summary.

    A folder that already holds a session is refused unless `overwrite` (see SessionWriter).
    `evidence` ('eye' or 'face') also writes a strip per one-sided event (video/evidence.py).
    """
    source = FileSource(video)
    preload_scipy()  # for the filters, while the video is identified and the model loaded
    meta = file_meta(video, source.header, mirrored, params)
    made = []

    recorder = EvidenceRecorder(folder, source.fps, evidence) if evidence else None

    def make_writer() -> SessionWriter:
        # The folder appears only once everything is loaded: a Ctrl-C during start-up
        # leaves no half-made session behind, and from then on run_session finalises it.
        made.append(SessionWriter(folder, meta, overwrite=overwrite))
        return EvidenceWriter(made[-1], recorder) if recorder else made[-1]

    with Landmarker(model) as landmarker:
        progress = Progress(video.name, source.expected_frames) if show_progress else None
        try:
            return run_file(source, landmarker, make_writer, meta, params, mirrored,
                            on_result=(lambda r: progress.update(r.index + 1)) if progress else None,
                            evidence=recorder)
        except KeyboardInterrupt:
            if not made:
                raise
            raise Interrupted(f"interrupted; the session so far is saved in {folder}") from None
        finally:
            if progress:
                progress.done()


def run_file(source: FileSource, landmarker: Landmarker, make_writer: Callable[[], object], meta: dict,
             params: PipelineParams, mirrored: bool, on_result: Callable | None = None,
             evidence: EvidenceRecorder | None = None) -> dict:
    """A file's frames through the pipeline into the writer `make_writer()` makes once the
    pipeline is ready (`analyze_file`, and the Python API's in-memory writer); the summary."""
    pipeline = Pipeline(landmarker, source.fps, params, mirrored)
    writer = make_writer()
    lost = [0]  # undecodable frames skipped before the frame being processed

    def results(located):
        for frame in located:
            lost[0] = frame.skipped_before
            result = pipeline.measure(frame)
            if evidence is not None:
                evidence.add(frame.t_s, frame.rgb, result.points, result.valid)
            yield result

    # Three stages at once: a thread decodes and converts colour, a second runs the landmarker
    # a frame or two behind it, and this thread measures, filters, detects and writes.  FFmpeg,
    # OpenCV and MediaPipe's inference release the GIL, so the landmarker, the slowest stage,
    # never waits for the others (benchmarks/speed.py: analyze as fast as the bare loop).
    with Prefetched(source.frames(), depth=PREFETCH_DEPTH, prepare=pipeline.prepare) as decoded, \
            Prefetched(decoded, depth=PREFETCH_DEPTH, prepare=pipeline.locate, name="twitchcam-landmarks") as located:
        summary, _ = run_session(results(located), pipeline.chain, writer, meta,
                                 on_result=on_result, dropped=lambda: lost[0],
                                 end_status=lambda: "truncated" if source.truncated else "complete")
    return summary
