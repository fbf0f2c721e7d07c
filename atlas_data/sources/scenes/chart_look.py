"""What the chart families share: a chart printed on a sheet lying on a desk, or shown on
a monitor, then photographed (:func:`kit.camera`). No family here: a helper module.

The sheet or screen is pasted flat (no perspective), so a chart's coordinates are the
photo's: a family draws its chart in :func:`medium`'s panel, calls :func:`finish`, and
its needs stay exact."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw

from atlas_data.sources.scenes.kit import RGB, Box, backdrop, camera, gaussian_blur, paper, unit

# Saturated series / slice / group colours, far apart in RGB so each survives blur and JPEG.
PALETTE: dict[str, RGB] = {
    "red": (214, 39, 40),
    "blue": (31, 90, 200),
    "green": (44, 160, 44),
    "orange": (255, 140, 0),
    "purple": (140, 70, 190),
    "teal": (0, 170, 170),
    "pink": (240, 110, 200),
}


def medium(rng: random.Random, size: tuple[int, int]) -> tuple[Image.Image, Box, str]:
    """A desk with a sheet of paper on it, or a monitor's bezel around a screen. Returns
    the canvas, the panel (the sheet or the screen) the chart is drawn in, and the look."""
    w, h = size
    u = unit(size)
    look = "screen" if rng.random() < 0.45 else "paper"
    if look == "paper":
        img = backdrop(rng, size, noise=True, light=False)
        mx, my = round(rng.uniform(20, 50) * u), round(rng.uniform(20, 45) * u)
        panel = (mx, my, w - mx, h - my)
        small = (w // 4, h // 4)  # the soft shadow, blurred at a quarter of the size
        shadow = Image.new("L", small, 0)
        off = round(8 * u)
        ImageDraw.Draw(shadow).rectangle([(v + off) // 4 for v in panel], fill=110)
        shadow = gaussian_blur(shadow, 2.5 * u).resize(size)
        img.paste((30, 30, 30), (0, 0), shadow)
        sheet = paper(rng, (panel[2] - panel[0], panel[3] - panel[1]))
        img.paste(sheet, panel[:2])
    else:
        img = Image.new("RGB", size, (28, 28, 32))
        d = ImageDraw.Draw(img)
        grey = rng.randint(18, 40)
        d.rectangle((0, 0, w, h), fill=(grey, grey, grey + 4))
        b = round(rng.uniform(24, 40) * u)
        panel = (b, b, w - b, h - b)
        tint = rng.choice(((250, 250, 250), (246, 248, 252), (252, 250, 244)))
        d.rectangle(panel, fill=tint)
    return img, panel, look


def finish(
    img: Image.Image, rng: random.Random, panel: Box, look: str
) -> tuple[Image.Image, bytes]:
    """A screen's faint scan rows and glare over the panel, then the camera's blur and JPEG."""
    if look == "screen":
        a = np.asarray(img).astype(np.int16)
        x0, y0, x1, y1 = panel
        rows = np.zeros((y1 - y0, 1, 1), dtype=np.int16)
        rows[:: rng.choice((3, 4))] = -5  # scan rows
        ys, xs = np.mgrid[y0:y1:8, x0:x1:8].astype(np.float32)  # glare, at 1/8 size
        gx, gy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        reach = 0.5 * (x1 - x0)
        glare = 10 * np.exp(-(((xs - gx) ** 2 + (ys - gy) ** 2) / reach**2))
        full = Image.fromarray(glare).resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR)
        shine = np.asarray(full).astype(np.int16)[:, :, None]
        a[y0:y1, x0:x1] = a[y0:y1, x0:x1] + rows + shine
        img = Image.fromarray(a.clip(0, 255).astype(np.uint8), "RGB")
    return camera(img, rng)


def nearest(
    pixels: np.ndarray, colours: Mapping[str, Sequence[int]], tol: float = 60.0
) -> np.ndarray:
    """Per pixel, the index of the nearest of ``colours`` (in order), or -1 when none is
    within ``tol`` (RGB distance): how tests tell a series' ink in the stored photo."""
    px = pixels.astype(np.int32)
    best = np.full(px.shape[:-1], -1, dtype=np.int64)
    least = np.full(px.shape[:-1], int(tol * tol), dtype=np.int32)
    for k, rgb in enumerate(colours.values()):
        d2 = ((px - np.array(rgb, dtype=np.int32)) ** 2).sum(axis=-1)
        closer = d2 <= least
        best[closer], least[closer] = k, d2[closer]
    return best
