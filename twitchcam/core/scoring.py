"""Event-level scoring against ground truth (used by tests and benchmarks/accuracy.py).

A detection matches a truth spasm when it is on the same side and overlaps the truth
interval widened by +-tolerance_s; each truth event matches at most one detection.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twitchcam.core.events import POSSIBLE


@dataclass
class Score:
    tp: int
    fp: int
    fn: int
    side_errors: int
    onset_errors_s: list[float]
    blinks: int
    blinks_as_spasms: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def median_onset_error_s(self) -> float:
        return float(np.median(np.abs(self.onset_errors_s))) if self.onset_errors_s else float("nan")

    def __add__(self, other: "Score") -> "Score":
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                     self.side_errors + other.side_errors, self.onset_errors_s + other.onset_errors_s,
                     self.blinks + other.blinks, self.blinks_as_spasms + other.blinks_as_spasms)


def _overlaps(a_on, a_off, b_on, b_off, tol) -> bool:
    return a_on <= b_off + tol and a_off >= b_on - tol


def score(detected, truth, tolerance_s: float = 0.1) -> Score:
    """detected: objects with onset_s/offset_s/side; truth: the same (side 'both' = real blink)."""
    spasms = [d for d in detected if d.side in ("left", "right") and getattr(d, "kind", "") != POSSIBLE]
    true_spasms = [t for t in truth if t.side in ("left", "right")]
    used: set[int] = set()
    onset_errors = []
    fn = side_errors = 0
    for t in true_spasms:
        hit = next((i for i, d in enumerate(spasms) if i not in used and d.side == t.side
                    and _overlaps(d.onset_s, d.offset_s, t.onset_s, t.offset_s, tolerance_s)), None)
        if hit is None:
            fn += 1
            if any(d.side != t.side and _overlaps(d.onset_s, d.offset_s, t.onset_s, t.offset_s, tolerance_s)
                   for d in spasms):
                side_errors += 1
            continue
        used.add(hit)
        onset_errors.append(spasms[hit].onset_s - t.onset_s)
    fp_idx = [i for i in range(len(spasms)) if i not in used]
    blinks = [t for t in truth if t.side == "both"]
    blink_fp = sum(any(_overlaps(spasms[i].onset_s, spasms[i].offset_s, b.onset_s, b.offset_s, 0.0)
                       for i in fp_idx) for b in blinks)
    return Score(len(used), len(fp_idx), fn, side_errors, onset_errors, len(blinks), blink_fp)
