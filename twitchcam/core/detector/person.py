"""The person's statistics: each eye's own open level, the spread of its one-sided opening, and
the head's usual yaw, from quantiles and medians of recent valid frames."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twitchcam.core.detector.params import DetectorParams


def _order_stat(a: np.ndarray, k: int) -> float:
    return float(np.partition(a, k)[k])


def _median(a: np.ndarray) -> float:
    """Exact median from order statistics, so it does not depend on the order of `a`."""
    n = a.size
    if n % 2:
        return _order_stat(a, n // 2)
    lo, hi = np.partition(a, [n // 2 - 1, n // 2])[[n // 2 - 1, n // 2]]
    return float((lo + hi) / 2.0)


@dataclass(frozen=True)
class SideStats:
    """One side's statistics over the recent window (see DetectorParams.baseline_window_s)."""

    geometry_open: float  # the mesh's lid gap with the eye open (a high quantile)
    appearance_open: float  # the eye patch's vertical-edge share with the eye open
    blink_rest: float  # the blendshape eyeBlink at rest (a low quantile)
    lateral_noise: float  # robust SD of this side's one-sided opening difference
    on: float
    off: float

    def closures(self, g: float, a: float, b: float) -> tuple[float, float, float]:
        """Each source's closure (0 = this eye's own open level, ~1 = closed)."""
        return 1.0 - g / self.geometry_open, 1.0 - a / self.appearance_open, (b - self.blink_rest) / (1.0 - self.blink_rest)


def _quantile(a: np.ndarray, q: float) -> float:
    a = a[np.isfinite(a)]
    return _order_stat(a, int(q * (a.size - 1))) if a.size else math.nan


def _spread(a: np.ndarray) -> float:
    """Robust SD (1.4826 x the median absolute deviation), 0 with fewer than 10 values."""
    return 1.4826 * _median(np.abs(a - _median(a))) if a.size >= 10 else 0.0


def usual_yaw(yaw: np.ndarray) -> float:
    """The head's usual yaw: the median of recent valid frames' (NaN while none is known)."""
    yaw = yaw[np.isfinite(yaw)]
    return _median(yaw) if yaw.size else math.nan


def side_stats(window: np.ndarray, lateral: np.ndarray, p: DetectorParams) -> SideStats:
    """The person's statistics for one side: `window` rows are geometry, appearance and
    blendshape values of recent valid frames, `lateral` that side's recent one-sided
    openings (NaN where not judged).  Quantiles and medians only: the order of the frames
    does not matter.

    The 'on' level adapts to the spread of the one-sided opening itself (MAD around its
    median): landmark jitter, appearance noise on a small face and the slow lopsided
    changes of expression alike raise it, so the same rule fits a sharp webcam and a
    176x144 phone video.  But not the spasms themselves: a patient with frequent twitches on
    one side would raise that side's level with each one (on injected trains, 0.30 -> 0.49 of
    an opening), so the spread is measured again without the frames beyond noise_clip robust
    SDs."""
    lat = lateral[np.isfinite(lateral)]
    noise = _spread(lat)
    if noise > 0:
        noise = _spread(lat[np.abs(lat - _median(lat)) <= p.noise_clip * noise])
    on = max(p.spasm_on, p.noise_k * noise)
    return SideStats(max(_quantile(window[0], p.open_quantile), 1e-6), max(_quantile(window[1], p.open_quantile), 1e-6),
                     min(_quantile(window[2], p.rest_quantile), 0.7), noise, on, p.off_ratio * on)


@dataclass(frozen=True)
class Schedule:
    """Frame counts derived from the nominal frame rate."""

    window: int
    every: int
    calibration: int

    @classmethod
    def of(cls, p: DetectorParams, fps: float) -> "Schedule":
        return cls(max(3, round(p.baseline_window_s * fps)), max(1, round(p.update_every_s * fps)),
                   max(3, round(p.calibration_s * fps)))

    def is_update(self, count: int) -> bool:
        return count >= self.calibration and (count - self.calibration) % self.every == 0

