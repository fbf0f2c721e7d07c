"""visual_similarity: a photographed swatch of patterned cloth (image 1) and two candidate
swatches (images 2 and 3) of the same colours, the same coarse checks and the same tone.
One repeats the reference's small motif (a ring, a plus, a cross...), the other a different
motif inked to the same tone: told apart only at the fine scale. Motifs a few pixels across
are a blur at the budget: zoom into the reference, then into the candidate that repeats it.
Large motifs are seen as they are."""

from __future__ import annotations

import random
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import Family, Scene, ask, camera, grain, hsv

PHRASINGS = (
    "Image 1 is a reference swatch of cloth. Which candidate shares its fine pattern: "
    "A (image 2) or B (image 3)?",
    "Which of the two swatches, A (image 2) or B (image 3), is more similar to the "
    "reference in image 1?",
    "Look at the small repeated motif of the cloth in image 1. Does candidate A (image 2) "
    "or candidate B (image 3) repeat the same motif?",
    "Compared with the reference texture in image 1, which candidate is the closer match, "
    "A (image 2) or B (image 3)?",
    "The swatch in image 1 was cut from the same cloth as one of the candidates. "
    "Which one? Answer A for image 2 or B for image 3.",
    "Which candidate has the same fine-scale pattern as image 1? "
    "Answer A for image 2 or B for image 3.",
)
EASY = 0.2  # share of scenes with large motifs, seen at the budget as they are
LETTERS = ("A", "B")
MOTIFS = ("ring", "plus", "cross", "square", "triangle", "bar pair", "dot pair")


def motif_tile(kind: str, period: int, m: int, stroke: int) -> np.ndarray:
    """One lattice cell (float alpha in 0..1) with the motif ``m`` px across at its middle,
    drawn 4x larger and shrunk, so its strokes are smooth."""
    s = 4
    img = Image.new("L", (period * s, period * s), 0)
    d = ImageDraw.Draw(img)
    c, r, w = period * s / 2, m * s / 2, stroke * s
    if kind == "ring":
        d.ellipse((c - r, c - r, c + r, c + r), outline=255, width=w)
    elif kind == "plus":
        d.rectangle((c - w / 2, c - r, c + w / 2, c + r), fill=255)
        d.rectangle((c - r, c - w / 2, c + r, c + w / 2), fill=255)
    elif kind == "cross":
        d.line((c - r * 0.8, c - r * 0.8, c + r * 0.8, c + r * 0.8), fill=255, width=w)
        d.line((c - r * 0.8, c + r * 0.8, c + r * 0.8, c - r * 0.8), fill=255, width=w)
    elif kind == "square":
        q = r * 0.85
        d.rectangle((c - q, c - q, c + q, c + q), outline=255, width=w)
    elif kind == "triangle":
        d.polygon([(c, c - r), (c + r, c + r * 0.8), (c - r, c + r * 0.8)], outline=255, width=w)
    elif kind == "bar pair":
        for dx in (-r * 0.5, r * 0.5):
            d.rectangle((c + dx - w / 2, c - r, c + dx + w / 2, c + r), fill=255)
    else:  # dot pair
        for dx in (-r * 0.5, r * 0.5):
            d.ellipse((c + dx - r * 0.4, c - r * 0.4, c + dx + r * 0.4, c + r * 0.4), fill=255)
    small = img.resize((period, period), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255


def swatch(
    rng: random.Random,
    size: tuple[int, int],
    tile: np.ndarray,
    cloth: dict[str, Any],
) -> Image.Image:
    """A close photo of the cloth: its colour, its coarse checks, the motif lattice at a
    random phase, soft uneven light."""
    w, h = size
    gen = np.random.default_rng(rng.randrange(2**32))
    p = tile.shape[0]
    dx, dy = rng.randrange(p), rng.randrange(p)
    reps = (h // p + 2, w // p + 2)
    alpha = np.tile(tile, reps)[dy : dy + h, dx : dx + w]
    check = cloth["check"]
    ox, oy = rng.randrange(check), rng.randrange(check)
    xs = ((np.arange(w) + ox) // check) % 2
    ys = ((np.arange(h) + oy) // check) % 2
    bands = (xs[None, :] + ys[:, None]).astype(np.float32) / 2  # 0, 0.5, 1
    light = gen.standard_normal((h // 200 + 2, w // 200 + 2), dtype=np.float32)
    lit = 1 + 0.05 * cv2.resize(light, size, interpolation=cv2.INTER_CUBIC)
    plain, inked = (1 - alpha) * lit, alpha * lit  # per pixel: the cloth's share, the ink's
    checked, noise = bands * plain, grain(gen, size, 2.0)
    out = np.empty((h, w, 3), np.uint8)
    for c in range(3):  # bg, checks and ink mixed by their shares, under the light
        bg, alt, ink = (float(cloth[k][c]) for k in ("bg", "alt", "ink"))
        v = plain * bg + checked * (alt - bg) + inked * ink + noise
        out[:, :, c] = np.clip(v, 0, 255, out=v)
    return Image.fromarray(out)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    k = max(size) / 1600
    easy = rng.random() < EASY
    period = round(rng.uniform(52, 64) * k) if easy else round(rng.uniform(14, 17) * k)
    m = round(period * rng.uniform(0.58, 0.66))  # the motif's size: the telling detail
    stroke = max(1, round(m * 0.16))
    mine, other = rng.sample(MOTIFS, 2)
    tiles = {kind: motif_tile(kind, period, m, stroke) for kind in (mine, other)}
    ink = min(t.mean() for t in tiles.values())  # the same tone: equal ink per cell
    tiles = {kind: t * (ink / t.mean()) for kind, t in tiles.items()}
    hue = rng.random()
    cloth = {
        "bg": hsv(hue, rng.uniform(0.1, 0.3), rng.uniform(0.8, 0.92)),
        "alt": hsv(hue + rng.uniform(-0.08, 0.08), rng.uniform(0.25, 0.45), rng.uniform(0.6, 0.75)),
        "ink": hsv(hue + 0.5, rng.uniform(0.4, 0.7), rng.uniform(0.15, 0.3)),
        "check": round(rng.uniform(140, 220) * k),
    }
    reference, photo = camera(swatch(rng, size, tiles[mine], cloth), rng)
    answer_at = rng.randrange(2)
    kinds = [mine, other] if answer_at == 0 else [other, mine]
    candidates = [camera(swatch(rng, size, tiles[kind], cloth), rng)[0] for kind in kinds]
    answer = LETTERS[answer_at]
    image = answer_at + 1

    def patch() -> list[float]:  # a few cells of the lattice, away from the frame's edges
        pw, ph = 5 * period, 4 * period
        x0 = rng.randint(round(0.1 * w), round(0.9 * w) - pw)
        y0 = rng.randint(round(0.1 * h), round(0.9 * h) - ph)
        return [float(x0), float(y0), float(x0 + pw), float(y0 + ph)]

    repeats = f"candidate {answer} (image {image + 1}) repeats the reference's small {mine}"
    first_clause = repeats if easy else "the small motif repeated across the reference cloth"
    needs = [Need("zoom", {}, first_clause, float(m), patch())]
    if not easy:
        needs.append(Need("zoom", {}, repeats, float(m), patch(), image=image))
    objects: list[dict[str, Any]] = []
    for n in range(3):
        box = [round(v) for v in patch()]
        objects.append({"label": "part of the cloth", "box": box, "image": n})
    annotations = {
        "motif": mine,
        "motifs": {LETTERS[n]: kind for n, kind in enumerate(kinds)},
        "period": period,
        "motif_px": m,
        "easy": easy,
    }
    choices = list(LETTERS) if rng.random() < 0.5 else None
    return Scene(reference, ask(rng, PHRASINGS), answer, annotations, needs, objects, choices,
                 encoded=photo, more_images=candidates)  # fmt: skip


FAMILY = Family(
    "visual_similarity",
    make,
    "which of two cloth swatches repeats a reference's small motif",
    PHRASINGS,
    (("zoom", "zoom"), ()),
    images=3,
)
