"""What the two straight-stroke operations (aux_line, arrow) share: their ends."""

from __future__ import annotations

import math
from typing import Any

from PIL import Image

from atlas_data.ops.params import check_point


def line_ends(
    img: Image.Image, start: Any, end: Any
) -> tuple[tuple[float, float], tuple[float, float]]:
    a, b = check_point(start, img, "start"), check_point(end, img, "end")
    if math.dist(a, b) < 2:
        raise ValueError(f"line from {list(a)} to {list(b)} is degenerate (shorter than 2px)")
    return a, b
