"""Explore: find where to look, run the candidates on real pixels, keep what helped.

For each step (one per annotated need, in order; one free step when the source annotated
nothing) proposers put candidates forward (:mod:`atlas_data.explore.proposers`) and judges
rule on them. A judge returns a :class:`Judgement` or ``None`` (it abstains: the OCR judge
on a counting question). A candidate is helpful when at least one judge spoke and every
judge that spoke says so. Judges rule first from parameters alone (``screen``; the
annotation judge always can), and only the few survivors, best first and tightest first
on ties, are run and judged on their pixels. A chain's later steps work on the canvas the
earlier ones made, each in its own :class:`~atlas_data.ops.frame.Frame`.

"No operation helps" is a normal outcome: when some judge verifies the answer without
one (``direct``), the result says so, and the sample may become a direct trajectory.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image

from atlas_data.config import Budget
from atlas_data.explore.judges import Judge
from atlas_data.explore.proposers import Proposal, Proposer
from atlas_data.explore.proposers.boxes import need_proposals
from atlas_data.ops import Operation, need_in, specs
from atlas_data.ops.frame import Frame
from atlas_data.ops.geometry import coverage
from atlas_data.ops.spec import MatchContext, Need
from atlas_data.ops.zoom import COVERAGE, evidence_box
from atlas_data.rejections import Rejection
from atlas_data.sources.base import SourceSample
from atlas_data.tokens import Vocabulary
from atlas_data.trajectory.judgement import ChosenStep, Judgement

PIXEL_TRIALS = 4  # candidates run and judged on pixels per step, at most
TRAIL = 3  # candidates kept, with every verdict, on a rejection


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
    """The chain of helpful operations, or the rejection saying why there is none (with
    what was tried in its trail); ``direct`` is a judge's proof that the answer needs no
    operation, which may still make a direct trajectory of a rejected search."""

    steps: list[ChosenStep] = field(default_factory=list)
    rejection: Rejection | None = None
    direct: dict[str, Any] | None = None
    counts: Counter[str] = field(default_factory=Counter)  # proposer:/judge: tallies


def _screen(judge: Any, sample: SourceSample, canvas: Image.Image, op: Operation) -> Any:
    """A judge's verdict from parameters alone, or ``...`` when it needs the pixels."""
    screen = getattr(judge, "screen", None)
    if callable(screen):
        return screen(sample, canvas, op)
    return ... if judge.needs_pixels else judge.judge(sample, canvas, op, None)


def _step(
    sample: SourceSample,
    canvases: Sequence[Image.Image],
    proposals: list[Proposal],
    judges: Sequence[Judge],
    counts: Counter[str],
) -> tuple[Tried | None, list[Tried]]:
    """The chosen candidate of one step (or ``None``) and every candidate tried; each
    candidate runs on the canvas of the image it names."""
    tried, pending = [], []
    for proposal in proposals:
        t = Tried(proposal)
        tried.append(t)
        counts[f"proposer:{proposal.proposer}:proposed"] += 1
        waiting = False
        canvas = canvases[proposal.op.index]
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
        canvas = canvases[t.proposal.op.index]
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
    frames: Sequence[Frame],
    proposers: Sequence[Proposer],
    canvases: Sequence[Image.Image],
    seed: int,
    origin: str = "boxes",
) -> list[Proposal]:
    """The step's candidates: its need and its variants (credited to ``origin``: the
    source's annotations, or the proposer that pointed), and, where a zoom is wanted or
    nothing is known, every free proposer's on every image (or on the need's own)."""
    out: list[Proposal] = []
    several = len(canvases) > 1
    named = (lambda k: k) if several else (lambda k: None)
    if need is not None:
        k = need.image
        ops = need_proposals(need, frames[k], sample, seed, named(k))
        out += [Proposal(op, origin) for op in ops]
    if need is None or need.op == "zoom":
        where = range(len(canvases)) if need is None else [need.image]
        for k in where:
            for p in proposers:
                ops = p.propose(sample, canvases[k])
                out += [Proposal(replace(op, image=named(k)), p.name) for op in ops]
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
    image: Image.Image | Sequence[Image.Image],
    judges: Sequence[Judge],
    vocab: Vocabulary,
    seed: int,
    proposers: Sequence[Proposer],
    budget: Budget,
) -> ExploreResult:
    """The chain of helpful operations for ``sample`` (its image, or its images in order),
    or why there is none. Each need is first completed at the run's ``budget`` by its
    operation's spec. When the needs the question's intent put first find no help, the
    other operations its annotations allow (:attr:`SourceSample.alternatives`) are tried in
    turn: intent orders the candidates, the help rules decide."""
    images = [image] if isinstance(image, Image.Image) else list(image)
    needs: list[Need | None] = list(sample.needs) or ([None] if proposers else [])
    if not needs:
        detail = "the sample has no annotated needs and no proposer ran (--proposer scan...)"
        return ExploreResult(rejection=Rejection("no_candidates", detail, "explore"))
    chains = [sample.needs, *sample.alternatives]
    missing = sorted({n.op for chain in chains for n in chain if n.op not in vocab.by_name})
    if missing:
        detail = f"the sample needs {missing}, which the vocabulary {vocab.name!r} lacks"
        return ExploreResult(rejection=Rejection("operation_not_in_vocabulary", detail, "explore"))
    origin = "boxes"
    if not sample.needs:  # nothing annotated: a proposer may point at what to draw
        for p in proposers:
            point = getattr(p, "annotate", None)
            pointed = point(sample, images[0]) if callable(point) and len(images) == 1 else []
            if pointed:
                sample, origin = replace(sample, needs=pointed), p.name
                chains = [pointed]
                break
    first: ExploreResult | None = None
    counts: Counter[str] = Counter()
    for chain in chains:
        at = complete_needs(replace(sample, needs=chain), [im.size for im in images], budget)
        out = _chain(at, images, judges, seed, proposers, origin)
        counts.update(out.counts)
        if out.rejection is None:
            out.counts = counts
            return out
        first = first or out
    assert first is not None
    first.counts = counts
    return first


def _chain(
    sample: SourceSample,
    images: list[Image.Image],
    judges: Sequence[Judge],
    seed: int,
    proposers: Sequence[Proposer],
    origin: str,
) -> ExploreResult:
    """One chain of needs, step by step; each image keeps its own canvas and frame, and a
    step runs on the latest canvas of the image it names."""
    out = ExploreResult()
    needs: list[Need | None] = list(sample.needs) or [None]
    canvases = list(images)
    frames = [Frame(im.size) for im in images]
    for i, need in enumerate(needs):
        # judges see the step's own need, in the pixels of the canvas it runs on
        here = need_in(frames[need.image], need) if need is not None else None
        at = replace(sample, needs=[here]) if here is not None else sample
        if len(canvases) > 1:  # judges and proposers that ask a model show it every image
            at = replace(at, image=canvases[0], more_images=list(canvases[1:]))
        proposals = _proposals(at, here, frames, proposers, canvases, seed, origin)
        chosen, tried = _step(at, canvases, proposals, judges, out.counts)
        if chosen is None or chosen.result is None:
            if i == 0:
                out.direct = _direct(sample, images, judges)
            tried.sort(key=lambda t: (t.result is None, Tried.rank(t)))
            kinds = ", ".join(sorted({p.op.name for p in proposals})) or "none"
            refusals = Counter(
                str(v.evidence.get("why", "")) if v else "no judge spoke"
                for t in tried
                for v in [t.verdict]
                if not (v and v.helpful)
            )
            common = "; ".join(f"{n}x {why}" for why, n in refusals.most_common(3))
            detail = (
                f"step {i}: none of {len(tried)} candidates ({kinds}) was judged helpful: "
                f"{common or 'no candidate'}"
            )
            trail = [t.trail() for t in tried[:TRAIL]]
            out.rejection = Rejection("no_helpful_operation", detail, "explore", trail)
            out.steps = []
            return out
        verdict = chosen.verdict
        assert verdict is not None
        op = chosen.proposal.op
        k = op.index
        out.steps.append(
            ChosenStep(op, chosen.result, verdict, chosen.proposal.proposer, frames[k])
        )
        frames[k] = op.reframe(frames[k], chosen.result.size)
        canvases[k] = chosen.result
    _containment(sample, out)
    return out


def complete_needs(
    sample: SourceSample, sizes: tuple[int, int] | Sequence[tuple[int, int]], budget: Budget
) -> SourceSample:
    """``sample`` with every need's parameters completed at ``budget`` by its spec, on the
    size of the image it names (``sizes``: one size, or one per image)."""
    every = [sizes] if isinstance(sizes, tuple) else list(sizes)
    done = []
    for n in sample.needs:
        if n.op not in specs():
            done.append(n)
            continue
        ctx = MatchContext(every[n.image], budget)
        done += [replace(m, image=n.image) for m in specs()[n.op].complete(n, ctx)]
    return replace(sample, needs=done)


def _containment(sample: SourceSample, out: ExploreResult) -> None:
    """Tally whether the chosen first zoom holds the source's own evidence region."""
    if not (sample.needs and sample.needs[0].op == "zoom" and out.steps):
        return
    step = out.steps[0].operation
    if step.name == "zoom":
        out.counts["evidence:zooms_known"] += 1
        if coverage(step.params["box"], evidence_box(sample.needs[0])) >= COVERAGE:
            out.counts["evidence:zooms_containing"] += 1


def _direct(
    sample: SourceSample, images: Sequence[Image.Image], judges: Sequence[Judge]
) -> dict[str, Any] | None:
    """The first judge's proof that the answer is right with no operation, if any: on the
    image the needs name (all on one image), else on each image in turn."""
    where = sorted({n.image for n in sample.needs}) or range(len(images))
    if len(where) > 1:
        return None  # needs on several images: no one image proves the answer
    for k in where:
        at = replace(sample, needs=[n for n in sample.needs if n.image == k])
        for j in judges:
            direct = getattr(j, "direct", None)
            proof = direct(at, images[k]) if callable(direct) else None
            if proof is not None:
                return {"judge": j.name, **proof, **({"image": k} if len(images) > 1 else {})}
    return None
