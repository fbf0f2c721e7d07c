"""bar_chart: the value of one bar, read against the y axis. A line from the bar's top to
the axis shows where it meets the scale, then a label writes the value read there."""

from __future__ import annotations

import random

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    TEXT_INK,
    Family,
    Scene,
    ask,
    hsv,
    multiple_choice,
    paper,
    typeface,
    unit,
)

PHRASINGS = (
    "What is the value of bar {label}?",
    "Reading the chart, how high does bar {label} reach?",
    "According to the y axis, what value does bar {label} show?",
    "What number does bar {label} stand for on this chart?",
    "How tall is bar {label}, in the chart's units?",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = paper(rng, size, (250, 250, 250))
    d = ImageDraw.Draw(img)
    font = typeface(rng.choice(("sans", "serif")), round(24 * u))
    top = 100
    left, right = round(w * 0.14), round(w * 0.94)
    y_top, y_bottom = round(h * 0.12), round(h * 0.86)
    per_unit = (y_bottom - y_top) / top

    def y_of(v: float) -> float:
        return y_bottom - v * per_unit

    for v in range(0, top + 1, 20):  # ticks and faint grid every 20
        y = round(y_of(v))
        d.line((left, y, right, y), fill=(228, 228, 228))
        d.line((left - round(10 * u), y, left, y), fill=TEXT_INK, width=2)
        d.text((left - round(16 * u), y), str(v), TEXT_INK, font, "rm")
    d.line((left, y_top, left, y_bottom), fill=TEXT_INK, width=3)
    d.line((left, y_bottom, right, y_bottom), fill=TEXT_INK, width=3)
    n = rng.randint(5, 8)
    labels = "ABCDEFGH"[:n]
    values = [rng.choice([v for v in range(12, 96) if v % 20 not in (0, 1, 19)]) for _ in labels]
    slot = (right - left) / n
    bw = slot * 0.55
    bars = {}
    for k, (label, v) in enumerate(zip(labels, values, strict=True)):
        x0 = left + slot * k + (slot - bw) / 2
        box = [round(x0), round(y_of(v)), round(x0 + bw), y_bottom - 2]
        d.rectangle(box, fill=hsv(rng.random(), 0.55, 0.75))
        d.text(((box[0] + box[2]) / 2, y_bottom + round(20 * u)), label, TEXT_INK, font, "mm")
        bars[label] = box
    k = rng.randrange(n)
    label, answer = labels[k], str(values[k])
    box = bars[label]
    meet = [left, box[1]]
    needs = [
        Need(
            "aux_line",
            {"start": [(box[0] + box[2]) // 2, box[1]], "end": meet},
            f"the line from the top of bar {label} meets the axis between the ticks "
            f"{values[k] // 20 * 20} and {values[k] // 20 * 20 + 20}",
        ),
        Need(
            "text_label",
            {"position": [left + round(12 * u), box[1] - round(30 * u)], "text": answer},
            f"the point where the line meets the axis is labelled {answer}",
        ),
    ]
    choices = None
    if rng.random() < 0.3:
        choices = multiple_choice(rng, answer, [str(v) for v in range(12, 96)])
    objects = [{"label": f"bar {lb}", "box": b} for lb, b in bars.items() if lb != label]
    annotations = {"bars": bars, "values": dict(zip(labels, values, strict=True)),
                   "axis": {"left": left, "y_bottom": y_bottom, "per_unit": per_unit}}  # fmt: skip
    question = ask(rng, PHRASINGS, label=label)
    return Scene(img, question, answer, annotations, needs, objects, choices)


FAMILY = Family(
    "bar_chart", make, "a bar's value read against the axis", PHRASINGS,
    (("aux_line", "text_label"),),
)  # fmt: skip
