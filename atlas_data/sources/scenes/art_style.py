"""art_style: a photographed reference painting (image 1) and two candidate paintings
(images 2 and 3) of other subjects, BLINK-style. All three share one palette and one mark
size; one candidate is painted in the reference's technique (pointillist dots, parallel
hatching, cross-hatching or short brush dabs), the other in another technique with the
same palette, mark size and ink coverage, so the two look alike at a glance. Marks a few
pixels across are a grainy tone at the budget: zoom into a patch of the reference, then
into the candidate painted the same way. Coarse marks are seen as they are."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import Family, Scene, ask, backdrop, camera, gaussian_blur, hsv

PHRASINGS = (
    "Image 1 is a reference painting. Which candidate is painted in the same style: "
    "A (image 2) or B (image 3)?",
    "Which of the two paintings, A (image 2) or B (image 3), shares the artistic style of "
    "the painting in image 1?",
    "Ignore what the paintings show. Is candidate A (image 2) or candidate B (image 3) "
    "made with the same technique as the reference in image 1?",
    "The painting in image 1 and one of the candidates are by the same hand, in the same "
    "style. Which one? Answer A for image 2 or B for image 3.",
    "Compare the brushwork: which candidate matches the reference painting's style, "
    "A (image 2) or B (image 3)?",
    "Which candidate painting has the same style as image 1? "
    "Answer A for image 2 or B for image 3.",
)
EASY = 0.2  # share of scenes with coarse marks, seen at the budget as they are
LETTERS = ("A", "B")
TECHNIQUES = ("dots", "hatching", "cross-hatching", "dabs")
COVER = 0.5  # share of the canvas the marks cover, the same for every technique
SUBJECTS = ("landscape", "still life", "seascape")
NAMES = {
    "dots": "pointillist dots",
    "hatching": "parallel hatching",
    "cross-hatching": "cross-hatching",
    "dabs": "short brush dabs",
}


def subject(rng: random.Random, size: tuple[int, int], palette: list[tuple[int, int, int]],
            kind: str) -> np.ndarray:  # fmt: skip
    """What a painting shows, as soft colour fields (float RGB) in the palette's colours."""
    w, h = size
    img = Image.new("RGB", size, palette[0])
    d = ImageDraw.Draw(img)
    cols = palette[1:]
    if kind == "landscape":
        horizon = h * rng.uniform(0.35, 0.55)
        for k in range(3):  # hills, far to near
            y0 = horizon + k * h * 0.12
            pts = [(x, y0 + rng.uniform(-0.12, 0.08) * h) for x in np.linspace(0, w, 7)]
            d.polygon([(0, h), *pts, (w, h)], fill=cols[k % len(cols)])
        r = rng.uniform(0.05, 0.09) * w
        sx, sy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.3) * h
        d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=cols[3])
    elif kind == "still life":
        d.rectangle((0, h * rng.uniform(0.55, 0.7), w, h), fill=cols[0])
        for k in range(rng.randint(3, 4)):
            cx = w * (0.2 + 0.2 * k + rng.uniform(-0.05, 0.05))
            rw, rh = rng.uniform(0.06, 0.11) * w, rng.uniform(0.1, 0.25) * h
            cy = h * 0.62 - rh * 0.6
            d.ellipse((cx - rw, cy - rh, cx + rw, cy + rh), fill=cols[1 + k % (len(cols) - 1)])
    else:  # seascape
        sea = h * rng.uniform(0.45, 0.6)
        d.rectangle((0, sea, w, h), fill=cols[1])
        for k in range(5):
            y = sea + (k + 1) * (h - sea) / 6
            d.line([(x, y + 6 * math.sin(x / 40 + k)) for x in range(0, w, 20)],
                   fill=cols[2], width=max(4, h // 60))  # fmt: skip
        bx, by = rng.uniform(0.2, 0.8) * w, sea
        d.polygon([(bx, by - 0.3 * h), (bx, by - 0.02 * h), (bx + 0.15 * w, by - 0.02 * h)],
                  fill=cols[3])  # fmt: skip
        d.rectangle((bx - 0.1 * w, by - 0.02 * h, bx + 0.18 * w, by + 0.02 * h), fill=cols[0])
    img = gaussian_blur(img, max(size) / 150)
    return np.asarray(img, dtype=np.float32)


def paint(rng: random.Random, colours: np.ndarray, technique: str, period: float,
          angle: float, ground: tuple[int, int, int]) -> Image.Image:  # fmt: skip
    """``colours`` (a subject) painted in ``technique``: marks ``period`` px apart, each in
    the subject's colour where it lies (a little varied), on a light ground; the marks
    cover about ``COVER`` of the canvas whatever the technique."""
    h, w = colours.shape[:2]
    s = 2  # drawn 2x larger and shrunk: smooth marks
    gen = np.random.default_rng(rng.randrange(2**32))
    gx, gy = np.meshgrid(np.arange(period / 2, w, period), np.arange(period / 2, h, period))
    gx, gy = gx.ravel(), gy.ravel()
    width = 0.0
    if technique == "dots":
        r = math.sqrt(COVER / math.pi) * period
        x = gx + gen.uniform(-0.12, 0.12, gx.size) * period
        y = gy + gen.uniform(-0.12, 0.12, gy.size) * period
        marks = np.stack([x - r, y - r, x + r, y + r], axis=1)
    elif technique in ("hatching", "cross-hatching"):
        angles = [angle] if technique == "hatching" else [angle, angle + math.pi / 2]
        width = COVER * period if technique == "hatching" else (1 - math.sqrt(1 - COVER)) * period
        seg, diag = 3 * period, math.hypot(w, h)
        offs, ts = np.meshgrid(np.arange(-diag / 2, diag / 2, period),
                               np.arange(-diag / 2, diag / 2, seg))  # fmt: skip
        parts = []
        for a in angles:
            ux, uy = math.cos(a), math.sin(a)  # along the strokes; (-uy, ux) across them
            x0 = w / 2 - uy * offs.ravel() + ux * ts.ravel()
            y0 = h / 2 + ux * offs.ravel() + uy * ts.ravel()
            parts.append(np.stack([x0, y0, x0 + ux * seg, y0 + uy * seg], axis=1))
        marks = np.concatenate(parts)
        xs, ys = marks[:, 0::2], marks[:, 1::2]
        keep = (xs.max(axis=1) > -seg) & (xs.min(axis=1) < w + seg)
        keep &= (ys.max(axis=1) > -seg) & (ys.min(axis=1) < h + seg)
        marks = marks[keep]
    else:  # dabs: short strokes whose direction follows a smooth flow over the canvas
        flow = gen.normal(0, 1, (4, 4)).astype(np.float32)
        field = np.asarray(Image.fromarray(flow).resize((w, h), Image.Resampling.BICUBIC))
        length, width = 1.7 * period, 0.42 * period
        x = gx + gen.uniform(-0.3, 0.3, gx.size) * period
        y = gy + gen.uniform(-0.3, 0.3, gy.size) * period
        a = (
            angle
            + field[np.minimum(h - 1, gy.astype(int)), np.minimum(w - 1, gx.astype(int))] * 1.5
        )
        dx, dy = 0.5 * length * np.cos(a), 0.5 * length * np.sin(a)
        marks = np.stack([x - dx, y - dy, x + dx, y + dy], axis=1)
    # each mark in the subject's colour at its middle, a little lighter or darker
    mx = np.clip(((marks[:, 0] + marks[:, 2]) / 2).astype(int), 0, w - 1)
    my = np.clip(((marks[:, 1] + marks[:, 3]) / 2).astype(int), 0, h - 1)
    fills = np.clip(colours[my, mx] * gen.uniform(0.85, 1.1, (len(marks), 1)), 0, 255)
    fills = fills.astype(np.uint8).tolist()
    boxes = (marks * s).tolist()
    img = Image.new("RGB", (w * s, h * s), ground)
    d = ImageDraw.Draw(img)
    if technique == "dots":
        for box, fill in zip(boxes, fills, strict=True):
            d.ellipse(box, fill=tuple(fill))
    else:
        lw = max(1, round(width * s))
        for box, fill in zip(boxes, fills, strict=True):
            d.line(box, fill=tuple(fill), width=lw)
    return img.resize((w, h), Image.Resampling.BOX)


def photo(rng: random.Random, size: tuple[int, int], painting: Image.Image) -> tuple[
    Image.Image, bytes, list[int]]:  # fmt: skip
    """The painting in a wooden frame on a wall, photographed; where the canvas lies."""
    w, h = size
    wall = backdrop(rng, size, noise=True, light=True)
    cw, ch = painting.size
    x0 = rng.randint(round(0.04 * w), w - cw - round(0.04 * w))
    y0 = rng.randint(round(0.05 * h), h - ch - round(0.05 * h))
    d = ImageDraw.Draw(wall)
    rim = round(0.02 * w)
    wood = hsv(rng.uniform(0.05, 0.1), rng.uniform(0.4, 0.6), rng.uniform(0.25, 0.45))
    d.rectangle(
        (x0 - rim + 6, y0 - rim + 8, x0 + cw + rim + 6, y0 + ch + rim + 8), fill=(90, 88, 84)
    )
    d.rectangle((x0 - rim, y0 - rim, x0 + cw + rim, y0 + ch + rim), fill=wood)
    wall.paste(painting, (x0, y0))
    img, data = camera(wall, rng)
    return img, data, [x0, y0, x0 + cw, y0 + ch]


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    k = max(size) / 1600
    easy = rng.random() < EASY
    period = rng.uniform(26, 34) * k if easy else rng.uniform(5.5, 7.5) * k
    mine, other = rng.sample(TECHNIQUES, 2)
    angle = rng.choice((math.pi / 4, -math.pi / 4, math.pi / 3, -math.pi / 6))
    hue = rng.random()
    palette = [hsv(hue + rng.uniform(-0.06, 0.06), rng.uniform(0.25, 0.45), 0.88)]
    palette += [hsv(hue + off, rng.uniform(0.5, 0.8), rng.uniform(0.4, 0.8))
                for off in (0.08, 0.33, 0.5, 0.62, 0.9)]  # fmt: skip
    ground = hsv(hue, 0.06, 0.95)
    cw, ch = round(w * rng.uniform(0.55, 0.65)), round(h * rng.uniform(0.55, 0.65))
    subjects = rng.sample(SUBJECTS, 3)
    answer_at = rng.randrange(2)
    kinds = [mine, other] if answer_at == 0 else [other, mine]
    shots = []
    for n, technique in enumerate([mine, *kinds]):
        colours = subject(rng, (cw, ch), palette, subjects[n])
        shots.append(photo(rng, size, paint(rng, colours, technique, period, angle, ground)))
    reference, encoded, canvas0 = shots[0]
    answer = LETTERS[answer_at]
    image = answer_at + 1

    def patch(canvas: list[int]) -> list[float]:  # a few marks, inside the canvas
        pw, ph = 6 * period, 5 * period
        x0 = rng.uniform(canvas[0] + 0.1 * cw, canvas[2] - 0.1 * cw - pw)
        y0 = rng.uniform(canvas[1] + 0.1 * ch, canvas[3] - 0.1 * ch - ph)
        return [round(x0, 1), round(y0, 1), round(x0 + pw, 1), round(y0 + ph, 1)]

    same = (
        f"candidate {answer} (image {image + 1}) is painted in {NAMES[mine]} like the "
        "reference; the other candidate in " + NAMES[other]
    )
    first = same if easy else f"the reference is painted in {NAMES[mine]}"
    needs = [Need("zoom", {}, first, float(period), patch(canvas0))]
    if not easy:
        needs.append(Need("zoom", {}, same, float(period), patch(shots[image][2]), image=image))
    objects: list[dict[str, Any]] = []
    for n in range(3):
        objects.append({"label": "painting", "box": shots[n][2], "image": n})
        part = [round(v) for v in patch(shots[n][2])]
        objects.append({"label": "part of a painting", "box": part, "image": n})
    annotations = {
        "technique": mine,
        "techniques": {LETTERS[n]: kind for n, kind in enumerate(kinds)},
        "period": round(period, 2),
        "angle_deg": round(math.degrees(angle), 1),
        "canvases": [shot[2] for shot in shots],
        "subjects": subjects,
        "easy": easy,
    }
    choices = list(LETTERS) if rng.random() < 0.5 else None
    return Scene(reference, ask(rng, PHRASINGS), answer, annotations, needs, objects, choices,
                 encoded=encoded, more_images=[shots[1][0], shots[2][0]])  # fmt: skip


FAMILY = Family(
    "art_style",
    make,
    "which of two paintings of other subjects is painted in a reference painting's style",
    PHRASINGS,
    (("zoom", "zoom"), ()),
    images=3,
)
