"""Session folders: the stable on-disk contract every later tool builds on (its files, their
columns and format).  Who may write one: store.lock and store.folder; writing: store.writer;
reading: store.reader; the video it came from: store.source.

    session.json   written at the start (status "running"), finalised at the end
    frames.csv     one row per decoded frame, appended as it happens
    events.csv     one row per event, appended as it happens
    markers.csv    patient markers (live mode)
    summary.json   written at the end (and by `twitchcam detect`)
    session.lock   an empty file: the OS lock a writer holds while it writes (see SessionLock)

Rows are flushed at least once a second, so a session killed at any moment is still
readable by `twitchcam detect`; a session.json still saying "running" marks it as
interrupted.  Floats are written with repr(), which round-trips exactly, so `detect`
re-runs the filters on the very numbers the live run saw.
"""
from __future__ import annotations

from twitchcam.core.anatomy import SIDES
from twitchcam.core.features import FEATURE_COLUMNS, POSE_COLUMNS

SESSION_FORMAT = 2  # 2: appearance and blendshape features, face_px; validity judged against the person
# The files of a session folder (see the module docstring).
SESSION_FILE, FRAMES_FILE, EVENTS_FILE, MARKERS_FILE, SUMMARY_FILE, VIDEO_FILE = (
    "session.json", "frames.csv", "events.csv", "markers.csv", "summary.json", "video.avi")
LOCK_NAME = "session.lock"
DETECT_DIR = "detect"  # where `twitchcam detect` writes by default
# Everything a session consists of: what --overwrite removes (and nothing else of the folder).
SESSION_FILES = (SESSION_FILE, FRAMES_FILE, EVENTS_FILE, MARKERS_FILE, SUMMARY_FILE, VIDEO_FILE)
RAW_COLUMNS = tuple(f"raw_{c}" for c in FEATURE_COLUMNS)  # the features as measured, FEATURE_COLUMNS' order
FILT_COLUMNS = tuple(f"filt_{c}" for c in FEATURE_COLUMNS)  # ... and filtered
CLOSURE_COLUMNS = tuple(f"closure_{s}" for s in SIDES)  # the detector's per-side closure, SIDES' order
FRAME_COLUMNS = ("frame", "t_s", "valid", "reason") + POSE_COLUMNS + RAW_COLUMNS + FILT_COLUMNS + CLOSURE_COLUMNS + (
    "dropped",)
