"""Small real runs for the query/report/publish tests, with real rejections in them.

The pipeline is the real one; only the teacher is a deterministic wrapper around the
offline template teacher that answers every fourth sample wrongly and refuses every
seventh, so the verifier writes ``rejects`` rows with real reasons.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from atlas_data.config import RunConfig
from atlas_data.run.driver import finalize
from atlas_data.run.plan import RunPlan
from atlas_data.run.shard import process_shard
from atlas_data.teacher.base import TeachRequest, TeachResult
from atlas_data.teacher.template import TemplateTeacher


class SometimesWrongTeacher:
    name = "sometimes-wrong"
    budget = None  # reads no image, like the template teacher it wraps

    def __init__(self) -> None:
        self.inner = TemplateTeacher()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    async def teach(self, request: TeachRequest) -> TeachResult:
        h = int(hashlib.sha256(request.sample_id.encode()).hexdigest(), 16)
        if h % 7 == 0:
            return TeachResult(None, "teacher_refused", "the teacher declined", raw="no")
        result = await self.inner.teach(request)
        if h % 4 == 0 and result.reasoning is not None:
            wrong = dataclasses.replace(result.reasoning, answer="definitely-wrong")
            return dataclasses.replace(result, reasoning=wrong)
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()


def make_run(out: str, split: str = "both", n: int = 20, seed: int = 5) -> tuple[str, dict]:
    """Run the pipeline shard by shard with the teacher above; returns (run folder, manifest)."""
    config = RunConfig(
        split=split, n=n, seed=seed, shard_size=8, out=out, source_options={"size": [640, 480]}
    )
    plan, teacher = RunPlan.resolve(config), SometimesWrongTeacher()
    seen: set[str] = set()
    for index in range(plan.shard_count() or 0):
        record = process_shard(plan, index, seen, teacher=teacher)
        seen.update(record.keys)
    return str(plan.run_dir.root), finalize(plan)
