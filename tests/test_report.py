"""Report tests: golden values on simulated sessions, report == summary.json, edge cases,
headless Chromium (no broken images, no console errors, no network), PDF page count.

The helpers at the top (``write_session`` and friends) write session folders that follow the
pipeline's folder contract, with events placed at known times; benchmarks/report_bench.py
imports them too.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from twitchcam.cli.main import main as cli_main
from twitchcam.core import grades
from twitchcam.core.events import Event
from twitchcam.core.features import FEATURE_COLUMNS, POSE_COLUMNS
from twitchcam.core.stream import PipelineParams
from twitchcam.core.summary import FrameTotals, summarize
from twitchcam.errors import TwitchcamError
from twitchcam.report import data as report_data
from twitchcam.report import html as report
from twitchcam.report import pdf as report_pdf
from twitchcam.report import trends as report_trends
from twitchcam.store import treatments
from twitchcam.store.writer import SessionWriter
from twitchcam.video.model import MODEL_SHA256

PARAMS = PipelineParams().to_dict()  # the product's own parameter names


# ============================================================================ simulator

@dataclass
class Ev:
    onset: float
    duration: float
    side: str  # left | right | both
    kind: str  # blink | clonic | tonic
    mouth: bool = False
    peak: float = 0.9


@dataclass
class Sim:
    """A session with known content.  ``invalid`` = list of (start, end, reason) spans."""
    duration_s: float = 600.0
    fps: float = 30.0
    started_at: str = "2024-05-01T09:30:00"
    events: list[Ev] = field(default_factory=list)
    invalid: list[tuple[float, float, str]] = field(default_factory=list)
    calib_s: float = 5.0
    mode: str = "analyze"
    mirrored: bool = False
    status: str = "complete"
    markers: list[tuple[float, str]] = field(default_factory=list)
    seed: int = 0


def clonic_and_tonic(n_clonic: int, n_tonic: int, side: str, start: float, every: float,
                     clonic_s: float = 0.3, tonic_s: float = 2.0, mouth_every: int = 0):
    out = []
    t = start
    for i in range(n_clonic + n_tonic):
        tonic = i >= n_clonic
        out.append(Ev(t, tonic_s if tonic else clonic_s, side, "tonic" if tonic else "clonic",
                      mouth=bool(mouth_every) and i % mouth_every == 0))
        t += every
    return out


def blinks(start: float, end: float, every: float = 4.0) -> list[Ev]:
    return [Ev(t, 0.2, "both", "blink", peak=0.95) for t in np.arange(start, end, every)]


def frame_arrays(sim: Sim):
    """t, valid, reason codes and closure per side, with the events drawn in."""
    n = int(round(sim.duration_s * sim.fps))
    t = np.arange(n) / sim.fps
    rng = np.random.default_rng(sim.seed)
    valid = np.ones(n, bool)
    reason = np.zeros(n, int)
    codes = {"no_face": 1, "extreme_pose": 2, "face_too_small": 3}
    for a, b, why in sim.invalid:
        m = (t >= a) & (t < b)
        valid[m] = False
        reason[m] = codes[why]
    closure = {s: np.abs(rng.normal(0.05, 0.03, n)) for s in ("left", "right")}
    for ev in sim.events:
        m = (t >= ev.onset) & (t < ev.onset + ev.duration)
        for s in (("left", "right") if ev.side == "both" else (ev.side,)):
            closure[s][m] = ev.peak
    for s in closure:
        closure[s][~valid] = np.nan
        closure[s][t < sim.calib_s] = np.nan
    return t, valid, reason, closure


def product_events(sim: Sim) -> list[Event]:
    out = []
    for ev in sorted(sim.events, key=lambda x: x.onset):
        out.append(Event(ev.onset, ev.onset + ev.duration, ev.side, ev.kind, 1 if ev.kind != "clonic" else 2,
                         ev.peak, "eye+mouth" if ev.mouth else "eye", ev.onset + ev.duration + 0.1))
    return out


def session_meta(sim: Sim) -> dict:
    return {"started_at": sim.started_at, "source": "webcam:0" if sim.mode == "live" else "clip.mp4",
            "mode": sim.mode, "fps": sim.fps, "mirrored": sim.mirrored, "params": PARAMS,
            "model_sha256": MODEL_SHA256}


def product_summary(sim: Sim, frames: tuple | None = None) -> dict:
    """summary.json as the pipeline writes it: the product's own summarize() over the frames
    and events the simulator put in (the golden-value tests check it against what they know)."""
    t, valid, reason, closure = frames or frame_arrays(sim)
    totals = FrameTotals.of(t, valid, np.stack([closure["left"], closure["right"]], axis=1), sim.fps)
    return summarize(totals, product_events(sim), {**session_meta(sim), "status": sim.status})


def write_session(folder: Path, sim: Sim, frames: bool = True, summary: dict | None = None,
                  frames_from: Path | None = None) -> Path:
    """A session folder written by the product's own SessionWriter.  ``frames_from`` hard-links
    an existing frames.csv instead of writing one (the benchmark's 200 identical hours)."""
    writer = SessionWriter(folder, session_meta(sim))
    arrays = frame_arrays(sim)
    if frames and frames_from is None:
        t, valid, reason, closure = arrays
        names = {0: "", 1: "no_face", 2: "extreme_pose", 3: "face_too_small"}
        rng = np.random.default_rng(sim.seed + 1)
        k = len(FEATURE_COLUMNS)
        m = len(POSE_COLUMNS)
        feat = rng.normal(0.3, 0.01, (t.size, 2 * k + m))  # pose and features: values are not plotted
        feat[~valid] = np.nan
        for i in range(t.size):
            writer.frame(i, t[i], valid[i], names[reason[i]], feat[i, :m], feat[i, m:m + k], feat[i, m + k:],
                         (closure["left"][i], closure["right"][i]))
    writer.events(product_events(sim))
    for t_s, label in sim.markers:
        writer.marker(t_s, label)
    writer.close(sim.status, summary if summary is not None else product_summary(sim, arrays))
    if frames_from is not None:
        (folder / "frames.csv").unlink()
        os.link(frames_from, folder / "frames.csv")
    elif not frames:
        (folder / "frames.csv").unlink()
    return folder


def typical_sim(started_at="2024-05-01T09:30:00", duration_s=600.0, seed=0, rate_scale=1.0,
                **kw) -> Sim:
    """Left HFS: clonic trains, a few tonic spasms, some with the mouth; normal blinking."""
    rng = np.random.default_rng(seed)
    evs = blinks(6.0, duration_s - 1, every=3.6)
    n = max(0, int(rng.poisson(1.4 * rate_scale * duration_s / 60)))
    for t in np.sort(rng.uniform(8, duration_s - 12, n)):
        tonic = rng.random() < 0.2
        d = float(rng.uniform(1.1, 6.0)) if tonic else float(rng.uniform(0.12, 0.8))
        evs.append(Ev(float(t) + 0.25, round(d, 2), "left", "tonic" if tonic else "clonic",
                      mouth=rng.random() < 0.3))
    for t in rng.uniform(30, duration_s - 5, max(0, int(duration_s / 300))):
        evs.append(Ev(float(t), 0.25, "right", "clonic"))
    sim = Sim(duration_s=duration_s, started_at=started_at, events=evs, seed=seed, **kw)
    return sim


# ============================================================================ HTML parsing

class _Nums(HTMLParser):
    def __init__(self):
        super().__init__()
        self.nums: list[dict] = []
        self.imgs: list[str] = []
        self.scripts: list[dict] = []
        self._cur = None
        self._in_json = False
        self.json_text = ""
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "span" and "num" in (a.get("class") or "").split():
            self._cur = dict(a, text="")
        if tag == "img":
            self.imgs.append(a.get("src") or "")
        if tag == "script":
            self.scripts.append(a)
            self._in_json = a.get("id") == "twitchcam-data"
        if tag in ("link", "iframe", "object", "embed"):
            self.links.append(tag)

    def handle_endtag(self, tag):
        if tag == "span" and self._cur is not None:
            self.nums.append(self._cur)
            self._cur = None
        if tag == "script":
            self._in_json = False

    def handle_data(self, data):
        if self._cur is not None:
            self._cur["text"] += data
        if self._in_json:
            self.json_text += data


def parse(doc: str) -> _Nums:
    p = _Nums()
    p.feed(doc)
    return p


def lookup(summary: dict, key: str):
    v = summary
    for part in key.split("."):
        v = (v or {}).get(part)
    return v


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def assert_report_equals_summaries(doc: str, folders: list[Path]) -> int:
    """Every number in the report has a key, equals summary.json and prints as expected."""
    p = parse(doc)
    by_name = {f.name: json.loads((f / "summary.json").read_text()) for f in folders}
    checked = 0
    for n in p.nums:
        summ = by_name[n["data-session"]]
        want = lookup(summ, n["data-key"])
        got = json.loads(n["data-value"])
        assert same(got, want), (n, want)
        assert n["text"] == report.format_value(want, n["data-fmt"]), n
        checked += 1
    data = json.loads(p.json_text)
    for s in data["sessions"]:
        assert s["summary"] == by_name[s["name"]] or json.dumps(s["summary"]) == json.dumps(
            by_name[s["name"]])
    return checked


# ============================================================================ fixtures

@pytest.fixture
def known(tmp_path) -> tuple[Path, Sim]:
    """10 min, all valid after 5 s calibration; left: 12 clonic (0.3 s, every 20 s from
    t=30) + 3 tonic (2.0 s), 5 of them with the mouth; right: 1 clonic; blinks every 4 s."""
    evs = clonic_and_tonic(12, 3, "left", start=30.0, every=20.0, mouth_every=3)
    evs.append(Ev(400.0, 0.3, "right", "clonic"))
    evs += [b for b in blinks(10.0, 590.0, every=4.0)
            if all(abs(b.onset - x.onset) > 3 for x in evs)]
    sim = Sim(duration_s=600.0, events=evs, markers=[(120.0, "coffee"), (300.0, "stress")],
              mode="live")
    return write_session(tmp_path / "2024-05-01_0930", sim), sim


# ============================================================================ golden values

def test_product_summary_golden_values(known):
    folder, sim = known
    s = json.loads((folder / "summary.json").read_text())
    left, right = s["spasms"]["left"], s["spasms"]["right"]
    assert s["valid_s"] == pytest.approx(600.0)
    assert left["count"] == 15 and left["clonic"] == 12 and left["tonic"] == 3
    assert left["per_min"] == pytest.approx(1.5)
    assert left["mean_duration_s"] == pytest.approx((12 * 0.3 + 3 * 2.0) / 15)
    assert left["max_duration_s"] == pytest.approx(2.0)
    assert left["with_mouth"] == 5
    assert right["count"] == 1 and right["per_min"] == pytest.approx(0.1)
    assert s["affected_side"] == "left"


def test_plot_data_golden_values(known):
    folder, sim = known
    ses = report_data.load_session(folder)
    # histogram: 12 clonic of 0.3 s -> bin [0.3, 0.5); 3 tonic of 2.0 s -> bin [2, 3)
    h = report_data.duration_hist(ses.events)
    edges = h["edges"]
    assert h["counts"]["left"]["clonic"][edges.index(0.3)] == 12
    assert h["counts"]["left"]["tonic"][edges.index(2)] == 3
    assert sum(h["counts"]["left"]["clonic"]) == 12 and sum(h["counts"]["left"]["tonic"]) == 3
    assert sum(h["counts"]["right"]["clonic"]) == 1
    # per-minute rate: a 10-min session gets ten 1-min bins
    rd = report_data.rate_data(ses)
    assert rd["bin_s"] == 60.0
    assert rd["counts"]["left"].sum() == 15 and rd["counts"]["right"].sum() == 1
    # spasms at 30, 50, 70, ...: minute 0 holds 30 and 50 -> 2 per valid minute
    assert rd["counts"]["left"][0] == 2 and rd["rate"]["left"][0] == pytest.approx(2.0)
    assert rd["counts"]["left"][1] == 3  # 70, 90, 110
    # timeline (18 000 frames -> binned): a 2-s tonic spasm fills its 0.5-s bins
    td = report_data.timeline_data(ses.frames, 0.0, 600.0)
    assert td["mode"] == "binned" and td["bin_s"] == 0.5
    first_tonic = 30.0 + 12 * 20.0
    i = int((first_tonic + 0.5) / 0.5)
    assert td["y"]["left"][i] == pytest.approx(1.0)
    assert td["y"]["right"][i] == pytest.approx(0.0)
    assert td["calibrating"][:10].all() and not td["calibrating"][12:].any()
    # frames reader: validity and calibration
    assert ses.frames.n == 18000 and ses.frames.valid.all()
    assert np.isnan(ses.frames.closure["left"][: int(5 * 30)]).all()
    assert ses.markers == [(120.0, "coffee"), (300.0, "stress")]


def test_grades_of_known_session(known):
    folder, _ = known
    g = grades.estimate(json.loads((folder / "summary.json").read_text()))
    assert g["side"] == "left"
    assert g["jankovic_frequency"]["grade"] == 3  # tonic 2 s spasms, eye mostly open
    assert g["smc_spread"]["grade"] == "II"  # 5/15 with mouth


def test_report_numbers_equal_summary_json(known, tmp_path):
    folder, _ = known
    doc, data = report.build_report([folder])
    checked = assert_report_equals_summaries(doc, [folder])
    assert checked >= 20  # the whole key table, blinks, length and valid time
    keys = {n["data-key"] for n in parse(doc).nums}
    for side in ("left", "right"):
        for k in ("count", "per_min", "clonic", "tonic", "mean_duration_s", "max_duration_s",
                  "closed_fraction", "with_mouth"):
            assert f"spasms.{side}.{k}" in keys
    assert {"blinks.count", "blinks.per_min", "duration_s", "valid_s"} <= keys
    # the embedded JSON carries the plot data too
    assert data["plots"][0]["duration_histogram"]["counts"]["left"]["tonic"][
        report_data.DUR_EDGES.tolist().index(2)] == 3
    assert sum(data["plots"][0]["rate_per_min"]["counts"]["left"]) == 15


def test_report_content(known):
    folder, _ = known
    doc, _ = report.build_report([folder])
    text = re.sub(r"<[^>]+>", " ", doc)
    for needle in ("patient's own", "Not a medical device", "not a diagnosis",
                   "Jankovic frequency", "SMC-style spread", "coffee", "stress",
                   "Methods", "MediaPipe", "merge_gap_s", "Blinks", "Rule:"):
        assert needle.lower() in text.lower(), needle
    p = parse(doc)
    assert len(p.imgs) == 2 and all(i.startswith("data:image/png;base64,") for i in p.imgs)
    assert not p.links
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", doc)


# ============================================================================ edge cases

def _edge_sessions(root: Path) -> dict[str, Path]:
    out = {}
    out["no_face"] = write_session(root / "no_face", Sim(
        duration_s=120, invalid=[(0, 120, "no_face")], events=[]))
    out["no_spasms"] = write_session(root / "no_spasms", Sim(
        duration_s=300, events=blinks(6, 295)))
    out["very_short"] = write_session(root / "very_short", Sim(
        duration_s=4.0, calib_s=1.0, events=[Ev(2.0, 0.4, "left", "clonic")]))
    sim = typical_sim(duration_s=900, status="interrupted",
                      invalid=[(200, 260, "extreme_pose"), (500, 520, "face_too_small")])
    out["interrupted"] = write_session(root / "interrupted", sim)
    # a half-written last line, as after a crash
    with open(out["interrupted"] / "frames.csv", "a") as f:
        f.write("27000,900.0000,1,,0.1")
    return out


@pytest.mark.parametrize("case", ["no_face", "no_spasms", "very_short", "interrupted"])
def test_edge_cases_render_honestly(tmp_path, case):
    folder = _edge_sessions(tmp_path)[case]
    doc, data = report.build_report([folder])
    assert_report_equals_summaries(doc, [folder])
    text = re.sub(r"<[^>]+>", " ", doc)
    assert "Not a medical device" in text
    expect = {"no_face": "No face was tracked", "no_spasms": "No one-sided spasms",
              "very_short": "Short recording", "interrupted": "Interrupted recording"}[case]
    assert expect in text
    imgs = parse(doc).imgs
    if case == "no_face":
        assert imgs == []  # nothing drawn rather than empty plots
        assert "not estimable" in text
    elif case == "no_spasms":
        assert len(imgs) == 1  # timeline only; the histogram is replaced by a sentence
        assert "no durations" in text.lower() or "no one-sided spasms were detected" in text.lower()
    else:
        assert len(imgs) >= 1
    if case == "interrupted":
        assert "head turned too far" in text and "face too small" in text


def test_missing_plot_inputs_are_explained(known):
    folder, _ = known
    (folder / "frames.csv").unlink()
    (folder / "events.csv").unlink()
    doc, _ = report.build_report([folder])
    text = re.sub(r"<[^>]+>", " ", doc)
    assert "frames.csv is missing" in text and "events.csv" in text
    assert_report_equals_summaries(doc, [folder])


def test_errors_are_one_line(tmp_path):
    with pytest.raises(TwitchcamError, match="does not exist"):
        report.build_report([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(TwitchcamError, match="not a session folder"):
        report.build_report([tmp_path / "empty"])
    s = write_session(tmp_path / "running", Sim(duration_s=5))
    (s / "summary.json").unlink()
    (s / "frames.csv").unlink()  # no summary, and nothing to summarise it from
    with pytest.raises(TwitchcamError, match="no frames.csv"):
        report.build_report([s])
    (s / "summary.json").write_text("{broken")
    with pytest.raises(TwitchcamError) as ei:
        report.build_report([s])
    assert "\n" not in str(ei.value)
    with pytest.raises(TwitchcamError, match=".html"):
        report.write_report([s], tmp_path / "r.txt")


def test_unreadable_session_is_skipped_in_multi_report(tmp_path):
    a = write_session(tmp_path / "a", typical_sim("2024-05-01T09:00:00", duration_s=120))
    b = write_session(tmp_path / "b", typical_sim("2024-05-08T09:00:00", duration_s=120))
    (b / "summary.json").write_text("{broken")
    doc, data = report.build_report([a, b])
    assert data["skipped"][0]["name"] == "b"
    assert "Not included" in doc
    (b / "summary.json").unlink()  # never summarised (killed): summarised from its frames now
    doc, data = report.build_report([a, b])
    assert not data["skipped"] and [s["name"] for s in data["sessions"]] == ["a", "b"]
    assert "ended before it was summarised" in doc


def test_pdf_needs_chromium(known, tmp_path, monkeypatch):
    folder, _ = known
    monkeypatch.setenv("TWITCHCAM_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(TwitchcamError, match="install"):
        report.write_report([folder], tmp_path / "r.html", pdf=True)
    assert not (tmp_path / "r.html").exists()


# ============================================================================ several sessions

def _series(root: Path, n: int, start: dt.datetime, every_days: float, duration_s=180.0,
            frames=True) -> list[Path]:
    out = []
    for i in range(n):
        when = start + dt.timedelta(days=every_days * i)
        out.append(write_session(root / f"s{i:03d}", typical_sim(
            when.isoformat(timespec="seconds"), duration_s=duration_s, seed=i), frames=frames))
    return out


def test_trend_and_treatment_effect_golden(tmp_path):
    # 2 sessions before an injection at 2 spasms/min, 2 after at 0.5/min (left side)
    sims = []
    for day, n in (("2024-03-01", 20), ("2024-03-05", 20), ("2024-03-20", 5),
                   ("2024-03-25", 5)):
        evs = clonic_and_tonic(n, 0, "left", 10.0, 25.0)
        sims.append((day, Sim(duration_s=600.0, started_at=f"{day}T10:00:00", events=evs)))
    folders = [write_session(tmp_path / d, s, frames=False) for d, s in sims]
    log = [treatments.Treatment(dt.date(2024, 2, 1), "left", "botox", "20 U"),
           treatments.Treatment(dt.date(2024, 3, 10), "left", "botox", "25 U orbicularis")]
    doc, data = report.build_report(folders, treatments=log)
    eff = data["treatment_effect"]
    assert data["affected_side"] == "left"
    assert eff["last_injection"]["date"] == "2024-03-10"
    assert eff["days_since_at_latest_session"] == 15
    assert eff["pre_sessions"] == 2 and eff["post_sessions"] == 2
    assert eff["pre_left_per_min"] == pytest.approx(2.0)
    assert eff["post_left_per_min"] == pytest.approx(0.5)
    assert eff["rate_change"]["left"] == pytest.approx(-0.75)
    rows = data["trend"]["rows"]
    assert [r["days_since_injection"] for r in rows] == [29, 33, 10, 15]
    assert "−75 %" in doc or "-75 %" in doc
    assert "25 U orbicularis" in doc
    assert_report_equals_summaries(doc, folders)


def test_treatment_edge_cases():
    rows = [{"date": "2024-03-01", "valid_s": 600.0, "left_count": 10, "right_count": 0}]
    assert report_trends.treatment_effect(rows, [], "left")["last_injection"] is None
    later = [treatments.Treatment(dt.date(2024, 4, 1), "left", "botox")]
    eff = report_trends.treatment_effect(rows, later, "left")
    assert eff["last_injection"] is None and "no injection" in eff["message"]
    same_day = [treatments.Treatment(dt.date(2024, 3, 1), "left", "botox")]
    eff = report_trends.treatment_effect(rows, same_day, "left")
    # a session on the injection day is neither before nor after it
    assert eff["pre_sessions"] == 0 and eff["post_sessions"] == 0
    assert eff["same_day_sessions"] == 1
    assert eff["rate_change"]["left"] is None and "no sessions" in eff["message"]


def test_many_sessions_aggregate(tmp_path):
    start = dt.datetime(2024, 1, 3, 20, 0)
    folders = _series(tmp_path, 60, start, every_days=6.0, duration_s=60.0, frames=False)
    doc, data = report.build_report(folders, detail="none")
    assert data["trend"]["period"] == "month"
    table = data["trend"]["table"]
    assert sum(r["sessions"] for r in table) == 60
    # pooled monthly rate == total spasms / total valid minutes of that month
    rows = data["trend"]["rows"]
    jan = [r for r in rows if r["date"].startswith("2024-01")]
    want = sum(r["left_count"] for r in jan) / (sum(r["valid_s"] for r in jan) / 60)
    assert table[0]["left_per_min"] == pytest.approx(want)
    assert len(parse(doc).imgs) == 1  # the trend plot only


@pytest.mark.timeout(300)
def test_200_sessions_over_a_year_stay_readable(tmp_path):
    """Trend + monthly table + the latest session in full; a few pages, in seconds."""
    start = dt.datetime(2024, 1, 2, 20, 0)
    folders = _series(tmp_path, 199, start, every_days=1.8, duration_s=60.0, frames=False)
    folders.append(write_session(tmp_path / "s199", typical_sim(
        "2024-12-31T20:00:00", duration_s=600.0, seed=199)))
    log = [treatments.Treatment(dt.date(2024, 1, 20) + dt.timedelta(days=91 * k), "left",
                                "botox", "25 U") for k in range(4)]
    t = time.perf_counter()
    res = report.write_report(folders, tmp_path / "year.html", treatments=log,
                              pdf=_chromium() is not None)
    took = time.perf_counter() - t
    doc = (tmp_path / "year.html").read_text()
    data = json.loads(parse(doc).json_text)
    assert data["trend"]["period"] == "month" and len(data["trend"]["table"]) == 12
    assert [p["name"] for p in data["plots"]] == ["s199"]
    assert data["treatment_effect"]["days_since_at_latest_session"] == 73
    assert_report_equals_summaries(doc, folders)
    assert took < 60
    if res["pdf"]:
        assert pdf_pages(res["pdf"]) <= 4


def test_detail_latest_only(tmp_path):
    folders = _series(tmp_path, 3, dt.datetime(2024, 5, 1, 9), 7.0, duration_s=120)
    doc, data = report.build_report(folders)
    assert [p["name"] for p in data["plots"]] == ["s002"]
    assert "Most recent session" in doc
    doc, data = report.build_report(folders, detail="all")
    assert len(data["plots"]) == 3
    assert_report_equals_summaries(doc, folders)
    # a recordings folder stands for all its sessions
    doc2, data2 = report.build_report([tmp_path])
    assert len(data2["sessions"]) == 3


# ============================================================================ browser

def _chromium():
    return report_pdf.find_chromium()


needs_chromium = pytest.mark.skipif(_chromium() is None, reason="chromium not installed")


class CDP:
    """Minimal Chrome DevTools Protocol client over --remote-debugging-pipe (stdlib only)."""

    def __init__(self, chromium: str, profile: str):
        import fcntl

        r_in, w_in = os.pipe()  # we write -> chromium reads on its fd 3
        r_out, w_out = os.pipe()  # chromium writes on its fd 4 -> we read
        # move the child's ends above 4 so that dup2 onto 3 and 4 cannot clobber them
        c_in = fcntl.fcntl(r_in, fcntl.F_DUPFD, 10)
        c_out = fcntl.fcntl(w_out, fcntl.F_DUPFD, 10)
        os.close(r_in)
        os.close(w_out)

        def preexec():
            os.dup2(c_in, 3)
            os.dup2(c_out, 4)

        args = report_pdf.chromium_args(chromium, profile) + [
            "--remote-debugging-pipe", "--window-size=1200,1600", "about:blank"]
        self.proc = subprocess.Popen(args, pass_fds=(3, 4, c_in, c_out), preexec_fn=preexec,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(c_in)
        os.close(c_out)
        self.w, self.r = w_in, r_out
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def _read_msg(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("chromium did not answer")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60.0) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_msg(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 60.0) -> dict:
        deadline = time.time() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read_msg(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass


def load_in_browser(html_path: Path, screenshot: Path | None = None) -> dict:
    """Open the report in headless Chromium; return broken images, console errors, network
    requests and (optionally) write a full-page screenshot."""
    import base64

    with tempfile.TemporaryDirectory() as profile:
        cdp = CDP(_chromium(), profile)
        try:
            target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            sid = cdp.call("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
            for dom in ("Page", "Runtime", "Log", "Network"):
                cdp.call(f"{dom}.enable", session=sid)
            cdp.call("Page.navigate", {"url": html_path.resolve().as_uri()}, session=sid)
            cdp.wait_event("Page.loadEventFired", timeout=60)
            js = ("JSON.stringify({n: document.images.length, broken: Array.from("
                  "document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                  ".map(i => i.alt), title: document.title})")
            res = json.loads(cdp.call("Runtime.evaluate", {"expression": js,
                                                           "returnByValue": True},
                                      session=sid)["result"]["value"])
            if screenshot is not None:
                m = cdp.call("Page.getLayoutMetrics", session=sid)
                size = m.get("cssContentSize") or m["contentSize"]
                shot = cdp.call("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": size["width"],
                             "height": size["height"], "scale": 1}}, session=sid)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            cdp.call("Runtime.evaluate", {"expression": "1"}, session=sid)  # flush events
        finally:
            cdp.close()
    errors, requests = [], []
    for m in cdp.events:
        meth, p = m.get("method"), m.get("params", {})
        if meth == "Runtime.exceptionThrown":
            errors.append(p["exceptionDetails"].get("text"))
        elif meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(str(p.get("args")))
        elif meth == "Log.entryAdded" and p["entry"].get("level") == "error":
            errors.append(p["entry"].get("text"))
        elif meth == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if not url.startswith(("data:", "file:", "about:")):
                requests.append(url)
    res.update(errors=errors, requests=requests)
    return res


@needs_chromium
@pytest.mark.timeout(300)
def test_browser_loads_report_without_errors(tmp_path):
    _series(tmp_path / "rec", 4, dt.datetime(2024, 5, 1, 9), 7.0, duration_s=240)
    write_session(tmp_path / "rec" / "nf", Sim(duration_s=60, invalid=[(0, 60, "no_face")],
                                               started_at="2024-05-02T09:00:00"))
    tlog = [treatments.Treatment(dt.date(2024, 5, 10), "left", "botox", "25 U")]
    out = tmp_path / "report.html"
    report.write_report([tmp_path / "rec"], out, treatments=tlog, detail="all")
    res = load_in_browser(out, screenshot=tmp_path / "shot.png")
    assert res["n"] >= 5
    assert res["broken"] == []
    assert res["errors"] == []
    assert res["requests"] == []
    assert (tmp_path / "shot.png").stat().st_size > 10_000


@needs_chromium
@pytest.mark.timeout(300)
def test_browser_check_catches_broken_images_and_errors(tmp_path):
    """The harness itself: a page with a broken image, a script error and a network fetch."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img alt="broken" src="data:image/png;base64,AAAA">'
                   '<img alt="remote" src="http://127.0.0.1:9/x.png">'
                   "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    res = load_in_browser(bad)
    assert set(res["broken"]) == {"broken", "remote"}
    assert len(res["errors"]) >= 2
    assert res["requests"] == ["http://127.0.0.1:9/x.png"]


def pdf_pages(path: Path) -> int:
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                             check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))
    data = path.read_bytes()  # fallback: count page objects
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


@needs_chromium
@pytest.mark.timeout(300)
def test_pdf_single_session_two_pages(known, tmp_path):
    folder, _ = known
    res = report.write_report([folder], tmp_path / "one.html", pdf=True)
    assert res["pdf"].read_bytes()[:5] == b"%PDF-"
    assert pdf_pages(res["pdf"]) == 2


@needs_chromium
@pytest.mark.timeout(300)
def test_pdf_multi_session_page_count(tmp_path):
    folders = _series(tmp_path, 5, dt.datetime(2024, 5, 1, 9), 7.0, duration_s=180)
    res = report.write_report(folders, tmp_path / "multi.html", pdf=True)
    # trend page + the most recent session's two pages
    assert pdf_pages(res["pdf"]) == 3


# ============================================================================ CLI

def test_report_command_finds_the_treatment_log(tmp_path, capsys):
    rec = tmp_path / "recordings"
    _series(rec, 3, dt.datetime(2024, 5, 1, 9), 7.0, duration_s=120)
    assert cli_main(["treatment", "add", "2024-05-10", "--side", "left", "--note",
                            "25 U", "--recordings", str(rec)]) == 0
    out_html = tmp_path / "out" / "r.html"
    assert cli_main(["report", str(rec), "--out", str(out_html),
                            "--patient", "J. Doe"]) == 0
    out = capsys.readouterr().out
    assert "3 session(s), full detail for 1" in out and "1 treatment(s)" in out
    doc = out_html.read_text()
    assert "J. Doe" in doc and "25 U" in doc
    data = json.loads(parse(doc).json_text)
    assert data["treatment_effect"]["last_injection"]["date"] == "2024-05-10"
    # errors: one line on stderr, exit code 2, nothing written
    assert cli_main(["report", str(tmp_path / "nope"), "--out",
                            str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twitchcam: error:") and err.count("\n") == 1
    assert not (tmp_path / "x.html").exists()


# ============================================================================ real pipeline

@pytest.mark.slow
def test_report_of_a_real_analyzed_video(tmp_path, videos, model, analyzed_wolfgang):
    """The pipeline's own session folder (real face video, MediaPipe) renders, and every
    number in the report equals its summary.json."""
    from twitchcam.run.analyze import analyze_file

    folder = analyzed_wolfgang[0]
    nf = tmp_path / "nf"
    analyze_file(videos["no_face.mp4"], nf, model, show_progress=False)
    doc, data = report.build_report([folder], full_paths=True)  # summary.json as it is, source path included
    assert assert_report_equals_summaries(doc, [folder]) >= 15
    assert len(parse(doc).imgs) >= 1
    doc, data = report.build_report([folder, nf], full_paths=True)
    assert_report_equals_summaries(doc, [folder, nf])
    assert "no tracked face" in doc


def test_overall_affected_side_needs_votes_or_a_clear_pooled_majority():
    from types import SimpleNamespace

    from twitchcam.report.trends import overall_affected_side

    def ses(affected, left, right):
        counts = {"left": {"count": left}, "right": {"count": right}}
        return SimpleNamespace(summary={"affected_side": affected}, side=lambda sd: counts[sd])

    assert overall_affected_side([ses(None, 22, 20), ses(None, 22, 20)]) is None  # 52 % is no side
    assert overall_affected_side([ses(None, 9, 1), ses(None, 8, 2)]) == "left"  # 85 % pooled
    assert overall_affected_side([ses("right", 1, 5), ses(None, 3, 3)]) == "right"  # a session's vote


# ============================================================================ toxin cycles (issue 18)
def _toxin_rate(days_after: int) -> float:
    """Left spasms per minute d days after an injection: 2/min before it, 0.2 from week 1 to
    week 7, back to 2 by week 12 (half the old level, 1/min, crossed during week 9)."""
    w = days_after / 7
    return 2.0 if w < 0 else 0.2 if w < 7 else min(2.0, 0.2 + 0.36 * (w - 7))


def test_cycle_curves_three_cycles_golden():
    from twitchcam.report.trends import cycle_curves

    injections = [dt.date(2024, 1, 10) + dt.timedelta(days=91 * k) for k in range(3)]
    log = [treatments.Treatment(d, "left", "botox", "") for d in injections]
    rows, day = [], injections[0] - dt.timedelta(days=28)
    while day < injections[-1] + dt.timedelta(days=90):
        last = max(d for d in [day - dt.timedelta(days=10 ** 4)] + injections if d < day)
        rate = _toxin_rate((day - last).days) if last >= injections[0] else 2.0
        rows.append({"date": day.isoformat(), "valid_s": 600.0, "left_count": round(10 * rate), "right_count": 1})
        day += dt.timedelta(days=3)
    c = cycle_curves(rows, log, "left")
    assert "message" not in c and len(c["cycles"]) == 3
    assert [cy["injection"] for cy in c["cycles"]] == [d.isoformat() for d in injections]
    assert all(cy["left_pre"] == pytest.approx(2.0, abs=0.05) for cy in c["cycles"][:1])
    assert c["median"]["left"][3] == pytest.approx(0.2, abs=0.05) and c["median"]["left"][12] > 1.5
    assert c["left_wearing_off_week"] == 9  # week 9 (days 63-69) pools 0.92-1.23/min: above 1 on average
    assert c["median"]["right"][3] == pytest.approx(0.1, abs=0.01)


def test_cycle_view_says_when_there_is_not_enough():
    from twitchcam.report.trends import cycle_curves

    rows = [{"date": "2024-02-01", "valid_s": 600.0, "left_count": 3, "right_count": 0}]
    one = [treatments.Treatment(dt.date(2024, 1, 10), "left", "botox", "")]
    assert "two or more injections" in cycle_curves(rows, one, "left")["message"]
    two = one + [treatments.Treatment(dt.date(2024, 4, 10), "left", "botox", "")]
    assert "at least 2 weeks" in cycle_curves(rows, two, "left")["message"]


def test_the_trend_page_shows_the_toxin_cycles(tmp_path):
    injections = [dt.date(2024, 1, 10) + dt.timedelta(days=91 * k) for k in range(3)]
    log = [treatments.Treatment(d, "left", "botox", "25 U") for d in injections]
    folders, day, k = [], injections[0] - dt.timedelta(days=14), 0
    while day < injections[-1] + dt.timedelta(days=80):
        last = max([d for d in injections if d < day] or [injections[0]])
        n = round(10 * (_toxin_rate((day - last).days) if day > injections[0] else 2.0))
        sim = Sim(duration_s=600.0, started_at=f"{day.isoformat()}T10:00:00",
                  events=clonic_and_tonic(n, 0, "left", 10.0, 580.0 / max(n, 1)))
        folders.append(write_session(tmp_path / f"s{k:03d}", sim, frames=False))
        day += dt.timedelta(days=7)
        k += 1
    doc, _ = report.build_report(folders, treatments=log)
    assert "Toxin cycles" in doc and "wearing off" in doc and 'alt="Spasm rate per side against weeks' in doc
    doc, _ = report.build_report(folders, treatments=log[:1])
    assert "No cycle view: a cycle view needs two or more injections" in doc


def test_sessions_on_the_same_day_are_one_week_of_a_cycle():
    from twitchcam.report.trends import cycle_curves

    log = [treatments.Treatment(dt.date(2024, 1, 10), "left", "botox", ""),
           treatments.Treatment(dt.date(2024, 4, 10), "left", "botox", "")]
    rows = [{"date": d, "valid_s": 600.0, "left_count": 2, "right_count": 0}
            for d in ("2024-01-20", "2024-01-20", "2024-02-20", "2024-04-20", "2024-04-20", "2024-05-20")]
    c = cycle_curves(rows, log, "left")
    assert "message" not in c and [cy["weeks"] for cy in c["cycles"]] == [[1, 5], [1, 5]]
