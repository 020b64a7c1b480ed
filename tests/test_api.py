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
def test_process_video_equals_analyze_and_round_trips_through_a_folder(tmp_path, videos, analyzed_wolfgang):
    from twitchcam.store.reader import read_events

    result = twitchcam.process_video(videos["WolfgangLanger_Pexels.mp4"])
    assert len(result.events) > 0
    folder, summary = analyzed_wolfgang  # what `twitchcam analyze` made of the same video
    assert [e.key() for e in read_events(folder)] == [
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


def test_detect_of_a_damaged_session_folder_equals_the_command_line(tmp_path):
    """`twitchcam.detect(folder)` and `twitchcam detect` give the same events and summary, also
    when frames.csv has damaged rows (put back as frames without a face) and lost frames."""
    import json

    from twitchcam.cli.main import main
    from twitchcam.store.reader import read_event_rows

    folder = tmp_path / "s"
    twitchcam.detect(twitchcam.simulate(90, seed=3, sides=("left", "right"))).save(folder)
    lines = (folder / "frames.csv").read_bytes().split(b"\r\n")
    cells = lines[801].split(b",")
    cells[-1] = b"12"  # 12 frames of the source lost just before this one: drop their rows
    lines[801] = b",".join(cells)
    del lines[789:801]
    lines[500] = lines[500][:40]  # a row cut short
    lines[1200] = lines[1200].replace(b"0.", b"0\xff.", 3)  # damaged bytes in numbers
    (folder / "frames.csv").write_bytes(b"\r\n".join(lines))

    assert main(["detect", str(folder), "--out", str(tmp_path / "d"), "--spasm-on", "0.4"]) == 0
    api = twitchcam.detect(folder, spasm_on=0.4)
    cli = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert cli["bad_rows"] == 2 and cli["lost_frames"] == 12 and cli["frames"] == 90 * 30 - 12
    assert json.loads(json.dumps(api.summary)) == cli
    events, bad = read_event_rows(tmp_path / "d" / "events.csv")
    assert bad == 0 and len(events) > 5
    assert [e.key() for e in twitchcam.api.events_from_frame(api.events)] == [e.key() for e in events]
    assert len(api.frames) == cli["frames"] and list(api.frames.columns) == list(FRAME_COLUMNS)
    assert int(api.frames.dropped.sum()) == 12 and api.frames.frame.is_monotonic_increasing


def test_detect_keeps_someone_elses_frames_apart_as_analyze_did(tmp_path):
    """Frames analyze found to be someone else's face (reason other_person, nothing of them kept)
    stay theirs in `twitchcam detect` and the API's detect: counted in other_person_frames."""
    import json

    from twitchcam.cli.main import main
    from twitchcam.core.features import FEATURE_COLUMNS, POSE_COLUMNS

    sim = twitchcam.detect(twitchcam.simulate(60, seed=5))
    frames = sim.frames.copy()
    someone = (frames.t_s >= 30.0) & (frames.t_s < 40.0)
    frames.loc[someone, "reason"] = "other_person"
    frames.loc[someone, "valid"] = 0
    frames.loc[someone, list(POSE_COLUMNS) + [f"raw_{c}" for c in FEATURE_COLUMNS]] = np.nan
    twitchcam.api.Result(frames, sim.events, sim.summary, sim.meta).save(tmp_path / "s")
    assert main(["detect", str(tmp_path / "s"), "--out", str(tmp_path / "d")]) == 0
    cli = json.loads((tmp_path / "d" / "summary.json").read_text())
    api = twitchcam.detect(tmp_path / "s")
    assert cli["other_person_frames"] == api.summary["other_person_frames"] == int(someone.sum()) == 300
    assert set(api.frames.reason[someone]) == {"other_person"} and not api.frames.valid[someone].any()
    assert twitchcam.detect(frames).summary["other_person_frames"] == 300
