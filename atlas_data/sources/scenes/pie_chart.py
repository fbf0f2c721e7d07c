"""pie_chart: a pie whose slices are named only by a colour legend, printed or on a screen
and photographed. It asks which of two slices close in size is larger (arrows from each
legend key to its slice, or boxes on the two slices, which a judge weighs: slices far
apart in size are compared at a glance), or a slice's share (an arrow from its key, then
the share written on it). An easy variant compares two slices far apart in size."""

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
    multiple_choice,
    typeface,
    unit,
    zoom_need,
)

COMPARE = (
    "Which slice of the pie is larger, {a} or {b}?",
    "Is the {a} slice bigger than the {b} slice? Name the larger one.",
    "Between {a} and {b}, which takes up more of the pie?",
    "Which has the larger share of the pie chart: {a} or {b}?",
)
SHARE = (
    "What share of the whole pie is {a}?",
    "About what percentage of the pie does the {a} slice make up?",
    "How much of the total, in percent, does {a} account for?",
)
PHRASINGS = COMPARE + SHARE
NAMES = ("Rent", "Food", "Travel", "Savings", "Leisure", "Health", "Energy", "Books")
COLOURS = [c for c in PALETTE if c != "red"]  # the operations draw in red


def _shares(rng: random.Random, n: int, fixed: dict[int, int]) -> list[int]:
    """``n`` integer percentages summing to 100, the ``fixed`` ones given, the rest >= 6."""
    rest = [k for k in range(n) if k not in fixed]
    left = 100 - sum(fixed.values())
    while True:
        cuts = sorted(rng.sample(range(1, left), len(rest) - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, left], strict=True)]
        if min(parts) >= 6:
            break
    out = [0] * n
    for k, v in fixed.items():
        out[k] = v
    for k, v in zip(rest, parts, strict=True):
        out[k] = v
    return out


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    u = unit(size)
    img, panel, look = medium(rng, size)
    d = ImageDraw.Draw(img)
    font = typeface(rng.choice(("sans", "serif")), round(26 * u))
    px0, py0, px1, py1 = panel
    n = rng.randint(5, 6)
    roll = rng.random()
    kind = ("arrows" if roll < 0.34 else "boxes" if roll < 0.6 else "share" if roll < 0.85
            else "easy")  # fmt: skip
    ia = rng.randrange(n)
    ib = (ia + rng.randint(2, n - 2)) % n  # never next to each other
    if kind in ("arrows", "boxes"):
        sa = rng.randint(14, 24)
        plain = kind == "boxes" and rng.random() < 0.3  # far apart: the box rule refuses
        sb = rng.randint(4, 7) if plain else sa + rng.choice((-3, -2, -1, 1, 2, 3))
        shares = _shares(rng, n, {ia: sa, ib: sb})
    elif kind == "easy":
        plain = False
        sa, sb = rng.randint(32, 40), rng.randint(6, 9)
        shares = _shares(rng, n, {ia: sa, ib: sb})
    else:
        plain = False
        shares = _shares(rng, n, {})
    names = rng.sample(NAMES, n)
    colours = rng.sample(COLOURS, n)
    r = round(rng.uniform(0.36, 0.4) * (py1 - py0))
    cx = px0 + round(rng.uniform(0.34, 0.4) * (px1 - px0))
    cy = (py0 + py1) // 2 + rng.randint(-round(20 * u), round(20 * u))
    start = rng.uniform(0, 360)  # PIL angles: degrees clockwise from three o'clock
    slices: dict[str, dict[str, Any]] = {}
    at = start
    for name, colour, share in zip(names, colours, shares, strict=True):
        end = at + 3.6 * share
        d.pieslice((cx - r, cy - r, cx + r, cy + r), at, end, fill=PALETTE[colour],
                   outline=(255, 255, 255), width=max(2, round(3 * u)))  # fmt: skip
        mid = math.radians((at + end) / 2)
        inner = [round(cx + 0.62 * r * math.cos(mid)), round(cy + 0.62 * r * math.sin(mid))]
        arc = [math.radians(at + (end - at) * t / 16) for t in range(17)]
        xs = [cx] + [cx + r * math.cos(a) for a in arc]
        ys = [cy] + [cy + r * math.sin(a) for a in arc]
        box = [math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys))]
        slices[name] = {"share": share, "colour": colour, "from": at % 360, "to": end % 360,
                        "inner": inner, "box": box}  # fmt: skip
        at = end
    legend: dict[str, list[int]] = {}
    order = rng.sample(names, n)  # the legend is not in the pie's order
    lx = px0 + round(0.72 * (px1 - px0))
    ly = cy - round((n - 1) * 30 * u)
    k = round(34 * u)
    for j, name in enumerate(order):
        y = ly + round(j * 60 * u)
        key = [lx, y - k // 2, lx + k, y + k // 2]
        d.rectangle(key, fill=PALETTE[slices[name]["colour"]])
        d.text((lx + k + round(16 * u), y), name, TEXT_INK, font, "lm")
        legend[name] = key

    a, b = names[ia], names[ib]
    needs: list[Need] = []
    choices: list[str] | None = None

    def arrow(name: str, tail: str) -> Need:
        key = legend[name]
        return Need("arrow", {"start": [key[0] - round(6 * u), (key[1] + key[3]) // 2],
                              "end": slices[name]["inner"]},
                    f"the arrow from the {name} key ends in the {slices[name]['colour']} "
                    f"slice{tail}")  # fmt: skip

    if kind == "share":
        answer = f"{shares[ia]}%"
        p = shares[ia]
        wrong = [f"{p + s}%" for s in (-27, -18, -9, 9, 18, 27) if 2 <= p + s <= 90]
        choices = multiple_choice(rng, answer, wrong)
        pos = slices[a]["inner"]
        needs = [
            arrow(a, ""),
            Need("text_label", {"position": [pos[0] - round(20 * u), pos[1] - round(12 * u)],
                                "text": answer},
                 f"the {a} slice, {shares[ia] * 3.6:.0f} degrees of the circle, is "
                 f"labelled {answer}"),
        ]  # fmt: skip
        question = ask(rng, SHARE, a=a)
    else:
        answer = a if sa > sb else b
        choices = [a, b]
        if kind == "arrows":
            needs = [arrow(a, ""), arrow(b, f"; it is the {'larger' if sb > sa else 'smaller'}")]
        elif kind == "boxes":
            sizes = [math.sqrt(math.pi * r * r * s / 100) for s in (sa, sb)]
            gap = math.dist(slices[a]["inner"], slices[b]["inner"])
            measure = {"purpose": "compare", "sizes_px": sizes, "gap_px": gap}
            needs = [
                Need("box", {"box": slices[a]["box"]}, f"the box holds the {a} slice",
                     measure=measure),
                Need("box", {"box": slices[b]["box"]},
                     f"the box holds the {b} slice; set side by side, {answer} is the larger",
                     measure=measure),
            ]  # fmt: skip
        else:
            boxes = [slices[a]["box"], slices[b]["box"]]
            both = [min(v[0] for v in boxes), min(v[1] for v in boxes),
                    max(v[2] for v in boxes), max(v[3] for v in boxes)]  # fmt: skip
            needs = [zoom_need(both, float(r), f"the {answer} slice is several times the other")]
        question = ask(rng, COMPARE, a=a, b=b)
    img, photo = finish(img, rng, panel, look)
    objects: list[dict[str, Any]] = [{"label": f"legend {nm}", "box": legend[nm]} for nm in names]
    annotations: dict[str, Any] = {
        "kind": kind,
        "easy": kind == "easy",
        "plain": plain,
        "centre": [cx, cy],
        "radius": r,
        "slices": slices,
        "legend": legend,
        "colours": {nm: list(PALETTE[slices[nm]["colour"]]) for nm in names},
        "asked": [a] if kind == "share" else [a, b],
        "look": look,
    }
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "pie_chart", make,
    "which of two slices, told by a colour legend, is larger, or a slice's share",
    PHRASINGS, (("arrow", "arrow"), ("box", "box"), ("arrow", "text_label"), ()),
)  # fmt: skip
