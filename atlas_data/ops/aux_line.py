"""aux_line: draw an auxiliary straight line between two points. Token: line."""

from __future__ import annotations

import math
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops import spec
from atlas_data.ops.geometry import centre
from atlas_data.ops.lines import line_ends
from atlas_data.ops.params import COLOR, WIDTH, Point, check_color, stroke_width
from atlas_data.ops.spec import Match, MatchContext, Need, OpSpec, purpose, ruled

# Differences the eye cannot settle: a height difference under 5 % of the distance between
# the points (about 3 degrees of slope), or two lengths within 10 % of each other.
ALIGN = 0.05
LENGTH = 0.10
RULES = {
    "align": f"a line helps when the offset to judge is under {ALIGN:.0%} of the distance "
    "between the points",
    "length": f"lines help when the lengths compared differ by under {LENGTH:.0%}",
}


def apply(
    img: Image.Image, start: Any, end: Any, color: Any = "red", width: Any = None
) -> Image.Image:
    a, b = line_ends(img, start, end)
    rgb, w = check_color(color), stroke_width(width, img)
    out = img.copy()
    ImageDraw.Draw(out).line([a, b], fill=rgb, width=w)
    return out


def variants(params: dict[str, Any], ctx: spec.ProposeContext) -> list[dict[str, Any]]:
    """Lines from the same start to each other object: plausible, wrong constructions."""
    start = params["start"]
    return [
        {**params, "end": centre(obj)} for obj in ctx.objects if math.dist(start, centre(obj)) >= 2
    ]


def match(params: dict[str, Any], need: spec.Need, ctx: spec.MatchContext) -> spec.Match:
    """Helpful when both ends are near the needed ends (either way round)."""
    p, q = params, need.params
    d_same = math.dist(p["start"], q["start"]) + math.dist(p["end"], q["end"])
    d_swap = math.dist(p["start"], q["end"]) + math.dist(p["end"], q["start"])
    err = min(d_same, d_swap) / 2 / ctx.diagonal
    score = round(max(0.0, 1 - err / (4 * spec.POINT_TOL)), 4)
    return spec.Match(err <= spec.POINT_TOL, score, {"endpoint_err": round(err, 4)})


def helps(need: Need, ctx: MatchContext, image: Image.Image) -> Match | None:
    """A line helps when the difference it settles is small against the distance."""
    m, kind = need.measure or {}, purpose(need)
    if kind == "align":
        offset, span = float(m["offset_px"]), max(float(m["span_px"]), 1e-9)
        ratio = offset / span
        numbers: dict[str, Any] = {"offset_px": round(offset, 1), "span_px": round(span, 1)}
        numbers["ratio"] = round(ratio, 4)
        why = f"a {offset:.0f} px offset over {span:.0f} px is plain without a line"
        return ruled(ratio < ALIGN, RULES[kind], numbers, why, need.reveals)
    if kind == "length":
        lengths = [float(v) for v in m["lengths"]]
        ratio = (max(lengths) - min(lengths)) / max(max(lengths), 1e-9)
        numbers = {"lengths_px": [round(v, 1) for v in lengths], "ratio": round(ratio, 4)}
        why = f"lengths differing by {ratio:.0%} are plain without lines"
        return ruled(ratio < LENGTH, RULES[kind], numbers, why, need.reveals)
    return None


SPEC = OpSpec(
    name="aux_line",
    category="line",
    meaning="Draw an auxiliary straight line between two points.",
    params={"start": Point(), "end": Point(), "color": COLOR, "width": WIDTH},
    apply=apply,
    describe=lambda p: "draw an auxiliary line between two points",
    intents=(
        "I will draw an auxiliary line between the two points to check the geometry.",
        "Let me connect the two points with a straight line.",
        "A straight segment between the points will make this clear, so I draw it.",
    ),
    match=match,
    variants=variants,
    helps=helps,
    purpose_intents={
        "align": (
            "I will draw a straight line through the first point, towards the other one, to "
            "see exactly where the other lies.",
            "Let me extend a straight line from one point to compare their positions.",
        ),
        "length": (
            "I will draw each segment so that their lengths can be compared.",
            "Let me trace the segments with straight lines to measure them.",
        ),
    },
)
