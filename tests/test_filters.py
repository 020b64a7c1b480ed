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


# -- SciPy's filter, and the same numbers frame by frame as over a whole recording -------------
import pytest  # noqa: E402
from scipy import signal  # noqa: E402

from twitchcam.core.features import FEATURE_COLUMNS, FrameFeatures  # noqa: E402
from twitchcam.core.filters import FilterParams  # noqa: E402
from twitchcam.core.simulate import simulate  # noqa: E402
from twitchcam.core.stream import PipelineParams, SignalChain, detect_features  # noqa: E402


def test_feature_filter_is_the_median_then_scipys_butterworth_exactly():
    """The whole FeatureFilter (hold, median, low-pass) against the same steps written out
    with SciPy and numpy's median: equal bit for bit."""
    x, valid = _signal(n=600, k=4, seed=5)
    f = FeatureFilter(4, 30.0)
    out = f.process(x, valid)
    first = np.flatnonzero(valid)[0]
    held = x.copy()
    for i in range(first + 1, len(x)):  # invalid frames hold the last valid input
        if not valid[i]:
            held[i] = held[i - 1]
    h = np.vstack([held[first], held[first], held[first:]])
    median = np.median(np.stack([h[:-2], h[1:-1], h[2:]]), axis=0)
    sos = signal.butter(2, 8.0 / 15.0, output="sos")
    zi = signal.sosfilt_zi(sos)[:, :, None] * held[first][None, None, :]
    ref = signal.sosfilt(sos, median, axis=0, zi=zi)[0]
    keep = valid[first:]
    assert np.array_equal(out[first:][keep], ref[keep])


@pytest.mark.parametrize("fps", [30.0, 29.97, 25.0, 60.0])
def test_delay_is_the_median_frame_plus_scipys_group_delay(fps):
    sos = signal.butter(2, 8.0 / (fps / 2.0), output="sos")
    delay = signal.group_delay(signal.sos2tf(sos), w=[0.0])[1][0]
    assert FeatureFilter(1, fps).delay_s == (1.0 + delay) / fps


@pytest.mark.parametrize("fps", [15.0, 12.0])
def test_no_lowpass_at_or_above_nyquist_only_the_median(fps):
    x, valid = _signal(n=50, k=2, seed=1)
    f = FeatureFilter(2, fps)
    assert f.delay_s == 1.0 / fps
    out = f.process(x, valid)
    assert np.isfinite(out[valid]).all()


def test_an_empty_block_after_the_start_changes_nothing():
    x, valid = _signal(n=100, k=3, seed=2)
    whole = FeatureFilter(3, 30.0).process(x, valid)
    f = FeatureFilter(3, 30.0)
    parts = [f.process(x[:40], valid[:40]), f.process(x[:0], valid[:0]), f.process(x[40:], valid[40:])]
    assert parts[1].shape == (0, 3)
    assert np.array_equal(np.vstack(parts), whole, equal_nan=True)


def _jittery(sim, seed):
    """A simulated recording with landmark jitter on the smoothed features and stretches where
    the head turns away (invalid by pose) besides the face dropouts."""
    rng = np.random.default_rng(seed)
    raw, pose = sim.features(), sim.pose()
    n = sim.t.size
    for name, level in (("brow", 0.6), ("mouth", -1.4), ("cheek", -1.0), ("squint", 0.2)):
        for side in ("left", "right"):
            raw[:, FEATURE_COLUMNS.index(f"{name}_{side}")] = level + rng.normal(0, 0.01, n)
    pose[:, 0] = 12.0 * np.sin(sim.t / 2.0)  # a head that keeps turning: the detector's turn rule uses yaw
    for start in rng.integers(0, n - 60, 6):
        pose[start:start + rng.integers(1, 60), 0] = 50.0  # beyond the hard yaw limit
    raw[~sim.valid] = np.nan
    return raw, pose


def _frame_by_frame(chain, sim, raw, pose, frames):
    results = [chain.process(i, float(sim.t[i]), FrameFeatures(bool(np.isfinite(pose[i, 0])), tuple(pose[i]), raw[i]))
               for i in frames]
    return ([e for r in results for e in r.events], np.array([r.valid for r in results], dtype=bool),
            np.array([r.filt for r in results]).reshape(-1, raw.shape[1]),
            np.array([r.closure for r in results]).reshape(-1, 2))


EYES_SMOOTHED = PipelineParams(eye_filters=FilterParams())  # the eyes delayed too: yaw is delayed with them


@pytest.mark.parametrize("seed,fps,params", [(0, 30.0, PipelineParams()), (1, 29.97, PipelineParams()),
                                             (2, 25.0, EYES_SMOOTHED)])
def test_chain_frame_by_frame_equals_the_block_bit_for_bit(seed, fps, params):
    """live/analyze (SignalChain.process per frame) against detect (SignalChain.run over the
    block, one sosfilt call): the same validity, filtered values, closures and events, exactly;
    also when a chain that ran frame by frame is handed the rest as a block."""
    sim = simulate(150, fps, seed, sides=("left", "right"), dropouts=3, lead_share=0.3)
    raw, pose = _jittery(sim, seed)
    n, t_end = sim.t.size, float(sim.t[-1]) + 1.0 / fps
    block = detect_features(sim.t, pose, raw, fps, params)
    chain = SignalChain(fps, params)
    events, valid, filt, closure = _frame_by_frame(chain, sim, raw, pose, range(n))
    events += chain.finish(t_end)
    assert (~block.valid).sum() > 100 and len(block.events) > 10
    assert np.array_equal(valid, block.valid)
    assert np.array_equal(filt, block.filt, equal_nan=True)
    assert np.array_equal(closure, block.closure, equal_nan=True)
    assert [e.key() for e in events] == [e.key() for e in block.events]

    chain = SignalChain(fps, params)
    head, _, head_filt, head_closure = _frame_by_frame(chain, sim, raw, pose, range(n // 3))
    rest = chain.run(sim.t[n // 3:], pose[n // 3:], raw[n // 3:], t_end)
    assert np.array_equal(np.vstack([head_filt, rest.filt]), block.filt, equal_nan=True)
    assert np.array_equal(np.vstack([head_closure, rest.closure]), block.closure, equal_nan=True)
    assert [e.key() for e in head + rest.events] == [e.key() for e in block.events]


def test_results_of_a_block_equal_frame_by_frame_results():
    """The chunked analysis replays its joined features with SignalChain.results: every field of
    every frame's result as SignalChain.process gives it."""
    sim = simulate(100, 30.0, 4, sides=("left", "right"), dropouts=2, lead_share=0.3)
    raw, pose = _jittery(sim, 4)
    index = np.arange(sim.t.size) * 2 + 7
    one, block = SignalChain(30.0), SignalChain(30.0)
    expected = [one.process(int(index[i]), float(sim.t[i]),
                            FrameFeatures(bool(np.isfinite(pose[i, 0])), tuple(pose[i]), raw[i]))
                for i in range(sim.t.size)]
    got = list(block.results(index, sim.t, pose, raw))
    assert sum(len(r.events) for r in got) > 5 and any(r.started for r in got)
    for a, b in zip(got, expected, strict=True):
        assert (a.index, a.t_s, a.valid, a.reason, a.calibrating, a.started, a.points) == \
            (b.index, b.t_s, b.valid, b.reason, b.calibrating, b.started, b.points)
        assert type(a.pose) is type(b.pose) and type(a.pose[0]) is type(b.pose[0])
        for x, y in ((a.pose, b.pose), (a.closure, b.closure), (a.raw, b.raw), (a.filt, b.filt)):
            assert np.array_equal(x, y, equal_nan=True)
        assert [e.key() for e in a.events] == [e.key() for e in b.events]
    t_end = float(sim.t[-1]) + 1 / 30.0
    assert [e.key() for e in block.finish(t_end)] == [e.key() for e in one.finish(t_end)]


@pytest.mark.parametrize("params", [PipelineParams(), EYES_SMOOTHED])
def test_the_yaw_of_a_block_is_delayed_like_frame_by_frame(params):
    yaws = np.random.default_rng(0).normal(0, 10, 40).tolist()
    one, block = SignalChain(30.0, params), SignalChain(30.0, params)
    assert block._yaws.maxlen == (1 if params is not EYES_SMOOTHED else 3)
    expected = [one._yaw(y) for y in yaws]
    got = [block._yaw(y) for y in yaws[:1]] + block._yaw_block(yaws[1:2]) + block._yaw_block(yaws[2:2]) + \
        block._yaw_block(yaws[2:30]) + [block._yaw(y) for y in yaws[30:35]] + block._yaw_block(yaws[35:])
    assert np.array_equal(got, expected, equal_nan=True)


def test_importing_the_chain_leaves_scipy_signal_unloaded():
    """Importing scipy.signal takes about a second: only a process that filters pays it."""
    import subprocess
    import sys

    code = ("import sys; import twitchcam.core.stream; "
            "print('scipy.signal' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_preloading_imports_scipy_signal_in_a_thread_once(monkeypatch):
    import sys
    import threading

    from twitchcam.core import filters

    assert filters.preload_scipy() is None  # imported already (this module did)
    monkeypatch.delitem(sys.modules, "scipy.signal")
    seen = []
    monkeypatch.setattr(filters, "scipy_signal", lambda: seen.append(threading.current_thread().name))
    thread = filters.preload_scipy()
    thread.join()
    assert thread.daemon and seen == ["twitchcam-scipy"]

    def broken():
        raise ImportError("no scipy")

    monkeypatch.setattr(filters, "scipy_signal", broken)
    filters.preload_scipy().join()  # says nothing: the filter's own import reports it


class _Stop(Exception):
    pass


def test_live_and_analyze_start_importing_scipy_before_the_model_loads(monkeypatch, tmp_path):
    """SciPy's import (about a second) overlaps the model load and the source's opening
    instead of adding to the time before the first analysed frame."""
    import cv2

    import twitchcam.run.analyze as analyze
    import twitchcam.video.model as model
    from twitchcam.core import filters
    from twitchcam.live.loop import LiveOptions, run_live

    calls = []
    monkeypatch.setattr(filters, "preload_scipy", lambda: calls.append("scipy"))
    monkeypatch.setattr(analyze, "preload_scipy", lambda: calls.append("scipy"))

    def load(*_):
        calls.append("model")
        raise _Stop

    monkeypatch.setattr(model, "ensure_model", load)
    with pytest.raises(_Stop):
        run_live(LiveOptions(source=str(tmp_path / "none.mp4"), out=tmp_path / "live"))
    assert calls == ["scipy", "model"]

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    calls.clear()
    monkeypatch.setattr(analyze, "Landmarker", load)
    with pytest.raises(_Stop):
        analyze.analyze_file(video, tmp_path / "session", tmp_path / "model.task", show_progress=False)
    assert calls == ["scipy", "model"]
