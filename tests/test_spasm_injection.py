"""Tests for the spasm-injection ground-truth generator.

Fast tests use a synthetic face with hand-placed landmarks; `slow` ones need the MediaPipe
model and the real clips from twitchcam/synth/videos.py (fetched once, verified).
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from twitchcam.core.anatomy import LANDMARKS, LOWER_LID, SIDES, UPPER_LID
from twitchcam.synth import inject as si
from twitchcam.synth.videos import real_videos

FACES = ("single_face.mp4", "WolfgangLanger_Pexels.mp4")
MID_X = 100  # the synthetic face's midline


# ---------------------------------------------------------------------------------------
# A synthetic face: textured skin, two almond eyes with irises, landmarks placed by hand
# ---------------------------------------------------------------------------------------

def _eye_centre(side: str) -> tuple[float, float]:
    return (MID_X + 35.0, 80.0) if side == "left" else (MID_X - 35.0, 80.0)  # subject's left = image right


def synthetic_face() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.normal(0, 25, (200, 200)).astype(np.float32), (0, 0), 2.0)
    img = np.clip(np.stack([150 + noise, 170 + noise, 210 + noise], axis=2), 0, 255).astype(np.uint8)
    pts = np.full((478, 3), [MID_X, 110.0, 0.0])
    half_w, half_h = 16.0, 7.0
    for side in SIDES:
        cx, cy = _eye_centre(side)
        outward = 1.0 if side == "left" else -1.0
        # Contours run outer corner -> inner corner, as in anatomy.UPPER_LID/LOWER_LID.
        xs = cx + outward * half_w * np.cos(np.linspace(0, np.pi, 9))
        arc = np.sin(np.linspace(0, np.pi, 9))
        pts[list(UPPER_LID[side]), :2] = np.c_[xs, cy - half_h * arc]
        pts[list(LOWER_LID[side]), :2] = np.c_[xs, cy + half_h * arc]
        cv2.ellipse(img, (int(cx), int(cy)), (int(half_w), int(half_h)), 0, 0, 360, (235, 235, 235), -1)
        cv2.circle(img, (int(cx), int(cy)), 5, (40, 30, 20), -1)
        lm = LANDMARKS[side]
        pts[lm.mouth_corner, :2] = (MID_X + outward * 25, 150)
        pts[list(lm.cheek), :2] = [(MID_X + outward * 42, 118), (MID_X + outward * 36, 128)]
    cv2.line(img, (MID_X - 25, 150), (MID_X + 25, 150), (60, 60, 140), 3)
    return img, pts


def synthetic_clip(n: int = 30, fps: float = 30.0, path: str = "synthetic.mp4") -> si.SourceClip:
    img, pts = synthetic_face()
    frames = np.stack([img] * n)
    return si.SourceClip(Path(path), frames, fps, np.stack([pts] * n),
                         eye_open=np.full((n, len(SIDES)), 0.25), valid=np.ones(n, dtype=bool))


def _eye_box(side: str) -> tuple[slice, slice]:
    cx, cy = _eye_centre(side)
    return slice(int(cy - 6), int(cy + 7)), slice(int(cx - 12), int(cx + 13))


def _sclera_share(img: np.ndarray, side: str) -> float:
    """Share of bright (sclera) pixels in the eye box: falls as the lid covers the eye."""
    ys, xs = _eye_box(side)
    return float((img[ys, xs].min(axis=2) > 225).mean())


# ---------------------------------------------------------------------------------------
# Temporal profile and truth
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_clonic_train_obeys_the_clinical_timing(seed):
    ev = si.clonic_train(np.random.default_rng(seed), 5.0, "left", 0.8)
    assert 2 <= len(ev.twitches) <= 5
    assert ev.onset_s == 5.0
    for tw in ev.twitches:
        assert 0.08 - 1e-3 <= tw.end_s - tw.onset_s <= 0.20 + 1e-3
        assert tw.rise_s <= 0.06 + 1e-9 and tw.fall_s <= 0.08 + 1e-9
    gaps = [b.onset_s - a.end_s for a, b in zip(ev.twitches, ev.twitches[1:])]
    assert all(0.06 - 1e-3 <= g <= 0.15 + 1e-3 for g in gaps)  # < 200 ms: one train
    assert ev.offset_s == pytest.approx(ev.twitches[-1].end_s)


@pytest.mark.parametrize("seed", range(10))
def test_tonic_hold_lasts_one_to_three_seconds(seed):
    ev = si.tonic_hold(np.random.default_rng(seed), 3.0, "right", 1.0)
    (tw,) = ev.twitches
    assert 1.0 <= tw.hold_s <= 3.0
    t = np.arange(0, 10, 0.001)
    assert np.isclose(ev.level(t).max(), 1.0)


@pytest.mark.parametrize("kind", si.KINDS)
def test_level_is_positive_exactly_between_onset_and_offset(kind):
    ev = si.make_event(np.random.default_rng(3), 2.0, "left", kind, 0.6)
    t = np.arange(0.0, 8.0, 0.0005)
    lv = ev.level(t)
    inside = (t > ev.onset_s) & (t < ev.offset_s)
    assert (lv[~inside] == 0).all()
    assert lv.max() == pytest.approx(0.6, abs=1e-3)
    # A clonic train drops to zero between twitches, a tonic hold never does.
    assert ((lv[inside] == 0).any()) == (kind == "clonic")


def test_side_levels_route_events_to_their_side_and_mouth():
    rng = np.random.default_rng(0)
    events = [si.make_event(rng, 1.0, "left", "tonic", 1.0, mouth=True),
              si.make_event(rng, 6.0, "right", "clonic", 0.5, mouth=False)]
    t = np.arange(0, 10, 1 / 30)
    lv = si.side_levels(events, t)
    assert np.array_equal(lv["left"][0], events[0].level(t))
    assert np.array_equal(lv["left"][1], events[0].level(t))
    assert np.array_equal(lv["right"][0], events[1].level(t))
    assert not lv["right"][1].any()


def test_truth_csv_has_the_schema_and_one_row_per_event(tmp_path):
    rng = np.random.default_rng(1)
    events = [si.make_event(rng, 9.0, "right", "clonic", 0.55, True),
              si.make_event(rng, 3.0, "left", "tonic", 1.0, False)]
    path = tmp_path / "truth.csv"
    si.write_truth(path, events)
    assert path.read_text().splitlines()[0] == ",".join(si.TRUTH_COLUMNS)
    rows = si.read_truth(path)
    assert [r["onset_s"] for r in rows] == [3.0, 9.0]  # sorted by onset
    for row, ev in zip(rows, sorted(events, key=lambda e: e.onset_s)):
        assert row["offset_s"] == pytest.approx(ev.offset_s, abs=1e-4)
        assert (row["side"], row["kind"], row["twitches"], row["intensity"], row["mouth"]) == (
            ev.side, ev.kind, len(ev.twitches), ev.intensity, int(ev.mouth))
    si.save_events(tmp_path / "ev.json", events)
    assert si.load_events(tmp_path / "ev.json") == events


# ---------------------------------------------------------------------------------------
# Looping
# ---------------------------------------------------------------------------------------

def test_pingpong_plays_back_and_forth_without_jumps_or_repeats():
    assert si.pingpong(list(range(5)), 3) == [0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3, 4]
    idx = si.bounce_indices(7, 1000)
    assert idx[0] == 0 and set(idx) == set(range(7))
    assert (np.abs(np.diff(idx)) == 1).all()  # neither a jump cut nor a frozen frame
    assert (si.bounce_indices(1, 4) == 0).all()


# ---------------------------------------------------------------------------------------
# Warps on the synthetic face
# ---------------------------------------------------------------------------------------

def test_zero_level_is_the_identity():
    img, pts = synthetic_face()
    out = si.inject_frame(img, pts, {s: (0.0, 0.0) for s in SIDES})
    assert np.array_equal(out, img)


@pytest.mark.parametrize("side", SIDES)
def test_warp_closes_only_the_chosen_eye_on_the_subjects_side(side):
    img, pts = synthetic_face()
    out = si.inject_frame(img, pts, {side: (1.0, 1.0)})
    assert out.shape == img.shape and out.dtype == img.dtype
    changed_x = np.nonzero((out != img).any(axis=2))[1]
    # Subject's left is the image's right: every changed pixel is on that half.
    assert changed_x.size > 0
    assert (changed_x > MID_X).all() if side == "left" else (changed_x < MID_X).all()
    other = "right" if side == "left" else "left"
    assert _sclera_share(out, other) == _sclera_share(img, other)
    assert _sclera_share(img, side) > 0.4 and _sclera_share(out, side) < 0.05


def test_closure_grows_with_level_and_adds_no_black_pixels():
    img, pts = synthetic_face()
    shares = [_sclera_share(si.inject_frame(img, pts, {"right": (a, 0.0)}), "right")
              for a in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert all(a > b for a, b in zip(shares, shares[1:]))
    out = si.inject_frame(img, pts, {"right": (1.0, 1.0)})
    assert out.max(axis=2).min() >= img.max(axis=2).min()  # no holes / black fill


def test_mouth_pull_moves_only_the_same_side_mouth_and_cheek():
    img, pts = synthetic_face()
    out = si.pull_mouth(img.copy(), pts, "right", 1.0)
    ys, xs = np.nonzero((out != img).any(axis=2))
    assert xs.size > 0 and (xs < MID_X).all()
    assert ys.min() > 100  # the eyes are untouched
    assert np.array_equal(si.pull_mouth(img.copy(), pts, "right", 0.0), img)


def test_missing_face_is_left_alone():
    img, pts = synthetic_face()
    assert np.array_equal(si.inject_frame(img, None, {"left": (1.0, 1.0)}), img)
    pts[5] = np.nan
    assert np.array_equal(si.inject_frame(img, pts, {"left": (1.0, 1.0)}), img)


def test_rendered_frames_change_exactly_during_events():
    clip = synthetic_clip(n=20)
    rng = np.random.default_rng(2)
    events = [si.make_event(rng, 0.5, "left", "clonic", 1.0), si.make_event(rng, 2.5, "right", "tonic", 0.6)]
    frames = list(si.render(clip, events, duration_s=6.0))
    assert len(frames) == 180
    lv = si.side_levels(events, si.frame_times(len(frames), clip.fps))
    for k, (fr, i) in enumerate(zip(frames, clip.indices(6.0))):
        src = clip.frames[i]
        for side in SIDES:
            half = np.s_[:, MID_X:] if side == "left" else np.s_[:, :MID_X]
            level = lv[side][0][k]
            if level == 0:
                assert np.array_equal(fr[half], src[half]), (k, side)
            elif level > 0.2:
                ys, xs = _eye_box(side)
                assert not np.array_equal(fr[ys, xs], src[ys, xs]), (k, side)


# ---------------------------------------------------------------------------------------
# Scheduling, video files, caching
# ---------------------------------------------------------------------------------------

def _check_schedule(events, params):
    assert events
    assert events[0].onset_s >= params.warmup_s
    for a, b in zip(events, events[1:]):
        assert b.onset_s - a.offset_s >= params.min_gap_s - 1e-3
    assert events[-1].offset_s <= params.duration_s - params.end_margin_s + 1e-3


def test_plan_is_deterministic_balanced_and_keeps_the_spacing_rules():
    clip = synthetic_clip(n=40)
    params = si.DatasetParams(duration_s=90.0)
    events = si.plan_events(clip, np.random.default_rng(7), params)
    _check_schedule(events, params)
    assert {e.side for e in events} == set(SIDES) and {e.kind for e in events} == set(si.KINDS)
    assert {e.intensity for e in events} == set(params.intensities)
    assert {e.mouth for e in events} == {True, False}
    assert si.plan_events(clip, np.random.default_rng(7), params) == events
    assert si.plan_events(clip, np.random.default_rng(8), params) != events


def test_plan_avoids_frames_where_the_face_or_the_eye_is_unusable():
    clip = synthetic_clip(n=300)  # 10 s, played once forward within 10 s
    clip.valid[90:120] = False  # 3.0-4.0 s: no face
    clip.eye_open[180:240, 0] = 0.0  # 6.0-8.0 s: left eye looking down
    params = si.DatasetParams(duration_s=10.0, max_extra_gap_s=0.2, min_gap_s=0.2)
    for seed in range(10):
        for ev in si.plan_events(clip, np.random.default_rng(seed), params):
            assert ev.offset_s < 3.0 - params.guard_s or ev.onset_s > 4.0 + params.guard_s
            if ev.side == "left":
                assert ev.offset_s < 6.0 - params.guard_s or ev.onset_s > 8.0 + params.guard_s


def test_plan_keeps_mouth_events_out_of_annotated_occlusions(tmp_path, monkeypatch):
    src = tmp_path / "clip.mp4"
    src.write_bytes(b"a source whose mouth is covered for 5 s")
    monkeypatch.setattr(si, "MOUTH_OCCLUDED", {si.sha256_of(src): ((0.0, 5.0),)})
    clip = synthetic_clip(n=300, path=str(src))
    params = si.DatasetParams(duration_s=10.0, max_extra_gap_s=0.2, min_gap_s=0.2)
    events = [ev for seed in range(10) for ev in si.plan_events(clip, np.random.default_rng(seed), params)]
    assert any(ev.onset_s < 5.0 for ev in events)  # eye-only events may still go there
    assert all(ev.onset_s > 5.0 + params.guard_s for ev in events if ev.mouth)
    assert any(ev.mouth for ev in events)


@pytest.mark.parametrize("ext", [".avi", ".mp4"])
def test_written_video_decodes_with_all_frames_and_timestamps(tmp_path, ext):
    clip = synthetic_clip(n=10, fps=24000 / 1001)  # NTSC rates must survive, not round to 24
    path = tmp_path / f"x{ext}"
    n = si.write_video(path, si.render(clip, [], duration_s=3.0), clip.fps)
    assert n == 72
    assert si.video_fps(path) == pytest.approx(clip.fps, rel=1e-4)
    cap = cv2.VideoCapture(str(path))
    stamps, first = [], None
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        stamps.append(cap.get(cv2.CAP_PROP_POS_MSEC))
        first = fr if first is None else first
    assert len(stamps) == n
    assert np.allclose(stamps, si.frame_times(n, clip.fps) * 1000, atol=1.0)
    assert cv2.PSNR(first, clip.frames[0]) > 30
    assert not list(tmp_path.glob("*.part*"))


def test_make_dataset_caches_by_seed_and_params(tmp_path, monkeypatch):
    src = tmp_path / "face.mp4"
    src.write_bytes(b"stand-in source")
    loads = []

    def fake_load(path, model_path=None):
        loads.append(path)
        return synthetic_clip(n=30, path=str(path))

    monkeypatch.setattr(si.SourceClip, "load", staticmethod(fake_load))
    params = si.DatasetParams(duration_s=12.0)
    out = tmp_path / "ds"
    (item,) = si.make_dataset(out, [src], seed=5, params=params)
    assert item.video.is_file() and item.truth.is_file() and item.n_frames == 360
    _check_schedule(si.load_events(si.events_path(item.truth)), params)
    assert len(si.read_truth(item.truth)) == item.events > 0
    stamp = item.video.stat().st_mtime_ns
    assert si.make_dataset(out, [src], seed=5, params=params) == [item]
    assert len(loads) == 1 and item.video.stat().st_mtime_ns == stamp  # cached
    si.make_dataset(out, [src], seed=6, params=params)
    assert len(loads) == 2  # a new seed is a new item
    assert set(json.loads((out / "manifest.json").read_text())) == {"face_seed5", "face_seed6"}
    src.write_bytes(b"another source")
    si.make_dataset(out, [src], seed=5, params=params)
    assert len(loads) == 3  # the source changed


# ---------------------------------------------------------------------------------------
# Real faces through MediaPipe
# ---------------------------------------------------------------------------------------

def _face(name: str) -> Path:
    return real_videos()[name]


@pytest.fixture(scope="module")
def clips(single_face_clip):
    cache = {"single_face.mp4": single_face_clip}

    def load(name):
        if name not in cache:
            cache[name] = si.SourceClip.load(_face(name))
        return cache[name]

    return load


def _tonic(onset: float, side: str, intensity: float, hold: float = 1.0) -> si.SpasmEvent:
    return si.SpasmEvent(side, "tonic", intensity, False, (si.Twitch(onset, 0.1, hold, 0.15),))


# Hand-picked times where each source has its face found and both eyes open.
SCHEDULES = {
    "single_face.mp4": (12.0, [_tonic(2.5, "left", 1.0), _tonic(5.0, "right", 1.0),
                               _tonic(7.5, "left", 0.55), _tonic(10.0, "right", 0.55)]),
    "WolfgangLanger_Pexels.mp4": (12.0, [_tonic(6.4, "left", 1.0), _tonic(8.4, "right", 1.0),
                                         _tonic(10.4, "left", 0.55)]),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", FACES)
def test_mediapipe_sees_the_injected_eye_close_and_the_other_stay_open(name, clips, tmp_path):
    clip = clips(name)
    duration, events = SCHEDULES[name]
    video, truth = tmp_path / "inj.avi", tmp_path / "inj_truth.csv"
    si.inject_video(clip, video, truth, events, duration)
    responses = si.event_responses(clip, video, events)
    print("\n" + si.format_responses(responses))
    for r in responses:
        assert r.other_ratio > 0.7  # MediaPipe drags the other eye a little, never shuts it
        if r.event.intensity == 1.0:
            assert r.injected_ratio < 0.6
        else:
            assert 0.5 < r.injected_ratio < 0.92
        assert r.injected_ratio < r.other_ratio - 0.08


@pytest.mark.slow
@pytest.mark.parametrize("side", SIDES)
def test_side_convention_on_a_real_face(side, clips):
    clip = clips("single_face.mp4")
    img, pts = clip.frames[10], clip.landmarks[10]
    out = si.inject_frame(img, pts, {side: (1.0, 1.0)})
    xs = np.nonzero((out != img).any(axis=2))[1]
    nose_x = pts[168, 0]
    # The subject's left eye is on the image's right in this unmirrored clip.
    assert (xs > nose_x).all() if side == "left" else (xs < nose_x).all()
    eye_x = pts[list(UPPER_LID[side]), 0].mean()
    assert (eye_x > nose_x) == (side == "left")


@pytest.mark.slow
def test_make_dataset_on_real_faces(tmp_path):
    videos = [_face(n) for n in FACES]
    params = si.DatasetParams(duration_s=30.0)
    items = si.make_dataset(tmp_path, videos, seed=0, params=params)
    for item in items:
        n = sum(1 for _ in si.iter_frames(item.video))
        assert n == item.n_frames == round(30.0 * si.video_fps(item.video))
        assert si.video_fps(item.video) == pytest.approx(item.fps, rel=1e-4)  # truth times hold
        events = si.load_events(si.events_path(item.truth))
        _check_schedule(events, params)
        assert len(si.read_truth(item.truth)) == len(events) >= 3
    stamps = [i.video.stat().st_mtime_ns for i in items]
    assert si.make_dataset(tmp_path, videos, seed=0, params=params) == items
    assert [i.video.stat().st_mtime_ns for i in items] == stamps
