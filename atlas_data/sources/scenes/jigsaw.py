"""jigsaw: a photographed picture with one rectangular piece missing (image 1) and two
loose pieces on a table (images 2 and 3). Both pieces carry the hole's coarse colours; only
the thin strokes (grass, twigs) crossing the hole's edges tell them apart: the right piece
continues them, the other's strokes come from elsewhere in the picture or are mirrored.
Thin strokes a few pixels apart are a blur at the budget: zoom into the hole's border, then
into the piece that continues it. Bold, sparse strokes are seen as they are."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    Family,
    Scene,
    ask,
    backdrop,
    camera,
    gaussian_blur,
    grain,
    hsv,
    muted,
    rgb_planes,
)

PHRASINGS = (
    "Image 1 is a picture with one piece missing. Which candidate piece fits the gap: "
    "A (image 2) or B (image 3)?",
    "Which piece completes the picture in image 1, A (image 2) or B (image 3)?",
    "One of the pieces shown in images 2 and 3 was cut out of the hole in image 1. "
    "Which one is it? Answer A for image 2 or B for image 3.",
    "The empty spot in image 1 is filled by exactly one of two pieces. "
    "Is it A (image 2) or B (image 3)?",
    "Which candidate continues the picture across the edges of the hole in image 1: "
    "A (image 2) or B (image 3)?",
    "Pick the piece that belongs in the empty rectangle of image 1. "
    "Answer A for image 2 or B for image 3.",
)
EASY = 0.2  # share of scenes with bold strokes, seen at the budget as they are
LETTERS = ("A", "B")


def landscape(rng: random.Random, size: tuple[int, int]) -> np.ndarray:
    """A soft photo-like base (uint8 RGB): sky over ground, blurred blobs, fine grain."""
    w, h = size
    gen = np.random.default_rng(rng.randrange(2**32))
    horizon = round(h * rng.uniform(0.2, 0.45))
    sky = np.array(hsv(rng.uniform(0.5, 0.65), rng.uniform(0.15, 0.4), 0.9), np.float32)
    ground = np.array(hsv(rng.uniform(0.12, 0.3), rng.uniform(0.3, 0.55), 0.72), np.float32)
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    rows = np.arange(h)[:, None, None]
    arr = np.where(rows < horizon, sky * (0.85 + 0.15 * t), ground * (0.9 + 0.2 * t))
    img = Image.fromarray(np.broadcast_to(arr.clip(0, 255).astype(np.uint8), (h, w, 3)).copy())
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(5, 9)):  # bushes and rocks, blurred to soft blobs
        r = rng.uniform(0.05, 0.16) * w
        cx, cy = rng.uniform(0, w), rng.uniform(horizon, h)
        d.ellipse((cx - r, cy - 0.6 * r, cx + r, cy + 0.6 * r), fill=muted(rng, (0.45, 0.75)))
    arr = np.asarray(gaussian_blur(img, 0.03 * w))
    noise = gen.normal(0, 1, (h // 48 + 2, w // 48 + 2)).astype(np.float32)
    soft = np.asarray(Image.fromarray(noise).resize(size, Image.Resampling.BICUBIC))
    mottle = soft * 9 + grain(gen, (w, h), 2.0)
    return rgb_planes([arr[:, :, c] + mottle for c in range(3)]).clip(30, 245)


def strokes(
    rng: random.Random, size: tuple[int, int], hole: list[int], spacing: float, bold: bool
) -> tuple[Image.Image, int, list[list[float]]]:
    """A layer of thin (or bold) strokes over the whole picture, added until they cross the
    hole's edges every ``spacing`` px on average; with the crossings and the strokes."""
    w, h = size
    k = max(size) / 1600
    x0, y0, x1, y1 = hole
    perimeter = 2 * ((x1 - x0) + (y1 - y0))
    want = math.ceil(perimeter / spacing)
    grass = rng.random() < 0.5  # grass blades stand near upright; twigs lie any way
    ink_h, ink_s = rng.uniform(0.05, 0.35), rng.uniform(0.3, 0.6)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    segs: list[list[float]] = []
    crossings = 0
    while crossings < want and len(segs) < 20000:
        length = rng.uniform(80, 240) * k * (2.0 if bold else 1.0)
        a = rng.gauss(math.pi / 2, 0.35) if grass else rng.uniform(0, math.pi)
        cx, cy = rng.uniform(-40, w + 40), rng.uniform(-40, h + 40)
        dx, dy = 0.5 * length * math.cos(a), 0.5 * length * math.sin(a)
        seg = [cx - dx, cy - dy, cx + dx, cy + dy]
        width = rng.randint(5, 7) if bold else rng.choice((2, 2, 3))
        colour = (*hsv(ink_h + rng.uniform(-0.04, 0.04), ink_s, rng.uniform(0.08, 0.25)), 255)
        d.line(seg, fill=colour, width=width)
        segs.append(seg)
        crossings += edge_crossings(seg, hole)
    return layer, crossings, segs


def edge_crossings(seg: list[float], box: list[int]) -> int:
    """How many times the segment crosses the four edges of ``box``."""
    ax, ay, bx, by = seg
    x0, y0, x1, y1 = box
    n = 0
    for yy in (y0, y1):
        if (ay - yy) * (by - yy) < 0:
            x = ax + (yy - ay) * (bx - ax) / (by - ay)
            n += x0 <= x <= x1
    for xx in (x0, x1):
        if (ax - xx) * (bx - xx) < 0:
            y = ay + (xx - ax) * (by - ay) / (bx - ax)
            n += y0 <= y <= y1
    return n


def on_table(
    rng: random.Random, size: tuple[int, int], table: Image.Image, piece: Image.Image
) -> tuple[Image.Image, list[int]]:
    """A photo of ``piece`` lying on the table, with a soft shadow; and where it lies."""
    w, h = size
    pw, ph = piece.size
    mx, my = round(0.12 * w), round(0.12 * h)
    x = rng.randint(mx, w - mx - pw)
    y = rng.randint(my, h - my - ph)
    img = table.copy()
    shadow = Image.new("L", size, 0)
    off = max(4, round(0.006 * w))
    ImageDraw.Draw(shadow).rectangle((x + off, y + off, x + pw + off, y + ph + off), fill=110)
    shadow = gaussian_blur(shadow, off)
    img.paste((15, 15, 15), (0, 0, w, h), shadow)
    img.paste(piece, (x, y))
    return img, [x, y, x + pw, y + ph]


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    k = max(size) / 1600
    easy = rng.random() < EASY
    spacing = rng.uniform(26, 36) * k if easy else rng.uniform(7.5, 9.5) * k
    hw = round(w * rng.uniform(0.15, 0.2))
    hh = round(hw * rng.uniform(0.75, 1.05))
    mx, my = round(0.6 * hw), round(0.6 * hh)
    hx, hy = rng.randint(mx, w - mx - hw), rng.randint(my, h - my - hh)
    hole = [hx, hy, hx + hw, hy + hh]
    cut = (hx, hy, hx + hw, hy + hh)

    base = Image.fromarray(landscape(rng, size)).convert("RGBA")
    layer, crossings, _ = strokes(rng, size, hole, spacing, easy)
    detail = 2 * (hw + hh) / max(1, crossings)  # px between neighbouring crossings
    picture = Image.alpha_composite(base, layer).convert("RGB")
    right = picture.crop(cut)

    # The wrong piece: the hole's own coarse colours with strokes from elsewhere, or mirrored.
    mode = rng.choice(("elsewhere", "mirrored"))
    if mode == "elsewhere":  # as much ink as the hole's strokes: no tone tells them apart
        alpha = np.asarray(layer.getchannel("A"), dtype=np.float32)
        ink = alpha[hy : hy + hh, hx : hx + hw].mean()
        spots: list[tuple[float, int, int]] = []
        while len(spots) < 40:
            ox, oy = rng.randint(0, w - hw), rng.randint(0, h - hh)
            if abs(ox - hx) > hw or abs(oy - hy) > hh:
                spots.append((float(abs(alpha[oy : oy + hh, ox : ox + hw].mean() - ink)), ox, oy))
        _, ox, oy = min(spots)
        strokes_wrong = layer.crop((ox, oy, ox + hw, oy + hh))
    else:
        flip = rng.choice((Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM))
        strokes_wrong = layer.crop(cut).transpose(flip)
    wrong = Image.alpha_composite(base.crop(cut), strokes_wrong).convert("RGB")

    # Image 1: the picture with the piece out, the table showing through the hole.
    table = backdrop(rng, size, noise=True, light=False)
    shown = picture.copy()
    gap = table.crop(cut)
    gd = ImageDraw.Draw(gap)
    rim = max(3, round(0.004 * w))
    for i in range(rim):  # the picture's thickness casts a thin shadow inside the hole
        shade = (10 + 12 * i,) * 3
        gd.line((0, i, hw, i), fill=shade)
        gd.line((i, 0, i, hh), fill=shade)
    shown.paste(gap, (hx, hy))
    first, photo = camera(shown, rng)

    answer_at = rng.randrange(2)  # 0: image 2 holds the right piece
    pieces = [right, wrong] if answer_at == 0 else [wrong, right]
    candidates: list[Image.Image] = []
    boxes: list[list[int]] = []
    for piece in pieces:
        img, box = on_table(rng, size, table, piece)
        candidates.append(camera(img, rng)[0])
        boxes.append(box)
    answer = LETTERS[answer_at]
    image = answer_at + 1

    ring = max(6.0, 1.5 * spacing)  # the picture just outside the hole's edges
    border = [max(0.0, hx - ring), max(0.0, hy - ring), min(w, hx + hw + ring),
              min(h, hy + hh + ring)]  # fmt: skip
    continues = (
        f"the strokes of piece {answer} (image {image + 1}) continue those at every edge "
        "of the hole"
    )
    first_clause = continues if easy else "the strokes that meet the edges of the hole in image 1"
    needs = [Need("zoom", {}, first_clause, detail, border)]
    if not easy:
        needs.append(
            Need("zoom", {}, continues, detail, [float(v) for v in boxes[answer_at]], image=image)
        )  # fmt: skip
    objects: list[dict[str, Any]] = []
    for _ in range(3):  # other parts of the picture, the size of the hole
        ox, oy = rng.randint(0, w - hw), rng.randint(0, h - hh)
        objects.append({"label": "part of the picture", "box": [ox, oy, ox + hw, oy + hh]})
    for n, box in enumerate(boxes):
        objects.append({"label": f"piece {LETTERS[n]}", "box": box, "image": n + 1})
        bx = 0 if box[0] > w / 2 else w - hw
        objects.append({"label": "table", "box": [bx, box[1], bx + hw, box[3]], "image": n + 1})
    annotations = {
        "hole": hole,
        "pieces": {LETTERS[n]: {"image": n + 1, "box": box} for n, box in enumerate(boxes)},
        "wrong": mode,
        "easy": easy,
        "detail_px": round(detail, 2),
        "crossings": crossings,
    }
    choices = list(LETTERS) if rng.random() < 0.5 else None
    return Scene(first, ask(rng, PHRASINGS), answer, annotations, needs, objects, choices,
                 encoded=photo, more_images=candidates)  # fmt: skip


FAMILY = Family(
    "jigsaw",
    make,
    "which of two loose pieces fills the hole in a picture",
    PHRASINGS,
    (("zoom", "zoom"), ()),
    images=3,
)
