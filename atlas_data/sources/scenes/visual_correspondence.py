"""visual_correspondence: a tiled wall photographed twice (BLINK-style). A point marked REF
in Image 1 sits on one small patterned tile; Image 2 shows the wall from a shifted, scaled
viewpoint with lettered candidate points, one on the same tile. The tiles' patterns are
too fine to tell apart at the budget: zoom on REF in Image 1, then on the candidates in
Image 2 (a chain across images). Big tiles are compared as they are (a direct answer)."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from atlas_data.sources.scenes.kit import (
    Family,
    Scene,
    ask,
    camera,
    grain,
    hsv,
    tinted,
    typeface,
    unit,
    zoom_need,
)

PHRASINGS = (
    "Image 1 marks a point REF. Which of the points A to {last} in Image 2 is the same spot "
    "of the scene?",
    "Which point in Image 2 corresponds to the REF point of Image 1?",
    "The two photos show the same wall. Which candidate point in Image 2 lies on the same "
    "spot as REF in Image 1?",
    "Find the point of Image 2 that matches REF in Image 1: {options}?",
    "REF in the first image sits on one tile. Which point of the second image is on that "
    "same tile?",
    "Match the reference point across the two views: which candidate in Image 2 is it?",
)
INK = (38, 36, 34)
TILE = (232, 226, 212)
RING = (250, 215, 30)  # the candidate and REF rings, in both images
HARD_CELL, HARD_CELLS = 3, 4  # px per cell (at unit 1) and cells a side: a 14 px tile
EASY_CELL, EASY_CELLS = 15, 3  # a 47 px tile


def pattern(rng: random.Random, cells: int) -> tuple[int, ...]:
    """A tile's pattern: ``cells`` x ``cells`` bits, row by row, roughly half dark."""
    n = cells * cells
    while True:
        word = rng.getrandbits(n)
        bits = tuple((word >> k) & 1 for k in range(n))
        if n // 3 <= sum(bits) <= n - n // 3:
            return bits


def hamming(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def wall(rng: random.Random, size: tuple[int, int]) -> np.ndarray:
    """A weathered plaster wall: a muted colour, soft stains at two scales and fine grain."""
    w, h = size
    gen = np.random.default_rng(rng.randrange(2**32))
    base = hsv(rng.random(), rng.uniform(0.08, 0.3), rng.uniform(0.5, 0.7))
    shade = grain(gen, size, 4.0)
    for cell, amp in ((160, 18.0), (24, 7.0)):
        noise = gen.standard_normal((h // cell + 2, w // cell + 2), dtype=np.float32) * amp
        shade += cv2.resize(noise, size, interpolation=cv2.INTER_CUBIC)
    return tinted(shade, base)


def draw_tiles(
    arr: np.ndarray, tiles: list[tuple[float, float, tuple[int, ...]]], cells: int, cell: int
) -> None:
    """Each tile in place on the wall's pixels: a light square, one pixel wider than its
    ``cells`` x ``cells`` grid of ``cell`` px, with its set bits in ink. All tiles at once:
    a Python loop of rectangles cost more than the rest of the scene."""
    if not tiles:
        return
    side = cells * cell
    n, h, w = len(tiles), *arr.shape[:2]
    x0 = np.array([round(tx - side / 2) for tx, _, _ in tiles])[:, None, None] - 1
    y0 = np.array([round(ty - side / 2) for _, ty, _ in tiles])[:, None, None] - 1
    bits = np.array([b for _, _, b in tiles], bool).reshape(n, cells, cells)
    ink = np.zeros((n, side + 2, side + 2), bool)
    ink[:, 1 : side + 1, 1 : side + 1] = bits.repeat(cell, 1).repeat(cell, 2)
    span = np.arange(side + 2)
    ys = np.broadcast_to(y0 + span[None, :, None], ink.shape)
    xs = np.broadcast_to(x0 + span[None, None, :], ink.shape)
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    arr[ys[inside], xs[inside]] = np.where(ink[inside][:, None], INK, TILE)


def view(world: np.ndarray, origin: tuple[float, float], scale: float, size: tuple[int, int]):
    """The part of the wall a camera sees: world point p appears at (p - origin) * scale
    (in Pillow's continuous coordinates, where pixel i spans [i, i + 1))."""
    ox, oy = origin
    inv = 1.0 / scale
    shift = 0.5 * inv - 0.5  # OpenCV samples at pixel centres
    m = np.array([[inv, 0, ox + shift], [0, inv, oy + shift]], np.float64)
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    out = cv2.warpAffine(world, m, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return Image.fromarray(out)


def ring(d: ImageDraw.ImageDraw, x: float, y: float, r: float, width: int) -> None:
    d.ellipse((x - r - 1, y - r - 1, x + r + 1, y + r + 1), outline=(20, 20, 20), width=width + 2)
    d.ellipse((x - r, y - r, x + r, y + r), outline=RING, width=width)


def tag(d: ImageDraw.ImageDraw, x: float, y: float, text: str, px: int) -> list[int]:
    """A label in white with a dark outline, centred above (x, y); its box."""
    f = typeface("sans", px)
    d.text((x, y), text, fill=(255, 255, 255), font=f, anchor="md", stroke_width=3,
           stroke_fill=(15, 15, 15))  # fmt: skip
    box = d.textbbox((x, y), text, font=f, anchor="md", stroke_width=3)
    return [round(v) for v in box]


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    easy = rng.random() < 0.18
    cell = round((EASY_CELL if easy else HARD_CELL) * u) or 1
    cells = EASY_CELLS if easy else HARD_CELLS
    side = cell * cells
    spacing = side * 2.6 if easy else round(40 * u)
    ww, wh = round(w * 1.4), round(h * 1.4)
    world = wall(rng, (ww, wh))

    # tiles on a jittered grid over the whole wall, every pattern distinct
    tiles: list[tuple[float, float, tuple[int, ...]]] = []
    seen: set[tuple[int, ...]] = set()
    jitter = spacing * 0.18
    ys = np.arange(spacing / 2, wh - spacing / 2, spacing)
    xs = np.arange(spacing / 2, ww - spacing / 2, spacing)
    for gy in ys:
        for gx in xs:
            bits = pattern(rng, cells)
            while bits in seen:
                bits = pattern(rng, cells)
            seen.add(bits)
            tx, ty = gx + rng.uniform(-jitter, jitter), gy + rng.uniform(-jitter, jitter)
            tiles.append((tx, ty, bits))

    # two viewpoints: Image 1 at scale 1, Image 2 shifted and scaled (tiles stay under the
    # reading size at the budget in both)
    s2 = rng.uniform(0.86, 1.04) if not easy else rng.uniform(0.9, 1.1)
    o1 = (rng.uniform(0, ww - w), rng.uniform(0, wh - h))
    o2 = (rng.uniform(0, ww - w / s2), rng.uniform(0, wh - h / s2))
    seen_by = [(*o1, o1[0] + w, o1[1] + h), (*o2, o2[0] + w / s2, o2[1] + h / s2)]
    draw_tiles(world, [(tx, ty, bits) for tx, ty, bits in tiles  # the tiles a camera sees
                       if any(x0 - side <= tx <= x1 + side and y0 - side <= ty <= y1 + side
                              for x0, y0, x1, y1 in seen_by)], cells, cell)  # fmt: skip

    def at(p: tuple[float, float], origin: tuple[float, float], s: float) -> tuple[float, float]:
        return (p[0] - origin[0]) * s, (p[1] - origin[1]) * s

    r_ring = side * 0.75 + max(6, round(6 * u))
    pad = r_ring + round(90 * u)
    # REF: a tile well inside both views, with room for three neighbours as candidates
    inside = []
    for k, (tx, ty, _) in enumerate(tiles):
        p1, p2 = at((tx, ty), o1, 1.0), at((tx, ty), o2, s2)
        if all(pad <= p[0] <= w - pad and pad <= p[1] <= h - pad for p in (p1, p2)):
            inside.append(k)
    ref = rng.choice(inside)
    rx, ry, ref_bits = tiles[ref]
    # candidates: tiles near REF's tile in Image 2 whose patterns differ from it clearly
    q2 = at((rx, ry), o2, s2)
    near = []
    for k, (tx, ty, bits) in enumerate(tiles):
        p2 = at((tx, ty), o2, s2)
        dist = math.dist(p2, q2)
        shown = pad * 0.6 <= p2[0] <= w - pad * 0.6 and pad * 0.6 <= p2[1] <= h - pad * 0.6
        if k != ref and shown and dist <= spacing * s2 * 3.6 and hamming(bits, ref_bits) > cells:
            near.append(k)
    # candidates apart enough that each letter plainly belongs to its own ring
    rng.shuffle(near)
    chosen = [ref]
    n_cand = rng.choice((3, 4))
    for k in near:
        p2 = at(tiles[k][:2], o2, s2)
        if all(math.dist(p2, at(tiles[c][:2], o2, s2)) >= 1.5 * spacing * s2 for c in chosen):
            chosen.append(k)
        if len(chosen) == n_cand:
            break
    rng.shuffle(chosen)
    letters = "ABCD"[: len(chosen)]
    answer = letters[chosen.index(ref)]

    img1 = view(world, o1, 1.0, size)
    img2 = view(world, o2, s2, size)
    # photographs: a light change between the shots, then each its own camera
    img2 = Image.eval(img2, lambda v: min(255, round(v * 0.93 + 10)))
    d1, d2 = ImageDraw.Draw(img1), ImageDraw.Draw(img2)
    rw = max(2, round(3 * u))
    label_px = round(26 * u)
    p1 = at((rx, ry), o1, 1.0)
    ring(d1, *p1, r_ring, rw)
    ref_label = tag(d1, p1[0], p1[1] - r_ring - 4, "REF", label_px)

    points: dict[str, list[float]] = {}
    label_boxes: dict[str, list[int]] = {}
    for letter, k in zip(letters, chosen, strict=True):
        p2 = at(tiles[k][:2], o2, s2)
        points[letter] = [round(float(p2[0]), 1), round(float(p2[1]), 1)]
        ring(d2, *p2, r_ring * s2, rw)
    for letter in letters:  # labels after every ring, so no ring hides a label
        x, y = points[letter]
        label_boxes[letter] = tag(d2, x, y - r_ring * s2 - 4, letter, label_px)
    img1, photo1 = camera(img1, rng)
    img2, _ = camera(img2, rng)

    # evidence: REF's tile with its ring and label; the candidates' tiles, rings and labels
    ref_box = [p1[0] - r_ring, p1[1] - r_ring, p1[0] + r_ring, p1[1] + r_ring]
    ev1 = [min(ref_box[0], ref_label[0]), min(ref_box[1], ref_label[1]),
           max(ref_box[2], ref_label[2]), max(ref_box[3], ref_label[3])]  # fmt: skip
    rr = r_ring * s2
    xs2 = [v for x, y in points.values() for v in (x - rr, x + rr)]
    ys2 = [v for x, y in points.values() for v in (y - rr, y + rr)]
    xs2 += [b[0] for b in label_boxes.values()] + [b[2] for b in label_boxes.values()]
    ys2 += [b[1] for b in label_boxes.values()] + [b[3] for b in label_boxes.values()]
    ev2 = [min(xs2), min(ys2), max(xs2), max(ys2)]
    ev1 = [max(0.0, v) if i < 2 else min(float(size[i - 2]), v) for i, v in enumerate(ev1)]
    ev2 = [max(0.0, v) if i < 2 else min(float(size[i - 2]), v) for i, v in enumerate(ev2)]
    reveals1 = (
        f"the tiles are large enough to compare: point {answer} is on a tile patterned like REF's"
        if easy
        else "REF's tile shows its pattern of dark cells"
    )
    reveals2 = f"point {answer} sits on a tile with the same pattern as REF's"
    needs = [zoom_need(ev1, side, reveals1)]
    if not easy:
        needs.append(replace(zoom_need(ev2, side * s2, reveals2), image=1))
    objects: list[dict[str, Any]] = []
    for letter, (x, y) in points.items():
        if letter != answer:
            objects.append({"label": f"point {letter}", "box": [x - rr, y - rr, x + rr, y + rr],
                            "image": 1})  # fmt: skip
    for tx, ty, _ in tiles[ref + 3 : ref + 5]:  # other tiles of Image 1, as distractors
        q = at((tx, ty), o1, 1.0)
        if r_ring <= q[0] <= w - r_ring and r_ring <= q[1] <= h - r_ring:
            objects.append({"label": "tile", "box": [q[0] - r_ring, q[1] - r_ring,
                                                     q[0] + r_ring, q[1] + r_ring]})  # fmt: skip
    options = ", ".join(letters[:-1]) + " or " + letters[-1]
    question = ask(rng, PHRASINGS, last=letters[-1], options=options)
    annotations = {
        "easy": easy,
        "cells": cells,
        "cell_px": [cell, cell * s2],
        "tile_px": [side, side * s2],
        "ref": [round(float(p1[0]), 1), round(float(p1[1]), 1)],
        "points": points,
        "patterns": {letter: list(tiles[k][2]) for letter, k in zip(letters, chosen, strict=True)},
        "ref_pattern": list(ref_bits),
        "scale": [1.0, s2],
    }
    return Scene(img1, question, answer, annotations, needs, objects, choices=list(letters),
                 encoded=photo1, more_images=[img2])  # fmt: skip


FAMILY = Family(
    "visual_correspondence",
    make,
    "which lettered point of a second view is the REF point of the first (BLINK-style)",
    PHRASINGS,
    (("zoom", "zoom"), ()),
    images=2,
)
