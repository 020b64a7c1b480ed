"""Nothing leaves the machine: `analyze` and `report --pdf` run under strace, and any connect
or send to an IPv4/IPv6 address that is not loopback, or any DNS query at all (port 53, even
to a local stub resolver, which would pass it on), fails the test.

MediaPipe's wheels carry a usage logger that posts to play.googleapis.com when a landmarker
closes; headless Chromium looks up update.googleapis.com and clients2.google.com on its own.
twitchcam.netguard walls both off; these tests are what says it still does.
"""
from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from twitchcam import netguard
from twitchcam.report import pdf as report_pdf

ROOT = Path(__file__).resolve().parent.parent
STRACE = shutil.which("strace")
needs_strace = pytest.mark.skipif(STRACE is None, reason="strace not installed")
needs_seccomp = pytest.mark.skipif(not netguard.supported(), reason="the network guard is Linux-only")

_CALL = re.compile(r"^\d+\s+(connect|sendto|sendmsg|sendmmsg)\(")
_INET4 = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_INET6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')
_RESOLVED = re.compile(r'sun_path="[^"]*io\.systemd\.Resolve"\}, \d+\) = 0')  # nss-resolve's lookups


def network_leaks(trace: str) -> list[str]:
    """strace lines (connect/sendto/sendmsg/sendmmsg) that reach past this machine or ask DNS.

    An attempt counts even if it failed: on another machine it would have gone out."""
    leaks = []
    for line in trace.splitlines():
        if not _CALL.match(line):
            continue
        if _RESOLVED.search(line):
            leaks.append(line)
            continue
        for port, addr in _INET4.findall(line) + _INET6.findall(line):
            ip = ipaddress.ip_address(addr.split("%")[0])
            if getattr(ip, "ipv4_mapped", None):
                ip = ip.ipv4_mapped
            if int(port) == 53 or not ip.is_loopback:
                leaks.append(line)
                break
    return leaks


def traced(trace: Path, *args, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m twitchcam ARGS` with every process and thread traced into `trace`."""
    cmd = [STRACE, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-e", "signal=none",
           "-o", str(trace), sys.executable, "-m", "twitchcam", *map(str, args)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert trace.is_file(), f"strace wrote no trace: {proc.stderr[-500:]}"
    return proc


def test_leak_parser_on_the_lines_mediapipe_and_chromium_produced():
    lines = [
        '6973  connect(5, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0',
        '6973  sendmmsg(5, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="V6\\1\\0", iov_len=37}], '
        'msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=37}], 2, MSG_NOSIGNAL) = 2',
        '16019 connect(25, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH',
        '300   connect(7, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16 <unfinished ...>',
        '301   sendto(8, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("192.0.2.1")}, 16) = 1',
        '302   connect(9, {sa_family=AF_UNIX, sun_path="/run/systemd/resolve/io.systemd.Resolve"}, 110) = 0',
    ]
    harmless = [
        '100   connect(3, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT',
        '101   connect(4, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        '102   connect(5, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
        '103   sendmsg(10, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\\4\\0", iov_len=8}]}, 0) = 8',
        '104   socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = -1 EACCES (Permission denied)',
    ]
    assert network_leaks("\n".join(lines + harmless)) == [lines[0], lines[2], lines[3], lines[4], lines[5]]


@needs_strace
def test_strace_sees_a_connect_to_the_outside(tmp_path):
    """The harness itself: a UDP connect() (which sends no packet) to a documentation address."""
    trace = tmp_path / "strace.txt"
    code = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry: s.connect(('192.0.2.1', 9))\nexcept OSError: pass"
    subprocess.run([STRACE, "-f", "-qq", "-e", "trace=connect", "-o", str(trace), sys.executable, "-c", code],
                   check=True, capture_output=True)
    assert len(network_leaks(trace.read_text())) == 1


@needs_seccomp
def test_guarded_thread_and_its_children_get_no_socket_and_the_caller_keeps_its_own():
    seen = {}

    def guarded():
        netguard.deny_sockets()
        for family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
            try:
                socket.socket(family, socket.SOCK_DGRAM).close()
                seen[family] = "opened"
            except PermissionError:
                seen[family] = "refused"

        def child():
            try:
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
                seen["child"] = "opened"
            except PermissionError:
                seen["child"] = "refused"

        t = threading.Thread(target=child)
        t.start()
        t.join()

    t = threading.Thread(target=guarded)
    t.start()
    t.join()
    assert seen == {socket.AF_INET: "refused", socket.AF_INET6: "refused", socket.AF_UNIX: "refused",
                    "child": "refused"}
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()  # this thread is untouched


def _seccomp_by_thread() -> dict[int, int]:
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(task.name)] = int(re.search(r"^Seccomp:\s+(\d+)", status, re.M).group(1))
    return out


@needs_seccomp
@pytest.mark.slow
def test_every_thread_mediapipe_starts_is_walled_off(model):
    from twitchcam.video.landmarks import Landmarker

    before = set(_seccomp_by_thread())
    with Landmarker(model) as landmarker:
        landmarker.detect(np.zeros((240, 320, 3), np.uint8), 0.0)  # threads started on first use too
        during = _seccomp_by_thread()
    started = {tid: mode for tid, mode in during.items() if tid not in before}
    assert started, "MediaPipe started no thread?"
    assert set(started.values()) == {2}, f"threads without the filter: {started}"  # 2 = SECCOMP_MODE_FILTER
    assert during[threading.get_native_id()] == 0  # the caller keeps the network


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory, videos, model):
    folder = tmp_path_factory.mktemp("privacy")
    trace = folder / "analyze.strace"
    proc = traced(trace, "analyze", videos["single_face.mp4"], "--out", folder / "session", "--model", model)
    return proc, trace, folder / "session"


@needs_strace
@pytest.mark.slow
def test_analyze_opens_no_connection_and_asks_no_dns(analyzed):
    proc, trace, session = analyzed
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (session / "summary.json").is_file()
    assert network_leaks(trace.read_text()) == []


@needs_strace
@pytest.mark.slow
@pytest.mark.skipif(report_pdf.find_chromium() is None, reason="chromium not installed")
def test_report_pdf_opens_no_connection_and_asks_no_dns(analyzed, tmp_path):
    _, _, session = analyzed
    trace = tmp_path / "report.strace"
    proc = traced(trace, "report", session, "--out", tmp_path / "report.html", "--pdf")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert network_leaks(trace.read_text()) == []


@needs_strace
def test_the_review_page_opens_no_connection_beyond_loopback(tmp_path):
    """`twitchcam review` under strace while a client loads the page, its events and a strip,
    and saves a decision: only loopback."""
    import json
    import signal
    import urllib.request

    import twitchcam

    session = tmp_path / "s"
    twitchcam.detect(twitchcam.simulate(60, seed=2, sides=("left", "right"))).save(session)
    trace = tmp_path / "review.strace"
    cmd = [STRACE, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-e", "signal=none",
           "-o", str(trace), sys.executable, "-m", "twitchcam", "review", str(session), "--no-browser"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        url = proc.stdout.readline().split()[-1]
        base, token = url.split("?")
        assert urllib.request.urlopen(url, timeout=30).status == 200
        items = json.loads(urllib.request.urlopen(f"{base}api/items?{token}", timeout=30).read())
        req = urllib.request.Request(f"{base}api/decide?{token}", json.dumps(
            {"session": 0, "id": items[0]["id"], "decision": "confirmed"}).encode(), {"Content-Type": "application/json"})
        assert urllib.request.urlopen(req, timeout=30).status == 200
    finally:
        import os

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the page closes
        proc.wait(timeout=30)
    text = trace.read_text()
    assert network_leaks(text) == [], network_leaks(text)[:3]
    assert "confirmed" in (session / "review.csv").read_text()
