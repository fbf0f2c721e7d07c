"""spot_difference: two panels alike but for one shape's colour. Boxing the differing
shape in the right panel pins it down."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import Family, Scene, ask, hsv, place, unit

PHRASINGS = (
    "The two panels differ in one shape. In which quarter of the right panel is it?",
    "Spot the difference: which quarter of the right panel holds the changed shape?",
    "One shape changed colour between the panels. Where is it in the right panel?",
    "Compare the two pictures. In which quarter of the right one is the difference?",
    "Find the shape that differs between left and right. Which quarter of the right panel?",
)
QUARTERS = ("top left", "top right", "bottom left", "bottom right")


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    gap = round(40 * u)
    pw, ph = (w - 3 * gap) // 2, h - 2 * gap
    panel = Image.new("RGB", (pw, ph), hsv(rng.random(), 0.08, 0.95))
    d = ImageDraw.Draw(panel)
    shapes: list[tuple[tuple[int, int, int, int], tuple[int, int, int], bool]] = []
    taken: list[tuple[int, int, int, int]] = []
    for _ in range(rng.randint(14, 22)):
        s = rng.randint(round(40 * u), round(90 * u))
        box = place(rng, s, s, (pw, ph), taken, 10, round(12 * u))
        if box is None:
            continue
        taken.append(box)
        shapes.append((box, hsv(rng.random(), 0.6, 0.8), rng.random() < 0.5))
    for box, colour, round_ in shapes:
        (d.ellipse if round_ else d.rectangle)(box, fill=colour)
    clear = [  # a shape on a quarter's border would make the answer ambiguous
        k for k, (b, _, _) in enumerate(shapes)
        if not (b[0] - 8 < pw / 2 < b[2] + 8 or b[1] - 8 < ph / 2 < b[3] + 8)
    ]  # fmt: skip
    odd = rng.choice(clear)
    box, colour, round_ = shapes[odd]
    right = panel.copy()
    changed = hsv(rng.random(), 0.9, 0.55)
    (ImageDraw.Draw(right).ellipse if round_ else ImageDraw.Draw(right).rectangle)(
        box, fill=changed
    )
    img = Image.new("RGB", size, (60, 60, 60))
    img.paste(panel, (gap, gap))
    img.paste(right, (2 * gap + pw, gap))
    ox, oy = 2 * gap + pw, gap
    target = [box[0] + ox - 6, box[1] + oy - 6, box[2] + ox + 6, box[3] + oy + 6]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    answer = QUARTERS[2 * (cy >= ph / 2) + (cx >= pw / 2)]
    need = Need("box", {"box": target}, "the boxed shape in the right panel changed colour")
    objects = [
        {"label": "shape", "box": [b[0] + ox, b[1] + oy, b[2] + ox, b[3] + oy]}
        for k, (b, _, _) in enumerate(shapes)
        if k != odd
    ][:5]
    annotations = {"panels": [[gap, gap, gap + pw, gap + ph], [ox, oy, ox + pw, oy + ph]],
                   "shape": [box[0] + ox, box[1] + oy, box[2] + ox, box[3] + oy]}  # fmt: skip
    return Scene(img, ask(rng, PHRASINGS), answer, annotations, [need], objects)


FAMILY = Family("spot_difference", make, "the one change between two panels", PHRASINGS,
                (("box",),))  # fmt: skip
