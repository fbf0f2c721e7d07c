"""The annotation judge: helpfulness read off the sample's ground-truth ``needs``.

A candidate is helpful when it reproduces a needed operation closely enough *and* the
result is useful at the trainee's pixel budget; how close is close enough is the
operation's own ``match`` (its spec in ``atlas_data/ops``): a zoom must hold the evidence
and take it from below the reading size at the budget to above it, a line or arrow must
join the needed points, a box must overlap the needed region without covering most of
the image, marks must hit every needed point once. A need built from a user's annotations
(or a model's pointing) carries a ``measure``, and must also pass its operation's help rule
(``helps``): numbered marks past four objects, a line on a small offset, boxes on regions
alike and apart, an arrow where the target has rivals; the rule and its numbers are kept in
the evidence whichever way it goes. A sample with no needs gets no opinion (the judge
abstains), so other judges decide alone.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import replace
from typing import Any

from PIL import Image

from atlas_data.config import Budget
from atlas_data.explore.judges import JudgeEntry
from atlas_data.explore.text import glyph_height, is_reading_question
from atlas_data.ops import Operation, specs
from atlas_data.ops.spec import Match, MatchContext, Need
from atlas_data.ops.zoom import evidence_box, evidence_px
from atlas_data.sources.base import SourceSample
from atlas_data.trajectory.judgement import Judgement


class AnnotationJudge:
    """Matches a candidate against the sample's needs with the operation's own ``match``."""

    name = "annotation"
    needs_pixels = False

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        # a need's help rule depends on the need and the canvas, not on the candidate
        self._rules: dict[tuple[int, int], tuple[weakref.ref[Any], Need, Match | None]] = {}
        self._lock = threading.Lock()

    def rule(self, need: Need, ctx: MatchContext, image: Image.Image) -> Match | None:
        """The need's help rule on this canvas (computed once per need and canvas)."""
        spec = specs().get(need.op)
        if spec is None or need.measure is None:
            return None
        key = (id(need), id(image))
        with self._lock:
            hit = self._rules.get(key)
        # the same canvas and need, not reused ids (the need is held, so its id is not)
        if hit is not None and hit[0]() is image and hit[1] is need:
            return hit[2]
        verdict = spec.helps(need, ctx, image)
        with self._lock:
            if len(self._rules) > 64:
                self._rules.clear()
            self._rules[key] = (weakref.ref(image), need, verdict)
        return verdict

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
        ctx = MatchContext(image.size, self.budget)
        best: Judgement | None = None
        for index, need in enumerate(self.needs(sample, image)):
            if need.op != op.name or spec is None or need.image != op.index:
                continue
            m = spec.match(dict(op.params), need, ctx)
            ev = {"need": index, **m.evidence}
            ok = m.ok
            if not ok:
                ev.setdefault("why", f"not the {need.op} the annotations call for")
            if ok:
                ruled = self.rule(need, ctx, image)
                if ruled is not None:  # the help rule's numbers, kept either way
                    ev.update(ruled.evidence, purpose=(need.measure or {}).get("purpose"))
                    ok = ruled.ok
            if ok and need.reveals:  # what the source knows the result shows
                ev["seen"] = need.reveals
            j = Judgement(ok, m.score if ok else 0.0, self.name, ev)
            if best is None or (j.helpful, j.score) > (best.helpful, best.score):
                best = j
        if best is None:
            return Judgement(False, 0.0, self.name, {"why": f"no need for a {op.name}"})
        return best

    def direct(self, sample: SourceSample, image: Image.Image) -> dict[str, Any] | None:
        """Evidence that no operation is needed: every needed zoom's evidence is already
        legible at the budget (the legibility rule, :meth:`Budget.legibility`)."""
        needs = self.needs(sample, image)
        if not needs or any(n.op != "zoom" for n in needs):
            return None
        sizes = [self.budget.legibility(evidence_px(n), image.size) for n in needs]
        if not all(s.legible for s in sizes):
            return None
        seen = "; ".join(n.reveals for n in needs if n.reveals)
        return {"evidence_px_at_budget": round(min(s.before for s in sizes), 2), "seen": seen}


JUDGE = JudgeEntry(
    "annotation",
    "the source's own needs (boxes, points, constructions), matched by each operation's "
    "spec and its rule of when it helps at the budget",
    lambda config: AnnotationJudge(config.budget()),
    default=True,
)
