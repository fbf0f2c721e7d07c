"""tree_graph: a tree drawn as a scattered diagram on a whiteboard-like sheet: lettered
nodes, straight edges that cross, an arrowhead at each child. Asks a node's parent (an
arrow back along its edge) or how many children it has (a numbered mark on each child). A
small layered tree with no crossings is answered directly."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.geometry import segment_distance
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    BOX_LETTERS,
    TEXT_INK,
    Family,
    Scene,
    angle_diff,
    ask,
    camera,
    paper,
    typeface,
    unit,
    zoom_need,
)

PARENT = (
    "Edges point from parent to child. Which node is the parent of {x}?",
    "In this tree, which node has an edge pointing to {x}?",
    "Who is {x}'s parent in the diagram (arrows go from parent to child)?",
    "Follow the edge into node {x} back to where it starts. Which node is that?",
    "Which node does {x} hang from in this tree?",
)
CHILDREN = (
    "How many children does node {x} have?",
    "Count the edges leaving node {x}: how many child nodes does it have?",
    "Edges point from parent to child. How many children has {x}?",
    "How many nodes are direct children of {x}?",
    "Node {x} points to how many other nodes?",
)
PHRASINGS = PARENT + CHILDREN
FILL = (255, 236, 160)  # the nodes' fill: no other ink has it
EDGE = (60, 60, 70)


def _scatter(rng: random.Random, size: tuple[int, int], n: int, r: int,
             u: float) -> list[tuple[int, int]] | None:  # fmt: skip
    """Node centres scattered over the sheet, well apart."""
    w, h = size
    m = r + round(60 * u)
    pts: list[tuple[int, int]] = []
    for _ in range(n):
        for _ in range(500):
            p = (rng.randint(m, w - m), rng.randint(m, h - m))
            if all(math.dist(p, q) > 4.2 * r for q in pts):
                pts.append(p)
                break
        else:
            return None
    return pts


def _wire(rng: random.Random, pts: list[tuple[int, int]], r: int, wide: int,
          w: int, u: float) -> dict[int, int] | None:  # fmt: skip
    """Parents of nodes 1..n-1 (node 0 the root; nodes 1..wide its children when ``wide``),
    each edge clear of every other node and leaving both its nodes at an angle clearly
    apart from their other edges."""
    heading: dict[int, list[float]] = {}
    parent: dict[int, int] = {}

    def fits(c: int, p: int) -> bool:
        a, b = pts[p], pts[c]
        if math.dist(a, b) > 0.7 * w:
            return False
        if any(k not in (c, p) and segment_distance(q, a, b) < r + 16 * u
               for k, q in enumerate(pts)):  # fmt: skip
            return False
        out, back = math.atan2(b[1] - a[1], b[0] - a[0]), math.atan2(a[1] - b[1], a[0] - b[0])
        apart = math.radians(20)
        return all(angle_diff(out, x) >= apart for x in heading.get(p, [])) and all(
            angle_diff(back, x) >= apart for x in heading.get(c, [])
        )

    for c in range(1, len(pts)):
        options = [0] if c <= wide else rng.sample(range(c), c)
        p = next((p for p in options if fits(c, p)), None)
        if p is None:
            return None
        parent[c] = p
        a, b = pts[p], pts[c]
        heading.setdefault(p, []).append(math.atan2(b[1] - a[1], b[0] - a[0]))
        heading.setdefault(c, []).append(math.atan2(a[1] - b[1], a[0] - b[0]))
    return parent


def _crossings(pts: list[tuple[int, int]], parent: dict[int, int]) -> int:
    def ccw(a: Any, b: Any, c: Any) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    edges = [(pts[p], pts[c]) for c, p in parent.items()]
    n = 0
    for i, (a, b) in enumerate(edges):
        for c, d in edges[i + 1 :]:
            if {a, b} & {c, d}:
                continue
            if ccw(a, b, c) * ccw(a, b, d) < 0 and ccw(c, d, a) * ccw(c, d, b) < 0:
                n += 1
    return n


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    easy = rng.random() < 0.16
    r = round(rng.uniform(30, 36) * u)
    children_q = not easy and rng.random() < 0.5
    n = rng.randint(5, 6) if easy else rng.randint(11, 15)
    while True:
        wide = rng.randint(3, 6) if children_q else 0
        if easy:
            parent = {
                k: rng.randrange(k) for k in range(1, n)
            }  # layered: each depth on its own row, children in their parents' order
            depth = {0: 0}
            for k in range(1, n):
                depth[k] = depth[parent[k]] + 1
            levels: dict[int, list[int]] = {}
            for k in range(n):
                levels.setdefault(depth[k], []).append(k)
            rows = len(levels)
            pts = [(0, 0)] * n
            for lv, ks in levels.items():
                ks.sort(key=lambda k: (pts[parent[k]][0] if k else 0, k))
                for j, k in enumerate(ks):
                    pts[k] = (
                        round(w * (j + 1) / (len(ks) + 1)),
                        round(h * (lv + 0.7) / (rows + 0.4)),
                    )
            if _crossings(pts, parent) == 0:
                break
            continue
        got = _scatter(rng, size, n, r, u)
        wired = _wire(rng, got, r, wide, w, u) if got else None
        if got and wired and _crossings(got, wired) >= n // 2:
            pts, parent = got, wired
            break
    letters = rng.sample(BOX_LETTERS, n)

    img = paper(rng, size, (245, 246, 248))
    d = ImageDraw.Draw(img)
    lw = max(2, round(3 * u))
    head = round(18 * u)
    for c, p in parent.items():
        (ax, ay), (bx, by) = pts[p], pts[c]
        ang = math.atan2(by - ay, bx - ax)
        tip = (bx - r * math.cos(ang), by - r * math.sin(ang))
        d.line((ax, ay, tip[0] - 0.8 * head * math.cos(ang), tip[1] - 0.8 * head * math.sin(ang)),
               fill=EDGE, width=lw)  # fmt: skip
        d.polygon([tip, (tip[0] - head * math.cos(ang - 0.4), tip[1] - head * math.sin(ang - 0.4)),
                   (tip[0] - head * math.cos(ang + 0.4), tip[1] - head * math.sin(ang + 0.4))],
                  fill=EDGE)  # fmt: skip
    font = typeface(rng.choice(("sans", "serif")), round(r * 1.05))
    for k, (x, y) in enumerate(pts):
        d.ellipse((x - r, y - r, x + r, y + r), fill=FILL, outline=TEXT_INK, width=lw)
        d.text((x, y), letters[k], TEXT_INK, font, "mm")
    img, photo = camera(img, rng)

    kids: dict[int, list[int]] = {}
    for c, p in parent.items():
        kids.setdefault(p, []).append(c)
    needs: list[Need]
    choices: list[str] | None = None
    if children_q:
        hub = 0
        who = letters[hub]
        answer = str(len(kids[hub]))
        points = [list(pts[c]) for c in kids[hub]]
        needs = [Need("point_mark", {"points": points, "numbered": True},
                      f"the marks number {who}'s children 1 to {answer}")]  # fmt: skip
        question = ask(rng, CHILDREN, x=who)
        if rng.random() < 0.4:
            near = [v for v in range(1, 9) if 0 < abs(v - int(answer)) <= 3]
            choices = [str(v) for v in rng.sample(near, 3)] + [answer]
            choices = sorted(choices, key=int)
        asked = hub
    else:
        asked = rng.choice([k for k in parent if not easy or parent[k] != 0] or list(parent))
        who, answer = letters[asked], letters[parent[asked]]
        question = ask(rng, PARENT, x=who)
        a, b = pts[asked], pts[parent[asked]]
        if easy:
            box = [
                min(a[0], b[0]) - r,
                min(a[1], b[1]) - r,
                max(a[0], b[0]) + r,
                max(a[1], b[1]) + r,
            ]
            needs = [
                zoom_need(
                    [float(v) for v in box], 2 * r, f"the edge into {who} comes from {answer}"
                )
            ]
        else:
            back = f"the arrow back along the edge into {who} ends at {answer}"
            needs = [Need("arrow", {"start": list(a), "end": list(b)}, back)]
        if rng.random() < 0.4:
            wrong = [letters[k] for k in range(n) if k not in (asked, parent[asked])]
            choices = sorted([answer, *rng.sample(wrong, 3)])
    objects = [
        {"label": f"node {letters[k]}", "box": [x0 - r, y0 - r, x0 + r, y0 + r]}
        for k, (x0, y0) in enumerate(pts)
        if k != asked
    ][:6]
    annotations: dict[str, Any] = {
        "kind": "children" if children_q else "parent",
        "asked": letters[asked],
        "nodes": {letters[k]: list(p) for k, p in enumerate(pts)},
        "edges": [[letters[p], letters[c]] for c, p in parent.items()],
        "radius": r,
        "fill": list(FILL),
        "crossings": _crossings(pts, parent),
        "easy": easy,
    }
    return Scene(img, question, answer, annotations, needs, objects, choices=choices,
                 encoded=photo)  # fmt: skip


FAMILY = Family(
    "tree_graph",
    make,
    "a node's parent or its number of children in a tree drawn with crossing edges",
    PHRASINGS,
    (("arrow",), ("point_mark",), ()),
)
