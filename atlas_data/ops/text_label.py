"""text_label: write a short label (a name, a length) at a position. Token: text."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.geometry import centre
from atlas_data.ops.params import COLOR, Param, Point, check_color, check_point, font
from atlas_data.ops.spec import (
    POINT_TOL,
    Match,
    MatchContext,
    Need,
    OpSpec,
    ProposeContext,
    point_error,
    purpose,
    ruled,
)

TEXT = Param({"type": "string", "minLength": 1, "maxLength": 64}, True)
RULE = (
    "a label helps name a region or point that is small at the budget (under twice the "
    "reading size)"
)


def apply(img: Image.Image, position: Any, text: Any, color: Any = "red") -> Image.Image:
    """The label's top-left corner is at ``position``."""
    x, y = check_point(position, img, "position")
    TEXT.check(text, "label text")
    if not text.strip() or not text.isprintable():
        raise ValueError(f"label text must be printable and not blank, got {text!r}")
    rgb = check_color(color)
    out = img.copy()
    size = max(12, round(min(img.size) / 30))
    ImageDraw.Draw(out).text(
        (x, y), text, fill=rgb, font=font(size), stroke_width=1, stroke_fill=(255, 255, 255)
    )
    return out


def variants(params: dict[str, Any], ctx: ProposeContext) -> list[dict[str, Any]]:
    """The same label written on the other objects, and beside the needed place."""
    x, y = params["position"]
    step = 0.1 * min(ctx.size)
    out = [{**params, "position": centre(o)} for o in list(ctx.objects)[:3]]
    return out + [{**params, "position": [min(x + step, ctx.size[0] - 1), max(y - step, 0)]}]


def match(params: dict[str, Any], need: Need, ctx: MatchContext) -> Match:
    """Helpful when it writes the needed text near the needed place."""
    err = point_error(params["position"], need.params["position"], ctx)
    same = str(params.get("text", "")).strip() == str(need.params.get("text", "")).strip()
    ev = {"position_err": round(err, 4), "text_matches": same}
    return Match(same and err <= POINT_TOL, round(float(same) * max(0.0, 1 - err), 4), ev)


def helps(need: Need, ctx: MatchContext, image: Image.Image) -> Match | None:
    """A label helps name what is too small at the budget to be named by looking."""
    if purpose(need) != "name" or need.detail_px is None:
        return None
    at_budget = round(need.detail_px * ctx.scale, 1)
    why = f"a region {at_budget} px across at the budget is named by looking at it"
    numbers = {"region_px_at_budget": at_budget}
    return ruled(ctx.small(need.detail_px), RULE, numbers, why, need.reveals)


SPEC = OpSpec(
    name="text_label",
    category="text",
    meaning="Write a short label (a name, a length) at a position.",
    params={"position": Point(), "text": TEXT, "color": COLOR},
    apply=apply,
    describe=lambda p: "write a label on the image",
    intents=(
        "I will write a label on the image to keep track of this.",
        "Let me annotate the image with a short label.",
    ),
    match=match,
    variants=variants,
    helps=helps,
    purpose_intents={
        "name": ("I will write the name beside the small place the question asks about.",),
    },
)
