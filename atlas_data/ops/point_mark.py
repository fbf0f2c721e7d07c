"""point_mark: mark and number points, e.g. the objects being counted. Token: text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.geometry import centre
from atlas_data.ops.params import COLOR, Param, Points, check_color, check_point, font
from atlas_data.ops.spec import (
    POINT_TOL,
    Match,
    MatchContext,
    Need,
    OpSpec,
    ProposeContext,
    purpose,
    ruled,
)

MAX_POINTS = 256
POINTS = Points(MAX_POINTS)
NUMBERED = Param({"type": "boolean", "default": True})
# Numbering starts here: a count over several images numbers on from the previous image.
FIRST = Param({"type": "integer", "minimum": 1, "default": 1})
GLANCE = 4  # objects seen at a glance (subitizing): past this, numbered marks keep the count
RULE = (
    f"numbered marks help a count of more than {GLANCE} objects, or of objects closer "
    "together than twice the reading size at the budget"
)


def apply(
    img: Image.Image, points: Any, color: Any = "red", numbered: Any = True, first: Any = 1
) -> Image.Image:
    """A dot on each point, numbered ``first``.. so the marks can be counted."""
    if not isinstance(points, Sequence) or isinstance(points, str) or not points:
        raise ValueError("points must be a non-empty list of [x, y]")
    if len(points) > MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS} points, got {len(points)}")
    pts = [check_point(p, img, f"points[{i}]") for i, p in enumerate(points)]
    rgb = check_color(color)
    if isinstance(first, bool) or not isinstance(first, int) or first < 1:
        raise ValueError(f"first must be a whole number from 1, got {first!r}")
    r = max(3, round(min(img.size) / 120))
    f = font(max(10, 3 * r))
    out = img.copy()
    d = ImageDraw.Draw(out)
    for i, (x, y) in enumerate(pts, start=first):
        d.ellipse((x - r, y - r, x + r, y + r), fill=rgb, outline=(255, 255, 255))
        if numbered:
            d.text(
                (x + r + 1, y - r - 1),
                str(i),
                fill=rgb,
                font=f,
                stroke_width=1,
                stroke_fill=(255, 255, 255),
            )
    return out


def variants(params: dict[str, Any], ctx: ProposeContext) -> list[dict[str, Any]]:
    """One point missed, and marks on other objects added: miscounts, both ways."""
    pts = [list(p) for p in params["points"]]
    out = []
    if len(pts) > 1:
        drop = ctx.rng.randrange(len(pts))
        out.append({**params, "points": pts[:drop] + pts[drop + 1 :]})
    extra = [centre(o) for o in list(ctx.objects)[:3]]
    if extra:
        out.append({**params, "points": pts + extra})
    return out


def match(params: dict[str, Any], need: Need, ctx: MatchContext) -> Match:
    """Helpful when every needed point is marked exactly once and nothing else is."""
    got, want = params["points"], need.params["points"]
    tol = POINT_TOL * ctx.diagonal
    unmatched = list(want)
    hits = 0
    for g in got:
        near = [w for w in unmatched if math.dist(g, w) <= tol]
        if near:
            unmatched.remove(min(near, key=lambda w: math.dist(g, w)))
            hits += 1
    extra = len(got) - hits
    ev = {"marked": len(got), "needed": len(want), "hits": hits, "extra": extra}
    score = hits / max(len(want), 1) - 0.5 * extra / max(len(want), 1)
    return Match(hits == len(want) and extra == 0, round(max(0.0, score), 4), ev)


def complete(need: Need, ctx: MatchContext) -> list[Need]:
    """Marks on objects too crowded to tell apart at the budget are placed after a zoom on
    them, when a zoom on them can spread them apart (a few crowded objects need the zoom
    alone)."""
    if purpose(need) != "count" or need.detail_px is None or need.evidence is None:
        return [need]
    from atlas_data.ops import zoom

    n = len(need.params["points"])
    reveals = f"the {n} objects appear large enough to tell apart"
    (first,) = zoom.complete(Need("zoom", {}, reveals, need.detail_px, need.evidence), ctx)
    if not zoom.match(first.params, first, ctx).ok:  # not crowded, or no zoom spreads them
        return [need]
    return [first, need] if n > GLANCE else [first]


def helps(need: Need, ctx: MatchContext, image: Image.Image) -> Match | None:
    """Marks help past what is seen at a glance, or on objects small at the budget."""
    if purpose(need) != "count":
        return None
    n = int((need.measure or {}).get("count") or len(need.params["points"]))  # all images'
    spacing = need.detail_px
    at_budget = round(spacing * ctx.scale, 2) if spacing is not None else None
    crowded = spacing is not None and ctx.small(spacing)
    numbers = {"count": n, "glance": GLANCE, "spacing_px_at_budget": at_budget}
    why = f"{n} objects, {at_budget} px apart at the budget, are counted at a glance"
    return ruled(n > GLANCE or crowded, RULE, numbers, why, need.reveals)


SPEC = OpSpec(
    name="point_mark",
    category="text",
    meaning="Mark and number one or more points, e.g. the objects being counted.",
    params={"points": POINTS, "color": COLOR, "numbered": NUMBERED, "first": FIRST},
    apply=apply,
    describe=lambda p: "put a numbered mark on each matching object",
    intents=(
        "I will mark and number each matching object so none is missed or counted twice.",
        "Let me put a numbered mark on every object that matches.",
        "Numbering the matching objects one by one will give a reliable count.",
    ),
    match=match,
    variants=variants,
    complete=complete,
    helps=helps,
)
