"""receipt: the price of one item on a photographed receipt. Small print needs a zoom; a
receipt printed large is read as it is (a direct answer)."""

from __future__ import annotations

import random

from PIL import ImageDraw

from atlas_data.sources.scenes.kit import (
    TEXT_INK,
    Family,
    Scene,
    ask,
    backdrop,
    camera,
    ink_height,
    paper,
    typeface,
    unit,
    zoom_need,
)

ITEMS = ("BREAD", "MILK", "COFFEE", "APPLES", "RICE", "TEA", "BUTTER", "EGGS", "SOAP", "JAM",
         "PASTA", "OLIVES", "HONEY", "FLOUR", "CHEESE", "LEMONS")  # fmt: skip
PHRASINGS = (
    "What is the price of {item} on the receipt?",
    "How much did the {item} cost, according to the receipt?",
    "Read the receipt: what was paid for {item}?",
    "On this receipt, what amount is listed for {item}?",
    "What price does the receipt show for {item}?",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = backdrop(rng, size, noise=True, light=False)
    easy = rng.random() < 0.8
    font_px = round(rng.uniform(30, 36) * u) if easy else round(rng.uniform(13, 16) * u)
    font = typeface(rng.choice(("mono", "sans")), font_px)
    items = rng.sample(ITEMS, rng.randint(4, 7))
    prices = [f"{rng.randint(1, 29)}.{rng.randrange(100):02d}" for _ in items]
    line_h = round(font_px * 1.6)
    text_w = round(font.getlength("M" * 18))
    rw, rh = text_w + round(40 * u), line_h * (len(items) + 3)
    x0, y0 = rng.randint(20, max(20, w - rw - 20)), rng.randint(20, max(20, h - rh - 20))
    img.paste(paper(rng, (rw, rh)), (x0, y0))
    d = ImageDraw.Draw(img)
    d.text((x0 + rw // 2, y0 + line_h), "RECEIPT", fill=TEXT_INK, font=font, anchor="mm")
    lines = {}
    for k, (item, price) in enumerate(zip(items, prices, strict=True)):
        y = y0 + line_h * (k + 2)
        left, right = x0 + round(20 * u), x0 + rw - round(20 * u)
        d.text((left, y), item, fill=TEXT_INK, font=font)
        d.text((right, y), price, fill=TEXT_INK, font=font, anchor="ra")
        lines[item] = [left, y - 2, right, y + line_h - 4]
    img, photo = camera(img, rng)
    target = rng.randrange(len(items))
    item, answer = items[target], prices[target]
    need = zoom_need(lines[item], ink_height(font, answer), f"the {item} line reads {answer}")
    objects = [{"label": f"{i} line", "box": b} for i, b in lines.items() if i != item]
    annotations = {"items": dict(zip(items, prices, strict=True)), "lines": lines, "easy": easy}
    return Scene(
        img, ask(rng, PHRASINGS, item=item), answer, annotations, [need], objects, encoded=photo
    )


FAMILY = Family(
    "receipt", make, "the price of an item on a photographed receipt", PHRASINGS, (("zoom",), ())
)
