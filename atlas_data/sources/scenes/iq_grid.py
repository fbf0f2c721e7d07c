"""iq_grid: a BLINK-style IQ-test matrix photographed on a worksheet. A 3x3 grid of figures
follows a rule along its rows and down its columns (which figure, how many, turned how far,
filled how); the last cell is blank and four lettered candidates are printed below it.

The answer is the candidate equal to the figure the rule puts in the blank cell; each
wrong candidate differs from it in one attribute. A puzzle printed small (its figures' telling
detail under the reading size at the budget) is zoomed first, then an arrow runs from the
blank cell to the right candidate; a large one gets a box round its bottom row (what the
blank cell shares with its row) and the arrow; a large one with a single rule is plain."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    Family,
    Scene,
    ask,
    camera,
    paper,
    typeface,
    unit,
    zoom_need,
)

PHRASINGS = (
    "Which option completes the pattern in the grid?",
    "The bottom-right cell of the 3x3 grid is blank. Which candidate, A, B, C or D, belongs there?",
    "Choose the figure that fits the empty cell: A, B, C or D?",
    "Which of the four candidates follows the rule of the rows and columns?",
    "Complete the matrix: which option goes in place of the question mark?",
    "Look at how the figures change along the rows and down the columns. Which option fills "
    "the gap?",
)
CANDIDATES = "ABCD"
KINDS = ("arrow", "pac", "ell", "tee")
FILLS = ("solid", "outline", "half")
ROTATIONS = (0, 90, 180, 270)
COUNTS = (1, 2, 3)
ATTRS = ("kind", "count", "rot", "fill")
VALUES: dict[str, tuple[Any, ...]] = {
    "kind": KINDS,
    "count": COUNTS,
    "rot": ROTATIONS,
    "fill": FILLS,
}
WORDS = {"kind": "figure", "count": "number of figures", "rot": "turn", "fill": "fill"}
GLYPH = 0.12  # glyph radius, of a cell's side
HARD_CELL = (90, 104)  # px: a puzzle printed small
BIG_CELL = (195, 225)
INK: tuple[int, int, int] = (28, 28, 32)

Figure = dict[str, Any]  # kind, count, rot, fill


def outline(kind: str) -> list[tuple[float, float]]:
    """The figure's outline at radius 1, pointing up (y grows downwards)."""
    if kind == "arrow":
        return [(0, -1), (0.95, 0.0), (0.42, 0.0), (0.42, 1), (-0.42, 1), (-0.42, 0.0),
                (-0.95, 0.0)]  # fmt: skip
    if kind == "pac":  # a disc with a mouth opening upwards
        arc = [math.radians(a) for a in range(40, 321, 10)]
        return [(0.0, 0.15)] + [(math.sin(t), -math.cos(t)) for t in arc]
    if kind == "ell":
        return [(-0.8, -1), (-0.1, -1), (-0.1, 0.3), (0.8, 0.3), (0.8, 1), (-0.8, 1)]
    return [(-0.95, -1), (0.95, -1), (0.95, -0.35), (0.36, -0.35), (0.36, 1), (-0.36, 1),
            (-0.36, -0.35), (-0.95, -0.35)]  # fmt: skip  # tee


def clip_left(poly: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The part of ``poly`` with x <= 0 (Sutherland-Hodgman against one half-plane)."""
    out: list[tuple[float, float]] = []
    for i, p in enumerate(poly):
        q = poly[(i + 1) % len(poly)]
        if p[0] <= 0:
            out.append(p)
        if (p[0] <= 0) != (q[0] <= 0):
            t = p[0] / (p[0] - q[0])
            out.append((0.0, p[1] + t * (q[1] - p[1])))
    return out


def placed(
    poly: list[tuple[float, float]], cx: float, cy: float, r: float, rot: int
) -> list[tuple[float, float]]:
    """``poly`` turned ``rot`` degrees clockwise, scaled by ``r``, centred on (cx, cy)."""
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    return [(cx + r * (x * c - y * s), cy + r * (x * s + y * c)) for x, y in poly]


def draw_glyph(
    d: ImageDraw.ImageDraw, kind: str, fill: str, rot: int, cx: float, cy: float, r: float
) -> None:
    """One figure: solid, outlined, or outlined with its left half (before turning) filled."""
    poly = outline(kind)
    width = max(2, round(r * 0.16))
    if fill == "solid":
        d.polygon(placed(poly, cx, cy, r, rot), fill=INK)
        return
    if fill == "half":
        d.polygon(placed(clip_left(poly), cx, cy, r, rot), fill=INK)
    d.polygon(placed(poly, cx, cy, r, rot), outline=INK, width=width)


def glyph_centres(count: int, cx: float, cy: float, cell: float) -> list[tuple[float, float]]:
    """Where a cell's ``count`` figures sit: side by side, spaced evenly."""
    step = cell * 0.31
    return [(cx + (k - (count - 1) / 2) * step, cy) for k in range(count)]


def draw_figure(d: ImageDraw.ImageDraw, fig: Figure, box: Sequence[float]) -> None:
    cell = box[2] - box[0]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for gx, gy in glyph_centres(fig["count"], cx, cy, cell):
        draw_glyph(d, fig["kind"], fig["fill"], fig["rot"], gx, gy, cell * GLYPH)


def rule(rng: random.Random, attr: str) -> list[Any]:
    """Three distinct values of ``attr`` in the order the rule steps through them."""
    if attr == "rot":  # a steady quarter turn, clockwise or back
        start, step = rng.choice(ROTATIONS), rng.choice((90, -90))
        return [(start + k * step) % 360 for k in range(3)]
    if attr == "count":
        return [1, 2, 3] if rng.random() < 0.6 else [3, 2, 1]
    return rng.sample(list(VALUES[attr]), 3)


def describe(fig: Figure) -> str:
    n = fig["count"]
    return f"{n} {fig['fill']} {fig['kind']}{'s' if n > 1 else ''} turned {fig['rot']} degrees"


def worksheet(rng: random.Random, size: tuple[int, int], keep: Sequence[float]) -> Image.Image:
    """Paper with a header bar and grey lines of 'text' clear of the puzzle's box."""
    w, h = size
    u = unit(size)
    img = paper(rng, size)
    d = ImageDraw.Draw(img)
    grey = (150, 150, 146)
    y = round(rng.uniform(30, 60) * u)
    d.rectangle((round(50 * u), y, round(w * rng.uniform(0.3, 0.5)), y + round(18 * u)), grey)
    y += round(50 * u)
    while y < h - 40 * u:
        x0 = round(50 * u)
        x1 = round(w - rng.uniform(50, 400) * u)
        line = (x0, y, x1, y + round(9 * u))
        if not (line[3] + 20 > keep[1] and line[1] - 20 < keep[3]):
            d.rectangle(line, (172, 172, 168))
        y += round(rng.uniform(26, 34) * u)
    return img


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    variant = rng.choices(("hard", "box", "easy"), (0.42, 0.4, 0.18))[0]
    lo, hi = HARD_CELL if variant == "hard" else BIG_CELL
    cell = rng.randint(round(lo * unit(size)), round(hi * unit(size)))
    pad = round(cell * 0.2)  # between the grid and the candidates, and between candidates
    letter_h = round(cell * 0.3)
    pw = max(3 * cell, 4 * cell + 3 * pad)
    ph = 3 * cell + 2 * pad + cell + letter_h
    if variant == "hard":  # somewhere on the sheet
        x0 = rng.randint(round(0.08 * w), w - pw - round(0.08 * w))
        y0 = rng.randint(round(0.2 * h), h - ph - round(0.08 * h))
    else:
        x0, y0 = (w - pw) // 2 + rng.randint(-20, 20), (h - ph) // 2 + rng.randint(-10, 10)
    puzzle = [x0 - pad, y0 - pad, x0 + pw + pad, y0 + ph + pad]
    img = worksheet(rng, size, puzzle)
    d = ImageDraw.Draw(img)
    d.rectangle(puzzle, fill=(250, 250, 247))

    # The rule: one attribute steps along each row (by column), another (in the hard and
    # boxed variants) changes from row to row; the others hold throughout.
    col_attr, row_attr = rng.sample(ATTRS, 2)
    col_vals = rule(rng, col_attr)
    row_vals = rule(rng, row_attr) if variant != "easy" else None
    base: Figure = {a: rng.choice(VALUES[a]) for a in ATTRS}

    def figure(r: int, c: int) -> Figure:
        fig = dict(base)
        fig[col_attr] = col_vals[c]
        if row_vals is not None:
            fig[row_attr] = row_vals[r]
        return fig

    gx0 = x0 + (pw - 3 * cell) // 2
    cells = [[[gx0 + c * cell, y0 + r * cell, gx0 + (c + 1) * cell, y0 + (r + 1) * cell]
              for c in range(3)] for r in range(3)]  # fmt: skip
    line_w = max(2, round(cell * 0.02))
    for r in range(3):
        for c in range(3):
            d.rectangle(cells[r][c], outline=INK, width=line_w)
            if (r, c) != (2, 2):
                draw_figure(d, figure(r, c), cells[r][c])
    blank = cells[2][2]
    qfont = typeface("sans", round(cell * 0.45))
    d.text(((blank[0] + blank[2]) / 2, (blank[1] + blank[3]) / 2), "?", INK, qfont, "mm")

    right = figure(2, 2)
    # Wrong candidates, each one attribute off: the column's value from another column, the
    # row's from another row, and a held attribute changed.
    wrong: list[Figure] = []
    held = [a for a in ATTRS if a != col_attr and (row_vals is None or a != row_attr)]
    changes = [(col_attr, [v for v in col_vals if v != right[col_attr]])]
    if row_vals is not None:
        changes.append((row_attr, [v for v in row_vals if v != right[row_attr]]))
    for a in rng.sample(held, len(held)):
        changes.append((a, [v for v in VALUES[a] if v != right[a]]))
    for a, options in changes:
        for v in rng.sample(options, len(options)):
            fig = {**right, a: v}
            if fig not in wrong:
                wrong.append(fig)
                break
        if len(wrong) == 3:
            break
    figs = [right, *wrong]
    rng.shuffle(figs)
    answer = CANDIDATES[figs.index(right)]

    cy0 = y0 + 3 * cell + 2 * pad
    lfont = typeface("sans", round(letter_h * 0.8))
    cands: list[list[int]] = []
    for k, fig in enumerate(figs):
        cx = x0 + (pw - (4 * cell + 3 * pad)) // 2 + k * (cell + pad)
        box = [cx, cy0, cx + cell, cy0 + cell]
        cands.append(box)
        d.rectangle(box, outline=INK, width=line_w)
        draw_figure(d, fig, box)
        d.text((cx + cell / 2, cy0 + cell + letter_h * 0.55), CANDIDATES[k], INK, lfont, "mm")
    img, photo = camera(img, rng)

    glyph_r = cell * GLYPH
    where = CANDIDATES[figs.index(right)]
    says = f"the bottom row keeps its {WORDS[row_attr] if row_vals else WORDS[col_attr]}"
    pointer = Need(
        "arrow",
        {"start": [(blank[0] + blank[2]) / 2, blank[3] + 10],
         "end": [(cands[figs.index(right)][0] + cell / 2), cands[figs.index(right)][1] - 6]},
        f"the arrow leads from the blank cell to candidate {where}, "
        f"{describe(right)}, which follows the rule",
    )  # fmt: skip
    if variant == "hard":
        needs = [
            zoom_need(
                puzzle,
                glyph_r,
                "the grid and the candidates appear large enough to tell the figures' "
                "turns and fills apart",
            ),
            pointer,
        ]
    elif variant == "box":
        row_box = [cells[2][0][0] - 3, cells[2][0][1] - 3, cells[2][2][2] + 3, cells[2][2][3] + 3]
        needs = [Need("box", {"box": row_box}, f"{says}; the column sets the rest"), pointer]
    else:
        needs = [zoom_need(puzzle, glyph_r, "the figures are already plain at this size")]
    objects = [{"label": f"candidate {CANDIDATES[k]}", "box": b} for k, b in enumerate(cands)] + [
        {"label": "grid cell", "box": cells[r][c]} for r, c in ((0, 0), (1, 2))
    ]
    annotations: dict[str, Any] = {
        "variant": variant,
        "easy": variant == "easy",
        "cell_px": cell,
        "glyph_radius_px": glyph_r,
        "cells": cells,
        "candidates": cands,
        "puzzle": puzzle,
        "rule": {"along_rows": col_attr, "down_columns": row_attr if row_vals else None},
        "figures": [[figure(r, c) for c in range(3)] for r in range(3)],
        "candidate_figures": figs,
    }
    choices = list(CANDIDATES) if rng.random() < 0.5 else None
    question = ask(rng, PHRASINGS)
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "iq_grid",
    make,
    "which candidate completes a 3x3 IQ-test matrix",
    PHRASINGS,
    (("zoom", "arrow"), ("box", "arrow"), ()),
)
