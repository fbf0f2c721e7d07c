"""parallel_lines: lettered segments on a worksheet; which one (or whether one) is parallel
to AB. The others converge on it by a degree or two, which the eye cannot tell over a
page; a line through the candidate's end drawn parallel to AB shows the drift (then, when
asked which one, a box marks the segment the line ran along)."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.geometry import clamp_box
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import Family, Scene, ask, camera, unit, zoom_need
from atlas_data.sources.scenes.wemath_sheet import (
    INK,
    Point,
    ahead,
    line_diff,
    put_letter,
    segments_apart,
    sheet,
)

PHRASINGS = (
    "Which segment is parallel to AB?",
    "Look at the figure. Which of the segments is parallel to segment AB?",
    "One of the other segments is parallel to AB. Which one?",
    "Find the segment that is parallel to AB.",
    "Is segment {other} parallel to AB? Answer yes or no.",
    "Are the segments AB and {other} parallel? Answer yes or no.",
    "Do AB and {other} run parallel to each other? Yes or no?",
)
WHICH, YESNO = PHRASINGS[:4], PHRASINGS[4:]
NAMES = ("AB", "CD", "EF", "GH")
# How far the non-parallel segments turn from AB's direction, in degrees, per variant: hard
# (the line is needed), plain (aux_line's 5 % rule refuses it: the turn shows) and easy
# (answered directly).
TURN = {"hard": (1.5, 2.6), "plain": (7.0, 11.0), "easy": (22.0, 40.0)}


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    """Three or four lettered segments, AB the reference; the answer from their directions."""
    w, h = size
    u = unit(size)
    roll = rng.random()
    variant = "easy" if roll < 0.17 else "plain" if roll < 0.25 else "hard"
    which = rng.random() < 0.55
    img, top = sheet(rng, size, "Look at the segments in the figure.")
    m = round(90 * u)
    area = (m, top + round(30 * u), w - m, h - m)

    base = rng.choice((rng.uniform(12, 70), rng.uniform(110, 168)))  # never along the page
    n = rng.choice((3, 4)) if which else rng.choice((2, 3))
    parallel = 1 + rng.randrange(n - 1) if which else (1 if rng.random() < 0.5 else None)
    lo, hi = TURN[variant]
    if not which and variant != "hard":
        parallel = None  # a parallel pair needs the line to confirm it: never plain or easy
    dirs = [base]
    for k in range(1, n):
        if k == parallel:
            dirs.append(base)
        elif k == 1 or which:  # the segments asked about converge by the variant's turn
            dirs.append(base + rng.choice((-1, 1)) * rng.uniform(lo, hi))
        else:  # a filler segment in a yes/no scene: any clearly other direction
            dirs.append(base + rng.choice((-1, 1)) * rng.uniform(25, 70))

    for _ in range(400):
        segs: list[tuple[Point, Point]] = []
        for deg in dirs:
            for _ in range(200):
                length = rng.uniform(430, 680) * u
                cx = rng.uniform(area[0] + 40 * u, area[2] - 40 * u)
                cy = rng.uniform(area[1] + 40 * u, area[3] - 40 * u)
                p, q = ahead((cx, cy), deg + 180, length / 2), ahead((cx, cy), deg, length / 2)
                lab = [_letter_at(p, q, u), _letter_at(q, p, u)]
                if all(
                    area[0] <= x <= area[2] and area[1] <= y <= area[3] for x, y in (*lab, p, q)
                ) and segments_apart((p, q), segs, 80 * u):
                    segs.append((p, q))
                    break
            else:
                break
        if len(segs) == n and _drift_ok(segs, dirs, variant, parallel, u):
            break
    else:  # pragma: no cover - a page this size always takes four segments
        raise RuntimeError("parallel_lines: could not place the segments")

    d = ImageDraw.Draw(img)
    width = max(2, round(4 * u))
    ends: dict[str, list[int]] = {}
    for name, (p, q) in zip(NAMES, segs, strict=False):
        d.line((p, q), fill=INK, width=width)
        for letter, at, there in ((name[0], p, q), (name[1], q, p)):
            ends[letter] = [round(at[0]), round(at[1])]
            put_letter(d, _letter_at(at, there, u), letter, size)
    img, photo = camera(img, rng)

    choices = None
    if which:
        answer = NAMES[parallel or 0]
        question = ask(rng, WHICH)
        choices = list(NAMES[1:n]) if rng.random() < 0.6 else None
        asked = parallel or 1
    else:
        answer = "yes" if parallel == 1 else "no"
        question = ask(rng, YESNO, other=NAMES[1])
        asked = 1
    # The construction: through the asked segment's first end, a line parallel to AB, past
    # its far end, so a drift between them opens into a visible gap there.
    (p, q) = segs[asked]
    length = math.dist(p, q)
    sign = 1 if math.cos(math.radians(dirs[asked] - base)) > 0 else -1
    far = _inside(p, base if sign > 0 else base + 180, length * 1.25, size)
    gap = length * math.sin(math.radians(line_diff(dirs[asked], base)))
    name = NAMES[asked]
    wrong = [k for k in range(1, n) if k != parallel and (which or k == 1)]
    drift = min(
        (
            (math.dist(*segs[k]) * math.sin(math.radians(line_diff(dirs[k], base))), k)
            for k in wrong
        ),
        default=(0.0, 1),
    )
    if parallel == asked:
        reveals = f"the line through {name[0]} parallel to AB runs along {name} to its end"
    else:
        reveals = f"the line through {name[0]} parallel to AB drifts {gap:.0f} px from {name[1]}"
    offset, span = drift[0], math.dist(*segs[drift[1]])
    if not which and parallel == 1:
        offset = 0.0  # a parallel pair: the line confirms what no eye can
    xs = [pt[0] for s in segs for pt in s]
    ys = [pt[1] for s in segs for pt in s]
    figure = clamp_box((min(xs) - 40 * u, min(ys) - 40 * u, max(xs) + 40 * u, max(ys) + 40 * u),
                       size)  # fmt: skip
    if variant == "easy":
        shown = f"{answer}: the directions differ by {line_diff(dirs[wrong[0]], base):.0f} degrees"
        needs = [zoom_need(figure, max(offset, 60.0), shown)]
    else:
        needs = [
            Need(
                "aux_line",
                {"start": [round(p[0]), round(p[1])], "end": [round(far[0]), round(far[1])]},
                reveals,
                measure={"purpose": "align", "offset_px": round(offset, 1),
                         "span_px": round(span, 1)},
            )
        ]  # fmt: skip
        if which:  # then the far end, where line and segment meet or part, is boxed
            half = 60 * u
            mark = clamp_box((q[0] - half, q[1] - half, q[0] + half, q[1] + half), size)
            needs.append(Need("box", {"box": mark},
                              f"the box holds end {name[1]}: the line parallel to AB passes "
                              f"through it, so {name} is parallel to AB"))  # fmt: skip
    objects: list[dict[str, Any]] = []
    for k, (a, b) in enumerate(segs):
        box = clamp_box((min(a[0], b[0]) - 20, min(a[1], b[1]) - 20,
                         max(a[0], b[0]) + 20, max(a[1], b[1]) + 20), size)  # fmt: skip
        objects.append({"label": f"segment {NAMES[k]}", "box": box})
    objects.append({"label": "worksheet header", "box": [0, 0, w, top]})
    annotations: dict[str, Any] = {
        "ends": ends,
        "segments": list(NAMES[:n]),
        "directions": [round(v, 3) for v in dirs],
        "asked": NAMES[asked],
        "which": which,
        "variant": variant,
        "easy": variant == "easy",
    }
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


def _drift_ok(
    segs: list[tuple[Point, Point]], dirs: list[float], variant: str, parallel: int | None,
    u: float,
) -> bool:  # fmt: skip
    """Every converging segment opens a gap of 16 px or more over its length (hard)."""
    if variant != "hard":
        return True
    return all(
        math.dist(*segs[k]) * math.sin(math.radians(line_diff(dirs[k], dirs[0]))) >= 16 * u
        for k in range(1, len(segs))
        if k != parallel and line_diff(dirs[k], dirs[0]) < 5
    )


def _letter_at(at: Point, other: Point, u: float) -> Point:
    """Where an end's letter stands: beside the end, above the segment (a line drawn on
    along the segment never covers it)."""
    deg = math.degrees(math.atan2(at[1] - other[1], at[0] - other[0]))
    up = deg - 90 if math.sin(math.radians(deg - 90)) < 0 else deg + 90
    return ahead(ahead(at, up, 34 * u), deg, 8 * u)


def _inside(p: Point, deg: float, reach: float, size: tuple[int, int]) -> Point:
    """The point ``reach`` from ``p`` in direction ``deg``, brought back along the same
    direction to stay 10 px inside the image (the line keeps its direction)."""
    w, h = size
    x, y = ahead(p, deg, reach)
    while not (10 <= x <= w - 10 and 10 <= y <= h - 10) and reach > 1:
        reach -= 2
        x, y = ahead(p, deg, reach)
    return x, y


FAMILY = Family(
    "parallel_lines",
    make,
    "which lettered segment is parallel to AB, when the others converge by a degree or two",
    PHRASINGS,
    (("aux_line",), ("aux_line", "box"), ()),
)
