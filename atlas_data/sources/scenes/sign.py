"""sign: the words on a small sign in a photo-like street scene. A distant sign needs a
zoom; a near one is read as it is."""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw

from atlas_data.sources.scenes.kit import (
    Family,
    Scene,
    ask,
    camera,
    hsv,
    ink_height,
    muted,
    typeface,
    unit,
    zoom_need,
)

WORDS = ("GATE", "PLATFORM", "EXIT", "ROOM", "DOCK", "LANE", "BAY", "LEVEL", "HALL", "ZONE")
PHRASINGS = (
    "What does the small sign say?",
    "Read the sign in the picture. What is written on it?",
    "What is the text on the little sign?",
    "Which words are printed on the sign?",
    "What does the sign on the post read?",
)


def street(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Sky over ground with soft texture and a few blocky buildings."""
    w, h = size
    horizon = round(h * rng.uniform(0.45, 0.6))
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    sky, ground = np.array(hsv(0.58, 0.35, 0.9), np.float32), np.array(muted(rng), np.float32)
    arr = np.where(np.arange(h)[:, None, None] < horizon, sky * (0.8 + 0.2 * t), ground)
    arr = np.broadcast_to(arr, (h, w, 3)).astype(np.float32).copy()
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 1, (h // 40 + 2, w // 40 + 2))
    soft = Image.fromarray(noise.astype(np.float32)).resize(size, Image.Resampling.BICUBIC)
    arr += np.asarray(soft)[:, :, None] * 8
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 6)):
        bw, bh = rng.randint(w // 10, w // 5), rng.randint(h // 6, h // 3)
        bx = rng.randint(0, w - bw)
        d.rectangle((bx, horizon - bh, bx + bw, horizon), fill=muted(rng, (0.35, 0.6)))
    return img


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = street(rng, size)
    easy = rng.random() < 0.8
    font_px = round(rng.uniform(36, 44) * u) if easy else round(rng.uniform(13, 16) * u)
    font = typeface(rng.choice(("sans", "serif")), font_px)
    answer = f"{rng.choice(WORDS)} {rng.randint(2, 99)}"
    d = ImageDraw.Draw(img)
    tw = round(font.getlength(answer))
    pad = max(4, font_px // 3)
    sx = rng.randint(40, w - tw - 2 * pad - 40)
    sy = rng.randint(round(h * 0.25), round(h * 0.7))
    board = [sx, sy, sx + tw + 2 * pad, sy + font_px + 2 * pad]
    post = (board[0] + board[2]) // 2
    d.rectangle((post - max(2, pad // 2), board[3], post + max(2, pad // 2), h), fill=(70, 70, 70))
    colour = rng.choice(((20, 90, 40), (20, 50, 120), (250, 250, 245)))
    ink = (250, 250, 250) if colour != (250, 250, 245) else (20, 20, 20)
    d.rectangle(board, fill=colour, outline=(40, 40, 40), width=max(1, pad // 3))
    d.text(((board[0] + board[2]) / 2, (board[1] + board[3]) / 2), answer, ink, font, "mm")
    img, photo = camera(img, rng)
    need = zoom_need(board, ink_height(font, answer), f'the sign reads "{answer}"')
    objects = []
    for _ in range(3):
        ox, oy = rng.randint(0, w - 200), rng.randint(0, h - 120)
        objects.append({"label": "wall", "box": [ox, oy, ox + 200, oy + 120]})
    annotations = {"board": board, "easy": easy}
    return Scene(img, ask(rng, PHRASINGS), answer, annotations, [need], objects, encoded=photo)


FAMILY = Family("sign", make, "the words on a sign in a street scene", PHRASINGS, (("zoom",), ()))
