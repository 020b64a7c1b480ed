"""The drawn-lid generator: paint an upper eyelid down over one eye.

Independent of inject.py's warp, which slides the existing lid skin and lashes down:
here the lid is a rendered surface.  Per frame and side, in the eye's own frame (u along
the eye, v image-down, from the landmarks' lid contours):

- the lid covers the eye from above: from just above the original lash line down to a
  margin that moves from the upper lid contour (level 0) to the lower lid (level 1), so a
  partial closure hides the top of the iris and leaves the rest of the eyeball visible;
- its skin is the person's own: colour per column from the upper-lid skin between lash
  line and brow (a robust median, so the crease and brow hairs do not carry over), fine
  grain from the same skin mirrored about the lid's top edge;
- it is shaded as a convex lid over the eyeball (lighter in the middle, a soft shadow
  where the margin curls in) and gets a dark lash line along the moving margin, its
  colour taken from the person's own lashes, thinning towards the corners.

Sides are the subject's own; level 0..1 is the closure (1 = fully shut).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from twitchcam.core.anatomy import SIDES, UPPER_LID
from twitchcam.synth.inject import _sorted_profile, eye_grid, lid_profiles, pull_mouth

VERSION = 3
BROW_LOWER = {"right": (46, 53, 52, 65, 55), "left": (276, 283, 282, 295, 285)}


@dataclass(frozen=True)
class LidParams:
    """Geometry in units of the eye width."""

    lash_band: float = 0.22  # original lashes/margin above the upper lid contour, covered too
    skin_band: float = 0.30  # height of lid skin above the lashes the texture comes from
    lash_width: float = 0.055  # the drawn lash line's thickness
    fade_top: float = 0.1  # soft blend of the lid's top edge into the skin above
    shade_mid: float = 0.07  # convex-lid highlight in the middle
    margin_shadow: float = 0.28  # darkening where the margin curls in
    darken: float = 0.94  # closed-lid skin is a little darker than brow skin
    grain: float = 6.0  # clip of the fine skin detail (grey levels)
    lash_alpha: float = 0.8  # a closed eye's lash line is soft, not drawn-on black
    erase_above: float = 0.4  # long lashes sticking up above the lid are erased up to here
    erase_out: float = 0.25  # ... and this far beyond the eye corners
    band_colour: float = 0.3  # share of the skin band's median colour low on the lid (rest: the skin above)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def draw_lid(frame: np.ndarray, points: np.ndarray, side: str, level: float,
             params: LidParams = LidParams()) -> np.ndarray:
    """Draw one side's upper lid closed by `level` in 0..1, in place; returns frame."""
    if level <= 0:
        return frame
    origin, ex, ey, uu, vu, ul, vl, w = lid_profiles(points, side)
    if w < 4:
        return frame
    lash_h, skin_h = params.lash_band * w, params.skin_band * w
    brow = points[list(BROW_LOWER[side]), :2]
    bu, bv = _sorted_profile(brow, origin, ex, ey)
    a, b = uu[0] - params.erase_out * w - 2, uu[-1] + params.erase_out * w + 2
    top_v = vu.min() - max(lash_h + skin_h, params.erase_above * w + lash_h) - 3
    box_uv = np.array([[a, top_v], [b, top_v], [a, vl.max() + 0.15 * w + 2], [b, vl.max() + 0.15 * w + 2]])
    grid = eye_grid(origin, ex, ey, box_uv, frame.shape)
    if grid is None:
        return frame
    (x0, y0, x1, y1), xs, ys, u, v = grid
    top, bot = np.interp(u, uu, vu), np.interp(u, ul, vl)
    gap = np.maximum(bot - top, 0.0)
    gmax = max(float(np.max(np.interp(uu, ul, vl) - vu)), 1e-6)
    taper = np.sqrt(np.clip(gap / gmax, 0.0, 1.0))  # 0 at the corners, 1 mid-eye
    lid_top = top - lash_h * taper
    full = bot + max(0.5, 0.04 * w)  # the margin at full closure: over the lower lid's edge
    margin = top + level * (full - top)
    h_full = np.maximum(full - lid_top, 1e-3)
    # The skin the texture comes from: above the lashes, below the brow.
    ceiling = np.interp(u, bu, bv) + 0.04 * w
    band = np.maximum(np.minimum(skin_h, lid_top - 1.0 - ceiling), 2.0)

    def to_xy(uu_, vv_):
        return (origin[0] + uu_ * ex[0] + vv_ * ey[0]).astype(np.float32), \
               (origin[1] + uu_ * ex[1] + vv_ * ey[1]).astype(np.float32)

    src = frame.copy()
    # Long lashes above the lid are erased first, so the lid's skin is not sampled from them.
    outer_u = float((points[UPPER_LID[side][0], :2] - origin) @ ex)  # the contours run outer -> inner corner
    src[y0:y1, x0:x1] = _erase_lashes(src[y0:y1, x0:x1], u, v, uu, outer_u, lid_top, ceiling, w, level, params)
    # Fine grain: the skin mirrored about the lid's top edge, squeezed into the skin band.
    d = v - lid_top
    v_src = lid_top - 1.0 - np.clip(d, 0.0, None) * (band / h_full)
    tex = cv2.remap(src, *to_xy(u, v_src), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    sigma = max(1.0, 0.04 * w)
    detail = np.clip(tex - cv2.GaussianBlur(tex, (0, 0), sigma), -params.grain, params.grain)
    # A thin band (brow close above the eye) would repeat a few rows down the lid as streaks.
    detail *= np.clip((band - 0.05 * w) / (0.1 * w), 0.0, 1.0)[..., None]
    # Colour per column: the median over the skin band (robust to the crease and brow hairs).
    steps = np.linspace(0.1, 1.0, 9)
    cols = np.stack([cv2.remap(src, *to_xy(u[:1] * 0 + u, lid_top - 1.0 - s * band), cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE).astype(np.float32) for s in steps])
    colour = cv2.GaussianBlur(np.median(cols, axis=0), (0, 0), max(1.0, 0.08 * w))
    # Near its top edge the lid takes the colour of the skin right above it, so the edge
    # does not show (eye shadow, a darker crease); lower down the skin band's median.
    edge = cv2.remap(src, *to_xy(u, lid_top - 1.5 - 0.03 * w), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    edge = cv2.GaussianBlur(edge, (0, 0), max(1.0, 0.08 * w))
    rel = np.clip(d / h_full, 0.0, 1.0)
    mix = params.band_colour * _smoothstep(rel / 0.6)[..., None]
    colour = edge * (1 - mix) + colour * mix
    # Shading: a convex lid, darker where the margin curls in, darker at the corners.
    shade = params.darken * (1.0 + params.shade_mid * np.sin(np.pi * rel)) * (1.0 - 0.06 * (1.0 - rel) ** 4)
    shade *= 1.0 - params.margin_shadow * np.exp(-(((margin - v) / max(0.07 * w, 0.7)) ** 2))
    shade *= 0.9 + 0.1 * taper
    lid = colour * shade[..., None] + detail
    # Lash line: the darkest of the person's own upper lashes.
    lash_zone = (u > uu[0] + 0.2 * w) & (u < uu[-1] - 0.2 * w) & (v > top - lash_h) & (v < top + 1)
    lash_px = frame[y0:y1, x0:x1][lash_zone]  # before the erasing.reshape(-1, 3).astype(np.float32)
    if len(lash_px):
        order = np.argsort(lash_px.sum(axis=1))
        lash_rgb = lash_px[order[: max(1, len(order) // 10)]].mean(axis=0)
    else:
        lash_rgb = np.array([30.0, 30.0, 35.0])
    t = max(0.8, params.lash_width * w)
    # The lashes of a closing lid point down: the line is densest at the margin and thins below it.
    below = v - margin
    profile = np.where(below < 0, np.exp(-((below / (0.6 * t)) ** 2)), np.exp(-((below / (1.6 * t)) ** 2)))
    lash_a = params.lash_alpha * (0.35 + 0.65 * taper) * profile
    # Coverage: from the lid's top edge (soft) down to the margin (anti-aliased).
    inside = (u > uu[0]) & (u < uu[-1])
    fe = max(1.0, params.fade_top * w)
    cover = _smoothstep((v - lid_top + 2 * fe) / (2 * fe)) * _smoothstep(margin + 0.5 - v) * inside
    fade_in = min(1.0, level / 0.12)  # no pop when a twitch begins
    cover, lash_a = cover * fade_in, lash_a * inside * fade_in
    region = src[y0:y1, x0:x1].astype(np.float32)
    out = region * (1 - cover[..., None]) + lid * cover[..., None]
    out = out * (1 - lash_a[..., None]) + lash_rgb * lash_a[..., None]
    frame[y0:y1, x0:x1] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return frame


def _erase_lashes(region: np.ndarray, u, v, uu, outer_u: float, lid_top, ceiling, w: float, level: float,
                  params: LidParams) -> np.ndarray:
    """Long (e.g. mascara) lashes pointing up above the lid vanish as it closes: they now
    point down behind the drawn lash line.  Dark pixels there are inpainted from the skin
    around them and blended in by `level`."""
    lo = uu[0] - (params.erase_out * w if outer_u <= uu[0] + 1e-6 else 0.0)  # beyond the OUTER corner only
    hi = uu[-1] + (params.erase_out * w if outer_u >= uu[-1] - 1e-6 else 0.0)
    zone = ((u > lo) & (u < hi)
            & (v < np.where((u > uu[0]) & (u < uu[-1]), lid_top + 1, lid_top + 0.1 * w))
            & (v > np.maximum(lid_top - params.erase_above * w, ceiling)))
    if not zone.any():
        return region
    luma = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY).astype(np.float32)
    skin = float(np.median(luma[zone]))
    dark = zone & (luma < skin - 12)
    if not dark.any():
        return region
    mask = cv2.dilate(dark.astype(np.uint8), np.ones((3, 3), np.uint8)) & zone.astype(np.uint8)
    filled = cv2.inpaint(region, mask, 3, cv2.INPAINT_TELEA)
    a = (cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.8) * zone * min(1.0, level))[..., None]
    return np.clip(region * (1 - a) + filled * a, 0, 255).astype(np.uint8)


def lid_frame(frame: np.ndarray, points: np.ndarray | None, levels: dict[str, tuple[float, float]],
              params: LidParams = LidParams()) -> np.ndarray:
    """A copy of `frame` with levels[side] = (eye closure, mouth pull) drawn; no face, no change."""
    out = frame.copy()
    if points is None or not np.isfinite(points).all():
        return out
    for side in SIDES:
        eye, mouth = levels.get(side, (0.0, 0.0))
        draw_lid(out, points, side, eye, params)
        pull_mouth(out, points, side, mouth)
    return out
