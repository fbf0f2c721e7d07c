"""arrow: draw an arrow from one point towards another to follow a direction. Token: arrow."""

from __future__ import annotations

import math
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops import spec
from atlas_data.ops.aux_line import variants as line_variants
from atlas_data.ops.lines import line_ends
from atlas_data.ops.params import COLOR, WIDTH, Number, Point, check_color, stroke_width
from atlas_data.ops.spec import OpSpec

HEAD = Number(2, 128)
ANGLE_TOL_DEG = 8.0


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
)
