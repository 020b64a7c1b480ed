"""Telling the patient from someone else (issue 17, item 11): the pure judge, the signature,
the tracker's new tracks and the chain's `other_person` frames, on hand-made inputs."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from twitchcam.core.features import FEATURE_COLUMNS, OTHER, FrameFeatures
from twitchcam.core.identity import IdentityJudge, IdentityParams, chi_square
from twitchcam.core.stream import SignalChain
from twitchcam.core.summary import FrameTotals, summarize
from twitchcam.video.identity import LEFT_EYE, RIGHT_EYE, SignatureSchedule, face_signature
from twitchcam.video.landmarks import PatientTracker

RNG = np.random.default_rng(7)
CELLS, BINS = 64, 59


def person(seed: int) -> np.ndarray:
    """A person's typical signature: per-cell histograms summing to 1."""
    h = np.random.default_rng(seed).gamma(0.5, size=(CELLS, BINS))
    return h / h.sum(axis=1, keepdims=True)


def look(face: np.ndarray, noise: float = 0.2) -> np.ndarray:
    """One frame's signature of `face`: its histograms, a little disturbed."""
    h = face * np.exp(RNG.normal(0.0, noise, face.shape))
    return (h / h.sum(axis=1, keepdims=True)).ravel()


def feed(judge: IdentityJudge, face: np.ndarray, t0: float, n: int, new_track: bool = True) -> list[bool]:
    return [judge.judge(t0 + k, new_track and k == 0, look(face)) for k in range(n)]


def test_distances_separate_the_hand_made_people():
    a, b = person(1), person(2)
    same = chi_square(np.array([look(a)]), look(a))[0]
    other = chi_square(np.array([look(a)]), look(b))[0]
    assert same < IdentityParams().max_distance < other


def test_the_first_face_is_the_patient_and_a_later_stranger_is_not():
    judge, patient, stranger = IdentityJudge(), person(1), person(2)
    assert all(feed(judge, patient, 0.0, 10))
    assert not any(feed(judge, stranger, 20.0, 10))
    assert all(feed(judge, patient, 40.0, 10))  # the patient is back


def test_a_glimpse_of_a_face_turned_from_the_usual_pose_is_no_evidence():
    """Leaving the picture, the patient showed a face tilted 42 degrees, half out of view: its
    signature is far from everyone's, so it says nothing either way."""
    judge, patient, stranger = IdentityJudge(), person(1), person(2)
    feed(judge, patient, 0.0, 10)
    assert judge.judge(20.0, True, look(stranger), (-17.0, 24.0, 42.0))
    assert not judge.judge(20.1, False, look(stranger), (2.0, -3.0, 1.0))  # facing the camera: judged


def test_a_frame_without_a_signature_keeps_the_tracks_verdict():
    judge, patient, stranger = IdentityJudge(), person(1), person(2)
    feed(judge, patient, 0.0, 10)
    feed(judge, stranger, 20.0, 3)
    assert not judge.judge(23.5, False, None)


def test_a_misjudged_return_is_taken_back_by_the_median():
    judge, patient, stranger = IdentityJudge(IdentityParams(probe_samples=5)), person(1), person(2)
    feed(judge, patient, 0.0, 10)
    assert not judge.judge(20.0, True, look(stranger))  # e.g. a hand over the face as they sat down
    verdicts = [judge.judge(21.0 + k, False, look(patient)) for k in range(5)]
    assert verdicts[-1] and not verdicts[0]


def test_a_returning_patient_once_recognised_is_followed_as_their_looks_change():
    """The light changes, the head turns: a track judged the patient's stays theirs and teaches
    the gallery, where judging each signature against the first minutes would drift away."""
    judge, start, end = IdentityJudge(), person(1), person(2)
    feed(judge, start, 0.0, 10)
    verdicts = []
    for k in range(60):
        w = min(1.0, k / 40)
        looks = (1 - w) * start + w * end
        verdicts.append(judge.judge(20.0 + k, k == 0, look(looks / looks.sum(axis=1, keepdims=True), 0.05)))
    assert all(verdicts)
    fresh = IdentityJudge()
    feed(fresh, start, 0.0, 10)
    assert not any(feed(fresh, end, 20.0, 10))  # where the drift ended is someone else's face to a stranger


def test_nobody_is_judged_before_the_gallery_holds_enough():
    judge = IdentityJudge(IdentityParams(min_gallery=3))
    feed(judge, person(1), 0.0, 2)
    assert all(feed(judge, person(2), 10.0, 5))  # too little of the patient seen: the new face enrols


def test_the_gallery_keeps_the_latest_signatures():
    judge = IdentityJudge(IdentityParams(gallery_size=4))
    feed(judge, person(1), 0.0, 10)
    assert len(judge._gallery) == 4


def test_schedule_probes_a_new_track_then_slows():
    due = SignatureSchedule(every_s=1.0, probe_every_s=0.1, probe_s=0.5)
    times = np.round(np.arange(0.0, 3.0, 1 / 30), 4)
    picked = [t for t in times if due.due(t, new_track=(t == 0.0))]
    assert picked[0] == 0.0
    gaps = np.diff(picked)
    assert gaps[:4].max() < 0.15 and gaps[-1] >= 1.0


def face_image(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured 'face' with eye landmarks at known places."""
    g = cv2.GaussianBlur(np.random.default_rng(seed).integers(0, 256, (360, 640), dtype=np.uint8), (0, 0), 3)
    rgb = cv2.cvtColor(cv2.normalize(g, None, 0, 255, cv2.NORM_MINMAX), cv2.COLOR_GRAY2RGB)
    points = np.zeros((478, 3))
    points[list(RIGHT_EYE), :2] = [[270, 150], [300, 150]]
    points[list(LEFT_EYE), :2] = [[340, 150], [370, 150]]
    return rgb, points


def test_signature_follows_the_face_not_its_place_size_or_tilt():
    rgb, points = face_image(1)
    sig = face_signature(rgb, points)
    assert sig.shape == (CELLS * BINS,)
    assert np.allclose(sig.reshape(CELLS, BINS).sum(axis=1), 1.0)
    m = cv2.getRotationMatrix2D((320.0, 180.0), 12.0, 1.3)  # the same face, turned, nearer and moved
    m[:, 2] += (25.0, -10.0)
    moved = cv2.warpAffine(rgb, m, (640, 360))
    moved_points = points.copy()
    moved_points[:, :2] = points[:, :2] @ m[:, :2].T + m[:, 2]
    other_rgb, _ = face_image(2)
    same = chi_square(sig[None], face_signature(moved, moved_points))[0]
    other = chi_square(sig[None], face_signature(other_rgb, points))[0]
    assert same < 0.5 * other


def test_a_face_picked_up_after_a_while_starts_a_new_track():
    tracker = PatientTracker(retrack_s=0.5)
    face = np.array([[100.0, 100.0, 0.0], [200.0, 220.0, 0.0]])
    tracker.choose([face], 0.0)
    assert tracker.new_track
    tracker.choose([face], 1 / 30)
    assert not tracker.new_track
    tracker.choose([], 0.1)
    tracker.choose([face + 5.0], 0.7)  # out of view 0.67 s: whoever this is must be judged
    assert tracker.new_track


def frame(new_track: bool, signature) -> FrameFeatures:
    return FrameFeatures(True, (0.0, 0.0, 0.0, 40.0), np.full(len(FEATURE_COLUMNS), 0.3), new_track, signature)


def test_someone_elses_frames_are_invalid_and_counted_apart():
    chain, patient, stranger = SignalChain(30.0), person(1), person(2)
    totals = FrameTotals(30.0)
    results = []
    for k in range(120):
        t = k / 30
        if k < 60:
            ff = frame(k == 0, look(patient) if k % 5 == 0 else None)
        else:
            ff = frame(k == 60, look(stranger) if k % 5 == 0 else None)
        r = chain.process(k, t, ff, np.zeros((478, 3)))
        totals.add(r.t_s, r.valid, r.closure, 0, r.reason == OTHER)
        results.append(r)
    assert {r.reason for r in results[:60]} == {""}
    assert {r.reason for r in results[60:]} == {OTHER}
    assert all(np.isnan(r.raw).all() and r.points is None and not r.valid for r in results[60:])
    summary = summarize(totals.closed(), [], {})
    assert summary["other_person_frames"] == 60 and summary["valid_frames"] == 60


@pytest.mark.parametrize("other", [None, np.array([False, True, True])])
def test_totals_at_once_count_other_frames(other):
    t = np.array([0.0, 0.1, 0.2])
    totals = FrameTotals.of(t, np.array([True, False, False]), np.zeros((3, 2)), 10.0, other_person=other)
    assert totals.other_person_frames == (0 if other is None else 2)


def test_a_chunked_runs_block_replay_judges_identity_like_frame_by_frame():
    patient, stranger = person(1), person(2)
    n = 120
    t = np.arange(n) / 30.0
    pose = np.tile([0.0, 0.0, 0.0, 40.0], (n, 1))
    pose[55:60] = np.nan  # nobody for a moment
    raw = np.full((n, len(FEATURE_COLUMNS)), 0.3)
    new_track = np.zeros(n, dtype=bool)
    new_track[[0, 60]] = True
    signatures = np.empty(n, dtype=object)
    for k in range(0, n, 5):
        signatures[k] = look(patient if k < 60 else stranger).astype(np.float32)
    one = SignalChain(30.0)
    frames = [one.process(k, t[k], FrameFeatures(bool(np.isfinite(pose[k, 0])), tuple(pose[k]), raw[k],
                                                 bool(new_track[k]), signatures[k])) for k in range(n)]
    block = list(SignalChain(30.0).results(np.arange(n), t, pose, raw, new_track, signatures))
    assert [r.reason for r in block] == [r.reason for r in frames]
    assert [r.reason for r in block][60:] == [OTHER] * 60
    assert all(np.isnan(r.raw).all() for r in block[60:])
