"""spatial_relation: BLINK-style spatial relations in a photo of a table top. Shaded
objects with contact shadows stand at different depths; the question asks whether one is
to the left (or right) of another whose centre is at nearly the same x, or which of three
tagged objects is closest to a named one when the distances differ by under a fifth.

Left/right: box the object asked about, then draw a vertical line through the other's
centre (the box's centre falls on one side of it). Closest: box the named object, then
an arrow from it to the nearest tagged one. When the gap is plain (centres far apart, or
one candidate much nearer), it is answered as seen."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    RGB,
    TEXT_INK,
    Family,
    Scene,
    camera,
    muted,
    overlaps,
    typeface,
    unit,
    zoom_need,
)
from atlas_data.sources.scenes.object_localisation import COLOURS, shaded, silhouette, table

SIDE_PHRASINGS = (
    "Is the {a} to the {rel} of the {b}? Answer yes or no.",
    "In the photo, is the {a} further {rel} than the {b}?",
    "Looking at the picture as it is, does the {a} stand to the {rel} of the {b}?",
    "Which is further to the {rel} in the picture: the {a} or the {b}?",
    "Comparing their centres, which object lies more to the {rel}, the {a} or the {b}?",
)
NEAR_PHRASINGS = (
    "Which object is closest to the {ref} in the picture: {options}?",
    "Of the objects tagged {options}, which one is nearest to the {ref}?",
    "Which tagged object stands closest to the {ref}: {options}?",
    "The {ref} is nearest to which of the tagged objects, {options}?",
)
PHRASINGS = SIDE_PHRASINGS + NEAR_PHRASINGS
# Symmetric objects only: an object's position is its extent's centre, and a mug's handle
# would pull that centre off its body.
SIDE_KINDS = ("ball", "book", "bottle", "vase", "box")
NEAR_KINDS = ("mug", "ball", "book", "bottle", "vase", "box")
EASY_SHARE = 0.17
TAG_FILL: RGB = (250, 250, 250)


def dims(rng: random.Random, kind: str, lo: float, hi: float, u: float) -> tuple[int, int]:
    ow, oh = (round(rng.uniform(lo, hi) * u) for _ in range(2))
    if kind in ("bottle", "vase"):
        ow = round(ow * 0.6)
    elif kind == "ball":
        oh = ow
    return ow, oh


def put(img: Image.Image, spot: list[int], kind: str, rgb: RGB) -> list[int]:
    """The object drawn in ``spot`` with a soft contact shadow; its extent (x1, y1 exclusive)."""
    sw, sh = spot[2] - spot[0], spot[3] - spot[1]
    under = img.getpixel((min(spot[0], img.width - 1), min(spot[3], img.height - 1)))
    assert isinstance(under, tuple)
    oval = (spot[0] - 0.1 * sw, spot[3] - 0.08 * sh, spot[2] + 0.15 * sw, spot[3] + 0.06 * sh)
    x0, y0 = math.floor(oval[0]), math.floor(oval[1])  # drawn in its own box: a shift by
    x1, y1 = math.ceil(oval[2]) + 1, math.ceil(oval[3]) + 1  # whole pixels draws the same
    shadow = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(shadow).ellipse(
        (oval[0] - x0, oval[1] - y0, oval[2] - x0, oval[3] - y0), fill=110
    )
    img.paste(tuple(round(c * 0.6) for c in under), (x0, y0, x1, y1), shadow)
    mask = silhouette(kind, sw, sh)
    img.paste(shaded(kind, rgb, sw, sh), (spot[0], spot[1]), mask)
    bx0, by0, bx1, by1 = mask.getbbox() or (0, 0, sw, sh)
    return [spot[0] + bx0, spot[1] + by0, spot[0] + bx1, spot[1] + by1]


def centre(box: list[int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def clutter(
    rng: random.Random, img: Image.Image, edge: int, taken: list[Any], n: int, u: float
) -> list[list[int]]:
    """Muted look-alike objects clear of ``taken``; their extents."""
    w, h = img.size
    out = []
    for _ in range(n):
        kind = rng.choice(NEAR_KINDS)
        dw, dh = dims(rng, kind, 60, 140, u)
        for _ in range(100):
            x0 = rng.randint(10, w - dw - 10)
            y0 = rng.randint(max(10, edge - dh // 2), h - dh - 10)
            spot = [x0, y0, x0 + dw, y0 + dh]
            if not any(overlaps(spot, t, 24 * u) for t in taken):
                taken.append(spot)
                out.append((spot, kind))
                break
    boxes = []
    for spot, kind in sorted(out, key=lambda p: p[0][3]):
        boxes.append(put(img, spot, kind, muted(rng, (0.35, 0.7))))
    return boxes


def side_scene(rng: random.Random, size: tuple[int, int], easy: bool) -> dict[str, Any]:
    w, h = size
    u = unit(size)
    img, edge = table(rng, size)
    (ca, cb) = rng.sample(sorted(COLOURS), 2)
    ka, kb = rng.choice(SIDE_KINDS), rng.choice(SIDE_KINDS)
    while True:
        # one object far back on the table, the other near the front (larger: nearer)
        back, front = (ka, kb) if rng.random() < 0.5 else (kb, ka)
        bw, bh = dims(rng, back, 70, 130, u)
        fw, fh = dims(rng, front, 120, 210, u)
        cx = rng.uniform(0.25 * w, 0.75 * w)
        dx = rng.uniform(160, 300) * u if easy else rng.uniform(11, 22) * u
        dx *= rng.choice((-1, 1))
        by0 = round(rng.uniform(edge - bh * 0.4, edge + 60 * u))
        fy0 = round(rng.uniform(by0 + bh + 70 * u, h - fh - 30 * u))
        if fy0 + fh > h - 20 * u:
            continue
        bx0 = round(cx - bw / 2)
        fx0 = round(cx + dx - fw / 2)
        spots = {back: [bx0, by0, bx0 + bw, by0 + bh], front: [fx0, fy0, fx0 + fw, fy0 + fh]}
        if all(30 * u <= s[0] and s[2] <= w - 30 * u for s in spots.values()) and ka != kb:
            break
        ka, kb = rng.choice(SIDE_KINDS), rng.choice(SIDE_KINDS)
    column = [min(s[0] for s in spots.values()) - 40 * u, 0,
              max(s[2] for s in spots.values()) + 40 * u, h]  # fmt: skip
    distractors = clutter(rng, img, edge, [column], rng.randint(3, 6), u)
    extents = {}
    for kind in sorted(spots, key=lambda k: spots[k][3]):  # back to front
        extents[kind] = put(img, spots[kind], kind, COLOURS[ca if kind == ka else cb])
    img, photo = camera(img, rng)
    a, b = f"{ca} {ka}", f"{cb} {kb}"
    ea, eb = extents[ka], extents[kb]
    (xa, _), (xb, _) = centre(ea), centre(eb)
    rel = rng.choice(("left", "right"))
    a_is = (xa < xb) if rel == "left" else (xa > xb)
    k = rng.randrange(len(SIDE_PHRASINGS))
    if k < 3:
        question = SIDE_PHRASINGS[k].format(a=a, b=b, rel=rel)
        answer, choices = ("yes" if a_is else "no"), (["yes", "no"] if rng.random() < 0.5 else None)
    else:
        first, second = (a, b) if rng.random() < 0.5 else (b, a)
        question = SIDE_PHRASINGS[k].format(a=first, b=second, rel=rel)
        answer, choices = (a if a_is else b), [first, second]
    region = [min(ea[0], eb[0]) - 20, min(ea[1], eb[1]) - 20, max(ea[2], eb[2]) + 20,
              max(ea[3], eb[3]) + 20]  # fmt: skip
    side_word = "left" if xa < xb else "right"
    # easy: the gap is plain at the budget, a zoom adds nothing (the judges answer directly)
    needs = [zoom_need(region, abs(xa - xb), f"the {a} stands well to the {side_word}")]
    if not easy:
        pad = round(6 * u)
        framed = [ea[0] - pad, ea[1] - pad, ea[2] + pad, ea[3] + pad]
        top, bottom = min(ea[1], eb[1]) - round(20 * u), max(ea[3], eb[3]) + round(20 * u)
        side = "left" if xa < xb else "right"
        needs = [
            Need("box", {"box": framed},
                 f"the box frames the {a}, its centre midway between its sides"),
            Need("aux_line",
                 {"start": [round(xb), max(0, top)], "end": [round(xb), min(h - 1, bottom)]},
                 f"the vertical through the {b}'s centre passes the {a}'s box with its centre "
                 f"to the {side} of the line"),
        ]  # fmt: skip
    objects = [{"label": b, "box": list(eb)}]
    objects += [{"label": "object", "box": list(bx)} for bx in distractors[:4]]
    annotations = {
        "mode": "side",
        "easy": easy,
        "a": {"name": a, "rgb": list(COLOURS[ca]), "extent": ea},
        "b": {"name": b, "rgb": list(COLOURS[cb]), "extent": eb},
        "rel": rel,
        "dx_px": round(xa - xb, 1),
    }
    return {"image": img, "photo": photo, "question": question, "answer": answer,
            "choices": choices, "needs": needs, "objects": objects,
            "annotations": annotations}  # fmt: skip


def near_scene(rng: random.Random, size: tuple[int, int], easy: bool) -> dict[str, Any]:
    w, h = size
    u = unit(size)
    img, edge = table(rng, size)
    colours = rng.sample(sorted(COLOURS), 4)
    kinds = [rng.choice(NEAR_KINDS) for _ in range(4)]
    sizes = [dims(rng, k, 90, 160, u) for k in kinds]
    tag_h = round(46 * u)
    while True:
        spots: list[list[int]] = []
        for ow, oh in sizes:
            for _ in range(200):
                x0 = rng.randint(round(40 * u), w - ow - round(40 * u))
                y0 = rng.randint(max(tag_h + round(20 * u), edge - oh // 3), h - oh - round(20 * u))
                spot = [x0, y0 - tag_h, x0 + ow, y0 + oh]  # with room for its tag above
                if not any(overlaps(spot, t, 40 * u) for t in spots):
                    spots.append(spot)
                    break
            else:
                break
        if len(spots) < 4:
            continue
        spots = [[s[0], s[1] + tag_h, s[2], s[3]] for s in spots]
        at = centre(spots[0])
        dist = sorted((math.dist(at, centre(s)), i) for i, s in enumerate(spots[1:], 1))
        ratio = dist[1][0] / dist[0][0]
        if (ratio >= 1.6 if easy else 1.07 <= ratio <= 1.2) and dist[0][0] > 200 * u:
            break
    distractors = clutter(rng, img, edge, [[s[0], s[1] - tag_h, s[2], s[3]] for s in spots],
                          rng.randint(2, 4), u)  # fmt: skip
    extents: dict[int, list[int]] = {}
    for i in sorted(range(4), key=lambda i: spots[i][3]):
        extents[i] = put(img, spots[i], kinds[i], COLOURS[colours[i]])
    letters = ["A", "B", "C"]
    rng.shuffle(letters)
    font = typeface("sans", round(30 * u))
    d = ImageDraw.Draw(img)
    tags: dict[str, list[int]] = {}
    for letter, i in zip(letters, (1, 2, 3), strict=True):
        e = extents[i]
        x, y1 = (e[0] + e[2]) / 2, e[1] - round(8 * u)
        tw = round(40 * u)
        tag = [round(x - tw / 2), y1 - round(38 * u), round(x + tw / 2), y1]
        d.rectangle((tag[0], tag[1], tag[2] - 1, tag[3] - 1), fill=TAG_FILL, outline=(60, 60, 60))
        d.text(((tag[0] + tag[2]) / 2, (tag[1] + tag[3]) / 2), letter, TEXT_INK, font, "mm")
        tags[letter] = tag
    img, photo = camera(img, rng)
    c0 = centre(extents[0])
    dists = {letter: math.dist(c0, centre(extents[i]))
             for letter, i in zip(letters, (1, 2, 3), strict=True)}  # fmt: skip
    answer = min(dists, key=lambda key: dists[key])
    ref = f"{colours[0]} {kinds[0]}"
    options = "A, B or C"
    k = rng.randrange(len(NEAR_PHRASINGS))
    question = NEAR_PHRASINGS[k].format(ref=ref, options=options)
    choices = ["A", "B", "C"]
    near = extents[letters.index(answer) + 1]
    region = [min(extents[0][0], near[0]) - 20, min(extents[0][1], near[1]) - 20,
              max(extents[0][2], near[2]) + 20, max(extents[0][3], near[3]) + 20]  # fmt: skip
    gap = sorted(dists.values())[1] - dists[answer]
    needs = [zoom_need(region, gap, f"object {answer} is plainly the nearest to the {ref}")]
    if not easy:
        e0, ea = extents[0], extents[letters.index(answer) + 1]
        pad = round(6 * u)
        ca = centre(ea)
        # the arrow stops at the answer's rim, so its head does not hide the object's tag
        length = math.dist(c0, ca)
        back = min(0.45 * length, 0.5 * min(ea[2] - ea[0], ea[3] - ea[1]))
        tip = [round(ca[0] - (ca[0] - c0[0]) * back / length),
               round(ca[1] - (ca[1] - c0[1]) * back / length)]  # fmt: skip
        needs = [
            Need("box", {"box": [e0[0] - pad, e0[1] - pad, e0[2] + pad, e0[3] + pad]},
                 f"the box marks the {ref}, where distances are measured from"),
            Need("arrow", {"start": [round(c0[0]), round(c0[1])], "end": tip},
                 f"the arrow from the {ref} reaches object {answer}, the nearest of the three"),
        ]  # fmt: skip
    objects = [{"label": f"object {k}", "box": list(extents[letters.index(k) + 1])}
               for k in letters if k != answer]  # fmt: skip
    objects += [{"label": "object", "box": list(bx)} for bx in distractors[:3]]
    annotations = {
        "mode": "near",
        "easy": easy,
        "ref": {"name": ref, "rgb": list(COLOURS[colours[0]]), "extent": extents[0]},
        "candidates": {letter: {"rgb": list(COLOURS[colours[i]]), "extent": extents[i]}
                       for letter, i in zip(letters, (1, 2, 3), strict=True)},
        "tags": tags,
        "distances": {k: round(v, 1) for k, v in dists.items()},
    }  # fmt: skip
    return {"image": img, "photo": photo, "question": question, "answer": answer,
            "choices": choices, "needs": needs, "objects": objects,
            "annotations": annotations}  # fmt: skip


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    easy = rng.random() < EASY_SHARE
    s = side_scene(rng, size, easy) if rng.random() < 0.55 else near_scene(rng, size, easy)
    return Scene(s["image"], s["question"], s["answer"], s["annotations"], s["needs"],
                 s["objects"], s["choices"], encoded=s["photo"])  # fmt: skip


FAMILY = Family(
    "spatial_relation",
    make,
    "left/right of, or closest to, among shaded objects on a table top (BLINK-style)",
    PHRASINGS,
    (("box", "aux_line"), ("box", "arrow"), ()),
)
