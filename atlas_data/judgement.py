"""The judgement contract: why an operation was (or was not) judged helpful, and the
frame of coordinates each step of a chain works in."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image

from atlas_data.ops import Operation, specs
from atlas_data.ops.spec import Need


@dataclass(frozen=True)
class Judgement:
    """One judge's verdict (or several judges' combined) and its numbers.

    ``evidence`` holds what the judge measured and, under ``seen``, one clause on what the
    result shows (the text it read, the marks placed...), from which observations are
    written; ``why`` says why it refused.
    """

    helpful: bool
    score: float
    judge: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def seen(self) -> str:
        return str(self.evidence.get("seen") or "").strip()


@dataclass(frozen=True)
class Frame:
    """The canvas a step works on: its size, and how its pixels map to the source's
    (``source = origin + canvas / scale``). Each zoom of a chain opens a new frame."""

    size: tuple[int, int]
    origin: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0
    exact: bool = True  # False once a rotation made the mapping more than a crop

    def after(self, op: Operation, result: Image.Image) -> Frame:
        """The frame of ``op``'s result."""
        if op.name == "zoom":
            box, f = op.params["box"], float(op.params.get("factor", 1))
            ox, oy = self.origin
            return Frame(
                result.size,
                (ox + box[0] / self.scale, oy + box[1] / self.scale),
                self.scale * f,
                self.exact,
            )
        if result.size != self.size:
            return Frame(result.size, self.origin, self.scale, False)
        return self

    def point(self, p: Any) -> list[float]:
        """A source-pixel point in this frame's pixels."""
        x, y = (p[0] - self.origin[0]) * self.scale, (p[1] - self.origin[1]) * self.scale
        return [round(x, 2), round(y, 2)]

    def need(self, need: Need) -> Need:
        """``need`` (in source pixels) in this frame's pixels: its parameters, evidence region
        and detail size, so a later step of a chain is proposed and judged where it runs."""
        if self.origin == (0.0, 0.0) and self.scale == 1.0:
            return need
        spec = specs().get(need.op)
        params = spec.map_coords(need.params, self.point) if spec else dict(need.params)
        return replace(
            need,
            params=params,
            evidence=self.to_canvas(need.evidence) if need.evidence else None,
            detail_px=need.detail_px * self.scale if need.detail_px else None,
        )

    def to_canvas(self, box: Any) -> list[float]:
        """A source-pixel box in this frame's pixels (clamped to the canvas)."""
        ox, oy, s = self.origin[0], self.origin[1], self.scale
        b = [(box[0] - ox) * s, (box[1] - oy) * s, (box[2] - ox) * s, (box[3] - oy) * s]
        w, h = self.size
        return [
            min(max(b[0], 0), w),
            min(max(b[1], 0), h),
            min(max(b[2], 0), w),
            min(max(b[3], 0), h),
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "origin": [round(v, 3) for v in self.origin],
            "scale": round(self.scale, 6),
            "exact": self.exact,
        }


@dataclass
class ChosenStep:
    """An operation that ran on its frame's canvas, its result, and the proof it helped."""

    operation: Operation
    result: Image.Image
    judgement: Judgement
    proposer: str = "boxes"
    frame: Frame | None = None
