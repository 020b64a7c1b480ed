"""Session summary: the machine-readable version of every figure a report shows."""
from __future__ import annotations

import math
import platform
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.detector import MIN_TWITCH_FPS
from twitchcam.core.events import BOTH, Event

SUMMARY_FORMAT = 1
CLOSED_AT = 0.5  # closure at or above which an eye counts as closed for closed_fraction
AFFECTED_MIN_SPASMS = 2
AFFECTED_MIN_SHARE = 0.75


@dataclass
class FrameTotals:
    """How much time the frames stand for: face tracked, and each eye closed.

    Each frame stands for the time up to the next one (the last one: 1/fps), capped at 4
    nominal frames so a stalled stream does not count as tracked time.  Durations are
    summed in whole nanoseconds, so adding frame by frame (live: constant memory) and
    summing a stored recording at once give the very same totals.
    """

    fps: float
    first_t: float = math.nan
    last_t: float = math.nan
    frames: int = 0
    valid_frames: int = 0
    valid_ns: int = 0
    closed_ns: list = field(default_factory=lambda: [0, 0])
    lost_frames: int = 0  # frames of the source never analysed (undecodable, or dropped live)
    gaps: int = 0  # in how many runs they were lost
    other_person_frames: int = 0  # frames of someone else's face (twitchcam.core.identity)
    _prev: tuple | None = None  # (t, valid, closed per side) of the frame not yet booked

    def add(self, t: float, valid: bool, closure: tuple[float, float], lost_before: int = 0,
            other_person: bool = False) -> None:
        self.other_person_frames += bool(other_person)
        if lost_before > 0:
            self.lost_frames += int(lost_before)
            self.gaps += 1
        if self._prev is None:
            self.first_t = t
        else:
            self._book(t - self._prev[0])
        self._prev = (t, bool(valid), [bool(valid and c >= CLOSED_AT) for c in closure])
        self.last_t = t
        self.frames += 1
        self.valid_frames += bool(valid)

    def _book(self, dt: float) -> None:
        ns = round(min(dt, 4.0 / self.fps) * 1e9)
        _, valid, closed = self._prev
        if valid:
            self.valid_ns += ns
            for k in (0, 1):
                self.closed_ns[k] += ns * closed[k]

    def closed(self) -> "FrameTotals":
        """Book the last frame (1/fps); call once at the end."""
        if self._prev is not None:
            self._book(1.0 / self.fps)
            self._prev = None
        return self

    @classmethod
    def of(cls, t: np.ndarray, valid: np.ndarray, closure: np.ndarray, fps: float,
           lost_before: np.ndarray | None = None, other_person: np.ndarray | None = None) -> "FrameTotals":
        """The same totals for whole arrays at once."""
        totals = cls(fps)
        totals.other_person_frames = 0 if other_person is None else int(np.count_nonzero(other_person))
        if lost_before is not None:
            lost = np.nan_to_num(np.asarray(lost_before, dtype=np.float64))
            totals.lost_frames, totals.gaps = int(lost[lost > 0].sum()), int((lost > 0).sum())
        if t.size == 0:
            return totals
        dt = np.minimum(np.diff(t, append=t[-1] + 1.0 / fps), 4.0 / fps)
        ns = np.round(dt * 1e9).astype(np.int64)
        closed = valid[:, None] & (np.nan_to_num(closure, nan=0.0) >= CLOSED_AT)
        totals.first_t, totals.last_t = float(t[0]), float(t[-1])
        totals.frames, totals.valid_frames = int(t.size), int(valid.sum())
        totals.valid_ns = int(ns[valid].sum())
        totals.closed_ns = [int(ns[closed[:, k]].sum()) for k in (0, 1)]
        return totals


def versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("twitchcam", "mediapipe", "opencv-contrib-python", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def finite(value: object) -> float | None:
    """``value`` as a finite float, or None (missing, null, NaN, text)."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def _rate(count: int, valid_s: float) -> float | None:
    return round(count / (valid_s / 60.0), 4) if valid_s > 0 else None


def affected_side(counts: dict[str, float]) -> str | None:
    """The side with at least AFFECTED_MIN_SPASMS spasms and AFFECTED_MIN_SHARE of them all."""
    top = max(SIDES, key=lambda s: counts[s])
    ok = counts[top] >= AFFECTED_MIN_SPASMS and counts[top] >= AFFECTED_MIN_SHARE * sum(counts.values())
    return top if ok else None


def summarize(totals: FrameTotals, events: list[Event], meta: dict) -> dict:
    """Summary dict from the frame totals and the events; `meta` adds provenance fields."""
    valid_s = totals.valid_ns / 1e9
    duration_s = totals.last_t - totals.first_t + 1.0 / totals.fps if totals.frames else 0.0
    spasms = {}
    for k, side in enumerate(SIDES):
        mine = [e for e in events if e.side == side and e.is_spasm]
        possible = [e for e in events if e.side == side and not e.is_spasm]
        durations = [e.duration_s for e in mine]
        spasms[side] = {
            "count": len(mine),
            "per_min": _rate(len(mine), valid_s),
            "clonic": sum(e.kind == "clonic" for e in mine),
            "tonic": sum(e.kind == "tonic" for e in mine),
            "twitches": int(sum(e.twitches for e in mine)),
            "mean_duration_s": round(float(np.mean(durations)), 4) if mine else None,
            "max_duration_s": round(float(np.max(durations)), 4) if mine else None,
            "closed_fraction": round(totals.closed_ns[k] / totals.valid_ns, 4) if valid_s > 0 else None,
            "with_mouth": sum(e.region == "eye+mouth" for e in mine),
            "possible": len(possible),  # one-sided, but not clearly enough to count (listed, never counted)
        }
    blinks = [e for e in events if e.side == BOTH]
    affected = affected_side({s: spasms[s]["count"] for s in SIDES})
    return {
        "format": SUMMARY_FORMAT,
        **meta,
        "duration_s": round(duration_s, 4),
        "valid_s": round(valid_s, 4),
        "frames": totals.frames,
        "valid_frames": totals.valid_frames,
        "lost_frames": totals.lost_frames,
        "gaps": totals.gaps,
        "other_person_frames": totals.other_person_frames,  # someone else's face: not analysed
        "no_face": bool(valid_s == 0),
        "spasms": spasms,
        # a twitch lasts 90-250 ms: below MIN_TWITCH_FPS spasms are listed as possible, never counted
        "too_slow_for_spasms": bool(totals.fps < MIN_TWITCH_FPS),
        "blinks": {"count": len(blinks), "per_min": _rate(len(blinks), valid_s)},
        "affected_side": affected,
        "affected_side_rule": f">= {AFFECTED_MIN_SPASMS} spasms and >= {AFFECTED_MIN_SHARE:.0%} of all spasms on one side",
        "closed_fraction_rule": f"share of valid time with closure >= {CLOSED_AT}",
        "versions": versions(),
    }
