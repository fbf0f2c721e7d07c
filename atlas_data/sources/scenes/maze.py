"""maze: a printed grid maze photographed on a table, a green start dot and lettered exits
on its rim; only one exit is connected to the start. Arrows along the route's straight runs
trace it to that exit (a chain of arrows); a small maze with a straight route is answered
directly."""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    BOX_LETTERS,
    TEXT_INK,
    Family,
    Scene,
    ask,
    backdrop,
    camera,
    paper,
    typeface,
    unit,
    zoom_need,
)

PHRASINGS = (
    "Starting from the green dot, which exit of the maze can you reach?",
    "Follow the open path from the green dot. At which exit do you leave the maze?",
    "Only one exit is connected to the green start. Which one?",
    "Which lettered exit does the route from the green dot lead to?",
    "Solve the maze: from the green dot, which exit is reachable?",
    "If you walk the maze from the green dot without crossing walls, where do you get out?",
)
STEPS = {"N": (0, -1), "S": (0, 1), "W": (-1, 0), "E": (1, 0)}
GREEN = (30, 160, 60)
Cell = tuple[int, int]


def _route(rng: random.Random, cols: int, rows: int, runs: int) -> tuple[list[Cell], str] | None:
    """A self-avoiding path of ``runs`` straight runs from an inner cell, the last run
    reaching the rim and leaving the maze through it (its direction is returned)."""
    edge = 1 if runs == 1 else 2
    start = (rng.randrange(edge, cols - edge), rng.randrange(edge, rows - edge))
    path, heading = [start], ""
    for k in range(runs):
        last = k == runs - 1
        dirs = [d for d in STEPS if not heading or (d in "NS") != (heading in "NS")]
        d = rng.choice(dirs)
        dx, dy = STEPS[d]
        x, y = path[-1]
        room = 0
        while 0 <= x + dx * (room + 1) < cols and 0 <= y + dy * (room + 1) < rows:
            room += 1
        if last:
            n = room  # to the rim
        else:
            if room < 3:
                return None
            n = rng.randint(2, min(room - 1, 6))
        if n < 1:
            return None
        for _ in range(n):
            x, y = x + dx, y + dy
            if (x, y) in path:
                return None
            path.append((x, y))
        heading = d
    return path, heading


def _neighbours(c: Cell, cols: int, rows: int) -> list[tuple[str, Cell]]:
    x, y = c
    return [
        (d, (x + dx, y + dy))
        for d, (dx, dy) in STEPS.items()
        if 0 <= x + dx < cols and 0 <= y + dy < rows
    ]


def _path(open_: set[frozenset[Cell]], a: Cell, b: Cell, cols: int, rows: int) -> list[Cell]:
    """The cells from a to b through open passages (BFS), or [] when b is not reached."""
    prev: dict[Cell, Cell | None] = {a: None}
    todo = deque([a])
    while todo:
        c = todo.popleft()
        if c == b:
            out = [c]
            while (p := prev[out[-1]]) is not None:
                out.append(p)
            return out[::-1]
        for _, n in _neighbours(c, cols, rows):
            if n not in prev and frozenset((c, n)) in open_:
                prev[n] = c
                todo.append(n)
    return []


def _rim_side(c: Cell, cols: int, rows: int) -> list[str]:
    x, y = c
    return [s for s, ok in (("W", x == 0), ("E", x == cols - 1), ("N", y == 0),
                            ("S", y == rows - 1)) if ok]  # fmt: skip


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    easy = rng.random() < 0.16
    if easy:
        cols, rows, runs = rng.randint(5, 7), rng.randint(4, 5), 1
    else:
        cols, rows, runs = rng.randint(11, 15), rng.randint(8, 10), rng.randint(3, 5)
    while True:
        got = _route(rng, cols, rows, runs)
        if got is not None and len(got[0]) >= (3 if easy else 10):
            break
    route, out_dir = got
    on_route = set(route)
    open_: set[frozenset[Cell]] = {frozenset(p) for p in zip(route, route[1:], strict=False)}
    # A perfect maze grown from the route by depth-first search.
    seen = set(route)
    stack = list(route)
    rng.shuffle(stack)
    while stack:
        c = stack[-1]
        fresh = [n for _, n in _neighbours(c, cols, rows) if n not in seen]
        if not fresh:
            stack.pop()
            continue
        n = rng.choice(fresh)
        open_.add(frozenset((c, n)))
        seen.add(n)
        stack.append(n)

    # Decoy exits on the rim, away from the route and from each other; each cut off from the
    # start by closing a passage on its own branch.
    exits: dict[Cell, str] = {route[-1]: out_dir}
    rim = [(x, y) for x in range(cols) for y in range(rows) if _rim_side((x, y), cols, rows)]
    rng.shuffle(rim)
    want = rng.randint(3, 4)
    for c in rim:
        if len(exits) > want:
            break
        if c in on_route or any(abs(c[0] - e[0]) + abs(c[1] - e[1]) < 3 for e in exits):
            continue
        branch = _path(open_, c, route[0], cols, rows)
        if branch:
            off = [p for p in zip(branch, branch[1:], strict=False) if p[1] not in on_route
                   or p[0] not in on_route]  # fmt: skip
            off = [p for p in off if frozenset(p) not in
                   {frozenset(q) for q in zip(route, route[1:], strict=False)}]  # fmt: skip
            if not off:
                continue
            open_.discard(frozenset(rng.choice(off[: max(1, len(off) - 1)])))
        exits[c] = rng.choice(_rim_side(c, cols, rows))
    letters = rng.sample(BOX_LETTERS, len(exits))
    names = dict(zip(exits, letters, strict=True))
    reached = [e for e in exits if _path(open_, route[0], e, cols, rows)]
    assert reached == [route[-1]]
    answer = names[route[-1]]

    # Drawing: a sheet of paper on a table, the maze printed on it.
    img = backdrop(rng, size, noise=True, light=False)
    pad = round(rng.uniform(18, 40) * u)
    sheet = paper(rng, (w - 2 * pad, h - 2 * pad))
    img.paste(sheet, (pad, pad))
    d = ImageDraw.Draw(img)
    margin = pad + round(80 * u)
    cs = min((w - 2 * margin) // cols, (h - 2 * margin) // rows)
    ox, oy = (w - cs * cols) // 2, (h - cs * rows) // 2
    wall = max(3, round(cs * 0.08))

    def corner(x: int, y: int) -> tuple[int, int]:
        return ox + x * cs, oy + y * cs

    def centre(c: Cell) -> list[int]:
        return [ox + c[0] * cs + cs // 2, oy + c[1] * cs + cs // 2]

    ink = (35, 35, 40)
    for x in range(cols):
        for y in range(rows):
            c = (x, y)
            for side in ("N", "W", "S", "E"):
                dx, dy = STEPS[side]
                n = (x + dx, y + dy)
                inside = 0 <= n[0] < cols and 0 <= n[1] < rows
                if inside and frozenset((c, n)) in open_:
                    continue
                if not inside and exits.get(c) == side:
                    continue
                if inside and side in "SE":
                    continue  # drawn from the other cell
                a = corner(x + (side == "E"), y + (side == "S"))
                b = corner(x + (side != "W"), y + (side != "N"))
                half = wall // 2  # a wall is a bar that squares off its joints
                d.rectangle((min(a[0], b[0]) - half, min(a[1], b[1]) - half,
                             max(a[0], b[0]) + half, max(a[1], b[1]) + half), fill=ink)  # fmt: skip
    font = typeface("sans", round(min(40 * u, 0.7 * cs + 10)))
    spots: dict[str, list[int]] = {}
    for c, side in exits.items():
        dx, dy = STEPS[side]
        cx, cy = centre(c)
        spot = [cx + dx * round(cs * 0.5 + 30 * u), cy + dy * round(cs * 0.5 + 30 * u)]
        spots[names[c]] = spot
        d.text((spot[0], spot[1]), names[c], TEXT_INK, font, "mm")
    sx, sy = centre(route[0])
    r = round(cs * 0.28)
    d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=GREEN)
    img, photo = camera(img, rng)

    # The route's straight runs, one arrow each; the last one leaves through the exit.
    corners = [route[0]]
    for a, b, c in zip(route, route[1:], route[2:], strict=False):
        if (b[0] - a[0], b[1] - a[1]) != (c[0] - b[0], c[1] - b[1]):
            corners.append(b)
    corners.append(route[-1])
    ends = [centre(c) for c in corners]
    ex, ey = STEPS[out_dir]
    ends[-1] = [ends[-1][0] + ex * round(cs * 0.6), ends[-1][1] + ey * round(cs * 0.6)]
    needs: list[Need]
    bbox = [min(e[0] for e in ends) - cs, min(e[1] for e in ends) - cs,
            max(e[0] for e in ends) + cs, max(e[1] for e in ends) + cs]  # fmt: skip
    bbox = [max(0, bbox[0]), max(0, bbox[1]), min(w, bbox[2]), min(h, bbox[3])]
    if easy:
        needs = [
            zoom_need(bbox, cs, f"the straight corridor from the green dot leaves at {answer}")
        ]
    else:
        needs = []
        for k, (p0, p1) in enumerate(zip(ends, ends[1:], strict=False)):
            last = k == len(ends) - 2
            tail = f", out through exit {answer}" if last else ", still between walls"
            needs.append(
                Need(
                    "arrow",
                    {"start": p0, "end": p1},
                    f"step {k + 1} of the route runs along an open corridor{tail}",
                )
            )
    objects: list[dict[str, Any]] = []
    for letter, (lx, ly) in spots.items():
        if letter != answer:
            half = round(28 * u)
            objects.append({"label": f"exit {letter}", "box": [lx - half, ly - half, lx + half,
                                                               ly + half]})  # fmt: skip
    objects.append({"label": "start", "box": [sx - r, sy - r, sx + r, sy + r]})
    annotations: dict[str, Any] = {
        "grid": {"origin": [ox, oy], "cell": cs, "cols": cols, "rows": rows, "wall": wall},
        "start": list(route[0]),
        "exits": {names[c]: [c[0], c[1], side] for c, side in exits.items()},
        "letters": spots,
        "route": [list(c) for c in route],
        "easy": easy,
    }
    choices = sorted(names.values()) if rng.random() < 0.4 else None
    if choices and len(choices) > 4:
        choices = sorted([answer, *rng.sample([x for x in choices if x != answer], 3)])
    return Scene(img, ask(rng, PHRASINGS), answer, annotations, needs, objects,
                 choices=choices, encoded=photo)  # fmt: skip


FAMILY = Family(
    "maze",
    make,
    "which lettered exit a printed maze's start is connected to",
    PHRASINGS,
    (("arrow",) * 3, ("arrow",) * 4, ("arrow",) * 5, ()),
)
