"""A video's features computed elsewhere (time chunks in other processes, see
twitchcam.batch.chunks) replayed through the signal chain into a session folder, in exactly
the format `analyze` writes."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twitchcam.core.stream import SignalChain
from twitchcam.errors import Interrupted
from twitchcam.run.session import file_meta, run_session
from twitchcam.store.writer import SessionWriter
from twitchcam.video.source import VideoHeader


@dataclass
class ChunkResult:
    """Per-frame raw output of one chunk (warm-up included; the parent trims it)."""

    t: np.ndarray  # (n,) decoder timestamps, as FileSource computes them
    pose: np.ndarray  # (n, len(POSE_COLUMNS)), NaN where no face was found
    raw: np.ndarray  # (n, len(FEATURE_COLUMNS))
    stopped_early: bool  # hit EOF before `end` (only expected for the last chunk)
    lost: np.ndarray | None = None  # (n,) undecodable frames skipped just before each frame
    new_track: np.ndarray | None = None  # (n,) bool: the face was picked up afresh (core.identity)
    signatures: np.ndarray | None = None  # (n,) object: the face's signature where one was measured, else None

    def slice(self, sl: slice) -> "ChunkResult":
        part = [None if a is None else a[sl] for a in (self.lost, self.new_track, self.signatures)]
        return ChunkResult(self.t[sl], self.pose[sl], self.raw[sl], self.stopped_early, *part)

    def lost_before(self) -> np.ndarray:
        return np.zeros(self.t.size, dtype=np.int64) if self.lost is None else self.lost


def replayed(merged: ChunkResult, chain):
    """The joined features through the signal chain: the patient's identity and the detector frame
    by frame, validity and the filters over them at once (the same results as frame by frame)."""
    number = np.arange(merged.t.size) + np.cumsum(merged.lost_before())  # the source's frame numbers
    return chain.results(number, merged.t, merged.pose, merged.raw, merged.new_track, merged.signatures)


def write_chunked_session(video: Path, folder: Path, merged: ChunkResult, header: VideoHeader, params,
                          mirrored: bool, parallel: dict, overwrite: bool = False) -> dict:
    """Replay the joined features of the video whose container says `header` through the
    pipeline into a session folder; returns the summary."""
    fps = header.fps
    meta = {**file_meta(video, header, mirrored, params), "parallel": parallel}
    chain = SignalChain(fps, params)  # before the folder exists: see analyze_file
    writer = SessionWriter(Path(folder), meta, overwrite=overwrite)
    lost = merged.lost_before()
    truncated = header.truncated(merged.t.size + int(lost.sum()), merged.t[-1] + 1.0 / fps if merged.t.size else None)
    count = iter(range(merged.t.size))
    try:
        summary, _ = run_session(replayed(merged, chain), chain, writer, meta,
                                 dropped=lambda: int(lost[next(count)]),
                                 end_status=lambda: "truncated" if truncated else "complete")
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; the session so far is saved in {folder}") from None
    return summary
