"""angle_compare: angles on a worksheet, a few degrees from what the eye settles. Whether an
angle of a figure is acute, right or obtuse when it is near 90 degrees: a right-angle square
boxed at its vertex shows on which side the arm falls, then a label names it. Which of two
or three marked angles is the largest (or smallest) when two differ by a few degrees: the
one's arm copied onto the other's vertex shows which opens wider, then an arrow marks it."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.geometry import clamp_box
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import Family, Scene, ask, camera, overlaps, unit, zoom_need
from atlas_data.sources.scenes.wemath_sheet import (
    INK,
    PENCIL,
    Point,
    ahead,
    put_letter,
    sheet,
)

CLASSIFY = (
    "Is angle {angle} acute, right or obtuse?",
    "What kind of angle is angle {angle}: acute, right or obtuse?",
    "Classify angle {angle} of the figure as acute, right or obtuse.",
)
COMPARE = (
    "Which of the marked angles is the {most}?",
    "Compare the marked angles. Which one is {most}?",
    "Of the angles marked {names}, which is the {most}?",
)
PHRASINGS = CLASSIFY + COMPARE
KINDS = ["acute", "right", "obtuse"]
EASY_SHARE = 0.17


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    easy = rng.random() < EASY_SHARE
    if rng.random() < 0.5:
        return _classify(rng, size, easy)
    return _compare(rng, size, easy)


def _classify(rng: random.Random, size: tuple[int, int], easy: bool) -> Scene:
    """A triangle or quadrilateral on a level base; the angle at one base end is near 90."""
    w, h = size
    u = unit(size)
    img, top = sheet(rng, size, "Look at the angles of the figure.")
    if easy:
        delta = rng.choice((-1, 1)) * rng.uniform(25, 42)
    else:
        delta = rng.choice((-1, 1)) * rng.uniform(3.0, 5.5) if rng.random() < 0.75 else 0.0
    alpha = 90 + delta
    right_end = rng.random() < 0.5  # the asked vertex is the base's right end (else its left)
    base_len, arm_len = rng.uniform(480, 760) * u, rng.uniform(400, 560) * u
    quad = rng.random() < 0.5
    vy = rng.uniform(min(top + arm_len + 90 * u, h - 110 * u), h - 110 * u)
    for _ in range(500):
        vx = rng.uniform(180 * u, w - 180 * u)
        v: Point = (vx, vy)
        base_dir = 180.0 if right_end else 0.0
        arm_dir = 180 + alpha if right_end else 360 - alpha
        uu, ww = ahead(v, base_dir, base_len), ahead(v, arm_dir, arm_len)
        pts = [uu, v, ww]
        if quad:  # a fourth corner above the far base end, keeping the figure convex
            inward = (1 if right_end else -1) * rng.uniform(-0.1, 0.35) * base_len
            pts.append((uu[0] + inward, ww[1] + rng.uniform(-70, 70) * u))
        if all(150 * u <= x <= w - 150 * u and top + 60 * u <= y <= h - 80 * u for x, y in pts) \
                and _convex(pts):  # fmt: skip
            break
    else:  # pragma: no cover - the base fits the page for most of its positions
        raise RuntimeError("angle_compare: could not place the figure")
    names = ["A", "B", "C", "D"][: len(pts)]
    if rng.random() < 0.5:
        names = names[::-1]
    d = ImageDraw.Draw(img)
    stroke = max(2, round(4 * u))
    d.polygon(pts, outline=INK, width=stroke)
    cx, cy = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    for name, p in zip(names, pts, strict=True):
        away = math.degrees(math.atan2(p[1] - cy, p[0] - cx))
        put_letter(d, ahead(p, away, 38 * u), name, size)
    r_arc = 46 * u
    lo, hi = (180, 180 + alpha) if right_end else (360 - alpha, 360)
    d.arc((v[0] - r_arc, v[1] - r_arc, v[0] + r_arc, v[1] + r_arc), lo, hi, PENCIL,
          max(2, round(3 * u)))  # fmt: skip
    img, photo = camera(img, rng)

    angle = f"{names[0]}{names[1]}{names[2]}"
    answer = "right" if delta == 0 else "acute" if delta < 0 else "obtuse"
    question = ask(rng, CLASSIFY, angle=angle)
    choices = list(KINDS) if rng.random() < 0.5 else None
    s = round(0.8 * arm_len)
    x, y = round(v[0]), round(v[1])
    square = [x - s, y - s, x + 1, y + 1] if right_end else [x, y - s, x + s, y + 1]
    lean = s * math.tan(math.radians(abs(delta)))
    side = {"acute": "inside", "obtuse": "outside", "right": "along the edge of"}[answer]
    figure = _bounds(pts, 60 * u, size)
    if easy:
        shown = f"angle {angle} is {alpha:.0f} degrees, plainly {answer}"
        needs = [zoom_need(figure, lean, shown)]
    else:
        where = ahead(v, 90, 50 * u)
        label = [round(where[0] - (110 * u if right_end else 0)), round(where[1])]
        needs = [
            Need("box", {"box": square},
                 f"arm {names[1]}{names[2]} runs {side} the right-angle square at {names[1]}"
                 + (f", {lean:.0f} px off its edge" if delta else "")),
            Need("text_label", {"position": label, "text": answer},
                 f"angle {angle} is labelled {answer}"),
        ]  # fmt: skip
    objects = [
        {"label": f"corner {n}", "box": clamp_box((p[0] - 50, p[1] - 50, p[0] + 50, p[1] + 50),
                                                  size)}
        for n, p in zip(names, pts, strict=True)
    ]  # fmt: skip
    annotations: dict[str, Any] = {
        "kind": "classify",
        "vertices": {n: [round(p[0]), round(p[1])] for n, p in zip(names, pts, strict=True)},
        "angle": angle,
        "degrees": round(alpha, 3),
        "easy": easy,
    }
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


def _compare(rng: random.Random, size: tuple[int, int], easy: bool) -> Scene:
    """Two or three angles, each a level arm and a rising arm; two of them nearly equal."""
    w, h = size
    u = unit(size)
    img, top = sheet(rng, size, "Compare the marked angles.")
    n = rng.choice((2, 3))
    names = rng.choice((["P", "Q", "R"], ["1", "2", "3"], ["X", "Y", "Z"]))[:n]
    largest = rng.random() < 0.6
    gap = rng.uniform(22, 35) if easy else rng.uniform(2.5, 4.5)
    first = rng.uniform(55 + gap, 125)
    thetas = [first, first - gap] if largest else [first - gap, first]  # answer first
    if n == 3:  # a third angle plainly out of the race
        thetas.append(first - gap - rng.uniform(25, 40) if largest else first + rng.uniform(25, 40))
    order = list(range(n))
    rng.shuffle(order)
    thetas = [thetas[k] for k in order]
    answer_k = order.index(0)
    rival_k = order.index(1)
    rightward = rng.random() < 0.5  # every level arm points the same way
    scale = 0.8 if n == 3 else 1.0
    for _ in range(200):  # lay the angles out afresh until all of them fit
        layout = _layout(rng, size, top, thetas, rightward, scale)
        if layout is not None:
            break
    else:  # pragma: no cover - two or three angles fit a page in most layouts
        raise RuntimeError("angle_compare: could not place the angles")
    vs, arms = layout
    d = ImageDraw.Draw(img)
    stroke = max(2, round(4 * u))
    r_arc = 44 * u
    for name, v, (b, a), theta in zip(names, vs, arms, thetas, strict=True):
        d.line((b, v, a), fill=INK, width=stroke, joint="curve")
        lo, hi = (360 - theta, 360) if rightward else (180, 180 + theta)
        d.arc((v[0] - r_arc, v[1] - r_arc, v[0] + r_arc, v[1] + r_arc), lo, hi, PENCIL,
              max(2, round(3 * u)))  # fmt: skip
        mid = 360 - theta / 2 if rightward else 180 + theta / 2
        put_letter(d, ahead(v, mid, 78 * u), name, size)
    img, photo = camera(img, rng)

    most = (
        ("largest" if largest else "smallest") if n == 3 else ("larger" if largest else "smaller")
    )
    shown_names = ", ".join(names[:-1]) + " and " + names[-1]
    question = ask(rng, COMPARE, most=most, names=shown_names)
    answer = names[answer_k]
    choices = list(names) if rng.random() < 0.5 else None
    # Copy the rival's rising arm onto the vertex of the one whose arm is longer.
    lens = {k: math.dist(vs[k], arms[k][1]) for k in (answer_k, rival_k)}
    onto = max(lens, key=lambda k: lens[k])
    copied = rival_k if onto == answer_k else answer_k
    copy_dir = 360 - thetas[copied] if rightward else 180 + thetas[copied]
    end = ahead(vs[onto], copy_dir, lens[onto] * 1.12)
    spread = lens[onto] * math.sin(math.radians(abs(thetas[onto] - thetas[copied])))
    wider = names[onto] if thetas[onto] > thetas[copied] else names[copied]
    figure = _bounds([p for v, arm in zip(vs, arms, strict=True) for p in (v, *arm)], 60 * u,
                     size)  # fmt: skip
    if easy:
        shown = f"angle {answer} is plainly the {most}, by {gap:.0f} degrees"
        needs = [zoom_need(figure, spread, shown)]
    else:
        mid = 360 - thetas[answer_k] / 2 if rightward else 180 + thetas[answer_k] / 2
        tail, head = ahead(vs[answer_k], mid + 180, 160 * u), ahead(vs[answer_k], mid + 180, 14 * u)
        needs = [
            Need("aux_line",
                 {"start": [round(vs[onto][0]), round(vs[onto][1])],
                  "end": [round(end[0]), round(end[1])]},
                 f"angle {names[copied]}'s arm copied onto {names[onto]}'s vertex falls "
                 f"{'inside' if thetas[onto] > thetas[copied] else 'outside'} angle "
                 f"{names[onto]}, {spread:.0f} px from its arm: angle {wider} opens wider"),
            Need("arrow", {"start": [round(tail[0]), round(tail[1])],
                           "end": [round(head[0]), round(head[1])]},
                 f"the arrow marks angle {answer}, the {most}"),
        ]  # fmt: skip
    objects = [
        {"label": f"angle {name}", "box": _bounds([v, *arm], 20, size)}
        for name, v, arm in zip(names, vs, arms, strict=True)
    ]
    objects.append({"label": "worksheet header", "box": [0, 0, w, top]})
    annotations: dict[str, Any] = {
        "kind": "compare",
        "vertices": {n_: [round(v[0]), round(v[1])] for n_, v in zip(names, vs, strict=True)},
        "arms": {n_: [[round(c) for c in p] for p in arm] for n_, arm in zip(names, arms,
                                                                              strict=True)},
        "degrees": {n_: round(t, 3) for n_, t in zip(names, thetas, strict=True)},
        "largest": largest,
        "onto": names[onto],
        "copied": names[copied],
        "easy": easy,
    }  # fmt: skip
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


def _layout(
    rng: random.Random,
    size: tuple[int, int],
    top: int,
    thetas: list[float],
    rightward: bool,
    scale: float,
) -> tuple[list[Point], list[tuple[Point, Point]]] | None:
    """Vertices and arm ends of the angles, each clear of the others (and of the arrow that
    would mark it), or None when one did not fit."""
    w, h = size
    u = unit(size)
    base_dir = 0.0 if rightward else 180.0
    vs: list[Point] = []
    arms: list[tuple[Point, Point]] = []
    boxes: list[list[int]] = []
    for theta in thetas:
        arm_dir = 360 - theta if rightward else 180 + theta
        mid = 360 - theta / 2 if rightward else 180 + theta / 2
        for _ in range(200):
            base_len = rng.uniform(300, 400) * u * scale
            arm_len = rng.uniform(330, 460) * u * scale
            v = (rng.uniform(80 * u, w - 80 * u), rng.uniform(top + 60 * u, h - 90 * u))
            arm = (ahead(v, base_dir, base_len), ahead(v, arm_dir, arm_len))
            pointer = ahead(v, mid + 180, 160 * u)  # where an arrow marking it would start
            box = _bounds([v, *arm, pointer], 30 * u, size)
            inside = all(
                60 * u <= x <= w - 60 * u and top + 40 * u <= y <= h - 40 * u
                for x, y in (*arm, pointer)
            )
            if inside and not any(overlaps(box, b) for b in boxes):
                break
        else:
            return None
        vs.append(v)
        arms.append(arm)
        boxes.append(box)
    return vs, arms


def _convex(pts: list[Point]) -> bool:
    signs = []
    for k in range(len(pts)):
        a, b, c = pts[k], pts[(k + 1) % len(pts)], pts[(k + 2) % len(pts)]
        signs.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    return all(s > 0 for s in signs) or all(s < 0 for s in signs)


def _bounds(pts: list[Point], pad: float, size: tuple[int, int]) -> list[int]:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return clamp_box((min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad), size)


FAMILY = Family(
    "angle_compare",
    make,
    "whether an angle near 90 degrees is acute, right or obtuse, or which of two nearly "
    "equal marked angles is larger",
    PHRASINGS,
    (("box", "text_label"), ("aux_line", "arrow"), ()),
)
