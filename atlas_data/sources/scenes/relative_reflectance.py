"""relative_reflectance: BLINK's relative reflectance. A photo-like room corner (a wall, a
wooden floor with a rug, a crate lit from one side casting a soft shadow on the floor) with
two marked floor points, A and B: which point's surface is lighter in colour (its albedo),
or are they about the same? Under shading the darker pixel may be the lighter material.

The picture is albedo x shading, so the answer comes from the albedo map. In the hard
variant one point lies in the crate's cast shadow: a box round the shadow shows the point is
shaded, then a line along the floor from one point to the other shows what lies between
them: the shadow's soft edge only (one material) or also a sharp edge of the rug. In the
easy variant both points are in the light, where brightness is colour."""

from __future__ import annotations

import math
import random
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    RGB,
    TEXT_INK,
    Family,
    Scene,
    ask,
    camera,
    grain,
    hsv,
    rgb_planes,
    typeface,
    unit,
    zoom_need,
)

PHRASINGS = (
    "Which point's surface is lighter in colour, A or B, or are they about the same?",
    "Ignoring light and shadow, is the material at point A or at point B lighter, or about "
    "the same?",
    "Compare the surface colour (not how brightly it is lit) at the two points. Which is "
    "lighter: A, B, or about the same?",
    "Which marked point lies on the lighter-coloured surface? Answer A, B, or about the same.",
    "Setting the shading aside, which point is on a lighter surface: A, B, or about the same?",
    "Points A and B sit on surfaces in this photo. Whose surface has the lighter colour, or is "
    "it about the same?",
)
SAME = "about the same"
CHOICES = ["A", "B", SAME]
RING: RGB = (40, 205, 235)  # the marks' rings: a colour nothing in the room has
EASY_SHARE = 0.2
PENUMBRA = 8.0  # px: the Gaussian sigma of the shadow's soft edge
CLEAR = 28  # px: a point is this far from any edge (shadow, rug, crate)


def inside(poly: list[tuple[float, float]], x: float, y: float) -> bool:
    """Whether (x, y) lies inside the polygon (even-odd rule)."""
    hit = False
    for i, (x0, y0) in enumerate(poly):
        x1, y1 = poly[i - 1]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


def hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull (monotone chain), counter-clockwise."""
    pts = sorted(set(points))

    def half(seq: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in seq:
            while (
                len(out) >= 2
                and (
                    (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                    - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])
                )
                <= 0
            ):
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return lower[:-1] + upper[:-1]


def mask_of(size: tuple[int, int], poly: list[tuple[float, float]], blur: float = 0) -> np.ndarray:
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).polygon(poly, fill=255)
    arr = np.asarray(m, np.float32) / 255
    return cv2.GaussianBlur(arr, (0, 0), blur) if blur else arr


def texture(gen: np.random.Generator, size: tuple[int, int], amp: float) -> np.ndarray:
    """Multiplicative low-frequency mottling (``amp``) and fine grain around 1."""
    w, h = size
    coarse = gen.normal(0, 1, (max(2, h // 80), max(2, w // 80))).astype(np.float32)
    low = np.asarray(Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC))
    fine = grain(gen, size, 1.0)
    return 1 + amp * np.clip(low, -2, 2) + 0.02 * np.clip(fine, -2, 2)


def tint(rgb: RGB, albedo: float) -> np.ndarray:
    """A colour of the hue of ``rgb`` scaled so its mean is ``albedo`` (0..1)."""
    c = np.array(rgb, np.float32) / 255
    return c * albedo / max(float(c.mean()), 1e-6)


def along(a: tuple[float, float], b: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Integer pixel positions every pixel along a->b."""
    t = np.linspace(0.0, 1.0, max(2, int(math.dist(a, b))) + 1)
    xs, ys = a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
    return np.rint(xs).astype(int), np.rint(ys).astype(int)


def clearance(mask: np.ndarray) -> np.ndarray:
    """Each pixel's distance (px) to the edge of ``mask`` (inside or out)."""
    m = (mask > 0.5).astype(np.uint8)
    inner = cv2.distanceTransform(m, cv2.DIST_L2, 5)
    outer = cv2.distanceTransform(1 - m, cv2.DIST_L2, 5)
    return np.where(m > 0, inner, outer)


def cuts(a: tuple[float, float], b: tuple[float, float], m: np.ndarray) -> list[float]:
    """Distances along a->b (px) where the segment crosses the edge of mask ``m``."""
    px, py = along(a, b)
    flips = np.flatnonzero(np.diff(m[py, px].astype(np.int8)))
    return [float(v) for v in flips * math.dist(a, b) / max(1, len(px) - 1)]


Pair = tuple[tuple[float, float], tuple[float, float]]


def place_points(
    rng: random.Random,
    size: tuple[int, int],
    horizon: int,
    easy: bool,
    albedo: dict[str, float],
    crate_m: np.ndarray,
    rug_m: np.ndarray,
    shadow_m: np.ndarray,
) -> Pair | None:
    """The two points: the first in the shadow (hard) or in the light (easy), the second in
    the light, both on the open floor clear of every edge (crate, rug, shadow), the segment
    between them clear of the crate, crossing the rug's sharp edges steeply and each edge
    well apart from the others. The materials follow a drawn case: the same material, the
    lighter one in the shadow (its pixel is the darker: a trap), or the darker one there."""
    w, h = size
    u = unit(size)
    crate_clear = clearance(crate_m)
    clear = np.minimum(np.minimum(crate_clear, clearance(rug_m)), clearance(shadow_m))
    near_crate = (crate_clear < 8 * u) | crate_m
    lighter, darker = sorted(albedo, key=lambda k: -albedo[k])
    wants = {"same": [(m, m) for m in rng.sample(list(albedo), 2)],
             "trap": [(lighter, darker)], "plain": [(darker, lighter)]}  # fmt: skip
    order = rng.choices(list(wants), (0.35, 0.45, 0.2))
    order += rng.sample([k for k in wants if k not in order], len(wants) - 1)
    grid = np.zeros((h, w), bool)
    edge = round(60 * u)  # room for a point's tag inside the picture
    grid[round(horizon + 30 * u) : h - edge : 3, edge : w - edge : 3] = True
    open_floor = grid & ~crate_m & (clear >= CLEAR * u)
    pools = {
        (shaded, m): np.flatnonzero(open_floor & (shadow_m == shaded) & (rug_m == (m == "rug")))
        for shaded in (False, True)
        for m in albedo
    }

    def fits(s: tuple[float, float], lit: tuple[float, float]) -> bool:
        if not 150 * u <= math.dist(s, lit) <= 650 * u:
            return False
        px, py = along(s, lit)
        if near_crate[py, px].any():
            return False
        rug_cuts = cuts(s, lit, rug_m)
        steep = min(abs(lit[0] - s[0]), abs(lit[1] - s[1])) / math.dist(s, lit)
        if rug_cuts and steep < 0.45:  # a sharp edge crossed at a slant stays sharp
            return False
        shade_cuts = cuts(s, lit, shadow_m)
        if easy and shade_cuts:  # both in the light, and the floor between them too
            return False
        stops = [0.0, *sorted(shade_cuts + rug_cuts), math.dist(s, lit)]
        return all(b - a >= 40 * u for a, b in zip(stops, stops[1:], strict=False))

    for want in order:
        for ms, ml in wants[want]:
            first, second = pools[(not easy, ms)], pools[(False, ml)]
            if not (first.size and second.size):
                continue
            for _ in range(300):
                i, j = (int(p[rng.randrange(p.size)]) for p in (first, second))
                s, lit = (float(i % w), float(i // w)), (float(j % w), float(j // w))
                if fits(s, lit):
                    return s, lit
    return None


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    gen = np.random.default_rng(rng.randrange(2**32))
    easy = rng.random() < EASY_SHARE
    horizon = round(h * rng.uniform(0.3, 0.4))

    found: tuple[tuple[float, float], tuple[float, float]] | None = None
    for _attempt in range(40):  # a layout with no room for the points is drawn again
        # The crate: a front face, a top and the side away from the light, in oblique view.
        light_left = rng.random() < 0.5
        bw, bh = rng.uniform(230, 320) * u, rng.uniform(200, 280) * u
        dx, dy = (1 if light_left else -1) * bw * rng.uniform(0.3, 0.4), bw * rng.uniform(0.22, 0.3)
        bx = w * (rng.uniform(0.12, 0.3) if light_left else rng.uniform(0.5, 0.68))
        by = horizon + (h - horizon) * rng.uniform(0.35, 0.5)
        f1, f2 = (bx, by), (bx + bw, by)
        f3, f4 = (bx + dx, by - dy), (bx + bw + dx, by - dy)
        sv = ((1 if light_left else -1) * bh * rng.uniform(1.0, 1.5), bh * rng.uniform(0.08, 0.25))
        foot = [f1, f2, f4, f3]
        shadow = hull(foot + [(x + sv[0], y + sv[1]) for x, y in foot])
        front = [(bx, by - bh), (bx + bw, by - bh), f2, f1]
        top = [
            (bx, by - bh),
            (bx + dx, by - dy - bh),
            (bx + bw + dx, by - dy - bh),
            (bx + bw, by - bh),
        ]
        far_x = bx + bw if light_left else bx  # the front edge on the shadow side
        side = [(far_x, by - bh), (far_x + dx, by - dy - bh), (far_x + dx, by - dy), (far_x, by)]
        crate = hull(front + top + side)

        # The rug: a rectangle over part of the shadow, so a line may cross both edges.
        sx0, sy0 = min(p[0] for p in shadow), min(p[1] for p in shadow)
        sx1, sy1 = max(p[0] for p in shadow), max(p[1] for p in shadow)
        rx0 = rng.uniform(sx0 - 200 * u, (sx0 + sx1) / 2)
        rx1 = rx0 + rng.uniform(300, 520) * u
        ry0 = rng.uniform(max(horizon + 40 * u, sy0 - 60 * u), (sy0 + sy1) / 2)
        ry1 = min(h - 30 * u, ry0 + rng.uniform(180, 320) * u)
        rug = [(rx0, ry0), (rx1, ry0), (rx1, ry1), (rx0, ry1)]

        wood = hsv(rng.uniform(0.06, 0.1), rng.uniform(0.35, 0.55), 0.8)
        rug_rgb = hsv(rng.random(), rng.uniform(0.15, 0.35), 0.8)
        a_floor = rng.uniform(0.3, 0.42)
        ratio = rng.uniform(1.4, 1.75)
        a_rug = a_floor * ratio if rng.random() < 0.5 else a_floor / ratio
        a_wall, a_crate = rng.uniform(0.55, 0.8), rng.uniform(0.4, 0.6)

        crate_m, rug_m, shadow_m = (mask_of(size, p) > 0.5 for p in (crate, rug, shadow))
        albedo = {"floor": a_floor, "rug": a_rug}
        found = place_points(rng, size, horizon, easy, albedo, crate_m, rug_m, shadow_m)
        if found:
            break
    assert found is not None, "no placement"  # the crate leaves most of the floor open
    s, lit = found

    def material(x: float, y: float) -> str:
        return "rug" if rug_m[int(y), int(x)] else "floor"

    # Albedo and shading maps, then the picture = albedo x shading.
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    wall_alb = tint(hsv(rng.random(), rng.uniform(0.05, 0.2), 0.8), a_wall)
    floor_alb, rug_alb, base_alb = tint(wood, a_floor), tint(rug_rgb, a_rug), tint(wood, 0.25)
    rug_f = rug_m.astype(np.float32)
    base = round(14 * u)
    tex = texture(gen, size, 0.012)
    ambient, direct = rng.uniform(0.4, 0.5), 1.0
    across = (1 - xs / w) if light_left else xs / w
    fall = 0.85 + 0.15 * across - 0.05 * (ys / h)
    shade = (ambient + direct * fall * (1 - mask_of(size, shadow, PENUMBRA))) / (ambient + direct)
    shade[:horizon] = np.broadcast_to(0.65 + 0.3 * across, (horizon, w))
    crate_alb = tint(hsv(rng.uniform(0.08, 0.12), 0.45, 0.8), a_crate)
    crate_img = Image.new("RGB", size)
    cd = ImageDraw.Draw(crate_img)
    for face, light in ((front, 0.8), (top, 1.0), (side, 0.35)):
        cd.polygon(face, fill=tuple(int(min(255, 255 * v * light)) for v in crate_alb))
    cm = mask_of(size, crate)
    crate_px = np.asarray(crate_img, np.float32) / 255
    # the picture = albedo x shading (x 1.2 exposure), a colour plane at a time
    lighting = tex * shade * (1 - cm)
    planes = []
    for c in range(3):
        alb = np.empty((h, w), np.float32)
        alb[:horizon], alb[horizon:] = wall_alb[c], floor_alb[c]
        alb += (rug_alb[c] - alb) * rug_f
        alb[horizon - base : horizon] = base_alb[c]
        planes.append((alb * lighting + crate_px[:, :, c] * cm) * np.float32(255 * 1.2))
    arr = rgb_planes(planes)
    img = Image.fromarray(arr, "RGB")
    d = ImageDraw.Draw(img)
    for k in range(1, 4):  # the crate's slats, on its front face
        yk = by - bh * k / 4
        d.line((bx, yk, bx + bw, yk), (60, 40, 25), max(2, round(3 * u)))

    # The marks: a ring on each point, its letter on a white tag behind it (away from the
    # other point, so a line between them crosses neither tag).
    names = ("A", "B") if rng.random() < 0.5 else ("B", "A")
    pts = {names[0]: s, names[1]: lit}
    rr, ink = round(11 * u), max(2, round(3 * u))
    font = typeface("sans", round(26 * u))
    for name, (px, py) in pts.items():
        ox, oy = pts[names[1] if name == names[0] else names[0]]
        dist = math.dist((px, py), (ox, oy))
        tx, ty = px - (ox - px) / dist * 34 * u, py - (oy - py) / dist * 34 * u
        d.ellipse((px - rr, py - rr, px + rr, py + rr), outline=RING, width=ink)
        d.rounded_rectangle((tx - 15 * u, ty - 16 * u, tx + 15 * u, ty + 16 * u), 4, (250,) * 3)
        d.text((tx, ty), name, TEXT_INK, font, "mm")
    img, photo = camera(img, rng)

    a_s, a_l = albedo[material(*s)], albedo[material(*lit)]
    lighter_point = names[0] if a_s > a_l else names[1]
    answer = SAME if abs(a_s - a_l) < 1e-9 else lighter_point
    shaded, open_ = names
    clamp = [max(0.0, sx0 - 8), max(0.0, sy0 - 8), min(float(w), sx1 + 8), min(float(h), sy1 + 8)]
    if easy:
        ev = [min(s[0], lit[0]) - 30, min(s[1], lit[1]) - 30, max(s[0], lit[0]) + 30,
              max(s[1], lit[1]) + 30]  # fmt: skip
        ev = [max(0.0, min(v, m)) for v, m in zip(ev, (w, h, w, h), strict=True)]
        plain = "both points are in the light: their brightness is their colour"
        needs = [zoom_need(ev, 60 * u, plain)]
    else:
        between = (
            "the shadow's soft edge, and nothing else: one material"
            if answer == SAME
            else f"the shadow's soft edge and the rug's sharp edge: {answer} is on the lighter one"
        )
        needs = [
            Need("box", {"box": [round(v) for v in clamp]},
                 f"point {shaded} lies in the shadow the crate casts on the floor: it looks "
                 "darker than its material is"),
            Need("aux_line", {"start": list(s), "end": list(lit)},
                 f"along the floor from {shaded} to {open_} the line crosses {between}"),
        ]  # fmt: skip

    def bbox(poly: list[tuple[float, float]]) -> list[int]:
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        x0, y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
        return [x0, y0, min(w, math.ceil(max(xs))), min(h, math.ceil(max(ys)))]

    objects = [
        {"label": "crate", "box": bbox(crate)},
        {"label": "rug", "box": bbox(rug)},
        {"label": "wall", "box": [0, 0, w, horizon - base]},
    ]
    annotations: dict[str, Any] = {
        "easy": easy,
        "points": {k: [float(v) for v in p] for k, p in pts.items()},
        "ring_rgb": list(RING),
        "ring_radius": rr,
        "shaded": None if easy else shaded,
        "materials": {k: material(*p) for k, p in pts.items()},
        "albedo": {k: albedo[material(*p)] for k, p in pts.items()},
        "shadow": [list(p) for p in shadow],
        "rug": [list(p) for p in rug],
        "penumbra_sigma": PENUMBRA,
    }
    choices = list(CHOICES) if rng.random() < 0.5 else None
    question = ask(rng, PHRASINGS)
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "relative_reflectance",
    make,
    "which of two marked points has the lighter surface colour, under shading",
    PHRASINGS,
    (("box", "aux_line"), ()),
)
