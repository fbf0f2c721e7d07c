"""zoom: crop a box and magnify it (factor 1 is a plain crop). Token: manipulation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from PIL import Image

from atlas_data.config import Budget, Legibility
from atlas_data.ops.frame import Frame
from atlas_data.ops.geometry import box_around, centre, coverage, grow, long_side, short_side
from atlas_data.ops.params import MAX_OUTPUT_SIDE, Box, Number, check_box
from atlas_data.ops.spec import Match, MatchContext, Need, OpSpec, ProposeContext

FACTOR = Number(1, 8, default=2)
COVERAGE = 0.95  # share of the target a zoom must contain (the OCR judge's answer text too)
MIN_SIDE = 8  # px: a smaller region is no zoom
MARGIN = 0.1  # of the evidence's longest side (at least 4 px): context around what is read


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


def filling(box: Any, budget: Budget) -> dict[str, Any] | None:
    """A zoom on ``box`` (made integral) magnified to fill the budget, or ``None`` for a
    region under :data:`MIN_SIDE` px a side."""
    b = [math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3])]
    if short_side(b) < MIN_SIDE:
        return None
    factor = factor_for(b, min(budget.side, MAX_OUTPUT_SIDE) / long_side(b))
    return {"box": b, "factor": round(factor, 3)}


def complete(need: Need, ctx: MatchContext) -> list[Need]:
    """A zoom need from its evidence: the evidence with a margin, magnified to fill the
    budget. Parameters a source gave are kept."""
    if "box" in need.params or need.evidence is None:
        return [need]
    margin = max(4.0, MARGIN * long_side(need.evidence))
    params = filling(grow(need.evidence, margin, ctx.size), ctx.budget)
    if params is None:  # evidence of a pixel or two: zoom on it as it is
        params = {"box": [round(v) for v in need.evidence], "factor": FACTOR.schema["maximum"]}
    return [replace(need, params={**params, **need.params})]


def reframe(params: dict[str, Any], frame: Frame, size: tuple[int, int]) -> Frame:
    """A zoom's result is a new canvas: offset to its box, magnified by its factor."""
    box, f = params["box"], float(params.get("factor", 1))
    ox, oy = frame.origin
    origin = (ox + box[0] / frame.scale, oy + box[1] / frame.scale)
    return Frame(size, origin, frame.scale * f, frame.exact)


def variants(params: dict[str, Any], ctx: ProposeContext) -> list[dict[str, Any]]:
    """A loose zoom around the target and same-size zooms on the other objects (the scan
    over the whole image is a proposer of its own)."""
    box = params["box"]
    bw, bh = box[2] - box[0], box[3] - box[1]
    factor = float(params.get("factor", 2))
    cx, cy = centre(box)
    loose = box_around(cx, cy, bw * 3, bh * 3, ctx.size)
    out = [{"box": loose, "factor": factor_for(loose, factor)}]
    for obj in ctx.objects:
        ox, oy = centre(obj)
        b = box_around(ox, oy, bw, bh, ctx.size)
        out.append({"box": b, "factor": factor_for(b, factor)})
    return out


def zoom_scale(box: Any, factor: float, budget: Budget) -> float:
    """Budget pixels per source pixel in a zoom's result: magnified by ``factor``, then shown
    within the budget like any image. Above the canvas's own budget scale, more source
    pixels reach the trainee; upsampling past that adds size, never information."""
    out = (round((box[2] - box[0]) * factor), round((box[3] - box[1]) * factor))
    return factor * budget.scale(out)


def legibility(
    px: float, size: tuple[int, int], params: Mapping[str, Any], budget: Budget
) -> Legibility:
    """The legibility rule (:meth:`Budget.legibility`) for evidence ``px`` pixels tall on a
    canvas of ``size``, zoomed by ``params``: the one rule this spec's :func:`match` and the
    OCR judge both rule with."""
    zoomed = zoom_scale(params["box"], float(params.get("factor", 1)), budget)
    return budget.legibility(px, size, zoomed)


def evidence_box(need: Need) -> list[float]:
    return list(need.evidence or need.params["box"])


def evidence_px(need: Need) -> float:
    """How big the evidence is, in source pixels: its glyph height when the source knows
    it, else the short side of its region."""
    return float(need.detail_px or short_side(evidence_box(need)))


def match(params: dict[str, Any], need: Need, ctx: MatchContext) -> Match:
    """Helpful only when the box holds the evidence and the zoom makes it legible by the
    legibility rule (:func:`legibility`): from below what the trainee resolves at its budget
    (``reading_px``) to above it, :data:`~atlas_data.config.ZOOM_GAIN` times larger.
    Evidence already that large at the budget gains nothing from a zoom, however much it is
    magnified."""
    cand, target = params["box"], evidence_box(need)
    held = coverage(cand, target)
    seen = legibility(evidence_px(need), ctx.size, params, ctx.budget)
    before, after, reading = seen.before, seen.after, seen.reading_px
    ev: dict[str, Any] = {
        "coverage": round(held, 4),
        "evidence_px_at_budget_before": round(before, 2),
        "evidence_px_at_budget_after": round(after, 2),
        "reading_px": reading,
        "evidence_box": list(target),
    }
    ok = False
    if seen.legible:
        ev["why"] = "the evidence is already large enough at the budget"
    elif held < COVERAGE:
        ev["why"] = "the box misses part of the evidence"
    elif not seen.lifted:
        ev["why"] = "the evidence is still too small after the zoom"
    else:
        ok = True
        ev["seen"] = f"the region is {after / max(before, 1e-9):.1f} times larger than before"
    # Saturates for every good zoom: ties go to the tightest box (see explore's ranking).
    return Match(ok, round(held * min(1.0, after / reading), 2), ev)


SPEC = OpSpec(
    name="zoom",
    category="manipulation",
    meaning="Crop a box of the image and magnify it (factor 1 is a plain crop).",
    params={"box": Box(), "factor": FACTOR},
    apply=apply,
    describe=lambda p: f"zoom into a region, magnified x{float(p.get('factor', 1)):g}",
    intents=(
        "I will zoom into the region that holds the detail to see it more closely.",
        "Let me crop and magnify the area where that detail sits.",
        "Enlarging that part of the image will show the detail at a usable size.",
    ),
    reading_intents=(
        "I will zoom into the region that holds the text so it becomes legible.",
        "Let me crop and magnify the area where the writing is.",
        "I should enlarge that part of the image to read it properly.",
    ),
    match=match,
    variants=variants,
    complete=complete,
    reframe=reframe,
)
