"""Boxes and points, in one place: every module that measures or places a region uses these.

A box is ``[x0, y0, x1, y1]`` in pixels (x1, y1 exclusive), a size is ``(width, height)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

BoxLike = Sequence[float]


def area(b: BoxLike) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def intersection(a: BoxLike, b: BoxLike) -> float:
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def iou(a: BoxLike, b: BoxLike) -> float:
    """Intersection over union (0 for boxes with no area)."""
    inter = intersection(a, b)
    union_area = area(a) + area(b) - inter
    return inter / union_area if union_area > 0 else 0.0


def coverage(outer: BoxLike, inner: BoxLike) -> float:
    """Share of ``inner``'s area that lies inside ``outer``."""
    return intersection(outer, inner) / max(1e-9, area(inner))


def centre(b: BoxLike) -> list[int]:
    return [round((b[0] + b[2]) / 2), round((b[1] + b[3]) / 2)]


def union(boxes: Iterable[BoxLike]) -> list[float]:
    """The smallest box holding every box given."""
    bs = list(boxes)
    return [
        min(b[0] for b in bs),
        min(b[1] for b in bs),
        max(b[2] for b in bs),
        max(b[3] for b in bs),
    ]


def short_side(b: BoxLike) -> float:
    return min(b[2] - b[0], b[3] - b[1])


def long_side(b: BoxLike) -> float:
    return max(b[2] - b[0], b[3] - b[1])


def clamp_box(b: BoxLike, size: tuple[int, int]) -> list[int]:
    """``b`` clipped to the image, widened to whole pixels (floor, ceil)."""
    w, h = size
    return [
        max(0, math.floor(b[0])),
        max(0, math.floor(b[1])),
        min(w, math.ceil(b[2])),
        min(h, math.ceil(b[3])),
    ]


def box_around(cx: float, cy: float, w: float, h: float, size: tuple[int, int]) -> list[int]:
    """A ``w`` x ``h`` box centred on (cx, cy), moved (not clipped) to lie inside the image."""
    w, h = min(w, size[0]), min(h, size[1])
    x0 = min(max(0.0, cx - w / 2), size[0] - w)
    y0 = min(max(0.0, cy - h / 2), size[1] - h)
    return [round(x0), round(y0), round(x0 + w), round(y0 + h)]


def grow(b: BoxLike, margin: float, size: tuple[int, int]) -> list[int]:
    """``b`` with ``margin`` pixels on every side, clipped to the image."""
    return clamp_box([b[0] - margin, b[1] - margin, b[2] + margin, b[3] + margin], size)


def segment_distance(p: Sequence[float], a: Sequence[float], b: Sequence[float]) -> float:
    """Distance from point ``p`` to the segment ``a``-``b``."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))


def ray_hits_box(
    origin: Sequence[float], direction: Sequence[float], box: BoxLike, pad: float = 0.0
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
