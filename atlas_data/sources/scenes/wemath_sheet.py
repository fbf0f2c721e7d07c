"""What the WeMath-style families share (no ``FAMILY`` here): a printed geometry worksheet
on paper, lettered points, and the straight-line arithmetic their answers come from."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.geometry import segment_distance
from atlas_data.sources.scenes.kit import TEXT_INK, paper, typeface, unit, xy

Point = tuple[float, float]
INK: tuple[int, int, int] = (28, 28, 34)  # the printed figure
PENCIL: tuple[int, int, int] = (70, 90, 150)  # arcs marking angles


def sheet(rng: random.Random, size: tuple[int, int], exercise: str) -> tuple[Image.Image, int]:
    """A worksheet page: paper, a printed header and the exercise's number and instruction.
    Returns the page and the row where the figure's area begins."""
    w, _ = size
    u = unit(size)
    img = paper(rng, size, (247, 245, 238))
    d = ImageDraw.Draw(img)
    small = typeface("serif", max(12, round(24 * u)))
    m = round(50 * u)
    d.text((m, m), "Name: ________________", TEXT_INK, small)
    d.text((w - m, m), f"Geometry  -  sheet {rng.randint(2, 19)}", TEXT_INK, small, "ra")
    rule_y = m + round(40 * u)
    d.line((m, rule_y, w - m, rule_y), fill=(120, 120, 120), width=max(1, round(2 * u)))
    head = typeface("sans", max(12, round(28 * u)))
    d.text((m, rule_y + round(18 * u)), f"{rng.randint(1, 12)}. {exercise}", TEXT_INK, head)
    return img, rule_y + round(80 * u)


def letter_font(size: tuple[int, int]) -> object:
    return typeface("sans", max(14, round(34 * unit(size))))


def put_letter(d: ImageDraw.ImageDraw, at: Point, name: str, size: tuple[int, int]) -> None:
    d.text(xy(at), name, TEXT_INK, letter_font(size), "mm")  # type: ignore[arg-type]


def heading(a: Sequence[float], b: Sequence[float]) -> float:
    """Direction of a->b in degrees, image axes (y down), in [0, 360)."""
    return math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])) % 360


def line_diff(a: float, b: float) -> float:
    """Angle between two undirected lines of directions ``a`` and ``b`` degrees, in [0, 90]."""
    d = (a - b) % 180
    return min(d, 180 - d)


def ahead(p: Sequence[float], deg: float, r: float) -> Point:
    """The point ``r`` from ``p`` in direction ``deg`` (image axes)."""
    return p[0] + r * math.cos(math.radians(deg)), p[1] + r * math.sin(math.radians(deg))


def segments_apart(
    s: tuple[Point, Point], others: Sequence[tuple[Point, Point]], gap: float
) -> bool:
    """Whether segment ``s`` stays ``gap`` away from every other segment (none cross)."""
    for o in others:
        ends = [segment_distance(p, *o) for p in s] + [segment_distance(q, *s) for q in o]
        if min(ends) < gap or _cross(s, o):
            return False
    return True


def _cross(s: tuple[Point, Point], o: tuple[Point, Point]) -> bool:
    def side(p: Point, a: Point, b: Point) -> float:
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])

    return side(o[0], *s) * side(o[1], *s) < 0 and side(s[0], *o) * side(s[1], *o) < 0


def ink_angle(a: np.ndarray, p: Sequence[float], q: Sequence[float], band: float = 5) -> float:
    """The direction (degrees, in [0, 180)) of the dark ink along the stretch p->q of a
    stored image ``a`` (H x W x 3): dark pixels within ``band`` px of the line through p and
    q, between 15 % and 85 % of the way, fitted by their principal axis. For tests and
    checks: it reads the drawn line from the pixels, not from the generator."""
    (x0, y0), (x1, y1) = p, q
    length = math.hypot(x1 - x0, y1 - y0)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    lo_x, hi_x = int(min(x0, x1) - band), int(max(x0, x1) + band) + 1
    lo_y, hi_y = int(min(y0, y1) - band), int(max(y0, y1) + band) + 1
    lo_x, lo_y = max(lo_x, 0), max(lo_y, 0)
    crop = a[lo_y:hi_y, lo_x:hi_x].astype(int)
    ys, xs = np.nonzero(crop.max(axis=2) < 110)
    xs, ys = xs + lo_x, ys + lo_y
    t = (xs - x0) * ux + (ys - y0) * uy
    off = -(xs - x0) * uy + (ys - y0) * ux
    keep = (np.abs(off) <= band) & (t > 0.15 * length) & (t < 0.85 * length)
    pts = np.stack([xs[keep], ys[keep]], axis=1).astype(float)
    if len(pts) < 20:
        raise ValueError("no ink along the stretch")
    pts -= pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts, full_matrices=False)
    vx, vy = vt[0]
    return math.degrees(math.atan2(vy, vx)) % 180
