"""The offline ``template`` teacher: varied, deterministic prose from the judges' evidence.

It needs no network and no model. Each sentence is drawn from a small bank of phrasings
with a generator seeded by the sample id, so a rerun writes the same text. The facts it
states come from the judgement evidence (``reveals``), i.e. from what the operation showed.
"""

from __future__ import annotations

import random
from typing import Any

from atlas_data.teacher.base import Reasoning, StepText, TeachRequest, TeachResult, Usage

PREAMBLES = (
    "The detail this question depends on is small compared with the whole image.",
    "At this resolution the answer cannot be read off the image with confidence.",
    "The scene is busy, so I should focus on the part the question is about.",
    "Looking at the whole image first, the relevant part is hard to make out directly.",
    "To answer reliably I need a closer, more structured look at the image.",
)

INTENTS: dict[str, tuple[str, ...]] = {
    "zoom": (
        "I will zoom into the region that holds the detail so it becomes legible.",
        "Let me crop and magnify the area where that detail sits.",
        "I should enlarge that part of the image to read it properly.",
    ),
    "aux_line": (
        "I will draw an auxiliary line between the two points to check the geometry.",
        "Let me connect the two points with a straight line.",
        "A straight segment between the points will make this clear, so I draw it.",
    ),
    "arrow": (
        "I will extend the direction it indicates with an arrow to see where it leads.",
        "Let me draw an arrow along the indicated direction.",
        "Following the direction is easier with an explicit arrow, so I draw one.",
    ),
    "box": (
        "I will draw a box around the region that stands out to localise it.",
        "Let me outline the candidate region so its position is unambiguous.",
        "Boxing that region will pin down exactly where it is.",
    ),
    "point_mark": (
        "I will mark and number each matching object so none is missed or counted twice.",
        "Let me put a numbered mark on every object that matches.",
        "Numbering the matching objects one by one will give a reliable count.",
    ),
    "text_label": (
        "I will write a label on the image to keep track of this.",
        "Let me annotate the image with a short label.",
    ),
}
GENERIC_INTENT = ("I will apply a visual operation to look more closely.",)

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
            intent = rng.choice(INTENTS.get(chosen.operation.name, GENERIC_INTENT))
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
