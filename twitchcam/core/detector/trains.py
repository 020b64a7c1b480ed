"""Trains and their events: one side's confirmed twitches closer than merge_gap_s, not
counting time both eyes were shut, form one train; it is reported as a spasm as soon as it has a
confident twitch, and becomes one event (clonic, tonic or possible) once no twitch can join it."""
from __future__ import annotations

import math
from bisect import insort
from collections.abc import Callable

from twitchcam.core.detector.evidence import Asymmetry
from twitchcam.core.detector.params import MIN_TWITCH_FPS, DetectorParams
from twitchcam.core.events import Event, Evidence, Run, clearest, has_mouth, spasm_event

Blind = Callable[[float, float], float]  # how much of the time from a to b both eyes were shut


class Train:
    """One side's train under way: its twitches (sorted by onset), when its first one was
    confirmed (the event's detected_at_s), and whether it was reported as a spasm."""

    __slots__ = ("side", "p", "fps", "twitches", "reported_at", "announced")

    def __init__(self, side: str, p: DetectorParams, fps: float):
        self.side = side
        self.p = p
        self.fps = fps
        self.twitches: list[Run] = []
        self.reported_at = math.nan
        self.announced = False

    def last_offset(self) -> float:
        return max(r.offset_s for r in self.twitches)

    def ends_before(self, twitch: Run, blind: Blind) -> bool:
        """Whether `twitch` starts merge_gap_s or more after the train's last one ended (time
        both eyes were shut not counted): then the train is complete without it."""
        last = self.last_offset()
        return twitch.onset_s - last - blind(last, twitch.onset_s) >= self.p.merge_gap_s

    def horizon(self, t: float, blind: Blind) -> float:
        """Until when a twitch may still join: merge_gap_s after the last one ended, plus the time
        both eyes were shut since (up to t)."""
        last = self.last_offset()
        return last + self.p.merge_gap_s + blind(last, t)

    def add(self, twitch: Run, now: float) -> bool:
        """A confirmed twitch (at stream time `now`) joins, in onset order: a twitch found in a
        blink is judged after the blink, so it may precede twitches already here.  True when it
        makes the train a spasm to report now: its first confident twitch ('possible' trains never
        are), at a frame rate that can show a twitch."""
        if not self.twitches:  # a new train: detected now, it may still grow
            self.reported_at, self.announced = now, False
        insort(self.twitches, twitch, key=lambda r: r.onset_s)
        if not self.announced and self.fps >= MIN_TWITCH_FPS:
            evidence = self.evidence()
            if evidence is None or evidence.confidence >= self.p.confident:
                self.announced = True
                return True
        return False

    def evidence(self) -> Evidence | None:
        """How sure the train is: its clearest twitch, or, when that is not sure enough, its
        twitches' frames pooled: pool_twitches or more of them that crossed 'on' (a fast clonic
        train at 24-30 fps can show each twitch on a single frame only), or weak_twitches or more
        counting those that crossed only 'off' (a long train of partial twitches on a face whose
        own jitter hides each one)."""
        best = clearest(self.twitches)
        if best is not None and best.confidence >= self.p.confident:
            return best
        strong, every = self._frames(("run",)), self._frames(("run", "weak"))
        options = [best] if best is not None else []
        if len(strong) >= max(2, self.p.pool_twitches):
            options.append(Asymmetry.pooled(strong).evidence("train", self.fps, self.p))
        if len(every) > len(strong) and len(every) >= max(2, self.p.weak_twitches):
            options.append(Asymmetry.pooled(every).evidence("train", self.fps, self.p))
        return max(options, key=lambda e: e.confidence, default=None)

    def _frames(self, origins: tuple[str, ...]) -> list[Asymmetry]:
        """The per-frame records of the twitches with evidence of their own from these origins."""
        return [t.evidence.frames for t in self.twitches
                if t.evidence is not None and t.evidence.frames is not None and t.evidence.origin in origins]

    def complete(self, mouth_runs: list[Run]) -> Event | None:
        """The train as one event, and a new one begins: eye+mouth if a same-side pull of
        `mouth_runs` (sorted, disjoint) starts with one of its twitches; None when it has no
        evidence at all (confidence 0)."""
        p = self.p
        mouth = has_mouth([r.onset_s for r in self.twitches], mouth_runs, p.cocontraction_s, p.mouth_lag_s)
        confident = p.confident if self.fps >= MIN_TWITCH_FPS else math.inf
        event = spasm_event(self.side, self.twitches, mouth, p.tonic_s, self.reported_at, confident, self.evidence())
        self.twitches = []
        return None if event.confidence <= 0 else event
