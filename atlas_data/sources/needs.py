"""Needs from a record's annotations and its question's intent (or from a model's pointing).

What to draw follows from what the question asks (:mod:`atlas_data.sources.intent`) and
what the record marks:

- counting, with points: numbered marks on the points (a zoom first when they are crowded
  at the budget: the marks' spec decides that);
- alignment, height or collinearity, with labelled points: an auxiliary line through the
  first point, level (or plumb, or along the first two points), reaching the other;
- lengths, with three or four points: a line along each segment;
- comparing regions, with two or more boxes: a box around each;
- a relation from an anchor, with two or more boxes: an arrow from the first box (the
  anchor) to the last (the target), after a box on the anchor when it is small;
- naming, with boxes or labelled points: the label written beside the target;
- anything else with boxes: a zoom (or, with ``bbox_op=box``, a box) on the last box.

With several boxes, the last is where the answer lies and the earlier ones are what the
question refers to. Every need carries a ``measure`` (its purpose and numbers) so that the
operation's help rule can prove, or refuse, it at the budget; what its result shows is
written into ``reveals`` from the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from atlas_data.ops.geometry import centre, grow, union
from atlas_data.ops.spec import Need
from atlas_data.rejections import Rejection
from atlas_data.sources.intent import Intent


@dataclass(frozen=True)
class Mark:
    """An annotated point, in source pixels, with its label when it has one (``A``)."""

    x: float
    y: float
    label: str = ""

    @property
    def xy(self) -> list[float]:
        return [round(self.x, 2), round(self.y, 2)]


@dataclass(frozen=True)
class Annotations:
    """What a record (or a model asked to point) marks on the image, in source pixels."""

    size: tuple[int, int]
    boxes: list[list[float]]
    points: list[Mark]
    others: list[list[float]] | None = None  # other regions the record lists (distractors)
    answer: str = ""


Builder = Callable[[Annotations, Intent], list[Need]]


def annotated_needs(a: Annotations, intent: Intent, bbox_op: str = "zoom") -> list[Need]:
    """The needs of the first intent kind the annotations can serve; else a zoom (or box)
    on the region the answer lies in. Raises :class:`Rejection` on inconsistent ones."""
    for kind in intent.kinds:
        needs = BUILDERS[kind](a, intent)
        if needs:
            return needs
    if not a.boxes:
        return []
    target = a.boxes[-1]
    if bbox_op == "box":
        return [Need("box", {"box": [round(v) for v in target]})]
    return [Need("zoom", {}, evidence=[float(v) for v in target])]


# ---------------------------------------------------------------- points


def spacing(points: Sequence[Mark]) -> float | None:
    """The distance between the two closest points: how crowded they are (two objects that
    run together at the budget are the ones a count gets wrong)."""
    if len(points) < 2:
        return None
    return min(
        math.dist((p.x, p.y), (q.x, q.y)) for i, p in enumerate(points) for q in points[i + 1 :]
    )


def _count(a: Annotations, intent: Intent) -> list[Need]:
    n = len(a.points)
    if not n:
        return []
    if a.answer.strip().isdigit() and int(a.answer) != n:
        raise Rejection("bad_points", f"{n} points for the count {a.answer!r}", "load")
    gap = spacing(a.points)
    around = [[p.x, p.y, p.x, p.y] for p in a.points]
    evidence = grow(union(around), max(8.0, (gap or 16.0) / 2), a.size)
    return [
        Need(
            "point_mark",
            {"points": [p.xy for p in a.points], "numbered": True},
            f"{n} numbered marks, 1 to {n}, sit on the objects counted",
            gap,
            [float(v) for v in evidence],
            {"purpose": "count", "count": n},
        )
    ]


def _named(points: Sequence[Mark], intent: Intent, k: int) -> list[Mark] | None:
    """``k`` points: the ones the question names by label, in its order, else the first."""
    by_label = {p.label: p for p in points if p.label}
    named = [by_label[label] for label in intent.labels if label in by_label]
    chosen = named if len(named) >= k else list(points)
    return chosen[:k] if len(chosen) >= k else None


def _name(p: Mark, fallback: str) -> str:
    return f"point {p.label}" if p.label else fallback


def _align(a: Annotations, intent: Intent) -> list[Need]:
    pts = _named(a.points, intent, 3 if intent.axis == "through" else 2)
    if pts is None:
        return []
    p, q = pts[0], pts[1]
    first, second = _name(p, "the first point"), _name(q, "the second point")
    if intent.axis == "through":  # along the first two points, past the third
        r = pts[2]
        length = math.dist((p.x, p.y), (q.x, q.y))
        if length < 2:
            return []
        ux, uy = (q.x - p.x) / length, (q.y - p.y) / length
        t = max(length, (r.x - p.x) * ux + (r.y - p.y) * uy)
        end = [p.x + t * ux, p.y + t * uy]
        offset = abs((r.x - p.x) * uy - (r.y - p.y) * ux)
        span = t
        other = _name(r, "the third point")
        where = "on" if offset < 0.5 else f"{offset:.0f} px off"
        seen = f"{other} lies {where} the line through {first} and {second}"
    elif intent.axis == "vertical":
        end, offset, span = [p.x, q.y], abs(q.x - p.x), abs(q.y - p.y)
        side = "left" if q.x < p.x else "right"
        where = "on" if offset < 0.5 else f"{offset:.0f} px to the {side} of"
        seen = f"{second} lies {where} the vertical line through {first}"
    else:
        end, offset, span = [q.x, p.y], abs(q.y - p.y), abs(q.x - p.x)
        side = "below" if q.y > p.y else "above"
        where = "on" if offset < 0.5 else f"{offset:.0f} px {side}"
        seen = f"{second} lies {where} the level line through {first}"
    if math.dist(p.xy, end) < 2:
        return []
    measure = {"purpose": "align", "offset_px": round(offset, 2), "span_px": round(span, 2)}
    end = [round(end[0], 2), round(end[1], 2)]
    return [Need("aux_line", {"start": p.xy, "end": end}, seen, measure=measure)]


def _length(a: Annotations, intent: Intent) -> list[Need]:
    pts = _named(a.points, intent, 4) or _named(a.points, intent, 3)
    if pts is None:
        return []
    ends = (0, 1, 2, 3) if len(pts) == 4 else (0, 1, 0, 2)  # AB and CD, or AB and AC
    pairs = [(pts[ends[0]], pts[ends[1]]), (pts[ends[2]], pts[ends[3]])]
    lengths = [math.dist((p.x, p.y), (q.x, q.y)) for p, q in pairs]
    if min(lengths) < 2:
        return []
    names = [
        f"{p.label}{q.label}" if p.label and q.label else f"segment {k + 1}"
        for k, (p, q) in enumerate(pairs)
    ]
    measure = {"purpose": "length", "lengths": [round(v, 2) for v in lengths]}
    longer = "longer" if lengths[1] > lengths[0] else "shorter"
    seen = [
        f"{names[0]} measures {lengths[0]:.0f} px along the line",
        f"{names[1]} measures {lengths[1]:.0f} px, {longer} than {names[0]}",
    ]
    return [
        Need("aux_line", {"start": p.xy, "end": q.xy}, said, measure=measure)
        for (p, q), said in zip(pairs, seen, strict=True)
    ]


# ---------------------------------------------------------------- boxes


def _size(b: Sequence[float]) -> float:
    """A region's linear size: the side of a square of its area."""
    return math.sqrt(max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1]))


def _gap(a: Sequence[float], b: Sequence[float]) -> float:
    """The empty space between two boxes (0 when they touch or overlap)."""
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return math.hypot(dx, dy)


def _compare(a: Annotations, intent: Intent) -> list[Need]:
    boxes = a.boxes
    if len(boxes) < 2:
        return []
    sizes = [_size(b) for b in boxes]
    gap = min(_gap(p, q) for i, p in enumerate(boxes) for q in boxes[i + 1 :])
    measure = {"purpose": "compare", "sizes_px": [round(s, 1) for s in sizes], "gap_px": gap}
    out = []
    for k, (b, s) in enumerate(zip(boxes, sizes, strict=True)):
        seen = f"region {k + 1} of {len(boxes)} is boxed: {s:.0f} px across"
        if k == len(boxes) - 1:
            rest = ", ".join(f"{v:.0f}" for v in sizes[:-1])
            seen = f"the last region is boxed: {s:.0f} px across, against {rest} px"
        out.append(Need("box", {"box": [round(v) for v in b]}, seen, _size(b), None, measure))
    return out


def _edge_towards(box: Sequence[float], towards: Sequence[float]) -> list[float]:
    """Where the ray from ``box``'s centre towards ``towards`` leaves the box."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    dx, dy = towards[0] - cx, towards[1] - cy
    hw, hh = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    t = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf, 1.0)
    return [round(cx + t * dx, 2), round(cy + t * dy, 2)]


def _relate(a: Annotations, intent: Intent) -> list[Need]:
    if len(a.boxes) < 2:
        return []
    anchor, target = a.boxes[0], a.boxes[-1]
    start = _edge_towards(anchor, centre(target))
    end = _edge_towards(target, centre(anchor))
    if math.dist(start, end) < 4:
        return []
    others = a.others if a.others is not None else None
    if len(a.boxes) > 2:  # the boxes between name rivals too
        others = [*(others or []), *a.boxes[1:-1]]
    measure = {
        "purpose": "relate",
        "anchor_box": [float(v) for v in anchor],
        "target_box": [float(v) for v in target],
        "others": others,
    }
    seen = f"following the arrow from the region the question starts from leads to {a.answer}"
    return [Need("arrow", {"start": start, "end": end}, seen, measure=measure)]


def _name_target(a: Annotations, intent: Intent) -> list[Need]:
    label = a.answer.strip()
    if not label or len(label) > 64:
        return []
    if a.boxes:
        t = a.boxes[-1]
        size, position = min(t[2] - t[0], t[3] - t[1]), [t[0], max(0.0, t[1] - 4)]
    else:
        hit = [p for p in a.points if p.label.lower() == label.lower()]
        if not hit:
            return []
        p = hit[0]
        size = spacing(a.points) or 16.0
        position = [p.x + 4, max(0.0, p.y - 4)]
    seen = f'the label "{label}" is written beside the place the question asks about'
    params = {"position": [round(v, 2) for v in position], "text": label}
    return [Need("text_label", params, seen, size, None, {"purpose": "name"})]


BUILDERS: dict[str, Builder] = {
    "count": _count,
    "align": _align,
    "length": _length,
    "compare": _compare,
    "relate": _relate,
    "name": _name_target,
}
