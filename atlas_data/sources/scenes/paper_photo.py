"""What the document families (``calendar``, ``form``, ``venn``) share: a sheet of paper
lying on a table, photographed (a soft shadow, uneven light, then the camera's blur and
JPEG), and handwriting: printed glyphs slanted, jittered and inked in a pen's colour."""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw

from atlas_data.sources.scenes.kit import (
    RGB,
    Box,
    backdrop,
    camera,
    gaussian_blur,
    paper,
    shaded,
    typeface,
    unit,
)

PENS: dict[str, RGB] = {"blue": (30, 50, 150), "black": (35, 35, 45)}


def sheet(rng: random.Random, size: tuple[int, int], margin: float) -> tuple[Image.Image, Box]:
    """A table with a sheet of paper on it, ``margin`` (x the unit) from the edges, over a
    soft shadow. Returns the picture and the sheet's box."""
    w, h = size
    u = unit(size)
    img = backdrop(rng, size, noise=True, light=False)
    m = round(margin * u)
    x0, y0 = m + rng.randint(-8, 8), m + rng.randint(-8, 8)
    box = (max(4, x0), max(4, y0), w - max(4, m + rng.randint(-8, 8)), h - max(4, m - 4))
    shadow = Image.new("L", size, 0)
    off = round(8 * u)
    ImageDraw.Draw(shadow).rectangle(
        (box[0] + off, box[1] + off, box[2] + off, box[3] + off), fill=110
    )
    shadow = gaussian_blur(shadow, 10 * u)
    img = Image.composite(Image.new("RGB", size, (0, 0, 0)), img, shadow)
    img.paste(paper(rng, (box[2] - box[0], box[3] - box[1])), box[:2])
    return img, box


def photograph(img: Image.Image, rng: random.Random) -> tuple[Image.Image, bytes]:
    """Uneven light over the page (a broad gradient, 8-14 % darker at one corner), then
    the camera: blur and JPEG (:func:`kit.camera`)."""
    w, h = img.size
    xs = np.arange(w, dtype=np.float32)[None, :] / w - 0.5
    ys = np.arange(h, dtype=np.float32)[:, None] / h - 0.5
    ax, ay = rng.uniform(-1, 1), rng.uniform(-1, 1)
    t = (ax * xs + ay * ys) / np.float32(max(abs(ax) + abs(ay), 1e-6)) + 0.5
    light = 1.0 - np.float32(rng.uniform(0.08, 0.14)) * t
    return camera(shaded(img, light.astype(np.float32)), rng)


def handwrite(
    img: Image.Image, xy: tuple[float, float], text: str, px: int, ink: RGB, rng: random.Random
) -> list[int]:
    """``text`` written at ``xy`` (left, baseline-ish top) in a slanted, jittery hand of
    font size ``px``; returns the ink's box."""
    font = typeface(rng.choice(("sans", "serif")), px)
    pad = px
    cw = round(font.getlength(text) * 1.1) + 2 * pad
    ch = round(px * 1.6) + 2 * pad
    mask = Image.new("L", (cw, ch), 0)
    d = ImageDraw.Draw(mask)
    x = float(pad)
    for c in text:
        d.text((x, pad + rng.uniform(-0.08, 0.08) * px), c, fill=255, font=font)
        x += font.getlength(c) * rng.uniform(1.0, 1.12)
    slant = rng.uniform(0.12, 0.22)
    mask = mask.transform(
        mask.size, Image.Transform.AFFINE, (1, slant, -slant * ch / 2, 0, 1, 0),
        Image.Resampling.BILINEAR,
    )  # fmt: skip
    bbox = mask.getbbox()
    assert bbox is not None
    ox, oy = round(xy[0]) - pad, round(xy[1]) - pad
    img.paste(Image.new("RGB", mask.size, ink), (ox, oy), mask)
    return [ox + bbox[0], oy + bbox[1], ox + bbox[2], oy + bbox[3]]


def tick(img: Image.Image, box: Box, ink: RGB, rng: random.Random) -> None:
    """A hand-drawn tick (or cross) in a checkbox."""
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    s = x1 - x0
    width = max(2, round(s / 6))
    j = [rng.uniform(-0.06, 0.06) * s for _ in range(6)]
    if rng.random() < 0.5:
        d.line(
            [(x0 + 0.15 * s + j[0], y0 + 0.55 * s + j[1]), (x0 + 0.42 * s, y1 - 0.12 * s + j[2]),
             (x1 + 0.15 * s + j[3], y0 - 0.2 * s + j[4])],
            fill=ink, width=width, joint="curve",
        )  # fmt: skip
    else:
        d.line([(x0 + 0.12 * s, y0 + 0.12 * s + j[0]), (x1 - 0.12 * s, y1 - 0.12 * s + j[1])],
               fill=ink, width=width)  # fmt: skip
        d.line([(x1 - 0.12 * s + j[2], y0 + 0.12 * s), (x0 + 0.12 * s, y1 - 0.12 * s + j[3])],
               fill=ink, width=width)  # fmt: skip
