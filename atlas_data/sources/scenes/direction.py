"""direction: a pointer glyph and lettered boxes; only an arrow along the pointer settles
which box it aims at."""

from __future__ import annotations

import math
import random

from PIL import ImageDraw

from atlas_data.ops.geometry import clamp_box, ray_hits_box
from atlas_data.ops.params import font
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    BOX_LETTERS,
    TEXT_INK,
    Box,
    Family,
    Scene,
    angle_diff,
    ask,
    backdrop,
    hsv,
    overlaps,
    unit,
)

PHRASINGS = (
    "Which lettered box does the pointer point to?",
    "Follow the pointer: which lettered box does it aim at?",
    "The dark pointer aims at one box. Which letter is it?",
    "Which box lies in the direction the pointer shows?",
    "If you follow the pointer's direction, which lettered box do you reach?",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    """A pointer glyph and lettered boxes; only an arrow along the pointer settles which box."""
    w, h = size
    u = unit(size)
    img = backdrop(rng, size, noise=False, light=True)
    d = ImageDraw.Draw(img)

    length, half_w = 70 * u, 26 * u
    half = round(rng.uniform(36, 48) * u)  # lettered box half-side
    m = half + round(20 * u)
    for _ in range(5000):
        bx, by = rng.uniform(m + length, w - m - length), rng.uniform(m + length, h - m - length)
        theta = rng.uniform(0, 2 * math.pi)
        ux, uy = math.cos(theta), math.sin(theta)
        tip = (round(bx + length * ux), round(by + length * uy))
        t_max = min(
            ((w - m - tip[0]) / ux if ux > 1e-9 else (m - tip[0]) / ux if ux < -1e-9 else math.inf),
            ((h - m - tip[1]) / uy if uy > 1e-9 else (m - tip[1]) / uy if uy < -1e-9 else math.inf),
        )
        if t_max >= 320 * u:
            break
    else:  # pragma: no cover
        raise RuntimeError("direction: could not place the pointer")
    t = rng.uniform(240 * u, t_max)
    centre = (round(tip[0] + t * ux), round(tip[1] + t * uy))
    target = (centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half)

    nx, ny = -uy, ux
    glyph = [
        tip,
        (tip[0] - length * ux + half_w * nx, tip[1] - length * uy + half_w * ny),
        (tip[0] - 0.65 * length * ux, tip[1] - 0.65 * length * uy),
        (tip[0] - length * ux - half_w * nx, tip[1] - length * uy - half_w * ny),
    ]
    pointer_box = clamp_box(
        (
            min(p[0] for p in glyph),
            min(p[1] for p in glyph),
            max(p[0] for p in glyph),
            max(p[1] for p in glyph),
        ),
        size,
    )

    k = rng.randint(4, 6)
    letters = rng.sample(BOX_LETTERS, k)
    boxes: list[tuple[str, Box]] = [(letters[0], target)]
    min_sep = math.radians(25)
    for n, letter in enumerate(letters[1:]):
        for _ in range(500):
            if n == 0:  # one decoy close to the ray, so eyeballing the direction is not enough
                ang = theta + rng.choice((-1, 1)) * math.radians(rng.uniform(26, 40))
                dist = rng.uniform(240 * u, max(260 * u, t * 1.1))
                p = (round(tip[0] + dist * math.cos(ang)), round(tip[1] + dist * math.sin(ang)))
            else:
                p = (rng.randint(m, w - m), rng.randint(m, h - m))
            b = (p[0] - half, p[1] - half, p[0] + half, p[1] + half)
            if (
                m <= p[0] <= w - m
                and m <= p[1] <= h - m
                and math.dist(p, tip) > 200 * u
                and angle_diff(math.atan2(p[1] - tip[1], p[0] - tip[0]), theta) > min_sep
                and not ray_hits_box(tip, (ux, uy), b, pad=20 * u)
                and not overlaps(b, pointer_box, 30 * u)
                and not any(overlaps(b, o, 30 * u) for _, o in boxes)
            ):
                boxes.append((letter, b))
                break

    f = font(max(12, round(half * 1.1)))
    line_w = max(2, round(4 * u))
    for letter, b in boxes:
        edge = hsv(rng.random(), rng.uniform(0.5, 0.8), rng.uniform(0.45, 0.7))
        d.rectangle(b, fill=(252, 252, 252), outline=edge, width=line_w)
        d.text(((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), letter, fill=TEXT_INK, font=f, anchor="mm")
    d.polygon(glyph, fill=(35, 35, 45))

    answer = letters[0]
    objects = [{"label": f"box {letter}", "box": list(b)} for letter, b in boxes[1:]]
    objects.append({"label": "pointer", "box": list(pointer_box)})
    need = Need(
        op="arrow",
        params={"start": list(tip), "end": list(centre)},
        reveals=f"the arrow along the pointer reaches box {answer}",
    )
    annotations = {
        "pointer": {"tip": list(tip), "angle_deg": round(math.degrees(theta) % 360, 2)},
        "boxes": {letter: list(b) for letter, b in boxes},
    }
    return Scene(img, ask(rng, PHRASINGS), answer, annotations, [need], objects)


FAMILY = Family("direction", make, "which box a pointer aims at", PHRASINGS, (("arrow",),))
