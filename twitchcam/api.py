"""The Python API: results as pandas DataFrames, no session folder needed.

    import twitchcam
    result = twitchcam.process_video("clip.mp4")       # landmarks -> features -> detector
    result.events                                      # onset, duration, side, kind, ...
    result.frames                                      # one row per frame (frames.csv columns)
    result.summary["spasms"]["left"]["per_min"]
    result.save("recordings/clip")                     # a session folder, as `twitchcam analyze` writes
    twitchcam.detect(result.frames, merge_gap_s=0.2)   # the detector again, other parameters
    twitchcam.read_session("recordings/clip")          # a session folder back as a Result
    sim = twitchcam.simulate(120, seed=1)              # per-side signals with known events

Like NeuroKit2's `*_process()`, each call returns plain data: `frames` and `events` are
DataFrames (events with BIDS-style `onset`/`duration` columns, in seconds), `summary` the
same dict as summary.json.  Detector parameters are keyword arguments named as in
`twitchcam.core.detector.DetectorParams` (and as the command line's options).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twitchcam.core.detector import DetectorParams
from twitchcam.core.events import Event
from twitchcam.core.stream import PipelineParams
from twitchcam.errors import TwitchcamError
from twitchcam.store.session import CLOSURE_COLUMNS, FILT_COLUMNS, FRAME_COLUMNS, RAW_COLUMNS

# events.csv's columns as the API names them: BIDS-style onset and duration first.
EVENT_FRAME_COLUMNS = ("onset", "duration", "offset", "side", "kind", "twitches", "peak_closure", "region",
                       "detected_at", "confidence", "asym", "asym_s", "sources")


def events_frame(events: list[Event], items=None):
    """The events as a DataFrame, with a person's decisions beside the one-sided ones (review.csv;
    `items` from twitchcam.store.review.items): their `id`, the `decision` (unreviewed where none)
    and the `reviewed_side`; blinks have none."""
    import pandas as pd

    from twitchcam.store import review

    rows = [(e.onset_s, e.duration_s, e.offset_s, e.side, e.kind, e.twitches, e.peak_closure, e.region,
             e.detected_at_s, e.confidence, e.asym, e.asym_s, e.sources) for e in events]
    table = pd.DataFrame(rows, columns=list(EVENT_FRAME_COLUMNS))
    if items is None:
        items = [review.Item(k, e) for k, e in review.number(events)]
    one_sided = (table.side != "both").to_numpy()
    table["id"] = pd.array([None] * len(table), dtype="Int64")
    table.loc[one_sided, "id"] = [it.id for it in items]
    table["decision"] = ""
    table.loc[one_sided, "decision"] = [it.decision or "unreviewed" for it in items]
    table["reviewed_side"] = table.side
    table.loc[one_sided, "reviewed_side"] = [it.final_side for it in items]
    return table


def events_from_frame(df) -> list[Event]:
    return [Event(float(r.onset), float(r.offset), r.side, r.kind, int(r.twitches), float(r.peak_closure), r.region,
                  float(r.detected_at), float(getattr(r, "confidence", math.nan)), float(getattr(r, "asym", math.nan)),
                  float(getattr(r, "asym_s", math.nan)), str(getattr(r, "sources", "") or ""))
            for r in df.itertuples(index=False)]


@dataclass
class Result:
    """Per-frame signals, events and the summary of one recording."""

    frames: "pandas.DataFrame"  # noqa: F821 - columns as frames.csv (FRAME_COLUMNS)
    events: "pandas.DataFrame"  # noqa: F821 - EVENT_FRAME_COLUMNS
    summary: dict
    meta: dict = field(default_factory=dict)  # what session.json holds: source, fps, parameters, ...

    @property
    def fps(self) -> float:
        return float(self.meta.get("fps") or self.summary.get("fps") or 30.0)

    def save(self, folder: str | Path) -> Path:
        """Write a session folder exactly as `twitchcam analyze` would; refuses an existing session."""
        from twitchcam.store.folder import is_session_dir
        from twitchcam.store.writer import SessionWriter

        folder = Path(folder)
        if is_session_dir(folder):
            raise TwitchcamError(f"{folder} already holds a session; choose another folder")
        writer = SessionWriter(folder, {k: v for k, v in self.meta.items() if k not in ("status", "ended_at")})
        writer.rows(self.frames[list(FRAME_COLUMNS)].itertuples(index=False, name=None))
        writer.events(events_from_frame(self.events))
        writer.close(self.summary.get("status", "complete"), self.summary)
        return folder


class _MemoryWriter:
    """A session writer that keeps everything in memory (the API needs no folder)."""

    def __init__(self, meta: dict):
        self.meta = {**meta, "status": "running"}
        self.rows: list[list] = []
        self.event_list: list[Event] = []
        self.summary: dict | None = None

    def frame(self, index, t_s, valid, reason, pose, raw, filt, closure, dropped=0) -> None:
        self.rows.append([index, t_s, int(valid), reason, *pose, *raw, *filt, *closure, dropped])

    def events(self, events: list[Event]) -> None:
        self.event_list.extend(events)

    def marker(self, t_s: float, label: str) -> None:  # live only; kept for the writer's interface
        pass

    def close(self, status: str, summary: dict | None, **extra) -> None:
        self.meta.update(status=status, **extra)
        self.summary = summary

    def result(self) -> Result:
        import pandas as pd

        frames = pd.DataFrame(self.rows, columns=list(FRAME_COLUMNS))
        return Result(frames, events_frame(self.event_list), self.summary or {}, self.meta)


def _params(base: PipelineParams, detector_params: dict) -> PipelineParams:
    names = {f.name for f in dataclasses.fields(DetectorParams)}
    unknown = sorted(set(detector_params) - names)
    if unknown:
        raise TypeError(f"unknown detector parameter(s): {', '.join(unknown)} (see DetectorParams)")
    return dataclasses.replace(base, detector=dataclasses.replace(base.detector, **detector_params))


def process_video(path: str | Path, mirrored: bool = False, model: str | Path | None = None,
                  **detector_params) -> Result:
    """Analyse one video file: the `twitchcam analyze` pipeline, results in memory."""
    from twitchcam.run.analyze import run_file
    from twitchcam.video.landmarks import Landmarker
    from twitchcam.video.model import ensure_model
    from twitchcam.video.pipeline import session_meta
    from twitchcam.video.source import FileSource

    params = _params(PipelineParams(), detector_params)
    source = FileSource(path)
    meta = session_meta(Path(path).name, "analyze", source.fps, mirrored, params)
    writer = _MemoryWriter(meta)
    with Landmarker(ensure_model(model)) as landmarker:
        run_file(source, landmarker, lambda: writer, meta, params, mirrored)
    return writer.result()


def read_session(folder: str | Path) -> Result:
    """A session folder (from `analyze`, `live` or `Result.save`) as a Result."""
    from twitchcam.store import review
    from twitchcam.store.reader import read_events, read_frames, read_meta, read_summary
    from twitchcam.store.session import FRAMES_FILE

    folder = Path(folder)
    meta = read_meta(folder)
    frames = read_frames(folder / FRAMES_FILE).df
    events = read_events(folder)
    summary = read_summary(folder) or {}
    items, _ = review.items(folder, events)
    summary = {**summary, "review": review.counts(items, summary.get("valid_s"))}
    return Result(frames, events_frame(events, items), summary, meta)


def detect(frames, fps: float | None = None, **detector_params) -> Result:
    """The filters and detector again over stored frames: a session folder, a Result, or a
    frames DataFrame (the frames.csv columns; at least t_s, the pose columns and the raw_*
    features).

    A session folder gives exactly what `twitchcam detect` writes for it (its events and
    summary.json): damaged rows of frames.csv are put back as frames without a face and
    counted (`bad_rows`), and frames lost before a row are counted (`lost_frames`)."""
    from twitchcam.run.detect import StoredFrames, detect_frames, detect_session, stored_params
    from twitchcam.run.summary import PROVENANCE

    if isinstance(frames, (str, Path)):
        from twitchcam.store.reader import read_stored_session

        session = read_stored_session(Path(frames))
        params = _params(stored_params(session.meta), detector_params)
        stored, found, summary = detect_session(session, params, fps)
        meta = {**session.meta, "fps": fps or session.fps, "params": params.to_dict()}
        return Result(_detected(session.frames.df, stored, found), events_frame(found.events), summary, meta)
    meta: dict = {}
    if isinstance(frames, Result):
        meta, frames = frames.meta, frames.frames
    base = PipelineParams()
    if meta.get("params"):
        base = PipelineParams.from_dict(meta["params"])
    params = _params(base, detector_params)
    stored = StoredFrames.of_table(frames)
    fps = float(fps or meta.get("fps") or _median_rate(stored.t))
    provenance = {k: meta[k] for k in PROVENANCE if k in meta}
    found, summary = detect_frames(stored, fps, params, {**provenance, "fps": fps}, meta.get("status", "complete"))
    meta = {**meta, "fps": fps, "params": params.to_dict()}
    return Result(_detected(frames, stored, found), events_frame(found.events), summary, meta)


def _detected(table, stored, found):
    """`table` (frames.csv columns) as the chain saw it (`stored`: with damaged rows put back),
    with what it found: valid, reason, filtered features and closure."""
    from twitchcam.core.features import POSE_COLUMNS

    if (stored.row < 0).any():  # rows put back: copies of the row before, emptied
        table = table.iloc[np.maximum.accumulate(stored.row)].reset_index(drop=True)
        table["frame"], table["t_s"], table["dropped"] = stored.frame, stored.t, stored.lost
        table[list(POSE_COLUMNS)] = stored.pose
        table[list(RAW_COLUMNS)] = stored.raw
    else:
        table = table.copy()
    table["valid"], table["reason"] = found.valid.astype(int), found.reason
    table[list(FILT_COLUMNS)] = found.filt
    table[list(CLOSURE_COLUMNS)] = found.closure
    return table


def _median_rate(t: np.ndarray) -> float:
    dt = np.diff(t)
    dt = dt[dt > 0]
    return float(1.0 / np.median(dt)) if dt.size else 30.0


def simulate(duration_s: float = 60.0, fps: float = 30.0, seed: int = 0, **kwargs) -> Result:
    """Per-side signals with known events (`twitchcam.core.simulate.simulate`), as a Result:
    `frames` in the frames.csv layout (so `detect(sim)` runs on it) and `events` the truth."""
    import pandas as pd

    from twitchcam.core.features import POSE_COLUMNS
    from twitchcam.core.simulate import simulate as simulate_signals

    sim = simulate_signals(duration_s, fps, seed, **kwargs)
    n = sim.t.size
    data = {c: np.full(n, np.nan) for c in FRAME_COLUMNS}
    data.update(frame=np.arange(n), t_s=sim.t, valid=sim.valid.astype(int), dropped=np.zeros(n, dtype=int))
    data["reason"] = np.where(sim.valid, "", "no_face")
    data.update(zip(POSE_COLUMNS, sim.pose().T))
    data.update(zip(RAW_COLUMNS, sim.features().T))
    truth = pd.DataFrame([(e.onset_s, e.offset_s - e.onset_s, e.offset_s, e.side, e.kind)
                          for e in sim.truth], columns=["onset", "duration", "offset", "side", "kind"])
    return Result(pd.DataFrame(data)[list(FRAME_COLUMNS)], truth, {}, {"fps": fps, "mode": "simulate"})
