"""Candidate proposals: the true operation hidden among plausible distractors.

For every needed operation we propose the annotated one, a grid scan of the same kind,
and variants aimed at the other salient objects, so the judge has to pick the right one.
Proposals are grouped by the need they compete for.
"""

from __future__ import annotations

import math
import random
from typing import Any

from atlas_data.ops import Operation
from atlas_data.ops.draw import MAX_OUTPUT_SIDE, MAX_ZOOM
from atlas_data.sources.base import SourceSample


def _centre(b: list[float]) -> list[int]:
    return [round((b[0] + b[2]) / 2), round((b[1] + b[3]) / 2)]


def _clamp_box(cx: float, cy: float, w: float, h: float, size: tuple[int, int]) -> list[int]:
    w, h = min(w, size[0]), min(h, size[1])
    x0 = min(max(0.0, cx - w / 2), size[0] - w)
    y0 = min(max(0.0, cy - h / 2), size[1] - h)
    return [round(x0), round(y0), round(x0 + w), round(y0 + h)]


def _zoom_factor(box: list[int], want: float) -> float:
    longest = max(box[2] - box[0], box[3] - box[1], 1)
    return float(max(1.0, min(want, MAX_ZOOM, MAX_OUTPUT_SIDE / longest)))


def grid_zooms(size: tuple[int, int], rows: int = 3, cols: int = 3) -> list[Operation]:
    """Half-overlapping tiles at factor 2: the saliency-free scan every image gets."""
    w, h = size
    tw, th = w / cols, h / rows
    ops = []
    for r in range(rows):
        for c in range(cols):
            b = _clamp_box((c + 0.5) * tw, (r + 0.5) * th, tw * 1.5, th * 1.5, size)
            ops.append(Operation("zoom", {"box": b, "factor": _zoom_factor(b, 2.0)}))
    return ops


def propose(sample: SourceSample, size: tuple[int, int], seed: int = 0) -> list[list[Operation]]:
    """One list of candidates per need, the annotated operation among distractors."""
    rng = random.Random(f"{sample.id}:{seed}")
    annotations = sample.annotations
    objects: list[dict[str, Any]] = list(annotations.get("objects") or [])
    groups: list[list[Operation]] = []
    for need in annotations.get("needs") or []:
        name, params = need["op"], dict(need["params"])
        group = [Operation(name, params)]
        if name == "zoom":
            box = params["box"]
            bw, bh = box[2] - box[0], box[3] - box[1]
            factor = float(params.get("factor", 2))
            cx, cy = _centre(box)
            # A loose zoom around the target, the grid scan, and same-size zooms elsewhere.
            loose = _clamp_box(cx, cy, bw * 3, bh * 3, size)
            group.append(Operation("zoom", {"box": loose, "factor": _zoom_factor(loose, factor)}))
            group += grid_zooms(size)
            for obj in objects:
                ox, oy = _centre(obj["box"])
                b = _clamp_box(ox, oy, bw, bh, size)
                group.append(Operation("zoom", {"box": b, "factor": _zoom_factor(b, factor)}))
        elif name in ("aux_line", "arrow"):
            start, end = params["start"], params["end"]
            for obj in objects:
                target = _centre(obj["box"])
                if math.dist(start, target) >= 2:
                    group.append(Operation(name, {**params, "start": start, "end": target}))
            if name == "arrow":  # the reversed arrow is a classic distractor
                group.append(Operation(name, {**params, "start": end, "end": start}))
        elif name == "box":
            for obj in objects:
                group.append(Operation("box", {**params, "box": [round(v) for v in obj["box"]]}))
        elif name == "point_mark":
            pts = [list(p) for p in params["points"]]
            if len(pts) > 1:
                drop = rng.randrange(len(pts))
                group.append(Operation(name, {**params, "points": pts[:drop] + pts[drop + 1 :]}))
            extra = [_centre(o["box"]) for o in objects[:3]]
            if extra:
                group.append(Operation(name, {**params, "points": pts + extra}))
        rng.shuffle(group)
        groups.append(group)
    return groups
