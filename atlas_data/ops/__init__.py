"""Visual operations: pure, deterministic functions ``image -> image``, one spec each.

Every module of this package that defines ``SPEC`` (an :class:`~atlas_data.ops.spec.OpSpec`)
is an operation; they are found here by looking, so adding one touches no other file.
Parameters are in pixel coordinates of the *source* image and are validated before any
pixel is touched; invalid ones raise ``ValueError`` with a message that says why.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from PIL import Image

from atlas_data.ops.frame import Frame
from atlas_data.ops.spec import CATEGORIES, Need, OpSpec


@cache
def specs() -> dict[str, OpSpec]:
    """Every operation, by name, in the paper's category order (then by name)."""
    found: list[OpSpec] = []
    for info in pkgutil.iter_modules(__path__):
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "SPEC", None)
        if isinstance(spec, OpSpec):
            found.append(spec)
    found.sort(key=lambda s: (CATEGORIES.index(s.category), s.name))
    return {s.name: s for s in found}


def spec_of(name: str) -> OpSpec:
    try:
        return specs()[name]
    except KeyError:
        raise ValueError(
            f"no implementation for operation {name!r} (known: {', '.join(specs())})"
        ) from None


@dataclass(frozen=True)
class Operation:
    """One concrete operation: a vocabulary operation name and its parameters, and in a
    sample of several images, which one it acts on (``None``: the sample has one image)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    image: int | None = None

    @property
    def index(self) -> int:
        """The image it acts on, counting from 0."""
        return self.image or 0

    def arguments(self) -> dict[str, Any]:
        """Its parameters as a call names them: the image first, when there are several."""
        named = {"image": self.image} if self.image is not None else {}
        return {**named, **self.params}

    def apply(self, image: Image.Image) -> Image.Image:
        spec = spec_of(self.name)
        try:
            return spec.apply(image, **dict(self.params))
        except TypeError as exc:  # unknown/missing keyword: a parameter error, not a crash
            raise ValueError(f"{self.name}: bad parameters {dict(self.params)}: {exc}") from exc

    def reframe(self, frame: Frame, size: tuple[int, int]) -> Frame:
        """The frame of this operation's result (``size``) on ``frame``: its spec decides."""
        return spec_of(self.name).reframe(dict(self.params), frame, size)

    def params_json(self) -> str:
        return json.dumps(self.arguments(), sort_keys=True, separators=(",", ":"))

    def call_json(self) -> str:
        """The explicit (agentic) tool call, as a model would emit it."""
        return json.dumps(
            {"name": self.name, "arguments": self.arguments()}, separators=(", ", ": ")
        )


def need_in(frame: Frame, need: Need) -> Need:
    """``need`` (in source pixels) in ``frame``'s pixels: its parameters (by its spec's
    coordinate mapping), evidence region and detail size, so a later step of a chain is
    proposed and judged where it runs."""
    if frame.is_source:
        return need
    spec = specs().get(need.op)
    params = spec.map_coords(need.params, frame.point) if spec else dict(need.params)
    return replace(
        need,
        params=params,
        evidence=frame.to_canvas(need.evidence) if need.evidence else None,
        detail_px=need.detail_px * frame.scale if need.detail_px else None,
    )


__all__ = ["OpSpec", "Operation", "need_in", "spec_of", "specs"]
