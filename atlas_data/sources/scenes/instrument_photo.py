"""What the instrument families (``thermometer``, ``weighing_scale``) share: a wall or table
behind the instrument, soft drop shadows, painted or wooden materials and the uneven light of
a photo taken indoors (the camera's blur and JPEG come from :func:`kit.camera`)."""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from atlas_data.sources.scenes.kit import (
    RGB,
    backdrop,
    gaussian_blur,
    grain,
    hsv,
    rgb_planes,
    shaded,
)

# Materials of a body (a thermometer's board, a balance's base): a base colour and a grain.
MATERIALS = ("wood", "plastic", "metal")


def shadow(
    img: Image.Image,
    draw: Callable[[ImageDraw.ImageDraw], None],
    blur: float,
    strength: float = 0.45,
) -> Image.Image:
    """``img`` darkened under the soft shape ``draw`` paints (255 on a black mask); only the
    shape's surroundings are blurred, so it costs little."""
    mask = Image.new("L", img.size, 0)
    draw(ImageDraw.Draw(mask))
    box = mask.getbbox()
    if box is None:
        return img
    pad = round(3 * blur) + 2
    x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
    x1, y1 = min(img.size[0], box[2] + pad), min(img.size[1], box[3] + pad)
    patch = gaussian_blur(mask.crop((x0, y0, x1, y1)), blur)
    light = 1 - np.float32(strength / 255) * np.asarray(patch, dtype=np.float32)
    out = img.copy()
    out.paste(shaded(img.crop((x0, y0, x1, y1)), light), (x0, y0))
    return out


def surface(rng: random.Random, size: tuple[int, int], material: str) -> Image.Image:
    """A patch of ``material``, ``size`` pixels: wood with grain along its length (the
    longer side), plastic with a faint sheen, brushed metal."""
    w, h = size
    gen = np.random.default_rng(rng.randrange(2**32))
    along_y = h >= w
    n_along, n_across = (h, w) if along_y else (w, h)
    across = np.arange(n_across, dtype=np.float32)
    if material == "wood":
        base = np.array(
            hsv(rng.uniform(0.06, 0.1), rng.uniform(0.45, 0.6), rng.uniform(0.55, 0.75))
        )
        phase = gen.uniform(0, 6.3, 4)
        freq = gen.uniform(0.02, 0.09, 4)
        rings = sum(np.sin(across * f + p) for f, p in zip(freq, phase, strict=True)) / 4
        wobble = gen.normal(0, 1, n_along).cumsum() * 0.02
        rows = rings[None, :] + 0.35 * np.sin(across[None, :] * 0.3 + wobble[:, None])
        shade = 1 + 0.1 * rows
    elif material == "plastic":
        base = np.array(hsv(rng.random(), rng.uniform(0.0, 0.12), rng.uniform(0.88, 0.97)))
        t = across / max(1, n_across - 1)
        shade = (1.02 - 0.07 * (t - 0.35) ** 2 * 4)[None, :] * np.ones((n_along, 1))
    else:
        base = np.array(hsv(0.6, rng.uniform(0.02, 0.08), rng.uniform(0.66, 0.8)))
        streaks = gen.normal(0, 1, (1, n_across)).astype(np.float32)
        shade = 1 + 0.03 * streaks + 0.05 * np.sin(across / max(1, n_across) * 3.1)[None, :]
        shade = shade * np.ones((n_along, 1))
    shade = shade if along_y else shade.T
    noise = grain(gen, (w, h), 2.0)
    shade = np.ascontiguousarray(shade, dtype=np.float32)
    return Image.fromarray(rgb_planes([shade * np.float32(v) + noise for v in base]))


def room(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A grainy wall or table top behind the instrument, a few muted things on it."""
    w, h = size
    img = backdrop(rng, size, noise=True, light=rng.random() < 0.5)
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(1, 4)):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rw, rh = rng.uniform(0.05, 0.2) * w, rng.uniform(0.05, 0.2) * h
        colour = hsv(rng.random(), rng.uniform(0.05, 0.2), rng.uniform(0.5, 0.85))
        (d.rectangle if rng.random() < 0.6 else d.ellipse)(
            (cx - rw, cy - rh, cx + rw, cy + rh), fill=colour
        )
    return img


def light(img: Image.Image, rng: random.Random) -> Image.Image:
    """Uneven indoor light: brightest near a random point, darker towards the corners."""
    w, h = img.size
    sw, sh = max(2, w // 16), max(2, h // 16)
    lx, ly = rng.uniform(0.2, 0.8) * sw, rng.uniform(0.1, 0.6) * sh
    ys = np.arange(sh, dtype=np.float32)[:, None]
    xs = np.arange(sw, dtype=np.float32)[None, :]
    dist = np.sqrt((xs - lx) ** 2 + (ys - ly) ** 2) / np.hypot(sw, sh)
    gain = 1.0 - rng.uniform(0.15, 0.28) * dist**1.5
    small = Image.fromarray((gain * 255).round().astype(np.uint8), "L")
    return ImageChops.multiply(
        img, small.resize(img.size, Image.Resampling.BILINEAR).convert("RGB")
    )


def darker(c: RGB, k: float) -> RGB:
    return (round(c[0] * k), round(c[1] * k), round(c[2] * k))
