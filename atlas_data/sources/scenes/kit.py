"""What every synthetic family is made of: the scene it returns, its declaration, and the
drawing kit the generators share (colours, shapes, placement, fonts, paper and camera)."""

from __future__ import annotations

import colorsys
import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from atlas_data.ops.spec import Need

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]
TEXT_INK: RGB = (20, 20, 20)
# Codes avoid glyphs that are easy to confuse at small sizes (0/O, 1/I/L, 2/Z, 5/S, 8/B).
CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY34679"
BOX_LETTERS = "ABCDEFGHJKMNPRSTUVWXYZ"
# Bright, mutually distinct tag colours; scene clutter is kept muted so none of it reads as
# a tag of one of these colours.
TAG_COLOURS: dict[str, RGB] = {
    "yellow": (250, 215, 30),
    "cyan": (40, 205, 235),
    "pink": (250, 120, 195),
    "orange": (250, 135, 25),
    "green": (95, 205, 75),
    "white": (250, 250, 250),
    "purple": (175, 115, 240),
}
SHAPE_COLOURS: dict[str, RGB] = {
    "red": (215, 35, 35),
    "blue": (35, 90, 215),
    "green": (30, 155, 65),
    "purple": (135, 55, 190),
    "orange": (245, 150, 20),
}
SHAPE_KINDS = ("circle", "square", "triangle", "diamond")
FONT_FILES = {"sans": "DejaVuSans.ttf", "serif": "DejaVuSerif.ttf", "mono": "DejaVuSansMono.ttf"}


@dataclass(frozen=True)
class Scene:
    """What a family generator returns; :class:`SyntheticSource` adds id and provenance."""

    image: Image.Image
    question: str
    answer: str
    annotations: dict[str, Any]  # what the family's tests check the pixels against
    needs: list[Need]
    objects: list[dict[str, Any]]
    choices: list[str] | None = None
    encoded: bytes | None = None  # the JPEG ``image`` was decoded from (see :func:`camera`)
    # Images 2..N of a scene that shows several (needs and objects name theirs: ``image``).
    more_images: list[Image.Image] = field(default_factory=list)

    @property
    def images(self) -> list[Image.Image]:
        """Every image of the scene, in order: Image 1 is ``image``."""
        return [self.image, *self.more_images]


FamilyFn = Callable[[random.Random, tuple[int, int]], Scene]


@dataclass(frozen=True)
class Family:
    """A task family: its generator, the question phrasings it draws from, and the chains
    of operations its scenes need (an empty chain: an easy variant, answered directly)."""

    name: str
    make: FamilyFn
    about: str
    phrasings: tuple[str, ...]
    chains: tuple[tuple[str, ...], ...]
    images: int = 1  # images per sample


def xy(p: Sequence[float]) -> tuple[float, float]:
    """A point as PIL's drawing calls type it."""
    return float(p[0]), float(p[1])


def dial(cx: float, cy: float, r: float, angle: float) -> list[int]:
    """The point ``r`` from (cx, cy) at ``angle`` radians clockwise from twelve o'clock."""
    return [round(cx + r * math.sin(angle)), round(cy - r * math.cos(angle))]


def ask(rng: random.Random, phrasings: Sequence[str], **fields: Any) -> str:
    return rng.choice(phrasings).format(**fields)


def hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def muted(rng: random.Random, v: tuple[float, float] = (0.3, 0.7)) -> RGB:
    return hsv(rng.random(), rng.uniform(0.1, 0.4), rng.uniform(*v))


def unit(size: tuple[int, int]) -> float:
    """Scale for sizes of ordinary scene elements (1.0 at the default 1600x1200)."""
    return min(size) / 1200


def overlaps(a: Sequence[float], b: Sequence[float], gap: float = 0.0) -> bool:
    return not (
        a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1]
    )


def angle_diff(a: float, b: float) -> float:
    """Absolute difference of two angles in radians, in [0, pi]."""
    d = (a - b) % (2 * math.pi)
    return min(d, 2 * math.pi - d)


def shape_points(kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """The corners of a triangle, diamond or square of radius ``r`` centred on (cx, cy)."""
    if kind == "triangle":  # centroid at (cx, cy)
        return [
            (cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a)))
            for a in (-90, 30, 150)
        ]
    if kind == "diamond":
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    s = r * 0.85  # square: similar visual area to the circle
    return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]


def draw_shape(
    d: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, r: float, fill: RGB
) -> None:
    if kind == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    else:
        d.polygon(shape_points(kind, cx, cy, r), fill=fill)


def shape_box(kind: str, cx: float, cy: float, r: float) -> list[int]:
    if kind == "circle":
        xs, ys = [cx - r, cx + r], [cy - r, cy + r]
    else:
        pts = shape_points(kind, cx, cy, r)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return [math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys))]


def place(
    rng: random.Random,
    bw: float,
    bh: float,
    size: tuple[int, int],
    taken: Sequence[Sequence[float]],
    margin: float,
    gap: float,
    tries: int = 300,
) -> Box | None:
    """A random integer box of ``bw`` x ``bh`` clear of ``taken``, or None if none was found."""
    w, h = size
    for _ in range(tries):
        x0 = rng.randint(int(margin), max(int(margin), int(w - margin - bw)))
        y0 = rng.randint(int(margin), max(int(margin), int(h - margin - bh)))
        b = (x0, y0, x0 + math.ceil(bw), y0 + math.ceil(bh))
        if b[2] <= w and b[3] <= h and not any(overlaps(b, t, gap) for t in taken):
            return b
    return None


def backdrop(rng: random.Random, size: tuple[int, int], noise: bool, light: bool) -> Image.Image:
    """A muted one-axis gradient, optionally grainy; built at half resolution to stay cheap."""
    w, h = size
    v = (0.85, 0.97) if light else (0.45, 0.8)
    c0, c1 = (
        np.array(hsv(rng.random(), rng.uniform(0.0, 0.25), rng.uniform(*v)), dtype=np.float32)
        for _ in range(2)
    )
    vertical = rng.random() < 0.5  # colour changes along x (vertical bands) or along y
    hw, hh = (w + 1) // 2, (h + 1) // 2
    t = np.linspace(0.0, 1.0, hw if vertical else hh, dtype=np.float32)[:, None]
    ramp = np.rint(c0 + (c1 - c0) * t).astype(np.uint8)
    ramp = ramp[None, :, :] if vertical else ramp[:, None, :]
    if noise:
        # Darkening grain in 0..63; the ramp is at least 0.45 * 255 > 63, so it cannot wrap.
        speckle = np.frombuffer(rng.randbytes(hh * hw), dtype=np.uint8).reshape(hh, hw, 1) >> 2
        arr = ramp - speckle
    else:
        arr = np.ascontiguousarray(np.broadcast_to(ramp, (hh, hw, 3)))
    return Image.fromarray(arr, "RGB").resize(size, Image.Resampling.NEAREST)


def paper(rng: random.Random, size: tuple[int, int], tint: RGB = (246, 243, 234)) -> Image.Image:
    """Off-white paper: a faint fibre texture at two scales, brighter than any ink."""
    w, h = size
    gen = np.random.default_rng(rng.randrange(2**32))
    shade = np.zeros((h, w), np.float32)
    for cell, amplitude in ((64, 5.0), (4, 3.0)):
        noise = gen.standard_normal((max(2, h // cell), max(2, w // cell)), dtype=np.float32)
        shade += cv2.resize(noise * np.float32(amplitude), size, interpolation=cv2.INTER_LINEAR)
    np.maximum(shade, np.float32(200 - min(tint)), out=shade)  # paper stays light
    return Image.fromarray(tinted(shade, tint))


def grain(gen: np.random.Generator, size: tuple[int, int], sigma: float) -> np.ndarray:
    """Sensor grain for an image of ``size`` (w, h): normal noise of ``sigma`` as a float32
    (h, w) plane, one 241 x 251 block tiled from a random phase. A fiftieth of the cost
    of drawing every pixel's noise, and no eye (nor OCR) finds a period in grain."""
    w, h = size
    block = gen.standard_normal((241, 251), dtype=np.float32) * np.float32(sigma)
    oy, ox = int(gen.integers(241)), int(gen.integers(251))
    reps = ((h + oy) // 241 + 1, (w + ox) // 251 + 1)
    return np.ascontiguousarray(np.tile(block, reps)[oy : oy + h, ox : ox + w])


def tinted(shade: np.ndarray, rgb: RGB) -> np.ndarray:
    """A colour ``rgb`` lit by ``shade`` (an (h, w) float32 offset in grey levels): the RGB
    uint8 image, rounded and saturated (see :func:`rgb_planes`)."""
    return cv2.merge([cv2.add(shade, float(v), dtype=cv2.CV_8U) for v in rgb])


def rgb_planes(planes: Sequence[np.ndarray]) -> np.ndarray:
    """Three float32 (h, w) planes as one uint8 RGB array, rounded and saturated. Scenes
    compute a plane at a time: NumPy on (h, w, 3) floats broadcasts along an axis of 3,
    four to eight times slower than the same work on planes."""
    return cv2.merge([cv2.add(p, 0.0, dtype=cv2.CV_8U) for p in planes])


def shaded(img: Image.Image, light: np.ndarray) -> Image.Image:
    """RGB ``img`` under ``light``, an (h, w) float32 factor per pixel (1 leaves it as it
    is), rounded and saturated; OpenCV's multiply, a quarter of NumPy's float round trip."""
    lit = cv2.multiply(np.asarray(img), cv2.merge([light, light, light]), dtype=cv2.CV_8U)
    return Image.fromarray(lit)


def gaussian_blur(img: Image.Image, radius: float) -> Image.Image:
    """A Gaussian blur of standard deviation ``radius`` px, as Pillow's ``GaussianBlur``
    but a tenth of its time: OpenCV's separable kernel, and past a few pixels at a lower
    resolution (a wide blur has no detail to lose) scaled back with bilinear."""
    if radius <= 0:
        return img.copy()
    arr = np.asarray(img)
    if radius > 4:  # blur a smaller copy: f px become one, the radius shrinks with them
        w, h = img.size
        f = max(1, min(int(radius / 2), w // 8, h // 8))
        small = cv2.resize(arr, (round(w / f), round(h / f)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), radius / f, borderType=cv2.BORDER_REPLICATE)
        arr = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        arr = cv2.GaussianBlur(arr, (0, 0), radius, borderType=cv2.BORDER_REPLICATE)
    out = Image.fromarray(arr)
    return out if out.mode == img.mode else out.convert(img.mode)


def camera(img: Image.Image, rng: random.Random) -> tuple[Image.Image, bytes]:
    """What a phone adds to a photographed page: mild blur and JPEG artefacts (see
    :func:`shoot`)."""
    return shoot(img, rng.uniform(0.3, 0.7), rng.randint(80, 92))


def shoot(img: Image.Image, blur: float, quality: int) -> tuple[Image.Image, bytes]:
    """A photograph of ``img``: the lens's blur, then the phone's JPEG. Returns the pixels
    and the JPEG they were decoded from: a scene's Image 1 is that JPEG, stored as it is
    (a second encoding would only add artefacts and time)."""
    buf = io.BytesIO()
    gaussian_blur(img, blur).save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    return Image.open(io.BytesIO(data)).convert("RGB"), data


@lru_cache(maxsize=64)
def typeface(style: str, size: int) -> ImageFont.FreeTypeFont:
    """A DejaVu face shipped with the package (Bitstream Vera licence, see its LICENSE)."""
    path = resources.files("atlas_data") / "assets" / "fonts" / FONT_FILES[style]
    with resources.as_file(path) as file:
        return ImageFont.truetype(str(file), size)


def any_typeface(rng: random.Random, size: int) -> ImageFont.FreeTypeFont:
    return typeface(rng.choice(sorted(FONT_FILES)), size)


def ink_height(font: ImageFont.FreeTypeFont, text: str) -> int:
    """Height of the tallest glyph of ``text`` (capital height for codes): the detail size."""
    left, top, right, bottom = font.getbbox(text)
    return round(bottom - top)


def zoom_need(evidence: Sequence[float], detail_px: float, reveals: str) -> Need:
    """A zoom on ``evidence``: the zoom's spec sizes its box and factor at the run's budget."""
    return Need("zoom", {}, reveals, detail_px, [float(v) for v in evidence])


def multiple_choice(rng: random.Random, answer: str, wrong: Sequence[str]) -> list[str]:
    """The answer and three distinct wrong options, shuffled."""
    options = [answer, *rng.sample(sorted(set(wrong) - {answer}), 3)]
    rng.shuffle(options)
    return options
