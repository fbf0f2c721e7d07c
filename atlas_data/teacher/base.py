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

from atlas_data.explore.base import ChosenStep


@dataclass
class TeachRequest:
    sample_id: str
    task: str
    question: str
    answer: str  # ground truth; teachers may use it as a hint, the verifier checks theirs
    choices: list[str] | None
    image: Image.Image
    steps: list[ChosenStep]
    preset: str


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
class Usage:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    retries: int = 0

    def add(self, other: Usage) -> None:
        for name in ("requests", "prompt_tokens", "completion_tokens", "cache_hits", "retries"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


class ChatError(Exception):
    """A model request that failed for good: ``reason`` becomes a rejection code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class TeacherUnavailable(RuntimeError):
    """The endpoint is unreachable or lacks the model: the run stops, no sample is taught."""


@dataclass
class TeachResult:
    reasoning: Reasoning | None
    reason: str = ""  # rejection code when reasoning is None
    detail: str = ""
    raw: str = ""  # the raw model text, kept on rejections for inspection
    usage: Usage = field(default_factory=Usage)


class Teacher(Protocol):
    name: str

    def describe(self) -> dict[str, Any]:
        """JSON-able identity (no secrets): recorded in the manifest and the run-id hash."""
        ...

    async def teach(self, request: TeachRequest) -> TeachResult: ...

    async def aclose(self) -> None: ...
