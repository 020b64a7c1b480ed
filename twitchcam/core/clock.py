"""The one clock format: elapsed seconds as m:ss, or h:mm:ss from an hour on."""
from __future__ import annotations

import math


def format_clock(seconds: float | None) -> str:
    """12.7 -> '0:12', 3725 -> '1:02:05'; '—' when unknown.  Whole seconds, rounded down,
    so a counter never shows a second that has not passed yet."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    h, rem = divmod(int(max(seconds, 0.0)), 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
