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


# -- the numpy design and sosfilt against SciPy, the reference ---------------------------------
import pytest  # noqa: E402

from twitchcam.core import filters as F  # noqa: E402

CUTOFFS = [0.01, 0.1, 8.0 / 15.0, 8.0 / 12.5, 0.9, 0.99]


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("wn", CUTOFFS)
def test_butterworth_design_zi_and_delay_equal_scipy(order, wn):
    from scipy import signal

    sos, ref = F.butter_lowpass_sos(order, wn), signal.butter(order, wn, output="sos")
    assert sos.shape == ref.shape
    np.testing.assert_allclose(sos, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.sosfilt_zi(sos), signal.sosfilt_zi(ref), rtol=1e-12, atol=1e-12)
    b, a = signal.sos2tf(ref)
    delay = signal.group_delay((b, a), w=[0.0])[1][0]
    assert F.dc_group_delay(sos) == pytest.approx(delay, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("order", [1, 2, 4])
def test_sosfilt_equals_scipy(order):
    from scipy import signal

    sos = signal.butter(order, 8.0 / 15.0, output="sos")
    x, _ = _signal(n=1000, k=3, seed=order)
    zi = signal.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
    y, zf = F.sosfilt(sos, x, zi)
    y_ref, zf_ref = signal.sosfilt(sos, x, axis=0, zi=zi)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(zf, zf_ref, rtol=1e-12, atol=1e-12)


def test_feature_filter_output_equals_the_scipy_filter_it_replaces():
    """The whole FeatureFilter (median, hold, low-pass) against the same steps done by SciPy."""
    from scipy import signal

    x, valid = _signal(n=600, k=4, seed=5)
    f = FeatureFilter(4, 30.0)
    out = f.process(x, valid)
    sos = signal.butter(2, 8.0 / 15.0, output="sos")
    b, a = signal.sos2tf(sos)
    assert f.delay_s == pytest.approx((1.0 + signal.group_delay((b, a), w=[0.0])[1][0]) / 30.0, rel=1e-12)
    first = np.flatnonzero(valid)[0]
    held = x.copy()
    for i in range(first + 1, len(x)):  # invalid frames hold the last valid input
        if not valid[i]:
            held[i] = held[i - 1]
    h = np.vstack([held[first], held[first], held[first:]])
    median = np.median(np.stack([h[:-2], h[1:-1], h[2:]]), axis=0)
    zi = signal.sosfilt_zi(sos)[:, :, None] * held[first][None, None, :]
    ref = signal.sosfilt(sos, median, axis=0, zi=zi)[0]
    keep = valid[first:]
    np.testing.assert_allclose(out[first:][keep], ref[keep], rtol=1e-12, atol=1e-12)


def test_starting_a_filter_does_not_import_scipy():
    import subprocess
    import sys

    code = ("import sys; from twitchcam.core.stream import SignalChain; SignalChain(30.0); "
            "print('scipy.signal' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
