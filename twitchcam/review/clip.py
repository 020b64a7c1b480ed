"""A short stretch of a session's video as JPEG frames with their pacing (for an MJPEG <img>)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2

from twitchcam.video.source import open_capture

MAX_WIDTH = 640
MAX_FRAMES = 900  # at most half a minute at 30 frames/s, whatever the event's length


def mjpeg_frames(video: Path, start_s: float, end_s: float) -> Iterator[tuple[bytes, float]]:
    """(JPEG, seconds to wait before the next) for the frames from start_s to end_s."""
    cap, handle = open_capture(Path(video))
    try:
        fps = cap.get(cv2.CAP_PROP_FPS)
        step = 1.0 / fps if fps and 1.0 <= fps <= 1000.0 else 1.0 / 30.0
        cap.set(cv2.CAP_PROP_POS_MSEC, max(0.0, start_s) * 1000.0)
        for _ in range(MAX_FRAMES):
            ok, bgr = cap.read()
            if not ok or bgr is None:
                return
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if t > end_s:
                return
            if bgr.shape[1] > MAX_WIDTH:
                bgr = cv2.resize(bgr, (MAX_WIDTH, round(bgr.shape[0] * MAX_WIDTH / bgr.shape[1])),
                                 interpolation=cv2.INTER_AREA)
            ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])
            if ok:
                yield jpeg.tobytes(), step
    finally:
        cap.release()
        handle.close()
