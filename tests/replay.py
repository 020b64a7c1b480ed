"""The real-clip recordings of tests/data/real/ (made by tests/record_real.py), read back for replay.

A recording is what `twitchcam analyze` made of a real face video: its per-frame inputs to the
signal chain (pose and raw features, bit for bit), what analyze made of each frame (valid,
reason, closure), and its events and summary.  Everything after the landmarker is pure, so
replaying the inputs must give those results again, without MediaPipe or a video.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "real"
NAMES = tuple(sorted(p.stem for p in DATA.glob("*.json")))
# summary.json fields that say how and when a summary was made, not what was found.
PROVENANCE = {"versions", "started_at", "ended_at", "source", "source_id", "status", "redetected_from", "bad_rows",
              "mode", "review"}


@dataclass(frozen=True)
class Recording:
    name: str
    about: dict  # the JSON: provenance, fps, params, events and summary as analyze wrote them
    frames: "pandas.DataFrame"  # noqa: F821 - frames.csv's columns, filt_* NaN (not recorded)

    @property
    def fps(self) -> float:
        return self.about["fps"]

    @property
    def summary(self) -> dict:
        return self.about["summary"]

    def params(self):
        from twitchcam.core.stream import PipelineParams

        return PipelineParams.from_dict(self.about["params"])

    def meta(self) -> dict:
        """session.json's fields as analyze wrote them (the video by its name only)."""
        return {"source": self.about["video"], "mode": "analyze", "fps": self.fps, "mirrored": self.about["mirrored"],
                "params": self.about["params"], "model_sha256": self.about["model_sha256"]}

    def result(self):
        """The recorded inputs as a twitchcam.Result, for twitchcam.detect."""
        import pandas as pd

        from twitchcam.api import Result

        return Result(self.frames, pd.DataFrame(), {}, self.meta())

    def events(self) -> list[tuple]:
        """analyze's events, as `event_fields` gives them."""
        from twitchcam.core.events import Event

        return [event_fields(Event(float(r["onset_s"]), float(r["offset_s"]), r["side"], r["kind"], int(r["twitches"]),
                                   float(r["peak_closure"]), r["region"], float(r["detected_at_s"]),
                                   float(r["confidence"]), float(r["asym"]), float(r["asym_s"]), r["sources"]))
                for r in self.about["events"]]


def _round(x):
    return None if isinstance(x, float) and math.isnan(x) else round(x, 6) if isinstance(x, float) else x


def event_fields(e) -> tuple:
    """Everything an event says, floats to 6 decimals (a change of the last bits of a filter
    is no change of behaviour; a frame's difference is)."""
    return tuple(_round(getattr(e, f)) for f in ("onset_s", "offset_s", "side", "kind", "twitches", "peak_closure",
                                                 "region", "detected_at_s", "confidence", "asym", "asym_s", "sources"))


def frame_event_fields(df) -> list[tuple]:
    """The API's events DataFrame as `event_fields` gives them."""
    from twitchcam.api import events_from_frame

    return [event_fields(e) for e in events_from_frame(df)]


def findings(summary: dict) -> dict:
    """A summary without its provenance: what was found."""
    return {k: v for k, v in summary.items() if k not in PROVENANCE}


# Whose face a frame shows is judged from its appearance (core/identity.py), which frames.csv does
# not keep: replayed through the chain, a frame analyze found to be someone else's (`other_person`,
# its features NaN) is a frame without a face.  (`detect` keeps analyze's reason for it.)
def chain_reasons(rec: "Recording") -> list[str]:
    """Each frame's reason as the signal chain finds it from the recorded features alone."""
    from twitchcam.core.features import OTHER

    return ["no_face" if r == OTHER else r for r in rec.frames["reason"].tolist()]


def csv_path(name: str) -> Path:
    """NAME.csv, or NAME.csv.gz for a long clip."""
    plain = DATA / f"{name}.csv"
    return plain if plain.is_file() else DATA / f"{name}.csv.gz"


@cache
def load(name: str) -> Recording:
    import pandas as pd

    from twitchcam.store.session import FRAME_COLUMNS

    about = json.loads((DATA / f"{name}.json").read_text())
    df = pd.read_csv(csv_path(name), dtype={"reason": str}, keep_default_na=False, na_values=["nan"])
    for c in FRAME_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    return Recording(name, about, df[list(FRAME_COLUMNS)])


def chain_inputs(rec: Recording) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, pose, raw) of every recorded frame."""
    from twitchcam.core.features import FEATURE_COLUMNS, POSE_COLUMNS

    df = rec.frames
    return (df["t_s"].to_numpy(np.float64), df[list(POSE_COLUMNS)].to_numpy(np.float64),
            df[[f"raw_{c}" for c in FEATURE_COLUMNS]].to_numpy(np.float64))


def save_session(rec: Recording, folder: Path) -> Path:
    """A session folder of the recording, as analyze writes one: the chain run again over its
    inputs, saved through the API (frames.csv with every column, events, summary)."""
    import twitchcam

    return twitchcam.detect(rec.result()).save(folder)
