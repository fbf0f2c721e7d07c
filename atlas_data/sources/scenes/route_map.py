"""route_map: a printed transit map (coloured lines through named stations, small labels,
a faint street grid) photographed. Either which station a line reaches N stops on from a
named one (zoom to read the labels, then an arrow per stop along the line), or which line
links two named stations (zoom, then box each station). Large print with a one-stop or
plain question is answered directly."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.geometry import clamp_box, grow, union
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    RGB,
    TEXT_INK,
    Family,
    Scene,
    ask,
    camera,
    ink_height,
    paper,
    typeface,
    unit,
    zoom_need,
)

STOPS = (
    "On the {line} line, travelling towards {end}, which station comes {stops} after {a}?",
    "Take the {line} line from {a} in the direction of {end}. Where are you after {stops}?",
    "Which station do you reach {stops} from {a} on the {line} line, heading to {end}?",
    "Riding the {line} line from {a} towards {end}, what is the {nth} stop?",
    "From {a}, {stops} along the {line} line towards {end}: which station is it?",
)
LINKS = (
    "Which line runs directly between {a} and {b}?",
    "Which coloured line would you take to travel from {a} to {b} without changing?",
    "{a} and {b} lie on the same line. What colour is it?",
    "What is the colour of the line that serves both {a} and {b}?",
    "To get from {a} to {b} on one line, which line do you ride?",
)
PHRASINGS = STOPS + LINKS
LINES: dict[str, RGB] = {
    "red": (215, 40, 40),
    "blue": (30, 90, 210),
    "green": (30, 150, 60),
    "orange": (240, 140, 20),
    "purple": (140, 60, 180),
}
NAMES = ("Elm", "Oak", "Mill", "Quay", "Park", "Bay", "Ash", "Dock", "Fern", "Hill", "Gate",
         "Lake", "Moor", "Pier", "Rock", "Vale", "Wood", "Cross", "Field", "Green", "Abbey",
         "Bridge", "Castle", "Dale", "Forge", "Grove", "Heath", "Market", "Marsh", "Orchard",
         "Palace", "Meadow", "Tower", "Wharf", "Union", "Harbour", "Canal", "Beacon", "Chapel",
         "Forum", "Kings", "Queens", "Mint", "Spring", "Summit", "Temple", "Mews",
         "Ferry")  # fmt: skip
INK = "magenta"  # drawn steps: a colour no line has
ORDINAL = {2: "second", 3: "third", 1: "first", 4: "fourth"}
Node = tuple[int, int]
DIRS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]


def _walk(rng: random.Random, cols: int, rows: int, used: set[frozenset[Node]],
          length: int) -> list[Node] | None:  # fmt: skip
    """A line across the lattice: a self-avoiding walk that keeps a general heading and
    shares no edge with the lines already laid (crossing them is allowed)."""
    p = (rng.randrange(cols), rng.randrange(rows))
    main = rng.choice(DIRS)
    path = [p]
    for _ in range(length - 1):
        options = [
            d for d in DIRS
            if d[0] * main[0] + d[1] * main[1] > 0  # within 45 degrees of the heading
        ]  # fmt: skip
        rng.shuffle(options)
        for d in options:
            q = (path[-1][0] + d[0], path[-1][1] + d[1])
            if not (0 <= q[0] < cols and 0 <= q[1] < rows) or q in path:
                continue
            if frozenset((path[-1], q)) in used:
                continue
            if d[0] and d[1]:  # a diagonal may not cross another diagonal of the same square
                other = frozenset(((path[-1][0] + d[0], path[-1][1]), (path[-1][0], q[1])))
                if other in used:
                    continue
            path.append(q)
            break
        else:
            return None
    return path


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    easy = rng.random() < 0.16
    img = paper(rng, size, (247, 246, 240))
    d = ImageDraw.Draw(img)
    cols, rows = 8, 6
    margin_x, margin_y = round(150 * u), round(130 * u)
    sx, sy = (w - 2 * margin_x) / (cols - 1), (h - 2 * margin_y) / (rows - 1)

    def at(p: Node) -> list[int]:
        return [round(margin_x + p[0] * sx), round(margin_y + p[1] * sy)]

    # faint streets
    for k in range(rng.randint(10, 16)):
        if k % 2:
            y = rng.uniform(0, h)
            d.line(
                (0, y, w, y + rng.uniform(-80, 80) * u), fill=(222, 220, 212), width=round(9 * u)
            )
        else:
            x = rng.uniform(0, w)
            d.line(
                (x, 0, x + rng.uniform(-80, 80) * u, h), fill=(222, 220, 212), width=round(9 * u)
            )

    names_of = rng.sample(list(LINES), rng.randint(3, 4))
    lines: dict[str, list[Node]] = {}
    used: set[frozenset[Node]] = set()
    for name in names_of:
        for _ in range(200):
            path = _walk(rng, cols, rows, used, rng.randint(6, 8))
            if path is not None and (not lines or any(set(path) & set(o) for o in lines.values())):
                break
        else:  # pragma: no cover
            continue
        lines[name] = path
        used |= {frozenset(e) for e in zip(path, path[1:], strict=False)}
    stations = sorted({p for path in lines.values() for p in path})
    label_of = dict(zip(stations, rng.sample(NAMES, len(stations)), strict=True))

    width = max(5, round(9 * u))
    for name, path in lines.items():
        d.line([tuple(at(p)) for p in path], fill=LINES[name], width=width, joint="curve")
    r = round(11 * u)
    for p in stations:
        x, y = at(p)
        ring = 3 if sum(p in path for path in lines.values()) > 1 else 2
        d.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255), outline=TEXT_INK,
                  width=round(ring * u))  # fmt: skip

    font_px = rng.randint(28, 32) if easy else rng.randint(14, 17)
    font = typeface(rng.choice(("sans", "serif")), round(font_px * u))
    segments = [
        (at(a), at(b)) for path in lines.values() for a, b in zip(path, path[1:], strict=False)
    ]
    labels: dict[str, list[int]] = {}
    taken: list[list[float]] = [[at(p)[0] - r, at(p)[1] - r, at(p)[0] + r, at(p)[1] + r]
                                for p in stations]  # fmt: skip

    def crosses(box: list[float]) -> int:
        hits = 0
        for a, b in segments:
            for t in (i / 12 for i in range(13)):
                x, y = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
                if box[0] - width <= x <= box[2] + width and box[1] - width <= y <= box[3] + width:
                    hits += 1
        return hits + 50 * sum(
            not (box[2] <= t[0] or t[2] <= box[0] or box[3] <= t[1] or t[3] <= box[1])
            for t in taken
        )

    for p in stations:
        x, y = at(p)
        text = label_of[p]
        left, top, right, bottom = font.getbbox(text)
        tw, th = right - left, bottom - top
        gap = r + round(4 * u)
        spots = [
            (x + gap, y - gap - th),
            (x + gap, y + gap),
            (x - gap - tw, y - gap - th),
            (x - gap - tw, y + gap),
            (x - tw / 2, y - gap - th - 2),
            (x - tw / 2, y + gap + 2),
        ]
        best = min(spots, key=lambda s: crosses([s[0], s[1], s[0] + tw, s[1] + th]))
        box = [best[0], best[1], best[0] + tw, best[1] + th]
        taken.append(box)
        d.text((best[0] - left, best[1] - top), text, TEXT_INK, font, stroke_width=2,
               stroke_fill=(250, 250, 245))  # fmt: skip
        labels[text] = [math.floor(box[0]) - 2, math.floor(box[1]) - 2, math.ceil(box[2]) + 2,
                        math.ceil(box[3]) + 2]  # fmt: skip
    # legend, printed large along the top edge
    lf = typeface("sans", round(26 * u))
    lx, ly = round(30 * u), round(24 * u)
    for name in lines:
        d.line((lx, ly + round(14 * u), lx + round(50 * u), ly + round(14 * u)), fill=LINES[name],
               width=width)  # fmt: skip
        d.text((lx + round(62 * u), ly), f"{name} line", TEXT_INK, lf)
        lx += round(62 * u) + round(lf.getlength(f"{name} line")) + round(40 * u)
    img, photo = camera(img, rng)

    glyph = ink_height(font, "H")
    node_box = {label_of[p]: [at(p)[0] - r, at(p)[1] - r, at(p)[0] + r, at(p)[1] + r]
                for p in stations}  # fmt: skip

    def region(names: list[str]) -> list[float]:
        return [float(v) for v in clamp_box(
            union([*(labels[n] for n in names), *(node_box[n] for n in names)]), size)]  # fmt: skip

    stops_q = rng.random() < 0.6
    needs: list[Need]
    choices: list[str] | None = None
    if stops_q:
        line = rng.choice(list(lines))
        path = lines[line]
        if rng.random() < 0.5:
            path = path[::-1]
        n = 1 if easy else rng.randint(2, 3)
        i = rng.randrange(0, len(path) - n)
        a, target = path[i], path[i + n]
        stretch = [label_of[p] for p in path[i : i + n + 1]]
        answer = label_of[target]
        stops = f"{n} stop{'s' if n > 1 else ''}"
        question = ask(rng, STOPS, line=line, end=label_of[path[-1]], a=label_of[a],
                       stops=stops, nth=ORDINAL[n])  # fmt: skip
        evidence = region([*stretch, label_of[path[-1]]])
        if max(evidence[2] - evidence[0], evidence[3] - evidence[1]) > 700 * u:  # too wide a zoom
            evidence = region(stretch)
        look = f"the station labels from {label_of[a]} to {answer} become legible"
        needs = [zoom_need(evidence, glyph, look)]
        if not easy:
            for k in range(n):
                p, q = path[i + k], path[i + k + 1]
                last = k == n - 1
                needs.append(Need("arrow", {"start": at(p), "end": at(q), "color": INK},
                                  f"stop {k + 1} along the {line} line is {label_of[q]}"
                                  + (f", the answer {answer}" if last else "")))  # fmt: skip
        if rng.random() < 0.4:
            others = [label_of[p] for p in path if p != target]
            choices = sorted([answer, *rng.sample(others, min(3, len(others)))])
        kind, ends = "stops", [label_of[a], answer]
    else:
        pairs = []
        for line, path in lines.items():
            for i in range(len(path)):
                for j in range(i + 1, min(len(path), i + 4)):
                    pa, pb = path[i], path[j]
                    common = [o for o, op in lines.items() if pa in op and pb in op]
                    if common == [line]:
                        pairs.append((line, pa, pb))
        line, pa, pb = rng.choice(pairs)
        if rng.random() < 0.5:
            pa, pb = pb, pa
        answer = line
        a_name, b_name = label_of[pa], label_of[pb]
        question = ask(rng, LINKS, a=a_name, b=b_name)
        look = f"the labels {a_name} and {b_name} become legible"
        boxes = [clamp_box(grow(union([labels[x], node_box[x]]), 8 * u, size), size)
                 for x in (a_name, b_name)]  # fmt: skip
        # the zoom holds both boxes whole, so they can be drawn on its result
        evidence = [float(v) for v in union(boxes)]
        needs = [zoom_need(evidence, glyph, look)]
        if not easy:
            for name, b in zip((a_name, b_name), boxes, strict=True):
                other = ", both on the " + line + " line" if name == b_name else ""
                needs.append(Need("box", {"box": [int(v) for v in b], "color": INK},
                                  f"station {name} is boxed{other}"))  # fmt: skip
        if rng.random() < 0.5:
            choices = sorted(lines)
        kind, ends = "links", [a_name, b_name]
    objects = [{"label": f"station {label_of[p]}", "box": node_box[label_of[p]]}
               for p in stations if label_of[p] not in ends][:6]  # fmt: skip
    annotations: dict[str, Any] = {
        "kind": kind,
        "ends": ends,
        "lines": {k: [at(p) for p in path] for k, path in lines.items()},
        "line_rgb": {k: list(LINES[k]) for k in lines},
        "stations": {label_of[p]: at(p) for p in stations},
        "labels": labels,
        "glyph_px": glyph,
        "station_r": r,
        "easy": easy,
    }
    return Scene(img, question, answer, annotations, needs, objects, choices=choices,
                 encoded=photo)  # fmt: skip


FAMILY = Family(
    "route_map",
    make,
    "where a transit line leads, or which line links two stations, on a printed map",
    PHRASINGS,
    (("zoom", "arrow", "arrow"), ("zoom", "arrow", "arrow", "arrow"), ("zoom", "box", "box"), ()),
)
