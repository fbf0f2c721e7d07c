"""``text``: a tight zoom and a zoom with context on every line the OCR *detector* finds
(detection only: cheap)."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from atlas_data.config import Budget
from atlas_data.explore.proposers import ProposerEntry, zooms_around
from atlas_data.explore.text import shared_engine, text_lines
from atlas_data.ops import Operation
from atlas_data.sources.base import SourceSample


@dataclass
class TextRegions:
    budget: Budget
    name: str = "text"

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]:
        out = []
        for line in text_lines(shared_engine(), canvas, self.budget):
            x0, y0, x1, y1 = line.box
            bw, bh = x1 - x0, y1 - y0
            out += zooms_around(
                line.box, [(bw + 2 * bh, 3 * bh), (3 * bw, 8 * bh)], canvas.size, self.budget
            )
        return out


PROPOSER = ProposerEntry(
    "text",
    "text lines the OCR detector finds, zoomed tightly and with context",
    lambda config: TextRegions(config.budget()),
    default_for=frozenset({"local", "hf"}),
)
