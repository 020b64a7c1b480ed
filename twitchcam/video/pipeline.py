"""The video end of the one streaming pipeline: frame -> landmarks -> features, then the
signal chain (twitchcam.core.stream).

File analysis and live monitoring both call `Pipeline.process` once per frame and
`twitchcam.run.session.run_session` to drive it; they differ only in where frames come
from and how fast.
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.features import NO_FEATURES, FrameFeatures, frame_features
from twitchcam.core.stream import FrameResult, PipelineParams, SignalChain
from twitchcam.store.paths import redacted_source
from twitchcam.video.eyes import eye_edge
from twitchcam.video.identity import SignatureSchedule, face_signature
from twitchcam.video.model import MODEL_SHA256
from twitchcam.video.source import Frame


def analysis_image(bgr: np.ndarray, mirrored: bool) -> np.ndarray:
    """What the landmarker sees: the unmirrored frame in RGB."""
    return cv2.cvtColor(cv2.flip(bgr, 1) if mirrored else bgr, cv2.COLOR_BGR2RGB)


def prepare_frame(frame: Frame, mirrored: bool) -> Frame:
    """Give the frame its analysis image now (a decoding or capture thread calls this)."""
    frame.rgb = analysis_image(frame.bgr, mirrored)
    return frame


def face_features(face, rgb: np.ndarray, signatures: SignatureSchedule | None = None,
                  t_s: float = 0.0) -> tuple[FrameFeatures, np.ndarray | None]:
    """Each eye's appearance and the frame's features, from the patient's `face` (a landmarks.Face,
    or None) in the analysis image `rgb`; with the face's signature when `signatures` says it is due."""
    if face is None:
        return NO_FEATURES, None
    edge = {side: eye_edge(rgb, face.points, side) for side in SIDES}
    ff = frame_features(face.points, face.blendshapes, edge)
    if signatures is not None:
        signature = face_signature(rgb, face.points) if signatures.due(t_s, face.new_track) else None
        ff = replace(ff, new_track=face.new_track, signature=signature)
    return ff, face.points


def landmark_features(landmarker, bgr: np.ndarray, t_s: float, mirrored: bool, rgb: np.ndarray | None = None,
                      signatures: SignatureSchedule | None = None) -> tuple[FrameFeatures, np.ndarray | None]:
    """The first stages: landmarks of the unmirrored face, each eye's appearance, and the
    frame's features (with the face's signature when `signatures` says it is due).  `rgb` is
    `analysis_image(bgr, mirrored)` when a producer thread has already made it."""
    rgb = analysis_image(bgr, mirrored) if rgb is None else rgb
    return face_features(landmarker.detect(rgb, t_s), rgb, signatures, t_s)


class Pipeline:
    """Per-frame processing with all state (landmarker tracking, filters, detector).

    `process` = `measure(locate(frame))`: the two halves are separate so that file analysis
    can run `locate` (MediaPipe) one frame ahead in a thread of its own (see run/analyze.py);
    the frames go through both in order either way, so the results are the same.
    """

    def __init__(self, landmarker, fps: float, params: PipelineParams = PipelineParams(), mirrored: bool = False):
        self.landmarker = landmarker
        self.fps = fps
        self.params = params
        self.mirrored = mirrored
        self.chain = SignalChain(fps, params)
        self.signatures = SignatureSchedule()

    def prepare(self, frame: Frame) -> Frame:
        return prepare_frame(frame, self.mirrored)

    def locate(self, frame: Frame) -> Frame:
        """The patient's face in the frame (`frame.face`), from the landmarker."""
        if frame.rgb is None:
            self.prepare(frame)
        frame.face = self.landmarker.detect(frame.rgb, frame.t_s)
        return frame

    def measure(self, frame: Frame) -> FrameResult:
        """A located frame's features through the signal chain."""
        ff, points = face_features(frame.face, frame.rgb, self.signatures, frame.t_s)
        return self.chain.process(frame.index, frame.t_s, ff, points)

    def process(self, frame: Frame) -> FrameResult:
        return self.measure(self.locate(frame))

    def results(self, frames):
        """The results of `frames`, one by one (what run_session consumes)."""
        return (self.process(frame) for frame in frames)


def session_meta(source: str, mode: str, fps: float, mirrored: bool, params: PipelineParams) -> dict:
    """session.json's first fields; a stream's credentials and tokens are never stored."""
    return {"source": redacted_source(source), "mode": mode, "fps": fps, "mirrored": mirrored, "params": params.to_dict(),
            "model_sha256": MODEL_SHA256}
