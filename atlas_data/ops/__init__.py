"""Visual operations: pure, deterministic functions ``image -> image``.

Parameters are in pixel coordinates of the *source* image and are validated before any
pixel is touched; invalid ones raise ``ValueError`` with a message that says why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from atlas_data.ops import draw

OpFn = Callable[..., Image.Image]

REGISTRY: dict[str, OpFn] = {
    "zoom": draw.zoom,
    "aux_line": draw.aux_line,
    "arrow": draw.arrow,
    "box": draw.box,
    "point_mark": draw.point_mark,
    "text_label": draw.text_label,
}


@dataclass(frozen=True)
class Operation:
    """One concrete operation: a vocabulary operation name and its parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, image: Image.Image) -> Image.Image:
        try:
            fn = REGISTRY[self.name]
        except KeyError:
            raise ValueError(
                f"no implementation for operation {self.name!r} (known: {', '.join(REGISTRY)})"
            ) from None
        try:
            return fn(image, **dict(self.params))
        except TypeError as exc:  # unknown/missing keyword: a parameter error, not a crash
            raise ValueError(f"{self.name}: bad parameters {dict(self.params)}: {exc}") from exc

    def params_json(self) -> str:
        return json.dumps(dict(self.params), sort_keys=True, separators=(",", ":"))

    def call_json(self) -> str:
        """The explicit (agentic) tool call, as a model would emit it."""
        return json.dumps(
            {"name": self.name, "arguments": dict(self.params)}, separators=(", ", ": ")
        )


__all__ = ["Operation", "REGISTRY"]
