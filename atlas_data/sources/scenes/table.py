"""table: the number in one cell of a printed table, found by its row and column headers.
Small print needs a zoom into the cell; a table printed large is read as it is."""

from __future__ import annotations

import random

from PIL import ImageDraw

from atlas_data.sources.scenes.kit import (
    TEXT_INK,
    Family,
    Scene,
    ask,
    ink_height,
    multiple_choice,
    paper,
    typeface,
    unit,
    zoom_need,
)

PHRASINGS = (
    "What number is in row {row}, column {col} of the table?",
    "Read the table: which value sits in row {row} under column {col}?",
    "In the table, what is the entry for row {row}, column {col}?",
    "Which number does the table give at row {row} and column {col}?",
    "Look up row {row}, column {col} in the table. What does it say?",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = paper(rng, size)
    easy = rng.random() < 0.8
    rows, cols = (rng.randint(3, 5), rng.randint(3, 4)) if easy else (rng.randint(8, 14), 8)
    font_px = round(rng.uniform(34, 40) * u) if easy else round(rng.uniform(12, 15) * u)
    font = typeface(rng.choice(("sans", "serif", "mono")), font_px)
    cw, ch = round(font_px * 5), round(font_px * 2)
    x0 = rng.randint(20, max(20, w - cw * (cols + 1) - 20))
    y0 = rng.randint(20, max(20, h - ch * (rows + 1) - 20))
    d = ImageDraw.Draw(img)
    letters = "ABCDEFGH"[:cols]
    values = [[str(rng.randint(100, 999)) for _ in range(cols)] for _ in range(rows)]
    for c in range(cols + 2):
        d.line((x0 + c * cw, y0, x0 + c * cw, y0 + (rows + 1) * ch), fill=(120, 120, 120))
    for r in range(rows + 2):
        d.line((x0, y0 + r * ch, x0 + (cols + 1) * cw, y0 + r * ch), fill=(120, 120, 120))

    def cell(r: int, c: int) -> list[int]:  # r, c from 0 for the headers
        return [x0 + c * cw, y0 + r * ch, x0 + (c + 1) * cw, y0 + (r + 1) * ch]

    def write(box: list[int], text: str) -> None:
        d.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), text, TEXT_INK, font, "mm")

    for c, letter in enumerate(letters):
        write(cell(0, c + 1), letter)
    for r in range(rows):
        write(cell(r + 1, 0), str(r + 1))
        for c in range(cols):
            write(cell(r + 1, c + 1), values[r][c])
    r, c = rng.randrange(rows), rng.randrange(cols)
    answer = values[r][c]
    target = cell(r + 1, c + 1)
    reveals = f"the cell in row {r + 1}, column {letters[c]} holds {answer}"
    need = zoom_need(target, ink_height(font, answer), reveals)
    choices = None
    if rng.random() < 0.3:
        choices = multiple_choice(rng, answer, [v for row in values for v in row])
    others = [(rr, cc) for rr in range(rows) for cc in range(cols) if (rr, cc) != (r, c)]
    objects = [
        {"label": f"cell {rr + 1}{letters[cc]}", "box": cell(rr + 1, cc + 1)}
        for rr, cc in rng.sample(others, min(4, len(others)))
    ]
    question = ask(rng, PHRASINGS, row=r + 1, col=letters[c])
    annotations = {"cell": target, "values": values, "easy": easy}
    return Scene(img, question, answer, annotations, [need], objects, choices)


FAMILY = Family("table", make, "one cell of a printed table", PHRASINGS, (("zoom",), ()))
