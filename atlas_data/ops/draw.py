"""The operation implementations. Each validates, then draws on a copy; never mutates input."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from PIL import Image, ImageColor, ImageDraw, ImageFont

MAX_OUTPUT_SIDE = 4096
MAX_ZOOM = 8.0
MIN_BOX_SIDE = 2
MAX_POINTS = 256
MAX_LABEL_CHARS = 64

Number = int | float


def _num(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    f = float(value)
    if not math.isfinite(f):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return f


def check_point(p: Sequence[Number], img: Image.Image, what: str = "point") -> tuple[float, float]:
    if not isinstance(p, Sequence) or isinstance(p, str) or len(p) != 2:
        raise ValueError(f"{what} must be [x, y], got {p!r}")
    x, y = _num(p[0], f"{what}.x"), _num(p[1], f"{what}.y")
    w, h = img.size
    if not (0 <= x <= w and 0 <= y <= h):
        raise ValueError(f"{what} {[x, y]} lies outside the {w}x{h} image")
    return x, y


def check_box(b: Sequence[Number], img: Image.Image) -> tuple[int, int, int, int]:
    """A box inside the image, at least MIN_BOX_SIDE pixels each way, as integer pixels."""
    if not isinstance(b, Sequence) or isinstance(b, str) or len(b) != 4:
        raise ValueError(f"box must be [x0, y0, x1, y1], got {b!r}")
    x0, y0, x1, y1 = (_num(v, "box coordinate") for v in b)
    w, h = img.size
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ValueError(f"box {[x0, y0, x1, y1]} is not an ordered box inside the {w}x{h} image")
    box = (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))
    if box[2] - box[0] < MIN_BOX_SIDE or box[3] - box[1] < MIN_BOX_SIDE:
        raise ValueError(f"box {list(box)} is smaller than {MIN_BOX_SIDE}px on a side")
    return box


def check_color(color: str) -> tuple[int, int, int]:
    try:
        rgb = ImageColor.getrgb(color)
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"unknown colour {color!r}") from exc
    return rgb[0], rgb[1], rgb[2]


def _width(width: int | None, img: Image.Image) -> int:
    if width is None:
        return max(2, round(min(img.size) / 200))
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 32:
        raise ValueError(f"width must be an integer in 1..32, got {width!r}")
    return width


@lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font: the same glyphs on every machine, no system fonts needed."""
    return ImageFont.load_default(size=size)


def zoom(img: Image.Image, box: Sequence[Number], factor: Number = 2) -> Image.Image:
    """Crop ``box`` and magnify it by ``factor`` (1 = plain crop)."""
    x0, y0, x1, y1 = check_box(box, img)
    f = _num(factor, "factor")
    if not 1.0 <= f <= MAX_ZOOM:
        raise ValueError(f"zoom factor must be in [1, {MAX_ZOOM:g}], got {factor!r}")
    out_w, out_h = round((x1 - x0) * f), round((y1 - y0) * f)
    if max(out_w, out_h) > MAX_OUTPUT_SIDE:
        raise ValueError(
            f"zoom output {out_w}x{out_h} exceeds {MAX_OUTPUT_SIDE}px; use a smaller box or factor"
        )
    crop = img.crop((x0, y0, x1, y1))
    if (out_w, out_h) == crop.size:
        return crop
    return crop.resize((out_w, out_h), Image.Resampling.LANCZOS)


def _line_ends(
    img: Image.Image, start: Sequence[Number], end: Sequence[Number]
) -> tuple[tuple[float, float], tuple[float, float]]:
    a, b = check_point(start, img, "start"), check_point(end, img, "end")
    if math.dist(a, b) < 2:
        raise ValueError(f"line from {list(a)} to {list(b)} is degenerate (shorter than 2px)")
    return a, b


def aux_line(
    img: Image.Image,
    start: Sequence[Number],
    end: Sequence[Number],
    color: str = "red",
    width: int | None = None,
) -> Image.Image:
    """Draw a straight auxiliary line from ``start`` to ``end``."""
    a, b = _line_ends(img, start, end)
    rgb, w = check_color(color), _width(width, img)
    out = img.copy()
    ImageDraw.Draw(out).line([a, b], fill=rgb, width=w)
    return out


def arrow(
    img: Image.Image,
    start: Sequence[Number],
    end: Sequence[Number],
    color: str = "red",
    width: int | None = None,
    head: Number | None = None,
) -> Image.Image:
    """Draw an arrow from ``start`` to ``end``; the head is bounded by the shaft length."""
    a, b = _line_ends(img, start, end)
    rgb, w = check_color(color), _width(width, img)
    length = math.dist(a, b)
    size = _num(head, "head") if head is not None else max(6.0, 4.0 * w)
    if not 2 <= size <= 128:
        raise ValueError(f"arrow head must be in [2, 128] px, got {head!r}")
    size = min(size, length / 2)
    ang = math.atan2(b[1] - a[1], b[0] - a[0])
    left = (b[0] - size * math.cos(ang - 0.45), b[1] - size * math.sin(ang - 0.45))
    right = (b[0] - size * math.cos(ang + 0.45), b[1] - size * math.sin(ang + 0.45))
    shaft_end = (b[0] - 0.8 * size * math.cos(ang), b[1] - 0.8 * size * math.sin(ang))
    out = img.copy()
    d = ImageDraw.Draw(out)
    d.line([a, shaft_end], fill=rgb, width=w)
    d.polygon([b, left, right], fill=rgb)
    return out


def box(
    img: Image.Image, box: Sequence[Number], color: str = "red", width: int | None = None
) -> Image.Image:
    """Draw the outline of ``box``."""
    x0, y0, x1, y1 = check_box(box, img)
    rgb, w = check_color(color), _width(width, img)
    out = img.copy()
    ImageDraw.Draw(out).rectangle((x0, y0, x1 - 1, y1 - 1), outline=rgb, width=w)
    return out


def point_mark(
    img: Image.Image,
    points: Sequence[Sequence[Number]],
    color: str = "red",
    numbered: bool = True,
) -> Image.Image:
    """Mark each point with a dot, numbered 1..n so the marks can be counted."""
    if not isinstance(points, Sequence) or isinstance(points, str) or not points:
        raise ValueError("points must be a non-empty list of [x, y]")
    if len(points) > MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS} points, got {len(points)}")
    pts = [check_point(p, img, f"points[{i}]") for i, p in enumerate(points)]
    rgb = check_color(color)
    r = max(3, round(min(img.size) / 120))
    f = font(max(10, 3 * r))
    out = img.copy()
    d = ImageDraw.Draw(out)
    for i, (x, y) in enumerate(pts, start=1):
        d.ellipse((x - r, y - r, x + r, y + r), fill=rgb, outline=(255, 255, 255))
        if numbered:
            d.text(
                (x + r + 1, y - r - 1),
                str(i),
                fill=rgb,
                font=f,
                stroke_width=1,
                stroke_fill=(255, 255, 255),
            )
    return out


def text_label(
    img: Image.Image, position: Sequence[Number], text: str, color: str = "red"
) -> Image.Image:
    """Write a short label with its top-left corner at ``position``."""
    x, y = check_point(position, img, "position")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LABEL_CHARS:
        raise ValueError(f"label text must be 1..{MAX_LABEL_CHARS} characters, got {text!r}")
    if not text.isprintable():
        raise ValueError(f"label text must be printable, got {text!r}")
    rgb = check_color(color)
    out = img.copy()
    size = max(12, round(min(img.size) / 30))
    ImageDraw.Draw(out).text(
        (x, y), text, fill=rgb, font=font(size), stroke_width=1, stroke_fill=(255, 255, 255)
    )
    return out
