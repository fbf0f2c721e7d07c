"""arrow: draw an arrow from one point towards another to follow a direction. Token: arrow."""

from __future__ import annotations

import math
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops import spec
from atlas_data.ops.aux_line import variants as line_variants
from atlas_data.ops.geometry import centre, grow, intersection, short_side
from atlas_data.ops.lines import line_ends
from atlas_data.ops.params import COLOR, WIDTH, Number, Point, check_color, stroke_width
from atlas_data.ops.spec import Need, OpSpec, purpose, ruled

HEAD = Number(2, 128)
ANGLE_TOL_DEG = 8.0
NEAR = 1.5  # x the anchor-target distance: how far from the anchor a rival thing counts
RULE = (
    f"an arrow helps when something besides the target lies within {NEAR:g} times the "
    "target's distance from the anchor (the target is not the only candidate)"
)


def apply(
    img: Image.Image,
    start: Any,
    end: Any,
    color: Any = "red",
    width: Any = None,
    head: Any = None,
) -> Image.Image:
    """The head is bounded by half the shaft length."""
    a, b = line_ends(img, start, end)
    rgb, w = check_color(color), stroke_width(width, img)
    size = HEAD.check(head, "arrow head") if head is not None else max(6.0, 4.0 * w)
    size = min(size, math.dist(a, b) / 2)
    ang = math.atan2(b[1] - a[1], b[0] - a[0])
    left = (b[0] - size * math.cos(ang - 0.45), b[1] - size * math.sin(ang - 0.45))
    right = (b[0] - size * math.cos(ang + 0.45), b[1] - size * math.sin(ang + 0.45))
    shaft_end = (b[0] - 0.8 * size * math.cos(ang), b[1] - 0.8 * size * math.sin(ang))
    out = img.copy()
    d = ImageDraw.Draw(out)
    d.line([a, shaft_end], fill=rgb, width=w)
    d.polygon([b, left, right], fill=rgb)
    return out


def variants(params: dict[str, Any], ctx: spec.ProposeContext) -> list[dict[str, Any]]:
    """Arrows towards the other objects, and the reversed arrow (a classic distractor)."""
    reverse = {**params, "start": params["end"], "end": params["start"]}
    return [*line_variants(params, ctx), reverse]


def _heading(p: dict[str, Any]) -> float:
    return math.atan2(p["end"][1] - p["start"][1], p["end"][0] - p["start"][0])


def match(params: dict[str, Any], need: spec.Need, ctx: spec.MatchContext) -> spec.Match:
    """An arrow has a direction: its start must be near the needed start, its heading close."""
    off = abs((math.degrees(_heading(params) - _heading(need.params)) + 180) % 360 - 180)
    start_err = spec.point_error(params["start"], need.params["start"], ctx)
    ok = off <= ANGLE_TOL_DEG and start_err <= spec.POINT_TOL
    score = max(0.0, 1 - off / 90) * max(0.0, 1 - start_err / (4 * spec.POINT_TOL))
    ev = {"angle_off_deg": round(off, 2), "start_err": round(start_err, 4)}
    return spec.Match(ok, round(score, 4), ev)


def complete(need: Need, ctx: spec.MatchContext) -> list[Need]:
    """An anchor too small to make out at the budget is boxed before the arrow leaves it."""
    anchor = (need.measure or {}).get("anchor_box")
    if purpose(need) != "relate" or not anchor or not ctx.small(short_side(anchor)):
        return [need]
    reveals = "the small region the question starts from is boxed"
    measure = {"purpose": "localise"}
    return [Need("box", {"box": list(anchor)}, reveals, short_side(anchor), None, measure), need]


def helps(need: Need, ctx: spec.MatchContext, image: Image.Image) -> spec.Match | None:
    """An arrow helps when the target is not the only thing near its anchor. The rivals are
    the record's other annotated regions, or, when it lists none, things found in the
    pixels (:mod:`atlas_data.ops.blobs`)."""
    if purpose(need) != "relate":
        return None
    m = need.measure or {}
    start, end = need.params["start"], need.params["end"]
    # from the anchor's centre to the target's (the arrow runs edge to edge)
    here = centre(m["anchor_box"]) if m.get("anchor_box") else start
    there = centre(m["target_box"]) if m.get("target_box") else end
    radius = NEAR * math.dist(here, there)
    listed = m.get("others")
    if listed is None:
        from atlas_data.ops.blobs import blobs

        # things that are neither the anchor nor the target
        ends = [m.get("anchor_box") or [*start, *start], m.get("target_box") or [*end, *end]]
        mine = [grow(b, 3, (10**9, 10**9)) for b in ends]
        listed = [b for b in blobs(image) if not any(intersection(b, e) > 0 for e in mine)]
    near = [b for b in listed if math.dist(here, centre(b)) <= radius]
    source = "annotations" if m.get("others") is not None else "pixels"
    numbers = {"others_near": len(near), "radius_px": round(radius, 1), "counted_from": source}
    why = "the target is the only thing near the anchor"
    return ruled(bool(near), RULE, numbers, why, need.reveals)


SPEC = OpSpec(
    name="arrow",
    category="arrow",
    meaning="Draw an arrow from one point towards another to follow a direction.",
    params={"start": Point(), "end": Point(), "color": COLOR, "width": WIDTH, "head": HEAD},
    apply=apply,
    describe=lambda p: "draw an arrow from one place towards another",
    intents=(
        "I will extend the direction it indicates with an arrow to see where it leads.",
        "Let me draw an arrow along the indicated direction.",
        "Following the direction is easier with an explicit arrow, so I draw one.",
    ),
    match=match,
    variants=variants,
    complete=complete,
    helps=helps,
    purpose_intents={
        "relate": (
            "I will draw an arrow from where the question starts to the nearest candidate.",
            "Let me trace the relation with an arrow from the starting region.",
        ),
    },
)
