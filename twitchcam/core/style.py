"""How sides look, wherever they are shown (live window, report): the one home of their
names and colours, so the two can never disagree again.

Okabe-Ito blue and vermillion: told apart by colour-blind readers too.
"""
from __future__ import annotations

SIDE_NAME = {"left": "Patient's left", "right": "Patient's right"}
SIDE_COLOUR = {"left": "#0072B2", "right": "#D55E00"}
SIDE_TINT = {"left": "#8fbfe0", "right": "#f0b48c"}  # the lighter shade: clonic bars, fills


def bgr(colour: str) -> tuple[int, int, int]:
    """'#RRGGBB' as OpenCV's (B, G, R)."""
    r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
    return b, g, r
