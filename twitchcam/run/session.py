"""The session-writer stage: results of the signal chain -> a session (on disk or in memory).

`run_session` drives any stream of `FrameResult`s (frames decoded now, a live camera, or
features replayed from chunks) into a writer and always finalises it, whatever ends the
stream: its end, Ctrl-C or an error.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterable

from twitchcam.core.events import Event
from twitchcam.core.features import OTHER
from twitchcam.core.stream import FrameResult, PipelineParams, SignalChain
from twitchcam.core.summary import FrameTotals
from twitchcam.errors import TwitchcamError
from twitchcam.run.summary import session_summary
from twitchcam.store.source import source_identity
from twitchcam.video.pipeline import session_meta
from twitchcam.video.source import VideoHeader


class SessionRecorder:
    """Writes frames and events as they come and keeps what the summary needs (compactly)."""

    def __init__(self, writer, fps: float, meta: dict):
        self.writer = writer
        self.fps = fps
        self.meta = meta
        self.totals = FrameTotals(fps)  # constant memory however long the session: no per-frame lists
        self.events: list[Event] = []
        self.last_t = -math.inf

    def add(self, r: FrameResult, dropped: int = 0) -> None:
        self.writer.frame(r.index, r.t_s, r.valid, r.reason, r.pose, r.raw, r.filt, r.closure, dropped)
        self.add_events(r.events)
        self.totals.add(r.t_s, r.valid, r.closure, dropped, r.reason == OTHER)
        self.last_t = r.t_s

    def add_events(self, events: list[Event]) -> None:
        self.writer.events(events)
        self.events.extend(events)

    def summary(self, status: str, live: dict | None = None) -> dict:
        return session_summary(self.totals.closed(), self.events, self.meta, status, live=live)


def file_meta(video: Path, header: VideoHeader, mirrored: bool, params: PipelineParams) -> dict:
    """session.json's first fields for an analysis of the video file at `video` (whole, or in
    time chunks): what session_meta gives, which file it is, and why its rate is not the one
    its container gives, if it is not."""
    meta = session_meta(str(video), "analyze", header.fps, mirrored, params)
    meta["source_id"] = source_identity(Path(video))
    if header.fps_note:
        meta["fps_note"] = header.fps_note
    return meta


def run_session(results: Iterable[FrameResult], chain: SignalChain, writer, meta: dict,
                on_result: Callable[[FrameResult], None] | None = None,
                dropped: Callable[[], int] | None = None,
                end_status: Callable[[], str] = lambda: "complete",
                live_figures: Callable[[], dict] | None = None) -> tuple[dict, str]:
    """Drive results into `writer` until they end, Ctrl-C, or an error; always finalise.

    `chain` is the signal chain that made the results: at the end it reports what is still
    pending.  A live run gives `live_figures`, asked once the results have ended, for its own
    part of the summary.  Returns (summary, status).  Whatever happens, the session is left
    complete and readable: frames and events so far, a summary, and session.json saying how
    it ended.
    """
    rec = SessionRecorder(writer, chain.fps, meta)
    error: BaseException | None = None
    try:
        for result in results:
            rec.add(result, dropped() if dropped else 0)
            if on_result is not None:
                on_result(result)
        status = end_status()
    except KeyboardInterrupt as exc:
        status, error = "interrupted", exc
    except TwitchcamError as exc:
        status, error = "interrupted", exc
    t_end = rec.last_t + 1.0 / chain.fps if math.isfinite(rec.last_t) else 0.0
    try:
        rec.add_events(chain.finish(t_end))
    except TwitchcamError as exc:  # e.g. the disk is full: still try to close what we can
        error = error or exc
        status = "interrupted"
    summary = rec.summary(status, live_figures() if live_figures is not None else None)
    try:
        writer.close(status, summary)
    except TwitchcamError as exc:
        error = error or exc
    if error is not None:
        raise error
    return summary, status
