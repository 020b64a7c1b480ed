"""Run an iterator a few items ahead in a background thread (a bounded queue between them).

    with Prefetched(source.frames(), depth=2, prepare=to_rgb) as frames:
        for frame in frames:
            ...  # the landmarker works on this frame while the thread decodes the next ones

Decoding (FFmpeg) and colour conversion (OpenCV) release the GIL, and so does MediaPipe's
inference, so the two threads really run at the same time.  Guarantees:

- the items, and their order, are exactly those of the plain iterator (`prepare` runs on
  each in the thread, in order);
- memory is bounded: at most `depth` items wait in the queue, plus one in the thread's hand;
- an exception raised by the iterator (or `prepare`) is raised in the consumer, with its
  traceback, at the point the item would have been consumed; the items before it come first;
- when the consumer stops early (break, an exception, Ctrl-C, `close()`, leaving the `with`),
  the thread stops within one item, closes the iterator in its own thread (so a generator's
  `finally` runs, e.g. releasing the decoder) and is joined: nothing is left running at exit.

Ctrl-C arrives in the main thread only; the consumer's wait is a short-timeout poll, so it
is never stuck in an uninterruptible wait.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")

_END = object()
POLL_S = 0.1


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _produce(it: Iterator, prepare: Callable | None, q: queue.Queue, stop: threading.Event) -> None:
    """The thread: feed q until the iterator ends, fails, or stop is set; then close the iterator."""

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    try:
        for item in it:
            if stop.is_set():
                break
            if not put(prepare(item) if prepare is not None else item):
                break
        else:
            put(_END)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
        put(_Failed(exc))
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing after a failure must not mask it
                pass


class Prefetched(Generic[T]):
    """Iterate `items` up to `depth` items ahead in a thread; see the module docstring."""

    def __init__(self, items: Iterable, depth: int = 2, prepare: Callable[..., T] | None = None,
                 name: str = "twitchcam-prefetch", join_s: float = 10.0):
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._join_s = join_s
        # The thread gets only what it needs, never `self`: dropping the last reference to
        # this object (garbage collection) then still reaches __del__ and stops the thread.
        self._thread = threading.Thread(target=_produce, args=(iter(items), prepare, self._queue, self._stop),
                                        name=name, daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        while True:
            try:
                item = self._queue.get(timeout=POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():  # died without a word
                    self.close()
                    raise StopIteration from None
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Failed):
            self.close()
            raise item.exc
        return item

    def close(self) -> None:
        """Stop the thread (it closes the iterator) and wait for it; idempotent."""
        self._done = True
        self._stop.set()
        if self._thread is threading.current_thread():
            return
        while True:  # empty the queue so a thread blocked on put() sees the stop at once
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(self._join_s)

    def __enter__(self) -> "Prefetched[T]":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._stop.set()
        except AttributeError:  # __init__ failed before the event existed
            pass


def prefetched(items: Iterable, depth: int = 2, prepare: Callable | None = None) -> Prefetched:
    """`Prefetched(items, depth, prepare)`: for use in a `with` block."""
    return Prefetched(items, depth, prepare)
