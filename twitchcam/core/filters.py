"""Causal smoothing of the per-frame feature signals.

Landmarks jitter, so every feature goes through a causal 3-frame median (kills single-
frame glitches without rounding off edges) and a 2nd-order Butterworth low-pass around
8 Hz.  Both are causal because the live path cannot look ahead, and file analysis must
give the same numbers as live.

The filter processes blocks of any length with its state carried between calls, so a
block of one frame (live, analyze) and the whole recording at once (`twitchcam detect`)
give bit-identical output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def butter_lowpass_sos(order: int, wn: float) -> np.ndarray:
    """Digital Butterworth low-pass as second-order sections, like
    `scipy.signal.butter(order, wn, output="sos")` (wn: cut-off / Nyquist, 0 < wn < 1).

    Orders 1 and 2 are computed here with numpy: the analog prototype's poles, pre-warped
    and mapped through the bilinear transform, exactly the steps SciPy takes.  That keeps
    `scipy.signal` (about 1.2 s to import) off every process's start.  Other orders, which
    no default uses, ask SciPy.
    """
    if order not in (1, 2):
        from scipy import signal

        return signal.butter(order, wn, output="sos")
    fs2 = 4.0  # 2 * fs for SciPy's normalised fs = 2
    warped = 2.0 * 2.0 * np.tan(np.pi * wn / 2.0)
    m = np.arange(-order + 1, order, 2, dtype=np.float64)
    poles = warped * -np.exp(1j * np.pi * m / (2 * order))  # analog prototype, scaled to the cut-off
    gain = warped ** order * np.real(1.0 / np.prod(fs2 - poles))
    digital = (fs2 + poles) / (fs2 - poles)
    if order == 1:
        return np.array([[gain, gain, 0.0, 1.0, -digital[0].real, 0.0]])
    p = digital[np.argmax(digital.imag)]  # one pole of the conjugate pair, as SciPy keeps it
    a = np.real(np.poly([p, p.conj()]))
    return np.array([[gain, 2.0 * gain, gain, *a]])


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Initial state (sections, 2) for a unit step's steady state, like `scipy.signal.sosfilt_zi`."""
    zi = np.empty((sos.shape[0], 2))
    scale = 1.0
    for k, section in enumerate(sos):
        b, a = section[:3] / section[3], section[3:] / section[3]
        i_minus_a = np.eye(2) - np.array([-a[1:], [1.0, 0.0]]).T  # eye - companion(a).T
        zi[k] = scale * np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])
        scale *= b.sum() / a.sum()
    return zi


def dc_group_delay(sos: np.ndarray) -> float:
    """Group delay at 0 Hz in samples, like `scipy.signal.group_delay(sos2tf(sos), w=[0])`."""
    b = a = np.ones(1)
    for section in sos:
        b, a = np.polymul(b, section[:3]), np.polymul(a, section[3:])
    c = np.convolve(b, a[::-1])  # SciPy's own formula, evaluated at z = 1
    return float(np.polyval((c * np.arange(c.size))[::-1], 1.0) / np.polyval(c[::-1], 1.0) - a.size + 1)


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filter the columns of x (n, k) along time; zi (sections, 2, k).  Returns (y, final state).

    The same transposed direct form II, operation for operation, as `scipy.signal.sosfilt`:
    per sample y = b0 x + z0; z0 = b1 x - a1 y + z1; z1 = b2 x - a2 y.  Every step is one
    IEEE double operation, so the output does not depend on how the samples are split into
    blocks.  The products of x are taken whole; the recurrence runs on Python floats (for
    an hour of 8 columns, ~0.2 s, less than importing SciPy would cost).
    """
    y = np.asarray(x, dtype=np.float64)
    zf = np.array(zi, dtype=np.float64)
    for s, (b0, b1, b2, a0, a1, a2) in enumerate(sos.tolist()):
        if a0 != 1.0:
            b0, b1, b2, a1, a2 = b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0
        p0, p1, p2 = ((b * y).T.tolist() for b in (b0, b1, b2))
        z0s, z1s = zf[s].tolist()
        columns = []
        for c in range(y.shape[1]):
            z0, z1 = z0s[c], z1s[c]
            out = []
            push = out.append
            for u0, u1, u2 in zip(p0[c], p1[c], p2[c]):
                v = u0 + z0
                z0 = u1 - a1 * v + z1
                z1 = u2 - a2 * v
                push(v)
            columns.append(out)
            zf[s, 0, c], zf[s, 1, c] = z0, z1
        y = np.array(columns, dtype=np.float64).T.reshape(y.shape)
    return y, zf


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
        self._sos = (
            butter_lowpass_sos(params.order, params.lowpass_hz / nyquist)
            if 0 < params.lowpass_hz < 0.95 * nyquist
            else None
        )
        self._history: np.ndarray | None = None  # last two held inputs, for the median
        self._zi: np.ndarray | None = None
        lowpass_delay = 0.0
        if self._sos is not None:
            lowpass_delay = dc_group_delay(self._sos)
        # How far the output trails the input for slow changes: 1 frame of median plus the
        # low-pass group delay.  The detector subtracts it so event times are when the lid moved.
        self.delay_s = ((1.0 if params.median else 0.0) + lowpass_delay) / fps

    def _start(self, first: np.ndarray) -> None:
        """Start in steady state at the first valid value, so there is no start-up transient."""
        self._history = np.stack([first, first])
        if self._sos is not None:
            zi = sosfilt_zi(self._sos)  # (sections, 2)
            self._zi = zi[:, :, None] * first[None, None, :]

    def process(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64).reshape(-1, self.n_columns)
        valid = np.asarray(valid, dtype=bool).reshape(-1)
        out = np.full_like(values, np.nan)
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
            smoothed, self._zi = sosfilt(self._sos, median, self._zi)
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
