"""The offline ``template`` teacher: varied, deterministic prose from the judges' evidence.

It needs no network and no model. Each sentence is drawn from a small bank of phrasings
with a generator seeded by the sample id, so a rerun writes the same text. The facts it
states come from the judgement evidence (``seen``: the text a judge read, the marks placed,
what a line meets), i.e. from what the operation showed; with no such evidence it writes
no observation and the sample is rejected, rather than invent one. A direct trajectory
(no operation) says why none was needed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from atlas_data.config import Budget
from atlas_data.ops import spec_of
from atlas_data.teacher.base import Reasoning, StepText, TeachRequest, TeachResult, Usage

# What makes the question hard, by the category of the first operation.
PREAMBLES: dict[str, tuple[str, ...]] = {
    "manipulation": (
        "The detail this question depends on is small compared with the whole image.",
        "At this resolution the part that matters is too small to make out with confidence.",
        "Looking at the whole image first, the relevant part is hard to make out directly.",
    ),
    "line": (
        "The relation the question asks about is hard to judge by eye.",
        "Estimating this from the picture alone is unreliable; a construction will help.",
    ),
    "arrow": (
        "The direction the question is about is easy to misjudge over that distance.",
        "It is not obvious where that direction leads, so I should trace it.",
    ),
    "shape": (
        "Several candidates look alike, so I need to pin down the one that differs.",
        "The scene is busy, so I should single out the part the question is about.",
    ),
    "text": (
        "There are many similar objects, so counting them by eye is error-prone.",
        "To answer reliably I need to keep track of each object I count.",
    ),
}
# What makes it hard, by the purpose annotations gave the first drawing (measure.purpose).
PURPOSE_PREAMBLES: dict[str, tuple[str, ...]] = {
    "count": (
        "There are many similar objects, so counting them by eye is error-prone.",
        "Several of these objects look alike; I should number them to count them reliably.",
    ),
    "align": (
        "The two points are nearly level, and that is too fine to judge by eye.",
        "Whether these points line up is too small a difference to see reliably.",
    ),
    "length": ("The two lengths look alike, so comparing them by eye is unreliable.",),
    "compare": (
        "The regions look alike in size and sit apart, so comparing them by eye is unreliable.",
        "The two regions are too similar to compare at a glance.",
    ),
    "relate": (
        "Several things lie near where the question starts, so I should trace the right one.",
        "More than one candidate sits near the starting point, so a glance is not enough.",
    ),
    "name": ("The place the question asks about is small, so I should mark what it is.",),
}
DIRECT_PREAMBLES = (
    "The part of the image the question is about is clear enough as it is.",
    "No closer look is needed here: the relevant detail is large enough to see directly.",
    "The image shows what the question asks about plainly.",
)
DIRECT_OBSERVATIONS = ("Looking at the image, {}.", "In the image, {}.", "As shown, {}.")
PLAIN_DIRECT = "The region the question is about is large enough to see without zooming."

OBSERVATION_LEADS = (
    "Now {}.",
    "With that done, {}.",
    "After this, {}.",
    "It is now clear that {}.",
)

CONCLUSIONS = (
    "That settles the question.",
    "This is enough to answer.",
    "So I can answer directly.",
    "That gives the answer.",
)


def _found(evidence: dict[str, Any], key: str) -> Any:
    """``key`` in a judgement's evidence, alone or in one of the combined judges' parts."""
    if key in evidence:
        return evidence[key]
    return next((v[key] for v in evidence.values() if isinstance(v, dict) and key in v), None)


class TemplateTeacher:
    """Offline teacher: writes reasoning from the question, the operations and their evidence."""

    name = "template"
    budget: Budget | None = None  # writes from the judges' evidence, never from pixels

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": 3}

    async def teach(self, request: TeachRequest) -> TeachResult:
        return self.teach_sync(request)

    async def aclose(self) -> None:
        return None

    def defer(self, failed: Mapping[str, str]) -> None:
        return None  # it sends no request: nothing to batch

    @property
    def deferred(self) -> list[dict[str, Any]]:
        return []

    def teach_sync(self, request: TeachRequest) -> TeachResult:
        rng = random.Random(request.sample_id)
        if not request.steps:
            return self._direct(request, rng)
        steps = []
        for chosen in request.steps:
            seen = chosen.judgement.seen
            if not seen:
                return TeachResult.refused(
                    "teacher_no_evidence",
                    f"{chosen.operation.name}: the judge recorded nothing the result shows",
                )
            spec = spec_of(chosen.operation.name)
            evidence = chosen.judgement.evidence
            reading = _found(evidence, "text") is not None and spec.reading_intents
            purposed = spec.purpose_intents.get(str(_found(evidence, "purpose")))
            intent = rng.choice(purposed or (spec.reading_intents if reading else spec.intents))
            if chosen.operation.image is not None:  # several images: say which one
                intent = f"Turning to image {chosen.operation.image + 1}. {intent}"
            steps.append(StepText(intent, rng.choice(OBSERVATION_LEADS).format(seen)))
        first = spec_of(request.steps[0].operation.name).category
        purpose = str(_found(request.steps[0].judgement.evidence, "purpose"))
        return TeachResult(
            Reasoning(
                preamble=rng.choice(PURPOSE_PREAMBLES.get(purpose) or PREAMBLES[first]),
                steps=steps,
                conclusion=rng.choice(CONCLUSIONS),
                answer=request.answer,
            ),
            usage=Usage(),
        )

    def _direct(self, request: TeachRequest, rng: random.Random) -> TeachResult:
        """No operation helped and a judge verified the answer without one."""
        proof = request.direct or {}
        seen = str(proof.get("seen") or "").strip()
        observed = rng.choice(DIRECT_OBSERVATIONS).format(seen) if seen else PLAIN_DIRECT
        return TeachResult(
            Reasoning(
                preamble=f"{rng.choice(DIRECT_PREAMBLES)} {observed}",
                steps=[],
                conclusion=rng.choice(CONCLUSIONS),
                answer=request.answer,
            ),
            usage=Usage(),
        )
