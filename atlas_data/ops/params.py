"""Parameter kinds of visual operations: each one validates a value *and* writes its own
JSON Schema, so an operation's limits are stated once, in its spec, and the vocabulary's
schema (``schemas/functional_tokens.json``) is generated from the very objects that check.

Coordinates are pixels of the *source* image; every check raises ``ValueError`` with a
message that says what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image, ImageColor, ImageFont

MIN_BOX_SIDE = 2
MAX_OUTPUT_SIDE = 4096  # no operation may produce a larger image


def number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    f = float(value)
    if not math.isfinite(f):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return f


def check_point(p: Any, img: Image.Image, what: str = "point") -> tuple[float, float]:
    if not isinstance(p, Sequence) or isinstance(p, str) or len(p) != 2:
        raise ValueError(f"{what} must be [x, y], got {p!r}")
    x, y = number(p[0], f"{what}.x"), number(p[1], f"{what}.y")
    w, h = img.size
    if not (0 <= x <= w and 0 <= y <= h):
        raise ValueError(f"{what} {[x, y]} lies outside the {w}x{h} image")
    return x, y


def check_box(b: Any, img: Image.Image) -> tuple[int, int, int, int]:
    """A box inside the image, at least MIN_BOX_SIDE pixels each way, as integer pixels."""
    if not isinstance(b, Sequence) or isinstance(b, str) or len(b) != 4:
        raise ValueError(f"box must be [x0, y0, x1, y1], got {b!r}")
    x0, y0, x1, y1 = (number(v, "box coordinate") for v in b)
    w, h = img.size
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ValueError(f"box {[x0, y0, x1, y1]} is not an ordered box inside the {w}x{h} image")
    box = (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))
    if box[2] - box[0] < MIN_BOX_SIDE or box[3] - box[1] < MIN_BOX_SIDE:
        raise ValueError(f"box {list(box)} is smaller than {MIN_BOX_SIDE}px on a side")
    return box


def check_color(color: Any) -> tuple[int, int, int]:
    try:
        rgb = ImageColor.getrgb(color)
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"unknown colour {color!r}") from exc
    return rgb[0], rgb[1], rgb[2]


@lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font: the same glyphs on every machine, no system fonts needed."""
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class Param:
    """One parameter: its JSON Schema and (for scalars) its range check."""

    schema: dict[str, Any]
    required: bool = False
    coords: str = ""  # "point", "box" or "points": image coordinates, mapped between frames

    def check(self, value: Any, what: str) -> Any:
        """Range-check a scalar against the schema's own limits; shapes are checked by
        the operation (they need the image)."""
        kind = self.schema.get("type")
        if kind in ("number", "integer"):
            v = number(value, what)
            if kind == "integer" and (isinstance(value, float) or v != int(v)):
                raise ValueError(f"{what} must be an integer, got {value!r}")
            lo, hi = self.schema.get("minimum", -math.inf), self.schema.get("maximum", math.inf)
            if not lo <= v <= hi:
                raise ValueError(f"{what} must be in [{lo:g}, {hi:g}], got {value!r}")
            return int(v) if kind == "integer" else v
        if kind == "boolean" and not isinstance(value, bool):
            raise ValueError(f"{what} must be true or false, got {value!r}")
        if kind == "string":
            if not isinstance(value, str):
                raise ValueError(f"{what} must be a string, got {value!r}")
            lo, hi = self.schema.get("minLength", 0), self.schema.get("maxLength", 10**6)
            if not lo <= len(value) <= hi:
                raise ValueError(f"{what} must be {lo}..{hi} characters, got {value!r}")
        return value

    @property
    def default(self) -> Any:
        return self.schema.get("default")


def _coordinates(count: int, description: str, required: bool, coords: str) -> Param:
    item = {"type": "number"}
    schema = {"type": "array", "items": item, "minItems": count, "maxItems": count}
    return Param({**schema, "description": description}, required, coords)


def Point(required: bool = True) -> Param:  # noqa: N802 - a constructor, read as a type
    return _coordinates(2, "[x, y] in the pixels of the image it applies to", required, "point")


def Box(required: bool = True) -> Param:  # noqa: N802
    return _coordinates(
        4, "[x0, y0, x1, y1] in the pixels of the image it applies to", required, "box"
    )


def Points(limit: int) -> Param:  # noqa: N802
    schema = {"type": "array", "items": Point().schema, "minItems": 1, "maxItems": limit}
    return Param(schema, True, "points")


def Number(  # noqa: N802
    minimum: float,
    maximum: float,
    default: float | None = None,
    integer: bool = False,
    required: bool = False,
) -> Param:
    schema: dict[str, Any] = {
        "type": "integer" if integer else "number",
        "minimum": minimum,
        "maximum": maximum,
    }
    if default is not None:
        schema["default"] = default
    return Param(schema, required)


COLOR = Param({"type": "string", "description": "colour name or #rrggbb", "default": "red"})
WIDTH = Number(1, 32, integer=True)


def stroke_width(width: Any, img: Image.Image) -> int:
    """A line width: the caller's (checked against WIDTH) or one that scales with the image."""
    if width is None:
        return max(2, round(min(img.size) / 200))
    return int(WIDTH.check(width, "width"))


def params_schema(params: dict[str, Param]) -> dict[str, Any]:
    """The JSON Schema of an operation's parameter object."""
    return {
        "type": "object",
        "properties": {name: p.schema for name, p in params.items()},
        "required": [name for name, p in params.items() if p.required],
        "additionalProperties": False,
    }
