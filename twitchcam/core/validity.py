"""Which frames can be trusted, judged against the person rather than against constants.

A laptop or phone camera below the face sees a head pitched 25-35 degrees all the time:
that is this person's normal view, and their eyes are measured fine from it.  So a frame
is out of pose when it turns too far from the person's OWN usual pose (the median of their
recent frames), not from the camera axis; only turns beyond hard limits, where one eye is
hidden or foreshortened to a sliver, are out whatever the person's habit.

A small face stays valid while there is an eye to measure at all: the detector's thresholds
adapt to each signal's own noise, which is what a small face really changes.

Stateful but pure: it sees only timestamps, whether a face was found, and the pose columns,
so `twitchcam detect` recomputes the same validity from frames.csv (`judge_block`: a whole
recording at once, the same verdicts and the same state as `judge` frame by frame).
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np

from twitchcam.core.features import NO_FACE, POSE, SMALL, VALID


@dataclass(frozen=True)
class ValidityParams:
    max_yaw_deg: float = 30.0  # from the person's usual yaw (DOMAIN: beyond ~30 deg eye signals fail)
    max_pitch_deg: float = 25.0  # from the person's usual pitch
    hard_yaw_deg: float = 45.0  # from the camera axis, whatever the habit: the far eye is hidden
    hard_pitch_deg: float = 45.0
    usual_window_s: float = 60.0  # the usual pose: median of this much recent face time
    update_every_s: float = 1.0
    min_face_px: float = 6.0  # inner-canthal distance: below it an eye is ~6 px wide


class ValidityGate:
    """Frame by frame: (valid, reason) from face found, pose and face size."""

    def __init__(self, fps: float, params: ValidityParams = ValidityParams()):
        self.p = params
        self._n = max(3, round(params.usual_window_s * fps))
        self._every = max(1, round(params.update_every_s * fps))
        self._yaw, self._pitch = array("d", bytes(8 * self._n)), array("d", bytes(8 * self._n))
        self._count = 0
        self.usual = (math.nan, math.nan)  # the person's usual (yaw, pitch)

    def judge(self, found: bool, pose) -> tuple[bool, str]:
        if not found:
            return False, NO_FACE
        yaw, pitch, face_px = float(pose[0]), float(pose[1]), float(pose[3])
        p = self.p
        if not face_px >= p.min_face_px:
            return False, SMALL
        if not (abs(yaw) <= p.hard_yaw_deg and abs(pitch) <= p.hard_pitch_deg):
            return False, POSE
        slot = self._count % self._n
        self._yaw[slot], self._pitch[slot] = yaw, pitch
        self._count += 1
        if self._count <= 3 * self._every or self._count % self._every == 0:  # settle fast at the start
            n = min(self._count, self._n)
            self.usual = (float(np.median(np.frombuffer(self._yaw)[:n])), float(np.median(np.frombuffer(self._pitch)[:n])))
        if abs(yaw - self.usual[0]) > p.max_yaw_deg or abs(pitch - self.usual[1]) > p.max_pitch_deg:
            return False, POSE
        return True, VALID

    def judge_block(self, found: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """`judge` over n frames at once (found (n,), pose (n, 4)): the same verdicts, and the
        gate left in the same state.  The usual pose is the median of the same values at the
        same frames, so it is equal bit for bit."""
        p = self.p
        found = np.asarray(found, dtype=bool).reshape(-1)
        pose = np.asarray(pose, dtype=np.float64)
        yaw, pitch, face_px = pose[:, 0], pose[:, 1], pose[:, 3]
        with np.errstate(invalid="ignore"):  # a NaN size or angle fails its test, as in judge()
            small = found & ~(face_px >= p.min_face_px)
            hard = found & ~small & ~((np.abs(yaw) <= p.hard_yaw_deg) & (np.abs(pitch) <= p.hard_pitch_deg))
        kept = np.flatnonzero(found & ~small & ~hard)  # the frames judge() puts in its ring
        # Every pose the ring holds or will hold, oldest first: those before the block, then the kept ones.
        c0, m = self._count, kept.size
        h = min(c0, self._n)
        before = np.arange(c0 - h, c0) % self._n
        seq = np.stack([np.concatenate([np.frombuffer(self._yaw)[before], yaw[kept]]),
                        np.concatenate([np.frombuffer(self._pitch)[before], pitch[kept]])])
        counts = c0 + 1 + np.arange(m)  # self._count after each kept frame
        update = (counts <= 3 * self._every) | (counts % self._every == 0)
        usual_at = self._medians(seq, h + 1 + np.flatnonzero(update), np.minimum(counts[update], self._n))
        usual = np.concatenate([np.array(self.usual)[:, None], usual_at], axis=1)[:, np.cumsum(update)]
        away = (np.abs(yaw[kept] - usual[0]) > p.max_yaw_deg) | (np.abs(pitch[kept] - usual[1]) > p.max_pitch_deg)
        reason = np.full(found.size, VALID, dtype=object)
        reason[~found], reason[small], reason[hard], reason[kept[away]] = NO_FACE, SMALL, POSE, POSE
        # The state judge() leaves: the last poses in their slots of the ring, the count, the usual pose.
        last = np.arange(max(c0, c0 + m - self._n), c0 + m)
        np.frombuffer(self._yaw)[last % self._n] = seq[0, h + last - c0]
        np.frombuffer(self._pitch)[last % self._n] = seq[1, h + last - c0]
        self._count = c0 + m
        if usual_at.size:
            self.usual = (float(usual_at[0, -1]), float(usual_at[1, -1]))
        return reason == VALID, reason.tolist()

    def _medians(self, seq: np.ndarray, ends: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """The median yaw and pitch of seq[:, end - len:end] for each end and len: (2, len(ends))."""
        out = np.empty((2, ends.size))
        full = np.flatnonzero(lens == self._n)
        if full.size:
            windows = np.lib.stride_tricks.sliding_window_view(seq, self._n, axis=1)
            for k in range(0, full.size, 256):  # a few hundred windows of the ring's length at a time
                rows = full[k:k + 256]
                out[:, rows] = np.median(windows[:, ends[rows] - self._n], axis=2)
        for j in np.flatnonzero(lens < self._n):  # the first minute: growing windows
            out[:, j] = np.median(seq[:, ends[j] - lens[j]:ends[j]], axis=1)
        return out
