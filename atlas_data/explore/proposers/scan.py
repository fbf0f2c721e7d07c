"""``scan``: half-overlapping tiles at 1/2, 1/3, 1/4 and 1/6 of the canvas, each zoomed to
fill the budget. Needs nothing: it finds evidence no record boxed."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from atlas_data.config import Budget
from atlas_data.explore.proposers import ProposerEntry, zoom_on
from atlas_data.ops import Operation
from atlas_data.ops.geometry import box_around
from atlas_data.sources.base import SourceSample


@dataclass
class Scan:
    budget: Budget
    divisions: tuple[int, ...] = (2, 3, 4, 6)
    name: str = "scan"

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]:
        w, h = canvas.size
        out = []
        for d in self.divisions:
            tw, th = w / d, h / d
            steps = 2 * d - 1
            for r in range(steps):
                for c in range(steps):
                    b = box_around((c + 1) * tw / 2, (r + 1) * th / 2, tw, th, canvas.size)
                    op = zoom_on(b, self.budget)
                    if op is not None:
                        out.append(op)
        return out


PROPOSER = ProposerEntry(
    "scan",
    "overlapping tiles at several sizes over the whole canvas, each filling the budget",
    lambda config: Scan(config.budget()),
    default_for=frozenset({"synthetic", "local", "hf"}),
)
