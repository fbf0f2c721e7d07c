"""Explore: run candidate operations and keep the ones the judges agree are helpful.

Judges compose. Each returns a :class:`Judgement` or ``None`` (abstains: e.g. an OCR judge
on a counting question). A candidate is helpful when every judge that spoke says so; the
combined judgement records which judges agreed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.explore.annotation import AnnotationJudge
from atlas_data.explore.candidates import propose
from atlas_data.judgement import ChosenStep, Judgement
from atlas_data.ops import Operation
from atlas_data.sources.base import SourceSample
from atlas_data.tokens import Vocabulary


class Judge(Protocol):
    name: str
    needs_pixels: bool  # False: judges from parameters alone, so results are made lazily

    def judge(
        self, sample: SourceSample, image: Image.Image, op: Operation, result: Image.Image | None
    ) -> Judgement | None: ...


JUDGES = ("annotation", "ocr", "flip")


def build_judges(config: RunConfig) -> list[Judge]:
    """The run's judges, each looking at the trainee's budget (``judge_max_side``)."""
    judges: list[Judge] = []
    for name in config.judges:
        if name == "annotation":
            judges.append(AnnotationJudge(max_side=config.judge_max_side))
        elif name == "ocr":
            from atlas_data.explore.ocr import OCRJudge

            judges.append(OCRJudge(max_side=config.judge_max_side))
        elif name == "flip":
            from atlas_data.explore.flip import AnswerFlipJudge

            judges.append(
                AnswerFlipJudge.from_options(
                    config.teacher_options, config.judge_model, config.judge_max_side
                )
            )
        else:
            raise ValueError(f"unknown judge {name!r}; available: {', '.join(JUDGES)}")
    return judges


def combine(judgements: Sequence[Judgement]) -> Judgement | None:
    """All judges that spoke must agree it helped; the score is their mean."""
    if not judgements:
        return None
    agreed = [j.judge for j in judgements if j.helpful]
    disagreed = [j.judge for j in judgements if not j.helpful]
    evidence: dict = {}
    for j in judgements:
        evidence[j.judge] = j.evidence
    if judgements[0].evidence.get("reveals"):
        evidence["reveals"] = judgements[0].evidence["reveals"]
    evidence["agreed"], evidence["disagreed"] = agreed, disagreed
    score = sum(j.score for j in judgements) / len(judgements)
    return Judgement(
        not disagreed, round(score, 4), "+".join(j.judge for j in judgements), evidence
    )


@dataclass
class ExploreResult:
    steps: list[ChosenStep] = field(default_factory=list)
    reason: str = ""  # rejection code when steps are missing
    detail: str = ""
    candidates: int = 0


def explore(
    sample: SourceSample,
    image: Image.Image,
    judges: Sequence[Judge],
    vocab: Vocabulary,
    seed: int = 0,
) -> ExploreResult:
    """Pick, for each needed operation, the best candidate that every judge found helpful."""
    groups = propose(sample, image.size, seed)
    if not groups:
        return ExploreResult(reason="no_candidates", detail="the sample has no annotated needs")
    # Every judge must agree, so one "no" settles a candidate: judges that read parameters
    # go first, and the costly pixel judges (OCR, a model call) and the operation itself
    # only run on candidates that are still in the race.
    cheap = [j for j in judges if not j.needs_pixels]
    costly = [j for j in judges if j.needs_pixels]
    out = ExploreResult()
    for i, group in enumerate(groups):
        ranked: list[tuple[float, int, Operation, Image.Image | None, Judgement]] = []
        invalid = 0
        for k, op in enumerate(group):
            if op.name not in vocab.by_name:
                continue
            verdicts = [v for j in cheap if (v := j.judge(sample, image, op, None))]
            result = None
            if costly and all(v.helpful for v in verdicts):
                try:
                    result = op.apply(image)
                except ValueError:
                    invalid += 1
                    continue
                verdicts += [v for j in costly if (v := j.judge(sample, image, op, result))]
            verdict = combine(verdicts)
            out.candidates += 1
            if verdict is not None and verdict.helpful:
                ranked.append((verdict.score, -k, op, result, verdict))
        if not ranked:
            names = sorted({op.name for op in group})
            missing = [n for n in names if n not in vocab.by_name]
            if missing:
                return ExploreResult(
                    reason="operation_not_in_vocabulary",
                    detail=f"need {i} uses {missing}, which the vocabulary {vocab.name!r} lacks",
                    candidates=out.candidates,
                )
            return ExploreResult(
                reason="no_helpful_operation",
                detail=f"none of {len(group)} candidates for need {i} ({', '.join(names)}) "
                f"was judged helpful ({invalid} invalid)",
                candidates=out.candidates,
            )
        ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
        for _, _, op, result, verdict in ranked:
            try:  # lazily run the winner; a parameter error falls through to the runner-up
                out.steps.append(ChosenStep(op, result or op.apply(image), verdict))
                break
            except ValueError:
                continue
        else:
            return ExploreResult(
                reason="operation_failed",
                detail=f"every helpful candidate for need {i} failed to run",
                candidates=out.candidates,
            )
    return out
