"""Shared fixtures: the real landmark model and real face videos (fetched once, verified)."""
from __future__ import annotations

import os
import signal

import pytest

from twitchcam.synth.videos import real_videos
from twitchcam.video.model import ensure_model


@pytest.fixture(scope="session")
def videos():
    return real_videos()


@pytest.fixture(scope="session")
def model():
    return ensure_model()


# Real clips analysed once for every test file that needs the same analysis.  They are shared:
# read them, or copy them before changing anything (the clip's arrays are read-only).
@pytest.fixture(scope="session")
def single_face_clip(videos, model):
    """single_face.mp4 with its landmarks (SourceClip.load: MediaPipe over every frame), the
    source that spasms are injected into."""
    from twitchcam.synth.inject import SourceClip

    clip = SourceClip.load(videos["single_face.mp4"], model)
    for array in (clip.frames, clip.landmarks, clip.eye_open, clip.valid):
        array.flags.writeable = False
    return clip


@pytest.fixture(scope="session")
def analyzed_wolfgang(tmp_path_factory, videos, model):
    """WolfgangLanger_Pexels.mp4 through `analyze` (default parameters): (session folder, summary)."""
    from twitchcam.run.analyze import analyze_file

    folder = tmp_path_factory.mktemp("analyzed") / "wolfgang"
    return folder, analyze_file(videos["WolfgangLanger_Pexels.mp4"], folder, model, show_progress=False)


@pytest.fixture(scope="session")
def recorded_sessions(tmp_path_factory):
    """A recordings folder holding one session per real-clip recording of tests/data/real/
    (tests/replay.py), built from the stored features without MediaPipe: name -> folder.
    Shared by every test: read them, or copy one before changing it."""
    from tests import replay

    root = tmp_path_factory.mktemp("recorded") / "recordings"
    return {name: replay.save_session(replay.load(name), root / name) for name in replay.NAMES}


# A suite started in the background by a non-interactive shell (`make test &`, nohup) runs with
# SIGINT ignored, and every child process would inherit that: the Ctrl-C tests would then test
# nothing.  A handler here (not SIG_IGN) makes each exec'd child start with the default again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# Tiers: `make test-fast` runs what needs neither MediaPipe nor a real video (pure core, store,
# report, CLI errors, API on stored signals), `make test` everything.  A test is slow when it
# uses the real videos or the model, or lives in a module that drives real video throughout.
SLOW_FIXTURES = {"videos", "model"}
SLOW_MODULES = {"test_live", "test_privacy", "test_batch", "test_prefetch", "test_landmarks",
                "test_analyze", "test_damaged_input", "test_synth_dataset", "test_spasm_injection",
                "test_recordings", "test_report_privacy"}
SLOW_WORDS = ("chromium", "browser", "pdf")  # tests that start a real browser


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or any(w in item.name for w in SLOW_WORDS)
                or item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES):
            item.add_marker(pytest.mark.slow)


# The fuzz test's count: $TWITCHCAM_FUZZ_CASES seeded cases per family (tests/test_fuzz.py); by
# default 200 (what CI runs, .ci/run), or FAST_FUZZ_CASES when the slow tests are left out.
# $TWITCHCAM_FUZZ_SEEDS=3,17 runs just those seeds (a failure names its seed).
FULL_FUZZ_CASES = 200
FAST_FUZZ_CASES = 16  # every kind of stored-file and option damage once (tests/fuzz_stored.KINDS)


@pytest.fixture(scope="session")
def fuzz_seeds(request) -> list[int]:
    if os.environ.get("TWITCHCAM_FUZZ_SEEDS"):
        return [int(s) for s in os.environ["TWITCHCAM_FUZZ_SEEDS"].split(",")]
    fast = "not slow" in (request.config.getoption("markexpr") or "")
    return list(range(int(os.environ.get("TWITCHCAM_FUZZ_CASES") or (FAST_FUZZ_CASES if fast else FULL_FUZZ_CASES))))
