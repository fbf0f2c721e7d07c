"""forensics: three photographs of one table, alike but for one that was altered: a piece
recoloured, removed, or cloned elsewhere. Which image was altered? A box around the altered
region in that image pins it down; when the altered piece is a tiny bead, too small to
make out at the budget, zoom into it first, then box it (a chain). An easy variant alters
a big piece, seen at a glance."""

from __future__ import annotations

import random
from typing import Any

from atlas_data.ops.geometry import box_around, clamp_box
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.across_photo import Piece, lay, scatter, table
from atlas_data.sources.scenes.kit import SHAPE_COLOURS, Family, Scene, ask, shoot, unit

PHRASINGS = (
    "One of the three photos was altered. Which image is it (1, 2 or 3)?",
    "These three images show the same table, but one was edited. Which one? Give its number.",
    "Which of the three pictures has been tampered with? Answer 1, 2 or 3.",
    "A small region was modified in exactly one image. Which image was altered?",
    "Compare the three photos: which image is not the same as the other two?",
    "Which image was manipulated: 1, 2 or 3?",
)
KINDS = ("circle", "square", "triangle")
EDITS = ("recoloured", "removed", "cloned")
# The answer is the image's number: "image 2" would be a telling answer that the teacher's
# "Turning to image 2." before the box would state (see trajectory.verify).
CHOICES = ["1", "2", "3"]


def _name(p: Piece) -> str:
    colour = next(c for c, v in SHAPE_COLOURS.items() if v == p.rgb)
    return f"{colour} {p.kind}"


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    """The table laid twice, as it is and altered; three shots of it, one of the altered."""
    w, h = size
    u = unit(size)
    variant = rng.choices(("easy", "box", "zoom"), (0.2, 0.4, 0.4))[0]
    base = table(rng, size)
    whole = [round(30 * u), round(30 * u), w - round(30 * u), h - round(30 * u)]
    colours = list(SHAPE_COLOURS)

    def spec(lo: float, hi: float) -> tuple[str, tuple[int, int, int], int]:
        kind = rng.choice(KINDS)
        return kind, SHAPE_COLOURS[rng.choice(colours)], max(5, round(rng.uniform(lo, hi) * u))

    taken: list[Piece] = []
    big = scatter(rng, [spec(80, 115) for _ in range(rng.randint(2, 3))], whole, taken, 30 * u)
    if variant != "easy":
        big = []
        taken.clear()
    medium = scatter(rng, [spec(18, 36) for _ in range(rng.randint(8, 13))], whole, taken, 26 * u)
    beads = scatter(rng, [spec(5, 7) for _ in range(rng.randint(12, 20))], whole, taken, 18 * u)
    pool = {"easy": big, "box": medium, "zoom": beads}[variant]
    victim = rng.choice(pool)
    edit = rng.choice(EDITS)
    k = rng.randrange(3)  # the altered image
    altered = list(taken)
    if edit == "recoloured":
        rgb = SHAPE_COLOURS[rng.choice([c for c, v in SHAPE_COLOURS.items() if v != victim.rgb])]
        changed = Piece(victim.kind, victim.cx, victim.cy, victim.r, rgb)
        altered[altered.index(victim)] = changed
        what = f"the {_name(victim)} is {_name(changed).split()[0]} in image {k + 1}"
    elif edit == "removed":
        altered.remove(victim)
        changed = victim
        what = f"the {_name(victim)} is missing from image {k + 1}"
    else:
        room = list(taken)
        (changed,) = scatter(
            rng, [(victim.kind, victim.rgb, victim.r)], whole, room, max(26 * u, victim.r)
        ) or [victim]
        assert changed is not victim  # an open table always has room for one more piece
        altered.append(changed)
        what = f"image {k + 1} shows a pasted copy of the {_name(victim)}"
    blur = max(2.0, 0.12 * sum(p.r for p in taken) / len(taken))
    # the piece and its shadow: offset by 0.18 r, softened by the shadow's blur
    pad = round(0.18 * changed.r + 3 * blur + 3)
    x0, y0, x1, y1 = changed.box
    region = clamp_box([x0 - pad, y0 - pad, x1 + pad, y1 + pad], size)

    same, edited = lay(base, taken, blur), lay(base, altered, blur)
    lens = rng.uniform(0.3, 0.7)
    shots = [shoot(edited if i == k else same, lens, rng.randint(80, 92)) for i in range(3)]
    others = " and ".join(f"image {i + 1}" for i in range(3) if i != k)
    reveals = f"{what}, unlike {others}"
    detail = 2.0 * changed.r
    if variant == "easy":
        needs = [Need("zoom", {}, reveals, detail, [float(v) for v in region], image=k)]
    else:
        needs = [Need("box", {"box": region}, reveals, image=k)]
        if variant == "zoom":
            cx, cy = (region[0] + region[2]) / 2, (region[1] + region[3]) / 2
            side = max(100 * u, 4 * (region[2] - region[0]), 4 * (region[3] - region[1]))
            context = box_around(cx, cy, side, side, size)
            look = f"image {k + 1}'s tiny piece there appears large enough to compare"
            needs.insert(0, Need("zoom", {}, look, detail, [float(v) for v in context], image=k))
    objects = [
        {"label": _name(p), "box": p.box, "image": k}
        for p in medium
        if p is not victim and p is not changed
    ][:5]
    annotations: dict[str, Any] = {
        "altered": k,
        "edit": edit,
        "region": region,
        "piece": {"kind": changed.kind, "box": changed.box, "radius": changed.r},
        "easy": variant == "easy",
        "variant": variant,
    }
    choices = list(CHOICES) if rng.random() < 0.6 else None
    (first, photo), *more = shots
    return Scene(first, ask(rng, PHRASINGS), CHOICES[k], annotations, needs, objects,
                 choices=choices, encoded=photo, more_images=[img for img, _ in more])  # fmt: skip


FAMILY = Family(
    "forensics",
    make,
    "which of three photos of one table was altered",
    PHRASINGS,
    (("box",), ("zoom", "box"), ()),
    images=3,
)
