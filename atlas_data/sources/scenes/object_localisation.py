"""object_localisation: which of two drawn boxes, A and B, fits a named object in a photo
of a table top. One box hugs the object; the other is shifted, too large or too small, by
a few pixels in the hard scenes: zoom into the object and its boxes, then draw its true
extent to see which box it matches. When the boxes differ plainly, it is answered as seen."""

from __future__ import annotations

import io
import math
import random
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.geometry import iou, union
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    RGB,
    TEXT_INK,
    Family,
    Scene,
    ask,
    camera,
    grain,
    hsv,
    muted,
    overlaps,
    typeface,
    unit,
    zoom_need,
)

PHRASINGS = (
    "Which box fits the {obj} better, A or B?",
    "Two boxes, A and B, are drawn in the picture. Which one encloses the {obj} more accurately?",
    "Which bounding box localises the {obj} more precisely: A or B?",
    "Of the boxes A and B, which one tightly frames the {obj}?",
    "Which of the two drawn boxes matches the extent of the {obj} best?",
    "Box A or box B: which one outlines the {obj} correctly?",
)
# Saturated object colours, one hue each; the boxes' colours are far from all of them.
COLOURS: dict[str, RGB] = {
    "red": (210, 40, 40),
    "orange": (240, 140, 20),
    "yellow": (230, 200, 30),
    "green": (40, 160, 60),
    "blue": (40, 80, 210),
}
KINDS = ("mug", "ball", "book", "bottle", "vase", "box")
BOXES: dict[str, RGB] = {"A": (235, 40, 235), "B": (30, 220, 235)}
EASY_SHARE = 0.22
MODES = ("shifted", "too large", "too small")


def silhouette(kind: str, ow: int, oh: int) -> Image.Image:
    """The object's mask (L) in its own ``ow`` x ``oh`` box."""
    m = Image.new("L", (ow, oh), 0)
    d = ImageDraw.Draw(m)
    if kind == "mug":
        d.rounded_rectangle((0, 0.08 * oh, 0.74 * ow, oh - 1), radius=0.08 * ow, fill=255)
        ring = max(3, round(0.09 * ow))
        d.ellipse((0.5 * ow, 0.25 * oh, ow - 1, 0.75 * oh), outline=255, width=ring)
    elif kind == "ball":
        d.ellipse((0, 0, ow - 1, oh - 1), fill=255)
    elif kind in ("book", "box"):
        d.rectangle((0, 0, ow - 1, oh - 1), fill=255)
    elif kind == "bottle":
        d.rounded_rectangle((0, 0.42 * oh, ow - 1, oh - 1), radius=0.15 * ow, fill=255)
        d.polygon(
            [(0, 0.48 * oh), (0.34 * ow, 0.22 * oh), (0.66 * ow, 0.22 * oh), (ow - 1, 0.48 * oh)],
            fill=255,
        )
        d.rectangle((0.34 * ow, 0, 0.66 * ow, 0.25 * oh), fill=255)
    else:  # vase: a bulb on a foot with a flared neck
        d.ellipse((0, 0.3 * oh, ow - 1, oh - 1), fill=255)
        d.polygon(
            [(0.3 * ow, 0.4 * oh), (0.18 * ow, 0), (0.82 * ow, 0), (0.7 * ow, 0.4 * oh)], fill=255
        )
    return m


def shaded(kind: str, rgb: RGB, ow: int, oh: int) -> Image.Image:
    """The object's colour lit from the upper left: a cylinder's or a sphere's shading, or
    a flat face, always the same hue (darker, never greyer)."""
    xs = np.linspace(0, 1, ow, dtype=np.float32)[None, :]
    ys = np.linspace(0, 1, oh, dtype=np.float32)[:, None]
    if kind == "ball":
        light = 1.0 - 0.45 * np.clip(np.hypot(xs - 0.35, ys - 0.3) / 0.9, 0, 1)
    elif kind in ("book", "box"):
        light = np.broadcast_to(0.95 - 0.2 * ys, (oh, ow))
    else:
        light = np.broadcast_to(0.72 + 0.28 * np.cos(np.pi * (xs - 0.35)), (oh, ow))
    arr = np.asarray(rgb, np.float32)[None, None, :] * light[..., None]
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")


def table(rng: random.Random, size: tuple[int, int]) -> tuple[Image.Image, int]:
    """A wall over a wooden table top with a grain along it; returns the table's top row."""
    w, h = size
    edge = round(h * rng.uniform(0.22, 0.36))
    gen = np.random.default_rng(rng.randrange(2**32))
    wall = np.array(hsv(rng.random(), rng.uniform(0.03, 0.15), rng.uniform(0.75, 0.92)), np.float32)
    wood = np.array(hsv(rng.uniform(0.06, 0.1), rng.uniform(0.2, 0.32), rng.uniform(0.5, 0.72)))
    along = gen.normal(0, 1, (max(2, (h - edge) // 3), 24)).astype(np.float32)
    streaks = np.asarray(Image.fromarray(along).resize((w, h - edge), Image.Resampling.BICUBIC))
    arr = np.empty((h, w, 3), np.float32)
    t = np.linspace(0, 1, edge, dtype=np.float32)[:, None, None]
    arr[:edge] = wall * (0.92 + 0.08 * t)
    fine = grain(gen, (w, h - edge), 3.0)
    arr[edge:] = cv2.merge([(1 + 0.06 * streaks) * np.float32(v) + fine for v in wood])
    arr[edge : edge + max(3, h // 150)] *= 0.7  # the table's front edge
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB"), edge


def draw_box(d: ImageDraw.ImageDraw, box: list[int], rgb: RGB, lw: int) -> None:
    """A box's outline drawn just outside ``box`` (x1, y1 exclusive), so it covers nothing
    of what it encloses."""
    d.rectangle((box[0] - lw, box[1] - lw, box[2] + lw - 1, box[3] + lw - 1), outline=rgb, width=lw)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img, edge = table(rng, size)
    colour, kind = rng.choice(sorted(COLOURS)), rng.choice(KINDS)
    ow, oh = (round(rng.uniform(95, 190) * u) for _ in range(2))
    if kind in ("bottle", "vase"):
        ow = round(ow * 0.6)
    elif kind == "ball":
        oh = ow
    margin = round(170 * u)
    tx = rng.randint(margin, w - margin - ow)
    ty = rng.randint(max(margin, edge - oh // 2), h - margin - oh)
    mask = silhouette(kind, ow, oh)
    bx0, by0, bx1, by1 = mask.getbbox() or (0, 0, ow, oh)
    extent = [tx + bx0, ty + by0, tx + bx1, ty + by1]  # x1, y1 exclusive
    room = [tx - margin // 2, ty - margin // 2, tx + ow + margin // 2, ty + oh + margin // 2]

    # Other objects: the other colours, muted ones, the same kind in another colour.
    placed: list[tuple[list[int], str, RGB, Image.Image]] = []
    taken = [room]
    for k in range(rng.randint(4, 8)):
        dk = kind if k == 0 else rng.choice(KINDS)
        rgb = COLOURS[rng.choice([c for c in COLOURS if c != colour])] if k < 3 else muted(rng)
        dw, dh = (round(rng.uniform(70, 170) * u) for _ in range(2))
        if dk in ("bottle", "vase"):
            dw = round(dw * 0.6)
        elif dk == "ball":
            dh = dw
        for _ in range(200):
            x0 = rng.randint(10, w - dw - 10)
            y0 = rng.randint(max(10, edge - dh // 2), h - dh - 10)
            spot = [x0, y0, x0 + dw, y0 + dh]
            if not any(overlaps(spot, t, 20 * u) for t in taken):
                taken.append(spot)
                placed.append((spot, dk, rgb, silhouette(dk, dw, dh)))
                break
    placed.append(([tx, ty, tx + ow, ty + oh], kind, COLOURS[colour], mask))
    d = ImageDraw.Draw(img)
    for spot, dk, rgb, m in sorted(placed, key=lambda p: p[0][3]):  # back to front
        sw, sh = spot[2] - spot[0], spot[3] - spot[1]
        under = img.getpixel((spot[0], spot[3]))
        assert isinstance(under, tuple)
        d.ellipse(
            (spot[0] - 0.1 * sw, spot[3] - 0.08 * sh, spot[2] + 0.15 * sw, spot[3] + 0.06 * sh),
            fill=tuple(round(c * 0.75) for c in under),
        )
        img.paste(shaded(dk, rgb, sw, sh), (spot[0], spot[1]), m)
    img, _ = camera(img, rng)

    # The boxes: one hugs the object, the other is off by ``off`` px on its worst side.
    easy = rng.random() < EASY_SHARE
    pad = rng.randint(2, 3)
    good = [extent[0] - pad, extent[1] - pad, extent[2] + pad, extent[3] + pad]
    side = min(extent[2] - extent[0], extent[3] - extent[1])
    # A side moved into the object stays clear of its rim by a few pixels (the rim must
    # show beside the stroke); hard offsets stay under the reading size at the budget.
    lw = max(2, round(2 * u))
    inward, outward, most = round(9 * u), round(6 * u), round(13 * u)
    while True:
        mode = rng.choice(MODES)
        if easy:
            off = max(round(32 * u), round(rng.uniform(0.3, 0.5) * side))
            if mode == "too small" and 2.5 * off > side:
                continue  # no room inside a narrow object
            lo, hi = math.ceil(off / 2), off
        else:
            lo, hi = (outward if mode == "too large" else inward), most
        parts = [rng.randint(lo, hi) for _ in range(4)]
        if easy:
            parts[0] = off  # the plain side
        if mode == "shifted":
            dx, dy = rng.choice(((parts[0], parts[1]), (parts[0], 0), (0, parts[0])))
            dx, dy = dx * rng.choice((-1, 1)), dy * rng.choice((-1, 1))
            shift = [dx, dy, dx, dy]
        elif mode == "too large":
            shift = [-parts[0], -parts[1], parts[2], parts[3]]
        else:
            shift = [parts[0], parts[1], -parts[2], -parts[3]]
        off = max(abs(v) for v in shift)
        bad = [g + s for g, s in zip(good, shift, strict=True)]
        if iou(good, extent) - iou(bad, extent) >= 0.06:
            break
    right = rng.choice(("A", "B"))
    wrong = "B" if right == "A" else "A"
    boxes = {right: good, wrong: bad}

    font = typeface("sans", round(34 * u))
    d = ImageDraw.Draw(img)
    tags: dict[str, list[int]] = {}
    first, second = rng.sample(["A", "B"], 2)
    for name in (first, second):
        b = boxes[name]
        draw_box(d, b, BOXES[name], lw)
        left, top, rt, bottom = font.getbbox(name)
        tw, th = round(rt - left) + 2 * round(6 * u), round(bottom - top) + 2 * round(6 * u)
        # a tag sits at its box's corner, clear of the object and of every stroke
        if name == first:  # above the top-left corner
            y1 = min(extent[1], *(o[1] for o in boxes.values())) - lw - 2
            tag = [b[0] - lw, y1 - th, b[0] - lw + tw, y1]
        else:  # below the bottom-right corner
            y0 = max(extent[3], *(o[3] for o in boxes.values())) + lw + 2
            tag = [b[2] + lw - tw, y0, b[2] + lw, y0 + th]
        d.rectangle((tag[0], tag[1], tag[2] - 1, tag[3] - 1), fill=BOXES[name])
        d.text(((tag[0] + tag[2]) / 2, (tag[1] + tag[3]) / 2), name, TEXT_INK, font, "mm")
        tags[name] = tag

    obj = f"{colour} {kind}"
    question = ask(rng, PHRASINGS, obj=obj)
    choices = ["A", "B"] if rng.random() < 0.5 else None
    grow = 0.45 * max(extent[2] - extent[0], extent[3] - extent[1])
    around = [extent[0] - grow, extent[1] - grow, extent[2] + grow, extent[3] + grow]
    outline = [[b[0] - lw, b[1] - lw, b[2] + lw, b[3] + lw] for b in boxes.values()]
    region = union([around, *outline, *tags.values()])
    region = [max(0.0, region[0]), max(0.0, region[1]), min(w, region[2]), min(h, region[3])]
    reveals = f"box {right} hugs the {obj}'s edges, while box {wrong} is {mode} by up to {off} px"
    needs = [zoom_need(region, off, reveals)]
    if not easy:
        needs.append(
            Need(
                "box", {"box": list(extent)}, f"the {obj}'s true outline coincides with box {right}"
            )
        )
    objects: list[dict[str, Any]] = [
        {"label": f"{dk}", "box": list(spot)} for spot, dk, _, _ in placed[:-1][:5]
    ]
    annotations: dict[str, Any] = {
        "object": obj,
        "rgb": list(COLOURS[colour]),
        "extent": list(extent),
        "boxes": {k: list(v) for k, v in boxes.items()},
        "box_rgb": {k: list(v) for k, v in BOXES.items()},
        "line_px": lw,
        "tags": tags,
        "mode": mode,
        "offset_px": off,
        "easy": easy,
    }
    # The photo with its boxes drawn on, saved once at high quality and full colour
    # resolution (a thin coloured stroke keeps its colour) and stored as it is.
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, subsampling=0)
    photo = buf.getvalue()
    img = Image.open(io.BytesIO(photo)).convert("RGB")
    return Scene(img, question, right, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "object_localisation",
    make,
    "which of two drawn boxes fits a named object",
    PHRASINGS,
    (("zoom", "box"), ()),
)
