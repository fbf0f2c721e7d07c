"""relative_position: where one named shape lies relative to another far across a busy
scene. An arrow from one to the other shows the direction."""

from __future__ import annotations

import random

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import Family, Scene, ask, backdrop, hsv, place, unit

PHRASINGS = (
    "Is the {b} {axis} the {a}? Answer {options}.",
    "Relative to the {a}, is the {b} {axis}? Answer {options}.",
    "Looking from the {a}, which way is the {b}: {options}?",
    "Which is it: is the {b} {axis} the {a}? Reply {options}.",
    "Where does the {b} lie compared with the {a}, {options}?",
)
COLOURS = {"red": (210, 40, 40), "blue": (40, 80, 210), "green": (40, 150, 60),
           "orange": (240, 140, 20), "purple": (140, 60, 190)}  # fmt: skip


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    img = backdrop(rng, size, noise=False, light=True)
    d = ImageDraw.Draw(img)
    (ca, cb), (ka, kb) = rng.sample(sorted(COLOURS), 2), rng.sample(("circle", "square"), 2)
    s = round(44 * u)
    horizontal = rng.random() < 0.5
    taken: list[tuple[int, int, int, int]] = []
    while True:
        a_box = place(rng, s, s, size, [], 40, 0)
        b_box = place(rng, s, s, size, [], 40, 0)
        assert a_box and b_box
        dx, dy = b_box[0] - a_box[0], b_box[1] - a_box[1]
        main, other = (dx, dy) if horizontal else (dy, dx)
        if abs(main) > 0.4 * (w if horizontal else h) and abs(other) < 0.6 * abs(main):
            break
    taken += [a_box, b_box]
    for _ in range(rng.randint(25, 40)):  # look-alike distractors in other colours
        box = place(rng, s, s, size, taken, 20, 10)
        if box is None:
            continue
        taken.append(box)
        fill = hsv(rng.random(), 0.25, 0.6)
        (d.ellipse if rng.random() < 0.5 else d.rectangle)(box, fill=fill)
    for box, colour, kind in ((a_box, ca, ka), (b_box, cb, kb)):
        (d.ellipse if kind == "circle" else d.rectangle)(box, fill=COLOURS[colour])
    a, b = f"{ca} {ka}", f"{cb} {kb}"
    if horizontal:
        answer, axis, options = ("right" if dx > 0 else "left"), "left or right of", "left or right"
    else:
        answer, axis, options = ("below" if dy > 0 else "above"), "above or below", "above or below"
    centre = [[(bx[0] + bx[2]) // 2, (bx[1] + bx[3]) // 2] for bx in (a_box, b_box)]
    way = {"right": "right", "left": "left", "below": "downwards", "above": "upwards"}[answer]
    need = Need("arrow", {"start": centre[0], "end": centre[1]},
                f"the arrow from the {a} to the {b} points {way}")  # fmt: skip
    objects = [{"label": "distractor", "box": list(bx)} for bx in taken[2:6]]
    annotations = {"a": {"box": list(a_box), "rgb": list(COLOURS[ca])},
                   "b": {"box": list(b_box), "rgb": list(COLOURS[cb])},
                   "horizontal": horizontal}  # fmt: skip
    question = ask(rng, PHRASINGS, a=a, b=b, axis=axis, options=options)
    return Scene(img, question, answer, annotations, [need], objects)


FAMILY = Family("relative_position", make, "where one shape lies relative to another",
                PHRASINGS, (("arrow",),))  # fmt: skip
