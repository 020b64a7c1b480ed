"""The live driver: a camera (or stream, or file in real time) through the shared pipeline.

    source thread (latest frame only) -> run_session(Pipeline) -> session folder
                                              |
                                              +-> on_result: history, window or status line,
                                                  keys, markers, optional raw video

Analysis is exactly `analyze`'s (same Pipeline, same run_session); only where frames come
from, how fast, and what is shown differ.  The live figures (dropped frames, delays) go into
the summary that run_session writes once.  Whatever happens (q, --duration, Ctrl-C,
SIGTERM, the stream dying), run_session finalises the folder; kill -9 leaves it readable
with status "running", which readers treat as interrupted.
"""
from __future__ import annotations

import functools
import math
import os
import signal
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from twitchcam.core.clock import format_clock
from twitchcam.core.stream import PipelineParams
from twitchcam.errors import Interrupted, TwitchcamError
from twitchcam.live.overlay import LAYOUT, LiveHistory, LiveInfo, render, status_line
from twitchcam.live.source import LiveSource, frames_until, make_source
from twitchcam.run.session import run_session
from twitchcam.store.atomic import unlink_link
from twitchcam.store.folder import check_session_folder
from twitchcam.store.paths import live_folder, recordings_dir
from twitchcam.store.session import VIDEO_FILE
from twitchcam.store.writer import SessionWriter
from twitchcam.video.evidence import EvidenceRecorder, EvidenceWriter
from twitchcam.video.pipeline import Pipeline, prepare_frame, session_meta

WINDOW_NAME = "twitchcam live"
KEY_QUIT = (ord("q"), ord("Q"), 27)
KEY_MARKER = (ord(" "),)
KEY_RECALIBRATE = (ord("r"), ord("R"))


class Terminated(TwitchcamError):
    exit_code = 143


class SourceLost(TwitchcamError):
    exit_code = 1


@dataclass
class LiveOptions:
    source: str = "0"
    model: Path | None = None
    out: Path | None = None
    recordings: Path | None = None  # where the default session folder goes (store.paths.recordings_dir)
    duration_s: float | None = None
    display: bool | None = None  # None: a window if a display is reachable
    record_video: bool = False
    stall_timeout_s: float = 10.0
    mirrored: bool = False  # the source itself is selfie-view (flipped)
    fps: float | None = None  # override the measured frame rate
    status_every_s: float = 5.0
    no_drop: bool = False  # files only: slow playback down rather than drop frames
    overwrite: bool = False  # replace a session already in `out`
    evidence: str | None = None  # 'eye' or 'face': a strip per one-sided event (video/evidence.py)
    params: PipelineParams = field(default_factory=PipelineParams)


@dataclass
class LiveOutcome:
    folder: Path
    summary: dict
    status: str
    display: bool


# -- display detection ------------------------------------------------------------------------
def display_available(env: dict | None = None) -> tuple[bool, str]:
    """Is there a display OpenCV's window can use?  (Qt aborts the process if there is not.)"""
    env = os.environ if env is None else env
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return True, ""
    disp = env.get("DISPLAY", "")
    if not disp:
        return False, "no DISPLAY"
    host, _, rest = disp.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False, f"DISPLAY={disp} is not usable"
    try:
        if host in ("", "unix") or host.startswith("/"):
            path = host if host.startswith("/") else f"/tmp/.X11-unix/X{number}"
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1.0)
                try:
                    s.connect(path)
                except OSError:
                    if not sys.platform.startswith("linux"):
                        raise
                    s.connect("\0" + f"/tmp/.X11-unix/X{number}")  # the abstract socket
        else:
            socket.create_connection((host, 6000 + int(number)), timeout=1.0).close()
    except OSError:
        return False, f"cannot reach the X display {disp}"
    return True, ""


# -- outputs ------------------------------------------------------------------------------------
class Window:
    """The OpenCV window.  Only ever created when a display is reachable."""

    def __init__(self, layout=LAYOUT):
        cv2.namedWindow(WINDOW_NAME, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        cv2.resizeWindow(WINDOW_NAME, layout.width, layout.height)
        self._shown = False

    def show(self, canvas: np.ndarray) -> int:
        cv2.imshow(WINDOW_NAME, canvas)
        self._shown = True
        return cv2.waitKey(1) & 0xFF

    def poll(self) -> int:
        return cv2.waitKey(1) & 0xFF

    def closed(self) -> bool:
        """The user closed the window with its close button."""
        if not self._shown:
            return False
        try:
            return cv2.getWindowProperty(WINDOW_NAME, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def close(self) -> None:
        try:
            cv2.destroyWindow(WINDOW_NAME)
            cv2.waitKey(1)
        except cv2.error:
            pass


class VideoRecorder:
    """The raw (as captured, unmirrored) frames that were analysed, as MJPEG in an AVI.

    Frame k of video.avi is row k of frames.csv; their times are in frames.csv.
    """

    def __init__(self, path: Path, fps: float):
        self.path, self.fps = path, fps
        self._w: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, bgr: np.ndarray) -> None:
        if self._w is None:
            self._size = (bgr.shape[1], bgr.shape[0])
            unlink_link(self.path)
            self._w = cv2.VideoWriter(str(self.path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"),
                                      self.fps, self._size)
            if not self._w.isOpened():
                self._w = None
                raise TwitchcamError(f"cannot write {self.path}")
            self._w.set(cv2.VIDEOWRITER_PROP_QUALITY, 90)
        if (bgr.shape[1], bgr.shape[0]) != self._size:  # the camera came back at another size
            bgr = cv2.resize(bgr, self._size)
        self._w.write(bgr)
        self.frames += 1

    def close(self) -> None:
        if self._w is not None:
            self._w.release()
            self._w = None


class LagHistogram:
    """Capture-to-result delay in 1 ms bins: percentiles in constant memory, however long."""

    def __init__(self, max_s: float = 5.0):
        self.bins = np.zeros(int(max_s * 1000) + 1, dtype=np.int64)

    def add(self, lag_s: float) -> None:
        self.bins[min(len(self.bins) - 1, max(0, int(lag_s * 1000)))] += 1

    def percentile(self, q: float) -> float | None:
        n = int(self.bins.sum())
        if n == 0:
            return None
        k = int(np.searchsorted(np.cumsum(self.bins), math.ceil(q / 100 * n)))
        return round(k / 1000.0, 4)


# -- the run ------------------------------------------------------------------------------------
class LiveRun:
    """Glue between the source, run_session and the user (keys, window, status line)."""

    def __init__(self, source: LiveSource, pipeline: Pipeline, writer: SessionWriter, opts: LiveOptions,
                 window: Window | None, video: VideoRecorder | None, out):
        self.source, self.pipeline, self.writer, self.opts = source, pipeline, writer, opts
        self.window, self.video, self.out = window, video, out
        self.evidence = writer.recorder if isinstance(writer, EvidenceWriter) else None
        det = pipeline.params.detector
        self.hist = LiveHistory(fps=pipeline.fps, calibration_frames=pipeline.chain.detector.schedule.calibration,
                                mouth_ref=det.cocontraction_rise)
        self.info = LiveInfo(source=source.description, recording=video is not None, keys=window is not None)
        self.stop_reason = ""  # quit | duration | lost | end
        self.signal_name = ""
        self._signal_count = 0
        self.active = False
        self.current = None  # the frame being processed
        self.last_frame = None  # as captured, for the window
        self.last_points = None
        self._pending_dropped = 0
        self._proc_times: deque = deque()
        self.lag = LagHistogram()
        self._last_draw = -math.inf
        self._last_status = time.monotonic()
        self._toast_until = 0.0
        self.markers = 0
        self.processed = 0
        self.first_result_s: float | None = None  # process start -> first analysed frame

    # signals: first Ctrl-C/SIGTERM asks the loop to stop cleanly; a second one forces it
    def on_signal(self, signum, _frame) -> None:
        self._signal_count += 1
        self.signal_name = self.signal_name or signal.Signals(signum).name
        if self.active and self._signal_count >= 2:
            raise KeyboardInterrupt

    def _should_stop(self) -> bool:
        if self._signal_count:
            raise KeyboardInterrupt  # inside run_session's loop: it finalises as "interrupted"
        if self.stop_reason:
            return True
        # A file's time is its own (decoder) time, so a file run stops at the same frame every time.
        now = (self.current.t_s if self.current is not None else 0.0) if self.source.kind == "file" \
            else self.source.now()
        if self.opts.duration_s is not None and now >= self.opts.duration_s:
            self.stop_reason = "duration"
            return True
        if self.source.kind != "file" and self.source.stalled_for() >= self.opts.stall_timeout_s:
            self.stop_reason = "lost"
            return True
        return False

    def frames(self):
        for frame, dropped in frames_until(self.source, self._should_stop, self._idle):
            self._pending_dropped = dropped
            self.current = frame
            yield frame
        if not self.stop_reason:
            self.stop_reason = "end"

    def dropped(self) -> int:
        d, self._pending_dropped = self._pending_dropped, 0
        return d

    def end_status(self) -> str:
        if self.stop_reason == "lost":
            return "interrupted"
        if self.stop_reason == "end" and self.source.truncated:
            return "truncated"
        return "complete"

    def on_result(self, r) -> None:
        wall = time.monotonic()
        self.processed += 1
        self.lag.add(self.source.now() - r.t_s)
        self._proc_times.append(wall)
        while self._proc_times and self._proc_times[0] < wall - 2.0:
            self._proc_times.popleft()
        frame = self.current
        if self.video is not None and frame is not None:
            self.video.write(frame.bgr)
        if self.evidence is not None and frame is not None:  # a short ring of eye crops (bounded memory)
            self.evidence.add(r.t_s, frame.rgb, r.points, r.valid)
        spasms = self.hist.update(r, wall)
        if frame is not None and self.window is not None:
            self.last_frame, self.last_points = frame.bgr, r.points
        if self.window is None:
            for e in spasms:
                self._print(f"[{format_clock(r.t_s)}] {e.side.upper()} {e.kind} spasm: {e.twitches} twitch"
                            f"{'es' if e.twitches != 1 else ''}, {e.duration_s:.2f} s"
                            f"{', with mouth' if e.region == 'eye+mouth' else ''}")
        self._refresh(wall, busy=self.source.mailbox.pending)
        if self.processed == 1:
            self.first_result_s = process_age_s()
            # A file starts its real-time clock once the first frame is through (the first
            # inference and the window's first paint are slow, and must not cost frames).
            self.source.primed()

    def _idle(self) -> None:
        """No frame this instant: keep the window alive, notice stalls, keep the files flushed."""
        wall = time.monotonic()
        if self.source.stalled_for() >= 1.0:
            self.writer.flush()  # rows written before the stall are on disk within a second
        if wall - self._last_draw >= 0.1:
            self._refresh(wall, busy=False)
        elif self.window is not None:
            self._handle_key(self.window.poll())

    def _refresh(self, wall: float, busy: bool) -> None:
        info = self.info
        info.elapsed_s = max(0.0, self.source.now())
        info.stalled_s = self.source.stalled_for() if self.source.kind != "file" else 0.0
        info.dropped = self.source.dropped_total
        span = self._proc_times[-1] - self._proc_times[0] if len(self._proc_times) > 1 else 0.0
        info.proc_fps = (len(self._proc_times) - 1) / span if span > 0 else 0.0
        info.markers = self.markers
        if wall > self._toast_until:
            info.toast = ""
        if self.window is not None:
            # Analysis first: when a newer frame is already waiting, redraw at most ~10 times a second.
            if busy and wall - self._last_draw < 0.1:
                self._handle_key(self.window.poll())
                return
            self._last_draw = wall
            canvas = render(self.last_frame, self.last_points, self.hist, info, LAYOUT, wall, self.opts.mirrored)
            self._handle_key(self.window.show(canvas))
            if self.window.closed():
                self.stop_reason = self.stop_reason or "quit"
        else:
            self._last_draw = wall
            if wall - self._last_status >= self.opts.status_every_s:
                self._last_status = wall
                self._print(status_line(self.hist, info))

    def _handle_key(self, key: int) -> None:
        if key == 255:
            return
        t = self.current.t_s if self.current is not None else max(0.0, self.source.now())
        if key in KEY_QUIT:
            self.stop_reason = self.stop_reason or "quit"
        elif key in KEY_MARKER:
            self.markers += 1
            self.writer.marker(t, "marker")
            self._toast(f"marker {self.markers} at {format_clock(t)}")
        elif key in KEY_RECALIBRATE:
            self.pipeline.chain.detector.recalibrate()
            self.hist.recalibrated()
            self.writer.marker(t, "recalibrated")
            self._toast("re-calibrating: look at the camera, eyes open")

    def _toast(self, msg: str) -> None:
        self.info.toast = msg
        self._toast_until = time.monotonic() + 2.0

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    @property
    def dropped_total(self) -> int:
        """Frames captured but never analysed (overwritten while busy, or left over at the end)."""
        return max(self.source.dropped_total, self.source.captured - self.processed)

    def final_stats(self) -> dict:
        """The live figures of the summary, once the source has stopped: a frame captured after
        the last analysed one counts as dropped."""
        self.source.stop()
        return self.live_stats()

    def live_stats(self) -> dict:
        return {
            "source_kind": self.source.kind,
            "captured_frames": self.source.captured,
            "processed_frames": self.processed,
            "dropped_frames": self.dropped_total,
            "measured_fps": self.source.fps,
            "first_result_s": None if self.first_result_s is None else round(self.first_result_s, 3),
            "lag_s_median": self.lag.percentile(50),
            "lag_s_p95": self.lag.percentile(95),
            "reconnects": self.source.reconnects,
            "markers": self.markers,
            "ended_by": {"quit": "user", "duration": "duration", "lost": "source lost", "end": "end of source"}.get(
                self.stop_reason, "signal" if self.signal_name else "error"),
        }


def process_age_s() -> float | None:
    """Seconds since this process started (Linux: its start time in /proc), else None."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time after boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def run_live(opts: LiveOptions, out=None) -> LiveOutcome:
    """Run one live session; returns its outcome or raises a one-line TwitchcamError."""
    from twitchcam.core.filters import preload_scipy
    from twitchcam.video.model import ensure_model

    out = out or sys.stderr  # looked up now: it may have been replaced since import

    if opts.duration_s is not None and opts.duration_s <= 0:
        raise TwitchcamError("--duration must be positive")
    if opts.stall_timeout_s <= 0:
        raise TwitchcamError("--stall-timeout must be positive")
    recordings = recordings_dir(opts.recordings)
    folder = Path(opts.out) if opts.out else live_folder(recordings)
    check_session_folder(folder, opts.overwrite, recordings)  # the same rule as `analyze --out`
    preload_scipy()  # for the filters, while the model is checked and loaded and the source opened
    model = ensure_model(opts.model)
    if opts.display is False:
        show, why = False, "--no-display"
    else:
        show, why = display_available()
        if opts.display and not show:
            print(f"twitchcam: no window ({why}); running headless", file=out, flush=True)
    source = make_source(opts.source, opts.fps, opts.stall_timeout_s, no_drop=opts.no_drop)
    source.prepare = functools.partial(prepare_frame, mirrored=opts.mirrored)  # converted in the reading thread
    if source.kind == "file":
        source.open()  # a missing or broken file says so at once; it plays only from begin()
    window = video = writer = None
    run: LiveRun | None = None
    started = False
    previous = {}
    try:
        from twitchcam.video.landmarks import Landmarker

        with Landmarker(model) as landmarker:
            if show:
                window = Window()
            # A camera or stream opens only now that the landmarker (and the window) is ready: its
            # first frame is the session's first frame, and none is read before analysis can take it.
            if source.kind != "file":
                source.open()
            pipeline = Pipeline(landmarker, source.fps, opts.params, opts.mirrored)
            meta = session_meta(source.description, "live", source.fps, opts.mirrored, opts.params)
            meta["source_kind"] = source.kind
            if opts.record_video:
                meta["video"] = VIDEO_FILE
            writer = SessionWriter(folder, meta, overwrite=opts.overwrite)  # the folder exists from here on
            if opts.evidence:
                writer = EvidenceWriter(writer, EvidenceRecorder(folder, source.fps, opts.evidence))
            if opts.record_video:
                video = VideoRecorder(folder / VIDEO_FILE, source.fps)
            run = LiveRun(source, pipeline, writer, opts, window, video, out)
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, run.on_signal)
            mode = "window" if show else f"headless ({why}); Ctrl-C ends"
            print(f"twitchcam live: {source.description} at {source.fps:.1f} fps -> {folder}  [{mode}]",
                  file=out, flush=True)
            source.begin()
            run.active = started = True
            try:
                summary, status = run_session(pipeline.results(run.frames()), pipeline.chain, writer, meta,
                                              on_result=run.on_result, dropped=run.dropped, end_status=run.end_status,
                                              live_figures=run.final_stats)
            finally:
                run.active = False
    except KeyboardInterrupt:
        if writer is None:
            raise Interrupted("interrupted before the session started; nothing was recorded") from None
        if not started:  # between creating the folder and starting: still leave it finalised
            writer.close("interrupted", None)
        if run is not None and run.signal_name == "SIGTERM":
            raise Terminated(f"terminated (SIGTERM); the session so far is saved in {folder}") from None
        raise Interrupted(f"interrupted; the session so far is saved in {folder}") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        source.stop()
        if window is not None:
            window.close()
        if video is not None:
            video.close()
    if run.stop_reason == "lost":
        what = source.description if source.kind == "camera" else f"stream {source.description}"
        raise SourceLost(f"{what} stopped sending frames (no frame for {opts.stall_timeout_s:g} s); "
                         f"the session so far is saved in {folder} (status: interrupted)")
    return LiveOutcome(folder, summary, status, show)
