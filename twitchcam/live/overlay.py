"""The live window's picture, drawn on a numpy image: no window, no I/O, no OpenCV GUI.

`LiveHistory` keeps the little the display needs (bounded: ~10 s of traces, 5 minutes of
events and tracked time), and `render` turns a frame + history into one BGR canvas:

    +------------------------------------------------------------------------------+
    | twitchcam  source                 STATE              blinks/min    00:12:34  |
    +-------------+------------------------------------------------+---------------+
    | PATIENT'S   |                                                | PATIENT'S     |
    | LEFT        |        mirrored preview with eye, brow and     | RIGHT         |
    |   12        |        mouth-corner landmarks                  |    0          |
    |  spasms     |                                                |   spasms      |
    |  2.4 /min   |                                                |   0.0 /min    |
    +-------------+----------------------+-------------------------+---------------+
    | LEFT: eye closure + mouth pull,    | RIGHT: eye closure + mouth pull,          |
    | last 10 s, events shaded           | last 10 s, events shaded                  |
    +------------------------------------+-------------------------------------------+
    | fps  dropped  markers                                   q quit  space  r       |
    +------------------------------------------------------------------------------+

Sides are always the PATIENT's.  The preview is a mirror (as people expect), so the
patient's left eye appears on the viewer's left, next to the LEFT panel; analysis always
runs on the unmirrored frame and its landmarks are mirrored here for display only.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from twitchcam.core.anatomy import LANDMARKS, LOWER_LID, SIDES, UPPER_LID
from twitchcam.core.clock import format_clock
from twitchcam.core.events import Event
from twitchcam.core.features import NO_FACE, OTHER, POSE, SMALL
from twitchcam.core.stream import MOUTH
from twitchcam.core.style import SIDE_COLOUR, bgr

# -- look ---------------------------------------------------------------------------------
# BGR.  Left blue, right orange, as in the report (Okabe-Ito hues, lightened for a dark screen).
SIDE_COLOR = {side: bgr(c) for side, c in SIDE_COLOUR.items()}  # OpenCV BGR of the one side palette
BLINK_COLOR = (200, 200, 200)
MOUTH_COLOR = (120, 235, 120)
BG = (30, 30, 34)
BG_DARK = (20, 20, 23)
BG_PLOT = (40, 40, 46)
GRID = (70, 70, 78)
WHITE = (245, 245, 245)
DIM = (150, 150, 158)
OK_GREEN = (90, 200, 90)
WARN_AMBER = (0, 190, 255)
BAD_RED = (70, 70, 235)


@dataclass(frozen=True)
class FaceState:
    """How the window and the status line say why the face is not measured."""

    pill: str  # the header's state
    banner: str  # across the preview
    detail: str  # under the banner
    status: str  # in the headless status line
    colour: tuple[int, int, int]


FACE_STATES = {  # by validity reason (twitchcam.core.features)
    NO_FACE: FaceState("FACE LOST", "FACE LOST", "look into the camera", "face lost", BAD_RED),
    POSE: FaceState("TURN TO CAMERA", "TURN TOWARDS THE CAMERA", "head turned too far to measure the eyes",
                    "turn to camera", WARN_AMBER),
    SMALL: FaceState("MOVE CLOSER", "MOVE CLOSER", "the face is too small to measure", "move closer", WARN_AMBER),
    OTHER: FaceState("SOMEONE ELSE", "SOMEONE ELSE", "not the patient's face: not counted", "someone else",
                     WARN_AMBER),
}
FONT = cv2.FONT_HERSHEY_DUPLEX
FONT_PLAIN = cv2.FONT_HERSHEY_SIMPLEX

TRACE_S = 10.0  # seconds of trace shown
RATE_WINDOW_S = 300.0  # "per minute over the last 5 minutes"
MIN_RATE_S = 10.0  # tracked seconds before a rate is shown at all
FLASH_S = 0.8
FACE_LOST_AFTER_S = 0.25  # no banner for a single missed frame


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    @property
    def x2(self) -> int:
        return self.x + self.w

    @property
    def y2(self) -> int:
        return self.y + self.h

    def slice(self) -> tuple[slice, slice]:
        return slice(self.y, self.y2), slice(self.x, self.x2)


@dataclass(frozen=True)
class Layout:
    """Where everything goes on the canvas (tests check pixels in these regions)."""

    width: int = 1280
    height: int = 720
    header_h: int = 44
    panel_w: int = 240
    preview_h: int = 450
    status_h: int = 36

    @property
    def header(self) -> Rect:
        return Rect(0, 0, self.width, self.header_h)

    @property
    def preview(self) -> Rect:
        return Rect(self.panel_w, self.header_h, self.width - 2 * self.panel_w, self.preview_h)

    def panel(self, side: str) -> Rect:
        """The patient's LEFT panel sits on the viewer's left, beside the mirrored face."""
        x = 0 if side == "left" else self.width - self.panel_w
        return Rect(x, self.header_h, self.panel_w, self.preview_h)

    def traces(self, side: str) -> Rect:
        y = self.header_h + self.preview_h
        h = self.height - y - self.status_h
        half = self.width // 2
        return Rect(0 if side == "left" else half, y, half, h)

    def plot(self, side: str, lane: str) -> Rect:
        """Plot area inside a trace box: the 'eye' lane above the 'mouth' lane."""
        box = self.traces(side)
        left, right, top = 86, 16, 30
        usable = box.h - top - 22
        eye_h = int(usable * 0.64)
        if lane == "eye":
            return Rect(box.x + left, box.y + top, box.w - left - right, eye_h)
        return Rect(box.x + left, box.y + top + eye_h + 8, box.w - left - right, usable - eye_h - 8)

    @property
    def status(self) -> Rect:
        return Rect(0, self.height - self.status_h, self.width, self.status_h)


LAYOUT = Layout()


# -- history --------------------------------------------------------------------------------
@dataclass
class LiveInfo:
    """What the driver knows beyond the analysis: source, rates, recording, messages."""

    source: str = ""
    stalled_s: float = 0.0  # since the last frame (streams and cameras; reconnecting after 1 s)
    proc_fps: float = 0.0
    dropped: int = 0
    recording: bool = False
    markers: int = 0
    elapsed_s: float = 0.0
    toast: str = ""  # a short message, e.g. after a key press
    keys: bool = True  # show the key hints (a window), not when headless

    @property
    def stalled(self) -> bool:
        return self.stalled_s >= 1.0


@dataclass
class LiveHistory:
    """Rolling, bounded state for the display and the headless status line."""

    fps: float
    calibration_frames: int  # valid frames the detector needs before it reports anything
    mouth_ref: float = 0.10  # a corner rise (face units) that marks co-contraction: the lane's midline
    trace: deque = field(default_factory=deque)  # (t, closure_l, closure_r, corner_l - corner_r, r - l)
    recent: deque = field(default_factory=deque)  # events with offset in the last RATE_WINDOW_S
    tracked: deque = field(default_factory=deque)  # (t, tracked seconds this frame)
    tracked_sum: float = 0.0
    counts: dict = field(default_factory=lambda: {"left": 0, "right": 0, "both": 0})
    kinds: dict = field(default_factory=lambda: {s: {"clonic": 0, "tonic": 0} for s in SIDES})
    last_spasm: dict = field(default_factory=lambda: {s: None for s in SIDES})  # (Event, wall time)
    last_flash: dict = field(default_factory=lambda: {s: None for s in SIDES})  # wall time of the last report
    calib_valid: int = 0
    calibrating: bool = True
    t: float = 0.0
    prev_t: float = -math.inf
    valid: bool = False
    reason: str = NO_FACE
    invalid_since: float = 0.0
    frames: int = 0
    valid_frames: int = 0

    def update(self, result, wall: float | None = None) -> list[Event]:
        """Fold in one FrameResult; returns its spasm events (for flashes and printing)."""
        wall = time.monotonic() if wall is None else wall
        t = float(result.t_s)
        dt = min(t - self.prev_t, 4.0 / self.fps) if math.isfinite(self.prev_t) else 1.0 / self.fps
        self.prev_t, self.t = t, t
        self.frames += 1
        if result.valid:
            self.valid_frames += 1
        elif self.valid or self.frames == 1:
            self.invalid_since = t  # start of this stretch without a usable face
        self.valid, self.reason = bool(result.valid), result.reason
        self.calibrating = bool(result.calibrating)
        if self.calibrating and result.valid:
            self.calib_valid += 1
        # traces: closure per side, and each mouth corner relative to the other one (talking and
        # smiling move both corners and cancel; a one-sided pull does not)
        cl, cr = (float(c) for c in result.closure)
        ml = mr = math.nan
        if result.valid:
            m = [float(result.filt[k]) for k in MOUTH]
            ml, mr = m[0] - m[1], m[1] - m[0]
        self.trace.append((t, cl, cr, ml, mr))
        while self.trace and self.trace[0][0] < t - TRACE_S - 0.5:
            self.trace.popleft()
        # tracked time in the rate window
        gained = dt if result.valid else 0.0
        self.tracked.append((t, gained))
        self.tracked_sum += gained
        while self.tracked and self.tracked[0][0] < t - RATE_WINDOW_S:
            self.tracked_sum -= self.tracked.popleft()[1]
        for side, _onset in result.started:  # count and flash the moment a spasm is reported
            self.counts[side] = self.counts.get(side, 0) + 1
            self.last_flash[side] = wall
        spasms = []
        for e in result.events:
            self.add_event(e, wall)
            if e.is_spasm:
                spasms.append(e)
        while self.recent and self.recent[0].offset_s < t - RATE_WINDOW_S:
            self.recent.popleft()
        return spasms

    def add_event(self, e: Event, wall: float | None = None) -> None:
        """A final event; spasms were already counted when first reported (see update)."""
        wall = time.monotonic() if wall is None else wall
        if e.side not in SIDES:
            self.counts[e.side] = self.counts.get(e.side, 0) + 1
        else:
            self.kinds[e.side][e.kind] = self.kinds[e.side].get(e.kind, 0) + 1
            if e.is_spasm:
                self.last_spasm[e.side] = (e, wall)
        # keep `recent` ordered by offset (final events arrive nearly in order)
        self.recent.append(e)
        if len(self.recent) > 1 and self.recent[-2].offset_s > e.offset_s:
            self.recent = deque(sorted(self.recent, key=lambda x: x.offset_s))

    def recalibrated(self) -> None:
        self.calib_valid = 0
        self.calibrating = True

    @property
    def calibration_progress(self) -> float:
        return min(1.0, self.calib_valid / max(1, self.calibration_frames))

    def rate(self, side: str) -> float | None:
        """Events per minute of tracked time over the last 5 minutes (None until ~10 s tracked)."""
        if self.tracked_sum < MIN_RATE_S:
            return None
        n = sum(1 for e in self.recent if e.side == side and (e.is_spasm or side not in SIDES)
                and e.onset_s >= self.t - RATE_WINDOW_S)
        return n / (self.tracked_sum / 60.0)

    def face_state(self) -> str:
        """ok | no_face | extreme_pose | face_too_small (after a short grace period)."""
        if self.valid or self.frames == 0:
            return "ok" if self.valid else NO_FACE
        return self.reason if self.t - self.invalid_since >= FACE_LOST_AFTER_S else "ok"


# -- drawing helpers --------------------------------------------------------------------------
def text(img, s: str, org, scale: float, color, thick: int = 1, align: str = "left", font=FONT) -> int:
    """Anti-aliased text; org is the baseline point at `align`.  Returns the text width."""
    (w, _), _ = cv2.getTextSize(s, font, scale, thick)
    x, y = int(org[0]), int(org[1])
    if align == "center":
        x -= w // 2
    elif align == "right":
        x -= w
    cv2.putText(img, s, (x, y), font, scale, color, thick, cv2.LINE_AA)
    return w


def fit_text(s: str, max_w: int, scale: float, thick: int = 1, font=FONT) -> float:
    (w, _), _ = cv2.getTextSize(s, font, scale, thick)
    return scale if w <= max_w else scale * max_w / w


def fill_rect(img, r: Rect, color) -> None:
    cv2.rectangle(img, (r.x, r.y), (r.x2 - 1, r.y2 - 1), color, -1)


def blend_rect(img, r: Rect, color, alpha: float) -> None:
    """Tint a rectangle towards `color` (uint8 all the way: this runs every frame)."""
    x0, y0 = max(r.x, 0), max(r.y, 0)
    x1, y1 = min(r.x2, img.shape[1]), min(r.y2, img.shape[0])
    if alpha <= 0 or x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    solid = np.empty_like(roi)
    solid[:] = color
    cv2.addWeighted(roi, 1.0 - alpha, solid, alpha, 0.0, dst=roi)


def _pill(img, label: str, center_x: int, y: int, color, h: int = 30) -> None:
    scale = 0.62
    (w, _), _ = cv2.getTextSize(label, FONT, scale, 1)
    x0, x1 = center_x - w // 2 - 14, center_x + w // 2 + 14
    cv2.rectangle(img, (x0 + h // 2, y), (x1 - h // 2, y + h), color, -1, cv2.LINE_AA)
    cv2.circle(img, (x0 + h // 2, y + h // 2), h // 2, color, -1, cv2.LINE_AA)
    cv2.circle(img, (x1 - h // 2, y + h // 2), h // 2, color, -1, cv2.LINE_AA)
    text(img, label, (center_x, y + h // 2 + 7), scale, BG_DARK, 1, "center")


# -- the canvas --------------------------------------------------------------------------------
def preview_transform(frame_shape, box: Rect) -> tuple[float, int, int, int, int]:
    """Scale and placement of a frame inside the preview box (aspect kept)."""
    h, w = frame_shape[:2]
    s = min(box.w / w, box.h / h)
    pw, ph = max(1, int(round(w * s))), max(1, int(round(h * s)))
    return s, box.x + (box.w - pw) // 2, box.y + (box.h - ph) // 2, pw, ph


def draw_preview(canvas, frame: np.ndarray | None, points: np.ndarray | None, hist: LiveHistory,
                 info: LiveInfo, layout: Layout, wall: float, source_mirrored: bool = False) -> None:
    """The frame as a mirror shows it (a selfie source already is one); `points` are always
    in unmirrored coordinates, as the analysis saw the face."""
    box = layout.preview
    fill_rect(canvas, box, BG_DARK)
    if frame is None:
        text(canvas, "waiting for video...", (box.x + box.w // 2, box.y + box.h // 2), 0.9, DIM, 1, "center")
        return
    s, ox, oy, pw, ph = preview_transform(frame.shape, box)
    mirrored = frame if source_mirrored else cv2.flip(frame, 1)
    canvas[oy:oy + ph, ox:ox + pw] = cv2.resize(mirrored, (pw, ph), interpolation=cv2.INTER_AREA if s < 1 else
                                                cv2.INTER_LINEAR)
    stalled = info.stalled
    if stalled:
        blend_rect(canvas, Rect(ox, oy, pw, ph), BG_DARK, 0.6)
    w = frame.shape[1]
    if points is not None and not stalled:
        pts = points[:, :2].astype(np.float64).copy()
        pts[:, 0] = w - pts[:, 0]  # mirror, exactly as the preview image
        pts = pts * s + (ox, oy)
        flashing = {side: _flash(hist, side, wall) for side in SIDES}
        for side in SIDES:
            color = SIDE_COLOR[side]
            thick = 3 if flashing[side] > 0 else 2
            lid = np.concatenate([pts[list(UPPER_LID[side])], pts[list(LOWER_LID[side])][::-1]])
            cv2.polylines(canvas, [np.round(lid * 16).astype(np.int32)], True, color, thick, cv2.LINE_AA, 4)
            brow = pts[list(LANDMARKS[side].brow_upper)]
            cv2.polylines(canvas, [np.round(brow * 16).astype(np.int32)], False, color, 2, cv2.LINE_AA, 4)
            mc = pts[LANDMARKS[side].mouth_corner]
            cv2.circle(canvas, (int(round(mc[0] * 16)), int(round(mc[1] * 16))), 6 * 16, color, 2, cv2.LINE_AA, 4)
            cv2.circle(canvas, (int(round(mc[0])), int(round(mc[1]))), 2, color, -1, cv2.LINE_AA)
    # flash: a bright band along the preview edge on the side that just twitched
    for side in SIDES:
        a = _flash(hist, side, wall)
        if a > 0:
            band = Rect(ox, oy, 14, ph) if side == "left" else Rect(ox + pw - 14, oy, 14, ph)
            blend_rect(canvas, band, SIDE_COLOR[side], 0.9 * a)
    # state banners
    face = hist.face_state()
    if stalled:
        _banner(canvas, box, "NO VIDEO - reconnecting", f"no frame for {info.stalled_s:.0f} s", BAD_RED)
    elif face in FACE_STATES:
        state = FACE_STATES[face]
        _banner(canvas, box, state.banner, state.detail, state.colour)
    if hist.calibrating and not stalled:
        _calibration_bar(canvas, box, hist.calibration_progress)
    if info.toast:
        text(canvas, info.toast, (box.x + box.w // 2, box.y + 30), 0.7, WHITE, 2, "center")


def _flash(hist: LiveHistory, side: str, wall: float) -> float:
    """1 right when a spasm on this side is reported, fading over FLASH_S."""
    last = hist.last_flash.get(side)
    if last is None:
        return 0.0
    age = wall - last
    return max(0.0, 1.0 - age / FLASH_S) if age >= 0 else 0.0


def _banner(canvas, box: Rect, title: str, sub: str, color) -> None:
    r = Rect(box.x + 40, box.y + box.h // 2 - 48, box.w - 80, 96)
    blend_rect(canvas, r, BG_DARK, 0.75)
    cv2.rectangle(canvas, (r.x, r.y), (r.x2 - 1, r.y2 - 1), color, 2, cv2.LINE_AA)
    text(canvas, title, (r.x + r.w // 2, r.y + 46), fit_text(title, r.w - 30, 1.3, 2), color, 2, "center")
    text(canvas, sub, (r.x + r.w // 2, r.y + 80), 0.65, WHITE, 1, "center")


def _calibration_bar(canvas, box: Rect, progress: float) -> None:
    r = Rect(box.x + 60, box.y2 - 56, box.w - 120, 44)
    blend_rect(canvas, r, BG_DARK, 0.7)
    text(canvas, "CALIBRATING - look at the camera, eyes open", (r.x + r.w // 2, r.y + 20), 0.6, WARN_AMBER, 1,
         "center")
    bar = Rect(r.x + 20, r.y + 28, r.w - 40, 8)
    cv2.rectangle(canvas, (bar.x, bar.y), (bar.x2, bar.y2), GRID, -1)
    cv2.rectangle(canvas, (bar.x, bar.y), (bar.x + int(bar.w * progress), bar.y2), WARN_AMBER, -1)


def draw_panel(canvas, side: str, hist: LiveHistory, layout: Layout, wall: float) -> None:
    r = layout.panel(side)
    color = SIDE_COLOR[side]
    fill_rect(canvas, r, BG)
    a = _flash(hist, side, wall)
    if a > 0:
        blend_rect(canvas, r, color, 0.55 * a)
    cx = r.x + r.w // 2
    cv2.rectangle(canvas, (r.x, r.y), (r.x2 - 1, r.y + 6), color, -1)
    text(canvas, "PATIENT'S", (cx, r.y + 36), 0.6, DIM, 1, "center")
    text(canvas, side.upper(), (cx, r.y + 76), 1.25, color, 2, "center")
    count = str(hist.counts.get(side, 0))
    text(canvas, count, (cx, r.y + 200), fit_text(count, r.w - 30, 3.4, 6), WHITE, 6, "center")
    text(canvas, "spasms this session", (cx, r.y + 232), 0.55, DIM, 1, "center")
    rate = hist.rate(side)
    rate_s = "--" if rate is None else f"{rate:.1f}"
    w = text(canvas, rate_s, (cx - 20, r.y + 292), 1.3, color, 2, "center")
    text(canvas, "/min", (cx - 20 + w // 2 + 6, r.y + 292), 0.6, DIM, 1)
    text(canvas, "last 5 min", (cx, r.y + 318), 0.5, DIM, 1, "center")
    k = hist.kinds[side]
    text(canvas, f"clonic {k.get('clonic', 0)}   tonic {k.get('tonic', 0)}", (cx, r.y + 360), 0.55, WHITE, 1,
         "center")
    last = hist.last_spasm.get(side)
    if last is not None:
        e = last[0]
        ago = max(0.0, hist.t - e.offset_s)
        what = f"last: {e.kind} {e.duration_s:.1f} s" + (" +mouth" if e.region == "eye+mouth" else "")
        text(canvas, what, (cx, r.y + 398), fit_text(what, r.w - 20, 0.5), DIM, 1, "center")
        text(canvas, f"{_ago(ago)} ago", (cx, r.y + 420), 0.5, DIM, 1, "center")


def _ago(s: float) -> str:
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def draw_traces(canvas, side: str, hist: LiveHistory, layout: Layout) -> None:
    box = layout.traces(side)
    color = SIDE_COLOR[side]
    fill_rect(canvas, box, BG_DARK)
    k = SIDES.index(side)
    text(canvas, f"PATIENT'S {side.upper()}", (box.x + 14, box.y + 21), 0.55, color, 1)
    text(canvas, "eye closure", (box.x + 190, box.y + 21), 0.45, color, 1)
    text(canvas, "mouth-corner pull", (box.x + 300, box.y + 21), 0.45, MOUTH_COLOR, 1)
    text(canvas, "events shaded", (box.x2 - 16, box.y + 21), 0.45, DIM, 1, "right")
    t_now = hist.t
    t0 = t_now - TRACE_S
    eye_r, mouth_r = layout.plot(side, "eye"), layout.plot(side, "mouth")
    for r in (eye_r, mouth_r):
        fill_rect(canvas, r, BG_PLOT)

    def xs(t):
        return eye_r.x + (np.asarray(t) - t0) / TRACE_S * eye_r.w

    # event spans: this side's spasms in its colour, blinks (both sides) in grey
    tag_end = -1
    for e in hist.recent:
        if e.offset_s < t0 or e.side not in (side, "both"):
            continue
        x0, x1 = int(max(eye_r.x, xs(e.onset_s))), int(min(eye_r.x2, xs(e.offset_s)))
        x1 = max(x1, x0 + 2)
        c = color if e.side == side else BLINK_COLOR
        alpha = 0.45 if e.side == side else 0.18
        for r in (eye_r, mouth_r):
            blend_rect(canvas, Rect(x0, r.y, max(1, min(x1, r.x2) - x0), r.h), c, alpha)
        if e.side == side and x0 + 3 > tag_end:  # C3 = clonic train of 3 twitches, T = tonic
            tag = "T" if e.kind == "tonic" else "?" if not e.is_spasm else f"C{e.twitches}"
            tag_end = x0 + 3 + text(canvas, tag, (x0 + 3, eye_r.y + 14), 0.45, WHITE, 1) + 4
    # grid: every 2 s, and axis labels
    for sec in range(0, int(TRACE_S) + 1, 2):
        x = int(eye_r.x + sec / TRACE_S * eye_r.w)
        for r in (eye_r, mouth_r):
            cv2.line(canvas, (x, r.y), (x, r.y2 - 1), GRID, 1)
        label = "now" if sec == TRACE_S else f"-{int(TRACE_S) - sec}s"
        text(canvas, label, (x, mouth_r.y2 + 16), 0.4, DIM, 1, "center", FONT_PLAIN)
    text(canvas, "closed", (eye_r.x - 8, eye_r.y + 12), 0.42, DIM, 1, "right", FONT_PLAIN)
    text(canvas, "open", (eye_r.x - 8, eye_r.y2 - 2), 0.42, DIM, 1, "right", FONT_PLAIN)
    text(canvas, "mouth", (mouth_r.x - 8, mouth_r.y + mouth_r.h // 2 + 5), 0.42, DIM, 1, "right", FONT_PLAIN)
    # guide lines: eye half closed; a mouth-corner rise of mouth_ref
    _dashed(canvas, eye_r.x, eye_r.x2, int(eye_r.y2 - 0.5 * eye_r.h), GRID)
    _dashed(canvas, mouth_r.x, mouth_r.x2, int(mouth_r.y2 - 0.5 * mouth_r.h), MOUTH_COLOR)
    if not hist.trace:
        return
    arr = np.array(hist.trace, dtype=np.float64)
    arr = arr[arr[:, 0] >= t0 - 0.1]
    if arr.size == 0:
        return
    x = np.clip(xs(arr[:, 0]), eye_r.x, eye_r.x2 - 1)
    closure = np.clip(arr[:, 1 + k], 0.0, 1.0)
    _polyline_nan(canvas, x, eye_r.y2 - 1 - closure * (eye_r.h - 2), arr[:, 1 + k], color, 2)
    # the corner's rise over its own typical level in view (median), so resting asymmetry cancels
    rel = arr[:, 3 + k]
    if np.isfinite(rel).any():
        pull = np.clip((rel - np.nanmedian(rel)) / (2.0 * hist.mouth_ref), 0.0, 1.0)
        _polyline_nan(canvas, x, mouth_r.y2 - 1 - np.nan_to_num(pull) * (mouth_r.h - 2), rel, MOUTH_COLOR, 1)


def _dashed(canvas, x0: int, x1: int, y: int, color, dash: int = 6) -> None:
    for x in range(x0, x1, 2 * dash):
        cv2.line(canvas, (x, y), (min(x + dash, x1 - 1), y), color, 1)


def _polyline_nan(canvas, x, y, raw, color, thick: int) -> None:
    """A polyline broken wherever the signal is missing (face lost, calibrating)."""
    ok = np.isfinite(raw)
    if not ok.any():
        return
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.view(np.int8), [0]])))
    pts = np.stack([x, y], axis=1)
    for a, b in zip(edges[::2], edges[1::2]):
        seg = np.round(pts[a:b] * 8).astype(np.int32)
        if len(seg) == 1:
            seg = np.concatenate([seg, seg])
        cv2.polylines(canvas, [seg], False, color, thick, cv2.LINE_AA, 3)


def draw_header(canvas, hist: LiveHistory, info: LiveInfo, layout: Layout, wall: float) -> None:
    r = layout.header
    fill_rect(canvas, r, BG_DARK)
    text(canvas, "twitchcam", (16, 30), 0.8, WHITE, 2)
    src = info.source if len(info.source) <= 34 else "..." + info.source[-31:]
    text(canvas, src, (160, 29), 0.5, DIM, 1)
    face = hist.face_state()
    if info.stalled:
        label, color = "NO VIDEO", BAD_RED
    elif face in FACE_STATES:
        label, color = FACE_STATES[face].pill, FACE_STATES[face].colour
    elif hist.calibrating:
        label, color = f"CALIBRATING {hist.calibration_progress:.0%}", WARN_AMBER
    else:
        label, color = "MONITORING", OK_GREEN
    _pill(canvas, label, r.w // 2, 7, color)
    rate = hist.rate("both")
    blinks = "--" if rate is None else f"{rate:.0f}"
    text(canvas, f"blinks {blinks}/min", (r.w - 150, 30), 0.6, WHITE, 1, "right")
    text(canvas, format_clock(info.elapsed_s), (r.w - 16, 30), 0.7, WHITE, 1, "right")
    if info.recording and int(wall * 2) % 2 == 0:
        cv2.circle(canvas, (r.w - 132, 24), 6, BAD_RED, -1, cv2.LINE_AA)


def draw_status(canvas, hist: LiveHistory, info: LiveInfo, layout: Layout) -> None:
    r = layout.status
    fill_rect(canvas, r, BG_DARK)
    y = r.y + 24
    x = 16
    dropped_color = WARN_AMBER if info.dropped else DIM
    x += text(canvas, f"{info.proc_fps:4.1f} fps", (x, y), 0.5, DIM, 1, font=FONT_PLAIN) + 24
    x += text(canvas, f"dropped {info.dropped}", (x, y), 0.5, dropped_color, 1, font=FONT_PLAIN) + 24
    x += text(canvas, f"markers {info.markers}", (x, y), 0.5, DIM, 1, font=FONT_PLAIN) + 24
    if info.recording:
        x += text(canvas, "REC video.avi", (x, y), 0.5, BAD_RED, 1, font=FONT_PLAIN) + 24
    text(canvas, "not a medical device", (x, y), 0.45, (110, 110, 118), 1, font=FONT_PLAIN)
    if info.keys:
        text(canvas, "q / Esc quit    space marker    r re-calibrate", (r.w - 16, y), 0.5, WHITE, 1, "right",
             FONT_PLAIN)


def render(frame: np.ndarray | None, points: np.ndarray | None, hist: LiveHistory, info: LiveInfo,
           layout: Layout = LAYOUT, wall: float | None = None, source_mirrored: bool = False) -> np.ndarray:
    """The whole live picture as one BGR image (layout.height x layout.width); see draw_preview."""
    wall = time.monotonic() if wall is None else wall
    canvas = np.empty((layout.height, layout.width, 3), dtype=np.uint8)
    draw_header(canvas, hist, info, layout, wall)
    draw_preview(canvas, frame, points, hist, info, layout, wall, source_mirrored)
    for side in SIDES:
        draw_panel(canvas, side, hist, layout, wall)
        draw_traces(canvas, side, hist, layout)
    cv2.line(canvas, (layout.width // 2, layout.traces("left").y), (layout.width // 2, layout.status.y), GRID, 1)
    draw_status(canvas, hist, info, layout)
    return canvas


def status_line(hist: LiveHistory, info: LiveInfo) -> str:
    """The headless one-liner printed every few seconds."""
    face = hist.face_state()
    if info.stalled:
        state = f"no video {info.stalled_s:.0f}s"
    elif face != "ok":
        state = FACE_STATES[face].status if face in FACE_STATES else face
    elif hist.calibrating:
        state = f"calibrating {hist.calibration_progress:.0%}"
    else:
        state = "monitoring"

    def rate(side):
        r = hist.rate(side)
        return "--" if r is None else f"{r:.1f}"

    return (f"[{format_clock(info.elapsed_s)}] {state:<15} | LEFT spasms {hist.counts['left']} ({rate('left')}/min)"
            f" | RIGHT spasms {hist.counts['right']} ({rate('right')}/min) | blinks {rate('both')}/min"
            f" | {info.proc_fps:.1f} fps | dropped {info.dropped}")
