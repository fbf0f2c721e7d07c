"""The judgement contract: why an operation was (or was not) judged helpful."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from atlas_data.ops import Operation


@dataclass(frozen=True)
class Judgement:
    helpful: bool
    score: float
    judge: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChosenStep:
    """An operation that ran, its result, and the proof that it helped."""

    operation: Operation
    result: Image.Image
    judgement: Judgement
