"""The embedded default source: procedurally drawn scenes with known answers.

Every sample is a scene in which a known operation, or a chain of them, genuinely helps
(a zoom on tiny text; a zoom into a crowded tray, then numbered marks; a box on the odd
cell, then an arrow to its column's number; an auxiliary line, then a label of what it
showed; an arrow along a pointer), and the scene generator knows the exact parameters of
each, so ``needs`` is ground truth rather than a guess. Item ``i`` depends only on
``(seed, i, families, size)``: any item can be rebuilt alone, which is what sharding needs.
"""

from __future__ import annotations

import colorsys
import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.config import DEFAULT_BUDGET_SIDE as BUDGET
from atlas_data.ops.params import font
from atlas_data.ops.spec import Need
from atlas_data.ops.zoom import factor_for
from atlas_data.sources.base import SourceSample, content_id, pixels_digest
from atlas_data.sources.scenes import families as scene_families
from atlas_data.sources.scenes.kit import (
    TEXT_INK,
    Box,
    Family,
    Scene,
    ask,
)
from atlas_data.sources.scenes.kit import backdrop as _backdrop
from atlas_data.sources.scenes.kit import clamp_box as _clamp_box
from atlas_data.sources.scenes.kit import hsv as _hsv
from atlas_data.sources.scenes.kit import muted as _muted
from atlas_data.sources.scenes.kit import overlaps as _overlaps
from atlas_data.sources.scenes.kit import place as _place
from atlas_data.sources.scenes.kit import unit as _unit

RGB = tuple[int, int, int]

# Codes avoid glyphs that are easy to confuse at small sizes (0/O, 1/I/L, 2/Z, 5/S, 8/B).
CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY34679"
BOX_LETTERS = "ABCDEFGHJKMNPRSTUVWXYZ"

# Bright, mutually distinct tag colours; scene clutter is kept muted so none of it reads as
# a tag of one of these colours.
TAG_COLOURS: dict[str, RGB] = {
    "yellow": (250, 215, 30),
    "cyan": (40, 205, 235),
    "pink": (250, 120, 195),
    "orange": (250, 135, 25),
    "green": (95, 205, 75),
    "white": (250, 250, 250),
    "purple": (175, 115, 240),
}

SHAPE_COLOURS: dict[str, RGB] = {
    "red": (215, 35, 35),
    "blue": (35, 90, 215),
    "green": (30, 155, 65),
    "purple": (135, 55, 190),
    "orange": (245, 150, 20),
}
SHAPE_KINDS = ("circle", "square", "triangle", "diamond")


def segment_distance(p: Sequence[float], a: Sequence[float], b: Sequence[float]) -> float:
    """Distance from point ``p`` to the segment ``a``-``b``."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    L2 = dx * dx + dy * dy
    t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / L2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))


def ray_hits_box(
    origin: Sequence[float], direction: Sequence[float], box: Sequence[float], pad: float = 0.0
) -> bool:
    """Slab test: does the ray from ``origin`` along ``direction`` meet ``box`` (grown by pad)?"""
    t0, t1 = 0.0, math.inf
    for o, dv, lo, hi in (
        (origin[0], direction[0], box[0] - pad, box[2] + pad),
        (origin[1], direction[1], box[1] - pad, box[3] + pad),
    ):
        if abs(dv) < 1e-12:
            if not lo <= o <= hi:
                return False
            continue
        ta, tb = sorted(((lo - o) / dv, (hi - o) / dv))
        t0, t1 = max(t0, ta), min(t1, tb)
        if t0 > t1:
            return False
    return True


def _angle_diff(a: float, b: float) -> float:
    """Absolute difference of two angles in radians, in [0, pi]."""
    d = (a - b) % (2 * math.pi)
    return min(d, 2 * math.pi - d)


def _shape_points(kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if kind == "triangle":  # centroid at (cx, cy)
        return [
            (cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a)))
            for a in (-90, 30, 150)
        ]
    if kind == "diamond":
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    s = r * 0.85  # square: similar visual area to the circle
    return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]


def _draw_shape(
    d: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, r: float, fill: RGB
) -> None:
    if kind == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    else:
        d.polygon(_shape_points(kind, cx, cy, r), fill=fill)


def _shape_box(kind: str, cx: float, cy: float, r: float) -> list[int]:
    if kind == "circle":
        xs, ys = [cx - r, cx + r], [cy - r, cy + r]
    else:
        pts = _shape_points(kind, cx, cy, r)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return [math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys))]


# --------------------------------------------------------------------------- families


def small_text(rng: random.Random, size: tuple[int, int]) -> Scene:
    """A tiny code on one uniquely coloured tag in clutter: unreadable downscaled, so zoom."""
    w, h = size
    u = _unit(size)
    img = _backdrop(rng, size, noise=True, light=False)
    d = ImageDraw.Draw(img)
    objects: list[dict[str, Any]] = []

    clutter_kinds = ("rectangle", "ellipse", "polygon", "line")
    for n in range(rng.randint(20, 40)):
        kind = rng.choice(clutter_kinds)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(20, 140) * u
        col = _muted(rng)
        bb = (cx - r, cy - r * rng.uniform(0.4, 1.0), cx + r, cy + r * rng.uniform(0.4, 1.0))
        if kind == "rectangle":
            d.rectangle(bb, fill=col)
        elif kind == "ellipse":
            d.ellipse(bb, fill=col)
        elif kind == "polygon":
            pts = [
                (
                    cx + r * rng.uniform(0.5, 1) * math.cos(a),
                    cy + r * rng.uniform(0.5, 1) * math.sin(a),
                )
                for a in sorted(rng.uniform(0, 2 * math.pi) for _ in range(rng.randint(3, 6)))
            ]
            d.polygon(pts, fill=col)
            bb = (
                min(p[0] for p in pts),
                min(p[1] for p in pts),
                max(p[0] for p in pts),
                max(p[1] for p in pts),
            )
        else:
            a = rng.uniform(0, math.pi)
            bb = (
                cx - r * math.cos(a),
                cy - r * math.sin(a),
                cx + r * math.cos(a),
                cy + r * math.sin(a),
            )
            d.line(bb, fill=col, width=max(2, round(rng.uniform(2, 8) * u)))
            bb = (min(bb[0], bb[2]), min(bb[1], bb[3]), max(bb[0], bb[2]), max(bb[1], bb[3]))
        if n < 2 and r > 40 * u:  # a couple of big clutter shapes as plausible distractors
            box = _clamp_box(bb, size)
            if box[2] - box[0] >= 4 and box[3] - box[1] >= 4:
                objects.append({"label": f"large {kind}", "box": list(box)})

    colours = list(TAG_COLOURS)
    rng.shuffle(colours)
    target_colour, others = colours[0], colours[1:]

    def code() -> str:
        return "".join(rng.choice(CODE_ALPHABET) for _ in range(rng.randint(3, 4)))

    def tag(text: str, font_size: int) -> tuple[float, float, int, int, int, int]:
        f = font(font_size)
        left, top, right, bottom = (int(v) for v in f.getbbox(text))
        pad = max(3, font_size // 4)
        return right - left + 2 * pad, bottom - top + 2 * pad, left, top, pad, bottom - top

    def draw_tag(
        box: Box, text: str, fill: RGB, font_size: int, left: int, top: int, pad: int
    ) -> None:
        edge = tuple(round(c * 0.6) for c in fill)
        d.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=fill, outline=edge)
        d.text((box[0] + pad - left, box[1] + pad - top), text, fill=TEXT_INK, font=font(font_size))

    taken: list[Box] = []
    # The target first, so it always finds room. Font sizes 11-15 give 8-12 px glyphs.
    answer = code()
    while True:
        fs = rng.randint(11, 15)
        tw, th, left, top, pad, text_h = tag(answer, fs)
        if 8 <= text_h <= 12:
            break
    target = _place(rng, tw, th, size, taken, margin=60 * u, gap=0)
    assert target is not None  # an empty canvas always has room
    taken.append(target)
    draw_tag(target, answer, TAG_COLOURS[target_colour], fs, left, top, pad)

    # Decoys: mostly large tags, plus up to two small ones, never in the target's colour.
    n_large, n_small = rng.randint(3, 5), rng.randint(0, 2)
    for k in range(n_large + n_small):
        text = code()
        while text == answer:
            text = code()
        fsd = max(18, round(rng.randint(20, 40) * u)) if k < n_large else rng.randint(11, 15)
        dw, dh, dl, dt, dp, _ = tag(text, fsd)
        spot = _place(rng, dw, dh, size, taken, margin=20 * u, gap=40 * u)
        if spot is None:
            continue
        colour = rng.choice(others)
        taken.append(spot)
        draw_tag(spot, text, TAG_COLOURS[colour], fsd, dl, dt, dp)
        objects.append({"label": f"{colour} tag", "box": list(spot)})

    margin = 4
    zoom_box = _clamp_box(
        (target[0] - margin, target[1] - margin, target[2] + margin, target[3] + margin), size
    )
    factor = 3 if text_h * 3 >= 32 else 4
    question = ask(rng, SMALL_TEXT, colour=target_colour)
    need = Need(
        op="zoom",
        params={"box": list(zoom_box), "factor": factor},
        detail_px=text_h,
        reveals=f'the tag reads "{answer}"',
        evidence=list(target),
    )
    annotations = {
        "target": {
            "box": list(target),
            "colour": target_colour,
            "rgb": list(TAG_COLOURS[target_colour]),
        },
    }
    return Scene(img, question, answer, annotations, [need], objects)


def counting(rng: random.Random, size: tuple[int, int]) -> Scene:
    """Shapes where one colour-and-kind must be counted: numbered marks help. Half the
    scenes crowd tiny shapes on a small tray, too small to tell apart at the budget: zoom
    into the tray, then mark and number them there (a chain)."""
    w, h = size
    u = _unit(size)
    img = _backdrop(rng, size, noise=False, light=True)
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
        _draw_shape(d, kind, cx, cy, r, SHAPE_COLOURS[colour])
        if (colour, kind) != (t_colour, t_kind):
            objects.append({"label": f"{colour} {kind}", "box": _shape_box(kind, cx, cy, r)})

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
    question = ask(rng, COUNTING, plural=plural, where="")
    if tray:
        smallest = 2 * min(p[4] for p in placed)
        longest = max(tray[2] - tray[0], tray[3] - tray[1])
        zoom = Need(
            op="zoom",
            params={
                "box": list(tray),
                "factor": round(factor_for(list(tray), BUDGET / longest), 2),
            },
            reveals=f"the tray's shapes appear large enough to tell the {plural} apart",
            detail_px=smallest,
            evidence=list(tray),
        )
        needs.insert(0, zoom)
        question = ask(rng, COUNTING, plural=plural, where=" on the tray")
    return Scene(img, question, str(n_target), annotations, needs, objects)


def odd_one(rng: random.Random, size: tuple[int, int]) -> Scene:
    """A numbered grid of identical shapes with one subtly different: boxing it pins it down."""
    w, h = size
    u = _unit(size)
    bg = _hsv(rng.random(), rng.uniform(0.0, 0.08), rng.uniform(0.9, 0.98))
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)

    rows, cols = rng.randint(4, 6), rng.randint(5, 8)
    left, top = round(90 * u), round(90 * u)
    cw, ch = (w - left - round(40 * u)) // cols, (h - top - round(40 * u)) // rows
    cell = min(cw, ch)
    a = max(6, round(cell * rng.uniform(0.26, 0.32)))  # half-size of the shape

    kind = rng.choice(("notched square", "pac"))
    hue = rng.random()
    colour = _hsv(hue, rng.uniform(0.55, 0.8), rng.uniform(0.55, 0.8))
    rot = rng.randrange(4)  # quarter turns of the common shape
    mode = rng.choice(("shade", "rotated", "notch"))
    odd_r, odd_c = rng.randrange(rows), rng.randrange(cols)

    def draw_one(cx: int, cy: int, fill: RGB, quarter: int, notch: bool) -> None:
        if kind == "pac":
            bb = (cx - a, cy - a, cx + a, cy + a)
            if notch:
                start = 90 * quarter + 25
                d.pieslice(bb, start, start + 310, fill=fill)
            else:
                d.ellipse(bb, fill=fill)
            return
        n = max(3, a // 2)
        pts = [(-a, -a), (-n, -a), (0, -a + n), (n, -a), (a, -a), (a, a), (-a, a)]
        if not notch:
            pts = [(-a, -a), (a, -a), (a, a), (-a, a)]
        for _ in range(quarter % 4):
            pts = [(-y, x) for x, y in pts]
        d.polygon([(cx + x, cy + y) for x, y in pts], fill=fill)

    label_font = font(max(12, round(30 * u)))
    for c in range(cols):
        d.text(
            (left + c * cw + cw // 2, top // 2),
            str(c + 1),
            fill=TEXT_INK,
            font=label_font,
            anchor="mm",
        )
    for r in range(rows):
        d.text(
            (left // 2, top + r * ch + ch // 2),
            str(r + 1),
            fill=TEXT_INK,
            font=label_font,
            anchor="mm",
        )

    if mode == "shade":
        shift = rng.choice((-1, 1)) * rng.uniform(0.05, 0.08)
        odd_colour = _hsv(hue + shift, *colorsys.rgb_to_hsv(*(v / 255 for v in colour))[1:])
        clause = "is a different shade"
    else:
        odd_colour = colour
        clause = "is turned differently" if mode == "rotated" else "is missing its notch"
    odd_quarter = rot + rng.randint(1, 3) if mode == "rotated" else rot
    for r in range(rows):
        for c in range(cols):
            cx, cy = left + c * cw + cw // 2, top + r * ch + ch // 2
            odd = (r, c) == (odd_r, odd_c)
            quarter = odd_quarter if odd else rot
            draw_one(cx, cy, odd_colour if odd else colour, quarter, not (odd and mode == "notch"))

    def cell_box(r: int, c: int) -> list[int]:
        return [left + c * cw, top + r * ch, left + (c + 1) * cw, top + (r + 1) * ch]

    others = [(r, c) for r in range(rows) for c in range(cols) if (r, c) != (odd_r, odd_c)]
    objects = [
        {"label": f"shape in row {r + 1}, column {c + 1}", "box": cell_box(r, c)}
        for r, c in rng.sample(others, 4)
    ]
    where = f"row {odd_r + 1}, column {odd_c + 1}"
    odd_box = cell_box(odd_r, odd_c)
    column_x = (odd_box[0] + odd_box[2]) // 2
    needs = [
        Need(op="box", params={"box": odd_box}, reveals=f"the boxed shape {clause}"),
        Need(  # from the boxed shape up to its column's number: which column it is in
            op="arrow",
            params={"start": [column_x, odd_box[1]], "end": [column_x, round(top * 0.75)]},
            reveals=f"the arrow leads from the boxed shape up to column {odd_c + 1}",
        ),
    ]
    question = ask(rng, ODD_ONE)
    annotations = {
        "grid": {
            "rows": rows,
            "cols": cols,
            "cells": [cell_box(r, c) for r in range(rows) for c in range(cols)],
        },
        "difference": mode,
    }
    return Scene(img, question, where, annotations, needs, objects)


def geometry(rng: random.Random, size: tuple[int, int]) -> Scene:
    """Labelled points and a shaded circle; whether segment AB meets it needs a drawn line."""
    w, h = size
    u = _unit(size)
    img = Image.new("RGB", size, (250, 250, 247))
    d = ImageDraw.Draw(img)
    step = max(10, round(50 * u))
    for x in range(step, w, step):
        d.line((x, 0, x, h), fill=(226, 231, 239))
    for y in range(step, h, step):
        d.line((0, y, w, y), fill=(226, 231, 239))

    r = round(rng.uniform(90, 190) * u)
    c = (rng.randint(round(w * 0.3), round(w * 0.7)), rng.randint(round(h * 0.3), round(h * 0.7)))
    want_yes = rng.random() < 0.5
    short_miss = not want_yes and rng.random() < 0.3  # the line would hit, the segment stops short
    m = round(70 * u)

    def inside(p: tuple[float, float]) -> bool:
        return m <= p[0] <= w - m and m <= p[1] <= h - m

    for _ in range(5000):
        phi = rng.uniform(0, 2 * math.pi)
        nx, ny = math.cos(phi), math.sin(phi)
        tx, ty = -ny, nx
        off = rng.uniform(0, 0.75 * r) if want_yes or short_miss else rng.uniform(1.25, 2.5) * r
        fx, fy = c[0] + off * nx, c[1] + off * ny
        if short_miss:
            t_a = rng.uniform(1.3 * r, 2.2 * r)
            t_b = t_a + rng.uniform(0.35, 0.7) * min(w, h)
        else:
            t_a = -rng.uniform(r + 60 * u, 0.6 * min(w, h))
            t_b = rng.uniform(r + 60 * u, 0.6 * min(w, h))
        pa, pb = (fx + t_a * tx, fy + t_a * ty), (fx + t_b * tx, fy + t_b * ty)
        if not (inside(pa) and inside(pb)):
            continue
        a_pt, b_pt = (round(pa[0]), round(pa[1])), (round(pb[0]), round(pb[1]))
        if rng.random() < 0.5:
            a_pt, b_pt = b_pt, a_pt
        dist = segment_distance(c, a_pt, b_pt)
        if (
            (dist < r) == want_yes
            and abs(dist - r) > 0.2 * r
            and min(math.dist(a_pt, c), math.dist(b_pt, c)) > r + 40 * u
        ):
            break
    else:  # pragma: no cover - the proposals above are accepted within a few tries
        raise RuntimeError("geometry: could not place A and B")

    points: dict[str, tuple[int, int]] = {"A": a_pt, "B": b_pt}
    for name in ("C", "D"):
        for _ in range(500):
            p = (rng.randint(m, w - m), rng.randint(m, h - m))
            if (
                math.dist(p, c) > r + 50 * u
                and all(math.dist(p, q) > 140 * u for q in points.values())
                and segment_distance(p, a_pt, b_pt) > 50 * u
            ):
                points[name] = p
                break

    objects: list[dict[str, Any]] = []
    decoy = None
    if rng.random() < 0.5:  # an unshaded circle, so "the shaded circle" has to be read
        r2 = round(rng.uniform(50, 110) * u)
        for _ in range(200):
            c2 = (rng.randint(r2 + 10, w - r2 - 10), rng.randint(r2 + 10, h - r2 - 10))
            if math.dist(c2, c) > r + r2 + 40 * u and all(
                math.dist(c2, q) > r2 + 40 * u for q in points.values()
            ):
                decoy = (c2, r2)
                break
    shade = _hsv(rng.random(), rng.uniform(0.2, 0.4), rng.uniform(0.8, 0.9))
    line_w = max(2, round(3 * u))
    d.ellipse(
        (c[0] - r, c[1] - r, c[0] + r, c[1] + r),
        fill=shade,
        outline=tuple(round(v * 0.6) for v in shade),
        width=line_w,
    )
    objects.append({"label": "shaded circle", "box": [c[0] - r, c[1] - r, c[0] + r, c[1] + r]})
    if decoy is not None:
        (x2, y2), r2 = decoy
        d.ellipse((x2 - r2, y2 - r2, x2 + r2, y2 + r2), outline=(90, 90, 90), width=line_w)
        objects.append({"label": "unshaded circle", "box": [x2 - r2, y2 - r2, x2 + r2, y2 + r2]})

    dot = max(3, round(7 * u))
    f = font(max(12, round(34 * u)))
    reach = 30 * u
    for name, (px, py) in points.items():
        d.ellipse((px - dot, py - dot, px + dot, py + dot), fill=TEXT_INK)
        vx, vy = px - c[0], py - c[1]
        norm = math.hypot(vx, vy) or 1.0
        lx, ly = px + reach * vx / norm, py + reach * vy / norm
        d.text((lx, ly), name, fill=TEXT_INK, font=f, anchor="mm")
        if name in ("C", "D"):
            box = _clamp_box((px - 2 * reach, py - 2 * reach, px + 2 * reach, py + 2 * reach), size)
            objects.append({"label": f"point {name}", "box": list(box)})

    yes = segment_distance(c, a_pt, b_pt) < r
    clause = "crosses the circle" if yes else "passes clear of the circle"
    label = "crossed" if yes else "missed"
    needs = [
        Need(
            op="aux_line",
            params={"start": list(a_pt), "end": list(b_pt)},
            reveals=f"the line from A to B {clause}",
        ),
        Need(  # what the line showed, written on the circle
            op="text_label",
            params={"position": list(c), "text": label},
            reveals=f'the circle is labelled "{label}": the line {clause}',
        ),
    ]
    annotations = {
        "circle": {"center": list(c), "radius": r},
        "points": {k: list(v) for k, v in points.items()},
    }
    question = ask(rng, GEOMETRY)
    return Scene(img, question, "yes" if yes else "no", annotations, needs, objects)


def direction(rng: random.Random, size: tuple[int, int]) -> Scene:
    """A pointer glyph and lettered boxes; only an arrow along the pointer settles which box."""
    w, h = size
    u = _unit(size)
    img = _backdrop(rng, size, noise=False, light=True)
    d = ImageDraw.Draw(img)

    length, half_w = 70 * u, 26 * u
    half = round(rng.uniform(36, 48) * u)  # lettered box half-side
    m = half + round(20 * u)
    for _ in range(5000):
        bx, by = rng.uniform(m + length, w - m - length), rng.uniform(m + length, h - m - length)
        theta = rng.uniform(0, 2 * math.pi)
        ux, uy = math.cos(theta), math.sin(theta)
        tip = (round(bx + length * ux), round(by + length * uy))
        t_max = min(
            ((w - m - tip[0]) / ux if ux > 1e-9 else (m - tip[0]) / ux if ux < -1e-9 else math.inf),
            ((h - m - tip[1]) / uy if uy > 1e-9 else (m - tip[1]) / uy if uy < -1e-9 else math.inf),
        )
        if t_max >= 320 * u:
            break
    else:  # pragma: no cover
        raise RuntimeError("direction: could not place the pointer")
    t = rng.uniform(240 * u, t_max)
    centre = (round(tip[0] + t * ux), round(tip[1] + t * uy))
    target = (centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half)

    nx, ny = -uy, ux
    glyph = [
        tip,
        (tip[0] - length * ux + half_w * nx, tip[1] - length * uy + half_w * ny),
        (tip[0] - 0.65 * length * ux, tip[1] - 0.65 * length * uy),
        (tip[0] - length * ux - half_w * nx, tip[1] - length * uy - half_w * ny),
    ]
    pointer_box = _clamp_box(
        (
            min(p[0] for p in glyph),
            min(p[1] for p in glyph),
            max(p[0] for p in glyph),
            max(p[1] for p in glyph),
        ),
        size,
    )

    k = rng.randint(4, 6)
    letters = rng.sample(BOX_LETTERS, k)
    boxes: list[tuple[str, Box]] = [(letters[0], target)]
    min_sep = math.radians(25)
    for n, letter in enumerate(letters[1:]):
        for _ in range(500):
            if n == 0:  # one decoy close to the ray, so eyeballing the direction is not enough
                ang = theta + rng.choice((-1, 1)) * math.radians(rng.uniform(26, 40))
                dist = rng.uniform(240 * u, max(260 * u, t * 1.1))
                p = (round(tip[0] + dist * math.cos(ang)), round(tip[1] + dist * math.sin(ang)))
            else:
                p = (rng.randint(m, w - m), rng.randint(m, h - m))
            b = (p[0] - half, p[1] - half, p[0] + half, p[1] + half)
            if (
                m <= p[0] <= w - m
                and m <= p[1] <= h - m
                and math.dist(p, tip) > 200 * u
                and _angle_diff(math.atan2(p[1] - tip[1], p[0] - tip[0]), theta) > min_sep
                and not ray_hits_box(tip, (ux, uy), b, pad=20 * u)
                and not _overlaps(b, pointer_box, 30 * u)
                and not any(_overlaps(b, o, 30 * u) for _, o in boxes)
            ):
                boxes.append((letter, b))
                break

    f = font(max(12, round(half * 1.1)))
    line_w = max(2, round(4 * u))
    for letter, b in boxes:
        edge = _hsv(rng.random(), rng.uniform(0.5, 0.8), rng.uniform(0.45, 0.7))
        d.rectangle(b, fill=(252, 252, 252), outline=edge, width=line_w)
        d.text(((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), letter, fill=TEXT_INK, font=f, anchor="mm")
    d.polygon(glyph, fill=(35, 35, 45))

    answer = letters[0]
    objects = [{"label": f"box {letter}", "box": list(b)} for letter, b in boxes[1:]]
    objects.append({"label": "pointer", "box": list(pointer_box)})
    need = Need(
        op="arrow",
        params={"start": list(tip), "end": list(centre)},
        reveals=f"the arrow along the pointer reaches box {answer}",
    )
    annotations = {
        "pointer": {"tip": list(tip), "angle_deg": round(math.degrees(theta) % 360, 2)},
        "boxes": {letter: list(b) for letter, b in boxes},
    }
    return Scene(img, ask(rng, DIRECTION), answer, annotations, [need], objects)


SMALL_TEXT = (
    "What code is printed on the small {colour} tag?",
    "Read the code on the little {colour} tag.",
    "Which code does the {colour} tag carry?",
    "What is written on the small {colour} label?",
    "Find the {colour} tag. What code is on it?",
)
COUNTING = (
    "How many {plural} are there{where}?",
    "Count the {plural}{where}.",
    "What is the number of {plural}{where}?",
    "How many {plural} can you find{where}?",
    "Give the count of {plural}{where}.",
)
ODD_ONE = (
    "One shape differs from the others. In which row and column is it? "
    "Answer as 'row R, column C'.",
    "Which shape in the grid is not like the rest? Answer as 'row R, column C'.",
    "Find the odd one out in the grid. Give its position as 'row R, column C'.",
    "One cell holds a shape that differs. Where is it? Answer as 'row R, column C'.",
    "Spot the shape that does not match the others and answer as 'row R, column C'.",
)
GEOMETRY = (
    "Does the straight segment from A to B pass through the shaded circle? Answer yes or no.",
    "Would a straight line from A to B cross the shaded circle? Answer yes or no.",
    "Is the shaded circle cut by the segment joining A and B? Answer yes or no.",
    "If you join A and B with a straight line, does it touch the shaded circle? Yes or no?",
    "Does segment AB intersect the shaded disc? Answer yes or no.",
)
DIRECTION = (
    "Which lettered box does the pointer point to?",
    "Follow the pointer: which lettered box does it aim at?",
    "The dark pointer aims at one box. Which letter is it?",
    "Which box lies in the direction the pointer shows?",
    "If you follow the pointer's direction, which lettered box do you reach?",
)

FAMILIES: dict[str, Family] = {
    "small_text": Family("small_text", small_text, "a tiny code on one coloured tag in clutter",
                         SMALL_TEXT, (("zoom",),)),
    "counting": Family("counting", counting, "shapes of one colour and kind, counted",
                       COUNTING, (("point_mark",), ("zoom", "point_mark"))),
    "odd_one": Family("odd_one", odd_one, "the one different shape in a numbered grid",
                      ODD_ONE, (("box", "arrow"),)),
    "geometry": Family("geometry", geometry, "whether a segment crosses a circle",
                       GEOMETRY, (("aux_line", "text_label"),)),
    "direction": Family("direction", direction, "which box a pointer aims at",
                        DIRECTION, (("arrow",),)),
    **scene_families(),
}  # fmt: skip


# --------------------------------------------------------------------------- the source


class SyntheticSource:
    """A seeded stream of generated scenes; item ``i`` is rebuilt alone by :meth:`sample`."""

    name = "synthetic"
    DEFAULT_N = 200  # the size of a run that names no --n: `make run` in a couple of minutes
    OPTIONS = ("families", "size")

    def __init__(
        self,
        n: int = DEFAULT_N,
        seed: int = 0,
        families: Sequence[str] | str | None = None,
        size: tuple[int, int] = (1600, 1200),
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        if isinstance(families, str):  # --source-opt families=small_text,geometry
            families = [f.strip() for f in families.split(",") if f.strip()]
        fams = list(FAMILIES) if families is None else list(families)
        if not fams:
            raise ValueError("families must name at least one family")
        unknown = [f for f in fams if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown families {unknown} (known: {', '.join(FAMILIES)})")
        w, h = (int(v) for v in size)
        if min(w, h) < 400 or max(w, h) > 4096:
            raise ValueError(f"size must be between 400 and 4096 px a side, got {size!r}")
        self.n = n
        self.seed = seed
        self.families = fams
        self.size = (w, h)

    def __len__(self) -> int:
        return self.n

    def sample(self, i: int) -> SourceSample:
        """Item ``i``: its own RNG seeded from (seed, i), so shards need not replay the stream."""
        if not 0 <= i < self.n:
            raise IndexError(f"sample index {i} out of range for n={self.n}")
        family = self.families[i % len(self.families)]
        scene = FAMILIES[family].make(random.Random(f"{self.seed}:{i}"), self.size)
        img = scene.image if scene.image.mode == "RGB" else scene.image.convert("RGB")
        return SourceSample(
            id=content_id(pixels_digest(img), scene.question),
            image=img,
            question=scene.question,
            answer=scene.answer,
            task=family,
            source=self.name,
            choices=scene.choices,
            annotations=scene.annotations,
            needs=scene.needs,
            objects=scene.objects,
        )

    def __iter__(self) -> Iterator[SourceSample]:
        for i in range(self.n):
            yield self.sample(i)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n": self.n,
            "seed": self.seed,
            "families": list(self.families),
            "size": list(self.size),
        }


__all__ = ["FAMILIES", "Scene", "SyntheticSource", "ray_hits_box", "segment_distance"]
