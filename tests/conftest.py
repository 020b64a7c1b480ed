"""Shared fixtures: the real landmark model and real face videos (fetched once, verified)."""
from __future__ import annotations

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


# A suite started in the background by a non-interactive shell (`make test &`, nohup) runs with
# SIGINT ignored, and every child process would inherit that: the Ctrl-C tests would then test
# nothing.  A handler here (not SIG_IGN) makes each exec'd child start with the default again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
