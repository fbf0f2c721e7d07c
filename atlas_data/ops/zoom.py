"""zoom: crop a box and magnify it (factor 1 is a plain crop). Token: manipulation."""

from __future__ import annotations

from typing import Any

from PIL import Image

from atlas_data.ops.params import MAX_OUTPUT_SIDE, Box, Number, check_box
from atlas_data.ops.spec import Match, MatchContext, Need, OpSpec, ProposeContext, centre

FACTOR = Number(1, 8, default=2)
COVERAGE = 0.95  # share of the target a zoom must contain
GAIN = 1.25  # the target must look at least this much larger at the budget than before


def apply(img: Image.Image, box: Any, factor: Any = FACTOR.default) -> Image.Image:
    x0, y0, x1, y1 = check_box(box, img)
    f = FACTOR.check(factor, "zoom factor")
    out_w, out_h = round((x1 - x0) * f), round((y1 - y0) * f)
    if max(out_w, out_h) > MAX_OUTPUT_SIDE:
        raise ValueError(
            f"zoom output {out_w}x{out_h} exceeds {MAX_OUTPUT_SIDE}px; use a smaller box or factor"
        )
    crop = img.crop((x0, y0, x1, y1))
    if (out_w, out_h) == crop.size:
        return crop
    return crop.resize((out_w, out_h), Image.Resampling.LANCZOS)


def factor_for(box: list[int], want: float) -> float:
    """``want``, lowered so the output stays within the limits."""
    longest = max(box[2] - box[0], box[3] - box[1], 1)
    return float(max(1.0, min(want, FACTOR.schema["maximum"], MAX_OUTPUT_SIDE / longest)))


def clamp_box(cx: float, cy: float, w: float, h: float, size: tuple[int, int]) -> list[int]:
    """A ``w`` x ``h`` box centred on (cx, cy), moved inside the image."""
    w, h = min(w, size[0]), min(h, size[1])
    x0 = min(max(0.0, cx - w / 2), size[0] - w)
    y0 = min(max(0.0, cy - h / 2), size[1] - h)
    return [round(x0), round(y0), round(x0 + w), round(y0 + h)]


def grid(size: tuple[int, int], rows: int = 3, cols: int = 3) -> list[dict[str, Any]]:
    """Half-overlapping tiles at factor 2: the saliency-free scan every image gets."""
    w, h = size
    tw, th = w / cols, h / rows
    out = []
    for r in range(rows):
        for c in range(cols):
            b = clamp_box((c + 0.5) * tw, (r + 0.5) * th, tw * 1.5, th * 1.5, size)
            out.append({"box": b, "factor": factor_for(b, 2.0)})
    return out


def variants(params: dict[str, Any], ctx: ProposeContext) -> list[dict[str, Any]]:
    """A loose zoom around the target, the grid scan, and same-size zooms on other objects."""
    box = params["box"]
    bw, bh = box[2] - box[0], box[3] - box[1]
    factor = float(params.get("factor", 2))
    cx, cy = centre(box)
    loose = clamp_box(cx, cy, bw * 3, bh * 3, ctx.size)
    out = [{"box": loose, "factor": factor_for(loose, factor)}, *grid(ctx.size)]
    for obj in ctx.objects:
        ox, oy = centre(obj)
        b = clamp_box(ox, oy, bw, bh, ctx.size)
        out.append({"box": b, "factor": factor_for(b, factor)})
    return out


def _area(b: Any) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _intersection(a: Any, b: Any) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def budget_scale(size: tuple[int, int], max_side: int) -> float:
    """How much an image of ``size`` shrinks when shown within ``max_side``."""
    return min(1.0, max_side / max(size))


def match(params: dict[str, Any], need: Need, ctx: MatchContext) -> Match:
    """Helpful when the box holds the target and makes it readable at the trainee's budget."""
    cand, target = params["box"], need.params["box"]
    coverage = _intersection(cand, target) / max(_area(target), 1e-9)
    factor = float(params.get("factor", 1))
    target_px = float(need.text_height or min(target[2] - target[0], target[3] - target[1]))
    out_size = (round((cand[2] - cand[0]) * factor), round((cand[3] - cand[1]) * factor))
    seen_before = target_px * budget_scale(ctx.size, ctx.max_side)
    seen_after = target_px * factor * budget_scale(out_size, ctx.max_side)
    ev: dict[str, Any] = {
        "coverage": round(coverage, 4),
        "target_px_at_budget_before": round(seen_before, 2),
        "target_px_at_budget_after": round(seen_after, 2),
        "readable_px": ctx.readable_px,
    }
    readable = seen_after >= ctx.readable_px
    ok = coverage >= COVERAGE and readable and seen_after > seen_before * GAIN
    if not readable:
        ev["why"] = "target still too small after the zoom"
    elif coverage < COVERAGE:
        ev["why"] = "box misses part of the target"
    score = coverage * min(1.0, seen_after / ctx.readable_px)
    # Prefer tight zooms: a box that is mostly target beats one that is mostly background.
    tight = _area(target) / max(_area(cand), 1e-9)
    return Match(ok, round(0.8 * score + 0.2 * min(1.0, tight * 4), 4), ev)


SPEC = OpSpec(
    name="zoom",
    category="manipulation",
    meaning="Crop a box of the image and magnify it (factor 1 is a plain crop).",
    params={"box": Box(), "factor": FACTOR},
    apply=apply,
    describe=lambda p: f"zoom into a region, magnified x{float(p.get('factor', 1)):g}",
    intents=(
        "I will zoom into the region that holds the detail so it becomes legible.",
        "Let me crop and magnify the area where that detail sits.",
        "I should enlarge that part of the image to read it properly.",
    ),
    match=match,
    variants=variants,
)
