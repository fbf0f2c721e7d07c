"""scatter_plot: points of several marker groups (shape and colour, named by a legend),
printed or on a screen and photographed. It asks how many points of one group lie in a
region (a box on the region, then numbered marks on its points: a count the judge weighs,
a few points are counted at a glance), or which group holds the point furthest right (a
box on the two rightmost points, then a vertical line through the further one, which a
judge weighs: a lead over 5 % of the points' distance is plain). An easy variant has one
point far to the right of all others."""

from __future__ import annotations

import math
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
    draw_shape,
    multiple_choice,
    typeface,
    unit,
    zoom_need,
)

COUNT = (
    "How many {g} points lie above y = {k} and to the right of x = {m}?",
    "Count the {g} markers with x greater than {m} and y greater than {k}.",
    "In the region right of x = {m} and above y = {k}, how many {g} points are there?",
)
RIGHTMOST = (
    "Which group has the point with the largest x value?",
    "Which group's point lies furthest to the right?",
    "The rightmost point of the plot belongs to which group?",
)
PHRASINGS = COUNT + RIGHTMOST
GROUP_NAMES = (
    ("Oak", "Pine", "Birch", "Maple"),
    ("Lab A", "Lab B", "Lab C", "Lab D"),
    ("Spring", "Summer", "Autumn", "Winter"),
)
MARKERS = (("circle", "blue"), ("triangle", "orange"), ("square", "green"), ("diamond", "purple"))


def _scatter(
    rng: random.Random, n: int, taken: list[tuple[float, float]], ok: Any, far: float
) -> list[tuple[float, float]]:
    """Up to ``n`` points (data units) where ``ok(x, y)``, ``far`` from every taken one."""
    out: list[tuple[float, float]] = []
    for _ in range(400 * n):
        if len(out) == n:
            break
        p = (rng.uniform(3, 97), rng.uniform(3, 97))
        if ok(*p) and all(math.dist(p, q) >= far for q in taken + out):
            out.append(p)
    return out


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    u = unit(size)
    img, panel, look = medium(rng, size)
    d = ImageDraw.Draw(img)
    font = typeface(rng.choice(("sans", "serif")), round(22 * u))
    px0, py0, px1, py1 = panel
    left, right = px0 + round(100 * u), px1 - round(250 * u)
    y_top, y_bottom = py0 + round(60 * u), py1 - round(70 * u)
    sx, sy = (right - left) / 100, (y_bottom - y_top) / 100

    def at(p: tuple[float, float]) -> list[int]:
        return [round(left + p[0] * sx), round(y_bottom - p[1] * sy)]

    for v in range(0, 101, 10):
        x, y = at((v, v))
        d.line((left, y, right, y), fill=(222, 222, 222))
        d.line((x, y_top, x, y_bottom), fill=(222, 222, 222))
        d.line((left - round(9 * u), y, left, y), fill=TEXT_INK, width=2)
        d.line((x, y_bottom, x, y_bottom + round(9 * u)), fill=TEXT_INK, width=2)
        d.text((left - round(14 * u), y), str(v), TEXT_INK, font, "rm")
        d.text((x, y_bottom + round(14 * u)), str(v), TEXT_INK, font, "mt")
    d.line((left, y_top, left, y_bottom), fill=TEXT_INK, width=3)
    d.line((left, y_bottom, right, y_bottom), fill=TEXT_INK, width=3)

    roll = rng.random()
    kind = "count" if roll < 0.44 else "rightmost" if roll < 0.8 else "easy"
    ng = rng.randint(3, 4)
    names = list(rng.choice(GROUP_NAMES)[:ng])
    markers = dict(zip(names, rng.sample(MARKERS, ng), strict=True))
    far = 4.0  # data units between any two points (markers never touch)
    pts: dict[str, list[tuple[float, float]]] = {g: [] for g in names}
    taken: list[tuple[float, float]] = []
    g = rng.choice(names)
    m, k = rng.choice((30, 40, 50, 60)), rng.choice((30, 40, 50, 60))
    lead = 0.0
    plain = False
    if kind == "count":
        n = rng.randint(4, 10)

        def inside(x: float, y: float) -> bool:
            return x > m + 3 and y > k + 3

        def outside(x: float, y: float) -> bool:
            return (x < m - 3 or y < k - 3) and not (x > m - 3 and y > k - 3)

        pts[g] = _scatter(rng, n, taken, inside, far)
        taken += pts[g]
        for h in names:  # the other groups crowd the region too
            if h != g:
                pts[h] = _scatter(rng, rng.randint(2, 4), taken, inside, far)
                taken += pts[h]
        for h in names:
            more = _scatter(rng, rng.randint(6, 10), taken, outside, far)
            pts[h] += more
            taken += more
    else:
        win, second = rng.sample(names, 2)
        x1 = rng.uniform(85, 95)
        plain = kind == "rightmost" and rng.random() < 0.25
        lead = rng.uniform(15, 22) if kind == "easy" else rng.uniform(2.0, 4.0) if plain else (
            rng.uniform(0.5, 1.1))  # fmt: skip
        ya = rng.uniform(10, 40)
        yb = ya + rng.uniform(40, 50)
        if rng.random() < 0.5:
            ya, yb = yb, ya
        pts[win] = [(x1, ya)]
        pts[second] = [(x1 - lead, yb)]
        taken = [pts[win][0], pts[second][0]]
        limit = x1 - lead - 2.5
        for h in names:
            more = _scatter(rng, rng.randint(8, 12), taken, lambda x, y: x < limit, far)  # noqa: B023
            pts[h] += more
            taken += more
    r = max(7, round(9 * u))
    for h in names:
        shape, colour = markers[h]
        for p in pts[h]:
            px, py = at(p)
            draw_shape(d, shape, px, py, r, PALETTE[colour])
    legend: dict[str, list[int]] = {}
    lx, ly = right + round(40 * u), y_top + round(20 * u)
    for j, h in enumerate(names):
        y = ly + round(j * 48 * u)
        shape, colour = markers[h]
        draw_shape(d, shape, lx + round(12 * u), y, r, PALETTE[colour])
        d.text((lx + round(36 * u), y), h, TEXT_INK, font, "lm")
        legend[h] = [lx - 4, y - round(18 * u), lx + round(190 * u), y + round(18 * u)]

    needs: list[Need] = []
    choices: list[str] | None = None
    if kind == "count":
        region = [at((m, 100))[0], at((m, 100))[1], at((100, k))[0], at((100, k))[1]]
        counted = [p for p in pts[g] if p[0] > m and p[1] > k]
        answer = str(len(counted))
        marks = [at(p) for p in counted]
        spacing = min((math.dist(a, b) for a in marks for b in marks if a is not b), default=None)
        needs = [
            Need("box", {"box": region}, f"the box holds the region right of x = {m} and "
                 f"above y = {k}"),
            Need("point_mark", {"points": marks, "numbered": True},
                 f"the marks number the {g} points in the box 1 to {len(counted)}",
                 spacing, None, {"purpose": "count", "count": len(counted)}),
        ]  # fmt: skip
        if rng.random() < 0.35:
            choices = multiple_choice(rng, answer, [str(v) for v in range(1, 15)])
        question = ask(rng, COUNT, g=g, m=m, k=k)
    else:
        answer = win
        choices = names
        a, b = at(pts[win][0]), at(pts[second][0])
        if kind == "easy":
            needs = [zoom_need([a[0] - r, a[1] - r, a[0] + r, a[1] + r], 3.0 * r,
                               f"one {win} point stands far right of every other")]  # fmt: skip
        else:
            s = round(24 * u)
            needs = [
                Need("box", {"box": [min(a[0], b[0]) - s, min(a[1], b[1]) - s,
                                     max(a[0], b[0]) + s, max(a[1], b[1]) + s]},
                     f"the box holds the two rightmost points, a {win} and a {second} one"),
                Need("aux_line", {"start": [a[0], y_top], "end": [a[0], y_bottom]},
                     f"the vertical line through the {win} point passes right of the "
                     f"{second} point", None, None,
                     {"purpose": "align", "offset_px": a[0] - b[0],
                      "span_px": abs(a[1] - b[1])}),
            ]  # fmt: skip
        question = ask(rng, RIGHTMOST)
    img, photo = finish(img, rng, panel, look)
    objects: list[dict[str, Any]] = [{"label": f"legend {h}", "box": legend[h]} for h in names]
    annotations: dict[str, Any] = {
        "kind": kind,
        "easy": kind == "easy",
        "plain": plain,
        "group": g if kind == "count" else None,
        "region": {"m": m, "k": k},
        "markers": {h: list(markers[h]) for h in names},
        "colours": {h: list(PALETTE[markers[h][1]]) for h in names},
        "points": {h: [at(p) for p in pts[h]] for h in names},
        "axis": {"left": left, "y_bottom": y_bottom, "sx": sx, "sy": sy, "y_top": y_top},
        "radius": r,
        "look": look,
    }
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "scatter_plot", make,
    "how many points of a group lie in a region, or which group has the rightmost point",
    PHRASINGS, (("box", "point_mark"), ("box", "aux_line"), ()),
)  # fmt: skip
