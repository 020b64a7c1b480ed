"""The stages after the landmarks, one frame at a time: features -> validity -> filters -> detector.

Pure: no video, no files.  `analyze` and `live` feed it the features of each frame as it is
decoded; `detect`, chunked analysis and the Python API feed it stored features.  Whatever
the feeder, it is this one chain of state, so the same features give the same events.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.detector import DetectorParams, StreamingDetector
from twitchcam.core.events import Event
from twitchcam.core.features import EYE_FEATURES, FEATURE_COLUMNS, NO_FEATURES, OTHER, POSE_COLUMNS, FrameFeatures
from twitchcam.core.filters import FilterParams, SplitFilter
from twitchcam.core.identity import IdentityJudge, IdentityParams
from twitchcam.core.validity import ValidityGate, ValidityParams

YAW = POSE_COLUMNS.index("yaw")

# The detector's inputs: per side, the eye's three sources, and the mouth corner.
EYE_SOURCES = ("eye_open", "edge", "blink")
EYE = [[FEATURE_COLUMNS.index(f"{f}_{s}") for f in EYE_SOURCES] for s in SIDES]  # [side][source]
MOUTH = [FEATURE_COLUMNS.index(f"mouth_{s}") for s in SIDES]
EYE_COLUMNS = [k for k, c in enumerate(FEATURE_COLUMNS) if c.rsplit("_", 1)[0] in EYE_FEATURES]
FACE_COLUMNS = [k for k in range(len(FEATURE_COLUMNS)) if k not in EYE_COLUMNS]


@dataclass(frozen=True)
class PipelineParams:
    validity: ValidityParams = field(default_factory=ValidityParams)
    # The eyes unfiltered: a clonic twitch lasts 3-5 frames at 30 fps, and a median or low-pass
    # halves it (MediaPipe's mesh is smooth already, the eye patch needs no help: its jitter is
    # what the detector's thresholds adapt to).  Brow, mouth and cheek are smoothed.
    eye_filters: FilterParams = field(default_factory=lambda: FilterParams(lowpass_hz=0.0, median=False))
    filters: FilterParams = field(default_factory=FilterParams)
    detector: DetectorParams = field(default_factory=DetectorParams)
    identity: IdentityParams = field(default_factory=IdentityParams)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PipelineParams":
        """The inverse of to_dict (TypeError if a name is unknown: another version's parameters)."""
        return cls(ValidityParams(**d.get("validity", {})), FilterParams(**d.get("eye_filters", {})),
                   FilterParams(**d.get("filters", {})), DetectorParams(**d.get("detector", {})),
                   IdentityParams(**d.get("identity", {})))


@dataclass
class FrameResult:
    index: int
    t_s: float
    valid: bool
    reason: str
    pose: tuple[float, ...]  # POSE_COLUMNS
    raw: np.ndarray
    filt: np.ndarray
    closure: tuple[float, float]
    calibrating: bool
    events: list[Event]  # events that became final at this frame
    started: list[tuple[str, float]]  # spasms first reported at this frame: (side, onset_s)
    points: np.ndarray | None  # landmarks (pixels, unmirrored frame), for overlays


def detector_inputs(filt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The detector's per-side signals out of the filtered feature columns: eyes (..., side,
    source) and mouth (..., side)."""
    return filt[..., EYE], filt[..., MOUTH]


class SignalChain:
    """Filters and detector with their state; one call per frame, in frame order."""

    def __init__(self, fps: float, params: PipelineParams = PipelineParams()):
        self.fps = fps
        self.params = params
        self.gate = ValidityGate(fps, params.validity)
        self.identity = IdentityJudge(params.identity)
        self.filter = SplitFilter(fps, [(EYE_COLUMNS, params.eye_filters), (FACE_COLUMNS, params.filters)])
        self.detector = StreamingDetector(fps, params.detector, input_lag_s=self.filter.delays[0])
        # The head's yaw, delayed like the filtered eye signals, so that each frame's yaw is
        # that of the frame its filtered values stand for.
        self._yaws: deque[float] = deque(maxlen=round(self.filter.delays[0] * fps) + 1)

    def _yaw(self, yaw: float) -> float:
        self._yaws.append(yaw)
        return self._yaws[0] if len(self._yaws) == self._yaws.maxlen else math.nan

    def _yaw_block(self, yaws: list[float]) -> list[float]:
        """`_yaw` of each of a block's yaws, at once."""
        lag, prior = self._yaws.maxlen - 1, len(self._yaws)
        delayed = ([math.nan] * max(0, lag - prior) + list(self._yaws)[max(0, prior - lag):] + yaws)[:len(yaws)]
        self._yaws.extend(yaws)
        return delayed

    def process(self, index: int, t_s: float, ff: FrameFeatures, points: np.ndarray | None = None) -> FrameResult:
        other = ff.found and not self.identity.judge(t_s, ff.new_track, ff.signature, ff.pose)
        if other:  # someone else's face: nothing of it is kept or shown
            ff, points = NO_FEATURES, None
        valid, reason = self.gate.judge(ff.found, ff.pose)
        reason = OTHER if other else reason
        filt = self.filter.process(ff.values[None, :], np.array([valid]))[0]
        eye, mouth = detector_inputs(filt)
        events = self.detector.update(t_s, valid, (tuple(eye[0]), tuple(eye[1])), (mouth[0], mouth[1]),
                                      self._yaw(float(ff.pose[YAW])))
        return FrameResult(index, t_s, valid, reason, ff.pose, ff.values, filt, self.detector.closure,
                           self.detector.calibrating, events, list(self.detector.started), points)

    def finish(self, t_end: float) -> list[Event]:
        return self.detector.finish(t_end)

    def _block(self, t, pose, raw) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
        """Validity and the filters over stored frames at once: (t, pose, valid, reason, filt).
        The same as judging and filtering them frame by frame, bit for bit (the filters' one
        `sosfilt` call runs the per-sample recurrence; invalid frames hold the last valid input
        both ways)."""
        t = np.asarray(t, dtype=np.float64)
        pose = np.asarray(pose, dtype=np.float64)
        valid, reason = self.gate.judge_block(np.isfinite(pose[:, 0]), pose)
        return t, pose, valid, reason, self.filter.process(raw, valid)

    def _detected(self, t: np.ndarray, pose: np.ndarray, valid: np.ndarray, filt: np.ndarray):
        """The detector over a judged and filtered block frame by frame, exactly as `process`
        feeds it: each frame's new events."""
        eye, mouth = detector_inputs(filt)
        # Flat lists of floats (which the garbage collector never visits), made into each
        # frame's tuples as the loop reaches it.
        gl, al, bl, gr, ar, br = (eye[:, side, k].tolist() for side in (0, 1) for k in range(len(EYE_SOURCES)))
        eyes = zip(zip(gl, al, bl), zip(gr, ar, br))
        mouths = zip(mouth[:, 0].tolist(), mouth[:, 1].tolist())
        update = self.detector.update
        for args in zip(t.tolist(), valid.tolist(), eyes, mouths, self._yaw_block(pose[:, YAW].tolist())):
            yield update(*args)

    def results(self, index, t, pose, raw, new_track=None, signatures=None):
        """Frames measured elsewhere (a chunked analysis's workers) through the chain: each frame's
        FrameResult as `process` gives it, the patient's identity judged frame by frame from the
        tracker's `new_track` flags and the faces' `signatures` (None where none was measured),
        then validity and the filters over the block at once."""
        raw = np.array(raw, dtype=np.float64)
        pose = np.array(pose, dtype=np.float64)
        other = self._others(t, pose, new_track, signatures)
        pose[other], raw[other] = np.nan, np.nan  # someone else's face: nothing of it is kept
        t, pose, valid, reason, filt = self._block(t, pose, raw)
        det = self.detector
        for k, events in enumerate(self._detected(t, pose, valid, filt)):
            yield FrameResult(int(index[k]), float(t[k]), bool(valid[k]), OTHER if other[k] else reason[k],
                              tuple(pose[k]), raw[k], filt[k], det.closure, det.calibrating, events,
                              list(det.started), None)

    def _others(self, t, pose: np.ndarray, new_track, signatures) -> np.ndarray:
        """Which of the frames show someone else's face, judged in order (see core.identity)."""
        other = np.zeros(len(pose), dtype=bool)
        if signatures is None:
            return other
        judge = self.identity.judge
        for k in np.flatnonzero(np.isfinite(pose[:, 0])).tolist():
            other[k] = not judge(float(t[k]), bool(new_track[k]), signatures[k], tuple(pose[k]))
        return other

    def run(self, t: np.ndarray, pose: np.ndarray, raw: np.ndarray, t_end: float | None = None) -> "Detection":
        """A whole stored recording through the chain (what `twitchcam detect` and the API's
        `detect` run): validity and the filters over the block at once, then the detector frame
        by frame, exactly as `process` feeds them."""
        t, pose, valid, reason, filt = self._block(t, pose, raw)
        det = self.detector
        events: list[Event] = []
        closure, calibrating = [], []
        for found in self._detected(t, pose, valid, filt):
            if found:
                events += found
            closure.append(det.closure)
            calibrating.append(det.calibrating)
        if t_end is None:
            t_end = float(t[-1]) + 1.0 / self.fps if t.size else 0.0
        events += self.finish(t_end)
        return Detection(events, valid, reason, filt,
                         np.array(closure, dtype=np.float64).reshape(-1, len(SIDES)), np.array(calibrating, dtype=bool))


@dataclass
class Detection:
    """What the chain found in a whole recording."""

    events: list[Event]
    valid: np.ndarray  # (n,) bool
    reason: list[str]  # why each invalid frame is
    filt: np.ndarray  # (n, len(FEATURE_COLUMNS)) filtered features
    closure: np.ndarray  # (n, 2) per-side closure, NaN where invalid or calibrating
    calibrating: np.ndarray  # (n,) bool


def detect_features(t, pose, raw, fps: float, params: PipelineParams = PipelineParams(),
                    t_end: float | None = None) -> Detection:
    """Validity, filters and detector over stored per-frame pose and features (what
    `twitchcam detect` runs)."""
    return SignalChain(fps, params).run(t, pose, raw, t_end)
