"""What to do with an input video whose session folder may already hold its analysis: the one
resume/skip rule of `analyze`, for videos analysed one after another and for batches alike."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twitchcam.store.source import finished_session


@dataclass(frozen=True)
class InputPlan:
    action: str  # run | skip (its session is complete, of that very file, unchanged) | missing (no such file)
    overwrite: bool = False  # run: the analysis may replace the session the folder holds
    summary: dict | None = None  # skip: the finished session's summary
    note: str = ""  # missing: the one-line error; run: why a finished session is analysed again


def plan_input(video: Path, folder: Path, overwrite: bool = False, named: bool = False) -> InputPlan:
    """The plan for `video` and its session `folder`.

    A folder twitchcam named after the video resumes: a complete session of that very file,
    unchanged since (`store.source.finished_session`), is skipped; an unfinished session, or
    one of a file that changed since (`note` says so), is replaced.  A folder the user `named`
    (`--out` for one video) is never skipped, and replaced only with `overwrite` (the session
    writer refuses it otherwise).  `overwrite` analyses everything again.
    """
    video, folder = Path(video), Path(folder)
    if not video.exists():
        return InputPlan("missing", note=f"{video}: no such file")
    if named or overwrite:
        return InputPlan("run", overwrite=overwrite)
    done, why = finished_session(folder, video)
    if done is not None:
        return InputPlan("skip", summary=done)
    return InputPlan("run", overwrite=True, note=why)
