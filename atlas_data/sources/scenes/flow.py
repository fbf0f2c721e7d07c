"""flow: which node a long connector from START leads to, among crossing connectors. An
arrow along the connector follows it to its end."""

from __future__ import annotations

import math
import random

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    TEXT_INK,
    Family,
    Scene,
    ask,
    paper,
    place,
    typeface,
    unit,
    xy,
)

PHRASINGS = (
    "Which node does the line from START lead to?",
    "Follow the connector from START. Which lettered node does it reach?",
    "In this diagram, START is linked to which node?",
    "Where does the line leaving START end? Give the node's letter.",
    "Trace the line from the START box: which node is at its other end?",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = paper(rng, size, (248, 248, 244))
    d = ImageDraw.Draw(img)
    font = typeface(rng.choice(("sans", "mono")), round(30 * u))
    nw, nh = round(120 * u), round(64 * u)
    letters = rng.sample("ABCDEFGHKMNPRSTUVWXYZ", rng.randint(6, 8))
    boxes: dict[str, tuple[int, int, int, int]] = {}
    for name in ["START", *letters]:
        box = place(rng, nw * (1.4 if name == "START" else 1), nh, size, list(boxes.values()),
                    30, round(60 * u))  # fmt: skip
        if box is not None:
            boxes[name] = box
    names = [n for n in boxes if n != "START"]

    def centre(n: str) -> list[int]:
        b = boxes[n]
        return [(b[0] + b[2]) // 2, (b[1] + b[3]) // 2]

    far = [n for n in names if math.dist(centre(n), centre("START")) > 0.45 * w]
    target = rng.choice(far or names)
    others = [n for n in names if n != target]
    rng.shuffle(others)
    edges = [("START", target)] + [(others[k], others[k + 1]) for k in range(0, len(others) - 1, 2)]
    width = max(2, round(3 * u))
    for a, b in edges:
        d.line((*centre(a), *centre(b)), fill=(70, 70, 90), width=width)
    for n, node in boxes.items():
        d.rounded_rectangle(node, radius=round(12 * u), fill=(255, 255, 255), outline=TEXT_INK,
                            width=width)  # fmt: skip
        d.text(xy(centre(n)), n, TEXT_INK, font, "mm")
    s, e = centre("START"), centre(target)
    need = Need("arrow", {"start": s, "end": e},
                f"the arrow along the line from START ends at node {target}")  # fmt: skip
    objects = [{"label": f"node {n}", "box": list(boxes[n])} for n in others[:4]]
    annotations = {"nodes": {n: list(b) for n, b in boxes.items()},
                   "edges": [list(e) for e in edges]}  # fmt: skip
    return Scene(img, ask(rng, PHRASINGS), target, annotations, [need], objects)


FAMILY = Family("flow", make, "where a connector in a diagram leads", PHRASINGS, (("arrow",),))
