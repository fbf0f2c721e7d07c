"""The annotation judge: helpfulness read off the sample's ground-truth ``needs``.

A candidate is helpful when it reproduces a needed operation closely enough *and* the
result is useful at the trainee's pixel budget: a zoom must contain the target and make it
at least ``readable_px`` tall once the result is shown at ``max_side``; a line or arrow must
join the needed points; a box must overlap the needed region; marks must hit every needed
point once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PIL import Image

from atlas_data.explore.base import Judgement
from atlas_data.ops import Operation
from atlas_data.sources.base import SourceSample

READABLE_PX = 20.0  # glyph height a VLM reads reliably at its own resolution
BOX_IOU = 0.5
POINT_TOL = 0.03  # of the image diagonal
ANGLE_TOL_DEG = 8.0


def _area(b: Sequence[float]) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _intersection(a: Sequence[float], b: Sequence[float]) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def budget_scale(size: tuple[int, int], max_side: int) -> float:
    """How much an image of ``size`` shrinks when shown within ``max_side``."""
    return min(1.0, max_side / max(size))


class AnnotationJudge:
    name = "annotation"
    needs_pixels = False

    def __init__(self, max_side: int = 1024, readable_px: float = READABLE_PX) -> None:
        self.max_side = max_side
        self.readable_px = readable_px

    def judge(
        self, sample: SourceSample, image: Image.Image, op: Operation, result: Image.Image | None
    ) -> Judgement | None:
        needs = sample.annotations.get("needs") or []
        best: Judgement | None = None
        for index, need in enumerate(needs):
            if need.get("op") != op.name:
                continue
            j = self._match(image, op, need, index)
            if best is None or (j.helpful, j.score) > (best.helpful, best.score):
                best = j
        if best is None:
            return Judgement(False, 0.0, self.name, {"why": f"no need for a {op.name}"})
        return best

    def _match(self, image: Image.Image, op: Operation, need: dict[str, Any], i: int) -> Judgement:
        p, q = op.params, need["params"]
        ev: dict[str, Any] = {"need": i, "reveals": need.get("reveals", "")}
        diag = math.hypot(*image.size)
        if op.name == "zoom":
            return self._zoom(image, p, q, need, ev)
        if op.name in ("aux_line", "arrow"):
            d_same = math.dist(p["start"], q["start"]) + math.dist(p["end"], q["end"])
            d_swap = math.dist(p["start"], q["end"]) + math.dist(p["end"], q["start"])
            if op.name == "arrow":  # an arrow has a direction: match start, then heading
                a = math.atan2(p["end"][1] - p["start"][1], p["end"][0] - p["start"][0])
                b = math.atan2(q["end"][1] - q["start"][1], q["end"][0] - q["start"][0])
                off = abs((math.degrees(a - b) + 180) % 360 - 180)
                start_err = math.dist(p["start"], q["start"]) / diag
                ev.update(angle_off_deg=round(off, 2), start_err=round(start_err, 4))
                ok = off <= ANGLE_TOL_DEG and start_err <= POINT_TOL
                score = max(0.0, 1 - off / 90) * max(0.0, 1 - start_err / (4 * POINT_TOL))
                return Judgement(ok, round(score, 4), self.name, ev)
            err = min(d_same, d_swap) / 2 / diag
            ev["endpoint_err"] = round(err, 4)
            ok = err <= POINT_TOL
            return Judgement(ok, round(max(0.0, 1 - err / (4 * POINT_TOL)), 4), self.name, ev)
        if op.name == "box":
            overlap = iou(p["box"], q["box"])
            ev["iou"] = round(overlap, 4)
            return Judgement(overlap >= BOX_IOU, round(overlap, 4), self.name, ev)
        if op.name == "point_mark":
            return self._points(p["points"], q["points"], diag, ev)
        if op.name == "text_label":
            err = math.dist(p["position"], q["position"]) / diag
            same = str(p.get("text", "")).strip() == str(q.get("text", "")).strip()
            ev.update(position_err=round(err, 4), text_matches=same)
            return Judgement(
                same and err <= POINT_TOL, float(same) * max(0, 1 - err), self.name, ev
            )
        return Judgement(False, 0.0, self.name, {**ev, "why": f"cannot judge {op.name}"})

    def _zoom(
        self,
        image: Image.Image,
        p: Any,
        q: Any,
        need: dict[str, Any],
        ev: dict[str, Any],
    ) -> Judgement:
        cand, target = p["box"], q["box"]
        coverage = _intersection(cand, target) / max(_area(target), 1e-9)
        factor = float(p.get("factor", 1))
        target_px = float(
            need.get("text_height") or min(target[2] - target[0], target[3] - target[1])
        )
        out_size = (round((cand[2] - cand[0]) * factor), round((cand[3] - cand[1]) * factor))
        seen_before = target_px * budget_scale(image.size, self.max_side)
        seen_after = target_px * factor * budget_scale(out_size, self.max_side)
        ev.update(
            coverage=round(coverage, 4),
            target_px_at_budget_before=round(seen_before, 2),
            target_px_at_budget_after=round(seen_after, 2),
            readable_px=self.readable_px,
        )
        readable = seen_after >= self.readable_px
        gain = seen_after > seen_before * 1.25
        ok = coverage >= 0.95 and readable and gain
        if not readable:
            ev["why"] = "target still too small after the zoom"
        elif coverage < 0.95:
            ev["why"] = "box misses part of the target"
        score = coverage * min(1.0, seen_after / self.readable_px)
        # Prefer tight zooms: a box that is mostly target beats one that is mostly background.
        tight = _area(target) / max(_area(cand), 1e-9)
        return Judgement(ok, round(0.8 * score + 0.2 * min(1.0, tight * 4), 4), self.name, ev)

    def _points(
        self, got: Sequence[Sequence[float]], want: Sequence[Sequence[float]], diag: float, ev: dict
    ) -> Judgement:
        tol = POINT_TOL * diag
        unmatched = list(want)
        hits = 0
        for g in got:
            near = [w for w in unmatched if math.dist(g, w) <= tol]
            if near:
                unmatched.remove(min(near, key=lambda w: math.dist(g, w)))
                hits += 1
        extra = len(got) - hits
        ev.update(marked=len(got), needed=len(want), hits=hits, extra=extra)
        ok = hits == len(want) and extra == 0
        score = hits / max(len(want), 1) - 0.5 * extra / max(len(want), 1)
        return Judgement(ok, round(max(0.0, score), 4), self.name, ev)
