"""The annotation judge: helpfulness read off the sample's ground-truth ``needs``.

A candidate is helpful when it reproduces a needed operation closely enough *and* the
result is useful at the trainee's pixel budget; how close is close enough is the
operation's own ``match`` (its spec in ``atlas_data/ops``): a zoom must hold the evidence
and take it from below the reading size at the budget to above it, a line or arrow must
join the needed points, a box must overlap the needed region without covering most of
the image, marks must hit every needed point once. A sample with no needs gets no opinion
(the judge abstains), so other judges decide alone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PIL import Image

from atlas_data.config import Budget
from atlas_data.explore.judges import JudgeEntry
from atlas_data.explore.text import glyph_height, is_reading_question
from atlas_data.ops import Operation, specs
from atlas_data.ops.spec import MatchContext, Need
from atlas_data.ops.zoom import evidence_box, evidence_px
from atlas_data.sources.base import SourceSample
from atlas_data.trajectory.judgement import Judgement


class AnnotationJudge:
    """Matches a candidate against the sample's needs with the operation's own ``match``."""

    name = "annotation"
    needs_pixels = False

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()

    def needs(self, sample: SourceSample, image: Image.Image) -> list[Need]:
        """The sample's needs, a zoom on text given the glyph height measured in its box (a
        box's short side says little about the size of the letters inside)."""
        if not is_reading_question(sample):
            return sample.needs
        out = []
        for need in sample.needs:
            if need.op == "zoom" and need.detail_px is None:
                x0, y0, x1, y1 = evidence_box(need)
                crop = image.crop((x0, y0, x1, y1))
                need = replace(need, detail_px=glyph_height(crop) or None)
            out.append(need)
        return out

    def judge(
        self, sample: SourceSample, image: Image.Image, op: Operation, result: Image.Image | None
    ) -> Judgement | None:
        if not sample.needs:
            return None  # nothing annotated: no opinion
        spec = specs().get(op.name)
        ctx = MatchContext.of(image.size, self.budget)
        best: Judgement | None = None
        for index, need in enumerate(self.needs(sample, image)):
            if need.op != op.name or spec is None:
                continue
            m = spec.match(dict(op.params), need, ctx)
            ev = {"need": index, **m.evidence}
            if m.ok and need.reveals:  # what the source knows the result shows
                ev["seen"] = need.reveals
            j = Judgement(m.ok, m.score, self.name, ev)
            if best is None or (j.helpful, j.score) > (best.helpful, best.score):
                best = j
        if best is None:
            return Judgement(False, 0.0, self.name, {"why": f"no need for a {op.name}"})
        return best

    def direct(self, sample: SourceSample, image: Image.Image) -> dict[str, Any] | None:
        """Evidence that no operation is needed: every needed zoom's evidence is already at
        least the reading size at the budget."""
        needs = self.needs(sample, image)
        if not needs or any(n.op != "zoom" for n in needs):
            return None
        scale = self.budget.scale(image.size)
        sizes = [evidence_px(n) * scale for n in needs]
        if min(sizes) < self.budget.reading_px:
            return None
        seen = "; ".join(n.reveals for n in needs if n.reveals)
        return {"evidence_px_at_budget": round(min(sizes), 2), "seen": seen}


JUDGE = JudgeEntry(
    "annotation",
    "the source's own needs (boxes, points, constructions), matched by each operation's "
    "spec and its rule of when it helps at the budget",
    lambda config: AnnotationJudge(config.budget()),
    default=True,
)
