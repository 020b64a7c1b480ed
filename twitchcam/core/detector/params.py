"""The detector's parameters (one frozen record, checked before anything is created)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

MIN_TWITCH_FPS = 8.0  # below this a 90-250 ms twitch may fall between frames: nothing one-sided is counted


@dataclass(frozen=True)
class DetectorParams:
    baseline_window_s: float = 20.0  # open-eye level: quantile over this much valid time
    open_quantile: float = 0.9
    rest_quantile: float = 0.2  # a blendshape's resting level (it rises as the eye closes)
    update_every_s: float = 1.0  # how often the person's statistics are refreshed
    calibration_s: float = 1.0  # valid time needed before any event can be reported
    lateral_appearance: float = 1.0  # how much each source counts in the one-sided opening: the
    lateral_geometry: float = 0.5  # eye's own pixels most, the mesh (which drags the open eye along
    lateral_blendshape: float = 0.5  # with a closing one) half
    mesh_support: float = 0.05  # a one-sided run counts only if the mesh (geometry or blendshape)
    #   finds that eye at least this much more closed than the other too, on average over the run
    turn_deg: float = 6.0  # a head turning this much (yaw range over the run and turn_before_s
    turn_before_s: float = 0.3  # before it) changes what the camera sees of each eye, so ...
    turn_support: float = 0.125  # ... the mesh (head-fixed, blind to the turn) must support it this much
    far_yaw_deg: float = 15.0  # a head turned this far from its usual yaw (the median of its recent valid
    #   frames; half of where DOMAIN says eye signals fail) shows the far eye foreshortened, and the mesh
    #   fitted to it may collapse: the eye's own pixels must find it closed too, or the run is no evidence
    spasm_on: float = 0.2  # floor of the one-sided 'on' level (relative opening difference)
    other_open_min: float = 0.5  # laterality is judged only while the other eye is this open ...
    other_closed_max: float = 0.5  # ... and no source finds it more closed than this
    open_max: float = 1.5  # an eye 'more open' than this x its open level means a stale baseline
    blink_on: float = 0.35  # floor of the two-sided 'on' level
    blink_symmetry: float = 0.5  # a blink closes both eyes alike: min >= this * max
    incomplete_symmetry: float = 0.65  # a two-sided closure that stays under blink_on, as brief as a blink,
    #   is an incomplete blink if it closes both eyes at least this alike (min >= this * max): natural
    #   partial blinks reach it (96 % of 558 in the synthetic set's base videos, 20 of 23 on real clips),
    #   closures that overlap an injected one-sided spasm rarely do (17 of 433)
    blink_floor_s: float = 1.0  # a blink rises above the lowest two-sided closure of this recent past
    blink_max_s: float = 0.5  # longer two-sided closures (smiling, looking down) are no blinks; DOMAIN: 100-400 ms
    noise_k: float = 4.0  # 'on' is at least noise_k robust SDs of the one-sided opening's own spread
    noise_clip: float = 3.0  # ... measured without the frames beyond this many of them (its own spasms)
    off_ratio: float = 0.5  # 'off' level = off_ratio * 'on'
    mouth_rise: float = 0.14  # one corner rising this much over the other (face units) is a pull
    mouth_floor_s: float = 0.5  # ... measured from its lowest level over this recent past
    mouth_boost: float = 0.75  # eye 'on' level is multiplied by this during a same-side pull
    min_event_s: float = 0.03  # one frame up to 33 fps: a 90-ms twitch may cross 'on' on one frame only ...
    pool_twitches: int = 2  # ... which is no evidence alone (see Asymmetry.held), but this many such
    #   twitches of a train pool their frames: their difference held over a third of them all
    weak_twitches: int = 4  # a twitch that crosses only 'off' (a partial one on a face whose own jitter
    weak_max_s: float = 0.25  # hides it), no longer than a twitch lasts (DOMAIN: 90-250 ms) and seen by
    #   the mesh too, is no evidence alone; a train with this many twitches counting these pools their frames
    merge_gap_s: float = 0.3  # twitches closer than this form one clonic train (DOMAIN: 150-300 ms)
    tonic_s: float = 1.0
    blink_absorb_s: float = 0.07  # about two frames at 30 fps
    onset_back_s: float = 0.15  # how far the tangent method may move an onset back
    blink_edge_s: float = 0.15  # one-sided closures this brief touching a two-sided one are its edge
    blink_lead_s: float = 0.02  # a lid closing this much earlier than the other in a blink is a spasm...
    blink_trail_s: float = 0.04  # ...and so is one reopening this much later (natural blinks: < 0.015 s)
    blink_lag_frames: float = 1.25  # ... and this many frame periods (a one-frame lag, with a little jitter, is none)
    blink_judge_s: float = 0.3  # a blink's sides are compared this long after it ends (a trailing lid)
    cocontraction_rise: float = 0.10  # a same-side pull of this much (a weaker one than mouth_rise)...
    cocontraction_s: float = 0.1  # ...starting from this long before a twitch's onset...
    mouth_lag_s: float = 0.3  # ...to this long after it marks eye+mouth (<= merge_gap_s + min_event_s)
    asym_floor: float = 0.05  # confidence: an eyes' closure difference (Evidence.asym) of this is no evidence...
    asym_full: float = 0.2  # ... and this much is full evidence
    source_agree: float = 0.1  # a source agrees when it finds the eye this much more closed than the other
    confident: float = 0.5  # spasms this sure are counted; the rest are listed as 'possible'
    smile_rise: float = 0.35  # a smile: the same-side mouth corner rising this much (a spasm's pull: ~0.1-0.25) ...
    smile_asym: float = 0.45  # ... while the eye narrows less than this (a wink, a full spasm: ~0.55), or
    #   less than the corner rose (real smirks: eye 0.28-0.5, corner 0.44-0.78; real winks: 0.55-0.6, <= 0.41)
    blink_asym_min: float = 0.1  # a lid leading/trailing a blink is evidence only with at least this asym ...
    blink_asym_margin: float = 0.1  # ... and this much beyond the person's usual blink (the lower quartile
    #   of their recent blinks' asym: robust to the blinks that do hold a spasm, as long as most do not) ...
    blink_asym_prior: float = 0.3  # ... or, before blink_known of their blinks were judged, beyond people's
    blink_known: int = 5  # uneven blinks in general (the top of natural blinks' asym, see README)

    def to_dict(self) -> dict:
        return asdict(self)

    def problems(self) -> list[tuple[str, str]]:
        """(field, what is wrong) for each unusable value (empty when all are fine): every value a
        finite number >= 0, at most an hour (the *_s durations) or a million, shares and
        quantiles within 0..1, some more than 0."""
        out = []
        for name, v in asdict(self).items():
            top = 1.0 if name in UNIT_INTERVAL else 3600.0 if name.endswith("_s") else 1e6
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                out.append((name, f"must be a finite number, not {v!r}"))
            elif not 0 <= v <= top or (v == 0 and name in POSITIVE):
                out.append((name, f"must be {'more than' if name in POSITIVE else 'at least'} 0 and at most {top:g}, "
                                  f"not {v!r}"))
        return out


# DetectorParams fields that are shares or quantiles (0..1), and those that must not be 0
UNIT_INTERVAL = {"open_quantile", "rest_quantile", "off_ratio", "confident", "blink_symmetry", "incomplete_symmetry",
                 "other_open_min", "mouth_boost"}
POSITIVE = {"baseline_window_s", "update_every_s", "off_ratio", "open_max"}
