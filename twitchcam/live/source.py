"""Live frame sources: a camera, a network stream, or a file played at its real frame rate.

A background thread reads frames as fast as the source delivers them and keeps only the
LATEST one.  If the analysis falls behind, older frames are dropped (and counted), never
queued: memory stays flat and what is analysed is always what is happening now.

Timestamps:
- camera and network stream: a monotonic wall clock, relative to the capture of the
  stream's first frame, which is the session's first frame: the frames that measure the
  frame rate when it opens are kept for the session, not thrown away;
- file: the decoder's own timestamps (as `twitchcam analyze` uses), and the file is paced
  so frame t is released at begin + t.  With no drops, live and analyze therefore see the
  very same frames at the very same times and report the same events.

`prepare`, if set, runs on every frame in the reading thread before it is handed over (the
colour conversion), so capture, conversion and analysis overlap without any queue.

A source that stops delivering (camera unplugged, stream stalled or closed) is reopened
in the background; the consumer decides, with `stalled_for()`, when it has waited long
enough (--stall-timeout) and ends the session.
"""
from __future__ import annotations

import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from twitchcam.errors import TwitchcamError
from twitchcam.video.source import FileSource, Frame  # noqa: F401  (sets OpenCV's log level before cv2 loads)

try:  # OpenCV's own warnings ("can't open camera by index") would break our one-line errors
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
except AttributeError:  # pragma: no cover - builds without the logging utils
    pass

URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
MEASURE_FRAMES = 8  # a camera's or stream's frame rate is measured over its first frames...
MEASURE_MIN_S = 0.5  # ...spanning at least this long (they are the session's first frames)
DEVICE_RE = re.compile(r"^/dev/video(\d+)$")


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # camera | stream | file
    text: str  # what the user typed
    camera: int | None = None

    @property
    def description(self) -> str:
        if self.kind == "camera" and self.camera is not None and self.text.isdigit():
            return f"camera {self.camera}"
        return self.text


def parse_source(text: str) -> SourceSpec:
    """'0' -> camera 0; '/dev/video2' -> that device; 'http://...' -> stream; else a file."""
    text = str(text).strip()
    if not text:
        raise TwitchcamError("--source is empty; give a camera index, /dev/videoN, a URL or a file")
    if text.isdigit():
        return SourceSpec("camera", text, int(text))
    m = DEVICE_RE.match(text)
    if m or text.startswith("/dev/"):
        return SourceSpec("camera", text, int(m.group(1)) if m else None)
    if URL_RE.match(text):
        return SourceSpec("stream", text)
    return SourceSpec("file", text)


def _leading_burst(gaps: np.ndarray) -> int:
    """How many of the first arrival gaps are far shorter than the stream's own (a buffer
    emptied at once); the stream's own gap is judged on the later half."""
    if gaps.size < 2:
        return 0
    typical = float(np.median(gaps[gaps.size // 2:]))
    burst = 0
    while burst < gaps.size and gaps[burst] < typical / 3:
        burst += 1
    return burst


def _frame_period(stamps) -> float | None:
    """Seconds per frame from arrival times: the median slope over all pairs of frames
    (Theil-Sen), which a late or early frame or two barely moves; None for < 3 frames."""
    t = np.asarray(stamps, dtype=np.float64)
    if t.size < 3:
        return None
    i, j = np.triu_indices(t.size, k=1)
    period = float(np.median((t[j] - t[i]) / (j - i)))
    return period if period > 0 else None


def _cameras_present() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("video*")) if sys.platform.startswith("linux") else []


class LatestFrame:
    """A one-slot mailbox: the producer overwrites, the consumer takes; overwrites are drops."""

    def __init__(self):
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._dropped = 0  # since the last take
        self.dropped_total = 0
        self.captured = 0
        self.closed = False

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self._dropped += 1
                self.dropped_total += 1
            self._frame = frame
            self.captured += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def take(self, timeout: float) -> tuple[Frame | None, int]:
        """The newest frame and how many were dropped before it; (None, 0) on timeout/close."""
        with self._cond:
            if self._frame is None and not self.closed:
                self._cond.wait(timeout)
            frame, dropped = self._frame, self._dropped
            self._frame, self._dropped = None, 0
            self._cond.notify_all()  # a producer may be waiting for the slot (no-drop files)
            return frame, (dropped if frame is not None else 0)

    @property
    def pending(self) -> bool:
        return self._frame is not None

    def shift_times(self, shift: float) -> None:
        """Move the waiting frame's time (the session's clock was moved)."""
        with self._cond:
            if self._frame is not None:
                self._frame.t_s += shift

    def wait_empty(self, timeout: float) -> bool:
        """Wait until the consumer has taken the waiting frame (for sources that must not drop)."""
        with self._cond:
            if self._frame is not None and not self.closed:
                self._cond.wait(timeout)
            return self._frame is None or self.closed


class LiveSource:
    """Frames from a camera, stream or file, read in a background thread (latest only).

    Lifecycle: open() (raises a one-line TwitchcamError naming the source; a camera or
    stream starts delivering here), begin() (the session starts: a file starts playing),
    next_frame() repeatedly, stop().
    """

    def __init__(self, spec: SourceSpec, fps: float | None = None, stall_timeout_s: float = 10.0,
                 open_timeout_s: float = 10.0, no_drop: bool = False):
        self.spec = spec
        self.description = spec.description
        self.kind = spec.kind
        self.stall_timeout_s = float(stall_timeout_s)
        self.open_timeout_s = float(open_timeout_s)
        self.no_drop = no_drop and spec.kind == "file"  # files only: wait for the analysis instead of dropping
        self._fps_override = fps
        self.fps = float(fps) if fps else 30.0
        self.mailbox = LatestFrame()
        self._stop = threading.Event()
        self._begun = threading.Event()
        self._primed = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap = None
        self._file: FileSource | None = None
        self._t0: float | None = None  # cameras/streams: when the first frame was captured
        self._clock = threading.Lock()  # begin() and the reading threads agree on time zero
        self._backlog: deque = deque()  # frames taken while measuring the frame rate, not yet analysed
        self.prepare: Callable[[Frame], Frame] | None = None
        self._last_t = -np.inf
        self._index = 0
        self._last_frame_wall = 0.0
        self.ended = False  # the source has no more frames (file end, or gave up reconnecting)
        self.reconnects = 0

    # -- opening ---------------------------------------------------------------------------
    def _open_capture(self):
        spec = self.spec
        if spec.kind == "stream":
            ms = int(self.open_timeout_s * 1000)
            read_ms = int(min(max(self.stall_timeout_s, 1.0), 5.0) * 1000)
            cap = cv2.VideoCapture(spec.text, cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, read_ms])
        else:
            api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
            cap = cv2.VideoCapture(spec.text, api) if spec.camera is None else cv2.VideoCapture(spec.camera, api)
            if not cap.isOpened() and spec.camera is not None and not spec.text.isdigit():
                cap = cv2.VideoCapture(spec.text, api)
            if cap.isOpened():
                cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # fresher frames where the driver allows it
        if not cap.isOpened():
            cap.release()
            return None
        return cap

    def _open_error(self, waited_s: float) -> TwitchcamError:
        spec = self.spec
        if spec.kind == "camera":
            present = _cameras_present()
            hint = f" (video devices here: {', '.join(present)})" if present else (
                " (no video devices found)" if sys.platform.startswith("linux") else "")
            return TwitchcamError(f"cannot open {spec.description}: no such camera, or it is in use{hint}")
        if waited_s >= 0.9 * self.open_timeout_s:
            return TwitchcamError(f"cannot open stream {spec.text}: no video within {self.open_timeout_s:g} s")
        return TwitchcamError(f"cannot open stream {spec.text}: unreachable, or not a video stream")

    def open(self) -> "LiveSource":
        if self.kind == "file":
            self._file = FileSource(self.spec.text)  # its errors name the file
            if not self._fps_override:
                self.fps = self._file.fps
            return self
        started = time.monotonic()
        cap = self._open_capture()
        if cap is None:
            raise self._open_error(time.monotonic() - started)
        self._cap = cap
        self._thread = threading.Thread(target=self._capture_loop, name="twitchcam-capture", daemon=True)
        self._thread.start()
        self._measure_fps(cap)
        return self

    def _measure_fps(self, cap) -> None:
        """Cameras and streams: measure the real frame rate over their first frames.

        A stream's header rate is often wrong (MJPEG over HTTP says 25 whatever it sends),
        and the filters and the detector need the real rate.  The frames measured are the
        session's first frames: they wait in a backlog that next_frame() serves first.
        """
        deadline = time.monotonic() + self.open_timeout_s
        stamps: list[float] = []
        wanted, span = (1, 0.0) if self._fps_override else (MEASURE_FRAMES, MEASURE_MIN_S)
        while time.monotonic() < deadline:
            frame, _ = self.mailbox.take(0.2)
            if frame is not None:
                self._backlog.append(frame)
                stamps.append(frame.t_s)
                if len(stamps) >= wanted and stamps[-1] - stamps[0] >= span:
                    break
            elif self.ended:
                break
        if not stamps:
            self.stop()
            what = self.spec.description if self.kind == "camera" else f"stream {self.spec.text}"
            raise TwitchcamError(f"{what} opened but sent no frames within {self.open_timeout_s:g} s")
        gaps = np.diff(stamps)
        burst = _leading_burst(gaps)
        if not self._fps_override:
            period = _frame_period(stamps[burst + 1:] if burst else stamps)
            measured = 1.0 / period if period else None
            header = cap.get(cv2.CAP_PROP_FPS) if self.kind == "camera" else 0.0
            if measured and 2.0 <= measured <= 240.0:
                self.fps = round(measured, 3)
            elif header and 2.0 <= header <= 240.0:
                self.fps = float(header)
        self._restamp_burst(burst, 1.0 / self.fps)

    def _restamp_burst(self, burst: int, step: float) -> None:
        """The first `burst + 1` frames arrived together (buffered while the stream was probed
        or the driver started), yet were captured one frame apart before the next regular
        frame: give them those times, and keep the first frame at time zero (the clock
        shifts with them)."""
        frames = self._backlog
        if burst == 0 or burst >= len(frames) - 1:
            return
        anchor = frames[burst + 1].t_s
        new = [anchor - (burst + 1 - k) * step for k in range(burst + 1)]
        shift = -new[0]
        with self._clock:
            for k, frame in enumerate(frames):
                frame.t_s = (new[k] if k <= burst else frame.t_s) + shift
            self.mailbox.shift_times(shift)
            self._t0 -= shift
            self._last_t += shift

    # -- session ---------------------------------------------------------------------------
    def begin(self) -> None:
        """The session starts.  A camera's or stream's time zero is its first frame, captured
        when it opened; a file starts playing now."""
        with self._clock:
            self._last_frame_wall = time.monotonic()
            if self.kind == "file":
                self._t0 = self._last_frame_wall
            self._begun.set()
        if self.kind == "file":
            self._thread = threading.Thread(target=self._file_loop, name="twitchcam-file", daemon=True)
            self._thread.start()

    def now(self) -> float:
        """Current session (stream) time."""
        return time.monotonic() - self._t0 if self._t0 is not None else 0.0

    def next_frame(self, timeout: float = 0.05) -> tuple[Frame | None, int]:
        if self._backlog:
            return self._backlog.popleft(), 0
        return self.mailbox.take(timeout)

    @property
    def exhausted(self) -> bool:
        """No frame waiting and none will come."""
        return self.ended and not self.mailbox.pending and not self._backlog

    def stalled_for(self) -> float:
        """Seconds since the last frame arrived (0 while frames flow)."""
        return max(0.0, time.monotonic() - self._last_frame_wall) if self._begun.is_set() else 0.0

    @property
    def captured(self) -> int:
        return self.mailbox.captured

    @property
    def dropped_total(self) -> int:
        return self.mailbox.dropped_total

    def stop(self, join_s: float = 2.0) -> None:
        self._stop.set()
        self._begun.set()
        self._primed.set()
        self.mailbox.close()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(join_s)
            if t.is_alive():
                return  # blocked in a read; its own timeout ends it.  Never release under its feet.
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        if self._file is not None:
            self._file.close()

    # -- threads ---------------------------------------------------------------------------
    def _publish(self, bgr: np.ndarray, captured: float) -> None:
        """Hand a captured frame over, stamped in session time (its first frame is zero)."""
        frame = Frame(self._index, 0.0, bgr)
        self._index += 1
        if self.prepare is not None:
            frame = self.prepare(frame)
        with self._clock:  # stamped and handed over together: _restamp_burst sees either both or neither
            if self._t0 is None:
                self._t0 = captured
            t = captured - self._t0
            if t <= self._last_t:
                t = self._last_t + 1e-6
            self._last_t = frame.t_s = t
            self._last_frame_wall = time.monotonic()
            self.mailbox.put(frame)

    def _capture_loop(self) -> None:
        cap = self._cap
        while not self._stop.is_set():
            ok, bgr = cap.read() if cap is not None else (False, None)
            if self._stop.is_set():
                break
            if ok and bgr is not None:
                self._publish(bgr, time.monotonic())
                continue
            # The source stopped delivering: reopen until it comes back or we are told to stop.
            if cap is not None:
                cap.release()
                cap = self._cap = None
            while not self._stop.is_set():
                if self._stop.wait(0.5):
                    break
                cap = self._open_capture()
                if cap is not None:
                    self._cap = cap
                    self.reconnects += 1
                    break

    def _file_loop(self) -> None:
        src = self._file
        first = True
        try:
            for frame in src.frames():
                if self._stop.is_set():
                    break
                if first:
                    # Release frame 0 at once and start the clock when it has been analysed: the
                    # first inference is slow (model set-up) and must not cost dropped frames.
                    first = False
                    self._publish_file(frame)
                    while not self._primed.wait(0.1):
                        if self._stop.is_set():
                            return
                    with self._clock:
                        self._t0 = time.monotonic() - frame.t_s
                    continue
                delay = self._t0 + frame.t_s - time.monotonic()  # real time
                if delay > 0 and self._stop.wait(delay):
                    break
                self._publish_file(frame)
        except TwitchcamError:
            pass  # a file that breaks off ends the session like its end does (truncated)
        finally:
            self.ended = True
            self.mailbox.close()

    def _publish_file(self, frame: Frame) -> None:
        if self.prepare is not None:
            frame = self.prepare(frame)
        if self.no_drop:
            while not self.mailbox.wait_empty(0.1):
                if self._stop.is_set():
                    return
        self._last_frame_wall = time.monotonic()
        self.mailbox.put(frame)  # decoder index and timestamp, exactly as `analyze` has them

    def primed(self) -> None:
        """The consumer has processed its first frame (a file then starts its real-time clock)."""
        self._primed.set()

    @property
    def truncated(self) -> bool:
        return self._file is not None and self._file.truncated


def make_source(text: str, fps: float | None = None, stall_timeout_s: float = 10.0,
                no_drop: bool = False) -> LiveSource:
    """The source `text` names, not opened yet (see LiveSource.open)."""
    spec = parse_source(text)
    if no_drop and spec.kind != "file":
        raise TwitchcamError("--no-drop is for file sources only: a camera cannot wait for the analysis")
    open_timeout = min(30.0, max(5.0, stall_timeout_s))
    return LiveSource(spec, fps, stall_timeout_s, open_timeout, no_drop)


def open_source(text: str, fps: float | None = None, stall_timeout_s: float = 10.0,
                no_drop: bool = False) -> LiveSource:
    return make_source(text, fps, stall_timeout_s, no_drop).open()


def frames_until(source: LiveSource, should_stop, on_idle=None, poll_s: float = 0.05) -> Iterator[tuple[Frame, int]]:
    """(frame, dropped_before_it) until the source ends or should_stop() says so."""
    while True:
        if should_stop():
            return
        frame, dropped = source.next_frame(poll_s)
        if frame is None:
            if source.exhausted:
                return
            if on_idle is not None:
                on_idle()
            continue
        yield frame, dropped
