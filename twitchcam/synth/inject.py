"""Ground truth for twitchcam: inject one-sided hemifacial spasms into real face video.

No public HFS video comes with event-level labels, so we make our own: take a real face
video without spasms, find its landmarks, and *warp* (never paint) one side's upper
eyelid down over the eye at known times, optionally pulling the same side's mouth corner
up/out and lifting the cheek.  The warped video plus a truth CSV lets the detector be
scored event by event on real skin, real blinks and real head motion.

Sides are the SUBJECT's anatomical sides (twitchcam.core.anatomy): side="left" closes the eye
on the IMAGE's right.  Times are seconds on the output video's clock (frame k at k / fps);
an event's closure level is > 0 exactly on (onset_s, offset_s).  Short clips are looped
forward/backward (`pingpong`) to any length, so their natural blinks repeat as well.

Usage:
    python -m twitchcam.synth.inject dataset OUT_DIR VIDEO [VIDEO ...] [--seed N] [--duration S]
    python -m twitchcam.synth.inject inject VIDEO OUT.avi --event 3.0,left,tonic,1.0,1 [...]
    python -m twitchcam.synth.inject verify VIDEO OUT.avi OUT_truth.csv

`inject` writes OUT_truth.csv and OUT_truth_events.json (per-twitch timing) beside OUT;
`verify` and `dataset --verify` print how far MediaPipe's eye_open fell per event.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np

from twitchcam.core.anatomy import LANDMARKS, LOWER_LID, SIDES, UPPER_LID
from twitchcam.core.features import FEATURE_COLUMNS, frame_features
from twitchcam.synth.profiles import (  # noqa: F401  (the event model lives in profiles; re-exported)
    KINDS,
    TRUTH_COLUMNS,
    SpasmEvent,
    Twitch,
    _r,
    _ramp,
    load_events,
    read_truth,
    save_events,
    side_levels,
    write_truth,
)
from twitchcam.video.wheelfetch import sha256_of

GENERATOR_VERSION = 2  # bump when output for the same seed/params changes (invalidates caches)
_LATERAL = {"left": 1.0, "right": -1.0}  # subject's left is the image's +x on an unmirrored face


def _col(feature: str, side: str) -> int:
    return FEATURE_COLUMNS.index(f"{feature}_{side}")


# Hand-annotated stretches (source seconds) where a hand covers the mouth: a mouth event
# there would warp the hand, so the truth would claim something nobody can see.  Keyed by
# the source's SHA-256, so a fixture may store the clip under any name.
MOUTH_OCCLUDED: dict[str, tuple[tuple[float, float], ...]] = {
    # WolfgangLanger_Pexels.mp4
    "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f": ((2.3, 9.8),),
}


# ---------------------------------------------------------------------------------------
# Temporal profile: the warp's original event makers (profiles.py has the v2 patterns)
# ---------------------------------------------------------------------------------------

def clonic_train(rng: np.random.Generator, onset_s: float, side: str, intensity: float,
                 mouth: bool = False) -> SpasmEvent:
    """2-5 twitches of 80-200 ms, gaps 60-150 ms (< 200 ms, so a detector sees ONE train)."""
    twitches, t = [], onset_s
    for k in range(int(rng.integers(2, 6))):
        if k:
            t += rng.uniform(0.06, 0.15)
        rise, fall, total = rng.uniform(0.04, 0.06), rng.uniform(0.06, 0.08), rng.uniform(0.08, 0.20)
        squeeze = min(1.0, total / (rise + fall))  # very short twitches ramp faster
        rise, fall = _r(rise * squeeze), _r(fall * squeeze)
        hold = _r(max(0.0, total - rise - fall))
        twitches.append(Twitch(_r(t), rise, hold, fall))
        t = twitches[-1].end_s
    return SpasmEvent(side, "clonic", intensity, mouth, tuple(twitches))


def tonic_hold(rng: np.random.Generator, onset_s: float, side: str, intensity: float,
               mouth: bool = False) -> SpasmEvent:
    """A sustained closure held 1.0-3.0 s."""
    tw = Twitch(_r(onset_s), _r(rng.uniform(0.08, 0.20)), _r(rng.uniform(1.0, 3.0)), _r(rng.uniform(0.10, 0.30)))
    return SpasmEvent(side, "tonic", intensity, mouth, (tw,))


def make_event(rng: np.random.Generator, onset_s: float, side: str, kind: str, intensity: float,
               mouth: bool = False) -> SpasmEvent:
    return {"clonic": clonic_train, "tonic": tonic_hold}[kind](rng, onset_s, side, intensity, mouth)


# ---------------------------------------------------------------------------------------
# Warps
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WarpParams:
    """Warp geometry, in units of the eye width (eye) or the inner-canthal distance (rest)."""

    skin_above: float = 0.6  # height of upper-lid skin that slides down, x eye width
    skin_below: float = 0.35  # height of lower-lid skin pushed up, x eye width
    lash_band: float = 0.2  # lashes/margin just above the upper lid landmarks, x eye width
    lash_squash: float = 0.35  # the lash band's thickness at full closure (lashes fold down)
    lower_lid_rise: float = 0.15  # where the lids meet at full closure, from the lower lid
    mouth_up: float = 0.12  # mouth corner lift, x inner-canthal distance
    mouth_out: float = 0.08  # lateral pull of the mouth corner
    mouth_radius: float = 0.55  # reach of the mouth warp (stays clear of the other corner)
    cheek_up: float = 0.06
    cheek_radius: float = 0.6  # stays clear of the nose tip, a rigid head-frame point


def _eye_axes(points: np.ndarray, side: str):
    """Eye-local frame: origin between the corners, u along the eye (image left to right), v image-down."""
    upper = points[list(UPPER_LID[side]), :2]
    lower = points[list(LOWER_LID[side]), :2]
    a, b = upper[0], upper[-1]  # outer and inner corner, shared by both contours
    ex = b - a
    ex = ex / max(float(np.hypot(*ex)), 1e-6)
    if ex[0] < 0:
        ex = -ex
    ey = np.array([-ex[1], ex[0]])
    origin = (a + b) / 2
    return origin, ex, ey, upper, lower


def _sorted_profile(pts: np.ndarray, origin, ex, ey) -> tuple[np.ndarray, np.ndarray]:
    u, v = (pts - origin) @ ex, (pts - origin) @ ey
    order = np.argsort(u)
    return u[order], v[order]


def lid_profiles(points: np.ndarray, side: str):
    """The eye-local frame (origin, ex, ey) and the upper and lower lid profiles (u, v) sorted
    along the eye, plus the eye's width in pixels: what every lid generator draws from."""
    origin, ex, ey, upper, lower = _eye_axes(points, side)
    uu, vu = _sorted_profile(upper, origin, ex, ey)
    ul, vl = _sorted_profile(lower, origin, ex, ey)
    return origin, ex, ey, uu, vu, ul, vl, float(uu[-1] - uu[0])


def eye_grid(origin, ex, ey, box_uv: np.ndarray, shape):
    """The pixels of the box (corners in eye coordinates u, v) inside the frame: (roi, x, y,
    u, v) of every pixel, or None when the box is outside the frame."""
    roi = _roi(origin + box_uv[:, :1] * ex + box_uv[:, 1:] * ey, shape)
    if roi is None:
        return None
    x0, y0, x1, y1 = roi
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    dx, dy = xs - origin[0], ys - origin[1]
    return roi, xs, ys, dx * ex[0] + dy * ex[1], dx * ey[0] + dy * ey[1]


def read_manifest(path: Path) -> dict:
    """A dataset folder's manifest.json, or {} when it is missing or unreadable (rebuild)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _roi(corners_xy: np.ndarray, shape) -> tuple[int, int, int, int] | None:
    h, w = shape[:2]
    x0, y0 = np.floor(corners_xy.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners_xy.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _remap_roi(frame: np.ndarray, roi, map_x: np.ndarray, map_y: np.ndarray) -> None:
    x0, y0, x1, y1 = roi
    frame[y0:y1, x0:x1] = cv2.remap(frame, map_x.astype(np.float32), map_y.astype(np.float32),
                                    cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def close_eyelid(frame: np.ndarray, points: np.ndarray, side: str, level: float,
                 params: WarpParams = WarpParams()) -> np.ndarray:
    """Slide one side's upper lid down (and lower lid up a little) by `level` in 0..1, in place.

    Per column along the eye the map is piecewise linear: the skin above the upper lid is
    stretched down to the new lid edge, the lash band at the lid margin is flattened (a
    thick open-eye lash fringe reads as an open eye to MediaPipe), the eyeball below the
    new edge stays put (so the lid occludes it, as a real lid does), and the lower-lid
    skin is compressed upwards.  The displacement is zero at the lid corners and at the
    far edges of the skin bands, so there are no seams; pixels outside them are untouched.
    """
    if level <= 0:
        return frame
    origin, ex, ey, uu, vu, ul, vl, width = lid_profiles(points, side)
    if width < 2:
        return frame
    above, below = params.skin_above * width, params.skin_below * width
    box_uv = np.array([[uu[0] - 1, vu.min() - above - 1], [uu[-1] + 1, vu.min() - above - 1],
                       [uu[0] - 1, vl.max() + below + 1], [uu[-1] + 1, vl.max() + below + 1]])
    grid = eye_grid(origin, ex, ey, box_uv, frame.shape)
    if grid is None:
        return frame
    roi, xs, ys, u, v = grid
    top_lid, bot_lid = np.interp(u, uu, vu), np.interp(u, ul, vl)  # clamps to the corners outside
    gap = np.maximum(bot_lid - top_lid, 0.0)
    meet = bot_lid - params.lower_lid_rise * gap
    new_top = top_lid + level * (meet - top_lid)
    new_bot = bot_lid + level * (meet - bot_lid)
    band_top, band_bot = top_lid - above, bot_lid + below
    lash_src = params.lash_band * width
    taper = gap / max(float(np.max(np.interp(uu, ul, vl) - vu)), 1e-6)  # 0 at the corners
    lash_dst = lash_src * (1.0 - level * (1.0 - params.lash_squash) * np.clip(taper, 0.0, 1.0))
    segments = (  # (dest from, dest to, source from, source to), each linear
        (band_top, new_top - lash_dst, band_top, top_lid - lash_src),  # lid skin, stretched
        (new_top - lash_dst, new_top, top_lid - lash_src, top_lid),  # lash line, flattened
        (new_bot, band_bot, bot_lid, band_bot),  # lower-lid skin, pushed up
    )
    src_v = v.copy()
    for d0, d1, s0, s1 in segments:
        m = (v > d0) & (v < d1)
        src_v[m] = s0[m] + (v[m] - d0[m]) * ((s1[m] - s0[m]) / (d1[m] - d0[m]))
    shift = src_v - v
    _remap_roi(frame, roi, xs + shift * ey[0], ys + shift * ey[1])
    return frame


def _face_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Image-plane head x (subject's right to left), head up, and inner-canthal distance."""
    x = points[LANDMARKS["left"].eye_inner, :2] - points[LANDMARKS["right"].eye_inner, :2]
    scale = float(np.hypot(*x))
    x = x / max(scale, 1e-6)
    return x, np.array([x[1], -x[0]]), scale


def pull_mouth(frame: np.ndarray, points: np.ndarray, side: str, level: float,
               params: WarpParams = WarpParams()) -> np.ndarray:
    """Pull one side's mouth corner up/out and lift its cheek by `level` in 0..1, in place.

    Each movement is a compact bump (1 - r^2/R^2)^2: smooth, exactly zero beyond R, and
    gentle enough (shift < 0.65 R) to stay a one-to-one warp.
    """
    if level <= 0:
        return frame
    hx, hup, scale = _face_axes(points)
    lm = LANDMARKS[side]
    bumps = [  # (centre, shift, radius)
        (points[lm.mouth_corner, :2],
         level * scale * (params.mouth_up * hup + params.mouth_out * _LATERAL[side] * hx),
         params.mouth_radius * scale),
        (points[list(lm.cheek), :2].mean(axis=0), level * scale * params.cheek_up * hup,
         params.cheek_radius * scale),
    ]
    corners = np.concatenate([[c + s - r, c + s + r] for c, s, r in bumps])
    roi = _roi(corners, frame.shape)
    if roi is None:
        return frame
    x0, y0, x1, y1 = roi
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    map_x, map_y = xs.copy(), ys.copy()
    for centre, shift, radius in bumps:
        c = centre + shift  # backward map: the bump sits where the content moves to
        w = np.clip(1.0 - ((xs - c[0]) ** 2 + (ys - c[1]) ** 2) / radius**2, 0.0, 1.0) ** 2
        map_x -= shift[0] * w
        map_y -= shift[1] * w
    _remap_roi(frame, roi, map_x, map_y)
    return frame


def inject_frame(frame: np.ndarray, points: np.ndarray | None, levels: dict[str, tuple[float, float]],
                 params: WarpParams = WarpParams()) -> np.ndarray:
    """A warped copy of `frame`: levels[side] = (eye closure, mouth pull).  No face, no change."""
    out = frame.copy()
    if points is None or not np.isfinite(points).all():
        return out
    for side, (eye, mouth) in levels.items():
        close_eyelid(out, points, side, eye, params)
        pull_mouth(out, points, side, mouth, params)
    return out


# ---------------------------------------------------------------------------------------
# Source clips, looping, video I/O
# ---------------------------------------------------------------------------------------

def video_fps(path: str | Path) -> float:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {path}")
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return float(fps) if fps and np.isfinite(fps) and fps > 0 else 30.0


def iter_frames(path: str | Path) -> Iterator[np.ndarray]:
    """BGR frames one at a time (a minute of injected video is ~1 GB raw)."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {path}")
    try:
        while True:
            ok, fr = cap.read()
            if not ok:
                return
            yield fr
    finally:
        cap.release()


def decode_video(path: str | Path) -> tuple[np.ndarray, float]:
    """All frames (N, H, W, 3) BGR and the frame rate, for short source clips."""
    frames = list(iter_frames(path))
    if not frames:
        raise ValueError(f"no frames in {path}")
    return np.stack(frames), video_fps(path)


def bounce_indices(n: int, n_out: int) -> np.ndarray:
    """Source frame for each output frame when playing forward, backward, forward, ...

    Turn-around frames are not repeated, so motion reverses smoothly with no jump cut.
    """
    if n == 1:
        return np.zeros(n_out, dtype=int)
    k = np.arange(n_out) % (2 * n - 2)
    return np.where(k < n, k, 2 * n - 2 - k)


def pingpong(frames: Sequence, repeats: int) -> list:
    """The clip played forward then backward, `repeats` passes in all (no copies made)."""
    n = len(frames)
    n_out = n + (repeats - 1) * (n - 1) if repeats > 0 else 0
    return [frames[i] for i in bounce_indices(n, n_out)]


def write_pingpong(src: str | Path, dst: str | Path, seconds: float) -> int:
    """A longer real clip for tests and benchmarks: `src` played back and forth for `seconds`."""
    frames, fps = decode_video(src)
    return write_video(dst, (frames[i] for i in bounce_indices(len(frames), int(seconds * fps))), fps)


def frame_times(n: int, fps: float) -> np.ndarray:
    return np.arange(n) / fps


def _open_writer(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    # FFmpeg for both: OpenCV's own MJPEG writer has a quality knob but rounds the frame
    # rate to an integer (23.976 -> 24), which would skew every truth time.  FFmpeg's MJPG
    # runs ~42 dB PSNR on our clips, mp4v ~39 dB at a quarter of the size.
    fourcc = {".avi": "MJPG", ".mp4": "mp4v"}.get(path.suffix.lower())
    if fourcc is None:
        raise ValueError(f"write .avi (MJPG) or .mp4 (mp4v), not {path.suffix}")
    w = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*fourcc), fps, size)
    if not w.isOpened():
        raise OSError(f"cannot write video {path}")
    return w


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Write BGR frames; returns the frame count.  Written to a temp name, then renamed."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    writer, n = None, 0
    try:
        for fr in frames:
            if writer is None:
                writer = _open_writer(tmp, fps, (fr.shape[1], fr.shape[0]))
            writer.write(fr)
            n += 1
    finally:
        if writer is not None:
            writer.release()
    if n == 0:
        raise ValueError("no frames to write")
    tmp.replace(path)
    return n


def detect_landmarks(frames: Iterable[np.ndarray], fps: float, model_path: str | Path | None = None
                     ) -> np.ndarray:
    """(N, 478, 3) pixel landmarks per frame, NaN where no face."""
    from twitchcam.video.landmarks import Landmarker  # mediapipe import is slow; fast tests skip it
    from twitchcam.video.model import ensure_model

    missing = np.full((478, 3), np.nan)
    with Landmarker(ensure_model(model_path)) as lm:
        found = [lm.detect(cv2.cvtColor(fr, cv2.COLOR_BGR2RGB), i / fps) for i, fr in enumerate(frames)]
    return np.array([missing if face is None else face.points for face in found]).reshape(-1, 478, 3)


def feature_series(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """twitchcam's geometric per-frame features (columns FEATURE_COLUMNS) and whether a face was found."""
    values = np.full((len(landmarks), len(FEATURE_COLUMNS)), np.nan)
    valid = np.zeros(len(landmarks), dtype=bool)
    for i, pts in enumerate(landmarks):
        ff = frame_features(pts if np.isfinite(pts).all() else None)
        values[i], valid[i] = ff.values, ff.found
    return values, valid


@dataclass
class SourceClip:
    """A real face clip with its landmarks, found once and reused for every loop pass."""

    path: Path
    frames: np.ndarray
    fps: float
    landmarks: np.ndarray  # (N, 478, 3), NaN where no face
    eye_open: np.ndarray  # (N, len(SIDES)), columns in SIDES order
    valid: np.ndarray  # (N,) face found and pose usable

    @classmethod
    def load(cls, path: str | Path, model_path: str | Path | None = None) -> "SourceClip":
        frames, fps = decode_video(path)
        lms = detect_landmarks(frames, fps, model_path)
        values, valid = feature_series(lms)
        eye = values[:, [_col("eye_open", side) for side in SIDES]]
        return cls(Path(path), frames, fps, lms, eye, valid)

    def indices(self, duration_s: float | None = None) -> np.ndarray:
        """Source frame per output frame, bouncing to fill `duration_s` (default: the clip once)."""
        n_out = len(self.frames) if duration_s is None else int(round(duration_s * self.fps))
        return bounce_indices(len(self.frames), n_out)


def render(clip: SourceClip, events: Sequence[SpasmEvent], duration_s: float | None = None,
           params: WarpParams = WarpParams()) -> Iterator[np.ndarray]:
    """Injected frames at t = k / fps, source landmarks driving the warp."""
    idx = clip.indices(duration_s)
    lv = side_levels(events, frame_times(len(idx), clip.fps))
    for k, i in enumerate(idx):
        levels = {side: (float(eye[k]), float(mouth[k])) for side, (eye, mouth) in lv.items()}
        yield inject_frame(clip.frames[i], clip.landmarks[i], levels, params)


def inject_video(clip: SourceClip, out_video: str | Path, out_truth: str | Path,
                 events: Sequence[SpasmEvent], duration_s: float | None = None,
                 params: WarpParams = WarpParams()) -> int:
    """Write the injected video, its truth CSV and an events JSON beside the CSV; returns the frame count."""
    n = write_video(out_video, render(clip, events, duration_s, params), clip.fps)
    write_truth(out_truth, events)
    save_events(events_path(out_truth), events)
    return n


def events_path(truth: str | Path) -> Path:
    truth = Path(truth)
    return truth.with_name(truth.stem + "_events.json")


# ---------------------------------------------------------------------------------------
# Scheduling and the evaluation set
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatasetParams:
    duration_s: float = 60.0
    warmup_s: float = 2.0  # the detector calibrates here: no events
    min_gap_s: float = 1.5  # between one event's offset and the next onset
    max_extra_gap_s: float = 2.0  # random extra spacing, so events are not periodic
    end_margin_s: float = 0.5
    intensities: tuple[float, ...] = (1.0, 0.75, 0.55)
    sides: tuple[str, ...] = SIDES  # HFS is one-sided; the evaluation set covers both
    open_fraction: float = 0.6  # source eye counts as open above this share of its p90
    min_open_share: float = 0.85  # of event frames with the source eye open (blinks allowed)
    guard_s: float = 0.25  # face must be found this long around an event
    lookahead: int = 4  # events of the cycle that compete for each slot
    video_ext: str = ".avi"  # or ".mp4" (mp4v), a quarter of the size


def _usable(clip: SourceClip, idx: np.ndarray, params: DatasetParams) -> dict[str, np.ndarray]:
    """Per output frame: face usable, each side's eye open, mouth visible."""
    with warnings.catch_warnings():  # a clip without any face: no baseline, no events
        warnings.simplefilter("ignore", RuntimeWarning)
        baseline = np.nanpercentile(np.where(clip.valid[:, None], clip.eye_open, np.nan), 90, axis=0)
    eye_ok = np.nan_to_num(clip.eye_open) >= params.open_fraction * baseline
    src_t = idx / clip.fps
    mouth_ok = np.ones(len(idx), dtype=bool)
    occluded = MOUTH_OCCLUDED.get(sha256_of(clip.path), ()) if clip.path.is_file() else ()
    for t0, t1 in occluded:
        mouth_ok &= ~((src_t >= t0) & (src_t <= t1))
    usable = {"face": clip.valid[idx], "mouth": mouth_ok}
    usable.update({side: eye_ok[idx, k] for k, side in enumerate(SIDES)})
    return usable


def plan_events(clip: SourceClip, rng: np.random.Generator, params: DatasetParams = DatasetParams()
                ) -> list[SpasmEvent]:
    """Events from a balanced, shuffled cycle of (side, kind, intensity, mouth).

    Each goes at the earliest time (after a random extra gap) where the source face is
    found and that side's eye is open around it, so no truth event hides in a look-down
    or a covered face; the scene between events keeps the source's own blinks and
    expressions, which the detector must NOT report.  The next few events of the cycle
    compete for each slot, so a long tonic hold that does not fit yields to a short train.
    """
    idx = clip.indices(params.duration_s)
    usable = _usable(clip, idx, params)
    fps = clip.fps
    guard = int(np.ceil(params.guard_s * fps))
    last = int(np.floor((params.duration_s - params.end_margin_s) * fps))  # last frame an event may touch
    combos = [(s, k, i, m) for s in params.sides for k in KINDS for i in params.intensities for m in (False, True)]
    order: list[tuple] = []
    pending: list[SpasmEvent] = []

    def fits(ev: SpasmEvent, k: int) -> bool:
        span = int(np.ceil(ev.offset_s * fps))
        if k + span > last:
            return False
        a, b, eye = max(0, k - guard), k + span + guard + 1, usable[ev.side]
        # Eye open on both sides of the event (no onset inside a look-down); blinks inside are fine.
        return bool(usable["face"][a:b].all() and eye[a:k + 1].all() and eye[k + span:b].all()
                    and eye[a:b].mean() >= params.min_open_share
                    and (not ev.mouth or usable["mouth"][a:b].all()))

    events: list[SpasmEvent] = []
    earliest = params.warmup_s
    while True:
        while len(pending) < params.lookahead:
            if not order:
                order = [combos[j] for j in rng.permutation(len(combos))]
            side, kind, intensity, mouth = order.pop()
            pending.append(make_event(rng, 0.0, side, kind, intensity, mouth))
        start = int(np.ceil((earliest + rng.uniform(0, params.max_extra_gap_s)) * fps))
        slot = next(((k, ev) for k in range(start, last + 1) for ev in pending if fits(ev, k)), None)
        if slot is None:
            return events
        k, ev = slot
        pending.remove(ev)
        events.append(ev.shifted(_r(k / fps)))
        earliest = events[-1].offset_s + params.min_gap_s


@dataclass(frozen=True)
class DatasetItem:
    source: Path
    video: Path
    truth: Path
    n_frames: int
    fps: float
    events: int


def make_dataset(out_dir: str | Path, videos: Sequence[str | Path], seed: int,
                 params: DatasetParams = DatasetParams(), warp: WarpParams = WarpParams(),
                 model_path: str | Path | None = None) -> list[DatasetItem]:
    """Injected clips + truth CSVs for each source video, reproducible from `seed`.

    Each item is cached: manifest.json records the seed, parameters and the source's
    SHA-256, and an item is rebuilt only when one of those changed or a file is missing.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    manifest = read_manifest(manifest_path)
    items = []
    for src in map(Path, videos):
        key = {"version": GENERATOR_VERSION, "seed": seed, "source_sha256": sha256_of(src),
               "params": asdict(params), "warp": asdict(warp)}
        stem = f"{src.stem}_seed{seed}"
        video, truth = out_dir / f"{stem}{params.video_ext}", out_dir / f"{stem}_truth.csv"
        entry = manifest.get(stem)
        files = (video, truth, events_path(truth))
        if not (entry and entry["key"] == json.loads(json.dumps(key)) and all(f.is_file() for f in files)):
            clip = SourceClip.load(src, model_path)
            rng = np.random.default_rng([seed, zlib.crc32(src.name.encode())])
            events = plan_events(clip, rng, params)
            n = inject_video(clip, video, truth, events, params.duration_s, warp)
            entry = {"key": key, "source": str(src), "video": video.name, "truth": truth.name,
                     "n_frames": n, "fps": clip.fps, "events": len(events)}
            manifest[stem] = entry
            manifest_path.write_text(json.dumps(manifest, indent=1))
        items.append(DatasetItem(src, video, truth, entry["n_frames"], entry["fps"], entry["events"]))
    return items


# ---------------------------------------------------------------------------------------
# Verification: does MediaPipe see the injected closures?
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventResponse:
    """How MediaPipe's features moved during one injected event, against the source."""

    event: SpasmEvent
    frames: int  # peak frames measured
    injected_ratio: float  # median eye_open injected/source on the event's side; 1 = unchanged
    injected_min: float
    other_ratio: float  # the same on the other side
    mouth_delta: float  # median change of the `mouth` feature on the event's side (face units)
    other_mouth_delta: float


def event_responses(clip: SourceClip, video: str | Path, events: Sequence[SpasmEvent],
                    model_path: str | Path | None = None, peak_share: float = 0.8) -> list[EventResponse]:
    """Per event, how far eye_open fell (and the mouth feature rose) on each side.

    Everything is compared with the source's features at the same source frame, so the
    source's own blinks and gaze shifts cancel; only frames whose injected level is
    >= peak_share of the event's intensity count.
    """
    fps = video_fps(video)
    injected, _ = feature_series(detect_landmarks(iter_frames(video), fps, model_path))
    source, _ = feature_series(clip.landmarks)
    source = source[clip.indices(len(injected) / clip.fps)]
    t = frame_times(len(injected), fps)
    out = []
    for ev in events:
        other = next(s for s in SIDES if s != ev.side)
        peak = ev.level(t) >= peak_share * ev.intensity - 1e-9
        eye = {s: injected[peak, _col("eye_open", s)] / source[peak, _col("eye_open", s)] for s in SIDES}
        mouth = {s: injected[peak, _col("mouth", s)] - source[peak, _col("mouth", s)] for s in SIDES}
        out.append(EventResponse(ev, int(peak.sum()), float(np.nanmedian(eye[ev.side])),
                                 float(np.nanmin(eye[ev.side])), float(np.nanmedian(eye[other])),
                                 float(np.nanmedian(mouth[ev.side])), float(np.nanmedian(mouth[other]))))
    return out


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------

def _parse_event(text: str, rng: np.random.Generator) -> SpasmEvent:
    """ONSET,SIDE,KIND,INTENSITY[,MOUTH], e.g. 3.0,left,tonic,1.0,1"""
    parts = text.split(",")
    if len(parts) not in (4, 5):
        raise argparse.ArgumentTypeError(f"--event wants ONSET,SIDE,KIND,INTENSITY[,MOUTH], got {text!r}")
    mouth = len(parts) == 5 and parts[4].strip() in ("1", "true", "yes")
    return make_event(rng, float(parts[0]), parts[1].strip(), parts[2].strip(), float(parts[3]), mouth)


def format_responses(responses: Sequence[EventResponse]) -> str:
    lines = [f"{'onset':>7} {'offset':>7} {'side':>5} {'kind':>6} {'n':>2} {'int':>5} {'mouth':>5} "
             f"{'frames':>6} {'eye_inj':>7} {'eye_min':>7} {'eye_oth':>7} {'mth_inj':>7} {'mth_oth':>7}"]
    for r in responses:
        ev = r.event
        lines.append(f"{ev.onset_s:7.2f} {ev.offset_s:7.2f} {ev.side:>5} {ev.kind:>6} {len(ev.twitches):2d} "
                     f"{ev.intensity:5.2f} {int(ev.mouth):5d} {r.frames:6d} {r.injected_ratio:7.2f} "
                     f"{r.injected_min:7.2f} {r.other_ratio:7.2f} {r.mouth_delta:7.3f} {r.other_mouth_delta:7.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m twitchcam.synth.inject", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="face_landmarker.task (default: twitchcam's provisioned model)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ds = sub.add_parser("dataset", help="build the seeded evaluation set (cached)")
    ds.add_argument("out_dir")
    ds.add_argument("videos", nargs="+")
    ds.add_argument("--seed", type=int, default=0)
    ds.add_argument("--duration", type=float, default=DatasetParams.duration_s)
    ds.add_argument("--verify", action="store_true", help="also measure MediaPipe's response per event")
    inj = sub.add_parser("inject", help="inject hand-picked events into one video")
    inj.add_argument("video")
    inj.add_argument("out", help="output .avi (MJPG) or .mp4 (mp4v); truth goes to OUT_truth.csv")
    inj.add_argument("--event", action="append", default=[], help="ONSET,SIDE,KIND,INTENSITY[,MOUTH]")
    inj.add_argument("--duration", type=float, help="loop the clip back and forth to this length")
    inj.add_argument("--seed", type=int, default=0, help="for twitch timing within each event")
    smp = sub.add_parser("sample", help="the `make run` demo clip: a real face with known spasms")
    smp.add_argument("out_dir")
    smp.add_argument("--seed", type=int, default=1)
    ver = sub.add_parser("verify", help="measure MediaPipe's response to an injected video")
    ver.add_argument("source")
    ver.add_argument("video")
    ver.add_argument("truth", help="the truth CSV; its _events.json sidecar is read")
    args = ap.parse_args(argv)

    if args.cmd == "dataset":
        params = DatasetParams(duration_s=args.duration)
        for item in make_dataset(args.out_dir, args.videos, args.seed, params, model_path=args.model):
            print(f"{item.video}  {item.truth}  {item.n_frames} frames @ {item.fps:.3f} fps, {item.events} events")
            if args.verify:
                clip = SourceClip.load(item.source, args.model)
                print(format_responses(event_responses(clip, item.video, load_events(events_path(item.truth)),
                                                       args.model)))
    elif args.cmd == "sample":
        from twitchcam.synth.videos import real_videos
        # A patient with left-sided HFS: spasms on the left only, alongside real two-sided blinks.
        item, = make_dataset(args.out_dir, [real_videos()["single_face.mp4"]], args.seed,
                             DatasetParams(duration_s=40.0, sides=("left",)), model_path=args.model)
        link = Path(args.out_dir) / f"sample{item.video.suffix}"
        link.unlink(missing_ok=True)
        link.symlink_to(item.video.name)
        print(f"sample clip {link}: {item.n_frames} frames, {item.events} injected one-sided spasms;")
        print(f"the truth is in {item.truth}:")
        print(item.truth.read_text().rstrip())
    elif args.cmd == "inject":
        rng = np.random.default_rng(args.seed)
        events = [_parse_event(e, rng) for e in args.event]
        out = Path(args.out)
        truth = out.with_name(out.stem + "_truth.csv")
        n = inject_video(SourceClip.load(args.video, args.model), out, truth, events, args.duration)
        print(f"{out}  {truth}  {n} frames, {len(events)} events")
    else:
        clip = SourceClip.load(args.source, args.model)
        print(format_responses(event_responses(clip, args.video, load_events(events_path(args.truth)), args.model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
