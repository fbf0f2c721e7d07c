"""counting: shapes of one colour and kind among others; numbered marks count them. Half
the scenes crowd tiny shapes on a tray: zoom into it first, then mark (a chain)."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    SHAPE_COLOURS,
    SHAPE_KINDS,
    Box,
    Family,
    Scene,
    ask,
    backdrop,
    draw_shape,
    shape_box,
    unit,
    zoom_need,
)

PHRASINGS = (
    "How many {plural} are there{where}?",
    "Count the {plural}{where}.",
    "What is the number of {plural}{where}?",
    "How many {plural} can you find{where}?",
    "Give the count of {plural}{where}.",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    """Shapes where one colour-and-kind must be counted: numbered marks help. Half the
    scenes crowd tiny shapes on a small tray, too small to tell apart at the budget: zoom
    into the tray, then mark and number them there (a chain)."""
    w, h = size
    u = unit(size)
    img = backdrop(rng, size, noise=False, light=True)
    d = ImageDraw.Draw(img)
    tray: Box | None = None
    area: Box = (0, 0, w, h)
    if rng.random() < 0.5:
        tw, th = round(w * rng.uniform(0.28, 0.34)), round(h * rng.uniform(0.28, 0.34))
        x0, y0 = (
            rng.randint(round(20 * u), w - tw - round(20 * u)),
            rng.randint(round(20 * u), h - th - round(20 * u)),
        )
        tray = (x0, y0, x0 + tw, y0 + th)
        d.rounded_rectangle(tray, radius=round(12 * u), fill=(205, 205, 200), outline=(150,) * 3)
        area = tray

    colours = rng.sample(list(SHAPE_COLOURS), rng.randint(3, 4))
    kinds = rng.sample(SHAPE_KINDS, rng.randint(2, 3))
    t_colour, t_kind = colours[0], kinds[0]
    n_target = rng.randint(3, 9)
    n_total = rng.randint(max(10, n_target + 3), 25)

    # Same colour other kind, and same kind other colour, make the count a real filter.
    other_combos = [(c, k) for c in colours for k in kinds if (c, k) != (t_colour, t_kind)]
    near = [(c, k) for c, k in other_combos if c == t_colour or k == t_kind]
    specs = [(t_colour, t_kind)] * n_target + near[:2]
    specs += [rng.choice(other_combos) for _ in range(n_total - len(specs))]

    placed: list[tuple[str, str, int, int, int]] = []
    margin = round((14 if tray else 40) * u)
    ax0, ay0, ax1, ay1 = area
    for colour, kind in specs:
        r = max(6, round(rng.uniform(6, 7) * u if tray else rng.uniform(10, 18) * u))
        gap = (5 if tray else 14) * u
        for _ in range(2000):
            cx = rng.randint(ax0 + margin, ax1 - margin)
            cy = rng.randint(ay0 + margin, ay1 - margin)
            if all(math.hypot(cx - px, cy - py) >= r + pr + gap for _, _, px, py, pr in placed):
                placed.append((colour, kind, cx, cy, r))
                break
    targets = [p for p in placed if (p[0], p[1]) == (t_colour, t_kind)]
    assert len(targets) == n_target  # placed first, on an open canvas
    objects: list[dict[str, Any]] = []
    for colour, kind, cx, cy, r in placed:
        draw_shape(d, kind, cx, cy, r, SHAPE_COLOURS[colour])
        if (colour, kind) != (t_colour, t_kind):
            objects.append({"label": f"{colour} {kind}", "box": shape_box(kind, cx, cy, r)})

    plural = f"{t_colour} {t_kind}s"
    needs = [
        Need(
            op="point_mark",
            params={"points": [[cx, cy] for _, _, cx, cy, _ in targets], "numbered": True},
            reveals=f"the marks number the {plural} 1 to {n_target}",
        )
    ]
    annotations: dict[str, Any] = {
        "target": {"colour": t_colour, "kind": t_kind, "rgb": list(SHAPE_COLOURS[t_colour])},
        "tray": list(tray) if tray else None,
    }
    question = ask(rng, PHRASINGS, plural=plural, where="")
    if tray:
        smallest = 2 * min(p[4] for p in placed)
        reveals = f"the tray's shapes appear large enough to tell the {plural} apart"
        needs.insert(0, zoom_need(tray, smallest, reveals))
        question = ask(rng, PHRASINGS, plural=plural, where=" on the tray")
    return Scene(img, question, str(n_target), annotations, needs, objects)


FAMILY = Family(
    "counting",
    make,
    "shapes of one colour and kind, counted",
    PHRASINGS,
    (("point_mark",), ("zoom", "point_mark")),
)
