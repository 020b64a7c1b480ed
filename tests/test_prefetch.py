"""The prefetch thread: same items in the same order, errors and Ctrl-C reach the consumer,
and the thread never outlives its consumer."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from twitchcam.video.prefetch import Prefetched

ROOT = Path(__file__).resolve().parent.parent


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("twitchcam-prefetch")}


def test_same_items_in_the_same_order_with_prepare_run_in_the_thread():
    seen = []

    def prepare(x):
        seen.append(threading.current_thread().name)
        return x * 2

    with Prefetched(iter(range(500)), depth=2, prepare=prepare) as items:
        out = list(items)
    assert out == [2 * x for x in range(500)]
    assert set(seen) == {"twitchcam-prefetch"}
    assert not _threads()


def test_an_error_arrives_after_the_items_before_it_with_its_own_type():
    class Broken(Exception):
        pass

    def gen():
        yield from range(5)
        raise Broken("packet 5")

    got = []
    with pytest.raises(Broken, match="packet 5"):
        with Prefetched(gen(), depth=3) as items:
            for x in items:
                got.append(x)
    assert got == list(range(5))
    assert not _threads()


def test_memory_is_bounded_by_the_depth():
    made = []

    def gen():
        for k in range(100):
            made.append(k)
            yield k

    with Prefetched(gen(), depth=2) as items:
        assert next(items) == 0
        time.sleep(0.5)  # the thread runs ahead as far as it may
        assert len(made) <= 1 + 2 + 1  # the one consumed, `depth` queued, one in the thread's hand


def test_stopping_early_closes_the_iterator_in_its_thread_and_ends_the_thread():
    closed = threading.Event()
    closed_in = []

    def gen():
        try:
            k = 0
            while True:
                yield k
                k += 1
        finally:
            closed_in.append(threading.current_thread().name)
            closed.set()

    with Prefetched(gen(), depth=2) as items:
        for x in items:
            if x == 10:
                break
    assert closed.is_set() and closed_in == ["twitchcam-prefetch"]
    assert not _threads()


def test_an_error_in_the_consumer_stops_the_thread():
    def endless():
        while True:
            yield np.zeros(10)

    with pytest.raises(ZeroDivisionError):
        with Prefetched(endless()) as items:
            for _ in items:
                1 / 0
    assert not _threads()


def _script(body: str) -> subprocess.Popen:
    code = textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_ctrl_c_reaches_the_consumer_and_the_process_exits():
    """SIGINT while the consumer waits for a slow producer: KeyboardInterrupt, no hang."""
    import signal

    proc = _script("""
        import time
        from twitchcam.video.prefetch import Prefetched
        def slow():
            k = 0
            while True:
                time.sleep(0.05 if k == 0 else 30)  # the second item never comes in time
                yield k
                k += 1
        try:
            with Prefetched(slow()) as items:
                for x in items:
                    print("got", x, flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            raise SystemExit(130)
    """)
    try:
        assert proc.stdout.readline().strip() == "got 0"
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "interrupted" in out, err
    assert proc.returncode == 130


def test_an_abandoned_prefetch_does_not_keep_the_process_alive():
    proc = _script("""
        from twitchcam.video.prefetch import Prefetched
        def endless():
            while True:
                yield 1
        items = Prefetched(endless())
        print(next(items), flush=True)
    """)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "1"


@pytest.mark.slow
def test_prefetched_frames_are_the_plain_decoders_frames(videos):
    """Same indices, decoder timestamps and pixels as FileSource.frames(), and the RGB made
    in the thread is the one the pipeline would make itself."""
    import cv2

    from twitchcam.video.pipeline import analysis_image
    from twitchcam.video.source import FileSource

    video = videos["WolfgangLanger_Pexels.mp4"]
    plain = [(f.index, f.t_s, f.bgr) for f in FileSource(video).frames()]

    def prepare(frame):
        frame.rgb = analysis_image(frame.bgr, True)
        return frame

    with Prefetched(FileSource(video).frames(), depth=2, prepare=prepare) as frames:
        threaded = list(frames)
    assert [f.index for f in threaded] == [k for k, _, _ in plain]
    assert [f.t_s for f in threaded] == [t for _, t, _ in plain]
    assert all(np.array_equal(f.bgr, bgr) for f, (_, _, bgr) in zip(threaded, plain))
    assert all(np.array_equal(f.rgb, cv2.cvtColor(cv2.flip(f.bgr, 1), cv2.COLOR_BGR2RGB)) for f in threaded)
