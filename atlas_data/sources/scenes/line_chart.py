"""line_chart: a chart of several series over the years, with a legend, printed or on a
screen and photographed. It asks a series' value in a year (a line up from the year to
the series, one across to the y axis, then a label with the value read there), the year
two series cross (a box on the crossing, then a line down to the year axis), or which of
two series is higher in a year (a line up the year, then a box on the two points). An easy
variant asks which is higher where they are far apart: answered at a glance."""

from __future__ import annotations

import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.chart_look import PALETTE, finish, medium
from atlas_data.sources.scenes.kit import (
    TEXT_INK,
    Family,
    Scene,
    ask,
    multiple_choice,
    typeface,
    unit,
    zoom_need,
)

VALUE = (
    "What is the value of the {a} series in {year}?",
    "According to the chart, what value does {a} reach in {year}?",
    "In {year}, how high is the {a} line on the y axis?",
    "What does the {a} series stand at in {year}?",
)
CROSS = (
    "In which year do the {a} and {b} lines cross?",
    "At which year on the x axis do {a} and {b} meet?",
    "Which year do the {a} and {b} series take the same value?",
)
HIGHER = (
    "In {year}, which series is higher: {a} or {b}?",
    "Which is greater in {year}, {a} or {b}?",
    "Looking at {year}, does {a} or {b} have the larger value?",
)
PHRASINGS = VALUE + CROSS + HIGHER
NAMES = (
    ("North", "South", "East", "West"),
    ("Alpha", "Beta", "Gamma", "Delta"),
    ("Coal", "Solar", "Wind", "Hydro"),
    ("Tea", "Coffee", "Juice", "Water"),
)
COLOURS = [c for c in PALETTE if c != "red"]  # the operations draw in red


def _walk(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    """``n`` values, multiples of 5 in [lo, hi], wandering."""
    v = rng.randrange(lo, hi + 1, 5)
    out = []
    for _ in range(n):
        out.append(v)
        v = min(hi, max(lo, v + rng.choice((-15, -10, -5, 5, 10, 15))))
    return out


def _apart(series: dict[str, list[int]], names: list[str], i: int, far: int = 10) -> bool:
    """Every pair of the other series at step ``i`` is ``far`` or more apart from these."""
    return all(
        abs(series[a][i] - series[o][i]) >= far for a in names for o in series if o not in names
    )


def _data(
    rng: random.Random, names: list[str], n: int, kind: str
) -> tuple[dict[str, list[int]], list[str], int]:
    """Series values, the series the question names and the step it asks about."""
    while True:
        i = rng.randint(1, n - 2)
        if kind == "value":
            series = {s: _walk(rng, n + 1, 10, 95) for s in names}
            asked = [rng.choice(names)]
            a = asked[0]
            if series[a][i] % 10 == 0:
                series[a][i] += rng.choice((-5, 5)) if 10 < series[a][i] < 95 else 5
            ok = _apart(series, asked, i)
        elif kind == "cross":
            a, b = rng.sample(names, 2)
            asked = [a, b]
            base = _walk(rng, n + 1, 35, 65)
            gaps = [rng.choice((10, 15, 20, 25, 30)) for _ in range(n + 1)]
            series = {s: _walk(rng, n + 1, 10, 95) for s in names}
            series[a] = base
            series[b] = [v + (g if k > i else -g if k < i else 0)
                         for k, (v, g) in enumerate(zip(base, gaps, strict=True))]  # fmt: skip
            ok = _apart(series, asked, i)
        else:  # higher (close) or easy (far apart)
            a, b = rng.sample(names, 2)
            asked = [a, b]
            series = {s: _walk(rng, n + 1, 10, 95) for s in names}
            gap = 5 if kind == "higher" else rng.choice((40, 45, 50))
            lo = rng.randrange(10, 95 - gap + 1, 5)
            pair = [lo, lo + gap]
            rng.shuffle(pair)
            series[a][i], series[b][i] = pair
            ok = _apart(series, asked, i)
        if ok:
            return series, asked, i


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    u = unit(size)
    img, panel, look = medium(rng, size)
    d = ImageDraw.Draw(img)
    font = typeface(rng.choice(("sans", "serif")), round(22 * u))
    px0, py0, px1, py1 = panel
    left, right = px0 + round(110 * u), px1 - round(250 * u)
    y_top, y_bottom = py0 + round(70 * u), py1 - round(80 * u)
    n = rng.randint(8, 10)
    first_year = rng.randint(2004, 2014)
    per_unit = (y_bottom - y_top) / 100

    def x_of(i: int) -> int:
        return round(left + i * (right - left) / n)

    def y_of(v: float) -> int:
        return round(y_bottom - v * per_unit)

    for v in range(0, 101, 10):
        y = y_of(v)
        d.line((left, y, right, y), fill=(222, 222, 222) if v % 20 else (200, 200, 200))
        d.line((left - round(9 * u), y, left, y), fill=TEXT_INK, width=2)
        d.text((left - round(14 * u), y), str(v), TEXT_INK, font, "rm")
    for i in range(n + 1):
        x = x_of(i)
        d.line((x, y_bottom, x, y_bottom + round(9 * u)), fill=TEXT_INK, width=2)
        d.text((x, y_bottom + round(14 * u)), str(first_year + i), TEXT_INK, font, "mt")
    d.line((left, y_top, left, y_bottom), fill=TEXT_INK, width=3)
    d.line((left, y_bottom, right, y_bottom), fill=TEXT_INK, width=3)

    roll = rng.random()
    kind = (
        "value" if roll < 0.34 else "cross" if roll < 0.56 else "higher" if roll < 0.8 else "easy"
    )
    names = list(rng.choice(NAMES)[: rng.randint(3, 4)])
    series, asked, i = _data(rng, names, n, kind)
    colours = dict(zip(names, rng.sample(COLOURS, len(names)), strict=True))
    lw, r = max(3, round(4 * u)), max(5, round(7 * u))
    points: dict[str, list[list[int]]] = {}
    for s in names:
        pts = [[x_of(k), y_of(v)] for k, v in enumerate(series[s])]
        points[s] = pts
        d.line([tuple(p) for p in pts], fill=PALETTE[colours[s]], width=lw, joint="curve")
        for x, y in pts:
            d.ellipse((x - r, y - r, x + r, y + r), fill=PALETTE[colours[s]])
    legend: dict[str, list[int]] = {}
    lx, ly = right + round(40 * u), y_top + round(20 * u)
    for k, s in enumerate(names):
        y = ly + round(k * 46 * u)
        key = [lx, y - round(4 * u), lx + round(44 * u), y + round(4 * u)]
        d.rectangle(key, fill=PALETTE[colours[s]])
        d.text((lx + round(56 * u), y), s, TEXT_INK, font, "lm")
        legend[s] = [lx - 4, y - round(16 * u), lx + round(190 * u), y + round(16 * u)]

    year = first_year + i
    x = x_of(i)
    needs: list[Need] = []
    choices: list[str] | None = None
    a = asked[0]
    if kind == "value":
        value = series[a][i]
        answer = str(value)
        y = y_of(value)
        needs = [
            Need("aux_line", {"start": [x, y_bottom], "end": [x, y]},
                 f"the line up from {year} meets the {a} series"),
            Need("aux_line", {"start": [x, y], "end": [left, y]},
                 f"the line across from that point meets the y axis between "
                 f"{value // 10 * 10} and {value // 10 * 10 + 10}"),
            Need("text_label", {"position": [left + round(12 * u), y - round(30 * u)],
                                "text": answer},
                 f"the point where the line meets the y axis is labelled {answer}"),
        ]  # fmt: skip
        if rng.random() < 0.3:
            choices = multiple_choice(rng, answer, [str(v) for v in range(10, 100, 5)])
        question = ask(rng, VALUE, a=a, year=year)
    elif kind == "cross":
        b = asked[1]
        answer = str(year)
        y = y_of(series[a][i])
        half = round(34 * u)
        needs = [
            Need("box", {"box": [x - half, y - half, x + half, y + half]},
                 f"the box holds the one point where {a} and {b} cross"),
            Need("aux_line", {"start": [x, y], "end": [x, y_bottom]},
                 f"the line down from the crossing meets the year axis at {year}"),
        ]  # fmt: skip
        if rng.random() < 0.4:
            choices = multiple_choice(rng, answer, [str(first_year + k) for k in range(n + 1)])
        question = ask(rng, CROSS, a=a, b=b, year=year)
    else:
        b = asked[1]
        answer = a if series[a][i] > series[b][i] else b
        ya, yb = y_of(series[a][i]), y_of(series[b][i])
        top, bottom = min(ya, yb), max(ya, yb)
        half = round(30 * u)
        if kind == "higher":
            needs = [
                Need("aux_line", {"start": [x, y_bottom], "end": [x, top]},
                     f"the line up from {year} passes through the {a} and {b} points"),
                Need("box", {"box": [x - half, top - half, x + half, bottom + half]},
                     f"the box holds the {a} and {b} points of {year}; {answer} is the "
                     "upper one"),
            ]  # fmt: skip
        else:
            needs = [
                zoom_need([x - half, top - half, x + half, bottom + half], float(bottom - top),
                          f"in {year} the {answer} point is far above the other"),
            ]  # fmt: skip
        choices = [a, b]
        question = ask(rng, HIGHER, a=a, b=b, year=year)
    img, photo = finish(img, rng, panel, look)
    objects: list[dict[str, Any]] = [{"label": f"legend {s}", "box": legend[s]} for s in names]
    annotations: dict[str, Any] = {
        "kind": kind,
        "easy": kind == "easy",
        "series": series,
        "colours": {s: list(PALETTE[colours[s]]) for s in names},
        "years": [first_year + k for k in range(n + 1)],
        "axis": {"left": left, "right": right, "y_bottom": y_bottom, "per_unit": per_unit,
                 "x": [x_of(k) for k in range(n + 1)]},
        "asked": asked,
        "step": i,
        "look": look,
    }  # fmt: skip
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "line_chart", make,
    "a series' value in a year, the year two lines cross, or which line is higher",
    PHRASINGS,
    (("aux_line", "aux_line", "text_label"), ("box", "aux_line"), ("aux_line", "box"), ()),
)  # fmt: skip
