"""Causal smoothing of the per-frame feature signals.

Landmarks jitter, so every feature goes through a causal 3-frame median (kills single-
frame glitches without rounding off edges) and a 2nd-order Butterworth low-pass around
8 Hz.  Both are causal because the live path cannot look ahead, and file analysis must
give the same numbers as live.

The low-pass is SciPy's (`butter`, `sosfilt` with its state `zi`, `sosfilt_zi`,
`group_delay`).  The filter processes blocks of any length with its state carried between
calls, so a block of one frame (live, analyze) and the whole recording at once (`twitchcam
detect`, the API's `detect`) give bit-identical output: `sosfilt` runs the same per-sample
recurrence whatever the block's length, and the median and the hold are elementwise.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import numpy as np


def scipy_signal():
    """`scipy.signal`, imported where a low-pass is first made: importing it takes about 1.2 s,
    which a process that never filters (the report, the index) should not pay."""
    from scipy import signal

    return signal


def preload_scipy() -> threading.Thread | None:
    """Start importing `scipy.signal` in a thread of its own (unless it is imported already),
    to overlap its cost with other start-up work (loading the landmark model, opening the
    video or camera); the first low-pass then finds it imported, or waits for the rest of the
    import.  An import that fails here fails again, with its message, where the filter needs it."""
    if "scipy.signal" in sys.modules:
        return None
    thread = threading.Thread(target=_import_quietly, name="twitchcam-scipy", daemon=True)
    thread.start()
    return thread


def _import_quietly() -> None:
    try:
        scipy_signal()
    except Exception:  # noqa: BLE001 - reported by the caller's own import (see preload_scipy)
        pass


@dataclass(frozen=True)
class FilterParams:
    lowpass_hz: float = 8.0
    order: int = 2
    median: bool = True  # the causal 3-frame median before the low-pass


class FeatureFilter:
    """Median-3 then low-pass, per column; invalid frames hold the last valid input and output NaN."""

    def __init__(self, n_columns: int, fps: float, params: FilterParams = FilterParams()):
        self.params = params
        self.n_columns = n_columns
        nyquist = fps / 2.0
        self._sos = self._zi_unit = None
        self._history: np.ndarray | None = None  # last two held inputs, for the median
        self._zi: np.ndarray | None = None
        lowpass_delay = 0.0
        if 0 < params.lowpass_hz < 0.95 * nyquist:
            signal = scipy_signal()
            self._sosfilt = signal.sosfilt
            self._sos = signal.butter(params.order, params.lowpass_hz / nyquist, output="sos")
            self._zi_unit = signal.sosfilt_zi(self._sos)  # (sections, 2): a unit step's steady state
            lowpass_delay = float(signal.group_delay(signal.sos2tf(self._sos), w=[0.0])[1][0])  # at 0 Hz, samples
        # How far the output trails the input for slow changes: 1 frame of median plus the
        # low-pass group delay.  The detector subtracts it so event times are when the lid moved.
        self.delay_s = ((1.0 if params.median else 0.0) + lowpass_delay) / fps

    def _start(self, first: np.ndarray) -> None:
        """Start in steady state at the first valid value, so there is no start-up transient."""
        self._history = np.stack([first, first])
        if self._sos is not None:
            self._zi = self._zi_unit[:, :, None] * first[None, None, :]

    def process(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64).reshape(-1, self.n_columns)
        valid = np.asarray(valid, dtype=bool).reshape(-1)
        out = np.full_like(values, np.nan)
        if valid.size == 0:
            return out
        if self._history is None:
            good = np.flatnonzero(valid)
            if good.size == 0:
                return out
            self._start(values[good[0]])
            out[good[0]:] = self.process(values[good[0]:], valid[good[0]:])
            return out
        # Hold the last valid input through invalid frames so the filter state stays finite.
        last = np.where(valid, np.arange(valid.size), -1)
        np.maximum.accumulate(last, out=last)
        padded = np.concatenate([self._history, values])
        held = padded[np.where(last >= 0, last + 2, 1)]  # index 1 = last held sample before block
        held = np.concatenate([self._history, held])
        a, b, c = held[:-2], held[1:-1], held[2:]
        median = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c)) if self.params.median else c
        self._history = held[-2:].copy()
        if self._sos is not None:
            smoothed, self._zi = self._sosfilt(self._sos, median, axis=0, zi=self._zi)
        else:
            smoothed = median
        out[valid] = smoothed[valid]
        return out


class SplitFilter:
    """Column groups filtered each their own way (the eyes raw, the rest smoothed), with the
    same interface as FeatureFilter; `delays[k]` is group k's delay_s."""

    def __init__(self, fps: float, groups: list[tuple[list[int], FilterParams]]):
        self.groups = [(np.asarray(cols, dtype=int), FeatureFilter(len(cols), fps, params)) for cols, params in groups]
        self.n_columns = sum(len(cols) for cols, _ in groups)
        self.delays = [f.delay_s for _, f in self.groups]

    def process(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64).reshape(-1, self.n_columns)
        out = np.empty_like(values)
        for cols, f in self.groups:
            out[:, cols] = f.process(values[:, cols], valid)
        return out
