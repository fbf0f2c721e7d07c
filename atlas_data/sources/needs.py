"""Needs from a record's annotations and its question's intent (or from a model's pointing).

What to draw follows from what the question asks (:mod:`atlas_data.sources.intent`) and
what the record marks:

- counting, with points: numbered marks on the points (a zoom first when they are crowded
  at the budget: the marks' spec decides that);
- alignment, height or collinearity, with labelled points: an auxiliary line through the
  first point, level (or plumb, or along the first two points), reaching the other;
- lengths, with three or four points: a line along each segment;
- comparing regions, with two or more boxes: a box around each;
- a change between images, with a box in one of them: a box around the change;
- a relation from an anchor, with two or more boxes: an arrow from the first box (the
  anchor) to the last (the target), after a box on the anchor when it is small;
- naming, with boxes or labelled points: the label written beside the target;
- anything else with boxes: a zoom (or, with ``bbox_op=box``, a box) on the last box.

Explore tries these in turn (:func:`need_chains`): when the phrasing names no kind the
annotations serve, every drawing they allow is tried, so a paraphrase loses nothing. With
several images, each annotation names its image and a count runs over all of them
(:func:`sample_chains`).

With several boxes, the last is where the answer lies and the earlier ones are what the
question refers to. Every need carries a ``measure`` (its purpose and numbers) so that the
operation's help rule can prove, or refuse, it at the budget; what its result shows is
written into ``reveals`` from the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from atlas_data.ops.geometry import centre, grow, union
from atlas_data.ops.spec import Need
from atlas_data.rejections import Rejection
from atlas_data.sources.intent import KINDS, Intent


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
    images: int = 1  # how many images the sample shows (a change is between images)


Builder = Callable[[Annotations, Intent], list[Need]]


def annotated_needs(a: Annotations, intent: Intent, bbox_op: str = "zoom") -> list[Need]:
    """The needs of the first intent kind the annotations can serve; else a zoom (or box)
    on the region the answer lies in. Raises :class:`Rejection` on inconsistent ones."""
    chains = need_chains(a, intent, bbox_op)
    return chains[0] if chains else []


def need_chains(
    a: Annotations, intent: Intent, bbox_op: str = "zoom", kinds: Sequence[str] = KINDS
) -> list[list[Need]]:
    """Every chain of needs the annotations allow, in the order the question's intent
    gives: the first of its kinds they serve, then a look at the region the answer lies in
    (the last box). When the intent names nothing the annotations can serve (a phrasing no
    pattern knows), each drawing the annotations allow follows (numbered marks when the
    answer is their count, a line through two points, boxes on two regions, an arrow from
    the first box to the last): each need's help rule at the budget decides, so a
    paraphrase loses no operation. A question whose own kind was served and refused by its
    rule is not given another drawing: the annotations then say no drawing helps it. A
    change between images, and a label that writes the answer, are drawn only when asked
    for. Raises :class:`Rejection` on annotations inconsistent with what the question
    asks."""
    asked = (BUILDERS[kind](a, intent) for kind in intent.kinds if kind in kinds)
    served = next((chain for chain in asked if chain), [])  # the first kind they serve
    chains = [served]
    if a.boxes:
        target = a.boxes[-1]
        if bbox_op == "box":
            chains.append([Need("box", {"box": [round(v) for v in target]})])
        else:
            chains.append([Need("zoom", {}, evidence=[float(v) for v in target])])
    if not served:
        counted = a.answer.strip() == str(len(a.points))  # marks only when they are the answer
        for kind in kinds:
            if kind in UNASKED and (kind != "count" or counted):
                try:
                    chains.append(BUILDERS[kind](a, intent))
                except Rejection:  # inconsistent only with a question that does not ask it
                    continue
    out: list[list[Need]] = []
    for chain in chains:
        if chain and chain not in out:
            out.append(chain)
    return out


def sample_chains(
    per_image: Sequence[Annotations | None], intent: Intent, bbox_op: str = "zoom"
) -> list[list[Need]]:
    """The chains of needs of a sample of one or several images (``None``: an image with
    nothing annotated), each need naming its image. Several images: a count runs over
    every image's points (numbered on from one image to the next, its help rule weighing
    the whole count); otherwise each image's chain, in image order."""
    marked = [(k, a) for k, a in enumerate(per_image) if a is not None]
    if len(per_image) == 1:
        return need_chains(marked[0][1], intent, bbox_op) if marked else []
    counted = _count_across(marked, intent)
    each = tuple(k for k in KINDS if k != "count")  # a count runs over every image
    per = [[_on(c, k) for c in need_chains(a, intent, bbox_op, each)] for k, a in marked]
    per = [chains for chains in per if chains]
    if not per:
        return [counted] if counted else []
    depth = max(len(chains) for chains in per)
    combos = [[n for chains in per for n in chains[min(r, len(chains) - 1)]] for r in range(depth)]
    out = [counted] if counted else []
    for chain in combos:
        if chain not in out:
            out.append(chain)
    return out


def _on(chain: list[Need], image: int) -> list[Need]:
    return [replace(n, image=image) for n in chain]


def _count_across(marked: Sequence[tuple[int, Annotations]], intent: Intent) -> list[Need]:
    """Numbered marks on each image's points, numbering on across images, when the
    question counts (or its answer is the number of points over every image)."""
    points = [(k, a) for k, a in marked if a.points]
    total = sum(len(a.points) for _, a in points)
    if not total:
        return []
    answer = marked[0][1].answer.strip()
    if "count" not in intent.kinds and answer != str(total):
        return []
    if "count" in intent.kinds and answer.isdigit() and int(answer) != total:
        raise Rejection("bad_points", f"{total} points over the images for the count {answer!r}")
    out, first = [], 1
    for k, a in points:
        (need,) = _count(replace(a, answer=""), intent)
        measure = {**(need.measure or {}), "count": total}
        params = {**need.params, **({"first": first} if first > 1 else {})}
        n, last = len(a.points), first + len(a.points) - 1
        seen = f"marks {first} to {last} sit on the {n} objects counted in image {k + 1}"
        out.append(replace(need, params=params, reveals=seen, measure=measure, image=k))
        first = last + 1
    return out


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


def _change(a: Annotations, intent: Intent) -> list[Need]:
    """Between images, a box around each region that changed (its help rule: the change
    covers little of the picture, so comparing the images by eye misses it)."""
    if a.images < 2 or not a.boxes:
        return []
    area = max(1.0, float(a.size[0] * a.size[1]))
    out = []
    for b in a.boxes:
        share = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1]) / area
        measure = {"purpose": "change", "image_share": round(share, 4)}
        seen = "the region that differs from the other image is boxed"
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


# The drawings annotations call for even when the question's phrasing is not recognised.
UNASKED = ("count", "align", "length", "compare", "relate")

BUILDERS: dict[str, Builder] = {
    "count": _count,
    "change": _change,
    "align": _align,
    "length": _length,
    "compare": _compare,
    "relate": _relate,
    "name": _name_target,
}
