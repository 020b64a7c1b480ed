"""Detector tests on simulated per-side signals: fast, exhaustive, no video."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from twitchcam.core.detector import DetectorParams
from twitchcam.core.features import FrameFeatures
from twitchcam.core.scoring import score
from twitchcam.core.simulate import simulate
from twitchcam.core.stream import PipelineParams, SignalChain, detect_features


def batch(sim, params=DetectorParams()):
    """A stored recording through the chain (what `twitchcam detect` runs)."""
    return detect_features(sim.t, sim.pose(), sim.features(), sim.fps, PipelineParams(detector=params))


def stream(sim, params=DetectorParams()):
    """Frame by frame, as analyze and live feed the chain."""
    raw, pose = sim.features(), sim.pose()
    chain = SignalChain(sim.fps, PipelineParams(detector=params))
    events = []
    for i in range(sim.t.size):
        events += chain.process(i, float(sim.t[i]), FrameFeatures(bool(sim.valid[i]), tuple(pose[i]), raw[i])).events
    return events + chain.finish(float(sim.t[-1] + 1 / sim.fps)), chain.detector


def spasms(events, side=None):
    return [e for e in events if e.side != "both" and (side is None or e.side == side)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fps,jitter", [(30.0, 0.0), (24.0, 0.3), (60.0, 0.0)])
def test_frame_by_frame_and_stored_recording_give_identical_events(seed, fps, jitter):
    """analyze/live feed the chain frame by frame, detect feeds it a stored block: the same
    events, and there are some to compare."""
    sim = simulate(120, fps, seed, sides=("left", "right"), dropouts=2, jitter_fps=jitter, lead_share=0.3)
    streamed, _ = stream(sim)
    stored = batch(sim).events
    assert spasms(stored) and any(e.side == "both" for e in stored)
    assert [e.key() for e in streamed] == [e.key() for e in stored]


@pytest.mark.parametrize("seed", range(4))
def test_simulated_spasms_found_on_the_right_side_and_blinks_left_alone(seed):
    sim = simulate(300, 30.0, seed, sides=("left", "right"), lead_share=0.3)
    s = score(batch(sim).events, sim.truth)
    assert s.f1 >= 0.95, s
    assert s.side_errors == 0
    assert s.blinks_as_spasms <= 0.02 * s.blinks
    assert s.median_onset_error_s <= 0.05


def test_natural_blinks_are_never_spasms():
    """Both lids within 10 ms of each other (DOMAIN: well under a frame)."""
    sim = simulate(600, 30.0, 1, spasms_per_min=0.0, blinks_per_min=25)
    events = batch(sim).events
    assert sum(e.side == "both" for e in events) >= 0.95 * len(sim.truth)
    assert spasms(events) == []


def test_a_spasm_that_starts_just_before_a_blink_is_found_with_the_blink():
    sim = simulate(600, 30.0, 2, sides=("left", "right"), lead_share=1.0, tonic_share=0.0, blinks_per_min=5)
    s = score(batch(sim).events, sim.truth)
    assert s.recall >= 0.9 and s.side_errors == 0, s


def test_a_blink_after_which_the_lids_settle_lower_is_a_blink_and_a_lid_that_led_it_a_spasm():
    """After some blinks both lids stay a little lower for a while (a glance down): the
    two-sided closure stays above its 'off' level for longer than a blink lasts, but above half
    its peak it lasted only as long as a blink.  It counts as a blink, and is judged like one:
    a lid that closed 100 ms before the other is a spasm overlapping it."""
    from twitchcam.core.simulate import _pulse

    sim = simulate(60, 30.0, 6, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t
    for onset, lead in ((20.0, None), (40.0, 0)):
        for s in (0, 1):
            start = onset - (0.1 if s == lead else 0.0)
            level = np.maximum(_pulse(t, start, 0.1 + onset - start), 0.3 * ((t > onset + 0.1) & (t < onset + 0.9)))
            sim.close(level > 0, s, level[level > 0])
    events = batch(sim).events
    assert [round(e.onset_s) for e in events if e.side == "both"] == [20, 40]
    assert [(e.side, round(e.onset_s, 1), e.twitches) for e in spasms(events)] == [("left", 39.9, 1)]
    assert [e.key() for e in stream(sim)[0]] == [e.key() for e in events]


def test_the_eye_that_led_a_blink_is_no_spasm_when_the_other_one_holds_after_it():
    """A natural blink in which the right lid leads by a frame, while the left one goes on
    closed for 300 ms after it (a spasm trailing the blink): the right eye's one-sided lead
    cannot be compared while the left is shut, and ends when the right eye reopens, inside
    the blink, not when the left one does.  Only the left is a spasm."""
    from twitchcam.core.simulate import _pulse

    sim = simulate(60, 30.0, 8, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t
    for onset in (20.0, 40.0):
        for s, start, hold in ((1, onset - 0.04, 0.12), (0, onset, 0.4)):
            level = _pulse(t, start, hold)
            sim.close(level > 0, s, level[level > 0])
    events = batch(sim).events
    assert [(e.side, round(e.onset_s)) for e in spasms(events)] == [("left", 20), ("left", 40)]
    assert [e.key() for e in stream(sim)[0]] == [e.key() for e in events]


def test_a_blink_in_the_middle_of_a_clonic_train_does_not_split_it():
    """Laterality cannot be judged while both eyes are shut: the time a blink takes does not
    count in the gap between two twitches of one train."""
    from twitchcam.core.simulate import _pulse

    sim = simulate(60, 30.0, 9, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t

    def close(side: int, start: float, hold: float) -> None:
        level = _pulse(t, start, hold)
        sim.close(level > 0, side, level[level > 0])

    for start in (20.0, 20.3, 21.0, 40.0, 40.3):
        close(0, start, 0.05)  # left twitches: 20.0-21.1 with a blink between, and 40.0-40.4
    for side in (0, 1):
        close(side, 20.55, 0.2)  # a natural blink, 0.3 s long, in the train's 0.5-s gap
    events = batch(sim).events
    assert [round(e.onset_s, 1) for e in events if e.side == "both"] == [20.6]
    assert [(e.side, round(e.onset_s, 1), round(e.offset_s, 1), e.twitches) for e in spasms(events)] == \
        [("left", 20.0, 21.2, 3), ("left", 40.0, 40.5, 2)]
    assert [e.key() for e in stream(sim)[0]] == [e.key() for e in events]


def test_a_lid_the_mesh_barely_follows_is_found_by_its_appearance():
    """A real one-sided lid can move MediaPipe's mesh only a little (the eye's own gap -21 %,
    the other's -13 %, eyeBlink +0.06): the eye patch still sees it."""
    sim = simulate(60, 30.0, 3, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t
    for k, start in enumerate((10.0, 20.0, 30.0, 40.0)):
        hold = (t >= start) & (t < start + 0.4)
        sim.close(hold, k % 2, 0.97, mesh=0.22)
        sim.eye_open[hold, 1 - k % 2] *= 0.87  # the mesh drags the other eye along
    found = spasms(batch(sim).events)
    assert [(e.side, round(e.onset_s)) for e in found] == [("left", 10), ("right", 20), ("left", 30), ("right", 40)]


def test_a_lopsided_look_the_mesh_does_not_share_is_no_spasm():
    """One eye patch reads a little more closed for a second (light, gaze, a lock of hair) while
    MediaPipe finds both eyes alike: no spasm."""
    sim = simulate(60, 30.0, 4, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t
    sim.edge[(t >= 20) & (t < 21.5), 0] *= 0.5
    assert spasms(batch(sim).events) == []


def test_an_eye_patch_changed_by_a_head_turn_needs_the_mesh_to_agree():
    """Turning the head changes what the camera sees of each eye: one patch can read 30 % more
    closed while the mesh, in a head-fixed frame, barely moves.  With the head still, that much
    mesh support makes a spasm; while it turns 10 degrees it does not, and a real closure that
    the mesh follows is found whether the head turns or not."""
    from twitchcam.core.features import POSE_COLUMNS

    sim = simulate(80, 30.0, 7, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t
    pose = sim.pose()
    yaw = pose[:, POSE_COLUMNS.index("yaw")]
    for start in (20.0, 40.0, 60.0):
        span = (t >= start) & (t < start + 0.8)
        if start != 40.0:
            yaw[span] = np.interp(t[span], [start, start + 0.3], [0.0, -10.0])  # a turn ...
            yaw[t >= start + 0.3] = -10.0 if start == 20.0 else 0.0
        if start == 60.0:
            sim.close(span, 1, 0.6)  # a real one-sided closure during a turn
        else:
            sim.edge[span, 1] *= 0.55  # ... or only the patch's look changes,
            sim.blink[span, 1] += 0.08  # with a little of the blendshape
    yaw[t >= 60.8] = 0.0
    found = detect_features(t, pose, sim.features(), sim.fps, PipelineParams()).events
    assert [(e.side, round(e.onset_s)) for e in spasms(found)] == [("right", 40), ("right", 60)]
    chain = SignalChain(sim.fps, PipelineParams())
    raw, streamed = sim.features(), []
    for i in range(t.size):
        streamed += chain.process(i, float(t[i]), FrameFeatures(True, tuple(pose[i]), raw[i])).events
    streamed += chain.finish(float(t[-1] + 1 / sim.fps))
    assert [e.key() for e in streamed] == [e.key() for e in found]


def test_a_mesh_collapse_on_a_head_turned_far_from_its_usual_yaw_needs_the_eyes_own_pixels():
    """Laughing with the head turned far from its usual pose: MediaPipe's mesh can collapse onto
    the foreshortened far eye while the eye itself stays open.  With the head at its usual yaw the
    mesh alone still makes a spasm, and a real closure of the turned head's eye is still found."""
    from twitchcam.core.features import POSE_COLUMNS

    sim = simulate(50, 30.0, 8, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t
    pose = sim.pose()
    yaw = pose[:, POSE_COLUMNS.index("yaw")]
    yaw[:] = np.random.default_rng(0).normal(0.0, 1.0, t.size)
    yaw[(t >= 28) & (t < 45)] += 25.0  # turned, and held there
    for start in (20.0, 33.0):  # the mesh alone closes the right eye, the patch stays open
        span = (t >= start) & (t < start + 0.5)
        sim.eye_open[span, 1] *= 1.0 - 0.95 * 0.8
        sim.blink[span, 1] = 0.05 + 0.8 * 0.8
    sim.close((t >= 38) & (t < 38.5), 1, 0.7)  # a real closure, the head still turned
    found = detect_features(t, pose, sim.features(), sim.fps, PipelineParams()).events
    assert [(e.side, round(e.onset_s)) for e in spasms(found)] == [("right", 20), ("right", 38)]


def test_eyes_both_nearly_shut_are_not_compared():
    """Crying or looking down: both lids almost shut, one patch reads a little more open."""
    sim = simulate(60, 30.0, 5, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    shut = (sim.t >= 20) & (sim.t < 23)
    sim.close(shut, 0, 0.9)
    sim.close(shut, 1, 0.9)
    sim.edge[shut, 1] /= 0.5
    assert spasms(batch(sim).events) == []


def test_clonic_train_is_one_event_with_its_twitches_and_tonic_hold_is_tonic():
    sim = simulate(300, 30.0, 3, sides=("right",), blinks_per_min=5)
    events = spasms(batch(sim).events, "right")
    checked = 0
    for t in [t for t in sim.truth if t.side == "right"]:
        match = [e for e in events if abs(e.onset_s - t.onset_s) < 0.1]
        assert len(match) == 1, t
        assert match[0].kind == t.kind
        if t.kind == "clonic":
            assert match[0].twitches == t.twitches
        checked += 1
    assert checked >= 10


def test_thresholds_adapt_to_the_person():
    """A face twice as far away (half the lid gap), another resting asymmetry, another eye
    patch: the same events."""
    sim = simulate(200, 30.0, 5, sides=("left", "right"))
    far = dataclasses.replace(sim, eye_open=sim.eye_open * np.array([0.5, 0.35]), edge=sim.edge * np.array([0.8, 1.1]))
    a = [(round(e.onset_s, 3), e.side, e.kind) for e in batch(sim).events]
    b = [(round(e.onset_s, 3), e.side, e.kind) for e in batch(far).events]
    assert a and a == b


def test_invalid_frames_never_produce_events():
    sim = simulate(120, 30.0, 2, sides=("left",), dropouts=0)
    sim.valid[:] = False
    assert batch(sim).events == []
    assert stream(sim)[0] == []


def test_closure_during_face_loss_is_not_an_event():
    sim = simulate(60, 30.0, 4, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    lost = np.zeros(sim.t.size, dtype=bool)
    lost[900:960] = True
    sim.close(lost, 0, 1.0)  # 'closed' left eye, but the face is flagged lost
    sim.valid[lost] = False
    assert spasms(batch(sim).events) == []


def test_mouth_alone_never_makes_a_spasm():
    sim = simulate(120, 30.0, 6, spasms_per_min=0, blinks_per_min=0)
    for k in range(20):  # one-sided mouth pulls with no eye closure
        a = 150 + k * 150
        sim.mouth[a:a + 15, 0] += 0.3
    assert spasms(batch(sim).events) == []


def test_same_side_mouth_pull_marks_eye_plus_mouth_region():
    sim = simulate(300, 30.0, 7, sides=("left",), mouth_share=0.5)
    events = spasms(batch(sim).events, "left")
    truth = [t for t in sim.truth if t.side == "left"]
    agree = 0
    for t in truth:
        m = [e for e in events if abs(e.onset_s - t.onset_s) < 0.15]
        if m:
            agree += (m[0].region == "eye+mouth") == t.mouth
    assert agree >= 0.9 * len(truth)


def test_mouth_co_contraction_lowers_the_eye_threshold():
    p = DetectorParams()
    sim = simulate(60, 30.0, 8, spasms_per_min=0, blinks_per_min=0, dropouts=0, talking=False, noise=0.002)
    t = sim.t
    weak = (t > 20) & (t < 20.5)  # a closure between the boosted and the normal 'on' level
    sim.close(weak, 0, 0.85 * p.spasm_on / 0.65 * 0.85)
    plain = spasms(batch(sim).events, "left")
    sim.mouth[(t > 19.95) & (t < 20.6), 0] += 0.3
    boosted = spasms(batch(sim).events, "left")
    assert plain == [] and len(boosted) == 1 and boosted[0].region == "eye+mouth"


def test_co_contraction_means_the_mouth_starts_with_the_eye():
    """eye+mouth needs a same-side pull that STARTS with a twitch (DOMAIN: within ~100 ms);
    a corner moving later in a long hold (talking through it) or already pulled does not count."""
    def hold_with_pull(pull_from_s: float, pull_to_s: float) -> list:
        sim = simulate(60, 30.0, 8, spasms_per_min=0, blinks_per_min=0, dropouts=0, talking=False, noise=0.002)
        t = sim.t
        sim.close((t > 20) & (t < 23), 0, 0.75)  # a 3-s tonic hold, left eye
        sim.mouth[(t > pull_from_s) & (t < pull_to_s), 0] += 0.3
        return spasms(batch(sim).events, "left")

    for pull, region in (((20.0, 20.6), "eye+mouth"),  # with the lid
                         ((21.5, 22.0), "eye"),  # mid-hold, 1.5 s after the lid closed
                         ((15.0, 22.0), "eye")):  # already pulled long before
        events = hold_with_pull(*pull)
        assert len(events) == 1 and events[0].kind == "tonic", (pull, events)
        assert events[0].region == region, (pull, events)


def test_live_latency_is_within_250ms_of_the_event_end():
    """A spasm is reported once its first twitch is confirmed: single twitches, blinks and
    tonic holds within 250 ms of their end, trains while they may still be growing."""
    sim = simulate(600, 30.0, 9, sides=("left", "right"))
    events, _ = stream(sim)
    single = [e.detected_at_s - e.offset_s for e in events if e.twitches == 1]
    assert len(single) > 100 and 0 <= min(single) and max(single) <= 0.25
    trains = [e for e in events if e.twitches > 1]
    assert trains and all(e.onset_s < e.detected_at_s <= e.offset_s + 0.25 for e in trains)


def test_memory_stays_flat():
    sim = simulate(900, 30.0, 10, sides=("left",), spasms_per_min=20, dropouts=5)
    _, det = stream(sim)
    assert len(det.two_sided.ended) < 5 and all(len(side.mouth_runs) < 5 for side in det.sides)
    assert all(len(side.train.twitches) < 10 for side in det.sides) and len(det.blinks.queue) < 3


def test_events_in_the_first_second_are_judged_once_the_person_is_known():
    """The person's statistics need calibration_s of face: the frames before are kept and
    judged as soon as they are known, so a blink at 0.3 s and a wink at 0.6 s are found (and
    reported no earlier than calibration ends), the same frame by frame as from storage."""
    from twitchcam.core.simulate import _pulse

    sim = simulate(20, 30.0, 11, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    for s in (0, 1):
        level = _pulse(sim.t, 0.3, 0.1)
        sim.close(level > 0, s, level[level > 0])
    level = _pulse(sim.t, 0.6, 0.15)
    sim.close(level > 0, 1, level[level > 0])
    events, _ = stream(sim)
    calib = DetectorParams().calibration_s
    assert [(e.side, round(e.onset_s, 1)) for e in events] == [("both", 0.3), ("right", 0.6)]
    assert all(e.detected_at_s >= calib - 1 / 30.0 - 1e-9 for e in events)  # the frame that completes it
    assert [e.key() for e in batch(sim).events] == [e.key() for e in events]


def test_lids_lowered_before_a_blink_do_not_make_it_too_long():
    """Lids half lowered for most of a second (looking down), then a blink: the two-sided run
    starts with the lowering, but above half its peak it lasted as long as a blink, so it is
    one."""
    from twitchcam.core.simulate import _pulse

    sim = simulate(40, 30.0, 12, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    for s in (0, 1):
        level = np.maximum(0.3 * ((sim.t > 19.3) & (sim.t < 20.3)), _pulse(sim.t, 20.0, 0.1))
        sim.close(level > 0, s, level[level > 0])
    events = batch(sim).events
    assert [(e.side, round(e.onset_s, 1)) for e in events] == [("both", 20.0)]


def test_tonic_hold_survives_a_blink_of_the_other_eye():
    """The other eye blinking mid-spasm blinds laterality briefly; the hold stays one tonic event."""
    sim = simulate(40, 30.0, 12, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t
    sim.close((t >= 20.0) & (t < 22.0), 0, 0.75)
    sim.close((t >= 20.9) & (t < 21.1), 1, 0.9)  # splits the hold into two 0.9-s halves if not held through
    assert [(e.side, e.kind, e.twitches) for e in spasms(batch(sim).events)] == [("left", "tonic", 1)]
    assert [e.key() for e in stream(sim)[0]] == [e.key() for e in batch(sim).events]
    # A long blind stretch (both eyes closed for seconds) is not held: the spasm ends there.
    sim.close((t >= 21.0) & (t < 24.0), 1, 0.9)
    assert all(e.offset_s <= 21.1 for e in spasms(batch(sim).events, "left"))
    assert [e.key() for e in stream(sim)[0]] == [e.key() for e in batch(sim).events]


def test_a_twitch_found_in_a_blink_joins_its_train_in_time_order():
    """Recorded from `live` on an MJPEG stream (tests/data): a left train whose second twitch
    hides in a natural blink.  That twitch is judged only after the blink, once a later
    twitch is already in the train; it still joins the one train, in time order, and no
    event ends before it begins."""
    import pandas as pd

    import twitchcam

    frames = pd.read_csv(Path(__file__).parent / "data" / "live_blink_in_train.csv")
    events = twitchcam.detect(frames, fps=30.0).events
    left = events[events.side == "left"]
    assert (events.offset >= events.onset).all(), events
    assert len(left) == 1 and left.onset.iloc[0] == pytest.approx(3.5, abs=0.05), events
    assert left.offset.iloc[0] > 4.5 and left.twitches.iloc[0] >= 4, events


def test_a_blink_during_a_long_one_sided_hold_is_no_spasm_of_the_other_side():
    """A lid already half shut for seconds joins a natural blink late and leaves it early:
    its half-peak timing says nothing, so the open side gets no spasm out of that blink."""
    from twitchcam.core.simulate import _pulse

    sim = simulate(30, 30.0, 3, spasms_per_min=0.0, blinks_per_min=0.0)
    t = sim.t
    sim.close((t >= 10.0) & (t < 15.2), 0, 0.5)  # the left lid half shut for 5 s
    blink = _pulse(t, 15.0, 0.05, rise=0.15, fall=0.25)  # a slow natural blink
    for s in (0, 1):
        m = blink > 0
        sim.eye_open[m, s] *= 1 - 0.95 * blink[m]
        sim.edge[m, s] *= 1 - 0.65 * blink[m]
        sim.blink[m, s] = np.maximum(sim.blink[m, s], 0.05 + 0.8 * blink[m])
    events, _ = stream(sim)
    assert [e.side for e in spasms(events)] == ["left"], events


# -- real faces without HFS (issue 16): uneven blinks, one-sided expressions -------------------
def _blinks_with_a_late_lid(sim, onsets, late_s, hold=0.1, late_side=1, depth=1.0):
    from twitchcam.core.simulate import _pulse

    for onset in onsets:
        for s in (0, 1):
            level = depth * _pulse(sim.t, onset + (late_s if s == late_side else 0.0), hold)
            sim.close(level > 0, s, level[level > 0])


@pytest.mark.parametrize("fps", [12.0, 15.0, 25.0, 30.0])
def test_a_blink_with_one_lid_a_frame_late_is_no_spasm(fps):
    """Real blinks often have one lid 1 frame behind the other (DOMAIN, real footage): at
    any frame rate, a one-frame lag is never evidence of a spasm."""
    sim = simulate(60, fps, 21, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    _blinks_with_a_late_lid(sim, np.arange(5.0, 58.0, 3.0), late_s=1.0 / fps)
    events = batch(sim).events
    assert len([e for e in events if e.side == "both"]) >= 15
    assert spasms(events) == []


def test_a_lid_clearly_leading_a_blink_is_still_a_spasm():
    """The same blinks, but one lid closes 120 ms (four frames) before the other: the closure
    difference is large and lasts, so it is a spasm overlapping the blink, with its evidence."""
    sim = simulate(60, 30.0, 22, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    _blinks_with_a_late_lid(sim, (20.0, 40.0), late_s=0.12, late_side=1)
    found = spasms(batch(sim).events)
    assert [(e.side, round(e.onset_s)) for e in found] == [("left", 20), ("left", 40)]
    assert all(e.is_spasm and e.asym >= 0.5 and e.confidence >= 0.5 and "appearance" in e.sources for e in found)


def test_a_person_whose_blinks_are_all_uneven_is_judged_against_their_own_blinks():
    """Someone whose upper lid on one side always trails the other by 100 ms (three frames) at
    a moderate depth: once their own blinks are known, such a blink is within their range."""
    sim = simulate(90, 30.0, 23, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    _blinks_with_a_late_lid(sim, np.arange(3.0, 88.0, 2.5), late_s=0.1, depth=0.7)
    found = spasms(batch(sim).events)
    assert len(found) <= 5 and all(e.onset_s < 20.0 for e in found), [(e.onset_s, e.asym) for e in found]


def test_a_one_sided_smile_is_possible_not_counted():
    """A one-sided smile narrows that eye partway (closure ~0.3) for most of a second while the
    same-side mouth corner rises far more than a spasm pulls it: it is listed as 'possible',
    never counted, while a wink of the same length with the same smile is counted."""
    from twitchcam.core.events import POSSIBLE
    from twitchcam.core.simulate import _pulse

    sim = simulate(60, 30.0, 24, spasms_per_min=0, blinks_per_min=0, dropouts=0, talking=False)
    for onset, depth in ((20.0, 0.3), (40.0, 0.95)):
        level = depth * _pulse(sim.t, onset, 0.6, rise=0.15, fall=0.15)
        sim.close(level > 0, 0, level[level > 0])
        sim.mouth[:, 0] += 0.5 * _pulse(sim.t, onset - 0.1, 0.7, rise=0.2, fall=0.2)
    events = batch(sim).events
    one_sided = [(e.side, round(e.onset_s), e.kind) for e in events if e.side != "both"]
    assert one_sided == [("left", 20, POSSIBLE), ("left", 40, "clonic")]
    assert [e.is_spasm for e in events if e.side != "both"] == [False, True]
    assert events[0].confidence < 0.5 <= events[1].confidence


def test_arrival_time_jitter_and_dropped_frames_change_no_event():
    """Live timestamps are arrival times (jitter of a few ms) and a busy machine drops a frame
    now and then: the evidence is counted in frames and closure differences, not in sub-frame
    timing, so the same spasms and blinks are found, each within a frame or two."""
    sim = simulate(180, 30.0, 25, sides=("left", "right"), lead_share=0.3, blinks_per_min=17)
    rng = np.random.default_rng(25)
    keep = rng.random(sim.t.size) > 0.02  # ~2 % of frames dropped
    keep[:60] = True
    t = sim.t + rng.uniform(-0.008, 0.008, sim.t.size)
    clean = batch(sim).events
    rough = detect_features(t[keep], sim.pose()[keep], sim.features()[keep], sim.fps, PipelineParams()).events

    def pairs(events):
        return [(e.side, e.is_spasm, e.onset_s) for e in events]

    a, b = pairs(clean), pairs(rough)
    assert sum(x[1] for x in a if x[0] != "both") >= 8
    unmatched = [x for x in a if not any(y[:2] == x[:2] and abs(y[2] - x[2]) <= 0.1 for y in b)]
    extra = [y for y in b if not any(y[:2] == x[:2] and abs(y[2] - x[2]) <= 0.1 for x in a)]
    assert len(unmatched) <= 1 and len(extra) <= 1, (unmatched, extra)
    assert not [y for y in extra if y[0] != "both" and y[1]], extra  # no spasm made by jitter


def test_below_the_frame_rate_that_shows_a_twitch_nothing_is_counted():
    """At 2 frames/s a 90-250 ms twitch falls between frames, and a closure caught on one
    frame looks 'tonic': such a recording lists one-sided closures as possible, never as
    spasms (issue 17: a 1-fps hour gave 75 tonic spasms and an affected side)."""
    from twitchcam.core.summary import FrameTotals, summarize

    sim = simulate(600, 2.0, 26, spasms_per_min=6, sides=("right",), dropouts=0)
    found = batch(sim)
    assert spasms(found.events) and not [e for e in found.events if e.is_spasm and e.side != "both"]
    totals = FrameTotals.of(sim.t, found.valid, found.closure, sim.fps)
    summary = summarize(totals, found.events, {"fps": sim.fps})
    assert summary["too_slow_for_spasms"] and summary["spasms"]["right"]["count"] == 0
    assert summary["affected_side"] is None


def test_a_sides_own_frequent_spasms_do_not_raise_its_on_level():
    """A patient twitching often on one side: the one-sided opening's spread is its jitter,
    not its spasms, or each spasm would hide the next ones."""
    from twitchcam.core.detector.person import side_stats

    rng = np.random.default_rng(0)
    p = DetectorParams()
    quiet = rng.normal(0.0, 0.08, 600)
    twitching = quiet.copy()
    twitching[rng.random(600) < 0.2] += 0.5  # a fifth of the frames inside a twitch
    window = np.ones((3, 600))
    alone, with_spasms = side_stats(window, quiet, p), side_stats(window, twitching, p)
    assert alone.on == pytest.approx(p.noise_k * 0.08, rel=0.15)
    assert with_spasms.on <= 1.1 * alone.on
    unclipped = side_stats(window, twitching, dataclasses.replace(p, noise_clip=1e6))
    assert unclipped.on > 1.2 * alone.on  # what the clipping removes


def _partial_twitches(n: int, mesh: bool = True, fps: float = 30.0, seed: int = 0):
    """20 s of a face whose eye patches jitter (the right eye's 'on' level ~0.3), then n one-frame
    twitches of the right eye 0.2 s apart, a quarter closed by every source (its one-sided
    opening 0.25: over 'off', under 'on'), or, without `mesh`, by its eye patch alone."""
    from twitchcam.core.detector import StreamingDetector

    rng = np.random.default_rng(seed)
    det = StreamingDetector(fps, DetectorParams())
    dips = {round((20.0 + 0.2 * k) * fps) for k in range(n)}
    events, frames = [], int(25 * fps)
    for i in range(frames):
        eyes = []
        for side in (0, 1):
            c = 0.25 if side == 1 and i in dips else 0.0
            a = 0.6 * (1 - (c if mesh else 2 * c)) * (1 + (0.0 if i in dips else rng.normal(0, 0.11)))
            eyes.append((0.25 * (1 - c), a, 0.05 + 0.95 * c) if mesh else (0.25, a, 0.05))
        events += det.update(i / fps, True, tuple(eyes), (0.0, 0.0))
    assert det.sides[1].stats.off < 0.25 < det.sides[1].stats.on
    return spasms(events + det.finish(frames / fps))


def test_a_long_train_of_partial_twitches_under_the_on_level_is_a_spasm():
    """Each twitch alone is within the face's own jitter; four or more in one train, seen by
    the mesh too, pool their frames (weak_twitches)."""
    assert _partial_twitches(3) == []
    found = _partial_twitches(6)
    assert [(e.side, e.kind, e.twitches) for e in found] == [("right", "clonic", 6)]
    assert found[0].confidence >= DetectorParams().confident and found[0].onset_s == pytest.approx(20.0, abs=0.05)


def test_a_train_of_eye_patch_flickers_the_mesh_does_not_share_is_no_spasm():
    assert _partial_twitches(6, mesh=False) == []


def test_twitches_touching_a_two_sided_narrowing_that_is_no_blink_are_counted():
    """Both eyes narrow a quarter (a squint, the mesh dragging the other eye along) for 0.4 s,
    then for 0.9 s, longer than a blink, while the left lid twitches shut four times: the
    two-sided closure opened with it never reaches 'on' nor closes the eyes alike, so it is no
    blink and swallows none of them.  Whether a twitch is a blink's edge is decided once the
    two-sided closure has shown what it is."""
    from twitchcam.core.simulate import _pulse

    sim = simulate(60, 30.0, 10, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t
    for onset, narrowed in ((20.0, 0.4), (40.0, 0.9)):
        squint = (t >= onset + 0.15) & (t < onset + 0.15 + narrowed)
        for s in (0, 1):
            sim.close(squint, s, 0.25)
        for k in range(4):
            level = _pulse(t, onset + 0.2 * k, 0.05)
            sim.close(level > 0, 0, level[level > 0])
    events = batch(sim).events
    assert [(e.side, round(e.onset_s, 1), e.twitches) for e in spasms(events)] == [("left", 20.0, 4), ("left", 40.0, 4)]
    assert not [e for e in events if e.side == "both"]
    assert [e.key() for e in stream(sim)[0]] == [e.key() for e in events]


def test_a_fast_train_whose_twitches_drag_the_other_eye_into_partial_blinks_is_a_spasm():
    """Five one-frame left twitches 150 ms apart, each dragging the right eye two thirds as far
    (the mesh follows a closing lid into the other eye): each twitch's two-sided closure looks
    like an incomplete blink, whose edges are no evidence of their own.  But people do not make
    five partial blinks in 0.7 s with the same lid deeper each time: the twitches pool their
    frames as weak ones do, and the train counts."""
    from twitchcam.core.simulate import _pulse

    sim = simulate(60, 30.0, 11, spasms_per_min=0, blinks_per_min=0, dropouts=0)
    t = sim.t
    for onset in (20.0, 40.0):
        for k in range(5):
            level = _pulse(t, onset + 0.15 * k, 0.02, rise=0.03, fall=0.04)
            on = level > 0
            sim.close(on, 0, 0.55 * level[on])
            sim.close(on, 1, 0.36 * level[on])
    events = batch(sim).events
    assert [(e.side, e.kind, round(e.onset_s, 1), e.twitches) for e in events] == \
        [("left", "clonic", 20.0, 5), ("left", "clonic", 40.0, 5)]
    assert [e.key() for e in stream(sim)[0]] == [e.key() for e in events]
