"""A tiny MJPEG-over-HTTP camera for tests: real video frames served as a live stream.

It speaks what IP cameras and `mjpg-streamer` speak: `GET /stream.mjpg` answers
`multipart/x-mixed-replace` with one JPEG part per frame, paced at the video's frame
rate on an absolute schedule (so the stream neither drifts nor bursts).  OpenCV's FFmpeg
backend reads it as http://127.0.0.1:PORT/stream.mjpg.

Failure modes, for the live-mode tests (N counts frames sent over all connections):
    stall_after=N   after N frames, every connection goes silent but stays open
    die_after=N     after N frames, the connection closes and the server stops listening
    pause_after=N   after N frames, go silent for pause_s seconds once, then carry on
    drop_after=N    after N frames, close the connection once but keep listening (a camera
                    that restarts: the client must reconnect, and gets frame 0 again)
    jitter_s=J      send each frame up to J seconds late (seeded), as a busy camera or network does
    skip={k, ...}   never send these frames of the video (the camera lost them)

Usage in a test:
    with MjpegServer(jpegs, fps) as server:
        subprocess.run([... "--source", server.url ...])

or standalone (a handy fake webcam for trying `twitchcam live` by hand):
    python -m tests.mjpeg_server VIDEO [--port 8090] [--loop]
"""
from __future__ import annotations

import argparse
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

BOUNDARY = "twitchcamframe"


def encode_video(path: str | Path, quality: int = 90, max_frames: int | None = None) -> tuple[list[bytes], float]:
    """All frames of a video as JPEG bytes, and its frame rate."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {path}")
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = float(fps) if fps and 1.0 <= fps <= 240.0 else 30.0
    out: list[bytes] = []
    while max_frames is None or len(out) < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out.append(buf.tobytes())
    cap.release()
    if not out:
        raise ValueError(f"no frames in {path}")
    return out, fps


def encode_frames(frames: Sequence[np.ndarray], quality: int = 90) -> list[bytes]:
    return [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes() for f in frames]


class MjpegServer:
    """Serve JPEG frames as an MJPEG stream on 127.0.0.1 from a background thread."""

    def __init__(self, jpegs: Sequence[bytes], fps: float, loop: bool = True,
                 stall_after: int | None = None, die_after: int | None = None,
                 pause_after: int | None = None, pause_s: float = 0.0, drop_after: int | None = None,
                 jitter_s: float = 0.0, skip: Sequence[int] = (), port: int = 0):
        if not jpegs:
            raise ValueError("no frames to serve")
        self.jpegs = list(jpegs)
        self.fps = float(fps)
        self.loop = loop
        self.stall_after = stall_after
        self.die_after = die_after
        self.pause_after, self.pause_s, self.drop_after = pause_after, pause_s, drop_after
        self._paused = self._dropped = False
        self.jitter_s, self.skip = jitter_s, frozenset(skip)
        self._late = random.Random(0)
        self.sent = 0  # frames sent, over all connections
        self.connections = 0
        self._stop = threading.Event()
        self._dead = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                if self.path.split("?")[0] != "/stream.mjpg":
                    self.send_error(404)
                    return
                if server._dead.is_set():
                    self.send_error(503)
                    return
                server.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache, private")
                self.send_header("Pragma", "no-cache")
                self.end_headers()
                server._stream(self.wfile)

        return Handler

    def _stream(self, wfile) -> None:
        start = time.monotonic()
        k = 0
        try:
            while not self._stop.is_set():
                if self.die_after is not None and self.sent >= self.die_after:
                    self._die()
                    return
                if self.stall_after is not None and self.sent >= self.stall_after:
                    self._stop.wait()  # silent, connection held open
                    return
                if self.pause_after is not None and self.sent >= self.pause_after and not self._paused:
                    self._paused = True
                    if self._stop.wait(self.pause_s):
                        return
                    start += self.pause_s  # then on schedule again, without a burst
                if self.drop_after is not None and self.sent >= self.drop_after and not self._dropped:
                    self._dropped = True
                    return  # the handler returns and the connection closes
                if k >= len(self.jpegs) and not self.loop:
                    return
                if k % len(self.jpegs) in self.skip:
                    k += 1
                    continue
                due = start + k / self.fps + self._late.uniform(0.0, self.jitter_s)
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                jpeg = self.jpegs[k % len(self.jpegs)]
                wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                            .encode("ascii") + jpeg + b"\r\n")
                wfile.flush()
                k += 1
                self.sent += 1
        except (BrokenPipeError, ConnectionResetError, OSError):
            return

    def _die(self) -> None:
        """Like a camera losing power: drop connections and stop listening."""
        if self._dead.is_set():
            return
        self._dead.set()
        threading.Thread(target=self._httpd.shutdown, daemon=True).start()
        try:
            self._httpd.socket.close()
        except OSError:
            pass

    def start(self) -> "MjpegServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name="mjpeg-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if not self._dead.is_set():
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "MjpegServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.mjpeg_server", description="Serve a video as an MJPEG stream.")
    ap.add_argument("video")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--no-loop", action="store_true")
    args = ap.parse_args(argv)
    jpegs, fps = encode_video(args.video)
    with MjpegServer(jpegs, fps, loop=not args.no_loop, port=args.port) as server:
        print(f"serving {args.video} ({len(jpegs)} frames @ {fps:.2f} fps) at {server.url}  (Ctrl-C stops)")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
