"""The teacher contract: given the operations that happened, write the reasoning around them.

A teacher never invents operations. It receives the ones that ran (with result images and
judgements) and returns one intent sentence and one observation per operation, plus a
preamble, a conclusion and its answer. Failures are values, not exceptions: a
:class:`TeachResult` with a ``reason`` becomes a rejection row, and the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image

from atlas_data.judgement import ChosenStep
from atlas_data.llm import Usage


@dataclass
class TeachRequest:
    sample_id: str
    task: str
    question: str
    answer: str  # ground truth; teachers may use it as a hint, the verifier checks theirs
    choices: list[str] | None
    image: Image.Image | None  # at the teacher's ``image_side``; None when it reads no image
    steps: list[ChosenStep]
    preset: str
    direct: dict[str, Any] | None = None  # no operation: a judge's proof it needs none


@dataclass
class StepText:
    intent: str
    observation: str


@dataclass
class Reasoning:
    preamble: str
    steps: list[StepText]
    conclusion: str
    answer: str


@dataclass
class TeachResult:
    reasoning: Reasoning | None
    reason: str = ""  # rejection code when reasoning is None
    detail: str = ""
    raw: str = ""  # the raw model text, kept on rejections for inspection
    usage: Usage = field(default_factory=Usage)


class Teacher(Protocol):
    name: str
    # Longest side of the images the teacher is shown (0: it reads none). The pipeline
    # hands it images already at that size, so full-resolution pixels never wait on it.
    image_side: int

    def describe(self) -> dict[str, Any]:
        """JSON-able identity (no secrets): recorded in the manifest and the run-id hash."""
        ...

    async def teach(self, request: TeachRequest) -> TeachResult: ...

    async def aclose(self) -> None: ...
