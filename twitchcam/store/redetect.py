"""`twitchcam detect`: re-run filters and detector on a stored session, without the video.

It reads the raw per-frame features from frames.csv and feeds them through the very same
signal chain (twitchcam.core.stream) that `analyze` and `live` ran frame by frame, so with
the same parameters it finds the same events.
"""
from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Callable

from twitchcam.core.detector import DetectorParams
from twitchcam.core.events import EVENT_COLUMNS, Event
from twitchcam.core.stream import Detection, PipelineParams, detect_features
from twitchcam.core.summary import FrameTotals, summarize
from twitchcam.errors import TwitchcamError
from twitchcam.store.atomic import write_text_atomic
from twitchcam.store.session import (EVENTS_FILE, SUMMARY_FILE, StoredSession, event_cells, read_session,
                                     write_json)


def stored_params(meta: dict) -> PipelineParams:
    try:
        return PipelineParams.from_dict(meta.get("params") or {})
    except TypeError as exc:
        raise TwitchcamError(f"session parameters are from another version: {exc}") from None


def detect_session(session: StoredSession, params: PipelineParams) -> tuple[Detection, dict]:
    """The chain over a stored session's frames; returns the detection and its summary."""
    result = detect_features(session.t, session.pose, session.raw, session.fps, params)
    meta = {k: session.meta.get(k) for k in ("started_at", "source", "mode", "fps", "mirrored", "model_sha256")}
    totals = FrameTotals.of(session.t, result.valid, result.closure, session.fps)
    summary = summarize(totals, result.events, {**meta, "params": params.to_dict(), "status": session.status,
                                                "redetected_from": session.folder.name})
    return result, summary


def write_events(path: Path, events: list[Event]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EVENT_COLUMNS)
    w.writerows(event_cells(e) for e in events)
    write_text_atomic(path, buf.getvalue())


def redetect(folder: Path, out: Path, adjust: Callable[[DetectorParams], DetectorParams]) -> dict:
    session = read_session(folder)
    params = stored_params(session.meta)
    params = dataclasses.replace(params, detector=adjust(params.detector))
    result, summary = detect_session(session, params)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_events(out / EVENTS_FILE, result.events)
        write_json(out / SUMMARY_FILE, summary)
        write_json(out / "params.json", params.to_dict())
    except OSError as exc:
        raise TwitchcamError(f"cannot write {out}: {exc.strerror or exc}") from None
    return summary
