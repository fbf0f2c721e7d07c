"""relative_depth: which of two marked ground points is closer to the camera, in a photo-like
scene with a ground plane receding to a horizon. On a ground plane the lower point in the
image is the nearer one; when the two rows are a few pixels apart across the picture, a
horizontal line through the higher point shows on which side of it the other lies."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.geometry import clamp_box
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    RGB,
    TEXT_INK,
    Family,
    Scene,
    ask,
    camera,
    hsv,
    muted,
    overlaps,
    typeface,
    unit,
    zoom_need,
)

PHRASINGS = (
    "Which point is {nearer} the camera, A or B?",
    "Two points are marked A and B. Which one is {nearer} the viewer?",
    "Which of the marked points, A or B, is {nearer} where the photo was taken?",
    "Judging by the depth of the scene, is point A or point B {nearer} the camera?",
    "Of the two circled points, which lies {nearer} the camera: A or B?",
    "Looking at the ground in this photo, which marked point is {nearer} the camera?",
)
MARKS: dict[str, RGB] = {"A": (250, 210, 30), "B": (40, 200, 240)}  # fills; ink is dark
GROUNDS = ("tiles", "road", "field")
EASY_SHARE = 0.22


def ground_plane(
    rng: random.Random, size: tuple[int, int], horizon: int, f: float, cam_h: float, cx: float
) -> np.ndarray:
    """The picture: a sky over a textured ground plane seen from ``cam_h`` metres up. A
    ground pixel's world point (X, Z) comes from its row and column, so textures recede
    (tiles, lanes and grass cells shrink towards the horizon) and fade to their mean where a
    texture cell is smaller than a pixel."""
    w, h = size
    gen = np.random.default_rng(rng.randrange(2**32))
    arr = np.empty((h, w, 3), np.float32)
    top, low = np.array(hsv(0.58, 0.45, 0.85), np.float32), np.array(hsv(0.56, 0.12, 0.97))
    t = np.linspace(0, 1, horizon, dtype=np.float32)[:, None, None]
    arr[:horizon] = top + (low - top) * t
    ys = np.arange(horizon + 1, h + 1, dtype=np.float32)[:, None] - horizon  # rows below
    z = f * cam_h / ys  # depth of each ground row
    x = (np.arange(w, dtype=np.float32)[None, :] - cx) * z / f
    footprint = z / f  # metres a pixel spans across at that depth
    cells = gen.normal(0, 1, (64, 64)).astype(np.float32)

    def grain(cell: float) -> np.ndarray:
        """World-fixed value noise of ``cell`` metres, faded where cells are sub-pixel."""
        i = np.floor(x / cell).astype(np.int64) % 64
        j = np.floor(z / cell).astype(np.int64) % 64
        fade = np.clip(cell / footprint - 1.0, 0.0, 1.0)
        return np.asarray(cells[j, i] * fade)

    kind = rng.choice(GROUNDS)
    if kind == "tiles":
        s = rng.uniform(0.7, 1.4)
        c0, c1 = (np.array(muted(rng, (0.45, 0.85)), np.float32) for _ in range(2))
        fade = np.clip(s / footprint / 3 - 0.5, 0.0, 1.0)[..., None]
        odd = ((np.floor(x / s) + np.floor(z / s)) % 2)[..., None]
        tile = c0 + (c1 - c0) * (0.5 + (odd - 0.5) * fade)
        fx, fz = (x / s) % 1.0, (z / s) % 1.0
        grout = ((fx < 0.04) | (fz < 0.04)) & (fade[..., 0] > 0.3)
        tile = np.where(grout[..., None], tile * 0.6, tile)
        ground = tile + grain(s / 6)[..., None] * 6
    elif kind == "road":
        half = rng.uniform(3.0, 4.5)
        grass = np.array(hsv(rng.uniform(0.2, 0.3), 0.4, 0.55), np.float32)
        asphalt = np.array((95, 95, 100), np.float32)
        on_road = (np.abs(x) < half)[..., None]
        ground = np.where(on_road, asphalt, grass) + grain(0.04)[..., None] * 9
        ground += grain(0.6)[..., None] * 5
        dash = (np.abs(x) < 0.1) & ((z % 9.0) < 3.0)
        edge = np.abs(np.abs(x) - half + 0.25) < 0.1
        paint = (dash | edge) & (footprint < 0.12)
        ground = np.where(paint[..., None], np.float32(235), ground)
    else:
        base = np.array(hsv(rng.uniform(0.18, 0.3), 0.45, 0.6), np.float32)
        stripes = (np.floor(x / 2.5) % 2)[..., None]
        ground = base * (0.9 + 0.12 * stripes) + grain(0.03)[..., None] * 12
        ground += grain(1.3)[..., None] * 8
    haze = np.clip(z / 120.0, 0.0, 0.6)[..., None]
    arr[horizon:] = ground * (1 - haze) + low * haze
    return arr.clip(0, 255)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    horizon = round(h * rng.uniform(0.3, 0.42))
    z_near, cam_h = rng.uniform(1.8, 2.6), rng.uniform(1.4, 1.8)
    f = (h - horizon) * z_near / cam_h  # the bottom row is z_near metres away
    cx = w / 2 + rng.uniform(-0.08, 0.08) * w

    def row(z: float) -> float:
        return horizon + f * cam_h / z

    img = Image.fromarray(ground_plane(rng, size, horizon, f, cam_h, cx).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    x = 0  # far hills or buildings on the horizon
    while x < w:
        bw, bh = rng.randint(w // 14, w // 6), rng.randint(round(10 * u), round(70 * u))
        d.rectangle((x, horizon - bh, x + bw, horizon), fill=muted(rng, (0.55, 0.75)))
        x += bw + rng.randint(0, w // 10)

    # Objects on the ground, far ones first; their size in the image is f * size / depth.
    things: list[tuple[float, float, str, float, float, RGB]] = []
    for _ in range(rng.randint(7, 13)):
        z = rng.uniform(z_near * 1.3, 35.0)
        half_span = (w / 2) * z / f
        things.append(
            (
                z,
                rng.uniform(-half_span, half_span) * 0.95,
                rng.choice(("crate", "post", "cone", "tree")),
                rng.uniform(0.5, 1.0),
                rng.uniform(0.6, 1.0),
                muted(rng, (0.3, 0.65)),
            )
        )
    taken: list[tuple[float, float, float, float]] = []
    for z, wx, kind, width_m, height_m, colour in sorted(things, reverse=True):
        bx, by = cx + f * wx / z, row(z)
        pw, ph = f * width_m / z, f * height_m / z
        shade = tuple(round(c * 0.55) for c in colour)
        d.ellipse((bx - pw * 0.7, by - pw * 0.15, bx + pw * 0.7, by + pw * 0.15), fill=(60, 60, 60))
        if kind == "crate":
            d.rectangle((bx - pw / 2, by - ph * 0.8, bx + pw / 2, by), fill=colour)
            d.polygon(
                [
                    (bx - pw / 2, by - ph * 0.8),
                    (bx + pw / 2, by - ph * 0.8),
                    (bx + pw * 0.4, by - ph * 0.95),
                    (bx - pw * 0.6, by - ph * 0.95),
                ],
                fill=tuple(min(255, round(c * 1.25)) for c in colour),
            )
            box = (bx - pw / 2, by - ph * 0.95, bx + pw / 2, by)
        elif kind == "post":
            d.rectangle((bx - pw * 0.1, by - ph * 1.8, bx + pw * 0.1, by), fill=shade)
            box = (bx - pw * 0.1, by - ph * 1.8, bx + pw * 0.1, by)
        elif kind == "cone":
            d.polygon([(bx - pw / 2, by), (bx + pw / 2, by), (bx, by - ph)], fill=colour)
            box = (bx - pw / 2, by - ph, bx + pw / 2, by)
        else:
            d.rectangle((bx - pw * 0.08, by - ph * 1.6, bx + pw * 0.08, by), fill=(90, 70, 50))
            green = hsv(rng.uniform(0.22, 0.35), 0.45, rng.uniform(0.35, 0.55))
            d.ellipse((bx - pw * 0.6, by - ph * 2.8, bx + pw * 0.6, by - ph * 1.3), fill=green)
            box = (bx - pw * 0.6, by - ph * 2.8, bx + pw * 0.6, by)
        taken.append(box)

    # Two ground points, clear of every object, far apart across the picture.
    easy = rng.random() < EASY_SHARE
    rm = round(13 * u)  # the mark's dot; its letter stands below and to the right
    margin = rm + round(40 * u)
    low_row, high_row = horizon + 0.12 * (h - horizon), h - margin
    while True:
        ya = rng.uniform(low_row, high_row)
        if easy:
            dy = rng.uniform(0.25, 0.6) * (h - horizon) * rng.choice((-1, 1))
        else:
            dy = rng.uniform(6, 14) * u * rng.choice((-1, 1))
        yb = ya + dy
        if not low_row <= yb <= high_row:
            continue
        xa, xb = rng.uniform(margin, w * 0.4), rng.uniform(w * 0.6, w - margin)
        if rng.random() < 0.5:
            xa, xb = xb, xa
        if easy:
            xb = rng.uniform(margin, w - margin)
        pts = {"A": (round(xa), round(ya)), "B": (round(xb), round(yb))}
        if abs(pts["A"][1] - pts["B"][1]) < 5 or math.dist(pts["A"], pts["B"]) < 6 * rm:
            continue
        clear = rm + 40 * u
        if not any(
            overlaps((p[0] - clear, p[1] - clear, p[0] + clear, p[1] + clear), t)
            for p in pts.values()
            for t in taken
        ):
            break

    # The letters stand below their dots: a level line through a dot never covers them.
    font = typeface("sans", round(32 * u))
    ink = max(2, round(3 * u))
    for name, (px, py) in pts.items():
        d.ellipse((px - rm, py - rm, px + rm, py + rm), MARKS[name], TEXT_INK, ink)
        d.text(
            (px + 0.6 * rm, py + 0.6 * rm),
            name,
            MARKS[name],
            font,
            "lt",
            stroke_width=ink,
            stroke_fill=TEXT_INK,
        )
    img, photo = camera(img, rng)

    depth = {k: f * cam_h / (p[1] - horizon) for k, p in pts.items()}
    near = min(depth, key=lambda k: depth[k])
    far = "B" if near == "A" else "A"
    farther = rng.random() < 0.3
    answer = far if farther else near
    nearer = "farther from" if farther else "closer to"
    question = ask(rng, PHRASINGS, nearer=nearer)
    choices = ["A", "B"] if rng.random() < 0.5 else None

    hi, lo = sorted(pts, key=lambda k: pts[k][1])  # hi: the higher mark (smaller row)
    (hx, hy), (lx, ly) = pts[hi], pts[lo]
    offset, span = ly - hy, abs(lx - hx)
    if easy:
        evidence = [min(xa, xb) - rm, min(ya, yb) - rm, max(xa, xb) + rm, max(ya, yb) + rm]
        reveals = f"point {near} sits {offset} px lower in the picture, so it is closer"
        needs = [
            zoom_need(
                [max(0.0, min(v, m)) for v, m in zip(evidence, (w, h, w, h), strict=True)],
                offset,
                reveals,
            )
        ]
    else:
        end_x = lx + (1 if lx > hx else -1) * (rm + round(60 * u))
        end_x = min(w - 1, max(0, end_x))
        reveals = (
            f"the level line through point {hi} passes above the centre of point {lo}, "
            f"so {lo} is lower in the picture and closer"
        )
        needs = [
            Need(
                "aux_line",
                {"start": [hx, hy], "end": [end_x, hy]},
                reveals,
                measure={"purpose": "align", "offset_px": offset, "span_px": span},
            )
        ]
    shown = [clamp_box(t, size) for t in reversed(taken)]  # the nearest first
    objects: list[dict[str, Any]] = [
        {"label": "object", "box": b} for b in shown if b[2] - b[0] >= 4 and b[3] - b[1] >= 4
    ][:5]
    annotations: dict[str, Any] = {
        "points": {k: list(p) for k, p in pts.items()},
        "mark_rgb": {k: list(v) for k, v in MARKS.items()},
        "mark_radius": rm,
        "horizon": horizon,
        "focal_px": f,
        "camera_height_m": cam_h,
        "depth_m": depth,
        "asks_farther": farther,
        "easy": easy,
    }
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "relative_depth",
    make,
    "which of two marked ground points is closer to the camera",
    PHRASINGS,
    (("aux_line",), ()),
)
