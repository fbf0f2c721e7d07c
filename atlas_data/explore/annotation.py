"""The annotation judge: helpfulness read off the sample's ground-truth ``needs``.

A candidate is helpful when it reproduces a needed operation closely enough *and* the
result is useful at the trainee's pixel budget: a zoom must contain the target and make it
at least ``readable_px`` tall once the result is shown at ``max_side``; a line or arrow must
join the needed points; a box must overlap the needed region; marks must hit every needed
point once.
"""

from __future__ import annotations

from PIL import Image

from atlas_data.config import DEFAULT_BUDGET_SIDE
from atlas_data.judgement import Judgement
from atlas_data.ops import Operation, specs
from atlas_data.ops.spec import MatchContext
from atlas_data.sources.base import SourceSample

READABLE_PX = 20.0  # glyph height a VLM reads reliably at its own resolution


class AnnotationJudge:
    """Matches a candidate against the sample's needs with the operation's own ``match``."""

    name = "annotation"
    needs_pixels = False

    def __init__(
        self, max_side: int = DEFAULT_BUDGET_SIDE, readable_px: float = READABLE_PX
    ) -> None:
        self.max_side = max_side
        self.readable_px = readable_px

    def judge(
        self, sample: SourceSample, image: Image.Image, op: Operation, result: Image.Image | None
    ) -> Judgement | None:
        spec = specs().get(op.name)
        ctx = MatchContext(image.size, self.max_side, self.readable_px)
        best: Judgement | None = None
        for index, need in enumerate(sample.needs):
            if need.op != op.name or spec is None:
                continue
            m = spec.match(dict(op.params), need, ctx)
            j = Judgement(
                m.ok, m.score, self.name, {"need": index, "reveals": need.reveals, **m.evidence}
            )
            if best is None or (j.helpful, j.score) > (best.helpful, best.score):
                best = j
        if best is None:
            return Judgement(False, 0.0, self.name, {"why": f"no need for a {op.name}"})
        return best
