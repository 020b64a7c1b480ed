"""Session summary: the machine-readable version of every figure a report shows."""
from __future__ import annotations

import platform
from importlib import metadata

import numpy as np

from twitchcam.anatomy import SIDES
from twitchcam.events import Event

SUMMARY_FORMAT = 1
CLOSED_AT = 0.5  # closure at or above which an eye counts as closed for closed_fraction
AFFECTED_MIN_SPASMS = 2
AFFECTED_MIN_SHARE = 0.75


def frame_durations(t: np.ndarray, fps: float) -> np.ndarray:
    """How long each frame stands for: up to the next frame; the last one gets 1/fps.

    Gaps longer than 4 nominal frames (a stalled stream) are capped, so they do not
    count as tracked time.
    """
    if t.size == 0:
        return t.copy()
    dt = np.diff(t, append=t[-1] + 1.0 / fps)
    return np.minimum(dt, 4.0 / fps)


def versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("twitchcam", "mediapipe", "opencv-contrib-python", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _rate(count: int, valid_s: float) -> float | None:
    return round(count / (valid_s / 60.0), 4) if valid_s > 0 else None


def summarize(t: np.ndarray, valid: np.ndarray, closure: np.ndarray, events: list[Event], fps: float,
              meta: dict) -> dict:
    """Summary dict from per-frame arrays and events; `meta` adds provenance fields."""
    dt = frame_durations(np.asarray(t, dtype=float), fps)
    valid = np.asarray(valid, dtype=bool)
    valid_s = float(dt[valid].sum())
    duration_s = float(t[-1] - t[0] + 1.0 / fps) if len(t) else 0.0
    spasms = {}
    for k, side in enumerate(SIDES):
        mine = [e for e in events if e.side == side]
        durations = [e.duration_s for e in mine]
        closed = valid & (np.nan_to_num(closure[:, k], nan=0.0) >= CLOSED_AT)
        spasms[side] = {
            "count": len(mine),
            "per_min": _rate(len(mine), valid_s),
            "clonic": sum(e.kind == "clonic" for e in mine),
            "tonic": sum(e.kind == "tonic" for e in mine),
            "twitches": sum(e.twitches for e in mine),
            "mean_duration_s": round(float(np.mean(durations)), 4) if mine else None,
            "max_duration_s": round(float(np.max(durations)), 4) if mine else None,
            "closed_fraction": round(float(dt[closed].sum()) / valid_s, 4) if valid_s > 0 else None,
            "with_mouth": sum(e.region == "eye+mouth" for e in mine),
        }
    blinks = [e for e in events if e.side == "both"]
    counts = {s: spasms[s]["count"] for s in SIDES}
    total = sum(counts.values())
    top = max(SIDES, key=lambda s: counts[s])
    affected = top if counts[top] >= AFFECTED_MIN_SPASMS and counts[top] >= AFFECTED_MIN_SHARE * total else None
    return {
        "format": SUMMARY_FORMAT,
        **meta,
        "duration_s": round(duration_s, 4),
        "valid_s": round(valid_s, 4),
        "frames": int(len(t)),
        "valid_frames": int(valid.sum()),
        "no_face": bool(valid_s == 0),
        "spasms": spasms,
        "blinks": {"count": len(blinks), "per_min": _rate(len(blinks), valid_s)},
        "affected_side": affected,
        "affected_side_rule": f">= {AFFECTED_MIN_SPASMS} spasms and >= {AFFECTED_MIN_SHARE:.0%} of all spasms on one side",
        "closed_fraction_rule": f"share of valid time with closure >= {CLOSED_AT}",
        "versions": versions(),
    }
