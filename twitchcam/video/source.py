"""Video sources: decoded frames with the decoder's own timestamps.

Real files have variable frame rates, so a frame's time is the decoder's presentation
time (CAP_PROP_POS_MSEC), never index * 1000 / fps.

Damaged files: a packet that cannot be decoded makes OpenCV's grab() fail once, and the
next grab() goes on with the following packet.  So a failed grab is retried (see
`grab_skipping`): the frames that could not be decoded are skipped and counted, and only
a run of failures that outlasts what the container still promises is the end.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own complaints about bad files

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from twitchcam.errors import TwitchcamError  # noqa: E402

# Whatever the environment says, OpenCV's own "[ WARN...]" lines never join twitchcam's one line.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
# Still-image formats by their first bytes (FFmpeg would open them as one-frame "videos").
IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
               (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"))
# ...and those FFmpeg's image reader opened: no duration, no bit rate, a picture codec.
IMAGE_CODECS = {"MPNG", "MJPG", "webp", "tiff", "bmp ", "gif ", "\0\0\0\0"}
MIN_RETRIES = 3  # failed grabs tried past the promised frame count before calling it the end
MAX_GAP_S = 30.0  # a longer run of undecodable frames ends the video (truncated)


@dataclass
class Frame:
    index: int  # the source's frame number (undecodable frames skipped before it count too)
    t_s: float
    bgr: np.ndarray
    skipped_before: int = 0  # undecodable frames skipped just before this one
    rgb: np.ndarray | None = None  # the analysis image, when a producer thread made it (Pipeline.prepare)
    face: object | None = None  # the patient's landmarks.Face, once Pipeline.locate has looked


def image_kind(path: Path) -> str | None:
    """The still-image format of the file at `path` by its first bytes, whatever its name."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "HEIF/AVIF"
    for magic, kind in IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    return None


class OpenCVPath:
    """A path OpenCV can be handed.  OpenCV's VideoCapture crashes (SIGSEGV) on a str
    holding surrogates, i.e. a file name that is not valid UTF-8; such a file is reached
    through a symbolic link with a plain name in a private temporary folder."""

    def __init__(self, path: Path):
        self.text = os.fspath(path)
        self._tmp = None
        try:
            self.text.encode("utf-8")
            return
        except UnicodeEncodeError:
            pass
        self._tmp = tempfile.mkdtemp(prefix="twitchcam-")
        link = os.path.join(self._tmp, "video" + "".join(c for c in Path(path).suffix if c.isalnum() or c == "."))
        try:
            os.symlink(os.path.abspath(path), link)
        except OSError:
            try:
                os.link(os.path.abspath(path), link)
            except OSError:
                self.close()
                raise TwitchcamError(f"{os.fsencode(path)!r}: the file name is not valid UTF-8 and could not be "
                                     f"linked to a plain one; rename the file") from None
        self.text = link

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def open_capture(path: Path) -> tuple[cv2.VideoCapture, OpenCVPath]:
    """cv2.VideoCapture (FFmpeg) of a video file, and the path handle to close with it."""
    handle = OpenCVPath(path)
    return cv2.VideoCapture(handle.text, cv2.CAP_FFMPEG), handle


def _fourcc(cap: cv2.VideoCapture) -> str:
    code = int(cap.get(cv2.CAP_PROP_FOURCC) or 0) & 0xFFFFFFFF
    return "".join(chr((code >> 8 * k) & 0xFF) for k in range(4))


def grab_skipping(cap: cv2.VideoCapture, budget: int) -> int | None:
    """grab() the next frame that decodes; return how many failed before it, or None when
    `budget` grabs in a row failed (the end of the video)."""
    failed = 0
    while not cap.grab():
        failed += 1
        if failed >= budget:
            return None
    return failed


def retry_budget(expected: int, seen: int, fps: float) -> int:
    """How many failed grabs in a row may still be a gap: the frames the container still
    promises (header counts are estimates: at least MIN_RETRIES), at most MAX_GAP_S worth."""
    if expected <= 0:  # no count in the header: allow a short gap
        return max(MIN_RETRIES, int(2 * fps))
    return int(min(max(expected - seen, 0) + MIN_RETRIES, max(MIN_RETRIES, MAX_GAP_S * fps)))


class FileSource:
    """Frames of a video file, as fast as they decode, skipping frames that do not.

    A time window [`start_s`, `end_s`) gives only part of the file (a time chunk, see
    twitchcam.batch.chunks): reached by a seek, where FFmpeg lands on a key frame at or near
    `start_s` (so a few frames before it may come too: the caller checks), or with
    `seek=False` by decoding from the start, exact but slower.  Frames of a window are timed,
    and undecodable ones skipped, exactly as when the whole file is read.
    """

    def __init__(self, path: str | os.PathLike, start_s: float = 0.0, end_s: float = math.inf, seek: bool = True):
        self.path = Path(path)
        self.start_s, self.end_s = max(0.0, float(start_s)), float(end_s)
        self.seek = seek and self.start_s > 0
        if not self.path.exists():
            raise TwitchcamError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise TwitchcamError(f"{self.path}: is a directory, not a video")
        if self.path.stat().st_size == 0:
            raise TwitchcamError(f"{self.path}: empty file (0 bytes), not a video")
        kind = image_kind(self.path)
        if kind is not None:
            raise TwitchcamError(f"{self.path}: is an image ({kind}), not a video")
        self._cap, self._handle = open_capture(self.path)
        if not self._cap.isOpened():
            self.close()
            raise TwitchcamError(f"{self.path}: not a video OpenCV can decode (corrupt or unsupported)")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        usable = bool(fps) and 1.0 <= fps <= 1000.0
        self.fps = float(fps) if usable else ASSUMED_FPS
        # said once: where a file gives no usable rate, its frames are timed by the decoder's own
        # stamps, and ASSUMED_FPS only stands in where it gives none
        self.fps_note = None if usable else (f"the file gives no usable frame rate ({fps:g}/s); "
                                             f"{ASSUMED_FPS:g}/s assumed where its frames carry no time")
        own = stamped_rate(self.path) if usable else None
        if own is not None and own > PAUSED_RATE * fps:  # FFmpeg's average over a pause in the recording
            self.fps = own
            self.fps_note = (f"the container's frame rate ({fps:.3g}/s) is its average over pauses in the "
                             f"recording; its frames come at {own:.3g}/s")
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.expected_frames = int(count) if count and np.isfinite(count) and 0 < count < 1e9 else 0
        # The container's own duration: FFmpeg's count over its rate (its average, for variable rates).
        span = self.expected_frames / fps if self.expected_frames and fps and np.isfinite(fps) and fps > 0 else None
        self.header = VideoHeader(self.fps, self.expected_frames, span, self.fps_note)
        if self.expected_frames == 0 and not self._cap.get(cv2.CAP_PROP_BITRATE) and _fourcc(self._cap) in IMAGE_CODECS:
            self.close()
            raise TwitchcamError(f"{self.path}: is an image, not a video")
        self.decoded = 0
        self.skipped = 0  # frames that could not be decoded, with decodable ones after them
        self.gaps = 0  # runs of such frames
        self.window_ended = False  # stopped at end_s rather than at the end of the file
        self.end_s_reached: float | None = None  # where the last frame decoded ends (its time + one frame)
        self.description = str(self.path)

    @property
    def truncated(self) -> bool:
        return self.header.truncated(self.decoded + self.skipped, self.end_s_reached)

    def frames(self) -> Iterator[Frame]:
        last = -np.inf  # decoder_time's rule, from wherever decoding starts
        lost = 0
        passed = 0  # frames stepped over before the window (no seek)
        if self.seek:
            self._cap.set(cv2.CAP_PROP_POS_MSEC, self.start_s * 1000.0)
        try:
            while True:
                # After a seek nobody knows how many frames the container still promises: a short gap only.
                budget = (retry_budget(0, 0, self.fps) if self.seek else
                          retry_budget(self.expected_frames, passed + self.decoded + self.skipped + lost, self.fps))
                failed = grab_skipping(self._cap, budget)
                if failed is None:
                    break
                lost += failed
                stamp = decoder_time(self._cap, last, self.fps)
                if not self.seek and stamp < self.start_s - 0.5 / self.fps:  # not converted: step on to the window
                    last, passed, lost = stamp, passed + lost + 1, 0
                    continue
                ok, bgr = self._cap.retrieve()
                if not ok or bgr is None:
                    lost += 1
                    continue
                if stamp >= self.end_s:
                    self.window_ended = True
                    break
                t = last = stamp
                self.end_s_reached = t + 1.0 / self.fps
                if lost:
                    self.skipped += lost
                    self.gaps += 1
                yield Frame(self.decoded + self.skipped, t, bgr, lost)  # the source's frame number (of the window)
                lost = 0
                self.decoded += 1
        finally:
            self.close()
        if self.decoded == 0 and self.start_s == 0:  # a window may hold no frame; a whole file must
            raise TwitchcamError(f"{self.path}: no frame could be decoded (corrupt or not a video)")

    def close(self) -> None:
        self._cap.release()
        self._handle.close()


ASSUMED_FPS = 30.0  # the frame rate assumed where a file gives none
MAX_STEP_S = 86400.0  # a pause between two frames longer than a day is a broken stamp, not a pause
PAUSED_RATE = 2.0  # a container's frame rate this far below its frames' own is FFmpeg's average over pauses


def decoder_time(cap: cv2.VideoCapture, last: float, fps: float) -> float:
    """Time (s) of the frame just grabbed (see `frame_time`)."""
    return frame_time(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, last, fps)


def frame_time(stamp_s: float, last: float, fps: float) -> float:
    """A frame's time from the decoder's own stamp (real files have variable frame rates), or one
    frame after the last where a container repeats, omits or garbles stamps (one 'frame' after
    the last by more than MAX_STEP_S: a header claiming 1e-9 frames/s)."""
    if not np.isfinite(last):
        return stamp_s if np.isfinite(stamp_s) and stamp_s >= 0 else 0.0
    return stamp_s if last < stamp_s <= last + MAX_STEP_S else last + 1.0 / fps  # False for NaN


def frame_stamps(path: Path, first: int | None = None) -> np.ndarray | None:
    """The decoder's time stamps (s) of every frame of the video at `path` (or of its `first`
    ones), sorted, read from the container's packets without decoding a frame (a millisecond
    or so per thousand frames, beyond reading the file); None where none can be read."""
    handle = OpenCVPath(Path(path))
    stamps = []
    try:
        cap = cv2.VideoCapture(handle.text, cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])  # raw packets
        try:
            while cap.isOpened() and (first is None or len(stamps) < first) and cap.grab():
                stamps.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
        finally:
            cap.release()
    finally:
        handle.close()
    t = np.asarray(stamps, dtype=np.float64)
    t = np.sort(t[np.isfinite(t)])
    return t if t.size else None


def stamped_rate(path: Path, frames: int = 64) -> float | None:
    """The rate (frames/s) at which the first `frames` frames of the video at `path` come, by
    their stamps (the median step); None where it is not a rate (1-1000/s)."""
    try:
        stamps = frame_stamps(path, first=frames)
    except TwitchcamError:
        return None
    steps = np.diff(stamps) if stamps is not None else np.empty(0)
    steps = steps[steps > 0]
    rate = 1.0 / float(np.median(steps)) if steps.size else 0.0
    return rate if 1.0 <= rate <= 1000.0 else None


def is_truncated(decoded: int, expected: int, fps: float, end_s: float | None = None,
                 span_s: float | None = None) -> bool:
    """Clearly fewer frames decoded than the container promised, and (where both are known)
    the frames end clearly before the container does (`end_s`: where the last frame decoded
    ends; `span_s`: the container's duration).

    Header frame counts are estimates (duration x rate) and are often a few frames high,
    so half a second or 2% short is still a whole file.  Containers that keep no count
    (Matroska, WebM) give their duration x rate, which a pause in a recording of variable
    frame rate inflates (a minute, or ten hours, without frames): frames that reach the
    container's end are the whole file, however few.
    """
    short = expected > 0 and decoded < expected - max(fps / 2.0, 0.02 * expected)
    if not short or end_s is None or span_s is None:
        return short
    return end_s < span_s - max(0.5, 0.02 * span_s)


@dataclass(frozen=True)
class VideoHeader:
    """What a video file's container says of it, as FileSource reads it."""

    fps: float  # the rate frames are timed by where they carry no stamp (the file's own, or ASSUMED_FPS)
    expected_frames: int  # the frame count it gives (0: none)
    span_s: float | None  # its duration (FFmpeg's count over its rate), None where it gives none
    fps_note: str | None = None  # why `fps` is not the rate it gives, if it is not

    @property
    def duration_s(self) -> float:
        """The duration its frame count stands for at `fps` (0 where it gives no count)."""
        return self.expected_frames / self.fps if self.expected_frames > 0 else 0.0

    def truncated(self, decoded: int, end_s: float | None) -> bool:
        """`decoded` frames (undecodable ones skipped included), the last ending at `end_s`:
        clearly short of this file (see `is_truncated`)."""
        return is_truncated(decoded, self.expected_frames, self.fps, end_s, self.span_s)


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
