"""The offline ``template`` teacher: varied, deterministic prose from the judges' evidence.

It needs no network and no model. Each sentence is drawn from a small bank of phrasings
with a generator seeded by the sample id, so a rerun writes the same text. The facts it
states come from the judgement evidence (``reveals``), i.e. from what the operation showed.
"""

from __future__ import annotations

import random
from typing import Any

from atlas_data.ops import spec_of
from atlas_data.teacher.base import Reasoning, StepText, TeachRequest, TeachResult, Usage

PREAMBLES = (
    "The detail this question depends on is small compared with the whole image.",
    "At this resolution the answer cannot be read off the image with confidence.",
    "The scene is busy, so I should focus on the part the question is about.",
    "Looking at the whole image first, the relevant part is hard to make out directly.",
    "To answer reliably I need a closer, more structured look at the image.",
)

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


class TemplateTeacher:
    """Offline teacher: writes reasoning from the question, the operations and their evidence."""

    name = "template"
    image_side = 0  # writes from the judges' evidence, never from pixels

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": 1}

    async def teach(self, request: TeachRequest) -> TeachResult:
        return self.teach_sync(request)

    def teach_sync(self, request: TeachRequest) -> TeachResult:
        rng = random.Random(request.sample_id)
        steps = []
        for chosen in request.steps:
            reveals = str(chosen.judgement.evidence.get("reveals", "")).strip()
            if not reveals:
                return TeachResult(
                    None,
                    reason="teacher_no_evidence",
                    detail=f"{chosen.operation.name}: the judge recorded nothing the result shows",
                )
            intent = rng.choice(spec_of(chosen.operation.name).intents)
            steps.append(StepText(intent, rng.choice(OBSERVATION_LEADS).format(reveals)))
        return TeachResult(
            Reasoning(
                preamble=rng.choice(PREAMBLES),
                steps=steps,
                conclusion=rng.choice(CONCLUSIONS),
                answer=request.answer,
            ),
            usage=Usage(),
        )

    async def aclose(self) -> None:
        return None
