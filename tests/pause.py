"""Real video files whose frames pause: a recording of variable frame rate that stopped for a
minute, or for ten hours, made from a real face clip without FFmpeg's command line.

OpenCV's FFmpeg writer gives a constant rate; the pause is then written into the container's
own time stamps:
- MP4: the time-to-sample table (`stts`) gives one sample a long duration.  The writer puts
  `moov` after `mdat`, so the grown table moves no chunk offset: only the sizes of the boxes
  around it change (and the durations in mvhd, tkhd, elst and mdhd).
- Matroska: every cluster from the pause on starts that much later (its Timecode, in a
  4-byte field where its CRC-32 was, the rest a Void: no offset moves), and so do the cues
  that point at them; the segment's Duration grows.  Matroska keeps no frame count: FFmpeg
  reports its duration x rate, which the pause inflates.
"""
from __future__ import annotations

import struct
from pathlib import Path

import cv2

from twitchcam.synth.inject import bounce_indices, decode_video


def write_clip(src: Path, dst: Path, seconds: float, fps: float = 30.0) -> int:
    """`src`'s frames played back and forth for `seconds` at `fps`, as MPEG-4 part 2 (mp4v) in
    the container `dst`'s suffix names (.mp4 or .mkv); returns the frame count."""
    frames, _ = decode_video(src)
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(dst), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert out.isOpened(), dst
    n = 0
    for i in bounce_indices(len(frames), int(seconds * fps)):
        out.write(frames[i])
        n += 1
    out.release()
    return n


# -- MP4 -------------------------------------------------------------------------------------------
def _box(buf: bytes, start: int, end: int, path: list[bytes]) -> list[tuple[int, int]]:
    """(offset, size) of each box along `path` (e.g. [b"moov", b"trak", b"mdia"])."""
    p = start
    while p + 8 <= end:
        size, kind = struct.unpack(">I4s", buf[p:p + 8])
        if kind == path[0]:
            return [(p, size)] + (_box(buf, p + 8, p + size, path[1:]) if len(path) > 1 else [])
        p += size
    raise ValueError(f"no {path[0]!r} box")


def mp4_pause(src: Path, dst: Path, after_frame: int, pause_s: float) -> None:
    """`src` (one video track, a constant rate) with `pause_s` more between frame `after_frame`
    and the next."""
    buf = bytearray(Path(src).read_bytes())
    chain = _box(buf, 0, len(buf), [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])
    stts, stts_size = chain[-1]
    (entries,) = struct.unpack(">I", buf[stts + 12:stts + 16])
    assert entries == 1, "a constant frame rate"
    n, delta = struct.unpack(">II", buf[stts + 16:stts + 24])
    mdhd = _box(buf, 0, len(buf), [b"moov", b"trak", b"mdia", b"mdhd"])[-1][0]
    (scale,) = struct.unpack(">I", buf[mdhd + 20:mdhd + 24])
    extra = round(pause_s * scale)
    table = [(after_frame, delta), (1, delta + extra), (n - after_frame - 1, delta)]  # sample k lasts till k+1
    new = struct.pack(">I4sII", 16 + 8 * len(table), b"stts", 0, len(table)) + b"".join(
        struct.pack(">II", *e) for e in table)
    buf[stts:stts + stts_size] = new
    for off, size in chain[:-1]:  # moov trak mdia minf stbl: grown by what stts grew
        struct.pack_into(">I", buf, off, size + len(new) - stts_size)
    mvhd = _box(buf, 0, len(buf), [b"moov", b"mvhd"])[-1][0]
    (movie_scale,) = struct.unpack(">I", buf[mvhd + 20:mvhd + 24])
    tkhd = _box(buf, 0, len(buf), [b"moov", b"trak", b"tkhd"])[-1][0]
    elst = _box(buf, 0, len(buf), [b"moov", b"trak", b"edts", b"elst"])[-1][0]
    for off, at, more in ((mdhd, 24, extra), (mvhd, 24, round(pause_s * movie_scale)),
                          (tkhd, 28, round(pause_s * movie_scale)), (elst, 16, round(pause_s * movie_scale))):
        struct.pack_into(">I", buf, off + at, struct.unpack(">I", buf[off + at:off + at + 4])[0] + more)
    Path(dst).write_bytes(bytes(buf))


# -- Matroska --------------------------------------------------------------------------------------
def _vint(b: bytes, p: int, marker: bool = False) -> tuple[int, int]:
    n = 1
    while not b[p] & (0x80 >> (n - 1)):
        n += 1
    v = b[p] if marker else b[p] & (0xFF >> n)
    for k in range(1, n):
        v = (v << 8) | b[p + k]
    return v, n


def _elements(b: bytes, start: int, end: int):
    """(id, offset, data offset, end) of each element from `start` to `end`."""
    p = start
    while p < end:
        eid, n1 = _vint(b, p, marker=True)
        size, n2 = _vint(b, p + n1)
        yield eid, p, p + n1 + n2, p + n1 + n2 + size
        p += n1 + n2 + size


def _element(eid: bytes, data: bytes) -> bytes:
    k = next(k for k in range(1, 9) if len(data) < (1 << (7 * k)) - 1)
    return eid + ((1 << (7 * k)) | len(data)).to_bytes(k, "big") + data


def mkv_pause(src: Path, dst: Path, at_s: float, pause_s: float) -> float:
    """`src` (as OpenCV's FFmpeg writer makes it) with `pause_s` more before the first cluster
    at or after `at_s`; returns that cluster's time (where the frames pause), in s."""
    b = bytearray(Path(src).read_bytes())
    seg = next(e for e in _elements(b, 0, len(b)) if e[0] == 0x18538067)
    top = list(_elements(b, seg[2], seg[3]))
    extra = round(pause_s * 1000)  # TimecodeScale is 1 ms
    first = None
    for c in (e for e in top if e[0] == 0x1F43B675):  # Cluster: CRC-32, then Timecode
        crc, tc = list(_elements(b, c[2], c[3]))[:2]
        assert crc[0] == 0xBF and tc[0] == 0xE7
        ms = int.from_bytes(b[tc[2]:tc[3]], "big")
        if ms < at_s * 1000:
            continue
        first = ms if first is None else first
        new = _element(b"\xe7", (ms + extra).to_bytes(4, "big"))
        new += _element(b"\xec", bytes(tc[3] - crc[1] - len(new) - 2))
        b[crc[1]:tc[3]] = new
    assert first is not None, "no cluster after at_s"
    info = next(e for e in top if e[0] == 0x1549A966)
    for e in _elements(b, info[2], info[3]):
        if e[0] == 0x4489:  # Duration, a float in ms
            b[e[2]:e[3]] = struct.pack(">d", struct.unpack(">d", b[e[2]:e[3]])[0] + extra)
        elif e[0] == 0xBF:
            b[e[1]] = 0xEC  # the Info's CRC-32 no longer holds: a Void
    cues = next(e for e in top if e[0] == 0x1C53BB6B)
    assert cues[3] == len(b) == seg[3], "the cues end the file"
    points = b""
    for p in (e for e in _elements(b, cues[2], cues[3]) if e[0] == 0xBB):  # CuePoint: CueTime, positions
        t, pos = list(_elements(b, p[2], p[3]))[:2]
        ms = int.from_bytes(b[t[2]:t[3]], "big")
        ms += extra if ms >= first else 0
        points += _element(b"\xbb", _element(b"\xb3", ms.to_bytes((ms.bit_length() + 7) // 8 or 1, "big"))
                           + bytes(b[pos[1]:p[3]]))
    b[cues[1]:] = _element(b"\x1c\x53\xbb\x6b", points)
    width = seg[2] - seg[1] - 4
    b[seg[1] + 4:seg[2]] = ((1 << (7 * width)) | (len(b) - seg[2])).to_bytes(width, "big")
    Path(dst).write_bytes(bytes(b))
    return first / 1000.0


def decoder_steps(path: Path) -> list[float]:
    """The steps (s) between consecutive frames' decoder stamps (CAP_PROP_POS_MSEC)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    stamps = []
    while cap.grab():
        stamps.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    cap.release()
    return [b - a for a, b in zip(stamps, stamps[1:])]
