"""count_inside: how many dots lie inside a ring, among dots outside it. Numbered marks
on the ones inside count them; when the ring is small and its dots tiny, zoom in first."""

from __future__ import annotations

import math
import random

from PIL import ImageDraw

from atlas_data.ops.geometry import clamp_box
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    Family,
    Scene,
    ask,
    backdrop,
    unit,
    zoom_need,
)

PHRASINGS = (
    "How many dots are inside the ring?",
    "Count the dots within the circle outline.",
    "What number of dots lie inside the ring?",
    "How many of the dots are enclosed by the ring?",
    "Inside the drawn circle, how many dots are there?",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = backdrop(rng, size, noise=False, light=True)
    d = ImageDraw.Draw(img)
    small = rng.random() < 0.5
    ring_r = round((rng.uniform(110, 150) if small else rng.uniform(260, 360)) * u)
    dot_r = max(4, round((rng.uniform(4, 5) if small else rng.uniform(10, 14)) * u))
    cx = rng.randint(ring_r + 40, w - ring_r - 40)
    cy = rng.randint(ring_r + 40, h - ring_r - 40)
    n_in = rng.randint(4, 12)
    total = n_in + rng.randint(6, 14)
    dots: list[tuple[int, int, bool]] = []
    for _ in range(20000):
        if len(dots) >= total:
            break
        inside = len(dots) < n_in  # the inside dots first
        if inside:
            a, rr = rng.uniform(0, 2 * math.pi), rng.uniform(0, ring_r - 3 * dot_r)
            x, y = round(cx + rr * math.cos(a)), round(cy + rr * math.sin(a))
        else:
            x, y = rng.randint(dot_r + 5, w - dot_r - 5), rng.randint(dot_r + 5, h - dot_r - 5)
            if math.dist((x, y), (cx, cy)) < ring_r + 3 * dot_r:
                continue
        if all(math.dist((x, y), (px, py)) >= 3 * dot_r for px, py, _ in dots):
            dots.append((x, y, inside))
    else:  # pragma: no cover - the canvas always has room
        raise RuntimeError("count_inside: could not place the dots")
    d.ellipse((cx - ring_r, cy - ring_r, cx + ring_r, cy + ring_r), outline=(40, 40, 40),
              width=max(2, round(3 * u)))  # fmt: skip
    for x, y, _ in dots:
        d.ellipse((x - dot_r, y - dot_r, x + dot_r, y + dot_r), fill=(30, 60, 170))
    inner = [[x, y] for x, y, inside in dots if inside]
    answer = str(len(inner))
    needs = [Need("point_mark", {"points": inner, "numbered": True},
                  f"the marks number the dots inside the ring 1 to {answer}")]  # fmt: skip
    ring = [cx - ring_r, cy - ring_r, cx + ring_r, cy + ring_r]
    if small:
        reveals = "the ring's dots appear large enough to tell apart"
        needs.insert(0, zoom_need(ring, 2 * dot_r, reveals))
    pad = 3 * dot_r
    objects = [
        {"label": "dot outside", "box": list(clamp_box([x - pad, y - pad, x + pad, y + pad], size))}
        for x, y, inside in dots
        if not inside
    ][:4]
    annotations = {"ring": {"centre": [cx, cy], "radius": ring_r}, "dot_radius": dot_r,
                   "dots": [list(p) for p in dots]}  # fmt: skip
    return Scene(img, ask(rng, PHRASINGS), answer, annotations, needs, objects)


FAMILY = Family("count_inside", make, "dots inside a ring, among dots outside it", PHRASINGS,
                (("point_mark",), ("zoom", "point_mark")))  # fmt: skip
