"""The v2 dataset builder: planning, rendering, files and caching (twitchcam.synth.dataset)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_spasm_injection import MID_X, _eye_box, synthetic_face
from twitchcam.core.anatomy import SIDES
from twitchcam.synth import dataset as ds
from twitchcam.synth import inject, profiles
from twitchcam.synth.bases import Base, BaseSpec, load_base, natural_blinks
from twitchcam.synth.inject import SourceClip
from twitchcam.synth.mesh import Mesh

BLINKS_AT = (30, 95)  # source frames of a 4-frame natural blink in the synthetic clip


def synthetic_base(n: int = 120, fps: float = 30.0, duration_s: float = 120.0, path: str = "synthetic.mp4") -> Base:
    img, pts = synthetic_face()
    pts[10, :2], pts[152, :2] = (MID_X, 20), (MID_X, 190)  # forehead and chin: a face 170 px tall
    frames, lms = np.stack([img] * n), np.stack([pts] * n)
    eye = np.full((n, 2), 0.25) + np.random.default_rng(0).normal(0, 0.003, (n, 2))
    for b in (b for b in BLINKS_AT if b + 4 < n):
        eye[b:b + 4] = np.array([0.12, 0.03, 0.04, 0.14])[:, None]
    mesh = Mesh(lms, np.zeros((n, 2)), eye, np.ones(n, bool), np.zeros(n), np.zeros(n))
    clip = SourceClip(Path(path), frames, fps, lms, eye, np.ones(n, bool))
    return Base(BaseSpec("synthetic", "synthetic.mp4", duration_s), clip, mesh, mesh, None, natural_blinks(mesh, fps))


def _blink_runs_s(base: Base) -> list[tuple[float, float]]:
    out = base.usable()["blink"][base.indices()]
    return [(a / base.fps, b / base.fps) for a, b in ds._runs(out)]


@pytest.fixture(scope="module")
def plan():
    base = synthetic_base()
    return base, ds.plan_events(base, np.random.default_rng(3))


def test_plan_keeps_the_spacing_and_covers_every_pattern_and_side(plan):
    base, events = plan
    params = ds.PlanParams()
    assert len(events) >= 25
    assert events[0].onset_s >= params.warmup_s
    for a, b in zip(events, events[1:]):
        assert b.onset_s - a.offset_s >= params.min_gap_s - 1e-3
    assert events[-1].offset_s <= base.spec.duration_s - params.end_margin_s + 1e-3
    assert {e.pattern for e in events} == set(profiles.PATTERNS)
    assert {e.side for e in events} == set(SIDES) and {e.mouth for e in events} == {True, False}
    assert ds.plan_events(base, np.random.default_rng(3)) == events


def test_blink_patterns_overlap_a_natural_blink_as_asked(plan):
    base, events = plan
    runs = _blink_runs_s(base)
    checked = 0
    for ev in events:
        if ev.pattern not in profiles.BLINK_PATTERNS:
            # the other patterns keep clear of natural blinks at their start
            assert not any(b0 < ev.onset_s + 0.25 and b1 > ev.onset_s - 0.25 for b0, b1 in runs)
            continue
        (b0, b1), = [(b0, b1) for b0, b1 in runs if b0 < ev.offset_s and b1 > ev.onset_s]
        if ev.pattern == "blink_lead":
            assert 0.05 - 1e-3 <= b0 - ev.onset_s <= 0.15 + 1e-3 and ev.offset_s >= b1
        else:
            assert ev.onset_s >= b0 and 0.1 - 1e-3 <= ev.offset_s - b1 <= 0.3 + 1e-3
        checked += 1
    assert checked >= 4


def _side_half(side: str):
    return np.s_[:, MID_X:] if side == "left" else np.s_[:, :MID_X]


@pytest.mark.parametrize("generator", ["warp", "lid"])
def test_rendered_closure_matches_the_truth_times(generator):
    base = synthetic_base(duration_s=20.0)
    rng = np.random.default_rng(1)
    events = [profiles.make_pattern(rng, "clonic", 2.0, "left"), profiles.make_pattern(rng, "tonic", 6.0, "right"),
              profiles.make_pattern(rng, "fast_clonic", 12.0, "right")]
    frames = list(ds.render(base, events, ds.GENERATORS[generator][1](base)))
    clean = list(ds.render(base, events, None))
    assert len(frames) == len(clean) == base.n_out == 600
    lv = profiles.side_levels(events, inject.frame_times(len(frames), base.fps))
    for k, (fr, cl) in enumerate(zip(frames, clean)):
        for side in SIDES:
            level = lv[side][0][k]
            same = np.array_equal(fr[_side_half(side)], cl[_side_half(side)])
            if level == 0:
                assert same, (k, side)
            elif level > 0.02:
                assert not same, (k, side, level)
            if level > 0.3:
                ys, xs = _eye_box(side)
                assert np.abs(fr[ys, xs].astype(int) - cl[ys, xs]).max() > 40


def test_clean_twin_is_the_looped_source():
    base = synthetic_base(n=10, duration_s=2.0)
    base.clip.frames[:, 0, 0] = np.arange(10)[:, None] * 20  # a frame counter in a corner pixel
    clean = list(ds.render(base, [], None))
    assert [int(f[0, 0, 0]) for f in clean] == [20 * i for i in base.indices()]


@pytest.fixture
def fake_world(tmp_path, monkeypatch):
    """build() on the synthetic base: no MediaPipe, no download."""
    src = tmp_path / "synthetic.mp4"
    src.write_bytes(b"stand-in source")
    loads = []
    spec = BaseSpec("synthetic", "synthetic.mp4", 12.0, tags=("test",))

    def fake_load(spec_, model_path=None):
        loads.append(spec_)
        base = synthetic_base(duration_s=spec_.duration_s, path=str(src))
        base.spec = spec_
        return base

    import twitchcam.synth.videos as videos
    monkeypatch.setattr(videos, "real_videos", lambda: {"synthetic.mp4": src})
    monkeypatch.setattr(ds, "load_base", fake_load)
    monkeypatch.setattr(ds, "BASES", {"synthetic": spec})
    return tmp_path / "out", loads


def test_build_writes_every_file_and_the_manifest_and_reuses_them(fake_world, monkeypatch):
    out, loads = fake_world
    (clip,) = ds.build(out, "lid", seed=4, log=lambda *_: None)
    for p in (clip.video, clip.clean, clip.truth, clip.events, clip.base_npz):
        assert p.is_file(), p
    assert clip.n_frames == 360 and clip.face_height_px == pytest.approx(170)
    rows = profiles.read_truth(clip.truth)
    assert list(rows[0]) == list(ds.TRUTH_V2_COLUMNS)
    events = profiles.load_events(clip.events)
    assert [r["pattern"] for r in rows] == [e.pattern for e in sorted(events, key=lambda e: e.onset_s)]
    assert {r["generator"] for r in rows} == {"lid"}
    man = json.loads((out / "manifest.json").read_text())["synthetic_seed4"]
    assert man["n_events"] == len(events) and man["base"] == "synthetic" and man["tags"] == ["test"]
    header = (out / "manifest.csv").read_text().splitlines()[0].split(",")
    assert {"clip", "generator", "base", "patterns", "fps", "n_frames", "face_height_px"} <= set(header)
    with np.load(clip.base_npz) as z:
        assert len(z["index"]) == clip.n_frames and z["landmarks"].shape[1:] == (478, 3)
    # Injected and clean frames decode identically outside the events.
    lv = profiles.side_levels(events, inject.frame_times(clip.n_frames, clip.fps))
    quiet = (lv["left"][0] == 0) & (lv["right"][0] == 0)
    inj, cln = list(inject.iter_frames(clip.video)), list(inject.iter_frames(clip.clean))
    assert all(np.array_equal(a, b) == q for a, b, q in zip(inj, cln, quiet) if q)
    assert any(not np.array_equal(a, b) for a, b, q in zip(inj, cln, quiet) if not q)
    stamp = clip.video.stat().st_mtime_ns
    assert ds.build(out, "lid", seed=4, log=lambda *_: None) == [clip] and len(loads) == 1
    assert clip.video.stat().st_mtime_ns == stamp
    # The same seed plans the same events for every generator; a new version rebuilds.
    (warp,) = ds.build(tmp := out.parent / "warp", "warp", seed=4, log=lambda *_: None)
    assert profiles.load_events(warp.events) == events
    monkeypatch.setitem(ds.GENERATORS, "lid", (999, ds.GENERATORS["lid"][1]))
    ds.build(out, "lid", seed=4, log=lambda *_: None)
    assert len(loads) == 3 and tmp.is_dir()


def test_preview_writes_clean_over_injected_crops(fake_world):
    import cv2

    from twitchcam.synth.preview import preview_dir

    out, _ = fake_world
    (clip,) = ds.build(out, "clone", seed=2, log=lambda *_: None)
    pngs = preview_dir(out)
    assert pngs and all(p.suffix == ".png" for p in pngs)
    img = cv2.imread(str(pngs[0]))
    top, bottom = img[: img.shape[0] // 2 - 1], img[img.shape[0] // 2 + 1:]
    assert img.shape[0] > 20 and not np.array_equal(top[: bottom.shape[0]], bottom[: top.shape[0]])


def test_cli_rejects_an_unknown_generator(capsys):
    with pytest.raises(SystemExit):
        ds.main(["/tmp/x", "--generator", "paint"])


@pytest.mark.slow
def test_blink_overlap_events_overlap_a_blink_mediapipes_blendshapes_see():
    base = load_base("single_face")
    events = ds.plan_events(base, np.random.default_rng(0), ds.PlanParams())
    idx = base.indices()
    blink = np.nanmin(base.mesh.blink, axis=1)[idx]  # both eyes' eyeBlink, not used by the planner
    t = inject.frame_times(len(idx), base.fps)
    overlapping = [ev for ev in events if ev.pattern in profiles.BLINK_PATTERNS]
    assert len(overlapping) >= 3
    for ev in overlapping:
        inside = (t > ev.onset_s) & (t < ev.offset_s)
        assert blink[inside].max() > 0.35, ev  # a real two-sided blink inside the event
        assert blink[(t > ev.onset_s - 0.5) & (t < ev.onset_s - 0.2)].max() < 0.35  # and not before it


@pytest.mark.slow
@pytest.mark.parametrize("generator", ["lid", "clone"])
def test_on_a_real_moving_face_only_the_event_side_changes_and_only_during_events(generator):
    from dataclasses import replace

    base = load_base("carphone")  # talking, moving, low resolution
    base.spec = replace(base.spec, duration_s=15.0)
    events = ds.plan_events(base, np.random.default_rng(5), ds.PlanParams(min_gap_s=0.8, max_extra_gap_s=0.5))
    assert len(events) >= 2
    frames = list(ds.render(base, events, ds.GENERATORS[generator][1](base)))
    clean = list(ds.render(base, [], None))
    lv = profiles.side_levels(events, inject.frame_times(len(frames), base.fps))
    idx = base.indices()
    for k, (fr, cl) in enumerate(zip(frames, clean)):
        changed = np.nonzero((fr != cl).any(axis=2))[1]
        active = [s for s in SIDES if lv[s][0][k] > 0 or lv[s][1][k] > 0]
        if not active:
            assert changed.size == 0, k
            continue
        nose_x = base.clip.landmarks[idx[k], 168, 0]
        if len(active) == 1 and lv[active[0]][1][k] == 0 and changed.size:  # eye only: one side of the nose
            assert (changed > nose_x).all() if active[0] == "left" else (changed < nose_x).all(), k
