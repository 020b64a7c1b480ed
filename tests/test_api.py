"""The Python API: the README's examples run as written, and results agree with the CLI's."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import twitchcam
from twitchcam.store.session import FRAME_COLUMNS

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_examples() -> list[str]:
    section = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_simulate_then_detect_finds_the_simulated_spasms():
    sim = twitchcam.simulate(300, seed=2, sides=("left", "right"))
    assert list(sim.frames.columns) == list(FRAME_COLUMNS)
    assert {"onset", "duration", "side", "kind"} <= set(sim.events.columns)
    found = twitchcam.detect(sim)
    spasms = found.events[found.events.side != "both"]
    truth = sim.events[sim.events.side != "both"]
    assert len(truth) > 5 and abs(len(spasms) - len(truth)) <= 1
    assert list(found.events.columns[:2]) == ["onset", "duration"]
    assert found.summary["spasms"]["left"]["count"] == int((spasms.side == "left").sum())


def test_detector_parameters_are_keyword_arguments():
    sim = twitchcam.simulate(120, seed=1)
    assert len(twitchcam.detect(sim, spasm_on=5.0, blink_on=5.0).events) == 0
    with pytest.raises(TypeError, match="no_such"):
        twitchcam.detect(sim, no_such=1.0)


@pytest.mark.slow
def test_readme_examples_run(tmp_path, monkeypatch, videos, model):
    from twitchcam.synth.inject import write_pingpong

    write_pingpong(videos["WolfgangLanger_Pexels.mp4"], tmp_path / "clip.mp4", 25.0)
    monkeypatch.chdir(tmp_path)
    examples = readme_examples()
    assert examples
    for code in examples:
        exec(compile(code, str(README), "exec"), {})
    assert (tmp_path / "sessions" / "clip" / "summary.json").is_file()


@pytest.mark.slow
def test_process_video_equals_analyze_and_round_trips_through_a_folder(tmp_path, videos, model):
    from twitchcam.store.session import read_events
    from twitchcam.video.analyze import analyze_file

    video = videos["WolfgangLanger_Pexels.mp4"]
    result = twitchcam.process_video(video)
    assert len(result.events) > 0
    summary = analyze_file(video, tmp_path / "cli", model, show_progress=False)
    assert [e.key() for e in read_events(tmp_path / "cli")] == [
        e.key() for e in twitchcam.api.events_from_frame(result.events)]
    assert result.summary["spasms"] == summary["spasms"] and result.summary["blinks"] == summary["blinks"]
    result.save(tmp_path / "saved")
    back = twitchcam.read_session(tmp_path / "saved")
    assert np.array_equal(back.frames.fillna(-9).to_numpy(), result.frames.fillna(-9).to_numpy())
    assert back.events.equals(result.events)
    with pytest.raises(twitchcam.api.TwitchcamError):
        result.save(tmp_path / "saved")  # a finished session is never replaced
    again = twitchcam.detect(tmp_path / "saved")
    assert again.events[["onset", "side", "kind"]].equals(result.events[["onset", "side", "kind"]])
