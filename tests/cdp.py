"""A real Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON
messages ending in NUL on fds 3 and 4), for tests that must press keys in a real page.  No
package needed beyond Debian's chromium."""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import tempfile
import time

from twitchcam.report.pdf import chromium_args, find_chromium

KEYS = {"y": 89, "n": 78, "s": 83, "u": 85, "j": 74, "k": 75, " ": 32}


def _high(fd: int) -> int:
    """`fd` moved above 100, so bash's '3<&N 4>&M' never overwrites one end with the other."""
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100)
    os.close(fd)
    return high


class Browser:
    def __init__(self, width: int = 1200, height: int = 900):
        chromium = find_chromium()
        if chromium is None:
            raise RuntimeError("no chromium")
        self._profile = tempfile.TemporaryDirectory(prefix="twitchcam-cdp-")
        to_child_r, self._w = (_high(fd) for fd in os.pipe())
        self._r, from_child_w = (_high(fd) for fd in os.pipe())
        # the child reads commands on fd 3 and writes answers on fd 4
        # the report's offline flags, but the review page on 127.0.0.1 may be reached (nothing else)
        args = [a if not a.startswith("--host-resolver-rules=") else a + " , EXCLUDE 127.0.0.1"
                for a in chromium_args(chromium, self._profile.name)]
        args += ["--remote-debugging-pipe", f"--window-size={width},{height}", "about:blank"]

        self.proc = subprocess.Popen(["bash", "-c", f'exec "$@" 3<&{to_child_r} 4>&{from_child_w}', "bash", *args],
                                     pass_fds=(to_child_r, from_child_w), stdout=subprocess.DEVNULL,
                                     start_new_session=True,  # its renderer and helpers: one group to end
                                     stderr=open(os.path.join(self._profile.name, "chromium.log"), "w"))
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._next = 0
        self.session = None

    def call(self, method: str, timeout: float = 30.0, **params) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        try:
            os.write(self._w, json.dumps(msg).encode() + b"\0")
        except BrokenPipeError:
            log = open(os.path.join(self._profile.name, "chromium.log")).read()
            raise RuntimeError("chromium ended: " + "\n".join(ln for ln in log.splitlines() if "dbus" not in ln)[-2000:])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self._buf:
                raw, _, self._buf = self._buf.partition(b"\0")
                reply = json.loads(raw)
                if reply.get("id") == self._next:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            chunk = os.read(self._r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buf += chunk
        raise TimeoutError(method)

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def eval(self, expression: str):
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return res.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(expression)

    def press(self, key: str) -> None:
        code = KEYS[key]
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, text=key if kind == "keyDown" else "",
                      windowsVirtualKeyCode=code, nativeVirtualKeyCode=code)

    def screenshot(self, path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self) -> None:
        try:
            os.close(self._w)
            os.close(self._r)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)  # the pipe closed: Chromium ends by itself
        except subprocess.TimeoutExpired:
            pass
        # Its helper processes may still write into the profile: end the whole group, and remove
        # the profile once the last write of a dying helper is done (a few ms).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        deadline = time.monotonic() + 5
        while True:
            try:
                self._profile.cleanup()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
