"""`twitchcam detect`: re-run filters and detector on a stored session, without the video.

It reads the raw per-frame features from frames.csv and runs the same filter and the
same detector rules as the live/analyze run, vectorised over the whole recording.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Callable

from twitchcam.atomic import write_text_atomic
from twitchcam.detector import DetectorParams, detect_recording
from twitchcam.errors import TwitchcamError
from twitchcam.events import EVENT_COLUMNS, Event
from twitchcam.features import FEATURE_COLUMNS
from twitchcam.filters import FeatureFilter, FilterParams
from twitchcam.pipeline import detector_inputs
from twitchcam.session import event_cells, read_session, write_json
from twitchcam.summary import FrameTotals, summarize


def stored_params(meta: dict) -> tuple[FilterParams, DetectorParams]:
    params = meta.get("params") or {}
    try:
        return FilterParams(**params.get("filters", {})), DetectorParams(**params.get("detector", {}))
    except TypeError as exc:
        raise TwitchcamError(f"session parameters are from another version: {exc}") from None


def run_detection(t, valid, raw, fps, filter_params: FilterParams, det: DetectorParams):
    """Filters then detector over whole arrays; returns the DetectionResult and filtered features."""
    feature_filter = FeatureFilter(len(FEATURE_COLUMNS), fps, filter_params)
    filt = feature_filter.process(raw, valid)
    eye, mouth = detector_inputs(filt)
    return detect_recording(t, valid, eye, mouth, fps, det, input_lag_s=feature_filter.delay_s), filt


def write_events(path: Path, events: list[Event]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EVENT_COLUMNS)
    w.writerows(event_cells(e) for e in events)
    write_text_atomic(path, buf.getvalue())


def redetect(folder: Path, out: Path, adjust: Callable[[DetectorParams], DetectorParams]) -> dict:
    session = read_session(folder)
    filter_params, det = stored_params(session.meta)
    det = adjust(det)
    result, _ = run_detection(session.t, session.valid, session.raw, session.fps, filter_params, det)
    params = {**session.meta.get("params", {}), "detector": det.to_dict()}
    meta = {k: session.meta.get(k) for k in ("started_at", "source", "mode", "fps", "mirrored", "model_sha256")}
    totals = FrameTotals.of(session.t, session.valid, result.closure, session.fps)
    summary = summarize(totals, result.events, {**meta, "params": params, "status": session.status,
                                                "redetected_from": str(folder)})
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_events(out / "events.csv", result.events)
        write_json(out / "summary.json", summary)
        write_json(out / "params.json", params)
    except OSError as exc:
        raise TwitchcamError(f"cannot write {out}: {exc.strerror or exc}") from None
    return summary


