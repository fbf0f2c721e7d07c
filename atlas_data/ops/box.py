"""box: draw a rectangle around a region to localise it. Token: shape."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.geometry import iou
from atlas_data.ops.params import COLOR, WIDTH, Box, check_box, check_color, stroke_width
from atlas_data.ops.spec import Match, MatchContext, Need, OpSpec, ProposeContext

MIN_IOU = 0.5


def apply(img: Image.Image, box: Any, color: Any = "red", width: Any = None) -> Image.Image:
    x0, y0, x1, y1 = check_box(box, img)
    rgb, w = check_color(color), stroke_width(width, img)
    out = img.copy()
    ImageDraw.Draw(out).rectangle((x0, y0, x1 - 1, y1 - 1), outline=rgb, width=w)
    return out


def variants(params: dict[str, Any], ctx: ProposeContext) -> list[dict[str, Any]]:
    """The same box on every other salient object."""
    return [{**params, "box": [round(v) for v in obj]} for obj in ctx.objects]


MAX_SHARE = 0.5  # a box over more of the image than this localises nothing


def match(params: dict[str, Any], need: Need, ctx: MatchContext) -> Match:
    """Helpful when it overlaps the needed region and is a localisation at all."""
    b = params["box"]
    share = (b[2] - b[0]) * (b[3] - b[1]) / max(1, ctx.size[0] * ctx.size[1])
    overlap = iou(b, need.params["box"])
    ev: dict[str, Any] = {"iou": round(overlap, 4), "image_share": round(share, 3)}
    if share > MAX_SHARE:
        ev["why"] = "a box over most of the image localises nothing"
        return Match(False, 0.0, ev)
    return Match(overlap >= MIN_IOU, round(overlap, 4), ev)


SPEC = OpSpec(
    name="box",
    category="shape",
    meaning="Draw a rectangle around a region to localise it.",
    params={"box": Box(), "color": COLOR, "width": WIDTH},
    apply=apply,
    describe=lambda p: "draw a box around a region",
    intents=(
        "I will draw a box around the region that stands out to localise it.",
        "Let me outline the candidate region so its position is unambiguous.",
        "Boxing that region will pin down exactly where it is.",
    ),
    match=match,
    variants=variants,
)
