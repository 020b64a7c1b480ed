"""The review page: a local web page on which a person confirms or rejects each one-sided event.

It listens on 127.0.0.1 only, on a free port, and every request must carry the run's random
token (`?t=...`), else 403: another user of this computer, or a web page in the browser
guessing ports, can neither read nor change anything.  It serves only what it builds from
the session folders it was given (by their index and the event's id, never a path from the
request): the page, the events as JSON, each event's evidence strip, and a short clip around
the event from the session's video when that is still there, as MJPEG (played by <img>).
Decisions go through `twitchcam.store.review.decide` (review.csv, atomic, locked).
"""
from __future__ import annotations

import hmac
import json
import math
import secrets
import sys
import threading
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from twitchcam.errors import TwitchcamError
from twitchcam.review.page import PAGE
from twitchcam.store import review
from twitchcam.store.reader import read_meta_or_empty
from twitchcam.store.session import VIDEO_FILE
from twitchcam.store.source import source_changed
from twitchcam.video.evidence import strip_path

CLIP_MARGIN_S = 1.0  # a clip shows this much before and after the event
MAX_BODY = 4096


def session_video(folder: Path) -> Path | None:
    """The video a session was made from, if it is still there unchanged, or the one live recorded."""
    folder = Path(folder)
    if (folder / VIDEO_FILE).is_file():
        return folder / VIDEO_FILE
    meta = read_meta_or_empty(folder)
    ident = meta.get("source_id")
    if isinstance(ident, dict) and isinstance(ident.get("path"), str):
        path = Path(ident["path"])
        if path.is_file() and not source_changed(meta, path):
            return path
    return None


class ReviewApp:
    """What the page shows and changes, for the session folders given."""

    def __init__(self, folders: list[Path]):
        self.folders = [Path(f) for f in folders]
        self.videos = [session_video(f) for f in self.folders]  # looked up once: it hashes the file's ends

    def items(self) -> list[dict]:
        out = []
        for s, folder in enumerate(self.folders):
            found, _ = review.items(folder)
            out += [self._row(s, folder, it) for it in found]
        return out

    def _row(self, s: int, folder: Path, it: review.Item) -> dict:
        e = it.event

        def num(x: float) -> float | None:
            return None if not math.isfinite(x) else round(x, 3)

        return {"session": s, "name": folder.name, "id": it.id, "onset_s": num(e.onset_s),
                "duration_s": num(e.duration_s), "side": it.final_side, "detected_side": e.side, "kind": e.kind,
                "confidence": num(e.confidence), "asym": num(e.asym), "decision": it.decision,
                "strip": strip_path(folder, it.id).is_file(), "clip": self.videos[s] is not None}

    def decide(self, s: int, event_id: int, decision: str | None, side: str | None) -> dict:
        folder = self.folders[s]
        found = review.decide(folder, {event_id: (decision, side)})
        it = next(x for x in found if x.id == event_id)
        return self._row(s, folder, it)

    def event(self, s: int, event_id: int) -> review.Item:
        found, _ = review.items(self.folders[s])
        for it in found:
            if it.id == event_id:
                return it
        raise KeyError(event_id)


def make_handler(app: ReviewApp, token: str):
    class Handler(BaseHTTPRequestHandler):
        server_version = "twitchcam-review"

        def log_message(self, *args) -> None:  # quiet: the terminal shows the address only
            pass

        def _authorised(self) -> bool:
            given = parse_qs(urlsplit(self.path).query).get("t", [""])[0]
            if hmac.compare_digest(given.encode(), token.encode()):
                return True
            self._send(403, b"forbidden\n", "text/plain")
            return False

        def _send(self, code: int, body: bytes, kind: str, extra: dict | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self'; "
                                                        "style-src 'unsafe-inline'; script-src 'unsafe-inline'")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, data) -> None:
            self._send(code, json.dumps(data).encode(), "application/json")

        def _ids(self, parts: list[str]) -> tuple[int, int] | None:
            try:
                s, event_id = int(parts[0]), int(parts[1].split(".")[0])
            except (IndexError, ValueError):
                return None
            return (s, event_id) if 0 <= s < len(app.folders) else None

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if not self._authorised():
                return
            parts = [p for p in urlsplit(self.path).path.split("/") if p]
            if not parts:
                return self._send(200, PAGE.encode(), "text/html; charset=utf-8")
            if parts == ["api", "items"]:
                return self._json(200, app.items())
            ids = self._ids(parts[1:]) if parts[0] in ("strip", "clip") else None
            if ids is None:
                return self._send(404, b"not found\n", "text/plain")
            if parts[0] == "strip":
                path = strip_path(app.folders[ids[0]], ids[1])
                if not path.is_file():
                    return self._send(404, b"no strip\n", "text/plain")
                return self._send(200, path.read_bytes(), "image/png")
            return self._clip(*ids)

        def _clip(self, s: int, event_id: int) -> None:
            from twitchcam.review.clip import mjpeg_frames

            video = app.videos[s]
            try:
                it = app.event(s, event_id)
            except KeyError:
                return self._send(404, b"no such event\n", "text/plain")
            if video is None:
                return self._send(404, b"the video is not there\n", "text/plain")
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                for jpeg, wait_s in mjpeg_frames(video, it.event.onset_s - CLIP_MARGIN_S,
                                                 it.event.offset_s + CLIP_MARGIN_S):
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                     + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                    time.sleep(wait_s)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self) -> None:  # noqa: N802
            if not self._authorised():
                return
            if urlsplit(self.path).path != "/api/decide":
                return self._send(404, b"not found\n", "text/plain")
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    raise ValueError
                body = json.loads(self.rfile.read(length))
                s, event_id = int(body["session"]), int(body["id"])
                if not 0 <= s < len(app.folders):
                    raise ValueError
                decision, side = body.get("decision"), body.get("side")
            except (ValueError, KeyError, TypeError):
                return self._json(400, {"error": "bad request"})
            try:
                return self._json(200, app.decide(s, event_id, decision, side))
            except TwitchcamError as exc:
                return self._json(409, {"error": str(exc)})

    return Handler


class ReviewServer:
    """The page's server in a thread of its own (tests start and stop it; `serve` runs it)."""

    def __init__(self, folders: list[Path], port: int = 0, token: str | None = None):
        self.token = token or secrets.token_urlsafe(24)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), make_handler(ReviewApp(folders), self.token))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="twitchcam-review", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/?t={self.token}"

    def __enter__(self) -> "ReviewServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(folders: list[Path], port: int = 0, open_browser: bool = True) -> None:
    """Run the review page until Ctrl-C."""
    try:
        server = ReviewServer(folders, port)
    except OSError as exc:
        raise TwitchcamError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    with server:
        print(f"review page: {server.url}\n(decisions are saved as you make them; Ctrl-C ends the page)", flush=True)
        if open_browser:
            webbrowser.open(server.url)
        try:
            while server.thread.is_alive():
                server.thread.join(0.5)
        except KeyboardInterrupt:
            print("review page closed", file=sys.stderr)
