"""Keep MediaPipe off the network: its threads may open no socket at all.

mediapipe's wheels (0.10.35 and 1.2.3 checked; 0.10.33 and older have none) link a usage
logger that posts every task's usage statistics to https://play.googleapis.com/log from a
thread of its own (name lookup and TLS connection when the landmarker closes, and
periodically in a long session).
No option, flag or environment variable of mediapipe turns it off: `CreateTasksLogger`
builds the HTTP logger unconditionally.  So we take the network away instead.

`deny_sockets()` installs a seccomp filter on the *calling thread only*: from then on
socket() fails with EACCES in that thread and in every thread it starts - exactly the
threads MediaPipe starts, if the landmarker is created there.  Every family is refused, not
only IPv4/IPv6: a name lookup can also leave through a local resolver's Unix socket (nscd,
systemd-resolved).  The rest of the process keeps the network (a live stream that
reconnects, the model fetch).  No root needed: PR_SET_NO_NEW_PRIVS is all an unprivileged
process needs, and the filter lasts as long as those threads.  Linux (x86-64, aarch64) only.

`python -m twitchcam.netguard PROGRAM ARGS...` runs a program with no IPv4/IPv6 socket at
all (Unix sockets allowed): how the report's headless Chromium is started.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket
import sys

from twitchcam.errors import TwitchcamError

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
X32_SYSCALL_BIT = 0x40000000

# BPF opcodes
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K

# machine -> (AUDIT_ARCH_*, __NR_socket, __NR_io_uring_setup)
_ARCHES = {
    "x86_64": (0xC000003E, 41, 425),
    "amd64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
    "arm64": (0xC00000B7, 198, 425),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def supported() -> bool:
    """Linux on x86-64 or aarch64, with a 64-bit Python (the filter refuses every other ABI)."""
    return (sys.platform.startswith("linux") and platform.machine().lower() in _ARCHES
            and sys.maxsize > 2**32)


def _program(arch: int, nr_socket: int, nr_io_uring_setup: int,
             families: tuple[int, ...] | None) -> list[tuple[int, int, int, int]]:
    """Classic BPF: EACCES for socket() (of `families`, or of any family if None), for
    io_uring_setup (io_uring can open sockets too) and for any non-native system call ABI
    (the 32-bit socketcall(), x32); every other call is allowed."""
    n = len(families) if families is not None else 0
    allow = 8 + n if families is not None else 7  # index of RET ALLOW; RET EACCES follows it
    deny = allow + 1

    def jump(i: int, target: int) -> int:
        return target - (i + 1)

    code = [
        (_LD_W_ABS, 0, 0, 4),                                # 0: A = seccomp_data.arch
        (_JEQ_K, 1, 0, arch),                                # 1: native ABI -> 3
        (_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EACCES),    # 2
        (_LD_W_ABS, 0, 0, 0),                                # 3: A = seccomp_data.nr
        (_JGE_K, jump(4, deny), 0, X32_SYSCALL_BIT),         # 4: x32 call
        (_JEQ_K, jump(5, deny), 0, nr_io_uring_setup),       # 5
    ]
    if families is None:
        code.append((_JEQ_K, jump(6, deny), jump(6, allow), nr_socket))   # 6
    else:
        code.append((_JEQ_K, 0, jump(6, allow), nr_socket))               # 6: socket() -> 7
        code.append((_LD_W_ABS, 0, 0, 16))                                # 7: A = args[0] (family)
        for k, family in enumerate(families):                             # 8 .. 8+n-1
            code.append((_JEQ_K, jump(8 + k, deny), 0, family))
    code.append((_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    code.append((_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EACCES))
    assert len(code) == deny + 1
    return code


def _install(families: tuple[int, ...] | None) -> None:
    if not supported():
        raise TwitchcamError(f"the network guard needs Linux on x86-64 or aarch64, not "
                             f"{sys.platform}/{platform.machine()}")
    arch, nr_socket, nr_io_uring = _ARCHES[platform.machine().lower()]
    code = _program(arch, nr_socket, nr_io_uring, families)
    insns = (_SockFilter * len(code))(*[_SockFilter(*c) for c in code])
    prog = _SockFprog(len(code), insns)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        raise TwitchcamError(f"network guard: prctl(PR_SET_NO_NEW_PRIVS) failed: "
                             f"{errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.cast(ctypes.pointer(prog), ctypes.c_void_p), 0, 0) != 0:
        raise TwitchcamError(f"network guard: the kernel refused the seccomp filter "
                             f"({errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno())})")


def deny_sockets() -> None:
    """From now on, this thread and the threads it starts cannot open a socket of any kind.

    Raises TwitchcamError if the kernel refuses the filter."""
    _install(None)


def deny_inet_sockets() -> None:
    """From now on, this thread and what it starts or execs can open no IPv4/IPv6 socket
    (Unix sockets stay: a browser needs them for its own processes)."""
    _install((socket.AF_INET, socket.AF_INET6))


def main(argv: list[str]) -> int:
    """`python -m twitchcam.netguard PROGRAM ARGS...`: run PROGRAM without IPv4/IPv6 sockets."""
    if not argv:
        print("usage: python -m twitchcam.netguard PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    try:
        deny_inet_sockets()
        os.execvp(argv[0], argv)
    except TwitchcamError as exc:
        print(f"twitchcam: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"twitchcam: cannot run {argv[0]}: {exc.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
