"""Variable frame rate with a long pause (issue 17 item 13): real video files whose frames stop
for a minute or for ten hours (made by tests/pause.py from a real face clip) are analysed whole,
and said to be whole."""
from __future__ import annotations

import json

import pytest

from tests.pause import decoder_steps, mkv_pause, mp4_pause, write_clip
from tests.test_cli import twitchcam
from twitchcam.video.source import VideoHeader, is_truncated

PAUSES = {"minute.mkv": 60.0, "ten_hours.mkv": 36000.0, "minute.mp4": 60.0}
FRAMES = 480  # 16 s at 30 frames/s; the pause comes 5.2 s in


@pytest.fixture(scope="module")
def clips(tmp_path_factory, videos):
    folder = tmp_path_factory.mktemp("vfr")
    for ext in ("mp4", "mkv"):
        assert write_clip(videos["WolfgangLanger_Pexels.mp4"], folder / f"plain.{ext}", FRAMES / 30.0) == FRAMES
    mp4_pause(folder / "plain.mp4", folder / "minute.mp4", 155, PAUSES["minute.mp4"])
    for name in ("minute.mkv", "ten_hours.mkv"):
        assert mkv_pause(folder / "plain.mkv", folder / name, 5.0, PAUSES[name]) == pytest.approx(5.2)
    return folder


@pytest.fixture(scope="module")
def sequential(clips, tmp_path_factory):
    """`analyze --jobs 1` of each clip (once): (exit code, stderr, summary)."""
    done = {}

    def run(name: str):
        if name not in done:
            out = tmp_path_factory.mktemp("seq") / "s"
            p = twitchcam("analyze", clips / name, "--out", out, "--jobs", "1")
            done[name] = p.returncode, p.stderr, out
        return done[name]
    return run


def test_a_pause_is_a_gap_in_the_decoders_stamps(clips):
    for name, pause in PAUSES.items():
        steps = sorted(decoder_steps(clips / name))
        assert len(steps) == FRAMES - 1 and steps[-1] == pytest.approx(pause + 1 / 30, abs=2e-3), name
        assert steps[-2] < 0.035, name  # one pause; otherwise 30 frames/s (Matroska: whole ms)


def test_frames_that_reach_the_containers_end_are_not_truncated():
    # Matroska keeps no frame count: FFmpeg gives its duration x rate, which a pause inflates.
    header = VideoHeader(30.0, 36016 * 30, 36016.0)
    assert not header.truncated(480, 36016.0)  # the frames reach its end: the whole file
    assert header.truncated(480, 16.0)  # they stop ten hours short of it: cut off
    assert is_truncated(300, 900, 30.0) and is_truncated(300, 900, 30.0, 10.0, 30.0)
    assert not is_truncated(890, 900, 30.0) and not is_truncated(300, 900, 30.0, 29.8, 30.0)


@pytest.mark.parametrize("name", ["minute.mkv", "ten_hours.mkv"])
def test_a_pause_of_a_minute_or_ten_hours_is_not_a_truncated_file(sequential, name):
    """Before: 'truncated or corrupt after 480 frames', exit 1 (Matroska's frame count, its
    duration x rate, counted the pause as missing frames)."""
    code, err, out = sequential(name)
    assert code == 0 and "truncated" not in err, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["frames"] == FRAMES and summary["lost_frames"] == 0
    assert summary["duration_s"] == pytest.approx(FRAMES / 30.0 + PAUSES[name], abs=0.01)
    assert summary["valid_s"] < FRAMES / 30.0 + 0.2  # the pause is not face-tracked time
