"""The per-side summary table a command prints on stdout."""
from __future__ import annotations

from twitchcam.core.anatomy import SIDES


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def summary_table(name: str, s: dict) -> str:
    lines = [f"{name}: {s['duration_s']:.1f} s recorded, face tracked {s['valid_s']:.1f} s"
             f" ({s['status']})"]
    if s["no_face"]:
        lines.append("  no face found: nothing was analysed, no events reported")
        return "\n".join(lines)
    lines.append(f"  {'side':<6} {'spasms':>6} {'per min':>8} {'clonic':>6} {'tonic':>5} {'mean s':>6} "
                 f"{'max s':>6} {'closed':>7} {'+mouth':>6}")
    for side in SIDES:
        d = s["spasms"][side]
        closed = None if d["closed_fraction"] is None else 100 * d["closed_fraction"]
        lines.append(f"  {side:<6} {d['count']:>6} {_fmt(d['per_min'], '8.2f'):>8} {d['clonic']:>6} "
                     f"{d['tonic']:>5} {_fmt(d['mean_duration_s'], '6.2f'):>6} {_fmt(d['max_duration_s'], '6.2f'):>6}"
                     f" {_fmt(closed, '6.1f') + '%':>7} {d['with_mouth']:>6}")
    b = s["blinks"]
    lines.append(f"  blinks {b['count']} ({_fmt(b['per_min'], '.1f')}/min); affected side: "
                 f"{s['affected_side'] or 'none identified'}")
    return "\n".join(lines)
