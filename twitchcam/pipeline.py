"""One streaming pipeline: source -> landmarks -> features -> filters -> detector -> session.

File analysis and live monitoring both call `Pipeline.process` once per frame and
`run_session` to drive it; they differ only in where frames come from and how fast.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

import cv2
import numpy as np

from twitchcam.anatomy import SIDES
from twitchcam.detector import DetectorParams, StreamingDetector
from twitchcam.errors import TwitchcamError
from twitchcam.events import Event
from twitchcam.features import FEATURE_COLUMNS, FeatureParams, FrameFeatures, frame_features
from twitchcam.filters import FeatureFilter, FilterParams
from twitchcam.model import MODEL_SHA256
from twitchcam.session import SessionWriter
from twitchcam.source import Frame
from twitchcam.summary import FrameTotals, summarize

EYE = [FEATURE_COLUMNS.index(f"eye_open_{s}") for s in SIDES]
MOUTH = [FEATURE_COLUMNS.index(f"mouth_{s}") for s in SIDES]


@dataclass(frozen=True)
class PipelineParams:
    features: FeatureParams = field(default_factory=FeatureParams)
    filters: FilterParams = field(default_factory=FilterParams)
    detector: DetectorParams = field(default_factory=DetectorParams)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FrameResult:
    index: int
    t_s: float
    valid: bool
    reason: str
    pose: tuple[float, float, float]
    raw: np.ndarray
    filt: np.ndarray
    closure: tuple[float, float]
    calibrating: bool
    events: list[Event]  # events that became final at this frame
    started: list[tuple[str, float]]  # spasms first reported at this frame: (side, onset_s)
    points: np.ndarray | None  # landmarks (pixels, unmirrored frame), for overlays


def landmark_features(landmarker, bgr: np.ndarray, t_s: float, mirrored: bool,
                      params: FeatureParams) -> tuple[FrameFeatures, np.ndarray | None]:
    """The first stages: landmarks of the unmirrored face, and their features."""
    img = cv2.flip(bgr, 1) if mirrored else bgr
    points = landmarker.detect(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), t_s)
    return frame_features(points, params), points


def detector_inputs(filt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The detector's two per-side signals out of the filtered feature columns."""
    return filt[..., EYE], filt[..., MOUTH]


class Pipeline:
    """Per-frame processing with all state (landmarker tracking, filters, detector)."""

    def __init__(self, landmarker, fps: float, params: PipelineParams = PipelineParams(), mirrored: bool = False):
        self.landmarker = landmarker
        self.fps = fps
        self.params = params
        self.mirrored = mirrored
        self.filter = FeatureFilter(len(FEATURE_COLUMNS), fps, params.filters)
        self.detector = StreamingDetector(fps, params.detector, input_lag_s=self.filter.delay_s)

    def process(self, frame: Frame) -> FrameResult:
        ff, points = landmark_features(self.landmarker, frame.bgr, frame.t_s, self.mirrored, self.params.features)
        return self.process_features(frame.index, frame.t_s, ff, points)

    def process_features(self, index: int, t_s: float, ff: FrameFeatures,
                         points: np.ndarray | None = None) -> FrameResult:
        """The stages after the landmarks: filters and detector (also fed by chunked analysis)."""
        filt = self.filter.process(ff.values[None, :], np.array([ff.valid]))[0]
        eye, mouth = detector_inputs(filt)
        events = self.detector.update(t_s, ff.valid, (eye[0], eye[1]), (mouth[0], mouth[1]))
        return FrameResult(index, t_s, ff.valid, ff.reason, ff.pose, ff.values, filt, self.detector.closure,
                           self.detector.calibrating, events, list(self.detector.started), points)

    def finish(self, t_end: float) -> list[Event]:
        return self.detector.finish(t_end)


class SessionRecorder:
    """Writes frames and events as they come and keeps what the summary needs (compactly)."""

    def __init__(self, writer: SessionWriter, fps: float, meta: dict):
        self.writer = writer
        self.fps = fps
        self.meta = meta
        self.totals = FrameTotals(fps)  # constant memory however long the session: no per-frame lists
        self.events: list[Event] = []
        self.last_t = -math.inf

    def add(self, r: FrameResult, dropped: int = 0) -> None:
        self.writer.frame(r.index, r.t_s, r.valid, r.reason, r.pose, r.raw, r.filt, r.closure, dropped)
        self.add_events(r.events)
        self.totals.add(r.t_s, r.valid, r.closure)
        self.last_t = r.t_s

    def add_events(self, events: list[Event]) -> None:
        self.writer.events(events)
        self.events.extend(events)

    def summary(self, status: str) -> dict:
        return summarize(self.totals.closed(), self.events, {**self.meta, "status": status})


def session_meta(source: str, mode: str, fps: float, mirrored: bool, params: PipelineParams) -> dict:
    return {"source": source, "mode": mode, "fps": fps, "mirrored": mirrored, "params": params.to_dict(),
            "model_sha256": MODEL_SHA256}


def run_session(frames: Iterable[Frame], pipeline: Pipeline, writer: SessionWriter, meta: dict,
                on_result: Callable[[FrameResult], None] | None = None,
                dropped: Callable[[], int] | None = None,
                end_status: Callable[[], str] = lambda: "complete") -> tuple[dict, str]:
    """Drive the pipeline over frames until they end, Ctrl-C, or an error; always finalise.

    Returns (summary, status).  Whatever happens, the session folder is left complete
    and readable: frames and events so far, a summary, and session.json saying how it ended.
    """
    rec = SessionRecorder(writer, pipeline.fps, meta)
    error: BaseException | None = None
    try:
        for frame in frames:
            result = pipeline.process(frame)
            rec.add(result, dropped() if dropped else 0)
            if on_result is not None:
                on_result(result)
        status = end_status()
    except KeyboardInterrupt as exc:
        status, error = "interrupted", exc
    except TwitchcamError as exc:
        status, error = "interrupted", exc
    t_end = rec.last_t + 1.0 / pipeline.fps if math.isfinite(rec.last_t) else 0.0
    try:
        rec.add_events(pipeline.finish(t_end))
    except TwitchcamError as exc:  # e.g. the disk is full: still try to close what we can
        error = error or exc
        status = "interrupted"
    summary = rec.summary(status)
    try:
        writer.close(status, summary)
    except TwitchcamError as exc:
        error = error or exc
    if error is not None:
        raise error
    return summary, status
