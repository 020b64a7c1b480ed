"""A progress line on stderr (frames/s and ETA) and the per-side summary table on stdout."""
from __future__ import annotations

import sys
import time

from twitchcam.core.anatomy import SIDES


class Progress:
    """A progress line redrawn in place, on a terminal only: where stderr is a file or a
    pipe (a script, a log) it would only bury the one line that says what went wrong."""

    def __init__(self, label: str, total: int, stream=sys.stderr, every_s: float = 0.25):
        self.label, self.total, self.stream, self.every_s = label, total, stream, every_s
        self.start = time.monotonic()
        self._last = 0.0
        self.n = 0
        isatty = getattr(stream, "isatty", None)
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


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def summary_table(name: str, s: dict) -> str:
    lines = [f"{name}: {s['duration_s']:.1f} s recorded, face tracked {s['valid_s']:.1f} s"
             f" ({s['status']})"]
    if s["no_face"]:
        lines.append("  no face found: nothing was analysed, no events reported")
        return "\n".join(lines)
    lines.append(f"  {'side':<6} {'spasms':>6} {'per min':>8} {'clonic':>6} {'tonic':>5} {'mean s':>6} "
                 f"{'max s':>6} {'closed':>7} {'+mouth':>6}")
    for side in SIDES:
        d = s["spasms"][side]
        closed = None if d["closed_fraction"] is None else 100 * d["closed_fraction"]
        lines.append(f"  {side:<6} {d['count']:>6} {_fmt(d['per_min'], '8.2f'):>8} {d['clonic']:>6} "
                     f"{d['tonic']:>5} {_fmt(d['mean_duration_s'], '6.2f'):>6} {_fmt(d['max_duration_s'], '6.2f'):>6}"
                     f" {_fmt(closed, '6.1f') + '%':>7} {d['with_mouth']:>6}")
    b = s["blinks"]
    lines.append(f"  blinks {b['count']} ({_fmt(b['per_min'], '.1f')}/min); affected side: "
                 f"{s['affected_side'] or 'none identified'}")
    return "\n".join(lines)
