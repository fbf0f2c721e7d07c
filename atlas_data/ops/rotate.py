"""rotate: turn the image so that sideways or upside-down content reads upright.
Token: manipulation."""

from __future__ import annotations

import math
from typing import Any

from PIL import Image

from atlas_data.ops.frame import inexact_frame
from atlas_data.ops.params import MAX_OUTPUT_SIDE, Number
from atlas_data.ops.spec import Match, MatchContext, Need, OpSpec, ProposeContext

ANGLE = Number(-180, 180, required=True)  # degrees, counter-clockwise
QUARTER_TURNS = {
    90.0: Image.Transpose.ROTATE_90,
    180.0: Image.Transpose.ROTATE_180,
    -180.0: Image.Transpose.ROTATE_180,
    -90.0: Image.Transpose.ROTATE_270,
}
ANGLE_TOL_DEG = 5.0
FILL = (255, 255, 255)


def apply(img: Image.Image, angle: Any) -> Image.Image:
    """Rotate by ``angle`` degrees counter-clockwise; the canvas grows to keep every pixel."""
    a = ANGLE.check(angle, "rotation angle")
    if a == 0:
        return img.copy()
    if a in QUARTER_TURNS:  # exact quarter turns: lossless, no resampling
        return img.transpose(QUARTER_TURNS[a])
    rad = math.radians(a)
    w, h = img.size
    out_w = abs(w * math.cos(rad)) + abs(h * math.sin(rad))
    out_h = abs(w * math.sin(rad)) + abs(h * math.cos(rad))
    if max(out_w, out_h) > MAX_OUTPUT_SIDE:
        raise ValueError(
            f"rotated output {out_w:.0f}x{out_h:.0f} exceeds {MAX_OUTPUT_SIDE}px; zoom first"
        )
    return img.rotate(a, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=FILL)


def _off(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def variants(params: dict[str, Any], ctx: ProposeContext) -> list[dict[str, Any]]:
    """The other quarter turns and the opposite direction: each leaves the content askew."""
    a = float(params["angle"])
    angles = {90.0, -90.0, 180.0, -a}
    return [{"angle": x} for x in sorted(angles) if _off(x, a) > ANGLE_TOL_DEG]


def match(params: dict[str, Any], need: Need, ctx: MatchContext) -> Match:
    """Helpful when it turns by the needed angle (within a few degrees)."""
    off = _off(float(params["angle"]), float(need.params["angle"]))
    score = round(max(0.0, 1 - off / 90), 4)
    return Match(off <= ANGLE_TOL_DEG, score, {"angle_off_deg": round(off, 2)})


def _describe(p: dict[str, Any]) -> str:
    a = float(p.get("angle", 0))
    way = "counter-clockwise" if a >= 0 else "clockwise"
    return f"rotate the image {abs(a):g} degrees {way}"


SPEC = OpSpec(
    name="rotate",
    category="manipulation",
    meaning="Rotate the image so sideways or upside-down content reads upright.",
    params={"angle": ANGLE},
    apply=apply,
    describe=_describe,
    intents=(
        "The content is turned on its side, so I will rotate the image upright.",
        "Let me rotate the image so that it is the right way up.",
        "Turning the image upright will make this much easier to make out.",
    ),
    reading_intents=(
        "The text runs sideways, so I will rotate the image until it reads normally.",
        "Turning the image upright will make the writing much easier to read.",
    ),
    match=match,
    variants=variants,
    reframe=inexact_frame,
)
