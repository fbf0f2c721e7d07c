"""A grounded corpus of photo-like images, made on the spot, with its evidence held back.

Each image is a camera-like scene: a two-colour gradient, low-frequency texture, shaded
objects, a readable sign, mild blur and JPEG artefacts. Three kinds of question:

- ``hidden``: a small sticker whose text is too small to read at the trainee's budget;
  the record carries no box (the pipeline must find it), the test keeps the box.
- ``given``: the same kind of sticker, its box given in the record.
- ``no_help``: questions no operation helps with: the large sign (legible at the budget),
  the colour of a large object with its box given, whether the photo is in colour.

:func:`write` saves the images and a ``questions.jsonl`` for ``--source local`` and
returns the held-back truth.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = (2048, 1536)  # at a 1024 px budget every pixel is halved
LETTERS = "ACDEFHKMNPRTUVWXY"  # no letter OCR confuses with a digit or another letter
DIGITS = "2346789"
COLOURS = {"red": (200, 40, 35), "blue": (40, 70, 190), "green": (40, 150, 60)}
SMALL_QUESTIONS = (
    "What does the small sticker say?",
    "What code is printed on the little label?",
    "Read the text on the tiny tag.",
    "What is written on the small white label?",
)


@dataclass(frozen=True)
class Truth:
    kind: str  # hidden | given | no_help
    image: str
    question: str
    answer: str
    box: list[int] | None  # the evidence, in the image's pixels


def code(rng: random.Random) -> str:
    head = "".join(rng.choice(LETTERS) for _ in range(rng.randint(2, 3)))
    return f"{head}-{''.join(rng.choice(DIGITS) for _ in range(rng.randint(2, 3)))}"


def background(rng: random.Random, size: tuple[int, int] = SIZE) -> Image.Image:
    """A gradient between two muted colours, with coarse texture and shaded objects."""
    w, h = size
    a = np.array([rng.randint(70, 200) for _ in range(3)], dtype=np.float32)
    b = np.array([rng.randint(70, 200) for _ in range(3)], dtype=np.float32)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = a * (1 - t) + b * t + np.zeros((h, w, 3), dtype=np.float32)
    gen = np.random.default_rng(rng.randint(0, 2**31))
    for cell, amplitude in ((96, 14.0), (24, 7.0)):  # luminance texture at two scales
        noise = gen.normal(0, 1, (max(2, h // cell), max(2, w // cell)))
        grain = Image.fromarray((noise * amplitude + 128).clip(0, 255).astype(np.uint8))
        up = np.asarray(grain.resize(size, Image.Resampling.BICUBIC), dtype=np.float32) - 128
        img += up[:, :, None]
    out = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    for _ in range(rng.randint(5, 9)):  # objects: shaded ellipses and slabs
        x, y = rng.randint(0, w - 300), rng.randint(0, h - 300)
        ow, oh = rng.randint(120, 420), rng.randint(90, 320)
        fill = tuple(rng.randint(30, 230) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x, y, x + ow, y + oh], fill=fill, outline=tuple(max(0, c - 40) for c in fill))
    return out


def camera(img: Image.Image, rng: random.Random) -> bytes:
    """Mild blur and JPEG at a camera's quality."""
    import io

    buf = io.BytesIO()
    img.filter(ImageFilter.GaussianBlur(0.6)).save(buf, "JPEG", quality=rng.randint(85, 92))
    return buf.getvalue()


def text_box(img: Image.Image, xy: tuple[int, int], text: str, size: int, pad: int) -> list[int]:
    """Print ``text`` on a pale label at ``xy``; the label's box."""
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size)
    left, top, right, bottom = draw.textbbox(xy, text, font=font)
    box = [math.floor(left) - pad, math.floor(top) - pad, math.ceil(right) + pad]
    box.append(math.ceil(bottom) + pad)
    draw.rectangle(box, fill=(238, 236, 228), outline=(90, 90, 90))
    draw.text(xy, text, fill=(20, 20, 20), font=font)
    return box


def sign(img: Image.Image, rng: random.Random) -> tuple[str, list[int]]:
    """A large sign, legible at the budget, placed in the upper half."""
    word = rng.choice(["EXIT", "CAFE", "HOTEL", "PARKING", "MARKET", "TAXI"])
    x, y = rng.randint(80, SIZE[0] - 700), rng.randint(60, SIZE[1] // 2 - 200)
    return word, text_box(img, (x, y), word, rng.randint(64, 90), 18)


def sticker(img: Image.Image, rng: random.Random, avoid: list[int]) -> tuple[str, list[int]]:
    """A small sticker whose glyphs are 5-6 px at the budget, away from ``avoid``."""
    text = code(rng)
    while True:
        x, y = rng.randint(100, SIZE[0] - 300), rng.randint(SIZE[1] // 2, SIZE[1] - 120)
        if not (avoid[0] - 300 < x < avoid[2] and avoid[1] - 80 < y < avoid[3]):
            break
    return text, text_box(img, (x, y), text, rng.randint(14, 18), 5)


def write(folder: Path, per_kind: int = 12, seed: int = 0) -> list[Truth]:
    """``3 * per_kind`` images and ``questions.jsonl`` in ``folder``; the truth for each."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truths: list[Truth] = []
    records = []
    for i in range(3 * per_kind):
        kind = ("hidden", "given", "no_help")[i % 3]
        img = background(rng)
        word, sign_box = sign(img, rng)
        text, sticker_box = sticker(img, rng, sign_box)
        name = f"photo{i:02d}.jpg"
        record: dict[str, object] = {"image": name}
        if kind in ("hidden", "given"):
            q = rng.choice(SMALL_QUESTIONS)
            truth = Truth(kind, name, q, text, sticker_box)
            if kind == "given":
                record["bbox"] = sticker_box
        else:
            truth = no_help(img, rng, name, word, sign_box, record)
        record.update(question=truth.question, answer=truth.answer)
        (folder / name).write_bytes(camera(img, rng))
        records.append(record)
        truths.append(truth)
    with (folder / "questions.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return truths


def no_help(
    img: Image.Image,
    rng: random.Random,
    name: str,
    word: str,
    sign_box: list[int],
    record: dict[str, object],
) -> Truth:
    """A question that no zoom helps with, by turns: the large sign, a large object's
    colour (its box given), and whether the photo is in colour."""
    turn = rng.randrange(3)
    if turn == 0:
        return Truth("no_help", name, "What does the big sign say?", word, sign_box)
    if turn == 1:
        colour = rng.choice(sorted(COLOURS))
        x, y = rng.randint(200, SIZE[0] - 900), rng.randint(SIZE[1] // 2, SIZE[1] - 650)
        box = [x, y, x + 640, y + 560]
        ImageDraw.Draw(img).ellipse(box, fill=COLOURS[colour], outline=(20, 20, 20), width=4)
        record["bbox"] = box
        return Truth("no_help", name, "What colour is the large disc?", colour, box)
    question = "Is this photograph in colour or black and white?"
    return Truth("no_help", name, question, "colour", None)
