"""What the several-image families (``count_across``, ``forensics``) share: a photographed
table top (grainy cloth, a few muted papers), coloured pieces with soft drop shadows, and
one camera that shoots the same table several times."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from atlas_data.sources.scenes.kit import (
    RGB,
    backdrop,
    draw_shape,
    gaussian_blur,
    hsv,
    shaded,
    shape_box,
    unit,
)

SHADOW = 0.4  # how much a piece's shadow darkens the table


@dataclass(frozen=True)
class Piece:
    """One coloured piece on the table: its shape, centre, radius and fill."""

    kind: str
    cx: int
    cy: int
    r: int
    rgb: RGB

    @property
    def box(self) -> list[int]:
        return shape_box(self.kind, self.cx, self.cy, self.r)

    def clear_of(self, others: Sequence[Piece], gap: float) -> bool:
        return all(math.hypot(self.cx - o.cx, self.cy - o.cy) >= self.r + o.r + gap for o in others)


def table(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A grainy cloth with a few muted sheets and coasters lying on it (never saturated:
    nothing of it reads as a coloured piece)."""
    w, h = size
    u = unit(size)
    img = backdrop(rng, size, noise=True, light=False)
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(2, 5)):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rw, rh = rng.uniform(80, 260) * u, rng.uniform(60, 200) * u
        box = (cx - rw, cy - rh, cx + rw, cy + rh)
        colour = hsv(rng.random(), rng.uniform(0.05, 0.22), rng.uniform(0.55, 0.85))
        (d.rectangle if rng.random() < 0.6 else d.ellipse)(box, fill=colour)
    return img


def lay(base: Image.Image, pieces: Sequence[Piece], blur: float) -> Image.Image:
    """``pieces`` on a copy of ``base``, each over its soft shadow (offset down and right).
    The shadow is local: taking one piece away changes the picture only around it."""
    mask = Image.new("L", base.size, 0)
    md = ImageDraw.Draw(mask)
    for p in pieces:
        off = max(1, round(0.18 * p.r))
        draw_shape(md, p.kind, p.cx + off, p.cy + off, p.r, 255)  # type: ignore[arg-type]
    soft = np.asarray(gaussian_blur(mask, blur), dtype=np.float32)
    img = shaded(base, 1 - np.float32(SHADOW / 255) * soft)
    d = ImageDraw.Draw(img)
    for p in pieces:
        draw_shape(d, p.kind, p.cx, p.cy, p.r, p.rgb)
    return img


def scatter(
    rng: random.Random,
    specs: Sequence[tuple[str, RGB, int]],
    area: Sequence[int],
    taken: list[Piece],
    gap: float,
) -> list[Piece]:
    """Pieces of ``specs`` (kind, fill, radius) placed at random in ``area``, clear of
    ``taken`` and of each other by ``gap``; each placed one is added to ``taken``. A piece
    with no room is left out (callers place what the answer depends on first)."""
    x0, y0, x1, y1 = area
    out = []
    for kind, rgb, r in specs:
        margin = r + 2
        if x1 - x0 <= 2 * margin or y1 - y0 <= 2 * margin:
            continue
        for _ in range(3000):
            p = Piece(
                kind,
                rng.randint(x0 + margin, x1 - margin),
                rng.randint(y0 + margin, y1 - margin),
                r,
                rgb,
            )
            if p.clear_of(taken, gap):
                taken.append(p)
                out.append(p)
                break
    return out
