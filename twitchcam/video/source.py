"""Video sources: decoded frames with the decoder's own timestamps.

Real files have variable frame rates, so a frame's time is the decoder's presentation
time (CAP_PROP_POS_MSEC), never index * 1000 / fps.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own complaints about bad files

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from twitchcam.errors import TwitchcamError  # noqa: E402

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}


@dataclass
class Frame:
    index: int
    t_s: float
    bgr: np.ndarray
    rgb: np.ndarray | None = None  # the analysis image, when a producer thread made it (Pipeline.prepare)


class FileSource:
    """Frames of a video file, as fast as they decode."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise TwitchcamError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise TwitchcamError(f"{self.path}: is a directory, not a video")
        if self.path.stat().st_size == 0:
            raise TwitchcamError(f"{self.path}: empty file (0 bytes), not a video")
        self._cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not self._cap.isOpened():
            raise TwitchcamError(f"{self.path}: not a video OpenCV can decode (corrupt or unsupported)")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1.0 <= fps <= 1000.0 else 30.0
        self.expected_frames = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.decoded = 0
        self.description = str(self.path)

    @property
    def truncated(self) -> bool:
        return is_truncated(self.decoded, self.expected_frames, self.fps)

    def frames(self) -> Iterator[Frame]:
        last = -np.inf
        try:
            while True:
                ok, bgr = self._cap.read()
                if not ok or bgr is None:
                    break
                t = last = decoder_time(self._cap, last, self.fps)
                yield Frame(self.decoded, t, bgr)
                self.decoded += 1
        finally:
            self.close()
        if self.decoded == 0:
            raise TwitchcamError(f"{self.path}: no frame could be decoded (corrupt or not a video)")

    def close(self) -> None:
        self._cap.release()


def decoder_time(cap: cv2.VideoCapture, last: float, fps: float) -> float:
    """Time (s) of the frame just grabbed: the decoder's own stamp (real files have variable
    frame rates), or one frame after the last where a container repeats or omits stamps."""
    t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
    if not np.isfinite(t) or t <= last:
        t = last + 1.0 / fps if np.isfinite(last) else 0.0
    return t


def is_truncated(decoded: int, expected: int, fps: float) -> bool:
    """Clearly fewer frames decoded than the container promised.

    Header frame counts are estimates (duration x rate) and are often a few frames high,
    so half a second or 2% short is still a whole file.
    """
    return expected > 0 and decoded < expected - max(fps / 2.0, 0.02 * expected)


def find_videos(inputs: list[str]) -> list[Path]:
    """Expand directories to the videos inside; keep explicit files as given."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            vids = sorted(q for q in p.iterdir() if q.suffix.lower() in VIDEO_SUFFIXES and q.is_file())
            if not vids:
                raise TwitchcamError(f"{p}: directory has no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
            found.extend(vids)
        else:
            found.append(p)
    return found
