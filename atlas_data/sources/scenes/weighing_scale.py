"""weighing_scale: which of two lettered objects on a photographed pan balance is heavier
(or lighter). The beam dips by a degree or two towards the heavier side, and the objects'
sizes say nothing of their weights: a level line through the pivot shows which end of the
beam drops below it, and an arrow from the pivot follows the dip to the heavier object. A
beam tilted steeply is plain at a glance (a direct answer)."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.instrument_photo import darker, light, room, shadow, surface
from atlas_data.sources.scenes.kit import (
    RGB,
    TEXT_INK,
    Family,
    Scene,
    ask,
    camera,
    hsv,
    typeface,
    unit,
    zoom_need,
)

PHRASINGS = (
    "Which object is {heavier}, A or B?",
    "The balance holds A on one pan and B on the other. Which one weighs {more}?",
    "Judging by the balance, which is {heavier}: A or B?",
    "Going by the pan balance, is A or B the {heavier} object?",
    "According to the scale, does A or B weigh {more}?",
    "Two objects, A and B, sit on the pans of a balance. Which is {heavier}?",
)
METALS: dict[str, RGB] = {"brass": (196, 152, 58), "steel": (150, 158, 170)}
EASY_SHARE = 0.18


def object_shape(
    d: ImageDraw.ImageDraw, rng: random.Random, kind: str, cx: float, base: float, s: float
) -> list[int]:
    """An object of ``kind`` standing on ``base`` (a pan's top), ``s`` px across; its box."""
    colour = hsv(rng.random(), rng.uniform(0.35, 0.7), rng.uniform(0.45, 0.8))
    edge = darker(colour, 0.6)
    if kind == "ball":
        box = [cx - s / 2, base - s, cx + s / 2, base]
        d.ellipse(box, fill=colour, outline=edge, width=2)
        hl = s * 0.18
        d.ellipse((cx - s * 0.25, base - s * 0.8, cx - s * 0.25 + hl, base - s * 0.8 + hl),
                  fill=tuple(min(255, c + 70) for c in colour))  # fmt: skip
    elif kind == "box":
        hgt = s * rng.uniform(0.7, 1.0)
        box = [cx - s / 2, base - hgt, cx + s / 2, base]
        d.rectangle(box, fill=colour, outline=edge, width=2)
        top = s * 0.16
        d.polygon([(cx - s / 2, base - hgt), (cx + s / 2, base - hgt),
                   (cx + s / 2 - top, base - hgt - top), (cx - s / 2 + top, base - hgt - top)],
                  fill=tuple(min(255, c + 40) for c in colour), outline=edge)  # fmt: skip
        box[1] = base - hgt - top
    else:  # a cylinder weight with a knob
        hgt = s * rng.uniform(0.8, 1.1)
        ell = s * 0.14
        box = [cx - s / 2, base - hgt - ell, cx + s / 2, base]
        d.rectangle((cx - s / 2, base - hgt, cx + s / 2, base - ell), fill=colour)
        d.ellipse((cx - s / 2, base - 2 * ell, cx + s / 2, base), fill=colour, outline=edge)
        d.ellipse((cx - s / 2, base - hgt - ell, cx + s / 2, base - hgt + ell),
                  fill=tuple(min(255, c + 40) for c in colour), outline=edge)  # fmt: skip
        knob = s * 0.12
        d.rectangle((cx - knob, base - hgt - 3 * knob, cx + knob, base - hgt), fill=edge)
        box[1] = base - hgt - 3 * knob
    return [round(v) for v in box]


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    easy = rng.random() < EASY_SHARE
    img = room(rng, size)
    table_y = round(h * rng.uniform(0.8, 0.86))
    table = surface(rng, (w, h - table_y), "wood")
    img.paste(table, (0, table_y))
    metal_name = rng.choice(sorted(METALS))
    metal = METALS[metal_name]
    cx = round(w / 2 + rng.uniform(-0.06, 0.06) * w)
    py = round(h * rng.uniform(0.24, 0.3))
    r = round(w * rng.uniform(0.24, 0.28))  # the beam's half length
    deg = rng.uniform(6.0, 10.0) if easy else rng.uniform(0.9, 2.4)
    heavy_side = rng.choice((-1, 1))  # -1: the left end dips, 1: the right one
    theta = math.radians(deg) * heavy_side  # positive: clockwise, the right end down
    ends = {s: (cx + s * r * math.cos(theta), py + s * r * math.sin(theta)) for s in (-1, 1)}
    string = h * rng.uniform(0.3, 0.34)
    pan_w, pan_h = round(230 * u), round(34 * u)
    base_w, base_h = round(260 * u), round(50 * u)

    def paint(dd: ImageDraw.ImageDraw) -> None:  # shadows on the table and the wall
        dd.ellipse((cx - base_w * 0.7, table_y + 6 * u, cx + base_w * 0.7, table_y + base_h),
                   fill=255)  # fmt: skip
        dd.rectangle((cx + 14 * u, py + 20 * u, cx + 34 * u, table_y - base_h), fill=150)

    img = shadow(img, paint, 14 * u, 0.5)
    d = ImageDraw.Draw(img)
    dark = darker(metal, 0.55)
    # the stand: a base on the table and a post up to the pivot
    d.polygon([(cx - base_w / 2, table_y + base_h * 0.3), (cx + base_w / 2, table_y + base_h * 0.3),
               (cx + base_w * 0.35, table_y - base_h * 0.6),
               (cx - base_w * 0.35, table_y - base_h * 0.6)], fill=dark)  # fmt: skip
    post = round(11 * u)
    d.rectangle((cx - post, py, cx + post, table_y - base_h * 0.6), fill=metal)
    d.line(
        (cx - post + 3, py + 10, cx - post + 3, table_y - base_h * 0.6),
        fill=(235, 225, 200),
        width=2,
    )
    # pans hang straight down from the beam's ends, on three strings each
    letters = ["A", "B"] if rng.random() < 0.5 else ["B", "A"]
    side_of = {letters[0]: -1, letters[1]: 1}
    font = typeface("sans", round(40 * u))
    sizes = {s: rng.uniform(90, 170) * u for s in (-1, 1)}
    pans: dict[int, list[int]] = {}
    things: dict[int, list[int]] = {}
    for s in (-1, 1):
        ex, ey = ends[s]
        top = ey + string
        pan = [
            round(ex - pan_w / 2),
            round(top - pan_h / 2),
            round(ex + pan_w / 2),
            round(top + pan_h / 2),
        ]
        pans[s] = pan
        for fx in (-0.46, 0.0, 0.46):
            d.line(
                (ex, ey + 12 * u, ex + fx * pan_w, pan[1]),
                fill=(70, 65, 60),
                width=max(1, round(2 * u)),
            )
        d.chord((pan[0], pan[1] - pan_h, pan[2], pan[3]), 0, 180, fill=metal, outline=dark, width=2)
        d.ellipse((pan[0], pan[1] - pan_h // 2, pan[2], pan[1] + pan_h // 2),
                  fill=darker(metal, 0.8), outline=dark)  # fmt: skip
        hook = (ex - 8 * u, ey + 4 * u, ex + 8 * u, ey + 20 * u)
        d.ellipse(hook, outline=dark, width=max(2, round(3 * u)))
        kind = rng.choice(("ball", "box", "weight"))
        things[s] = object_shape(d, rng, kind, ex, pan[1] + pan_h * 0.2, sizes[s])
        b = things[s]
        letter = letters[0] if s == -1 else letters[1]
        tag_y = (b[1] + b[3]) / 2 - 6 * u
        d.text((ex, tag_y), letter, (250, 250, 250), font, "mm", stroke_width=max(2, round(3 * u)),
               stroke_fill=TEXT_INK)  # fmt: skip
    # the beam over everything, through the pivot
    thick = round(14 * u)
    nx, ny = -math.sin(theta) * thick / 2, math.cos(theta) * thick / 2
    (lx, ly), (rx, ry) = ends[-1], ends[1]
    d.polygon([(lx - nx, ly - ny), (rx - nx, ry - ny), (rx + nx, ry + ny), (lx + nx, ly + ny)],
              fill=metal)  # fmt: skip
    # a round bar: lit from above, its lower half in shade, a bright streak, a dark outline
    d.polygon(
        [(lx, ly), (rx, ry), (rx + nx, ry + ny), (lx + nx, ly + ny)], fill=darker(metal, 0.72)
    )
    d.line(
        (lx - nx * 0.45, ly - ny * 0.45, rx - nx * 0.45, ry - ny * 0.45),
        fill=(245, 240, 225),
        width=2,
    )
    for k in (-1, 1):
        d.line(
            (lx + k * nx, ly + k * ny, rx + k * nx, ry + k * ny), fill=darker(metal, 0.4), width=2
        )
    pv = round(16 * u)
    d.ellipse((cx - pv, py - pv, cx + pv, py + pv), fill=dark, outline=TEXT_INK)
    img = light(img, rng)
    img, photo = camera(img, rng)

    heavy = letters[0] if heavy_side == -1 else letters[1]
    light_one = "B" if heavy == "A" else "A"
    lighter = rng.random() < 0.3
    answer = light_one if lighter else heavy
    question = ask(rng, PHRASINGS, heavier="lighter" if lighter else "heavier",
                   more="less" if lighter else "more")  # fmt: skip
    choices = ["A", "B"] if rng.random() < 0.5 else None
    drop = r * math.sin(abs(theta))  # how far an end sits off the level through the pivot
    side_word = "right" if heavy_side == 1 else "left"
    if easy:
        evidence = [ends[-1][0] - 20, min(ly, ry) - 20, ends[1][0] + 20, max(ly, ry) + 20]
        steep = f"the beam drops steeply to the {side_word}, towards {heavy}"
        needs = [zoom_need(evidence, 2 * drop, steep)]
    else:
        reach = r + round(40 * u)
        hb = things[heavy_side]
        target = [(hb[0] + hb[2]) / 2, (hb[1] + hb[3]) / 2]
        needs = [
            Need("aux_line", {"start": [cx - reach, py], "end": [cx + reach, py]},
                 f"the level line through the pivot passes {drop:.0f} px above the beam's "
                 f"{side_word} end: the beam dips to the {side_word}",
                 measure={"purpose": "align", "offset_px": round(drop, 1), "span_px": r}),
            Need("arrow", {"start": [cx, py], "end": [round(v) for v in target]},
                 f"the arrow follows the dip from the pivot to {heavy}, the heavier object"),
        ]  # fmt: skip
    objects = [
        {"label": f"object {letters[0] if s == -1 else letters[1]}", "box": things[s]}
        for s in (-1, 1)
    ] + [{"label": f"{'left' if s == -1 else 'right'} pan", "box": pans[s]} for s in (-1, 1)]
    annotations: dict[str, Any] = {
        "easy": easy,
        "pivot": [cx, py],
        "half_beam": r,
        "tilt_deg": round(math.degrees(theta), 3),  # positive: the right end down
        "ends": {("left" if s == -1 else "right"): [round(v, 1) for v in ends[s]] for s in (-1, 1)},
        "sides": {k: ("left" if v == -1 else "right") for k, v in side_of.items()},
        "heavier": heavy,
        "asks_lighter": lighter,
        "metal": metal_name,
        "metal_rgb": list(metal),
        "pans": {("left" if s == -1 else "right"): pans[s] for s in (-1, 1)},
        "objects": {("left" if s == -1 else "right"): things[s] for s in (-1, 1)},
        "sizes": {("left" if s == -1 else "right"): round(sizes[s]) for s in (-1, 1)},
    }
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "weighing_scale",
    make,
    "which of two lettered objects on a pan balance is heavier (or lighter)",
    PHRASINGS,
    (("aux_line", "arrow"), ()),
)
