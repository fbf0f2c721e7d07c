"""count_across: pieces of one colour and shape spread over two photographs of a table,
among pieces of other colours and shapes; how many are there in both together? Numbered
marks on each photo's pieces, numbering on from the first photo to the second, keep the
count. Half the hard scenes crowd one photo's pieces, tiny, on a tray: zoom into the tray
first, then mark (a chain). An easy variant shows two or three big pieces, all in one
photo, counted at a glance."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.across_photo import Piece, lay, scatter, table
from atlas_data.sources.scenes.kit import (
    RGB,
    SHAPE_COLOURS,
    Family,
    Scene,
    ask,
    multiple_choice,
    shoot,
    unit,
)

KINDS = ("circle", "square", "triangle")  # told apart by how much of their box they fill
PHRASINGS = (
    "How many {plural} are there in the two images together?",
    "Count the {plural} across both images.",
    "What is the total number of {plural} in the two photos?",
    "Adding both pictures up, how many {plural} are there?",
    "How many {plural} do the two images show in all?",
    "Across Image 1 and Image 2, how many {plural} can you find?",
)
TRAY: RGB = (208, 204, 196)


def _others(
    rng: random.Random, target: tuple[str, str], n: int, near: bool
) -> list[tuple[str, str]]:
    """``n`` (colour, kind) pairs that are not the target; with ``near``, the first two
    share the target's colour or its shape, so the count is a real filter."""
    combos = [(c, k) for c in SHAPE_COLOURS for k in KINDS if (c, k) != target]
    close = [p for p in combos if p[0] == target[0] or p[1] == target[1]]
    rng.shuffle(close)
    out = close[:2] if near else []
    return (out + [rng.choice(combos) for _ in range(n)])[:n]


def _photo(
    rng: random.Random,
    size: tuple[int, int],
    target: tuple[str, str],
    n: int,
    mode: str,
) -> tuple[Image.Image, list[Piece], list[Piece], list[int] | None, int]:
    """One photo's table before the camera: ``n`` target pieces and distractors. ``mode``:
    ``open`` (pieces over the table), ``tray`` (tiny pieces crowded on a tray, a few big
    other pieces around it) or ``big`` (a few big pieces). Returns the picture, the targets,
    the distractors, the tray and the smallest radius."""
    w, h = size
    u = unit(size)
    img = table(rng, size)
    taken: list[Piece] = []
    tray: list[int] | None = None
    whole = [round(30 * u), round(30 * u), w - round(30 * u), h - round(30 * u)]
    colour, kind = target
    rgb = SHAPE_COLOURS[colour]
    if mode == "tray":
        tw, th = round(w * rng.uniform(0.26, 0.32)), round(h * rng.uniform(0.26, 0.32))
        x0 = rng.randint(round(40 * u), w - tw - round(40 * u))
        y0 = rng.randint(round(40 * u), h - th - round(40 * u))
        tray = [x0, y0, x0 + tw, y0 + th]
        ImageDraw.Draw(img).rounded_rectangle(tray, radius=round(10 * u), fill=TRAY,
                                              outline=(150, 146, 140), width=2)  # fmt: skip
        r = max(6, round(rng.uniform(6, 7) * u))
        inner = [
            x0 + round(8 * u),
            y0 + round(8 * u),
            x0 + tw - round(8 * u),
            y0 + th - round(8 * u),
        ]
        targets = scatter(rng, [(kind, rgb, r)] * n, inner, taken, 5 * u)
        specs = [
            (k, SHAPE_COLOURS[c], r) for c, k in _others(rng, target, rng.randint(7, 12), True)
        ]
        rivals = scatter(rng, specs, inner, taken, 5 * u)
        fence = Piece("square", x0 + tw // 2, y0 + th // 2, round(math.hypot(tw, th) / 2), rgb)
        taken.append(fence)  # nothing big on the tray
        pairs = [p for p in _others(rng, target, 6, False) if p[0] != colour][: rng.randint(2, 4)]
        big = [(k, SHAPE_COLOURS[c], round(rng.uniform(20, 34) * u)) for c, k in pairs]
        rivals += scatter(rng, big, whole, taken, 24 * u)
        taken.remove(fence)
        smallest = r
    else:
        lo, hi = (44, 60) if mode == "big" else (18, 30)
        specs = [(kind, rgb, round(rng.uniform(lo, hi) * u)) for _ in range(n)]
        targets = scatter(rng, specs, whole, taken, 26 * u)
        count = rng.randint(3, 5) if mode == "big" else rng.randint(6, 11)
        others = _others(rng, target, count, mode != "big")
        lo, hi = (30, 56) if mode == "big" else (15, 32)
        specs = [(k, SHAPE_COLOURS[c], round(rng.uniform(lo, hi) * u)) for c, k in others]
        rivals = scatter(rng, specs, whole, taken, 22 * u)
        smallest = min((p.r for p in targets), default=0)
    assert len(targets) == n  # placed first, on an open table or an empty tray
    blur = max(2.0, 0.12 * sum(p.r for p in taken) / len(taken))
    return lay(img, taken, blur), targets, rivals, tray, smallest


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    """Two photos of pieces; the count is over both. Hard scenes: numbered marks on each
    photo (numbering on), after a zoom on a crowded tray. Easy: a few big pieces in one."""
    colour, kind = rng.choice(list(SHAPE_COLOURS)), rng.choice(KINDS)
    target = (colour, kind)
    plural = f"{colour} {kind}s"
    easy = rng.random() < 0.2
    if easy:
        n = rng.randint(2, 3)
        home = rng.randrange(2)
        counts = [n if k == home else 0 for k in range(2)]
        modes = ["big", "big"]
    else:
        n = rng.randint(5, 14)
        first = rng.randint(max(2, n - 9), min(n - 2, 9))
        counts = [first, n - first]
        modes = ["open", "open"]
        if rng.random() < 0.5:
            modes[rng.randrange(2)] = "tray"
    photos = [_photo(rng, size, target, counts[k], modes[k]) for k in range(2)]
    shots = [shoot(p[0], rng.uniform(0.3, 0.7), rng.randint(80, 92)) for p in photos]

    needs: list[Need] = []
    numbered = 1
    for k, (_, targets, _, tray, smallest) in enumerate(photos):
        if easy:
            if targets:
                box = [min(p.box[0] for p in targets), min(p.box[1] for p in targets),
                       max(p.box[2] for p in targets), max(p.box[3] for p in targets)]  # fmt: skip
                reveals = (f"all {n} {plural} are in image {k + 1}, big enough to count at a "
                           f"glance; image {2 - k} has none")  # fmt: skip
                needs.append(Need("zoom", {}, reveals, 2.0 * smallest, [float(v) for v in box],
                                  image=k))  # fmt: skip
            continue
        if tray is not None:
            reveals = f"the tray in image {k + 1} shows its pieces large enough to tell apart"
            needs.append(Need("zoom", {}, reveals, 2.0 * smallest, [float(v) for v in tray],
                              image=k))  # fmt: skip
        last = numbered + len(targets) - 1
        span = f"{numbered}" if last == numbered else f"{numbered} to {last}"
        params = {"points": [[p.cx, p.cy] for p in targets], "numbered": True, "first": numbered}
        reveals = f"the marks in image {k + 1} number its {plural} {span}"
        if k == 1:
            reveals += f", so both images hold {n}"
        needs.append(Need("point_mark", params, reveals, image=k))
        numbered = last + 1

    objects: list[dict[str, Any]] = []
    for k, (_, _, rivals, _, _) in enumerate(photos):
        objects += [{"label": f"{next(c for c, v in SHAPE_COLOURS.items() if v == p.rgb)} "
                              f"{p.kind}", "box": p.box, "image": k}
                    for p in rivals[:4]]  # fmt: skip
    annotations: dict[str, Any] = {
        "target": {"colour": colour, "kind": kind, "rgb": list(SHAPE_COLOURS[colour])},
        "counts": counts,
        "trays": [p[3] for p in photos],
        "radii": [p[4] for p in photos],
        "easy": easy,
    }
    answer = str(n)
    choices = None
    if rng.random() < 0.4:
        choices = multiple_choice(rng, answer, [str(v) for v in range(max(1, n - 4), n + 5)])
    question = ask(rng, PHRASINGS, plural=plural)
    (first_img, photo), (second_img, _) = shots
    return Scene(first_img, question, answer, annotations, needs, objects, choices=choices,
                 encoded=photo, more_images=[second_img])  # fmt: skip


FAMILY = Family(
    "count_across",
    make,
    "pieces of one colour and shape over two photos, counted together",
    PHRASINGS,
    (
        ("point_mark", "point_mark"),
        ("zoom", "point_mark", "point_mark"),
        ("point_mark", "zoom", "point_mark"),
        (),
    ),
    images=2,
)
