"""Time profiles of one-sided spasms: the event model every generator renders.

An event is one truth row: one side, a kind (clonic train or tonic hold), a peak
intensity (1.0 = lid fully closed, 0.5 = half closed), whether the same side's mouth
corner is pulled with it, its twitches (ramp in, hold, ramp out) and a `pattern` label
saying which hard case it was made for.  Tonic holds may carry a tremor: the closure
is modulated by a 4-10 Hz oscillation of 10-25 % (the lid of a real tonic spasm is not
still).  Times are seconds on the output video's clock; an event's level is > 0 exactly
on (onset_s, offset_s), so the truth times are what is rendered.

Pattern makers (all one-sided; sides are the subject's own):
- twitch: one rise-and-fall, 0.09-0.25 s, no hold;
- clonic: 2-4 twitches in 0.3-0.75 s, gaps 60-150 ms;
- fast_clonic: 5-8 twitches at 6.3-8 twitches/s, gaps 30-60 ms;
- tonic: a 1-4 s hold with tremor;
- partial: a twitch, clonic train or tonic hold peaking at 50-85 % closure;
- blink_lead / blink_trail: a closure that starts 50-150 ms before a natural blink of
  the base video, or that goes on 100-300 ms after it ends (made by `around_blink`);
- long_partial (a probe, not in the default set: PROBE_PATTERNS): a long train of 5-7
  partial twitches (50-70 %), at a clonic or a fast pace.
"""
from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Sequence

import numpy as np

from twitchcam.core.anatomy import SIDES

KINDS: tuple[str, str] = ("clonic", "tonic")
TRUTH_COLUMNS: tuple[str, ...] = ("onset_s", "offset_s", "side", "kind", "twitches", "intensity", "mouth")
PATTERNS: tuple[str, ...] = ("twitch", "clonic", "fast_clonic", "tonic", "partial", "blink_lead", "blink_trail")
BLINK_PATTERNS: tuple[str, ...] = ("blink_lead", "blink_trail")
PROBE_PATTERNS: tuple[str, ...] = ("long_partial",)  # made only when asked for (benchmarks/long_trains.py)


def _ramp(x: np.ndarray) -> np.ndarray:
    """Cosine ease 0 -> 1 on x in [0, 1]: lids accelerate and decelerate, no kinks."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def _r(x: float) -> float:
    return round(float(x), 4)  # 0.1 ms: the CSV and the rendered levels agree exactly


@dataclass(frozen=True)
class Twitch:
    """One closure: ramp in, hold, ramp out.  Level is > 0 exactly on (onset_s, end_s)."""

    onset_s: float
    rise_s: float
    hold_s: float
    fall_s: float

    @property
    def end_s(self) -> float:
        return self.onset_s + self.rise_s + self.hold_s + self.fall_s

    def level(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        return np.minimum(_ramp((t - self.onset_s) / self.rise_s), _ramp((self.end_s - t) / self.fall_s))


@dataclass(frozen=True)
class SpasmEvent:
    """One truth row: a clonic train or a tonic hold on one side."""

    side: str
    kind: str
    intensity: float  # 1.0 = lid fully closed at the peak, 0.5 = half closed
    mouth: bool  # same-side mouth corner and cheek pulled with the eye
    twitches: tuple[Twitch, ...]
    pattern: str = ""  # which hard case the event was made for (PATTERNS), "" for legacy events
    tremor_hz: float = 0.0  # closure modulated by a tremor of this frequency ...
    tremor_depth: float = 0.0  # ... dipping by up to this share of the closure
    tremor_phase: float = 0.0

    def __post_init__(self):
        if self.side not in SIDES or self.kind not in KINDS or not 0.0 < self.intensity <= 1.0:
            raise ValueError(f"bad event {self.side!r} {self.kind!r} {self.intensity!r}")
        if self.pattern not in ("", *PATTERNS, *PROBE_PATTERNS) or not 0.0 <= self.tremor_depth < 1.0:
            raise ValueError(f"bad event pattern {self.pattern!r} or tremor {self.tremor_depth!r}")

    @property
    def onset_s(self) -> float:
        return self.twitches[0].onset_s

    @property
    def offset_s(self) -> float:
        return self.twitches[-1].end_s

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s

    def level(self, t: np.ndarray) -> np.ndarray:
        """Closure 0..intensity at times t."""
        t = np.asarray(t, dtype=np.float64)
        lv = self.intensity * np.max([tw.level(t) for tw in self.twitches], axis=0)
        if self.tremor_depth > 0:
            wave = 0.5 + 0.5 * np.sin(2 * np.pi * self.tremor_hz * (t - self.onset_s) + self.tremor_phase)
            lv = lv * (1.0 - self.tremor_depth * wave)
        return lv

    def shifted(self, onset_s: float) -> "SpasmEvent":
        dt = onset_s - self.onset_s
        tws = tuple(Twitch(round(tw.onset_s + dt, 4), tw.rise_s, tw.hold_s, tw.fall_s) for tw in self.twitches)
        return SpasmEvent(self.side, self.kind, self.intensity, self.mouth, tws, self.pattern,
                          self.tremor_hz, self.tremor_depth, self.tremor_phase)

    def truth_row(self) -> dict:
        return {
            "onset_s": f"{self.onset_s:.4f}",
            "offset_s": f"{self.offset_s:.4f}",
            "side": self.side,
            "kind": self.kind,
            "twitches": len(self.twitches),
            "intensity": f"{self.intensity:.3f}",
            "mouth": int(self.mouth),
        }


def side_levels(events: Sequence[SpasmEvent], times: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per side: (eye closure, mouth pull) at each time, 0..1."""
    times = np.asarray(times, dtype=np.float64)
    out = {side: (np.zeros(len(times)), np.zeros(len(times))) for side in SIDES}
    for ev in events:
        eye, mouth = out[ev.side]
        lv = ev.level(times)
        np.maximum(eye, lv, out=eye)
        if ev.mouth:
            np.maximum(mouth, lv, out=mouth)
    return out


def write_truth(path: str | Path, events: Sequence[SpasmEvent], extra: dict[str, str] | None = None) -> None:
    """One row per event, sorted by onset; `extra` adds constant columns (e.g. generator)
    and any extra name that is an event field (e.g. pattern) is taken from the event."""
    extra = extra or {}
    names = [f.name for f in fields(SpasmEvent)]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=TRUTH_COLUMNS + tuple(extra))
        w.writeheader()
        for ev in sorted(events, key=lambda e: e.onset_s):
            row = ev.truth_row()
            row.update({k: getattr(ev, k) if k in names else v for k, v in extra.items()})
            w.writerow(row)


def save_events(path: str | Path, events: Sequence[SpasmEvent]) -> None:
    """Full per-twitch timing (the CSV keeps one row per train), for re-rendering and checks."""
    Path(path).write_text(json.dumps([asdict(ev) for ev in events], indent=1))


def load_events(path: str | Path) -> list[SpasmEvent]:
    out = []
    for d in json.loads(Path(path).read_text()):
        d = dict(d)
        d["twitches"] = tuple(Twitch(**tw) for tw in d["twitches"])
        out.append(SpasmEvent(**d))
    return out


def read_truth(path: str | Path) -> list[dict]:
    """Truth rows with numeric columns converted (extra columns kept as text)."""
    conv = {"onset_s": float, "offset_s": float, "twitches": int, "intensity": float, "mouth": int}
    with open(path, newline="") as fh:
        return [{k: conv.get(k, str)(v) for k, v in r.items()} for r in csv.DictReader(fh)]


# ---------------------------------------------------------------------------------------
# Pattern makers
# ---------------------------------------------------------------------------------------

def _twitch(rng: np.random.Generator, onset: float, total: float) -> Twitch:
    """A rise-and-fall without a hold; the fall is a little slower than the rise."""
    rise = _r(total * rng.uniform(0.4, 0.5))
    return Twitch(_r(onset), rise, 0.0, _r(total - rise))


def single_twitch(rng: np.random.Generator, onset_s: float, side: str, intensity: float = 1.0,
                  mouth: bool = False, pattern: str = "twitch") -> SpasmEvent:
    """One rise-and-fall twitch, 0.09-0.25 s, no hold."""
    return SpasmEvent(side, "clonic", intensity, mouth, (_twitch(rng, onset_s, rng.uniform(0.09, 0.25)),), pattern)


def _train(rng: np.random.Generator, onset_s: float, n: int, dur: tuple[float, float],
           gap: tuple[float, float], min_period: float = 0.0) -> tuple[Twitch, ...]:
    twitches, t = [], onset_s
    for k in range(n):
        total = rng.uniform(*dur)
        g = rng.uniform(*gap)
        twitches.append(_twitch(rng, t, total))
        t = twitches[-1].end_s + max(g, min_period - total)
    return tuple(twitches)


# A train's pace: (twitch length, gap between twitches, shortest period), seconds.
CLONIC_PACE = ((0.09, 0.20), (0.06, 0.15), 0.0)
FAST_PACE = ((0.09, 0.10), (0.03, 0.06), 0.125)  # at most 8 twitches a second


def clonic_train(rng: np.random.Generator, onset_s: float, side: str, intensity: float = 1.0,
                 mouth: bool = False, pattern: str = "clonic") -> SpasmEvent:
    """2-4 twitches of 0.09-0.20 s with gaps of 60-150 ms: 0.3-0.75 s in all."""
    while True:
        tws = _train(rng, onset_s, int(rng.integers(2, 5)), *CLONIC_PACE)
        if 0.3 <= tws[-1].end_s - onset_s <= 0.75:
            return SpasmEvent(side, "clonic", intensity, mouth, tws, pattern)


def fast_clonic_train(rng: np.random.Generator, onset_s: float, side: str, intensity: float = 1.0,
                      mouth: bool = False, pattern: str = "fast_clonic") -> SpasmEvent:
    """5-8 twitches of 90-100 ms, gaps 30-60 ms, at most 8 twitches a second."""
    tws = _train(rng, onset_s, int(rng.integers(5, 9)), *FAST_PACE)
    return SpasmEvent(side, "clonic", intensity, mouth, tws, pattern)


def tonic_hold(rng: np.random.Generator, onset_s: float, side: str, intensity: float = 1.0,
               mouth: bool = False, pattern: str = "tonic", hold_s: tuple[float, float] = (1.0, 4.0)
               ) -> SpasmEvent:
    """A closure held 1-4 s (rise 80-200 ms, fall 100-300 ms), tremor 4-10 Hz of 10-25 %."""
    tw = Twitch(_r(onset_s), _r(rng.uniform(0.08, 0.20)), _r(rng.uniform(*hold_s)), _r(rng.uniform(0.10, 0.30)))
    return SpasmEvent(side, "tonic", intensity, mouth, (tw,), pattern, _r(rng.uniform(4.0, 10.0)),
                      _r(rng.uniform(0.10, 0.25)), _r(rng.uniform(0, 2 * np.pi)))


def partial(rng: np.random.Generator, onset_s: float, side: str, intensity: float | None = None,
            mouth: bool = False) -> SpasmEvent:
    """A twitch, clonic train or tonic hold that closes the lid only 50-85 %."""
    level = _r(rng.uniform(0.5, 0.85)) if intensity is None else intensity
    maker = (single_twitch, clonic_train, tonic_hold)[int(rng.integers(0, 3))]
    return maker(rng, onset_s, side, level, mouth, pattern="partial")


def long_partial_train(rng: np.random.Generator, onset_s: float, side: str, intensity: float | None = None,
                       mouth: bool = False) -> SpasmEvent:
    """5-7 twitches closing the lid 50-70 %: at a clonic pace (0.09-0.20 s, gaps 60-150 ms) or a
    fast one (90-100 ms, gaps 30-60 ms, at most 8 a second), half and half."""
    level = _r(rng.uniform(0.5, 0.7)) if intensity is None else intensity
    n = int(rng.integers(5, 8))
    tws = _train(rng, onset_s, n, *(CLONIC_PACE if rng.random() < 0.5 else FAST_PACE))
    return SpasmEvent(side, "clonic", level, mouth, tws, "long_partial")


MAKERS = {"twitch": single_twitch, "clonic": clonic_train, "fast_clonic": fast_clonic_train,
          "tonic": tonic_hold}


def make_pattern(rng: np.random.Generator, pattern: str, onset_s: float, side: str, mouth: bool = False
                 ) -> SpasmEvent:
    """An event of a timing pattern (not the blink ones, which need a blink: `around_blink`)."""
    if pattern == "partial":
        return partial(rng, onset_s, side, mouth=mouth)
    if pattern == "long_partial":
        return long_partial_train(rng, onset_s, side, mouth=mouth)
    if pattern not in MAKERS:
        raise ValueError(f"pattern {pattern!r} needs a blink (around_blink) or is unknown")
    return MAKERS[pattern](rng, onset_s, side, 1.0, mouth)


def around_blink(rng: np.random.Generator, pattern: str, blink_on_s: float, blink_off_s: float, side: str,
                 mouth: bool = False) -> SpasmEvent:
    """A one-sided closure overlapping a natural blink on (blink_on_s, blink_off_s).

    blink_lead: starts 50-150 ms before the blink and ends with it (0-60 ms after), so
    the spasm side leads and both eyes are shut together at the end;
    blink_trail: starts with the blink (0-40 ms after its onset) and goes on 100-300 ms
    after the blink has ended, so one eye stays shut while the other reopens.
    """
    if pattern == "blink_lead":
        onset = blink_on_s - rng.uniform(0.05, 0.15)
        end = blink_off_s + rng.uniform(0.0, 0.06)
    elif pattern == "blink_trail":
        onset = blink_on_s + rng.uniform(0.0, 0.04)
        end = blink_off_s + rng.uniform(0.10, 0.30)
    else:
        raise ValueError(f"not a blink pattern: {pattern!r}")
    total = end - onset
    rise = min(rng.uniform(0.06, 0.12), total / 3)
    fall = min(rng.uniform(0.08, 0.15), total / 3)
    tw = Twitch(_r(onset), _r(rise), _r(total - rise - fall), _r(fall))
    kind = "tonic" if tw.end_s - tw.onset_s >= 1.0 else "clonic"
    return SpasmEvent(side, kind, 1.0, mouth, (tw,), pattern)
