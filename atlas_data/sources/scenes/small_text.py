"""small_text: a tiny code on one uniquely coloured tag in clutter: unreadable at the
budget, so zoom."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.geometry import clamp_box
from atlas_data.ops.params import font
from atlas_data.sources.scenes.kit import (
    CODE_ALPHABET,
    RGB,
    TAG_COLOURS,
    TEXT_INK,
    Box,
    Family,
    Scene,
    ask,
    backdrop,
    muted,
    place,
    unit,
    zoom_need,
)

PHRASINGS = (
    "What code is printed on the small {colour} tag?",
    "Read the code on the little {colour} tag.",
    "Which code does the {colour} tag carry?",
    "What is written on the small {colour} label?",
    "Find the {colour} tag. What code is on it?",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    """A tiny code on one uniquely coloured tag in clutter: unreadable downscaled, so zoom."""
    w, h = size
    u = unit(size)
    img = backdrop(rng, size, noise=True, light=False)
    d = ImageDraw.Draw(img)
    objects: list[dict[str, Any]] = []

    clutter_kinds = ("rectangle", "ellipse", "polygon", "line")
    for n in range(rng.randint(20, 40)):
        kind = rng.choice(clutter_kinds)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(20, 140) * u
        col = muted(rng)
        bb = (cx - r, cy - r * rng.uniform(0.4, 1.0), cx + r, cy + r * rng.uniform(0.4, 1.0))
        if kind == "rectangle":
            d.rectangle(bb, fill=col)
        elif kind == "ellipse":
            d.ellipse(bb, fill=col)
        elif kind == "polygon":
            pts = [
                (
                    cx + r * rng.uniform(0.5, 1) * math.cos(a),
                    cy + r * rng.uniform(0.5, 1) * math.sin(a),
                )
                for a in sorted(rng.uniform(0, 2 * math.pi) for _ in range(rng.randint(3, 6)))
            ]
            d.polygon(pts, fill=col)
            bb = (
                min(p[0] for p in pts),
                min(p[1] for p in pts),
                max(p[0] for p in pts),
                max(p[1] for p in pts),
            )
        else:
            a = rng.uniform(0, math.pi)
            bb = (
                cx - r * math.cos(a),
                cy - r * math.sin(a),
                cx + r * math.cos(a),
                cy + r * math.sin(a),
            )
            d.line(bb, fill=col, width=max(2, round(rng.uniform(2, 8) * u)))
            bb = (min(bb[0], bb[2]), min(bb[1], bb[3]), max(bb[0], bb[2]), max(bb[1], bb[3]))
        if n < 2 and r > 40 * u:  # a couple of big clutter shapes as plausible distractors
            box = clamp_box(bb, size)
            if box[2] - box[0] >= 4 and box[3] - box[1] >= 4:
                objects.append({"label": f"large {kind}", "box": list(box)})

    colours = list(TAG_COLOURS)
    rng.shuffle(colours)
    target_colour, others = colours[0], colours[1:]

    def code() -> str:
        return "".join(rng.choice(CODE_ALPHABET) for _ in range(rng.randint(3, 4)))

    def tag(text: str, font_size: int) -> tuple[float, float, int, int, int, int]:
        f = font(font_size)
        left, top, right, bottom = (int(v) for v in f.getbbox(text))
        pad = max(3, font_size // 4)
        return right - left + 2 * pad, bottom - top + 2 * pad, left, top, pad, bottom - top

    def draw_tag(
        box: Box, text: str, fill: RGB, font_size: int, left: int, top: int, pad: int
    ) -> None:
        edge = tuple(round(c * 0.6) for c in fill)
        d.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=fill, outline=edge)
        d.text((box[0] + pad - left, box[1] + pad - top), text, fill=TEXT_INK, font=font(font_size))

    taken: list[Box] = []
    # The target first, so it always finds room. Font sizes 11-15 give 8-12 px glyphs.
    answer = code()
    while True:
        fs = rng.randint(11, 15)
        tw, th, left, top, pad, text_h = tag(answer, fs)
        if 8 <= text_h <= 12:
            break
    target = place(rng, tw, th, size, taken, margin=60 * u, gap=0)
    assert target is not None  # an empty canvas always has room
    taken.append(target)
    draw_tag(target, answer, TAG_COLOURS[target_colour], fs, left, top, pad)

    # Decoys: mostly large tags, plus up to two small ones, never in the target's colour.
    n_large, n_small = rng.randint(3, 5), rng.randint(0, 2)
    for k in range(n_large + n_small):
        text = code()
        while text == answer:
            text = code()
        fsd = max(18, round(rng.randint(20, 40) * u)) if k < n_large else rng.randint(11, 15)
        dw, dh, dl, dt, dp, _ = tag(text, fsd)
        spot = place(rng, dw, dh, size, taken, margin=20 * u, gap=40 * u)
        if spot is None:
            continue
        colour = rng.choice(others)
        taken.append(spot)
        draw_tag(spot, text, TAG_COLOURS[colour], fsd, dl, dt, dp)
        objects.append({"label": f"{colour} tag", "box": list(spot)})

    question = ask(rng, PHRASINGS, colour=target_colour)
    need = zoom_need(target, text_h, f'the tag reads "{answer}"')
    annotations = {
        "target": {
            "box": list(target),
            "colour": target_colour,
            "rgb": list(TAG_COLOURS[target_colour]),
        },
    }
    return Scene(img, question, answer, annotations, [need], objects)


FAMILY = Family(
    "small_text", make, "a tiny code on one coloured tag in clutter", PHRASINGS, (("zoom",),)
)
