"""ruler: the length of a bar measured on a ruler below it. Lines dropped from the bar's
two ends to the ruler show the marks they line up with."""

from __future__ import annotations

import random

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import TEXT_INK, Family, Scene, ask, hsv, paper, typeface, unit

PHRASINGS = (
    "How long is the coloured bar, in centimetres, measured on the ruler?",
    "Using the ruler, what is the length of the bar in cm?",
    "Measure the bar against the ruler. How many centimetres long is it?",
    "What length does the ruler give for the bar, in centimetres?",
    "How many centimetres does the bar span on the ruler below it?",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = paper(rng, size, (244, 241, 232))
    d = ImageDraw.Draw(img)
    cm = rng.randint(round(w / 24), round(w / 18))
    n = (w - 160) // cm
    x0 = (w - n * cm) // 2
    ry = round(h * rng.uniform(0.72, 0.8))
    font = typeface("sans", round(20 * u))
    d.rectangle((x0 - 20, ry, x0 + n * cm + 20, ry + round(90 * u)), fill=(236, 214, 150))
    for k in range(n * 2 + 1):
        x = x0 + k * cm // 2
        d.line((x, ry, x, ry + round((30 if k % 2 == 0 else 16) * u)), fill=TEXT_INK, width=2)
        if k % 2 == 0:
            d.text((x, ry + round(50 * u)), str(k // 2), TEXT_INK, font, "mm")
    a = rng.randint(0, n - 4)
    b = rng.randint(a + 2, min(n, a + rng.randint(3, 12)))
    by = round(h * rng.uniform(0.15, 0.45))
    bar = [x0 + a * cm, by, x0 + b * cm, by + round(40 * u)]
    d.rectangle(bar, fill=hsv(rng.random(), 0.6, 0.7))
    answer = str(b - a)
    needs = [
        Need("aux_line", {"start": [bar[0], bar[3]], "end": [bar[0], ry]},
             f"the bar's left end lines up with {a} on the ruler"),
        Need("aux_line", {"start": [bar[2], bar[3]], "end": [bar[2], ry]},
             f"the bar's right end lines up with {b} on the ruler"),
    ]  # fmt: skip
    objects = [
        {"label": f"mark {k}", "box": [x0 + k * cm - 15, ry, x0 + k * cm + 15, ry + 60]}
        for k in (0, n // 2, n)
    ]
    annotations = {"bar": bar, "ruler": {"x0": x0, "cm": cm, "y": ry}, "from": a, "to": b}
    return Scene(img, ask(rng, PHRASINGS), answer, annotations, needs, objects)


FAMILY = Family(
    "ruler", make, "a bar's length read off a ruler", PHRASINGS, (("aux_line", "aux_line"),)
)
