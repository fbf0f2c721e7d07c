"""Distinct things in an image, found from its pixels: what a help rule counts when no
annotation lists them (is the target the only thing near its anchor?).

A thing is a connected region that stands out from its local background: the image is
seen at a small size, the background estimated by a wide median blur, and pixels that
differ from it by more than :data:`CONTRAST` form regions; specks are dropped. Smooth
texture (grass, paper, sky) stays below the threshold; letters, shapes and objects rise
above it.

The analysis size, :data:`ANALYSIS_SIDE`, is not the trainee's budget, on purpose: what
is counted is a property of the scene (is the target the only thing near its anchor?), not
of how small the trainee sees it, so a run at ``--budget-side 768`` finds the same rivals
as one at 1024; the closing (5 px) and the blur are in pixels of that fixed size; and a
caller with no run at hand (the test stand-in model that points at things) finds the same
things.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

ANALYSIS_SIDE = 1024  # longest side things are found at: fixed, not the budget (see above)
CONTRAST = 40  # levels (in any channel) a thing differs from its local background by
MIN_AREA = 0.00004  # of the analysed image (about 30 px at 1024x768): smaller are specks


def blobs(image: Image.Image) -> list[list[float]]:
    """Boxes (in ``image``'s pixels) of the distinct things in ``image``."""
    import cv2

    small = image.convert("RGB")
    small.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE))
    scale = image.width / small.width
    arr = np.asarray(small, dtype=np.int16)
    k = max(3, (min(small.size) // 8) | 1)
    background = cv2.medianBlur(np.asarray(small), k).astype(np.int16)
    mask = (np.abs(arr - background).max(axis=2) > CONTRAST).astype(np.uint8)
    # strokes of one glyph or one object join into one region
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    floor = MIN_AREA * small.width * small.height
    out = []
    for x, y, w, h, area in stats[1:n]:
        if area >= floor:
            out.append([x * scale, y * scale, (x + w) * scale, (y + h) * scale])
    return out
