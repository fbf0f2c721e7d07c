"""A corpus of samples that show several photo-like images, with the annotations public
multi-image sets ship (a box or points, each naming its image), and controls.

- ``change``: two photos of one scene; in the second, one small object changed colour. A
  box around it in the second image: a box (``<|Shape|>``) shows where to look.
- ``dots``: dots spread over two photos, counted together, points per image: numbered marks
  (``<|Text|>``) that number on from one image to the next.
- ``tag``: a small printed code in one of two or three photos, a box in that image: a zoom
  (``<|Manip|>``) into that image alone.
- controls whose answer is large and plain: half the picture changed, two big discs over
  two photos, a big printed word. No operation helps them.

``write(root, seed)`` writes the images and ``questions.jsonl``; it returns the truths.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from tests.photo_corpus import COLOURS, GROUNDS, SIZE, Truth, background, disc, letter, spread

CHANGE_QUESTIONS = (
    "What colour is the object that changed between the two photos?",
    "One small object is different in the second photo. What colour is it there?",
    "Spot the difference: what colour does the altered disc have in image 2?",
    "Something was modified in the second picture. What colour is the changed disc now?",
    "Which colour has the disc that is not the same in the two photos, as seen in image 2?",
)
DOTS_QUESTIONS = (
    "How many {c} dots are there in the two photos together?",
    "Count the {c} dots over both images.",
    "What is the total number of {c} dots across the photos?",
    "How many {c} dots can you see in all?",
    "Count every {c} dot in image 1 and image 2.",
)
TAG_QUESTIONS = (
    "What code is printed on the small white tag?",
    "Which code is written on the tag in one of the photos?",
    "Read the code on the little label.",
)
CODES = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _code(rng: random.Random) -> str:
    return "".join(rng.choice(CODES) for _ in range(2)) + str(rng.randint(10, 99))


def scene_pair(rng: random.Random) -> tuple[Image.Image, list[tuple[float, float, str]]]:
    """A photo with a few discs of each colour; returns it and its discs."""
    img = background(rng, rng.choice(list(GROUNDS)))
    d = ImageDraw.Draw(img)
    pts = spread(rng, 10, (120, 120, SIZE[0] - 120, SIZE[1] - 120), 150)
    discs = [(x, y, rng.choice(list(COLOURS))) for x, y in pts]
    for x, y, c in discs:
        disc(d, x, y, 16, COLOURS[c])
    return img, discs


def retaken(img: Image.Image, rng: random.Random) -> Image.Image:
    """The same scene taken again: a little brighter or darker."""
    f = rng.uniform(0.94, 1.06)
    return img.point(lambda v: min(255, round(v * f)))


def change_record(rng: random.Random, control: bool) -> tuple[list[Image.Image], dict[str, Any]]:
    first, discs = scene_pair(rng)
    second = retaken(first, rng)
    d = ImageDraw.Draw(second)
    x, y, was = discs[rng.randrange(len(discs))]
    now = rng.choice([c for c in COLOURS if c != was])
    if control:  # half the picture changed: seen at once
        r = 330.0
        x, y = rng.uniform(r, SIZE[0] - r), rng.uniform(r, SIZE[1] - r)
    else:
        r = 17.0
    disc(d, x, y, r, COLOURS[now])
    box = [round(x - r - 4), round(y - r - 4), round(x + r + 4), round(y + r + 4)]
    record = {
        "question": rng.choice(CHANGE_QUESTIONS),
        "answer": now,
        "bbox": [{"box": box, "image": 1}],
    }
    return [first, second], record


def dots_record(rng: random.Random, control: bool) -> tuple[list[Image.Image], dict[str, Any]]:
    name = rng.choice(list(COLOURS))
    images, points = [], []
    for k in range(2):
        img = background(rng, rng.choice(list(GROUNDS)))
        d = ImageDraw.Draw(img)
        n = 1 if control else rng.randint(3, 6)
        r = 130.0 if control else rng.uniform(6, 9)
        pts = spread(rng, n, (200, 200, SIZE[0] - 200, SIZE[1] - 200), 120)
        others = [] if control else spread(rng, 3, (60, 60, SIZE[0] - 60, SIZE[1] - 60), 60, pts)
        for x, y in pts:
            disc(d, x, y, r, COLOURS[name])
        for x, y in others:
            disc(d, x, y, r, COLOURS[rng.choice([c for c in COLOURS if c != name])])
        points += [{"x": round(x, 1), "y": round(y, 1), "image": k} for x, y in pts]
        images.append(img)
    question = rng.choice(DOTS_QUESTIONS).format(c=name)
    return images, {"question": question, "answer": str(len(points)), "points": points}


def tag_record(rng: random.Random, control: bool) -> tuple[list[Image.Image], dict[str, Any]]:
    count = rng.choice((2, 3))
    images = [scene_pair(rng)[0] for _ in range(count)]
    k = rng.randrange(count)
    d = ImageDraw.Draw(images[k])
    code = _code(rng)
    size = 150 if control else 15
    x, y = rng.uniform(350, SIZE[0] - 350), rng.uniform(250, SIZE[1] - 250)
    w, h = size * 2.6, size * 1.3
    d.rectangle((x - w / 2, y - h / 2, x + w / 2, y + h / 2), fill=(250, 250, 250))
    box = letter(d, x, y, code, size)
    record: dict[str, Any] = {"question": rng.choice(TAG_QUESTIONS), "answer": code}
    record["bbox"] = [{"box": box, "image": k}]
    return images, record


MAKERS = (
    (lambda rng: change_record(rng, False), 6, "change", "<|Shape|>"),
    (lambda rng: dots_record(rng, False), 6, "dots", "<|Text|>"),
    (lambda rng: tag_record(rng, False), 6, "tag", "<|Manip|>"),
    (lambda rng: change_record(rng, True), 2, "control_change", None),
    (lambda rng: dots_record(rng, True), 2, "control_dots", None),
    (lambda rng: tag_record(rng, True), 2, "control_tag", None),
)


def write(root: Path, seed: int = 0) -> list[Truth]:
    """Write the corpus into ``root`` (images + ``questions.jsonl``); a record's ``images``
    lists its photos in order."""
    rng = random.Random(seed)
    made = [(kind, *make(rng)) for make, n, kind, _ in MAKERS for _ in range(n)]
    tokens = {kind: token for _, _, kind, token in MAKERS}
    names = _save(root, made)
    return [
        Truth(files[0], kind, tokens[kind], record["answer"])
        for files, (kind, _, record) in zip(names, made, strict=True)
    ]


def write_small(root: Path, seed: int = 3) -> None:
    """Four records for the export and trainer checks: a code on a tag in one of three
    photos, a change between two photos, dots over two, and a tag photo shown alone (a
    one-image row beside them)."""
    rng = random.Random(seed)
    while True:  # the tag maker shows two or three photos: take a three
        images, record = tag_record(rng, False)
        if len(images) == 3:
            break
    made = [("tag", images, record)]
    made.append(("change", *change_record(rng, False)))
    made.append(("dots", *dots_record(rng, False)))
    images, record = tag_record(rng, False)
    (box,) = record["bbox"]
    made.append(("tag", [images[box["image"]]], {**record, "bbox": [{**box, "image": 0}]}))
    _save(root, made)


def _save(root: Path, made: list[tuple[str, list[Image.Image], dict[str, Any]]]) -> list[list[str]]:
    """Each record's images as JPEG files and its line in ``questions.jsonl``."""
    root.mkdir(parents=True, exist_ok=True)
    lines, names = [], []
    for i, (kind, images, record) in enumerate(made):
        files = [f"{i:03d}-{kind}-{j}.jpg" for j in range(len(images))]
        for name, img in zip(files, images, strict=True):
            img.save(root / name, quality=92)
        lines.append(json.dumps({"images": files, **record}))
        names.append(files)
    (root / "questions.jsonl").write_text("\n".join(lines) + "\n")
    return names
