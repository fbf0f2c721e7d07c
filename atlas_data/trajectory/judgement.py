"""The judgement contract: why an operation was (or was not) judged helpful, and the step
it proves, as explore hands it to the teacher and the row builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from atlas_data.ops import Operation
from atlas_data.ops.frame import Frame


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


@dataclass
class ChosenStep:
    """An operation that ran on its frame's canvas, its result, and the proof it helped."""

    operation: Operation
    result: Image.Image
    judgement: Judgement
    proposer: str = "boxes"
    frame: Frame | None = None
