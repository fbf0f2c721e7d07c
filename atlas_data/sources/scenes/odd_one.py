"""odd_one: a numbered grid of identical shapes with one subtly different: box it, then an
arrow up to its column's number."""

from __future__ import annotations

import colorsys
import random

from PIL import Image, ImageDraw

from atlas_data.ops.params import font
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import RGB, TEXT_INK, Family, Scene, ask, hsv, unit

PHRASINGS = (
    "One shape differs from the others. In which row and column is it? "
    "Answer as 'row R, column C'.",
    "Which shape in the grid is not like the rest? Answer as 'row R, column C'.",
    "Find the odd one out in the grid. Give its position as 'row R, column C'.",
    "One cell holds a shape that differs. Where is it? Answer as 'row R, column C'.",
    "Spot the shape that does not match the others and answer as 'row R, column C'.",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    """A numbered grid of identical shapes with one subtly different: boxing it pins it down."""
    w, h = size
    u = unit(size)
    bg = hsv(rng.random(), rng.uniform(0.0, 0.08), rng.uniform(0.9, 0.98))
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)

    rows, cols = rng.randint(4, 6), rng.randint(5, 8)
    left, top = round(90 * u), round(90 * u)
    cw, ch = (w - left - round(40 * u)) // cols, (h - top - round(40 * u)) // rows
    cell = min(cw, ch)
    a = max(6, round(cell * rng.uniform(0.26, 0.32)))  # half-size of the shape

    kind = rng.choice(("notched square", "pac"))
    hue = rng.random()
    colour = hsv(hue, rng.uniform(0.55, 0.8), rng.uniform(0.55, 0.8))
    rot = rng.randrange(4)  # quarter turns of the common shape
    mode = rng.choice(("shade", "rotated", "notch"))
    odd_r, odd_c = rng.randrange(rows), rng.randrange(cols)

    def draw_one(cx: int, cy: int, fill: RGB, quarter: int, notch: bool) -> None:
        if kind == "pac":
            bb = (cx - a, cy - a, cx + a, cy + a)
            if notch:
                start = 90 * quarter + 25
                d.pieslice(bb, start, start + 310, fill=fill)
            else:
                d.ellipse(bb, fill=fill)
            return
        n = max(3, a // 2)
        pts = [(-a, -a), (-n, -a), (0, -a + n), (n, -a), (a, -a), (a, a), (-a, a)]
        if not notch:
            pts = [(-a, -a), (a, -a), (a, a), (-a, a)]
        for _ in range(quarter % 4):
            pts = [(-y, x) for x, y in pts]
        d.polygon([(cx + x, cy + y) for x, y in pts], fill=fill)

    label_font = font(max(12, round(30 * u)))
    for c in range(cols):
        d.text(
            (left + c * cw + cw // 2, top // 2),
            str(c + 1),
            fill=TEXT_INK,
            font=label_font,
            anchor="mm",
        )
    for r in range(rows):
        d.text(
            (left // 2, top + r * ch + ch // 2),
            str(r + 1),
            fill=TEXT_INK,
            font=label_font,
            anchor="mm",
        )

    if mode == "shade":
        shift = rng.choice((-1, 1)) * rng.uniform(0.05, 0.08)
        odd_colour = hsv(hue + shift, *colorsys.rgb_to_hsv(*(v / 255 for v in colour))[1:])
        clause = "is a different shade"
    else:
        odd_colour = colour
        clause = "is turned differently" if mode == "rotated" else "is missing its notch"
    odd_quarter = rot + rng.randint(1, 3) if mode == "rotated" else rot
    for r in range(rows):
        for c in range(cols):
            cx, cy = left + c * cw + cw // 2, top + r * ch + ch // 2
            odd = (r, c) == (odd_r, odd_c)
            quarter = odd_quarter if odd else rot
            draw_one(cx, cy, odd_colour if odd else colour, quarter, not (odd and mode == "notch"))

    def cell_box(r: int, c: int) -> list[int]:
        return [left + c * cw, top + r * ch, left + (c + 1) * cw, top + (r + 1) * ch]

    others = [(r, c) for r in range(rows) for c in range(cols) if (r, c) != (odd_r, odd_c)]
    objects = [
        {"label": f"shape in row {r + 1}, column {c + 1}", "box": cell_box(r, c)}
        for r, c in rng.sample(others, 4)
    ]
    where = f"row {odd_r + 1}, column {odd_c + 1}"
    odd_box = cell_box(odd_r, odd_c)
    column_x = (odd_box[0] + odd_box[2]) // 2
    needs = [
        Need(op="box", params={"box": odd_box}, reveals=f"the boxed shape {clause}"),
        Need(  # from the boxed shape up to its column's number: which column it is in
            op="arrow",
            params={"start": [column_x, odd_box[1]], "end": [column_x, round(top * 0.75)]},
            reveals=f"the arrow leads from the boxed shape up to column {odd_c + 1}",
        ),
    ]
    question = ask(rng, PHRASINGS)
    annotations = {
        "grid": {
            "rows": rows,
            "cols": cols,
            "cells": [cell_box(r, c) for r in range(rows) for c in range(cols)],
        },
        "difference": mode,
    }
    return Scene(img, question, where, annotations, needs, objects)


FAMILY = Family(
    "odd_one", make, "the one different shape in a numbered grid", PHRASINGS, (("box", "arrow"),)
)
