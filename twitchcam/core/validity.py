"""Which frames can be trusted, judged against the person rather than against constants.

A laptop or phone camera below the face sees a head pitched 25-35 degrees all the time:
that is this person's normal view, and their eyes are measured fine from it.  So a frame
is out of pose when it turns too far from the person's OWN usual pose (the median of their
recent frames), not from the camera axis; only turns beyond hard limits, where one eye is
hidden or foreshortened to a sliver, are out whatever the person's habit.

A small face stays valid while there is an eye to measure at all: the detector's thresholds
adapt to each signal's own noise, which is what a small face really changes.

Stateful but pure: it sees only timestamps, whether a face was found, and the pose columns,
so `twitchcam detect` recomputes the same validity from frames.csv.
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
