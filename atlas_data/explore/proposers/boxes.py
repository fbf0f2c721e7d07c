"""``boxes``: the source's own needs, and the variants each operation's spec proposes around
them (a loose zoom, the reversed arrow, one point missed...): plausible, wrong candidates."""

from __future__ import annotations

import random

from atlas_data.explore.proposers import ProposerEntry
from atlas_data.ops import Operation, specs
from atlas_data.ops.frame import Frame
from atlas_data.ops.spec import Need, ProposeContext
from atlas_data.sources.base import SourceSample


def need_proposals(
    need: Need, frame: Frame, sample: SourceSample, seed: int, image: int | None = None
) -> list[Operation]:
    """The needed operation (already in ``frame``'s pixels) and its spec's variants, on
    ``image`` (``None``: the sample has one); distractors are that image's objects."""
    spec = specs().get(need.op)
    mine = [o for o in sample.objects if o.get("image", 0) == need.image]
    objects = [frame.to_canvas(o["box"]) for o in mine] if frame.exact else []
    ctx = ProposeContext(frame.size, objects, random.Random(f"{sample.id}:{seed}:{need.op}"))
    ops = [Operation(need.op, dict(need.params), image)]
    if spec is not None:
        ops += [Operation(need.op, p, image) for p in spec.variants(dict(need.params), ctx)]
    return ops


PROPOSER = ProposerEntry(
    "boxes",
    "the source's own annotations (boxes, points, constructions) and variants around them",
    None,
    default_for=frozenset({"synthetic", "local", "hf"}),
)
