"""Run extraction (hysteresis on a streamed signal, and its sliding floor) and the one-sided
signal it runs on."""
from __future__ import annotations

import math
from collections import deque

from twitchcam.core.detector.params import DetectorParams
from twitchcam.core.events import Run


def lateral(r_self: float, r_other: float, ok: bool, p: DetectorParams) -> float:
    """How much less open side s is than the other (openings, 1 = own open level), relative
    to how open the other is.

    A relative difference, so a symmetric narrowing (smiling, squinting) cancels; 0 where
    `ok` (from `comparable`) says it cannot be judged.
    """
    if not ok:
        return 0.0
    r_other = min(r_other, 1.0)  # the other eye opening wider than usual is no closure of this one
    return (r_other - r_self) / max(r_other, p.other_open_min)


def comparable(r_self: float, r_other: float, c_other: float, p: DetectorParams) -> bool:
    """Whether laterality can be judged: the other eye open enough to compare against, by the
    lateral sources (opening r) and by every source (c_other, the most any source finds it
    closed: eyes nearly shut while crying or looking down fool one source, rarely all), and
    both readings sane (NaN compares False)."""
    return p.other_open_min <= r_other <= p.open_max and r_self <= p.open_max and c_other <= p.other_closed_max


class SlidingMin:
    """Minimum of the last n pushed values (monotonic deque, O(1) amortised)."""

    def __init__(self, n: int):
        self.n = n
        self.i = 0
        self.q: deque[tuple[int, float]] = deque()

    def push(self, x: float) -> float:
        q = self.q
        while q and q[-1][1] >= x:
            q.pop()
        q.append((self.i, x))
        if q[0][0] <= self.i - self.n:
            q.popleft()
        self.i += 1
        return q[0][1]


class RunState:
    """Streaming run extraction for one signal (see detector step 3)."""

    __slots__ = ("open", "onset", "peak", "ref_peak", "accepted", "blind_since")

    def __init__(self):
        self.open = False
        self.onset = self.peak = self.ref_peak = 0.0
        self.accepted = False
        self.blind_since = math.nan

    def hold(self, t: float, hold_s: float) -> Run | None:
        """A frame on which the signal cannot be judged: keep an open run open for up to
        hold_s, else end it where the blind stretch began."""
        if math.isnan(self.blind_since):
            self.blind_since = t
        if t - self.blind_since <= hold_s:
            return None
        return self.step(self.blind_since, False, False, 0.0)

    def step(self, t: float, above_off: bool, above_on: bool, value: float, ref: float = 0.0) -> Run | None:
        self.blind_since = math.nan
        if above_off:
            if self.open:
                if value > self.peak:
                    self.peak = value
                if ref > self.ref_peak:
                    self.ref_peak = ref
                self.accepted = self.accepted or above_on
            else:
                self.open, self.onset, self.peak, self.ref_peak, self.accepted = True, t, value, ref, above_on
            return None
        if self.open:
            self.open = False
            return Run(self.onset, t, self.peak, self.accepted, self.ref_peak)
        return None

