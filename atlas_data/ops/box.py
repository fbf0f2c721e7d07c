"""box: draw a rectangle around a region to localise it. Token: shape."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.geometry import iou
from atlas_data.ops.params import COLOR, WIDTH, Box, check_box, check_color, stroke_width
from atlas_data.ops.spec import Match, MatchContext, Need, OpSpec, ProposeContext, purpose, ruled

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
# A change between two pictures over less than this share of one is missed by comparing
# them at a glance; a larger one is the first thing seen.
CHANGE_SHARE = 0.04
# Regions compared by eye: within 20 % of each other in size, and at least half a region's
# size apart (they cannot be laid side by side at a glance).
CLOSE = 0.8
APART = 0.5
RULES = {
    "compare": f"boxes help when the regions compared are within {1 - CLOSE:.0%} of each "
    f"other in size and at least {APART:g} of a region apart",
    "localise": "a box helps when the region is small at the budget (under twice the reading size)",
    "change": f"a box helps when the change covers under {CHANGE_SHARE:.0%} of the picture",
}


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


def helps(need: Need, ctx: MatchContext, image: Image.Image) -> Match | None:
    """Boxes help to compare regions that are alike and apart, or to pin down a small one."""
    m, kind = need.measure or {}, purpose(need)
    if kind == "compare":
        sizes = [float(v) for v in m["sizes_px"]]
        ratio = min(sizes) / max(max(sizes), 1e-9)
        gap = float(m["gap_px"]) / max(sum(sizes) / len(sizes), 1e-9)
        numbers = {"sizes_px": [round(v, 1) for v in sizes], "size_ratio": round(ratio, 3)}
        numbers["gap_in_sizes"] = round(gap, 2)
        why = (
            f"regions {ratio:.0%} alike in size" if ratio < CLOSE else "regions side by side"
        ) + " are compared at a glance"
        return ruled(ratio >= CLOSE and gap >= APART, RULES[kind], numbers, why, need.reveals)
    if kind == "change":
        share = float(m["image_share"])
        why = f"a change over {share:.1%} of the picture is seen at a glance"
        numbers = {"image_share": round(share, 4)}
        return ruled(share < CHANGE_SHARE, RULES[kind], numbers, why, need.reveals)
    if kind == "localise" and need.detail_px is not None:
        at_budget = round(need.detail_px * ctx.scale, 1)
        why = f"a region {at_budget} px across at the budget is found without a box"
        numbers = {"region_px_at_budget": at_budget}
        return ruled(ctx.small(need.detail_px), RULES[kind], numbers, why, need.reveals)
    return None


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
    helps=helps,
    purpose_intents={
        "compare": (
            "I will box each region so their sizes can be compared side by side.",
            "Let me outline each of the regions being compared.",
        ),
        "localise": ("The starting region is small, so I will box it first.",),
        "change": (
            "Comparing the two images, I will box the region that differs.",
            "Let me outline the part of this image that is not the same in the other.",
        ),
    },
)
