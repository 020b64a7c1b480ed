import numpy as np

from twitchcam.core.filters import FeatureFilter


def _signal(n=400, k=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k)).cumsum(axis=0)
    valid = rng.random(n) > 0.1
    valid[:3] = False
    return x, valid


def test_frame_by_frame_equals_whole_recording_bit_for_bit():
    x, valid = _signal()
    whole = FeatureFilter(4, 30.0).process(x, valid)
    f = FeatureFilter(4, 30.0)
    stepwise = np.vstack([f.process(x[i:i + 1], valid[i:i + 1]) for i in range(len(x))])
    assert np.array_equal(whole, stepwise, equal_nan=True)


def test_invalid_frames_are_nan_and_do_not_poison_the_state():
    x, valid = _signal()
    out = FeatureFilter(4, 30.0).process(x, valid)
    assert np.isnan(out[~valid]).all()
    assert np.isfinite(out[valid]).all()


def test_single_frame_glitch_is_removed_and_steps_pass():
    x = np.zeros((60, 1))
    x[20] = 5.0  # one-frame landmark glitch
    x[40:] = 1.0  # a real step
    out = FeatureFilter(1, 30.0).process(x, np.ones(60, bool))[:, 0]
    assert np.abs(out[15:38]).max() < 1e-9
    assert abs(out[-1] - 1.0) < 1e-3


def test_causal_output_does_not_depend_on_the_future():
    x, valid = _signal()
    a = FeatureFilter(4, 30.0).process(x, valid)
    y = x.copy()
    y[200:] += 100.0
    b = FeatureFilter(4, 30.0).process(y, valid)
    assert np.array_equal(a[:200], b[:200], equal_nan=True)
