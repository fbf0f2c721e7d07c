"""A corpus of photo-like images with the annotations public datasets ship (points, boxes)
and questions phrased several ways: counting, alignment, comparing regions, relations from
an anchor, and controls that no drawing helps.

Images are 1600x1200 (larger than the 1024 px budget), on textured backgrounds (grass,
sand, cloth: noise at several scales, grain, a little blur), with objects drawn at known
places, so every record's truth is known: which drawing token it needs, or none.
``write(root, seed)`` writes the images and ``questions.jsonl``; it returns the truths.
Benchmarks use it too (``benchmarks/drawing_needs.py``).
"""

from __future__ import annotations

import io
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from atlas_data.sources.scenes.kit import typeface

SIZE = (1600, 1200)
GROUNDS = {"grass": (84, 126, 62), "sand": (196, 176, 132), "cloth": (122, 98, 140)}
COLOURS = {"blue": (40, 70, 210), "red": (210, 40, 40), "yellow": (240, 210, 40)}
LETTERS = "BCDEFGHJKLMNPRSTUVWXYZ"


@dataclass(frozen=True)
class Truth:
    """What a record is: the token its question needs (``None`` for a control)."""

    image: str
    kind: str  # count, crowded, align, compare, relate, or a control: control_<kind>
    token: str | None
    answer: str


def background(rng: random.Random, ground: str) -> Image.Image:
    """A textured photo-like ground: smooth variation, mid-scale blotches, grain, blur."""
    w, h = SIZE
    gen = np.random.default_rng(rng.randrange(2**32))
    img = np.empty((h, w, 3), dtype=np.float32)
    img[:] = GROUNDS[ground]
    for cells, amplitude in ((6, 26.0), (48, 10.0)):  # light and shade, then blotches
        noise = gen.normal(0, 1, (cells * h // w + 1, cells)).astype(np.float32)
        layer = np.asarray(Image.fromarray(noise).resize(SIZE, Image.Resampling.BILINEAR))
        tint = gen.uniform(0.85, 1.15, 3).astype(np.float32)  # a slight colour cast
        img += layer[:, :, None] * amplitude * tint
    img += gen.normal(0, 5, (h, w, 3)).astype(np.float32)
    out = Image.fromarray(img.clip(0, 255).astype(np.uint8), "RGB")
    return out.filter(ImageFilter.GaussianBlur(0.7))


def disc(
    d: ImageDraw.ImageDraw, x: float, y: float, r: float, colour: tuple[int, int, int]
) -> None:
    d.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline=tuple(v // 2 for v in colour))


def letter(d: ImageDraw.ImageDraw, x: float, y: float, text: str, size: int = 40) -> list[int]:
    """Dark ink centred on (x, y); returns its box."""
    font = typeface("sans", size)
    d.text((x, y), text, fill=(20, 20, 24), font=font, anchor="mm")
    left, top, right, bottom = d.textbbox((x, y), text, font=font, anchor="mm")
    return [int(left) - 2, int(top) - 2, int(right) + 2, int(bottom) + 2]


def spread(
    rng: random.Random,
    n: int,
    area: tuple[float, float, float, float],
    gap: float,
    taken: list[tuple[float, float]] | None = None,
) -> list[tuple[float, float]]:
    """``n`` points in ``area`` at least ``gap`` apart (and from ``taken``)."""
    taken = list(taken or [])
    out: list[tuple[float, float]] = []
    for _ in range(20000):
        if len(out) == n:
            return out
        p = (rng.uniform(area[0], area[2]), rng.uniform(area[1], area[3]))
        if all(math.dist(p, q) >= gap for q in taken + out):
            out.append(p)
    raise RuntimeError("could not place the points")


def count_record(rng: random.Random, crowded: bool) -> tuple[Image.Image, dict[str, Any], str]:
    img = background(rng, rng.choice(list(GROUNDS)))
    d = ImageDraw.Draw(img)
    name = rng.choice(list(COLOURS))
    n = rng.randint(6, 13)
    if crowded:  # a tight cluster: the dots are under the reading size apart at the budget
        cx, cy = rng.uniform(300, 1300), rng.uniform(300, 900)
        pts = spread(rng, n, (cx - 45, cy - 35, cx + 45, cy + 35), 10)
        radius = 3.0
    else:
        pts = spread(rng, n, (60, 60, SIZE[0] - 60, SIZE[1] - 60), 90)
        radius = rng.uniform(6, 9)
    others = spread(rng, rng.randint(3, 6), (60, 60, SIZE[0] - 60, SIZE[1] - 60), 60, pts)
    for x, y in pts:
        disc(d, x, y, radius, COLOURS[name])
    for x, y in others:
        disc(d, x, y, radius, COLOURS[rng.choice([c for c in COLOURS if c != name])])
    things = {"blue": "dots", "red": "beads", "yellow": "flowers"}[name]
    question = rng.choice(
        (
            f"How many {name} {things} are scattered over the picture?",
            f"Count the {name} {things}.",
            f"What is the number of {name} {things} in the photo?",
            f"How many {name} {things} can you see?",
        )
    )
    points = [[round(x, 1), round(y, 1)] for x, y in pts]
    record: dict[str, Any] = {"question": question, "answer": str(n), "points": points}
    if rng.random() < 0.3:
        choices = sorted({str(n), str(n + 1), str(n - 1), str(n + 2)}, key=int)
        record["choices"] = choices
    return img, record, "crowded" if crowded else "count"


def labelled(d: ImageDraw.ImageDraw, x: float, y: float, label: str) -> None:
    disc(d, x, y, 6, COLOURS["red"])
    letter(d, x - 22, y - 26, label, 32)


def align_record(rng: random.Random, control: bool) -> tuple[Image.Image, dict[str, Any], str]:
    img = background(rng, rng.choice(list(GROUNDS)))
    d = ImageDraw.Draw(img)
    span = rng.uniform(500, 1000)
    ax, ay = rng.uniform(150, SIZE[0] - 150 - span), rng.uniform(350, 850)
    offset = rng.uniform(200, 300) if control else rng.choice((0.0, rng.uniform(3, 14)))
    by = ay + rng.choice((-1, 1)) * offset
    labelled(d, ax, ay, "A")
    labelled(d, ax + span, by, "B")
    points = [{"x": ax, "y": ay, "label": "A"}, {"x": ax + span, "y": by, "label": "B"}]
    level = "yes" if offset == 0 else "no"
    asks = [
        ("Are the two red points A and B exactly at the same height?", level, None),
        ("Is point A level with point B?", level, ["yes", "no"]),
        ("Do A and B lie on the same horizontal line?", level, None),
    ]
    if offset:
        asks.append(("Which point is higher, A or B?", "A" if ay < by else "B", None))
    question, answer, choices = rng.choice(asks)
    record: dict[str, Any] = {"question": question, "answer": answer, "points": points}
    if choices:
        record["choices"] = choices
    return img, record, "control_align" if control else "align"


def compare_record(rng: random.Random, control: bool) -> tuple[Image.Image, dict[str, Any], str]:
    img = background(rng, rng.choice(list(GROUNDS)))
    d = ImageDraw.Draw(img)
    r = rng.uniform(20, 28)
    other = r * (rng.uniform(2.5, 3.5) if control else rng.uniform(1.08, 1.2))
    big_right = rng.random() < 0.5
    left_r, right_r = (r, other) if big_right else (other, r)
    ly = rng.uniform(300, 900)
    ry = ly + rng.uniform(-150, 150)
    lx, rx = rng.uniform(200, 550), rng.uniform(1050, 1400)
    disc(d, lx, ly, left_r, (248, 248, 248))
    disc(d, rx, ry, right_r, (248, 248, 248))
    boxes = {
        "left": [lx - left_r, ly - left_r, lx + left_r, ly + left_r],
        "right": [rx - right_r, ry - right_r, rx + right_r, ry + right_r],
    }
    answer = "right" if big_right else "left"
    other_side = "left" if big_right else "right"
    question = rng.choice(
        (
            "Which white circle is bigger, the left one or the right one?",
            "Which of the two white discs has the larger area: left or right?",
            "Is the left or the right circle larger?",
        )
    )
    record: dict[str, Any] = {"question": question, "answer": answer}
    record["bbox"] = [[round(v) for v in boxes[other_side]], [round(v) for v in boxes[answer]]]
    if rng.random() < 0.3:
        record["choices"] = ["left", "right"]
    return img, record, "control_compare" if control else "compare"


def pentagon(d: ImageDraw.ImageDraw, x: float, y: float, r: float) -> list[int]:
    angles = [math.radians(-90 + 72 * k) for k in range(5)]
    pts = [(x + r * math.cos(a), y + r * math.sin(a)) for a in angles]
    d.polygon(pts, fill=COLOURS["red"], outline=(110, 20, 20))
    return [round(x - r), round(y - r), round(x + r), round(y + r)]


def relate_record(rng: random.Random, control: bool) -> tuple[Image.Image, dict[str, Any], str]:
    img = background(rng, rng.choice(list(GROUNDS)))
    d = ImageDraw.Draw(img)
    ax, ay = rng.uniform(450, 1150), rng.uniform(400, 800)
    anchor = pentagon(d, ax, ay, 24)
    letters = rng.sample(LETTERS, 6)
    dist = rng.uniform(100, 150)
    angle = rng.uniform(0, 2 * math.pi)
    target = letter(d, ax + dist * math.cos(angle), ay + dist * math.sin(angle), letters[0])
    placed = [(ax, ay), (ax + dist * math.cos(angle), ay + dist * math.sin(angle))]
    rivals = 0 if control else rng.randint(2, 3)
    for k in range(1, 6):
        near = k <= rivals
        for _ in range(2000):
            rr = rng.uniform(1.15, 1.4) * dist if near else rng.uniform(3.0, 4.5) * dist
            a = rng.uniform(0, 2 * math.pi)
            p = (ax + rr * math.cos(a), ay + rr * math.sin(a))
            inside = 60 < p[0] < SIZE[0] - 60 and 60 < p[1] < SIZE[1] - 60
            if inside and all(math.dist(p, q) > 70 for q in placed):
                placed.append(p)
                letter(d, p[0], p[1], letters[k])
                break
    question = rng.choice(
        (
            "Which letter is written nearest to the red pentagon?",
            "What letter is closest to the red pentagon?",
            "Which letter lies next to the red pentagon?",
        )
    )
    record: dict[str, Any] = {"question": question, "answer": letters[0], "bbox": [anchor, target]}
    if rng.random() < 0.3:
        record["choices"] = sorted(letters[:4])
    return img, record, "control_relate" if control else "relate"


def two_discs(rng: random.Random) -> tuple[Image.Image, dict[str, Any], str]:
    img = background(rng, rng.choice(list(GROUNDS)))
    d = ImageDraw.Draw(img)
    pts = [
        (rng.uniform(250, 600), rng.uniform(300, 900)),
        (rng.uniform(1000, 1350), rng.uniform(300, 900)),
    ]
    for x, y in pts:
        disc(d, x, y, 130, COLOURS["blue"])
    question = rng.choice(("How many discs are there?", "Count the blue discs."))
    record = {"question": question, "answer": "2", "points": [list(p) for p in pts]}
    return img, record, "control_count"


def big_animal(rng: random.Random) -> tuple[Image.Image, dict[str, Any], str]:
    img = background(rng, "sand")
    d = ImageDraw.Draw(img)
    box = [120, 100, 1480, 1120]
    d.ellipse(box, fill=(150, 120, 90), outline=(60, 40, 30), width=8)
    d.ellipse((500, 300, 620, 420), fill=(20, 20, 20))
    d.ellipse((980, 300, 1100, 420), fill=(20, 20, 20))
    record = {"question": "What animal fills the photo?", "answer": "cat", "bbox": box}
    return img, record, "control_zoom"


MAKERS = (
    (lambda rng: count_record(rng, False), 6, "<|Text|>"),
    (lambda rng: count_record(rng, True), 3, "<|Text|>"),
    (lambda rng: align_record(rng, False), 6, "<|Line|>"),
    (lambda rng: compare_record(rng, False), 6, "<|Shape|>"),
    (lambda rng: relate_record(rng, False), 6, "<|Arrow|>"),
    (lambda rng: align_record(rng, True), 2, None),
    (lambda rng: compare_record(rng, True), 2, None),
    (lambda rng: relate_record(rng, True), 2, None),
    (two_discs, 2, None),
    (big_animal, 2, None),
)


def write(root: Path, seed: int = 0, with_annotations: bool = True, scale: int = 1) -> list[Truth]:
    """Write the corpus into ``root`` (images + ``questions.jsonl``). Without annotations,
    the same records lose their points (boxes stay: they are where the answer lies), for
    measuring what the new needs cost. ``scale`` repeats every kind that many times."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    truths: list[Truth] = []
    lines: list[str] = []
    for make, n, token in MAKERS:
        for _ in range(n * scale):
            img, record, kind = make(rng)
            name = f"{len(truths):03d}-{kind}.jpg"
            img.save(root / name, quality=92)
            if not with_annotations:
                record.pop("points", None)
            lines.append(json.dumps({"image": name, **record}))
            truths.append(Truth(name, kind, token, record["answer"]))
    (root / "questions.jsonl").write_text("\n".join(lines) + "\n")
    return truths


def copy_of(image: Image.Image, rng: random.Random) -> Image.Image:
    """What a scraper does to a picture: a few percent cropped off a side, resized,
    re-encoded as JPEG."""
    w, h = image.size
    f = rng.uniform(0.01, 0.05)
    x, y = round(w * f), round(h * f)
    box = rng.choice([(x, 0, w, h), (0, 0, w - x, h), (0, y, w, h), (0, 0, w, h - y),
                      (x // 2, y // 2, w - x // 2, h - y // 2)])  # fmt: skip
    small = image.crop(box).resize(
        (round(w * rng.uniform(0.4, 0.9)), round(h * rng.uniform(0.4, 0.9)))
    )
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=rng.randint(50, 85))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
