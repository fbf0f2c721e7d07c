"""contrast: enhance the contrast of the image or of one region, so faint marks or
low-contrast print stand out. Token: manipulation."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageEnhance

from atlas_data.ops.geometry import iou
from atlas_data.ops.params import Box, Number, check_box
from atlas_data.ops.spec import Match, MatchContext, Need, OpSpec, ProposeContext

FACTOR = Number(1, 4, default=2)  # 1 leaves the image as it is
FACTOR_TOL = 0.5
MIN_IOU = 0.5


def apply(img: Image.Image, factor: Any = FACTOR.default, box: Any = None) -> Image.Image:
    """Stretch contrast by ``factor``, over ``box`` only when one is given."""
    f = FACTOR.check(factor, "contrast factor")
    if box is None:
        return ImageEnhance.Contrast(img).enhance(f)
    x0, y0, x1, y1 = check_box(box, img)
    out = img.copy()
    out.paste(ImageEnhance.Contrast(img.crop((x0, y0, x1, y1))).enhance(f), (x0, y0))
    return out


def variants(params: dict[str, Any], ctx: ProposeContext) -> list[dict[str, Any]]:
    """Other strengths, the whole image instead of the region, and other regions."""
    f = float(params.get("factor", FACTOR.default))
    out: list[dict[str, Any]] = [{**params, "factor": x} for x in (1.25, 3.5) if abs(x - f) > 0.5]
    if "box" in params:
        out.append({"factor": f})
        out += [{**params, "box": [round(v) for v in obj]} for obj in ctx.objects]
    return out


def match(params: dict[str, Any], need: Need, ctx: MatchContext) -> Match:
    """Helpful when the strength is close to the needed one, over the needed region."""
    f_off = abs(float(params.get("factor", FACTOR.default)) - float(need.params.get("factor", 2)))
    ev: dict[str, Any] = {"factor_off": round(f_off, 3)}
    overlap = 1.0
    if "box" in need.params:
        overlap = iou(params["box"], need.params["box"]) if "box" in params else 0.0
        ev["iou"] = round(overlap, 4)
    ok = f_off <= FACTOR_TOL and overlap >= MIN_IOU
    return Match(ok, round(overlap * max(0.0, 1 - f_off / 3), 4), ev)


SPEC = OpSpec(
    name="contrast",
    category="manipulation",
    meaning="Enhance the contrast of the image, or of one region, so faint detail stands out.",
    params={"factor": FACTOR, "box": Box(required=False)},
    apply=apply,
    describe=lambda p: (
        f"enhance the contrast {'of a region' if 'box' in p else 'of the image'} "
        f"x{float(p.get('factor', FACTOR.default)):g}"
    ),
    intents=(
        "The detail is faint against its background, so I will raise the contrast.",
        "Let me enhance the contrast there so the faint marks stand out.",
        "Stronger contrast should make the washed-out part visible, so I apply it.",
    ),
    reading_intents=(
        "The writing is faint against its background, so I will raise the contrast.",
        "Stronger contrast should make the washed-out text legible, so I apply it.",
    ),
    match=match,
    variants=variants,
)
