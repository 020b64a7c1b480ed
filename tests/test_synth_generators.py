"""The v2 generators (drawn lid, own-eye clone) and the derived bases.

Fast tests draw on the synthetic face of tests/test_spasm_injection.py; `slow` ones run
MediaPipe on a real clip.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.test_spasm_injection import MID_X, _eye_box, _eye_centre, _sclera_share, synthetic_face
from twitchcam.core.anatomy import SIDES
from twitchcam.synth import bases as sb
from twitchcam.synth import clone, lid
from twitchcam.synth.mesh import Mesh


def _iris_share(img: np.ndarray, side: str, rows: slice | None = None) -> float:
    """Share of dark iris pixels (the synthetic iris is (40, 30, 20)) in the eye box."""
    ys, xs = _eye_box(side)
    box = img[ys, xs] if rows is None else img[ys, xs][rows]
    return float((box.max(axis=2) < 70).mean())


def closed_face() -> tuple[np.ndarray, np.ndarray]:
    """The synthetic face with both eyes shut: skin over the eye, a dark lash line low down."""
    img, pts = synthetic_face()
    for side in SIDES:
        cx, cy = _eye_centre(side)
        cv2.ellipse(img, (int(cx), int(cy)), (17, 8), 0, 0, 360, (150, 170, 210), -1)
        cv2.ellipse(img, (int(cx), int(cy) + 2), (16, 4), 0, 0, 180, (80, 75, 90), 1)
    return img, pts


# ---------------------------------------------------------------------------------------
# Drawn lid
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("side", SIDES)
def test_lid_covers_the_iris_at_full_closure_on_one_side_only(side):
    img, pts = synthetic_face()
    out = lid.lid_frame(img, pts, {side: (1.0, 0.0)})
    other = "right" if side == "left" else "left"
    assert _iris_share(img, side) > 0.1 and _sclera_share(img, side) > 0.4
    assert _iris_share(out, side) < 0.02 and _sclera_share(out, side) < 0.03
    xs = np.nonzero((out != img).any(axis=2))[1]
    assert xs.size and ((xs > MID_X).all() if side == "left" else (xs < MID_X).all())
    assert np.array_equal(out[:, (slice(None, MID_X) if side == "left" else slice(MID_X, None))],
                          img[:, (slice(None, MID_X) if side == "left" else slice(MID_X, None))])
    assert _sclera_share(out, other) == _sclera_share(img, other)


def test_partial_lid_covers_the_top_of_the_iris_and_leaves_the_bottom():
    img, pts = synthetic_face()
    half = lid.lid_frame(img, pts, {"right": (0.45, 0.0)})
    top, bottom = slice(0, 6), slice(9, 13)  # rows of the 13-row eye box (iris: rows 1-11)
    assert _iris_share(half, "right", top) < 0.3 * _iris_share(img, "right", top)
    assert _iris_share(half, "right", bottom) > 0.7 * _iris_share(img, "right", bottom)
    shares = [_sclera_share(lid.lid_frame(img, pts, {"right": (a, 0.0)}), "right") for a in (0, 0.3, 0.6, 1.0)]
    assert all(a > b for a, b in zip(shares, shares[1:]))


def test_lid_draws_skin_not_black_and_a_darker_lash_line():
    img, pts = synthetic_face()
    out = lid.lid_frame(img, pts, {"left": (1.0, 0.0)})
    ys, xs = _eye_box("left")
    skin = img[20:40, 20:60].reshape(-1, 3).mean(axis=0)
    lid_px = out[ys, xs][:5].reshape(-1, 3).mean(axis=0)  # upper rows: lid surface
    assert np.abs(lid_px - skin).max() < 40  # the person's own skin tone, shaded
    assert out[ys, xs].reshape(-1, 3).sum(axis=1).min() < 0.9 * skin.sum()  # a (soft) lash line is there


def test_zero_level_and_missing_face_are_the_identity():
    img, pts = synthetic_face()
    assert np.array_equal(lid.lid_frame(img, pts, {s: (0.0, 0.0) for s in SIDES}), img)
    assert np.array_equal(lid.lid_frame(img, None, {"left": (1.0, 0.0)}), img)


# ---------------------------------------------------------------------------------------
# Own-eye clone
# ---------------------------------------------------------------------------------------

def _clone_source(method: str = "seamless") -> clone.CloneSource:
    img, pts = synthetic_face()
    shut, _ = closed_face()
    frames = np.stack([img, shut])
    lad = clone.Ladder({s: np.array([1]) for s in SIDES}, {s: np.array([1.0]) for s in SIDES})
    return clone.CloneSource(frames, np.stack([pts, pts]), lad, clone.CloneParams(method=method))


@pytest.mark.parametrize("method", ["seamless", "feather"])
@pytest.mark.parametrize("side", SIDES)
def test_clone_changes_only_the_target_eyes_region(side, method):
    img, pts = synthetic_face()
    out = _clone_source(method).apply(img, pts, {side: (1.0, 0.0)})
    ys, xs = np.nonzero((out.astype(int) - img).any(axis=2))
    assert xs.size
    poly = clone.eye_mask_polygon(pts, side)
    x0, y0 = poly.min(axis=0) - 2
    x1, y1 = poly.max(axis=0) + 2
    assert xs.min() >= x0 and xs.max() <= x1 and ys.min() >= y0 and ys.max() <= y1
    assert _iris_share(out, side) < 0.02 and _sclera_share(out, side) < 0.05  # the eye is shut
    other = "right" if side == "left" else "left"
    assert _iris_share(out, other) == _iris_share(img, other)


def test_clone_blends_in_below_the_ladder_and_is_identity_at_zero():
    img, pts = synthetic_face()
    src = _clone_source()
    assert np.array_equal(src.apply(img, pts, {"left": (0.0, 0.0)}), img)
    ys, xs = _eye_box("left")
    bright = [src.apply(img, pts, {"left": (a, 0.0)})[ys, xs].min(axis=2).mean() for a in (0.0, 0.3, 0.6, 1.0)]
    assert all(a > b for a, b in zip(bright, bright[1:]))  # the sclera fades into the shut lid


def test_ladder_orders_blink_frames_by_closure():
    eye = np.full((20, 2), 0.25)
    eye[8:13] = np.array([0.18, 0.06, 0.02, 0.09, 0.2])[:, None]
    lad = clone.build_ladder(eye, [(8, 10, 13)])
    for side in SIDES:
        # closure = (0.25 - eye) / (0.25 - 0.02): 12: 0.22, 8: 0.30, 11: 0.70, 9: 0.83, 10: 1.0
        assert list(lad.frames[side]) == [12, 8, 11, 9, 10] and lad.closure[side][-1] == pytest.approx(1.0)
        assert lad.pick(side, 1.0)[0] == 10 and lad.pick(side, 0.72)[0] == 11
    assert clone.build_ladder(eye, []).pick("left", 1.0) is None


def test_poisson_blend_keeps_the_boundary_and_the_inner_gradients():
    dst = np.full((30, 40, 3), 100, np.uint8)
    src = np.full((30, 40, 3), 20, np.uint8)
    src[12:18, 15:25] = 80  # a bright bar on a dark ground: +60 inside
    mask = np.zeros((30, 40), bool)
    mask[5:25, 5:35] = True
    out = clone.poisson_blend(src, dst, mask)
    assert np.abs(out[~mask].astype(int) - 100).max() == 0
    assert out[15, 20, 0] - out[8, 8, 0] == pytest.approx(60, abs=6)


# ---------------------------------------------------------------------------------------
# Derived bases
# ---------------------------------------------------------------------------------------

def test_camera_below_homography_maps_points_like_the_frame_and_fills_it():
    img = np.zeros((360, 640, 3), np.uint8)
    img[:] = (90, 120, 150)
    pts = np.array([[200.0, 100.0, 0.0], [400.0, 300.0, 0.0], [320.0, 180.0, 0.0]])
    for x, y, _ in pts:
        cv2.circle(img, (int(x), int(y)), 3, (255, 255, 255), -1)
    T = sb.camera_below((640, 360), (320.0, 180.0), 30.0)
    out = T.frame(img)
    mapped = T.points(pts)
    for x, y, _ in mapped:
        assert out[int(round(y)), int(round(x))].min() > 200  # the dot went where the point did
    assert out.reshape(-1, 3).sum(axis=1).min() > 0  # every output pixel came from the source
    top = mapped[0, 1] - mapped[2, 1]
    bottom = mapped[1, 1] - mapped[2, 1]
    assert bottom > -top  # the lower face comes closer: it is magnified more than the top


def test_mesh_rotation_lifts_the_nose_tip_and_warps_the_frame_along():
    gx, gy = np.meshgrid(np.linspace(40, 160, 22), np.linspace(30, 190, 22))
    pts = np.c_[gx.ravel()[:478], gy.ravel()[:478], np.zeros(478)]  # a flat face of distinct points
    pts[168] = (MID_X, 80.0, 0.0)  # nose bridge: the pivot
    pts[4] = (MID_X, 130.0, -40.0)  # nose tip, towards the camera
    pts[152] = (MID_X, 190.0, -10.0)  # chin
    img = np.full((200, 200, 3), 120, np.uint8)
    cv2.circle(img, (MID_X, 130), 3, (255, 255, 255), -1)
    rot = sb.MeshRotation(pts[None], (200, 200), 25.0)
    out_pts = rot.points(pts[None])[0]
    assert out_pts[4, 1] < 130 - 15  # the nose tip rises towards the eyes ...
    assert out_pts[152, 1] - out_pts[168, 1] < 110  # ... the face is foreshortened
    assert np.allclose(out_pts[168], pts[168])
    out = rot.frame(img, 0)
    x, y = out_pts[4, :2]
    assert out[int(round(y)), int(round(x))].min() > 200  # the dot moved with its landmark
    assert np.array_equal(out[0], img[0])  # the frame border stays put
    with pytest.raises(ValueError):
        rot.frame(img)


def test_small_face_transform_shrinks_the_face_below_90_px():
    _, pts = synthetic_face()
    pts = np.array(pts)
    pts[10, 1], pts[152, 1] = 20.0, 210.0  # a face 190 px tall, like single_face
    T = sb.small_face((640, 360), 190.0, 80.0)
    small = T.points(pts[None])
    m = Mesh.from_landmarks(small)
    assert m.face_height() <= 90 and T.size[0] <= 320
    assert T.frame(np.zeros((360, 640, 3), np.uint8)).shape == (T.size[1], T.size[0], 3)


def test_natural_blinks_are_found_from_two_sided_closure():
    n = 200
    eye = np.full((n, 2), 0.25) + np.random.default_rng(0).normal(0, 0.005, (n, 2))
    eye[50:55] = np.array([0.15, 0.05, 0.02, 0.08, 0.17])[:, None]  # a blink
    eye[120:124, 0] = 0.02  # one eye only: not a blink
    eye[150:190] = 0.01  # shut for 1.3 s: not a blink either
    mesh = Mesh(np.zeros((n, 478, 3)), np.zeros((n, 2)), eye, np.ones(n, bool), np.zeros(n), np.zeros(n))
    assert sb.natural_blinks(mesh, 30.0) == [(50, 52, 55)]


# ---------------------------------------------------------------------------------------
# Real faces through MediaPipe
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def single_face():
    return sb.load_base("single_face")


@pytest.mark.slow
@pytest.mark.parametrize("name, change", [("camera_below", 3.0), ("camera_below_3d", 15.0)])
def test_camera_below_changes_mediapipes_pitch(single_face, name, change):
    base = single_face
    below = sb.load_base(name)
    src_pitch = np.nanmedian(base.mesh.pitch)
    out_pitch = np.nanmedian(below.mesh.pitch)
    print(f"\npitch frontal {src_pitch:.1f}, {name} {out_pitch:.1f} deg")
    assert out_pitch - src_pitch > change
    assert below.mesh.valid.mean() > 0.9  # still within the feature stage's pose limits
    # The stored landmarks are the source's through the same homography: MediaPipe agrees.
    err = np.nanmedian(np.linalg.norm(below.out_landmarks()[:, :, :2] - below.mesh.landmarks[:, :, :2], axis=2))
    assert err < 3.0


@pytest.mark.slow
def test_small_face_is_at_most_90_px_tall_for_mediapipe_too():
    small = sb.load_base("small_face")
    assert small.face_height() <= 90 and small.mesh.face_height() <= 90
    assert np.isfinite(small.mesh.eye_open).all(axis=1).mean() > 0.9  # MediaPipe still finds it


@pytest.mark.slow
@pytest.mark.parametrize("generator", ["lid", "clone"])
def test_mediapipe_sees_the_generated_eye_close_on_one_side(single_face, generator):
    from twitchcam.synth.dataset import GENERATORS
    from twitchcam.synth.mesh import run_mediapipe

    base = single_face
    render = GENERATORS[generator][1](base)
    frames = [base.clip.frames[i] for i in range(8, 14)]
    pts = [base.clip.landmarks[i] for i in range(8, 14)]
    for side in SIDES:
        out = [render(f, p, {side: (1.0, 0.0)}) for f, p in zip(frames, pts)]
        m, ref = run_mediapipe(out, base.fps), run_mediapipe(frames, base.fps)
        k = SIDES.index(side)
        ratio = np.nanmedian(m.eye_open / ref.eye_open, axis=0)
        rise = np.nanmedian(m.blink - ref.blink, axis=0)
        print(f"\n{generator} {side}: eye_open ratio {ratio}, eyeBlink rise {rise}")
        assert ratio[k] < 0.75 and ratio[k] < ratio[1 - k] - 0.1
        assert rise[k] > 0.1 and rise[k] > rise[1 - k]
