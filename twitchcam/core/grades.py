"""Estimated clinical grades from a session summary -- ESTIMATES, never a diagnosis.

The mapping from camera measurements to the Jankovic Rating Scale (frequency item) and to
an SMC-style spread grade (after Lee 2012) is twitchcam's own proposal (DOMAIN.md says so):
the scales were designed for a clinician watching the patient, not for a webcam.  Every
grade therefore carries the rule that produced it and the measured values it was based on,
so a reader can check or overrule it.

Input is the ``summary.json`` dict (see the session folder contract); nothing else.  The
functions are pure and cheap, so the report can call them and summary.py may store their
output under ``summary["grades"]``.

Rules (per side; the report shows the affected side):

Jankovic frequency (0-4)
  - not estimable: no valid (face-tracked) time;
  - 4: the eye was closed (closure >= 0.5) for more than 50 % of valid time;
  - 3: at least one spasm lasted >= 1 s (tonic, or longest spasm >= 1 s);
  - 2: spasms present, all shorter than 1 s (eyelid fluttering);
  - 1: no one-sided spasms, blink rate above BLINK_RATE_HIGH per valid minute;
  - 0: no one-sided spasms, blink rate not raised.

SMC-style spread (I-III; IV is not assessed)
  - not estimable: no valid time;  "none": no spasms on that side;
  - III: tonic spasms at >= TONIC_FREQUENT_PER_MIN per valid minute AND the eye closed
    >= CLOSED_INTERFERES of valid time ("frequent tonic spasms that interfere with vision");
  - II: >= MOUTH_MIN_SHARE of that side's spasms (and at least MOUTH_MIN_COUNT) also moved
    the same-side mouth corner (spread beyond the eye);
  - I: spasms confined to the eye.
  - IV (disfiguring asymmetry) needs a clinical examination and is never estimated.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from twitchcam.core.anatomy import SIDES
from twitchcam.core.summary import finite

#: Blink rate above which "slightly increased blinking" (JRS frequency 1) is estimated.
#: ~17/min is typical at rest and ~26/min while talking (Bentivoglio 1997).
BLINK_RATE_HIGH = 26.0
#: Duration boundary of the JRS frequency item (and of tonic spasms), seconds.
LONG_SPASM_S = 1.0
#: Share of valid time with the eye closed above which JRS frequency 4 is estimated.
CLOSED_MOSTLY = 0.5
#: SMC-style grade II: share / count of spasms with same-side mouth involvement.
MOUTH_MIN_SHARE = 0.10
MOUTH_MIN_COUNT = 2
#: SMC-style grade III: tonic spasms per valid minute, and share of valid time closed.
TONIC_FREQUENT_PER_MIN = 0.2
CLOSED_INTERFERES = 0.10
#: Valid time below which grades are flagged as low confidence, seconds.
SHORT_VALID_S = 300.0

JANKOVIC_RULE = (
    "Estimated from the camera by twitchcam's own rule, not a clinical rating: "
    "4 if the eye was closed for more than 50 % of valid time; 3 if any spasm lasted 1 s or "
    "longer; 2 if spasms were present but all shorter than 1 s; 1 if there were no one-sided "
    f"spasms but blinking exceeded {BLINK_RATE_HIGH:g}/min; otherwise 0."
)
SMC_RULE = (
    "Estimated from the camera by twitchcam's own rule, after the SMC grade (Lee 2012): "
    f"III if tonic spasms occurred at {TONIC_FREQUENT_PER_MIN:g}/min or more and the eye was "
    f"closed for at least {CLOSED_INTERFERES:.0%} of valid time; II if at least "
    f"{MOUTH_MIN_SHARE:.0%} of spasms (and at least {MOUTH_MIN_COUNT}) also moved the same-side "
    "mouth corner; I if spasms stayed around the eye. Grade IV (disfiguring asymmetry) needs a "
    "clinical examination and is not assessed."
)
DISCLAIMER = "Estimates from webcam measurements, not a diagnosis or a clinical rating."

JANKOVIC_LABELS = {
    0: "none",
    1: "slightly increased blinking",
    2: "eyelid fluttering shorter than 1 s",
    3: "spasms of 1 s or longer, eye open more than 50 % of the time",
    4: "eye closed more than 50 % of the time",
}
SMC_LABELS = {
    "I": "periocular only",
    "II": "spread to the same-side mouth",
    "III": "frequent tonic spasms interfering with vision",
}


@dataclass(frozen=True)
class Grade:
    scale: str  # "jankovic_frequency" | "smc_spread"
    side: str | None
    grade: int | str | None  # None = not estimable; "none" = no spasms (SMC)
    label: str
    basis: str  # the measured values the rule looked at
    rule: str  # the whole rule
    reason: str = ""  # the branch of the rule that gave this grade
    caveats: list[str] = field(default_factory=list)
    estimate: bool = True

    @property
    def display(self) -> str:
        if self.grade is None:
            return "not estimable"
        if self.grade == "none":
            return "—"
        return str(self.grade)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["display"] = self.display
        return d


def _num(value: Any, default: float = 0.0) -> float:
    """A finite float from a summary field that may be missing, null or NaN."""
    v = finite(value)
    return default if v is None else v


def _side(summary: dict, side: str) -> dict:
    spasms = summary.get("spasms") or {}
    return spasms.get(side) or {}


def valid_seconds(summary: dict) -> float:
    return _num(summary.get("valid_s"))


def _estimable(summary: dict) -> bool:
    return valid_seconds(summary) > 0 and not summary.get("no_face", False)


def _caveats(summary: dict) -> list[str]:
    out = []
    v = valid_seconds(summary)
    if 0 < v < SHORT_VALID_S:
        out.append(f"based on only {v / 60:.1f} min of valid time: low confidence")
    status = summary.get("status")
    if status in ("interrupted", "truncated", "running"):
        out.append(f"recording {status}: covers the recorded part only")
    return out


def _not_estimable(scale: str, side: str | None, rule: str) -> Grade:
    return Grade(scale, side, None, "not estimable",
                 "no valid (face-tracked) time in this recording", rule,
                 "nothing was measured")


def jankovic_frequency(summary: dict, side: str) -> Grade:
    scale = "jankovic_frequency"
    if not _estimable(summary):
        return _not_estimable(scale, side, JANKOVIC_RULE)
    s = _side(summary, side)
    count = int(_num(s.get("count")))
    tonic = int(_num(s.get("tonic")))
    longest = _num(s.get("max_duration_s"))
    closed = _num(s.get("closed_fraction"))
    blink_rate = _num((summary.get("blinks") or {}).get("per_min"))
    basis = (f"{count} spasm(s), longest {longest:.1f} s, eye closed {closed:.0%} of valid "
             f"time, blinks {blink_rate:.1f}/min")
    if count > 0 and closed > CLOSED_MOSTLY:
        g, why = 4, f"eye closed {closed:.0%} of valid time (> 50 %)"
    elif count > 0 and (tonic > 0 or longest >= LONG_SPASM_S):
        g, why = 3, (f"longest spasm {longest:.1f} s (≥ 1 s), eye closed {closed:.0%} of valid "
                     "time (≤ 50 %)")
    elif count > 0:
        g, why = 2, f"{count} spasm(s), all shorter than 1 s (longest {longest:.2f} s)"
    elif blink_rate > BLINK_RATE_HIGH:
        g, why = 1, (f"no one-sided spasms; blinking {blink_rate:.1f}/min "
                     f"(> {BLINK_RATE_HIGH:g}/min)")
    else:
        g, why = 0, (f"no one-sided spasms; blinking {blink_rate:.1f}/min "
                     f"(≤ {BLINK_RATE_HIGH:g}/min)")
    return Grade(scale, side, g, JANKOVIC_LABELS[g], basis, JANKOVIC_RULE, why,
                 _caveats(summary))


def smc_spread(summary: dict, side: str) -> Grade:
    scale = "smc_spread"
    if not _estimable(summary):
        return _not_estimable(scale, side, SMC_RULE)
    s = _side(summary, side)
    count = int(_num(s.get("count")))
    if count == 0:
        return Grade(scale, side, "none", "no spasms detected on this side",
                     "0 spasms", SMC_RULE, "no spasms on this side", _caveats(summary))
    tonic = int(_num(s.get("tonic")))
    mouth = int(_num(s.get("with_mouth")))
    closed = _num(s.get("closed_fraction"))
    valid_min = valid_seconds(summary) / 60.0
    tonic_rate = tonic / valid_min if valid_min > 0 else 0.0
    share = mouth / count
    basis = (f"{mouth} of {count} spasm(s) with mouth ({share:.0%}), tonic "
             f"{tonic_rate:.2f}/min, eye closed {closed:.0%} of valid time")
    if tonic_rate >= TONIC_FREQUENT_PER_MIN and closed >= CLOSED_INTERFERES:
        g, why = "III", (f"tonic spasms {tonic_rate:.2f}/min (≥ {TONIC_FREQUENT_PER_MIN:g}) and "
                         f"eye closed {closed:.0%} of valid time (≥ {CLOSED_INTERFERES:.0%})")
    elif mouth >= MOUTH_MIN_COUNT and share >= MOUTH_MIN_SHARE:
        g, why = "II", (f"{mouth} of {count} spasms ({share:.0%}) also moved the same-side "
                        f"mouth corner (≥ {MOUTH_MIN_SHARE:.0%})")
    else:
        g, why = "I", (f"{mouth} of {count} spasms with the mouth: below {MOUTH_MIN_SHARE:.0%} "
                       f"or fewer than {MOUTH_MIN_COUNT}" if mouth else
                       "no spasm moved the same-side mouth corner")
    return Grade(scale, side, g, SMC_LABELS[g], basis, SMC_RULE, why, _caveats(summary))


def graded_side(summary: dict) -> str | None:
    """The side to grade: the summary's affected side, else the side with more spasms."""
    side = summary.get("affected_side")
    if side in SIDES:
        return side
    counts = {s: _num(_side(summary, s).get("count")) for s in SIDES}
    if max(counts.values()) <= 0:
        return None
    if counts["left"] == counts["right"]:
        return None
    return max(counts, key=counts.get)


def estimate(summary: dict) -> dict[str, Any]:
    """Both grades for both sides, plus the ones for the graded (affected) side.

    ``{"side": "left"|"right"|None, "jankovic_frequency": {...}, "smc_spread": {...},
    "per_side": {"left": {...}, "right": {...}}, "disclaimer": str}``.  When no side stands
    out, the primary grades are the higher of the two sides' grades.
    """
    per_side = {s: {"jankovic_frequency": jankovic_frequency(summary, s).to_dict(),
                    "smc_spread": smc_spread(summary, s).to_dict()} for s in SIDES}
    side = graded_side(summary)
    if side is not None:
        primary = per_side[side]
    else:
        primary = {
            "jankovic_frequency": max((per_side[s]["jankovic_frequency"] for s in SIDES),
                                      key=lambda g: -1 if g["grade"] is None else g["grade"]),
            "smc_spread": max((per_side[s]["smc_spread"] for s in SIDES), key=_smc_rank),
        }
    return {"side": side, **primary, "per_side": per_side, "disclaimer": DISCLAIMER}


def _smc_rank(g: dict) -> int:
    return {None: -1, "none": 0, "I": 1, "II": 2, "III": 3}.get(g["grade"], -1)
