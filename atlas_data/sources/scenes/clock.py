"""clock: the time on an analog clock with short hands. Extending each hand to the rim
shows which mark it points at."""

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
    multiple_choice,
    paper,
    typeface,
    unit,
    xy,
)

PHRASINGS = (
    "What time does the clock show?",
    "Read the clock. What time is it?",
    "What time is shown on the clock face?",
    "According to the clock, what is the time?",
    "Which time do the clock's hands indicate?",
)


def at(cx: float, cy: float, r: float, turn: float) -> list[int]:
    """The point at ``turn`` (0..1 clockwise from twelve) at radius ``r``."""
    return dial(cx, cy, r, 2 * math.pi * turn)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = paper(rng, size, (236, 238, 242))
    d = ImageDraw.Draw(img)
    r = round(min(w, h) * rng.uniform(0.34, 0.42))
    cx, cy = w // 2 + rng.randint(-w // 8, w // 8), h // 2
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(252, 252, 250), outline=TEXT_INK, width=4)
    font = typeface(rng.choice(("sans", "serif")), round(30 * u))
    for m in range(60):
        inner = r * (0.88 if m % 5 == 0 else 0.94)
        d.line((*at(cx, cy, inner, m / 60), *at(cx, cy, r, m / 60)), fill=TEXT_INK, width=2)
    for hr in range(1, 13):
        d.text(xy(at(cx, cy, r * 0.78, hr / 12)), str(hr), TEXT_INK, font, "mm")
    hour, minute = rng.randint(1, 12), rng.randrange(0, 60, 5)
    hour_turn, minute_turn = ((hour % 12) + minute / 60) / 12, minute / 60
    hand_w = max(4, round(8 * u))
    d.line((cx, cy, *at(cx, cy, r * 0.3, hour_turn)), fill=(30, 30, 30), width=hand_w)
    d.line((cx, cy, *at(cx, cy, r * 0.45, minute_turn)), fill=(30, 30, 120), width=hand_w // 2)
    answer = f"{hour}:{minute:02d}"
    needs = [
        Need("aux_line", {"start": [cx, cy], "end": at(cx, cy, r, hour_turn)},
             f"the hour hand's line runs past the {hour}"),
        Need("aux_line", {"start": [cx, cy], "end": at(cx, cy, r, minute_turn)},
             f"the minute hand's line reaches the {minute}-minute mark"),
    ]  # fmt: skip
    choices = None
    if rng.random() < 0.3:
        wrong = [f"{(hour + dh - 1) % 12 + 1}:{(minute + dm) % 60:02d}"
                 for dh in (-1, 0, 1) for dm in (-10, 0, 5, 15)]  # fmt: skip
        choices = multiple_choice(rng, answer, wrong)
    objects = [
        {"label": f"numeral {n}", "box": [p[0] - 25, p[1] - 25, p[0] + 25, p[1] + 25]}
        for n in (3, 6, 9)
        for p in [at(cx, cy, r * 0.78, n / 12)]
    ]
    annotations = {"centre": [cx, cy], "radius": r, "hour": hour, "minute": minute}
    return Scene(img, ask(rng, PHRASINGS), answer, annotations, needs, objects, choices)


FAMILY = Family(
    "clock", make, "the time on an analog clock", PHRASINGS, (("aux_line", "aux_line"),)
)
