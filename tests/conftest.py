"""Shared fixtures: the real landmark model and real face videos (fetched once, verified)."""
from __future__ import annotations

import pytest

from twitchcam.synth.videos import real_videos
from twitchcam.video.model import ensure_model


@pytest.fixture(scope="session")
def videos():
    return real_videos()


@pytest.fixture(scope="session")
def model():
    return ensure_model()
