"""Evidence strips (issue 18): what both eyes looked like around each one-sided event.

While a session is analysed with `--evidence`, every valid frame's eyes (or face) are cut out
of the analysis image, aligned on the two outer eye corners (the head's tilt and distance
removed, the eyes in the viewer's orientation: the patient's right eye on the left), and kept
in a ring of the last RING_S seconds: constant memory however long the session.  When the
detector finalises a one-sided event (a spasm or a possible one), the frames just before it,
at its onset, middle and end, and just after it are laid side by side with their times under
them and the event's side marked, and written to SESSION/evidence/<id>.png (the id the review
page and `twitchcam review --list` use); the first few blinks get one too, for comparison.
Files are written whole (atomically), so a kill leaves the strips written so far readable.
"""
from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from twitchcam.core.anatomy import LANDMARKS
from twitchcam.core.events import BOTH, Event
from twitchcam.store.atomic import write_bytes_atomic

EVIDENCE_DIR = "evidence"
MODES = ("eye", "face")
RING_S = 12.0  # seconds of crops kept: events up to ~11 s get their onset in the strip
BEFORE_S = AFTER_S = 0.25
SAMPLE_BLINKS = 3
# Crop geometry (pixels): the two outer eye corners land on (MARGIN, EYE_Y) and (W - MARGIN, EYE_Y)
GEOMETRY = {"eye": (176, 56, 14, 28), "face": (176, 208, 30, 80)}  # W, H, MARGIN, EYE_Y
LABEL_H = 16
SIDE_RGB = {"left": (31, 119, 180), "right": (214, 39, 40), BOTH: (120, 120, 120)}


def strip_path(folder: Path, event_id: int | str) -> Path:
    return Path(folder) / EVIDENCE_DIR / f"{event_id}.png"


def align(points: np.ndarray, mode: str) -> np.ndarray | None:
    """2x3 affine from the analysis image to the crop (None when the corners are not usable)."""
    w, _, margin, eye_y = GEOMETRY[mode]
    a = points[LANDMARKS["right"].eye_outer, :2].astype(np.float64)  # patient's right: image left
    b = points[LANDMARKS["left"].eye_outer, :2].astype(np.float64)
    d = b - a
    dist = math.hypot(*d)
    if not dist > 4.0:  # also NaN
        return None
    scale = (w - 2 * margin) / dist
    cos, sin = d[0] / dist * scale, d[1] / dist * scale
    # rotate and scale about a, then move a to (margin, eye_y)
    m = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]])
    m[:, 2] = np.array([margin, eye_y]) - m[:, :2] @ a
    return m


class EvidenceRecorder:
    """The ring of crops and the strip writer of one session."""

    def __init__(self, folder: Path, fps: float, mode: str = "eye"):
        if mode not in MODES:
            raise ValueError(mode)
        self.folder = Path(folder)
        self.mode = mode
        self.ring: deque[tuple[float, np.ndarray]] = deque(maxlen=max(8, round(RING_S * fps)))
        self.one_sided = 0  # ids follow events.csv's order of one-sided events
        self.blinks = 0
        self.written: list[Path] = []

    def add(self, t_s: float, rgb: np.ndarray, points: np.ndarray | None, valid: bool) -> None:
        """One analysed frame (the analysis image and its landmarks)."""
        if not valid or points is None:
            return
        m = align(points, self.mode)
        if m is None:
            return
        w, h, _, _ = GEOMETRY[self.mode]
        self.ring.append((t_s, cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)))

    def events(self, events: list[Event]) -> None:
        """Events as the session writer gets them: a strip for each one-sided one (and the first
        blinks)."""
        for e in events:
            if e.side != BOTH:
                self.one_sided += 1
                self._write(e, self.one_sided)
            elif self.blinks < SAMPLE_BLINKS:
                self.blinks += 1
                self._write(e, f"blink-{self.blinks}")

    def _write(self, e: Event, name) -> None:
        times = (e.onset_s - BEFORE_S, e.onset_s, (e.onset_s + e.offset_s) / 2, e.offset_s, e.offset_s + AFTER_S)
        picked = [self._nearest(t) for t in times]
        if not any(p is not None for p in picked):
            return
        png = render(picked, times, e, self.mode)
        path = strip_path(self.folder, name)
        try:
            path.parent.mkdir(exist_ok=True)
            write_bytes_atomic(path, png)
        except OSError:
            return  # evidence is a help, never a reason to lose the session
        self.written.append(path)

    def _nearest(self, t: float) -> tuple[float, np.ndarray] | None:
        best = None
        for item in self.ring:
            if best is None or abs(item[0] - t) < abs(best[0] - t):
                best = item
        return best if best is not None and abs(best[0] - t) <= 0.2 else None


def render(picked, times, e: Event, mode: str) -> bytes:
    """The strip: one column per time, the event's side framed in its colour, times below."""
    w, h, _, _ = GEOMETRY[mode]
    cols = []
    for item, want in zip(picked, times):
        tile = np.full((h + LABEL_H, w, 3), 255, np.uint8)
        if item is not None:
            t, crop = item
            tile[:h] = crop
            label = f"{t:.2f} s"
        else:
            label = "-"
        if e.side in ("left", "right") and item is not None and e.onset_s <= item[0] <= e.offset_s:
            x0 = w // 2 if e.side == "left" else 0  # the patient's left eye is on the viewer's right
            cv2.rectangle(tile, (x0 + 1, 1), (x0 + w // 2 - 2, h - 2), SIDE_RGB[e.side], 2)
        cv2.putText(tile, label, (4, h + LABEL_H - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (40, 40, 40), 1, cv2.LINE_AA)
        cols.append(tile)
        cols.append(np.full((h + LABEL_H, 2, 3), 255, np.uint8))
    strip = np.hstack(cols[:-1])
    bar = np.full((6, strip.shape[1], 3), SIDE_RGB.get(e.side, SIDE_RGB[BOTH]), np.uint8)
    ok, png = cv2.imencode(".png", cv2.cvtColor(np.vstack([bar, strip]), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_PNG_COMPRESSION, 3])  # fast: written in the analysis loop
    return png.tobytes() if ok else b""


class EvidenceWriter:
    """A session writer that also writes evidence strips for the events it is given."""

    def __init__(self, writer, recorder: EvidenceRecorder):
        self._writer = writer
        self.recorder = recorder

    def events(self, events: list[Event]) -> None:
        self._writer.events(events)
        self.recorder.events(events)

    def __getattr__(self, name):
        return getattr(self._writer, name)
