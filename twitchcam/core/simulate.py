"""Simulated per-side feature signals with known events, for fast exhaustive detector tests.

Modelled on NeuroKit2's *_simulate(): a seed in, realistic signals and the truth out.
Units follow features.py, and each eye source behaves as measured on real faces:
- eye_open, the mesh's lid gap (~0.25 open): falls as the lid closes, and the OTHER eye's
  falls along with it (`drag`, ~20 % on real faces);
- edge, the eye patch's vertical-edge share (~0.55 open, ~0.2 closed): only the closing eye;
- blink, MediaPipe's eyeBlink (~0.05 at rest, ~0.85 closed): mostly the closing eye;
- mouth, the corner elevation (~-0.7 at rest, rising when pulled up/out).
Natural blinks close both lids within a few milliseconds (sub-frame `blink_lag_s`); some
spasms start just before a natural blink (`lead_share`), as in hemifacial spasm they can.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.features import FEATURE_COLUMNS, POSE_COLUMNS


@dataclass(frozen=True)
class TruthEvent:
    onset_s: float
    offset_s: float
    side: str  # left | right | both
    kind: str  # blink | clonic | tonic
    twitches: int = 1
    mouth: bool = False


@dataclass
class Simulation:
    t: np.ndarray
    valid: np.ndarray
    eye_open: np.ndarray  # (n, 2) columns in SIDES order
    edge: np.ndarray  # (n, 2)
    blink: np.ndarray  # (n, 2)
    mouth: np.ndarray  # (n, 2)
    fps: float
    truth: list[TruthEvent] = field(default_factory=list)

    def features(self) -> np.ndarray:
        """(n, len(FEATURE_COLUMNS)): the frames' raw features, as frames.csv stores them."""
        raw = np.zeros((self.t.size, len(FEATURE_COLUMNS)))
        for name in ("eye_open", "edge", "blink", "mouth"):
            for k, side in enumerate(SIDES):
                raw[:, FEATURE_COLUMNS.index(f"{name}_{side}")] = getattr(self, name)[:, k]
        raw[~self.valid] = np.nan
        return raw

    def close(self, mask: np.ndarray, side: int, level: float | np.ndarray, mesh: float = 1.0) -> None:
        """Close one lid by `level` (0..1; or one level per frame of `mask`, a closure's time
        profile) on the frames of `mask`, in every source; `mesh` < 1
        makes MediaPipe's mesh (geometry, blendshape) follow it only that far, as it barely
        follows some real one-sided lids."""
        self.eye_open[mask, side] *= 1.0 - 0.95 * mesh * level
        self.edge[mask, side] *= 1.0 - 0.65 * level
        self.blink[mask, side] = np.maximum(self.blink[mask, side], 0.05 + 0.8 * mesh * level)

    def pose(self) -> np.ndarray:
        """(n, len(POSE_COLUMNS)): a frontal face 60 px between the inner eye corners, where found."""
        pose = np.zeros((self.t.size, len(POSE_COLUMNS)))
        pose[:, POSE_COLUMNS.index("face_px")] = 60.0
        pose[~self.valid] = np.nan
        return pose


def _pulse(t: np.ndarray, onset: float, hold: float, rise: float = 0.04, fall: float = 0.07) -> np.ndarray:
    """0..1 closure profile: quick ramp in, hold, slower ramp out (like a real lid)."""
    up = np.clip((t - onset) / rise, 0, 1)
    down = np.clip((onset + rise + hold + fall - t) / fall, 0, 1)
    return np.minimum(up, down)


def simulate(duration_s: float = 120.0, fps: float = 30.0, seed: int = 0, *,
             blinks_per_min: float = 17.0, spasms_per_min: float = 4.0, sides=("left",),
             tonic_share: float = 0.3, mouth_share: float = 0.5, drag: float = 0.2,
             blink_lag_s: float = 0.01, lead_share: float = 0.0, noise: float = 0.006, drift: float = 0.1,
             dropouts: int = 1, talking: bool = True, jitter_fps: float = 0.0,
             open_level: tuple[float, float] = (0.25, 0.22), first_event_s: float = 3.0) -> Simulation:
    """Simulate a recording.  Events never overlap and start after first_event_s (calibration)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * fps)
    t = np.arange(n) / fps
    if jitter_fps:
        t = t + rng.uniform(0, jitter_fps / fps, n)
        t = np.maximum.accumulate(t)
    closure = np.zeros((n, 2))  # the lids' true closure, 0..1
    dragged = np.zeros((n, 2))  # what the mesh wrongly adds to the other eye
    mouth_pull = np.zeros((n, 2))
    truth: list[TruthEvent] = []

    # Schedule events on a timeline with gaps, as a Poisson-ish process.
    rate = (blinks_per_min + spasms_per_min) / 60.0
    cursor = first_event_s
    while rate > 0:
        cursor += max(0.6, rng.exponential(1.0 / rate))
        if cursor > duration_s - 4.0:
            break
        if rng.random() < spasms_per_min / (blinks_per_min + spasms_per_min):
            s = SIDES.index(sides[rng.integers(len(sides))])
            o = 1 - s
            intensity = rng.uniform(0.6, 1.0)
            with_mouth = rng.random() < mouth_share
            if rng.random() < tonic_share:
                hold = rng.uniform(1.1, 3.0)
                prof = _pulse(t, cursor, hold)
                kind, count, end = "tonic", 1, cursor + 0.04 + hold + 0.07
            else:
                count = int(rng.integers(1, 5))
                prof = np.zeros(n)
                start = cursor
                for _ in range(count):
                    hold = rng.uniform(0.06, 0.2)
                    prof = np.maximum(prof, _pulse(t, start, hold))
                    end = start + 0.04 + hold + 0.07
                    start = end + rng.uniform(0.04, 0.10)  # visible gap within a train
                kind = "clonic"
            closure[:, s] = np.maximum(closure[:, s], intensity * prof)
            dragged[:, o] = np.maximum(dragged[:, o], drag * intensity * prof)  # landmark drag
            if with_mouth:
                mouth_pull[:, s] += 0.2 * prof  # corner up/out, as measured on injected real faces
            truth.append(TruthEvent(cursor, end, SIDES[s], kind, count, with_mouth))
            cursor = end
            if kind == "clonic" and rng.random() < lead_share:  # a natural blink 50-150 ms into it
                on = truth[-1].onset_s + rng.uniform(0.05, 0.15)
                hold = rng.uniform(0.03, 0.1)
                closure[:, o] = np.maximum(closure[:, o], _pulse(t, on, hold))
                closure[:, s] = np.maximum(closure[:, s], _pulse(t, on, hold))
                cursor = max(cursor, on + 0.04 + hold + 0.07)
        else:
            hold = rng.uniform(0.03, 0.2)
            lag = rng.uniform(0.0, blink_lag_s)
            first = rng.integers(2)
            peak = rng.uniform(0.7, 1.0)
            for k in (0, 1):
                on = cursor + (lag if k != first else 0.0)
                closure[:, k] = np.maximum(closure[:, k], peak * rng.uniform(0.9, 1.0) * _pulse(t, on, hold))
            end = cursor + lag + 0.04 + hold + 0.07
            truth.append(TruthEvent(cursor, end, "both", "blink"))
            cursor = end

    slow = (1.0 + drift * np.sin(2 * np.pi * t / max(duration_s, 1.0)))[:, None]
    eye = np.asarray(open_level) * slow * (1.0 - 0.95 * np.maximum(closure, dragged)) + rng.normal(0, noise, (n, 2))
    edge = 0.55 * (1.0 - 0.65 * closure) + rng.normal(0, 2.5 * noise, (n, 2))
    blink = np.clip(0.05 + 0.8 * closure + 0.25 * dragged + rng.normal(0, noise, (n, 2)), 0.0, 1.0)
    mouth = -0.7 + mouth_pull + rng.normal(0, noise, (n, 2))
    if talking:  # symmetric mouth movement: the detector must not read it as a spasm
        mouth += (0.04 * np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) * (np.sin(2 * np.pi * t / 20) > 0))[:, None]
    valid = np.ones(n, dtype=bool)
    for _ in range(dropouts):
        a = rng.uniform(first_event_s, duration_s)
        gone = (t >= a) & (t < a + rng.uniform(0.5, 2.0))
        valid &= ~gone
    for x in (eye, edge, blink, mouth):
        x[~valid] = np.nan
    truth = [e for e in truth if valid[(t >= e.onset_s) & (t <= e.offset_s)].all()]
    return Simulation(t, valid, eye, edge, blink, mouth, fps, truth)
