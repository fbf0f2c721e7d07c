"""``salient``: zooms on the windows densest in edges (Canny on a 512 px copy), after
suppressing overlapping windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from atlas_data.config import Budget
from atlas_data.explore.proposers import ProposerEntry, zoom_on
from atlas_data.ops import Operation
from atlas_data.ops.geometry import iou
from atlas_data.sources.base import SourceSample


@dataclass
class Salient:
    budget: Budget
    top: int = 6
    name: str = "salient"

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]:
        import cv2

        small = canvas.copy()
        small.thumbnail((512, 512))
        s = canvas.width / small.width
        edges = cv2.Canny(np.asarray(small.convert("L")), 80, 160) > 0
        integral = np.pad(edges.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        h, w = edges.shape
        scored: list[tuple[float, list[float]]] = []
        for frac in (4, 8):
            ww, wh = max(8, w // frac), max(8, h // frac)
            for y in range(0, h - wh + 1, max(1, wh // 2)):
                for x in range(0, w - ww + 1, max(1, ww // 2)):
                    total = integral[y + wh, x + ww] - integral[y, x + ww] - integral[y + wh, x]
                    total += integral[y, x]
                    scored.append((total / (ww * wh), [x, y, x + ww, y + wh]))
        scored.sort(key=lambda t: -t[0])
        kept: list[list[float]] = []
        for density, box in scored:
            if density <= 0 or len(kept) >= self.top:
                break
            if all(iou(box, k) < 0.3 for k in kept):
                kept.append(box)
        ops = [zoom_on([v * s for v in b], self.budget) for b in kept]
        return [op for op in ops if op is not None]


PROPOSER = ProposerEntry(
    "salient",
    "the regions densest in edges (OpenCV Canny on a small copy)",
    lambda config: Salient(config.budget()),
    default_for=frozenset({"local", "hf"}),
)
