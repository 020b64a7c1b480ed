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
def sequential(clips, tmp_path_factory, model):
    """Each clip analysed in one process (once): (summary, session folder)."""
    from twitchcam.run.analyze import analyze_file

    done = {}

    def run(name: str):
        if name not in done:
            out = tmp_path_factory.mktemp("seq") / "s"
            done[name] = analyze_file(clips / name, out, model, show_progress=False), out
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
    """Before: status truncated ('truncated or corrupt after 480 frames', exit 1): Matroska's
    frame count, its duration x rate, counted the pause as missing frames."""
    summary, _ = sequential(name)
    assert summary["status"] == "complete" and summary["frames"] == FRAMES and summary["lost_frames"] == 0
    assert summary["duration_s"] == pytest.approx(FRAMES / 30.0 + PAUSES[name], abs=0.01)
    assert summary["valid_s"] < FRAMES / 30.0 + 0.2  # the pause is not face-tracked time
    assert summary["other_person_frames"] == 0  # after the pause he talks and turns on: still himself


@pytest.mark.parametrize("name", list(PAUSES))
def test_a_video_whose_frames_pause_is_cut_in_time_chunks_where_its_frames_are(clips, sequential, tmp_path, name):
    """Before: 'chunk 1 does not line up with chunk 0 even without seeking', exit 2: the video
    was cut by its clock, and the seam and its warm-up fell in the pause, where no frame is."""
    from tests.test_batch import assert_same_as_sequential

    p = twitchcam("analyze", clips / name, "--out", tmp_path / "par", "--jobs", "2")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    (_, seam), (start, end) = json.loads((tmp_path / "par" / "session.json").read_text())["parallel"]["chunks"]
    assert seam == start >= 5.2 + PAUSES[name] + 2.0 and end is None  # among the frames after the pause
    assert ("is its average over pauses" in p.stderr) == name.endswith(".mp4")  # said as by --jobs 1
    assert_same_as_sequential(sequential(name)[1], tmp_path / "par", 2)


def test_a_pause_counts_its_frames_not_its_clock_in_the_chunk_plan():
    import numpy as np

    from twitchcam.batch.chunks import Timeline, plan_chunks
    from twitchcam.batch.pool import chunk_plan

    stamps = np.concatenate((np.arange(300) / 30, 70 + np.arange(900) / 30))  # 10 s, a minute's pause, 30 s
    timeline = Timeline.of(stamps, 30.0)
    assert timeline.duration_s == pytest.approx(40.0) and Timeline.of(np.arange(900) / 30, 30.0) is None
    assert plan_chunks(100.0, 2, 2.0) == [(0.0, 50.0), (50.0, float("inf"))]  # by the clock: in the pause
    assert plan_chunks(100.0, 2, 2.0, timeline=timeline) == [(0.0, 80.0), (80.0, float("inf"))]  # 20 s of frames each
    for start, _ in plan_chunks(100.0, 4, 2.0, timeline=timeline)[1:]:
        assert start - 2.0 >= 70.0  # a warm-up is never in the pause
    bursts = np.concatenate([3 * k + np.arange(30) / 30 for k in range(100)])  # 1 s of frames every 3 s
    assert plan_chunks(300.0, 4, 2.0, timeline=Timeline.of(bursts, 30.0)) == [(0.0, float("inf"))]
    assert Timeline.of(np.array([0.0, 1 / 30, 2e5]), 30.0) is None  # broken stamps: cut by the clock
    hour = np.concatenate((np.arange(60 * 30) / 30, 36000 + np.arange(3600 * 30) / 30))  # a minute, 10 h, an hour
    plans = chunk_plan([36000.0 + 3600.0, 60.0], 4, lambda k: Timeline.of(hour, 30.0))  # a batch cuts it too
    assert len(plans[0]) >= 2 and all(s == 0.0 or 36002.0 <= s < 39600.0 for s, _ in plans[0]) and plans[1] is None


def test_an_mp4_whose_frames_pause_is_analysed_at_its_frames_rate(sequential):
    """FFmpeg gives an MP4's average rate, pause included: 6.3/s for these 480 frames in 76 s.
    Before, the whole analysis ran at 6.3/s and counted nothing ('too slow to see a twitch')."""
    summary, _ = sequential("minute.mp4")
    assert summary["fps"] == pytest.approx(30.0) and not summary["too_slow_for_spasms"]
    assert "is its average over pauses in the recording; its frames come at 30/s" in summary["fps_note"]
    assert summary["duration_s"] == pytest.approx(76.0, abs=0.01) and summary["status"] == "complete"
