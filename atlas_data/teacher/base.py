"""The teacher contract: given the operations that happened, write the reasoning around them.

A teacher never invents operations. It receives the ones that ran (with result images and
judgements) and returns one intent sentence and one observation per operation, plus a
preamble, a conclusion and its answer. Failures are values, not exceptions: a
:class:`TeachResult` with a :class:`~atlas_data.rejections.Rejection` becomes a rejection
row, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

from PIL import Image

from atlas_data.config import Budget
from atlas_data.llm import Usage
from atlas_data.rejections import Rejection
from atlas_data.trajectory.judgement import ChosenStep


@dataclass
class TeachRequest:
    sample_id: str
    task: str
    question: str
    answer: str  # ground truth; teachers may use it as a hint, the verifier checks theirs
    choices: list[str] | None
    images: list[Image.Image]  # Image 1..N at the teacher's ``budget``; none when it reads none
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
    """The reasoning, or the rejection (stage ``teach``, with the raw model text) saying why
    there is none, and what the request spent."""

    reasoning: Reasoning | None
    rejection: Rejection | None = None
    usage: Usage = field(default_factory=Usage)

    @classmethod
    def refused(cls, reason: str, detail: str, raw: str = "", usage: Usage | None = None) -> Self:
        return cls(None, Rejection(reason, detail, "teach", raw=raw), usage or Usage())


class Teacher(Protocol):
    name: str

    @property
    def budget(self) -> Budget | None:
        """The run's budget, at which the teacher is shown images (``None``: it reads none).
        The pipeline hands it images already at that size, so full-resolution pixels never
        wait on it."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-able identity (no secrets): recorded in the manifest and the run-id hash."""
        ...

    async def teach(self, request: TeachRequest) -> TeachResult: ...

    async def aclose(self) -> None: ...

    def defer(self, failed: Mapping[str, str]) -> None:
        """A batch pass: requests not in the cache are spooled (:attr:`deferred`), not sent;
        ``failed`` ones (retried to the end in a batch) are rejected with their error."""
        ...

    @property
    def deferred(self) -> list[dict[str, Any]]:
        """The batch request lines spooled since :meth:`defer` (none for a local teacher)."""
        ...
