"""Candidate proposals: the needed operation hidden among plausible distractors.

For every need, the annotated operation competes with the variants its spec proposes
(for a zoom: a loose zoom, the grid scan, same-size zooms on other objects; for an arrow:
arrows to other objects and the reversed one...), so the judge has to pick the right one.
Proposals are grouped by the need they compete for.
"""

from __future__ import annotations

import random

from atlas_data.ops import Operation, specs
from atlas_data.ops.spec import ProposeContext
from atlas_data.sources.base import SourceSample


def propose(sample: SourceSample, size: tuple[int, int], seed: int = 0) -> list[list[Operation]]:
    """One list of candidates per need, the annotated operation among distractors."""
    ctx = ProposeContext(
        size=size,
        objects=[o["box"] for o in sample.objects],
        rng=random.Random(f"{sample.id}:{seed}"),
    )
    groups: list[list[Operation]] = []
    for need in sample.needs:
        spec = specs().get(need.op)
        group = [Operation(need.op, dict(need.params))]
        if spec is not None:
            group += [Operation(need.op, p) for p in spec.variants(dict(need.params), ctx)]
        ctx.rng.shuffle(group)
        groups.append(group)
    return groups
