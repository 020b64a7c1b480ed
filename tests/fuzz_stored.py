"""Seeded damage to stored session files and to option values (issue 17), for tests/test_fuzz.py.

A case is one seed.  It copies a recordings folder of two finished sessions ("intact" and
"victim", from the real-clip recordings of tests/data/real/), damages one file of the victim,
or gives a command a strange option value, then runs `sessions`, `detect` and `report` on it
in-process through the CLI's main() (tests/fuzz_worker.py captures what reaches fd 2).  It
returns what each command did and whether any file of a finished session changed; the test
decides what is right.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np

JSON_FILES = ("session.json", "summary.json")
CSV_FILES = ("frames.csv", "events.csv", "markers.csv", "review.csv")
JSON_KINDS = ("type", "nesting", "huge number", "nan", "huge size", "broken text", "key removed")
CSV_KINDS = ("huge first row", "huge field", "truncated", "random bytes", "rows repeated", "open quote")
# (family, kind): the seed picks one in turn, so every kind is met in any run of len(KINDS) seeds.
KINDS = ([("json", k) for k in JSON_KINDS] + [("csv", k) for k in CSV_KINDS] + [("option", "detect"),
         ("option", "analyze"), ("option", "report")])
# Numeric options of the commands; `analyze` also takes the detector's.
DETECTOR_OPTIONS = ("--merge-gap-s", "--spasm-on", "--blink-on", "--open-quantile", "--baseline-window-s",
                    "--tonic-s", "--off-ratio", "--min-event-s", "--blink-max-s", "--mouth-lag-s")
ANALYZE_OPTIONS = ("--jobs", "--shard")
VALUES = ("nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-1", "0", "-0", "1e308", "1e999", "-1e999", "1e-320",
          "1e12", "abc", "", " ", "0x10", "1_000", "\u0663", "1e", "--", "1/0", "0/0", "-1/3", "3/2", "99999999999999999999")
MARK = "\u0000MARK\u0000"  # where a value json.dumps cannot write (deep nesting) is spliced in


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _replace(doc, path, new):
    if not path:
        return new
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = new
    return doc


def _remove(doc, path):
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    del parent[path[-1]]
    return doc


def damage_json(text: str, rng: np.random.Generator, kind: str) -> tuple[bytes, str]:
    """A damaged session.json or summary.json, and what was done."""
    doc = json.loads(text)
    paths = list(_paths(doc))
    path = _pick(rng, paths[1:]) if len(paths) > 1 else ()
    where = "/".join(map(str, path)) or "the root"
    if kind == "type":
        new = _pick(rng, ([], {}, "x", 1, 1.5, True, None, "nan", [1, 2], {"a": 1}, -7))
        return json.dumps(_replace(doc, path, new)).encode(), f"{where} = {new!r}"
    if kind == "nesting":
        depth = int(_pick(rng, (64, 1000, 100_000)))
        open_, close = _pick(rng, (("[", "]"), ('{"a":', "}")))
        nested = open_ * depth + "0" + close * depth
        out = json.dumps(_replace(doc, path, MARK)).replace(json.dumps(MARK), nested)
        return out.encode(), f"{where} nested {depth} deep"
    if kind == "huge number":
        new = _pick(rng, (1e300, -1e300, 1.7976931348623157e308, 10 ** 400, -10 ** 400, 2 ** 63, -2 ** 63 - 1, 5e-324,
                          MARK))
        if new == MARK:  # more digits than Python's int() takes (4300)
            out = json.dumps(_replace(doc, path, MARK)).replace(json.dumps(MARK), "9" * 5000)
            return out.encode(), f"{where} = an integer of 5000 digits"
        return json.dumps(_replace(doc, path, new)).encode(), f"{where} = {new!r:.40}"
    if kind == "nan":
        new = _pick(rng, (math.nan, math.inf, -math.inf))
        return json.dumps(_replace(doc, path, new)).encode(), f"{where} = {new!r}"
    if kind == "huge size":
        size = int(_pick(rng, (1 << 20, 5 << 20)))
        shape = _pick(rng, ("string", "list", "spaces"))
        if shape == "spaces":  # valid JSON, just large
            return (json.dumps(doc) + " " * size).encode(), f"padded to {size} bytes"
        new = "x" * size if shape == "string" else [0] * (size // 3)
        return json.dumps(_replace(doc, path, new)).encode(), f"{where} = a {shape} of {size} bytes"
    if kind == "broken text":
        data = text.encode()
        how = _pick(rng, ("cut", "bytes", "empty", "not an object", "not utf-8"))
        if how == "cut":
            at = int(rng.integers(0, len(data)))
            return data[:at], f"cut at byte {at}"
        if how == "bytes":
            at = int(rng.integers(0, len(data)))
            return data[:at] + rng.bytes(int(rng.integers(1, 64))) + data[at:], f"random bytes at {at}"
        if how == "empty":
            return b"", "empty"
        if how == "not an object":
            new = _pick(rng, ("[]", "null", "1", '"text"', "true"))
            return new.encode(), f"the whole file is {new}"
        return data.replace(b'"', b'"\xff\xfe', 3), "bytes that are not UTF-8"
    if kind == "key removed":
        if not path:
            return b"{}", "every key removed"
        return json.dumps(_remove(doc, path)).encode(), f"{where} removed"
    raise ValueError(kind)


def damage_csv(data: bytes, rng: np.random.Generator, kind: str) -> tuple[bytes, str]:
    """A damaged frames.csv or events.csv, and what was done."""
    lines = data.split(b"\n")
    if kind == "huge first row":
        size = int(_pick(rng, (70_000, 1 << 20, 8 << 20)))
        if rng.random() < 0.5:
            lines[0] = lines[0] + b",x" * (size // 2)
            return b"\n".join(lines), f"header with {size // 2} more columns"
        lines[0] = b"a" * size
        return b"\n".join(lines), f"header of one {size}-byte cell"
    if kind == "huge field":
        size = int(_pick(rng, (100_000, 1 << 20, 8 << 20)))
        row = int(rng.integers(1, max(2, len(lines) - 1)))
        cells = lines[row].split(b",")
        col = int(rng.integers(len(cells)))
        cells[col] = _pick(rng, (b"1", b"x", b"9.", b" ")) * size
        lines[row] = b",".join(cells)
        return b"\n".join(lines), f"row {row} cell {col}: {size} bytes"
    if kind == "truncated":
        at = int(rng.integers(0, len(data) + 1))
        return data[:at], f"cut at byte {at} of {len(data)}"
    if kind == "random bytes":
        at = int(rng.integers(0, len(data)))
        n = int(_pick(rng, (1, 16, 4096)))
        if rng.random() < 0.5:
            return data[:at] + rng.bytes(n) + data[at + n:], f"{n} random bytes over byte {at}"
        return data[:at] + rng.bytes(n) + data[at:], f"{n} random bytes inserted at byte {at}"
    if kind == "rows repeated":
        times = int(_pick(rng, (2, 20, 200)))
        body = [ln for ln in lines[1:] if ln] or [b""]
        if rng.random() < 0.5:  # the whole table again and again: time runs backwards at each seam
            return b"\n".join([lines[0]] + body * times) + b"\n", f"rows repeated {times} times"
        k = int(rng.integers(len(body))) if body else 0
        return b"\n".join([lines[0]] + body[:k] + body[k:k + 1] * times * 50 + body[k:]) + b"\n", \
            f"row {k + 1} repeated {times * 50} times"
    if kind == "open quote":
        row = int(rng.integers(0, len(lines)))
        lines[row] = b'"' + lines[row]
        return b"\n".join(lines), f"an unclosed quote at the start of row {row}"
    raise ValueError(kind)


def fingerprint(root: Path) -> dict[str, str]:
    """SHA-256 of every file of every session under root, except what `detect` writes (SESSION/detect)
    and the session index (a cache)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_dir() or rel.parts[0].startswith("sessions.sqlite") or rel.parts[1:2] == ("detect",):
            continue
        out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_case(seed: int, out: Path, template: Path, model: Path, run) -> dict:
    """One seeded case; `run(argv) -> (exit code, stderr, stdout)`.  The template recordings folder holds
    finished sessions "intact" and "victim"; `model` is given to `analyze` (see `model_for_analyze`)."""
    rng = np.random.default_rng([17, seed])
    family, kind = KINDS[seed % len(KINDS)]
    rec = out / f"c{seed:04d}" / "rec"
    shutil.copytree(template, rec)
    victim, intact = rec / "victim", rec / "intact"
    argvs = [["sessions", "--recordings", str(rec)], ["detect", str(victim)],
             ["report", str(victim), "--out", str(rec.parent / "victim.html")],
             ["report", str(rec), "--out", str(rec.parent / "all.html"), "--detail", "none"]]
    if family == "json":
        name = _pick(rng, JSON_FILES)
        data, what = damage_json((victim / name).read_text(), rng, kind)
        (victim / name).write_bytes(data)
    elif family == "csv":
        name = _pick(rng, CSV_FILES)
        data, what = damage_csv((victim / name).read_bytes(), rng, kind)
        (victim / name).write_bytes(data)
    else:
        name = ""
        value = _pick(rng, VALUES) if rng.random() < 0.8 else repr(float(rng.normal(0, 10) ** 3))
        if kind == "detect":
            option = _pick(rng, DETECTOR_OPTIONS)
            argvs = [["detect", str(victim), option, value], ["sessions", "--recordings", str(rec)]]
        elif kind == "analyze":
            option = _pick(rng, DETECTOR_OPTIONS + ANALYZE_OPTIONS)
            not_video = rec.parent / "clip.mp4"
            not_video.write_bytes(rng.bytes(1000))
            argvs = [["analyze", str(not_video), "--out", str(rec / "new"), "--model", str(model), option, value],
                     ["analyze", str(not_video), "--out", str(intact), "--model", str(model), option, value],
                     ["sessions", "--recordings", str(rec)]]
        else:
            option = "--detail"
            argvs = [["report", str(rec), "--out", str(rec.parent / "all.html"), option, value],
                     ["sessions", "--recordings", str(rec)]]
        what = f"{option} {value!r}"
    before = fingerprint(rec)  # the damaged file as damaged: nothing may change it further either
    runs = []
    for argv in argvs:
        code, err, out_text = run(argv)
        if len(err) > 6000:  # both ends of it are enough to judge (and to read)
            err = f"{err[:3000]}\n[{len(err) - 6000} characters left out]\n{err[-3000:]}"
        listed = sorted({ln.split()[-1] for ln in out_text.splitlines() if ln.split()} & {"intact", "victim"})
        runs.append({"argv": [a.replace(str(rec), "REC") for a in argv][:6], "code": code, "stderr": err,
                     "listed": listed})
    after = fingerprint(rec)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    result = {"seed": seed, "family": family, "kind": kind, "file": name, "what": what[:200], "runs": runs,
              "changed": changed, "new_session": (rec / "new").exists(),
              "all_html_names": _names_in(rec.parent / "all.html")}
    shutil.rmtree(rec.parent)  # up to 8 MB a case; the seed makes it again
    return result


def _names_in(html: Path) -> list[str]:
    if not html.is_file():
        return []
    text = html.read_text(errors="replace")
    return sorted({n for n in ("intact", "victim") if re.search(rf'"name": "{n}"', text)})


def model_for_analyze(out: Path) -> Path:
    """The landmark model where there is one, so that `analyze` goes on to check its options and
    its input; else a file that is not the model (one line, and never a download in a test)."""
    from twitchcam.video.model import status

    st = status(None)
    if st.valid:
        return st.path
    fake = out / "not-a-model.task"
    fake.write_bytes(b"not a model")
    return fake


def template(recorded: dict[str, Path], out: Path) -> Path:
    """The recordings folder every case copies: two finished sessions of real-clip recordings, the
    victim with a live session's markers and a person's review beside its events."""
    from twitchcam.store import review

    root = out / "template"
    shutil.copytree(recorded["face_noface"], root / "intact")
    shutil.copytree(recorded["injected"], root / "victim")  # it has spasms to review
    (root / "victim" / "markers.csv").write_text("t_s,label\n1.5,coffee\n3.25,stress\n")
    review.decide(root / "victim", {1: ("confirmed", None)})
    return root

