"""One recordings location for every command: --recordings > $TWITCHCAM_RECORDINGS > default."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from twitchcam.cli.main import main
from twitchcam.store.paths import PROJECT_ROOT, recordings_dir, session_path


@pytest.fixture
def env_rec(tmp_path, monkeypatch) -> Path:
    rec = tmp_path / "env-recordings"
    monkeypatch.setenv("TWITCHCAM_RECORDINGS", str(rec))
    return rec


def sessions_in(root: Path) -> list[str]:
    return sorted(p.parent.name for p in root.glob("*/session.json"))


def test_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("TWITCHCAM_RECORDINGS", raising=False)
    assert recordings_dir() == PROJECT_ROOT / "recordings"
    monkeypatch.setenv("TWITCHCAM_RECORDINGS", str(tmp_path / "env"))
    assert recordings_dir() == tmp_path / "env"
    assert recordings_dir(tmp_path / "arg") == tmp_path / "arg"


def test_session_names_resolve_under_the_recordings_folder(tmp_path, env_rec):
    (env_rec / "clip").mkdir(parents=True)
    assert session_path("clip") == env_rec / "clip"
    assert session_path(str(tmp_path)) == tmp_path  # an existing path stays as given
    assert session_path("clip", tmp_path / "other") == Path("clip")  # not there: as given, to fail clearly


@pytest.mark.slow
def test_analyze_detect_sessions_report_and_treatment_share_the_folder(env_rec, videos, model, tmp_path, capsys):
    assert main(["analyze", str(videos["single_face.mp4"])]) == 0
    assert sessions_in(env_rec) == ["single_face"]
    assert main(["detect", "single_face"]) == 0  # found by name in $TWITCHCAM_RECORDINGS
    assert (env_rec / "single_face" / "detect" / "summary.json").is_file()
    capsys.readouterr()
    assert main(["sessions"]) == 0
    assert "single_face" in capsys.readouterr().out
    assert main(["treatment", "add", "2024-05-10", "--side", "left"]) == 0
    assert (env_rec / "treatments.csv").is_file()
    out = tmp_path / "r.html"
    assert main(["report", "--out", str(out)]) == 0  # no session named: every session of the folder
    assert "single_face" in out.read_text()
    other = tmp_path / "arg-recordings"
    assert main(["analyze", str(videos["single_face.mp4"]), "--recordings", str(other)]) == 0
    assert sessions_in(other) == ["single_face"]  # the argument beats the variable


@pytest.mark.slow
def test_live_writes_into_the_recordings_folder(env_rec, videos, model):
    assert main(["live", "--source", str(videos["single_face.mp4"]), "--no-display", "--duration", "1"]) == 0
    [name] = sessions_in(env_rec)
    assert json.loads((env_rec / name / "session.json").read_text())["mode"] == "live"


@pytest.mark.slow
def test_demo_analyses_a_sample_with_known_spasms_into_the_recordings_folder(env_rec, model, capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert sessions_in(env_rec) == ["demo"]
    assert "injected" in out and "found" in out
    summary = json.loads((env_rec / "demo" / "summary.json").read_text())
    assert summary["spasms"]["left"]["count"] > 0 and summary["affected_side"] == "left"
