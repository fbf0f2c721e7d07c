"""gauge: the value a short needle points at on a dial. Extending the needle to the scale
shows where it meets it; a label then writes the value read there."""

from __future__ import annotations

import math
import random

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    TEXT_INK,
    Family,
    Scene,
    ask,
    dial,
    paper,
    typeface,
    unit,
    xy,
)

PHRASINGS = (
    "What value does the gauge show?",
    "Read the dial: where is the needle pointing?",
    "What is the reading on this gauge?",
    "Which value on the scale does the needle indicate?",
    "What does the meter read?",
)


def polar(cx: float, cy: float, r: float, value: float) -> list[int]:
    """The point at ``value`` (0..100, left to right over the top) at radius ``r``."""
    return dial(cx, cy, r, math.pi * (value / 100 - 0.5))


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = paper(rng, size, (240, 240, 236))
    d = ImageDraw.Draw(img)
    r = round(min(w, h) * rng.uniform(0.36, 0.42))
    cx, cy = w // 2 + rng.randint(-w // 10, w // 10), round(h * 0.5 + r * 0.45)
    font = typeface("sans", round(26 * u))
    d.pieslice((cx - r, cy - r, cx + r, cy + r), 180, 360, fill=(252, 252, 248), outline=TEXT_INK)
    for v in range(0, 101, 5):
        inner = r * (0.86 if v % 10 == 0 else 0.92)
        d.line((*polar(cx, cy, inner, v), *polar(cx, cy, r, v)), fill=TEXT_INK, width=3)
        if v % 20 == 0:
            d.text(xy(polar(cx, cy, r * 0.76, v)), str(v), TEXT_INK, font, "mm")
    value = rng.choice([v for v in range(5, 100, 5) if v % 20])
    tip = polar(cx, cy, r * 0.42, value)
    d.line((cx, cy, *tip), fill=(200, 30, 30), width=max(3, round(6 * u)))
    d.ellipse((cx - 10, cy - 10, cx + 10, cy + 10), fill=(60, 60, 60))
    answer = str(value)
    scale = polar(cx, cy, r * 1.0, value)
    needs = [
        Need("aux_line", {"start": [cx, cy], "end": scale},
             f"the extended needle meets the scale between {value - 5} and {value + 5}"),
        Need("text_label", {"position": polar(cx, cy, r * 1.08, value), "text": answer},
             f"the point where the needle's line meets the scale is labelled {answer}"),
    ]  # fmt: skip
    objects = [
        {"label": f"mark {v}", "box": [p[0] - 20, p[1] - 20, p[0] + 20, p[1] + 20]}
        for v in (0, 40, 80)
        for p in [polar(cx, cy, r * 0.76, v)]
    ]
    annotations = {"centre": [cx, cy], "radius": r, "tip": tip, "value": value}
    return Scene(img, ask(rng, PHRASINGS), answer, annotations, needs, objects)


FAMILY = Family(
    "gauge", make, "the value a needle points at on a dial", PHRASINGS,
    (("aux_line", "text_label"),),
)  # fmt: skip
