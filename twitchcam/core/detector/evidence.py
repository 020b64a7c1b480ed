"""How sure a one-sided twitch is: the eyes' closure difference over its frames, and which
sources agree."""
from __future__ import annotations

import math

from twitchcam.core.detector.params import DetectorParams
from twitchcam.core.events import SOURCE_NAMES, Evidence


def confidence(asym: float, agree: int, measured: int, mouth: float, p: DetectorParams) -> float:
    """How sure a one-sided twitch is, 0-1: how much more one eye closed than the other (asym,
    from asym_floor = 0 to asym_full = 1), times how many of the eye's measured sources agree
    (all: x1, none: x0.5), and a quarter of that for a smile: the same-side mouth corner rose far more
    (mouth >= smile_rise) than a spasm pulls it while the eye narrowed only partway (asym < smile_asym)
    or less than the corner rose (a smirk can narrow it as far as a wink does; a wink pulls the corner
    too, but less than it closes the eye)."""
    depth = min(1.0, max(0.0, (asym - p.asym_floor) / (p.asym_full - p.asym_floor)))
    smile = 0.25 if mouth >= p.smile_rise and (asym < p.smile_asym or mouth >= asym) else 1.0
    return round(depth * (0.5 + 0.5 * (agree / measured if measured else 0.0)) * smile, 3)


HIST_BINS = 40  # Asymmetry's histogram of closure differences over 0..1


class Asymmetry:
    """One side's evidence over frames (an open one-sided run, or a lid leading a blink): a
    histogram of the eyes' closure difference (constant memory, however long a tonic spasm
    lasts) and each source's summed difference."""

    __slots__ = ("hist", "n", "src", "src_n", "mouth")

    def __init__(self):
        self.hist = [0] * HIST_BINS
        self.n = 0
        self.src = [0.0, 0.0, 0.0]
        self.src_n = [0, 0, 0]
        self.mouth = 0.0  # the most the same-side mouth corner rose over the other one

    def add(self, diff: float, mine, other, mouth: float = 0.0) -> None:
        """One frame: this eye's closure minus the other's, each source's closure per eye, and
        how far this side's mouth corner has risen over the other one (see DetectorParams.mouth_rise)."""
        if mouth > self.mouth:
            self.mouth = mouth
        if diff != diff:
            return
        self.hist[min(HIST_BINS - 1, max(0, int(diff * HIST_BINS)))] += 1
        self.n += 1
        for k in range(3):
            d = mine[k] - other[k]
            if d == d:
                self.src[k] += d
                self.src_n[k] += 1

    @classmethod
    def pooled(cls, parts: list["Asymmetry"]) -> "Asymmetry":
        """The frames of several twitches as one record."""
        out = cls()
        for a in parts:
            out.hist = [x + y for x, y in zip(out.hist, a.hist)]
            out.n += a.n
            out.src = [x + y for x, y in zip(out.src, a.src)]
            out.src_n = [x + y for x, y in zip(out.src_n, a.src_n)]
            out.mouth = max(out.mouth, a.mouth)
        return out

    def held(self, share: float) -> float:
        """The difference held over at least two frames and `share` of them (a bin's lower edge)."""
        need = max(2, math.ceil(share * self.n))
        total = 0
        for b in range(HIST_BINS - 1, -1, -1):
            total += self.hist[b]
            if total >= need:
                return b / HIST_BINS
        return 0.0

    def evidence(self, origin: str, fps: float, p: DetectorParams) -> Evidence:
        """A run's (or a train's) evidence is what held over a third of its frames (a brief peak
        of a slow expression is none); a lid leading or trailing a blink differs from the other
        only over the lead or trail, so what held over two frames (a one-frame lag is none)."""
        asym = self.held(0.0 if origin == "blink" else 1 / 3)
        half = int(asym / 2 * HIST_BINS)
        asym_s = sum(self.hist[half:]) / fps if asym > 0 else 0.0
        measured = [k for k in range(3) if self.src_n[k]]
        agree = tuple(SOURCE_NAMES[k] for k in measured if self.src[k] / self.src_n[k] >= p.source_agree)
        return Evidence(asym, asym_s, agree, origin, confidence(asym, len(agree), len(measured), self.mouth, p), self)

