"""Explore: find where to look, run the candidates on real pixels, keep what helped.

For each step (one per annotated need, in order; one free step when the source annotated
nothing) proposers put candidates forward (:mod:`atlas_data.explore.proposers`) and judges
rule on them. A judge returns a :class:`Judgement` or ``None`` (it abstains: the OCR judge
on a counting question). A candidate is helpful when at least one judge spoke and every
judge that spoke says so. Judges rule first from parameters alone (``screen``; the
annotation judge always can), and only the few survivors, best first and tightest first
on ties, are run and judged on their pixels. A chain's later steps work on the canvas the
earlier ones made, each in its own :class:`~atlas_data.judgement.Frame`.

"No operation helps" is a normal outcome: when some judge verifies the answer without
one (``direct``), the result says so, and the sample may become a direct trajectory.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.explore.annotation import AnnotationJudge
from atlas_data.explore.proposers import PROPOSERS, Proposal, Proposer, need_proposals
from atlas_data.judgement import ChosenStep, Frame, Judgement
from atlas_data.ops import Operation
from atlas_data.ops.spec import Need
from atlas_data.sources.base import SourceSample
from atlas_data.tokens import Vocabulary

JUDGES = ("annotation", "ocr", "flip")
PIXEL_TRIALS = 4  # candidates run and judged on pixels per step, at most
TRAIL = 3  # candidates kept, with every verdict, on a rejection


class Judge(Protocol):
    name: str
    needs_pixels: bool  # False: judges from parameters alone, so results are made lazily

    def judge(
        self, sample: SourceSample, image: Image.Image, op: Operation, result: Image.Image | None
    ) -> Judgement | None: ...


def build_judges(config: RunConfig) -> list[Judge]:
    """The run's judges, each looking at the trainee's budget (``judge_max_side``)."""
    judges: list[Judge] = []
    for name in config.judge_names():
        if name == "annotation":
            judges.append(AnnotationJudge(config.judge_max_side, config.reading_px))
        elif name == "ocr":
            from atlas_data.explore.ocr import OCRJudge

            judges.append(OCRJudge(config.judge_max_side, config.reading_px))
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


def build_proposers(config: RunConfig) -> list[Proposer]:
    """The run's free proposers (``boxes`` is built into the search: it reads the needs)."""
    from atlas_data.explore import proposers as p

    out: list[Proposer] = []
    for name in config.proposer_names():
        if name not in PROPOSERS:
            raise ValueError(f"unknown proposer {name!r}; available: {', '.join(PROPOSERS)}")
        if name == "scan":
            out.append(p.Scan(config.judge_max_side))
        elif name == "text":
            out.append(p.TextRegions(config.judge_max_side))
        elif name == "salient":
            out.append(p.Salient(config.judge_max_side))
        elif name == "grounding":
            out.append(p.Grounding.from_options(config.teacher_options, config.judge_max_side))
    return out


def combine(judgements: Sequence[Judgement]) -> Judgement | None:
    """At least one judge spoke and every judge that spoke agrees; the score is their mean.

    The combined evidence keeps each judge's numbers, and the most telling ``seen`` clause
    (text a judge read beats a clause the source wrote, which beats a measurement).
    """
    if not judgements:
        return None
    agreed = [j.judge for j in judgements if j.helpful]
    disagreed = [j.judge for j in judgements if not j.helpful]
    evidence: dict[str, Any] = {j.judge: j.evidence for j in judgements}
    seen = sorted((j for j in judgements if j.seen), key=lambda j: "text" not in j.evidence)
    if seen and not disagreed:
        evidence["seen"] = seen[0].seen
    refused = [j for j in judgements if not j.helpful]
    if refused:
        evidence["why"] = f"{refused[0].judge}: {refused[0].evidence.get('why', 'refused')}"
    evidence["agreed"], evidence["disagreed"] = agreed, disagreed
    score = sum(j.score for j in judgements) / len(judgements)
    return Judgement(
        not disagreed, round(score, 4), "+".join(j.judge for j in judgements), evidence
    )


@dataclass
class Tried:
    """One candidate and what every judge said of it."""

    proposal: Proposal
    verdicts: list[Judgement] = field(default_factory=list)
    result: Image.Image | None = None

    @property
    def verdict(self) -> Judgement | None:
        return combine(self.verdicts)

    def rank(self) -> tuple[float, float]:
        """Best score first; on a tie (scores saturate), the smallest region first."""
        v = self.verdict
        box = self.proposal.op.params.get("box")
        area = (box[2] - box[0]) * (box[3] - box[1]) if box else 0.0
        return (-(round(v.score, 2) if v else 0.0), area)

    def trail(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "name": self.proposal.op.name,
            "params": self.proposal.op.params_json(),
            "proposer": self.proposal.proposer,
            "judge": v.judge if v else "",
            "helpful": bool(v and v.helpful),
            "score": v.score if v else 0.0,
            "evidence": json.dumps(v.evidence if v else {}, sort_keys=True, default=str),
        }


@dataclass
class ExploreResult:
    steps: list[ChosenStep] = field(default_factory=list)
    reason: str = ""  # rejection code when steps are missing
    detail: str = ""
    direct: dict[str, Any] | None = None  # a judge's proof the answer needs no operation
    trail: list[dict[str, Any]] = field(default_factory=list)  # best tried, on a rejection
    counts: Counter[str] = field(default_factory=Counter)  # proposer:/judge: tallies


def _screen(judge: Any, sample: SourceSample, canvas: Image.Image, op: Operation) -> Any:
    """A judge's verdict from parameters alone, or ``...`` when it needs the pixels."""
    screen = getattr(judge, "screen", None)
    if callable(screen):
        return screen(sample, canvas, op)
    return ... if judge.needs_pixels else judge.judge(sample, canvas, op, None)


def _step(
    sample: SourceSample,
    canvas: Image.Image,
    proposals: list[Proposal],
    judges: Sequence[Judge],
    counts: Counter[str],
) -> tuple[Tried | None, list[Tried]]:
    """The chosen candidate of one step (or ``None``) and every candidate tried."""
    tried, pending = [], []
    for proposal in proposals:
        t = Tried(proposal)
        tried.append(t)
        counts[f"proposer:{proposal.proposer}:proposed"] += 1
        waiting = False
        for j in judges:
            v = _screen(j, sample, canvas, proposal.op)
            if v is ...:
                waiting = True
            elif v is not None:
                t.verdicts.append(v)
                counts[f"judge:{j.name}:{'accept' if v.helpful else 'reject'}"] += 1
            else:
                counts[f"judge:{j.name}:abstain"] += 1
        if all(v.helpful for v in t.verdicts) and (waiting or t.verdicts):
            pending.append(t)
    pending.sort(key=Tried.rank)
    for t in pending[:PIXEL_TRIALS]:
        try:
            t.result = t.proposal.op.apply(canvas)
        except ValueError as exc:
            t.verdicts.append(Judgement(False, 0.0, "run", {"why": str(exc)}))
            continue
        for j in judges:
            if j.needs_pixels:
                v = j.judge(sample, canvas, t.proposal.op, t.result)
                # the pixel verdict replaces its own screening verdict
                t.verdicts = [x for x in t.verdicts if x.judge != j.name]
                if v is not None:
                    t.verdicts.append(v)
                    counts[f"judge:{j.name}:{'accept' if v.helpful else 'reject'}"] += 1
        v = t.verdict
        if v is not None and v.helpful:
            counts[f"proposer:{t.proposal.proposer}:chosen"] += 1
            return t, tried
        t.result = None  # only the chosen result is kept
    return None, tried


def _proposals(
    sample: SourceSample,
    need: Need | None,
    frame: Frame,
    proposers: Sequence[Proposer],
    canvas: Image.Image,
    seed: int,
) -> list[Proposal]:
    out: list[Proposal] = []
    if need is not None:
        out += [Proposal(op, "boxes") for op in need_proposals(need, frame, sample, seed)]
    if need is None or need.op == "zoom":
        for p in proposers:
            out += [Proposal(op, p.name) for op in p.propose(sample, canvas)]
    seen: set[str] = set()
    unique = []
    for prop in out:  # the same operation from two proposers is one candidate
        key = f"{prop.op.name}:{prop.op.params_json()}"
        if key not in seen:
            seen.add(key)
            unique.append(prop)
    return unique


def explore(
    sample: SourceSample,
    image: Image.Image,
    judges: Sequence[Judge],
    vocab: Vocabulary,
    seed: int = 0,
    proposers: Sequence[Proposer] = (),
) -> ExploreResult:
    """The chain of helpful operations for ``sample``, or why there is none."""
    out = ExploreResult()
    needs: list[Need | None] = list(sample.needs) or ([None] if proposers else [])
    if not needs:
        return ExploreResult(
            reason="no_candidates",
            detail="the sample has no annotated needs and no proposer ran (--proposer scan...)",
        )
    missing = sorted({n.op for n in sample.needs if n.op not in vocab.by_name})
    if missing:
        return ExploreResult(
            reason="operation_not_in_vocabulary",
            detail=f"the sample needs {missing}, which the vocabulary {vocab.name!r} lacks",
        )
    canvas, frame = image, Frame(image.size)
    for i, need in enumerate(needs):
        # judges see the step's own need, in the pixels of the canvas it runs on
        here = frame.need(need) if need is not None else None
        at = replace(sample, needs=[here]) if here is not None else sample
        proposals = _proposals(at, here, frame, proposers, canvas, seed)
        chosen, tried = _step(at, canvas, proposals, judges, out.counts)
        if chosen is None or chosen.result is None:
            if i == 0:
                out.direct = _direct(sample, image, judges)
            tried.sort(key=lambda t: (t.result is None, Tried.rank(t)))
            out.trail = [t.trail() for t in tried[:TRAIL]]
            kinds = ", ".join(sorted({p.op.name for p in proposals})) or "none"
            refusals = Counter(
                str(v.evidence.get("why", "")) if v else "no judge spoke"
                for t in tried
                for v in [t.verdict]
                if not (v and v.helpful)
            )
            common = "; ".join(f"{n}x {why}" for why, n in refusals.most_common(3))
            out.reason = "no_helpful_operation"
            out.detail = (
                f"step {i}: none of {len(tried)} candidates ({kinds}) was judged helpful: "
                f"{common or 'no candidate'}"
            )
            out.steps = []
            return out
        verdict = chosen.verdict
        assert verdict is not None
        out.steps.append(
            ChosenStep(chosen.proposal.op, chosen.result, verdict, chosen.proposal.proposer, frame)
        )
        frame = frame.after(chosen.proposal.op, chosen.result)
        canvas = chosen.result
    _containment(sample, out)
    return out


def _containment(sample: SourceSample, out: ExploreResult) -> None:
    """Tally whether the chosen first zoom holds the source's own evidence region."""
    from atlas_data.explore.ocr import COVERAGE, coverage
    from atlas_data.ops.zoom import evidence_box

    if not (sample.needs and sample.needs[0].op == "zoom" and out.steps):
        return
    step = out.steps[0].operation
    if step.name == "zoom":
        out.counts["evidence:zooms_known"] += 1
        if coverage(step.params["box"], evidence_box(sample.needs[0])) >= COVERAGE:
            out.counts["evidence:zooms_containing"] += 1


def _direct(
    sample: SourceSample, image: Image.Image, judges: Sequence[Judge]
) -> dict[str, Any] | None:
    """The first judge's proof that the answer is right with no operation, if any."""
    for j in judges:
        direct = getattr(j, "direct", None)
        proof = direct(sample, image) if callable(direct) else None
        if proof is not None:
            return {"judge": j.name, **proof}
    return None
