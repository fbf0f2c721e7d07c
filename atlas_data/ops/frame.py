"""The canvas a step of a chain works on, and how its pixels map to the source's.

A :class:`Frame` is a value: it knows no operation. Each operation's spec says what its
result does to the frame (``OpSpec.reframe``: a zoom opens a new frame, offset and
magnified; a drawing keeps it; a rotation makes the mapping more than a crop), applied by
:meth:`atlas_data.ops.Operation.reframe`. Needs written in the source's pixels reach a
later step through :func:`atlas_data.ops.need_in`, with the spec's own coordinate mapping
and this frame's :meth:`Frame.point` and :meth:`Frame.to_canvas`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Frame:
    """A canvas: its size, and ``source = origin + canvas / scale``."""

    size: tuple[int, int]
    origin: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0
    exact: bool = True  # False once a rotation made the mapping more than a crop

    def point(self, p: Any) -> list[float]:
        """A source-pixel point in this frame's pixels."""
        x, y = (p[0] - self.origin[0]) * self.scale, (p[1] - self.origin[1]) * self.scale
        return [round(x, 2), round(y, 2)]

    @property
    def is_source(self) -> bool:
        """Whether this frame's pixels are the source's (no offset, no magnification)."""
        return self.origin == (0.0, 0.0) and self.scale == 1.0

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


def keep_frame(params: dict[str, Any], frame: Frame, size: tuple[int, int]) -> Frame:
    """A result of the same size is the same canvas (drawings, contrast); any other size is
    a new canvas whose mapping is no longer a crop."""
    return frame if size == frame.size else replace(frame, size=size, exact=False)


def inexact_frame(params: dict[str, Any], frame: Frame, size: tuple[int, int]) -> Frame:
    """A result whose pixels no longer map to the source by offset and scale (a rotation)."""
    return replace(frame, size=size, exact=False)
