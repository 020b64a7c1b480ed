"""Reading a session folder back: frames.csv, events.csv and the JSON files, each checked for
size, shape and damage; a damaged file is one line, never a crash."""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twitchcam.core.anatomy import SIDES
from twitchcam.core.events import Event
from twitchcam.core.features import POSE_COLUMNS
from twitchcam.core.summary import finite
from twitchcam.errors import TwitchcamError
from twitchcam.store.lock import is_being_written
from twitchcam.store.session import EVENTS_FILE, FRAME_COLUMNS, FRAMES_FILE, RAW_COLUMNS, SESSION_FILE, SUMMARY_FILE


def read_json_or_none(path: Path) -> dict | None:
    """A JSON object from `path`, or None when it is missing, unreadable or not an object
    (the lenient twin of `read_json`, for files whose absence only means 'not done')."""
    try:
        data = json.loads(_json_text(Path(path)))
    except (OSError, ValueError, RecursionError, TwitchcamError):
        return None
    return data if isinstance(data, dict) else None


def read_meta_or_empty(folder: Path) -> dict:
    return read_json_or_none(Path(folder) / SESSION_FILE) or {}


@dataclass
class FrameTable:
    """frames.csv as a DataFrame (pandas), and how many damaged rows were left out of it.

    Rows that cannot be parsed (a line cut off by kill -9, a damaged byte, a wrong number of
    cells) are skipped and counted in `bad_rows`; everything else is kept.
    """

    df: "pandas.DataFrame"  # noqa: F821
    bad_rows: int

    def __len__(self) -> int:
        return len(self.df)

    def has(self, name: str) -> bool:
        return name in self.df.columns

    def column(self, name: str) -> np.ndarray:
        return self.df[name].to_numpy(dtype=np.float64)

    def columns(self, names) -> np.ndarray:
        return self.df[list(names)].to_numpy(dtype=np.float64)


MAX_HEADER_BYTES = 1 << 16  # frames.csv's header is ~2 KB


MAX_JSON_BYTES = 4 << 20  # session.json and summary.json are a few KB


def read_frames(path: Path) -> FrameTable:
    """frames.csv as a FrameTable: the one reader that detect, the report and the API use.

    Floats were written with repr(), and pandas' parser reads them back bit for bit.
    """
    import pandas as pd

    try:
        with open(path, "rb") as f:
            head = f.readline(MAX_HEADER_BYTES + 1)
    except OSError as exc:
        raise TwitchcamError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(head) > MAX_HEADER_BYTES:  # no header of ours is this long: damaged, and not read whole
        raise TwitchcamError(f"{path}: its first row is over {MAX_HEADER_BYTES} bytes, not a frames table (damaged)")
    try:
        df = pd.read_csv(path, on_bad_lines="skip", encoding_errors="replace", dtype={"reason": str},
                         low_memory=False)
    except pd.errors.EmptyDataError:
        raise TwitchcamError(f"{path}: empty, not a frames table") from None
    except (OSError, pd.errors.ParserError) as exc:
        raise TwitchcamError(f"cannot read {path}: {exc}") from None
    if "t_s" not in df.columns or "valid" not in df.columns:
        raise TwitchcamError(f"{path}: not a frames table (no t_s/valid columns)")
    with open(path, "rb") as f:
        lines = sum(1 for _ in f) - 1  # rows that on_bad_lines dropped count as bad too
    ok = np.ones(len(df), dtype=bool)
    for name in df.columns:
        if name == "reason":
            continue
        col = df[name]
        if not pd.api.types.is_numeric_dtype(col):  # a damaged cell: the column did not parse as numbers
            num = pd.to_numeric(col, errors="coerce")
            ok &= ~(num.isna() & col.notna()).to_numpy()  # a cell that is not a number ('nan' read as NaN is one)
            df[name] = num
    ok &= df[df.columns[-1]].notna().to_numpy()  # a row with cells missing: its last cell is NaN
    ok &= df["t_s"].notna().to_numpy()
    if not ok.all():
        df = df[ok].reset_index(drop=True)
    if "reason" in df.columns:
        df["reason"] = df["reason"].fillna("")
    return FrameTable(df, max(0, lines - len(df)))


@dataclass
class StoredSession:
    folder: Path
    meta: dict
    frames: FrameTable

    @property
    def frame(self) -> np.ndarray:
        return self.frames.column("frame").astype(np.int64)

    @property
    def t(self) -> np.ndarray:
        return self.frames.column("t_s")

    @property
    def valid(self) -> np.ndarray:
        return self.frames.column("valid") > 0

    @property
    def pose(self) -> np.ndarray:
        """(n, len(POSE_COLUMNS)) head pose and face size; NaN where no face was found."""
        return self.frames.columns(POSE_COLUMNS)

    @property
    def raw(self) -> np.ndarray:
        """(n, len(FEATURE_COLUMNS)) raw per-frame features."""
        return self.frames.columns(RAW_COLUMNS)

    @property
    def fps(self) -> float:
        """The nominal frame rate session.json gives; a damaged one (not a number within
        0.1-1000) is a damaged session, one line."""
        fps = finite(self.meta.get("fps", 30.0))
        if fps is None or not 0.1 <= fps <= 1000.0:
            raise TwitchcamError(f"{self.folder / SESSION_FILE}: fps is {self.meta.get('fps')!r}, not a frame rate "
                                 "(damaged session)")
        return fps

    @property
    def status(self) -> str:
        """How the session ended; "running" only while a process still writes it (a session
        that says "running" with nobody writing it was cut off: "interrupted")."""
        status = self.meta.get("status", "running")
        if status == "running" and not is_being_written(self.folder):
            return "interrupted"
        return status if isinstance(status, str) else "unknown"


def _json_text(path: Path) -> str:
    """A JSON file's text, read no further than MAX_JSON_BYTES (a larger one is damaged)."""
    with open(path, encoding="utf-8") as f:
        text = f.read(MAX_JSON_BYTES + 1)
    if len(text) > MAX_JSON_BYTES:
        raise TwitchcamError(f"{path} is over {MAX_JSON_BYTES >> 20} MiB: not a twitchcam file (damaged)")
    return text


def _json_int(text: str) -> int:
    """A JSON integer; one of more than 308 digits is beyond any float (and int() refuses 4300)."""
    if len(text.lstrip("-")) > 308:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits, beyond any number a session holds (damaged)")
    return int(text)


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; TwitchcamError with a one-line reason otherwise."""
    try:
        data = json.loads(_json_text(path), parse_int=_json_int)
    except FileNotFoundError:
        raise TwitchcamError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:  # ValueError: json.JSONDecodeError among them
        raise TwitchcamError(f"cannot read {path}: {e}") from None
    except RecursionError:
        raise TwitchcamError(f"cannot read {path}: nested too deeply") from None
    if not isinstance(data, dict):
        raise TwitchcamError(f"{path} is not a JSON object")
    return data


# What the parts of session.json and summary.json must be for anything to read them: a type,
# and for numbers the range a real session can have (a duration of 1e300 s, a count SQLite
# cannot store, a mode that is a list: a damaged or hand-edited file, one line, skipped).
_TEXT = ("status", "affected_side", "started_at", "source", "mode", "model_sha256", "ended_at")


_META_SHAPE = {**{k: str for k in _TEXT}, "params": dict, "source_id": dict, "fps": (int, float),
               "mirrored": bool}


_SUMMARY_SHAPE = {**_META_SHAPE, "spasms": dict, "blinks": dict, "versions": dict, "grades": dict}


_RANGES = {"duration_s": 1e8, "valid_s": 1e8, "fps": 1e4, "frames": 1e10, "valid_frames": 1e10,
           "lost_frames": 1e10, "count": 1e9, "per_min": 1e6, "clonic": 1e9, "tonic": 1e9, "twitches": 1e10,
           "mean_duration_s": 1e8, "max_duration_s": 1e8, "with_mouth": 1e9, "possible": 1e9}


def check_shape(path: Path, data: dict, shape: dict, what: str) -> dict:
    """`data` if its parts have the types in `shape` and its numbers (at the top, and per side
    under 'spasms') are within _RANGES; else a one-line TwitchcamError naming the first that
    is not ('damaged <what>')."""
    for key, kind in shape.items():
        if data.get(key) is not None and not isinstance(data[key], kind):
            want = {dict: "JSON object", str: "string", bool: "true/false"}.get(kind, "number")
            raise TwitchcamError(f"{path}: {key!r} is a {type(data[key]).__name__}, not a {want} (damaged {what})")
    parts = [("", data)] + [(f"spasms.{side}.", (data.get("spasms") or {}).get(side)) for side in SIDES]
    for prefix, part in parts:
        if part is not None and not isinstance(part, dict):
            raise TwitchcamError(f"{path}: {prefix[:-1]!r} is a {type(part).__name__}, not a JSON object "
                                 f"(damaged {what})")
        for key, top in _RANGES.items():
            v = (part or {}).get(key)
            if v is not None and not isinstance(v, bool) and isinstance(v, (int, float)) and not 0 <= v <= top:
                raise TwitchcamError(f"{path}: {prefix}{key} is {v!r}, out of range (damaged {what})")
    if isinstance(data.get("params"), dict):
        problem = params_problem(data["params"])
        if problem:
            raise TwitchcamError(f"{path}: session parameters are damaged: params.{problem}")
    return data


def params_problem(params: dict) -> str | None:
    """What is wrong with stored pipeline parameters, or None: each must have its default's type
    (true/false, a whole number, a number), be finite, not negative, and within what a session can
    be run with (durations at most an hour, filter orders at most 10, other counts at most a
    million; a threshold may be any size: 1e9 turns a check off; the detector's within
    DetectorParams' own limits).  Unknown names are another version's.  (run.detect.stored_params
    then builds the chain from them, which checks what depends on the frame rate.)"""
    from twitchcam.core.detector import DetectorParams
    from twitchcam.core.stream import PipelineParams

    for section, defaults in PipelineParams().to_dict().items():
        values = params.get(section, {})
        if not isinstance(values, dict):
            return f"{section} is a {type(values).__name__}, not a JSON object"
        for name, v in values.items():
            d = defaults.get(name)
            if d is None:
                continue
            want = "true or false" if isinstance(d, bool) else "a whole number" if isinstance(d, int) else "a number"
            if isinstance(d, bool) or isinstance(v, bool) or not isinstance(v, (int, float)):
                if not (isinstance(d, bool) and isinstance(v, bool)):
                    return f"{section}.{name} is a {type(v).__name__}, not {want}"
                continue
            top = 10 if name == "order" else 3600.0 if name.endswith("_s") else 1e6 if isinstance(d, int) \
                else math.inf
            if not (math.isfinite(v) and 0 <= v <= top) or (isinstance(d, int) and v != int(v)):
                return f"{section}.{name} is {v:.6g}, not {want} from 0{f' to {top:g}' if top < math.inf else ' up'}"
    detector = {k: v for k, v in params.get("detector", {}).items() if k in PipelineParams().to_dict()["detector"]}
    for name, why in DetectorParams(**detector).problems()[:1]:
        return f"detector.{name} {why}"
    return None


def read_summary_file(path: Path) -> dict:
    """summary.json as a dict whose parts have the types and ranges the readers expect."""
    return check_shape(path, read_json(path), _SUMMARY_SHAPE, "summary")


def read_summary(folder: Path) -> dict | None:
    """summary.json, or None while a session has none (running, or cut short by kill -9)."""
    path = Path(folder) / SUMMARY_FILE
    return read_summary_file(path) if path.is_file() else None


def read_meta(folder: Path) -> dict:
    """session.json: what the session is (source, mode, fps, parameters, status)."""
    if not (Path(folder) / SESSION_FILE).is_file():
        raise TwitchcamError(f"{folder}: not a twitchcam session folder (no {SESSION_FILE})")
    return check_shape(Path(folder) / SESSION_FILE, read_json(Path(folder) / SESSION_FILE), _META_SHAPE, "session")


def read_stored_session(folder: Path) -> StoredSession:
    """What `detect` needs: the metadata and every frame's raw features."""
    folder = Path(folder)
    meta = read_meta(folder)
    frames_path = folder / FRAMES_FILE
    if not frames_path.is_file():
        raise TwitchcamError(f"{folder}: not a twitchcam session folder (no frames.csv)")
    frames = read_frames(frames_path)
    missing = [c for c in FRAME_COLUMNS if not frames.has(c)]
    if missing:
        raise TwitchcamError(f"{frames_path}: columns {', '.join(missing[:3])}... missing "
                             f"(written by another version, format {meta.get('format')})")
    return StoredSession(folder, meta, frames)


def _evidence_cells(r: dict) -> tuple[float, float, float, str]:
    """confidence, asym, asym_s, sources of an events.csv row (absent before format 3: unknown)."""
    return (float(r.get("confidence") or "nan"), float(r.get("asym") or "nan"), float(r.get("asym_s") or "nan"),
            (r.get("sources") or "").strip())


def csv_rows(f):
    """csv.DictReader's rows of the open file `f`; a row the csv module itself refuses (a cell over
    its size limit, a NUL byte) is None: a damaged row, and the rows after it are still read."""
    reader = csv.DictReader(f)
    while True:
        line = reader.reader.line_num  # the csv reader's own count (DictReader's stops at an error)
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error:
            if reader.reader.line_num == line:  # nothing more was read: do not try again
                return
            yield None


def read_event_rows(path: Path) -> tuple[list[Event], int]:
    """events.csv: the events, and how many rows were damaged (skipped, never fatal)."""
    out, bad = [], 0
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            for r in csv_rows(f):
                try:
                    e = Event(float(r["onset_s"]), float(r["offset_s"]), r["side"].strip(), r["kind"].strip(),
                              int(r["twitches"]), float(r["peak_closure"]), r["region"].strip(),
                              float(r["detected_at_s"] or "nan"), *_evidence_cells(r))
                except (KeyError, TypeError, ValueError, AttributeError):
                    bad += 1
                    continue
                if e.side not in ("left", "right", "both") or not (math.isfinite(e.onset_s)
                                                                  and math.isfinite(e.offset_s)):
                    bad += 1
                    continue
                out.append(e)
    except OSError as exc:
        raise TwitchcamError(f"cannot read {path}: {exc.strerror or exc}") from None
    return out, bad


def read_events(folder: Path) -> list[Event]:
    return read_event_rows(Path(folder) / EVENTS_FILE)[0]
