"""A record's boxes and points in source pixels: the conventions datasets write them in
(``--source-opt bbox_format=…``, ``point_format=…``), converted and checked. A malformed,
non-finite or off-image annotation refuses the record (``bad_bbox``, ``bad_points``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from atlas_data.ops.spec import MAX_IMAGES
from atlas_data.rejections import Rejection
from atlas_data.sources.columns import maybe_json
from atlas_data.sources.needs import Mark

# xyxy_square_norm: 0-1 on the image padded (centred) to a square, as LLaVA-style sets do
BBOX_FORMATS = ("xyxy", "xywh", "xyxy_norm", "xywh_norm", "cxcywh_norm", "xyxy_square_norm")
BBOX_OPS = ("zoom", "box")
# Points in source pixels (default), normalised to [0, 1], or in percent of width and
# height (PixMo-Points).
POINT_FORMATS = {"xy": 1.0, "xy_norm": 1.0, "xy_percent": 100.0}
MAX_POINTS = 256  # point_mark's own limit


def _numbers(value: Any) -> list[float]:
    value = maybe_json(value)
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value.strip()) if v]
    if isinstance(value, Mapping):
        raise Rejection("bad_bbox", f"a box must be 4 numbers, got an object {value!r}")
    try:
        nums = [float(v) for v in value]
    except (TypeError, ValueError) as exc:
        raise Rejection("bad_bbox", f"a box must be 4 numbers, got {value!r}") from exc
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        raise Rejection("bad_bbox", f"a box must be 4 finite numbers, got {value!r}")
    return nums


def _image_of(entry: Mapping[str, Any], images: int, what: str) -> int:
    """The image an annotation names (``"image": k``, from 0; none: the first)."""
    k = entry.get("image", 0)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < images:
        reason = "bad_bbox" if what == "box" else "bad_points"
        raise Rejection(reason, f"a {what} names image {k!r}; the sample has {images} image(s)")
    return k


def placed_boxes(value: Any, images: int = 1) -> list[tuple[int, list[float]]]:
    """One box or a list of boxes, each ``[x0, y0, x1, y1]`` (on the first image) or
    ``{"box": [...], "image": k}`` → ``(image, 4 numbers)`` pairs (empty when absent)."""
    value = maybe_json(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, Mapping) or not isinstance(value, (list, tuple)):
        value = [value]
    elif not value:
        return []
    elif not isinstance(maybe_json(value[0]), (list, tuple, Mapping)):
        value = [value]  # one box of 4 numbers
    out = []
    for v in value:
        v = maybe_json(v)
        if isinstance(v, Mapping) and "box" in v:
            out.append((_image_of(v, images, "box"), _numbers(v["box"])))
        else:
            out.append((0, _numbers(v)))
    return out


def box_list(value: Any) -> list[list[float]]:
    """One box or a list of boxes → list of 4-number lists (empty when absent)."""
    return [b for _, b in placed_boxes(value, MAX_IMAGES)]


def points_by_image(value: Any, images: int = 1) -> list[Any]:
    """A record's points split by the image each names (``"image": k``; none: the first):
    one raw list per image, for :func:`point_list` to read in that image's pixels."""
    value = maybe_json(value)
    per: list[Any] = [[] for _ in range(images)]
    if value is None or (isinstance(value, str) and not value.strip()):
        return per
    if isinstance(value, Mapping) or not isinstance(value, (list, tuple)):
        per[0] = value  # one point, or {label: [x, y]}: the first image's
        return per
    for v in value:
        v = maybe_json(v)
        if isinstance(v, Mapping) and "image" in v:
            k = _image_of(v, images, "point")
            per[k].append({key: x for key, x in v.items() if key != "image"})
        else:
            per[0].append(v)
    return per


def to_xyxy(b: Sequence[float], fmt: str, size: tuple[int, int]) -> list[int]:
    """Convert a box to integer source-pixel ``[x0, y0, x1, y1]``, clamped to the image."""
    w, h = size
    if fmt.endswith("_norm") and max(abs(v) for v in b) > 1.0 + 1e-6:
        raise Rejection(
            "bad_bbox", f"box {list(b)} is not normalised to [0, 1]; is bbox_format right?"
        )
    if fmt == "xyxy":
        x0, y0, x1, y1 = b
    elif fmt == "xywh":
        x0, y0, x1, y1 = b[0], b[1], b[0] + b[2], b[1] + b[3]
    elif fmt == "xyxy_norm":
        x0, y0, x1, y1 = b[0] * w, b[1] * h, b[2] * w, b[3] * h
    elif fmt == "xywh_norm":
        x0, y0, x1, y1 = b[0] * w, b[1] * h, (b[0] + b[2]) * w, (b[1] + b[3]) * h
    elif fmt == "xyxy_square_norm":  # the shorter side was padded by half the difference
        side = max(w, h)
        dx, dy = (h - w) // 2 if h > w else 0, (w - h) // 2 if w > h else 0
        x0, y0, x1, y1 = b[0] * side - dx, b[1] * side - dy, b[2] * side - dx, b[3] * side - dy
    else:  # cxcywh_norm (YOLO)
        x0, y0 = (b[0] - b[2] / 2) * w, (b[1] - b[3] / 2) * h
        x1, y1 = (b[0] + b[2] / 2) * w, (b[1] + b[3] / 2) * h
    if x1 <= x0 or y1 <= y0:
        raise Rejection("bad_bbox", f"box {list(b)} ({fmt}) has no area; is bbox_format right?")
    box = [
        round(min(max(x0, 0), w)),
        round(min(max(y0, 0), h)),
        round(min(max(x1, 0), w)),
        round(min(max(y1, 0), h)),
    ]
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        raise Rejection("bad_bbox", f"box {list(b)} ({fmt}) lies outside the {w}x{h} image")
    return box


def _point(value: Any, scale: float, k: int) -> Mark:
    """One point: ``[x, y]``, ``[x, y, label]`` or ``{"x", "y", "label"}``, divided by
    ``scale`` (1, or 100 for percent)."""
    label: Any = ""
    if isinstance(value, Mapping):
        x, y, label = value.get("x"), value.get("y"), value.get("label") or ""
    elif isinstance(value, (list, tuple)) and len(value) in (2, 3):
        x, y = value[0], value[1]
        label = value[2] if len(value) == 3 else ""
    else:
        raise Rejection("bad_points", f"point {k} must be [x, y] or {{x, y}}, got {value!r}")
    try:
        fx, fy = float(x), float(y)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise Rejection("bad_points", f"point {k} has no numeric x and y: {value!r}") from exc
    if not (math.isfinite(fx) and math.isfinite(fy)):
        raise Rejection("bad_points", f"point {k} is not finite: {value!r}")
    return Mark(fx / scale, fy / scale, str(label))


def point_list(value: Any, fmt: str, size: tuple[int, int]) -> list[Mark]:
    """A record's points in source pixels: a list of points, or ``{label: [x, y]}``; a
    malformed, non-finite or off-image point refuses the record (``bad_points``)."""
    value = maybe_json(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, Mapping) and not {"x", "y"} <= set(value):
        value = [
            [*v[:2], k] if isinstance(v, (list, tuple)) else {**v, "label": k}
            for k, v in value.items()
        ]
    elif isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise Rejection("bad_points", f"points must be a list of [x, y], got {value!r}")
    if len(value) > MAX_POINTS:
        raise Rejection("bad_points", f"{len(value)} points; at most {MAX_POINTS} per sample")
    w, h = size
    pixels = fmt == "xy"
    out = []
    for k, v in enumerate(value):
        p = _point(maybe_json(v), POINT_FORMATS[fmt], k)
        if not pixels:  # normalised, or percent already divided by 100
            if not (-1e-6 <= p.x <= 1 + 1e-6 and -1e-6 <= p.y <= 1 + 1e-6):
                raise Rejection("bad_points", f"point {k} {v!r} is not within [0, 1] ({fmt})")
            p = Mark(p.x * w, p.y * h, p.label)
        if not (0 <= p.x <= w and 0 <= p.y <= h):
            where = f"lies outside the {w}x{h} image; is point_format right?"
            raise Rejection("bad_points", f"point {k} {v!r} {where}")
        out.append(p)
    return out
