"""A progress line on stderr while a video is analysed: frames/s and ETA."""
from __future__ import annotations

import sys
import time


class Progress:
    """A progress line redrawn in place, on a terminal only: where stderr is a file or a
    pipe (a script, a log) it would only bury the one line that says what went wrong."""

    def __init__(self, label: str, total: int, stream=None, every_s: float = 0.25):
        # sys.stderr looked up now, not when the module loaded: it may have been replaced since
        self.label, self.total, self.stream, self.every_s = label, total, stream or sys.stderr, every_s
        self.start = time.monotonic()
        self._last = 0.0
        self.n = 0
        isatty = getattr(self.stream, "isatty", None)
        self.shown = bool(isatty and isatty())

    def update(self, n: int) -> None:
        self.n = n
        now = time.monotonic()
        if self.shown and now - self._last >= self.every_s:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = self.n / elapsed
        if self.total > 0:
            frac = min(1.0, self.n / self.total)
            bar = "#" * int(frac * 24)
            eta = (self.total - self.n) / rate if rate > 0 else 0.0
            text = f"[{bar:<24}] {frac:4.0%} {self.n}/{self.total} frames {rate:5.0f} fps ETA {eta:4.0f}s"
        else:
            text = f"{self.n} frames {rate:5.0f} fps"
        self.stream.write(f"\r{self.label[:28]:<28} {text}")
        self.stream.flush()

    def done(self) -> None:
        if not self.shown:
            return
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()
