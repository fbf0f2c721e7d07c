"""functional_correspondence: BLINK-style functional correspondence across two photos.
Image 1 shows a tool or vessel with a ring REF on one functional part (a pan's handle to
grasp, a knife's blade that cuts, a kettle's spout that pours, a mug's body that holds);
Image 2 shows a DIFFERENT kind of object with three or four lettered rings on its parts.
Which ring is on the part that serves the same function? The answer comes from the part
graph: exactly one candidate sits on a part with REF's function.

Box the REF's part in Image 1, then box (or point an arrow at) the matching part in
Image 2. Large objects with candidates far apart are answered as seen."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    RGB,
    Family,
    Scene,
    backdrop,
    camera,
    gaussian_blur,
    rgb_planes,
    typeface,
    unit,
    zoom_need,
)

PHRASINGS = (
    "Image 1 marks a part of the {x} with REF. Which lettered point on the {y} in Image 2 "
    "serves the same function: {options}?",
    "The REF point in Image 1 is on the part of the {x} you would {verb}. Which point on the "
    "{y} in Image 2 would you {verb} in the same way?",
    "Which point in Image 2 has the same function as the marked part in Image 1?",
    "Functionally, which candidate on the {y} ({options}) corresponds to REF on the {x}?",
    "Find the part of the {y} that does the job of the part marked REF on the {x}: {options}?",
    "Humans would use the REF part of the {x} in one way. Which labelled point of the {y} is "
    "used the same way?",
)
VERBS = {"grasp": "hold it by", "contain": "put the contents in", "pour": "pour from",
         "cut": "cut with"}  # fmt: skip
RING: RGB = (250, 215, 30)
STEEL: RGB = (186, 190, 198)
HANDLES: tuple[RGB, ...] = ((140, 92, 50), (42, 42, 46), (170, 38, 34), (40, 66, 150))
BODIES: tuple[RGB, ...] = ((185, 105, 58), (58, 135, 88), (60, 98, 175), (225, 212, 188),
                           (150, 40, 60))  # fmt: skip
EASY_SHARE = 0.17


@dataclass(frozen=True)
class Part:
    """One part of an object, in the object's unit box (x in 0..1 of its width, y of its
    height): its primitives, its function and the points a ring may mark on it."""

    name: str
    function: str
    material: str  # "handle", "body", "steel", "dark", "brass"
    prims: tuple[tuple[Any, ...], ...]
    anchors: tuple[tuple[float, float], ...]


# Each object: aspect (width / height) and its parts in drawing order (later ones on top).
OBJECTS: dict[str, tuple[float, tuple[Part, ...]]] = {
    "frying pan": (
        2.3,
        (
            Part(
                "pan",
                "contain",
                "dark",
                (("ellipse", 0.0, 0.05, 0.5, 0.95),),
                ((0.25, 0.5), (0.14, 0.32)),
            ),
            Part(
                "handle",
                "grasp",
                "handle",
                (("rect", 0.48, 0.42, 1.0, 0.58),),
                ((0.8, 0.5), (0.62, 0.5)),
            ),
        ),
    ),
    "knife": (
        5.0,
        (
            Part(
                "blade",
                "cut",
                "steel",
                (("poly", (0.0, 0.35), (0.6, 0.12), (0.6, 0.88), (0.12, 0.88)),),
                ((0.25, 0.6), (0.48, 0.5)),
            ),
            Part(
                "handle",
                "grasp",
                "handle",
                (("rect", 0.6, 0.2, 1.0, 0.8),),
                ((0.76, 0.5), (0.92, 0.5)),
            ),
        ),
    ),
    "kettle": (
        1.4,
        (
            Part(
                "handle",
                "grasp",
                "handle",
                (("ring", 0.3, 0.0, 0.74, 0.56, 0.08),),
                ((0.52, 0.04),),
            ),
            Part(
                "spout", "pour", "steel", (("line", 0.3, 0.64, 0.04, 0.28, 0.09),), ((0.08, 0.33),)
            ),
            Part(
                "body",
                "contain",
                "body",
                (("rrect", 0.22, 0.3, 0.82, 1.0, 0.12),),
                ((0.52, 0.68), (0.4, 0.86)),
            ),
            Part("knob", "lid", "dark", (("ellipse", 0.47, 0.22, 0.57, 0.31),), ()),
        ),
    ),
    "watering can": (
        1.6,
        (
            Part(
                "handle",
                "grasp",
                "handle",
                (("ring", 0.45, 0.0, 1.0, 0.7, 0.07),),
                ((0.725, 0.035), (0.965, 0.35)),
            ),
            Part(
                "spout",
                "pour",
                "steel",
                (("line", 0.34, 0.8, 0.05, 0.2, 0.06), ("ellipse", 0.0, 0.1, 0.1, 0.28)),
                ((0.05, 0.19), (0.16, 0.44)),
            ),
            Part(
                "body",
                "contain",
                "body",
                (("rrect", 0.3, 0.3, 0.8, 1.0, 0.06),),
                ((0.55, 0.7), (0.42, 0.88)),
            ),
        ),
    ),
    "scissors": (
        2.2,
        (
            Part(
                "loop",
                "grasp",
                "handle",
                (("ring", 0.58, 0.04, 0.86, 0.46, 0.08), ("line", 0.55, 0.47, 0.64, 0.38, 0.07)),
                ((0.72, 0.08),),
            ),
            Part(
                "loop 2",
                "grasp",
                "handle",
                (("ring", 0.68, 0.54, 0.96, 0.96, 0.08), ("line", 0.55, 0.53, 0.72, 0.62, 0.07)),
                ((0.82, 0.92),),
            ),
            Part(
                "blade",
                "cut",
                "steel",
                (("poly", (0.0, 0.45), (0.56, 0.3), (0.56, 0.48)),),
                ((0.3, 0.42),),
            ),
            Part(
                "blade 2",
                "cut",
                "steel",
                (("poly", (0.0, 0.55), (0.56, 0.52), (0.56, 0.7)),),
                ((0.3, 0.59),),
            ),
            Part("pivot", "hinge", "brass", (("ellipse", 0.52, 0.43, 0.6, 0.57),), ((0.56, 0.5),)),
        ),
    ),
    "jug": (
        1.0,
        (
            Part(
                "handle", "grasp", "handle", (("ring", 0.6, 0.25, 1.0, 0.75, 0.08),), ((0.96, 0.5),)
            ),
            Part(
                "body",
                "contain",
                "body",
                (("rrect", 0.2, 0.15, 0.8, 1.0, 0.08),),
                ((0.5, 0.62), (0.42, 0.85)),
            ),
            Part(
                "spout",
                "pour",
                "steel",
                (("poly", (0.24, 0.15), (0.0, 0.04), (0.22, 0.32)),),
                ((0.15, 0.17),),
            ),
        ),
    ),
    "mug": (
        1.25,
        (
            Part(
                "handle",
                "grasp",
                "handle",
                (("ring", 0.5, 0.2, 1.0, 0.8, 0.1),),
                ((0.95, 0.5), (0.8, 0.25)),
            ),
            Part(
                "body",
                "contain",
                "body",
                (("rrect", 0.0, 0.0, 0.72, 1.0, 0.06),),
                ((0.36, 0.5), (0.36, 0.2), (0.36, 0.82)),
            ),
        ),
    ),
    "hammer": (
        2.5,
        (
            Part(
                "handle",
                "grasp",
                "handle",
                (("rect", 0.16, 0.38, 1.0, 0.62),),
                ((0.7, 0.5), (0.45, 0.5)),
            ),
            Part(
                "head",
                "strike",
                "dark",
                (("rect", 0.0, 0.0, 0.18, 1.0),),
                ((0.09, 0.14), (0.09, 0.86)),
            ),
        ),
    ),
    "ladle": (
        2.8,
        (
            Part(
                "bowl",
                "contain",
                "steel",
                (("ellipse", 0.0, 0.0, 0.34, 1.0),),
                ((0.17, 0.5), (0.1, 0.3)),
            ),
            Part(
                "handle",
                "grasp",
                "handle",
                (("rect", 0.32, 0.42, 1.0, 0.58),),
                ((0.62, 0.5), (0.9, 0.5)),
            ),
        ),
    ),
}
ASKED = ("grasp", "contain", "pour", "cut")


def functions(kind: str) -> set[str]:
    return {p.function for p in OBJECTS[kind][1]}


def colours(rng: random.Random, kind: str) -> dict[str, RGB]:
    """A colour per material, mutually far apart (a part is told by its colour)."""
    while True:
        out = {"handle": rng.choice(HANDLES), "body": rng.choice(BODIES), "steel": STEEL,
               "dark": (78, 80, 88), "brass": (196, 160, 62)}  # fmt: skip
        used = {p.material for p in OBJECTS[kind][1]}
        cols = [out[m] for m in used]
        if all(math.dist(a, b) >= 90 for i, a in enumerate(cols) for b in cols[i + 1 :]):
            return out


def part_mask(part: Part, box: tuple[float, float, float, float], size: tuple[int, int]):
    """The part's mask (L) over the whole image, the object drawn in ``box``."""
    x0, y0, x1, y1 = box
    ow, oh = x1 - x0, y1 - y0

    def p(x: float, y: float) -> tuple[float, float]:
        return x0 + x * ow, y0 + y * oh

    m = Image.new("L", size, 0)
    d = ImageDraw.Draw(m)
    for prim in part.prims:
        kind, *v = prim
        if kind == "ellipse":
            d.ellipse((*p(v[0], v[1]), *p(v[2], v[3])), fill=255)
        elif kind == "rect":
            d.rectangle((*p(v[0], v[1]), *p(v[2], v[3])), fill=255)
        elif kind == "rrect":
            d.rounded_rectangle((*p(v[0], v[1]), *p(v[2], v[3])), radius=v[4] * oh, fill=255)
        elif kind == "ring":
            d.ellipse((*p(v[0], v[1]), *p(v[2], v[3])), outline=255, width=round(v[4] * oh))
        elif kind == "line":
            d.line((*p(v[0], v[1]), *p(v[2], v[3])), fill=255, width=round(v[4] * oh))
        else:  # poly
            d.polygon([p(*q) for q in v], fill=255)
    return m


def draw_object(
    img: Image.Image, kind: str, box: tuple[float, float, float, float], cols: dict[str, RGB]
) -> dict[str, np.ndarray]:
    """The object drawn with a soft shadow and side lighting; each part's visible mask. The
    drawing is done in a crop round the object (the rest of the image is untouched)."""
    parts = OBJECTS[kind][1]
    w, h = img.size
    off = round(0.04 * (box[3] - box[1])) + 4
    pad = 4 * off + 8
    c0, r0 = max(0, math.floor(box[0]) - pad), max(0, math.floor(box[1]) - pad)
    c1, r1 = min(w, math.ceil(box[2]) + pad), min(h, math.ceil(box[3]) + pad)
    crop = img.crop((c0, r0, c1, r1))
    local = (box[0] - c0, box[1] - r0, box[2] - c0, box[3] - r0)
    masks = [part_mask(p, local, crop.size) for p in parts]
    union = Image.new("L", crop.size, 0)
    for m in masks:
        union.paste(255, (0, 0), m)
    shadow = union.transform(crop.size, Image.Transform.AFFINE, (1, 0, -off, 0, 1, -off))
    shadow = gaussian_blur(shadow, off * 0.8).point(lambda v: v * 0.5)
    crop.paste((30, 28, 26), (0, 0), shadow)
    xs = (np.arange(c0, c1, dtype=np.float32) / w)[None, :]
    ys = (np.arange(r0, r1, dtype=np.float32) / h)[:, None]
    light = 0.86 + 0.16 * np.cos(np.pi * (xs - 0.3)) * np.cos(np.pi * (ys - 0.3) * 0.6)
    light = light.astype(np.float32)
    visible: list[np.ndarray] = []
    for part, m in zip(parts, masks, strict=True):
        tone = rgb_planes([light * np.float32(v) for v in cols[part.material]])
        crop.paste(Image.fromarray(tone), (0, 0), m)
        # the part's rim: a thin darker outline
        edge = Image.fromarray(cv2.dilate(np.asarray(m), np.ones((3, 3), np.uint8)))
        rim = Image.eval(edge, lambda v: v // 3)
        crop.paste((20, 20, 20), (0, 0), Image.fromarray(
            (np.asarray(rim) * (np.asarray(m) == 0)).astype(np.uint8)))  # fmt: skip
        arr = np.asarray(m) > 0
        visible = [v & ~arr for v in visible]
        visible.append(arr)
    img.paste(crop, (c0, r0))
    out = {}
    for p, v in zip(parts, visible, strict=True):
        full = np.zeros((h, w), bool)
        full[r0:r1, c0:c1] = v
        out[p.name] = full
    return out


def ring(d: ImageDraw.ImageDraw, x: float, y: float, r: float, width: int) -> None:
    d.ellipse((x - r - 1, y - r - 1, x + r + 1, y + r + 1), outline=(20, 20, 20), width=width + 2)
    d.ellipse((x - r, y - r, x + r, y + r), outline=RING, width=width)


def tag(d: ImageDraw.ImageDraw, x: float, y: float, text: str, px: int) -> list[int]:
    f = typeface("sans", px)
    d.text((x, y), text, fill=(255, 255, 255), font=f, anchor="mm", stroke_width=3,
           stroke_fill=(15, 15, 15))  # fmt: skip
    return [round(v) for v in d.textbbox((x, y), text, font=f, anchor="mm", stroke_width=3)]


def bbox(mask: np.ndarray) -> list[int]:
    """The box (x1, y1 exclusive) of a non-empty mask's set pixels."""
    ys, xs = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return [int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1]


def layout(rng: random.Random, kind: str, size: tuple[int, int], share: float):
    w, h = size
    aspect = OBJECTS[kind][0]
    ow = min(share * w, 0.8 * h * aspect)
    oh = ow / aspect
    x0 = rng.uniform(0.12 * w, w - ow - 0.12 * w)
    y0 = rng.uniform(0.14 * h, max(0.14 * h, h - oh - 0.14 * h))
    return (x0, y0, x0 + ow, y0 + oh)


def point(
    kind: str, part: str, k: int, box: tuple[float, float, float, float]
) -> tuple[float, float]:
    p = next(q for q in OBJECTS[kind][1] if q.name == part)
    ax, ay = p.anchors[k]
    return box[0] + ax * (box[2] - box[0]), box[1] + ay * (box[3] - box[1])


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    easy = rng.random() < EASY_SHARE
    fn = rng.choice(ASKED)
    x = rng.choice(sorted(k for k in OBJECTS if fn in functions(k)))
    y = rng.choice(sorted(k for k in OBJECTS if fn in functions(k) and k != x))
    r = round(15 * u)
    rw = max(3, round(4 * u))
    label_px = round(32 * u)

    # Image 1: the object with REF on one of its parts that does ``fn``
    img1 = backdrop(rng, size, noise=True, light=True)
    box1 = layout(rng, x, size, rng.uniform(0.7, 0.8) if easy else rng.uniform(0.45, 0.6))
    cols1 = colours(rng, x)
    vis1 = draw_object(img1, x, box1, cols1)
    refs = [(p.name, k) for p in OBJECTS[x][1] if p.function == fn for k in range(len(p.anchors))]
    ref_part, ref_k = rng.choice(refs)
    rp = point(x, ref_part, ref_k, box1)
    d1 = ImageDraw.Draw(img1)
    ring(d1, rp[0], rp[1], r, rw)
    dy = -1 if rp[1] - r - label_px > 10 else 1
    tag(d1, rp[0], rp[1] + dy * (r + label_px * 0.7), "REF", label_px)

    # Image 2: another kind, one candidate on a part doing ``fn``, the rest on other parts
    img2 = backdrop(rng, size, noise=True, light=True)
    box2 = layout(rng, y, size, rng.uniform(0.7, 0.8) if easy else rng.uniform(0.45, 0.6))
    cols2 = colours(rng, y)
    vis2 = draw_object(img2, y, box2, cols2)
    parts2 = OBJECTS[y][1]
    right = rng.choice([(p.name, k) for p in parts2 if p.function == fn
                        for k in range(len(p.anchors))])  # fmt: skip
    wrong = [(p.name, k) for p in parts2 if p.function != fn for k in range(len(p.anchors))]
    rng.shuffle(wrong)
    chosen = [right]
    apart = (6.0 if easy else 3.2) * r
    for cand in wrong:
        q = point(y, *cand, box2)
        if all(math.dist(q, point(y, *c, box2)) >= apart for c in chosen):
            chosen.append(cand)
        if len(chosen) == 4:
            break
    rng.shuffle(chosen)
    letters = "ABCD"[: len(chosen)]
    answer = letters[chosen.index(right)]
    points = {k: point(y, *c, box2) for k, c in zip(letters, chosen, strict=True)}
    d2 = ImageDraw.Draw(img2)
    for q in points.values():
        ring(d2, q[0], q[1], r, rw)
    cx2, cy2 = (box2[0] + box2[2]) / 2, (box2[1] + box2[3]) / 2
    tags2: dict[str, list[int]] = {}
    for k, (px, py) in points.items():  # each letter outward from the object's centre
        ang = math.atan2(py - cy2, px - cx2)
        best = None
        for turn in (0, 0.6, -0.6, 1.2, -1.2, 2.0, -2.0, math.pi):
            a = ang + turn
            tx = px + math.cos(a) * (r + label_px * 0.8)
            ty = py + math.sin(a) * (r + label_px * 0.8)
            clear = all(math.dist((tx, ty), q) >= r + label_px * 0.7 for q in points.values())
            clear = clear and all(math.dist((tx, ty), ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))
                                  >= label_px * 1.1 for b in tags2.values())  # fmt: skip
            inside = label_px <= tx <= w - label_px and label_px <= ty <= h - label_px
            if clear and inside:
                best = (tx, ty)
                break
        assert best is not None
        tags2[k] = tag(d2, *best, k, label_px)
    img1, photo1 = camera(img1, rng)
    img2, _ = camera(img2, rng)

    ref_box = bbox(vis1[ref_part])
    ans_box = bbox(vis2[right[0]])
    pad = round(8 * u)
    ref_box = [max(0, ref_box[0] - pad), max(0, ref_box[1] - pad),
               min(w, ref_box[2] + pad), min(h, ref_box[3] + pad)]  # fmt: skip
    ans_box = [max(0, ans_box[0] - pad), max(0, ans_box[1] - pad),
               min(w, ans_box[2] + pad), min(h, ans_box[3] + pad)]  # fmt: skip
    ref_fn = next(p.function for p in OBJECTS[x][1] if p.name == ref_part)
    # easy: big parts and candidates far apart, plain at the budget (answered directly)
    xs2, ys2 = [q[0] for q in points.values()], [q[1] for q in points.values()]
    region2 = [max(0.0, min(xs2) - 3 * r), max(0.0, min(ys2) - 3 * r),
               min(float(w), max(xs2) + 3 * r), min(float(h), max(ys2) + 3 * r)]  # fmt: skip
    needs = [replace(zoom_need(region2, apart, f"point {answer} is on the {y}'s {right[0]}"),
                     image=1)]  # fmt: skip
    if not easy:
        needs = []
        said = f"the boxed part of the {x} is its {ref_part}, used to {fn}"
        needs.append(Need("box", {"box": ref_box}, said))
        others_in = any(
            ans_box[0] <= q[0] <= ans_box[2] and ans_box[1] <= q[1] <= ans_box[3]
            for k, q in points.items()
            if k != answer
        )
        if not others_in and rng.random() < 0.5:
            needs.append(Need("box", {"box": ans_box}, f"the boxed {right[0]} of the {y} is "
                              f"used to {fn} too, and holds point {answer}", image=1))  # fmt: skip
        else:
            px, py = points[answer]
            tb = tags2[answer]
            away = math.atan2((tb[1] + tb[3]) / 2 - py, (tb[0] + tb[2]) / 2 - px)
            # the arrow comes from a side clear of the letter's tag and of the other rings
            a = away + math.pi
            for turn in (math.pi, 0.5 * math.pi, -0.5 * math.pi, 0.75 * math.pi, -0.75 * math.pi):
                a = away + turn
                sx, sy = px + math.cos(a) * 170 * u, py + math.sin(a) * 170 * u
                shaft = [(px + math.cos(a) * t * 170 * u, py + math.sin(a) * t * 170 * u)
                         for t in (0.25, 0.5, 0.75, 1.0)]  # fmt: skip
                clear = all(math.dist(s, q) > 2 * r for s in shaft
                            for k, q in points.items() if k != answer)  # fmt: skip
                if clear and 10 <= sx <= w - 10 and 10 <= sy <= h - 10:
                    break
            sx, sy = min(max(sx, 10.0), w - 10.0), min(max(sy, 10.0), h - 10.0)
            ex, ey = px + math.cos(a) * (r + 6), py + math.sin(a) * (r + 6)
            ends = {"start": [round(sx), round(sy)], "end": [round(ex), round(ey)]}
            needs.append(Need("arrow", ends,
                              f"the arrow points at {answer}, on the {y}'s {right[0]}, used to "
                              f"{fn} like REF's part", image=1))  # fmt: skip
    objects: list[dict[str, Any]] = [
        {"label": f"point {k}", "box": [q[0] - r, q[1] - r, q[0] + r, q[1] + r], "image": 1}
        for k, q in points.items()
        if k != answer
    ]
    for image, (kind, vis) in enumerate(((x, vis1), (y, vis2))):  # the parts, as regions
        for name, mask in vis.items():
            if mask.any() and (image, name) not in ((0, ref_part), (1, right[0])):
                objects.append({"label": f"{kind} {name}", "box": bbox(mask), "image": image})
    options = ", ".join(letters[:-1]) + " or " + letters[-1]
    fields = {"x": x, "y": y, "verb": VERBS[fn], "options": options}
    question = rng.choice(PHRASINGS).format(**fields)
    annotations = {
        "easy": easy,
        "function": fn,
        "x": x,
        "y": y,
        "ref": [round(rp[0], 1), round(rp[1], 1)],
        "ref_part": ref_part,
        "ref_box": ref_box,
        "answer_box": ans_box,
        "points": {k: [round(q[0], 1), round(q[1], 1)] for k, q in points.items()},
        "point_parts": {k: c[0] for k, c in zip(letters, chosen, strict=True)},
        "parts": {
            "1": [{"name": p.name, "function": p.function, "rgb": list(cols1[p.material])}
                  for p in OBJECTS[x][1]],
            "2": [{"name": p.name, "function": p.function, "rgb": list(cols2[p.material])}
                  for p in OBJECTS[y][1]],
        },
        "ring_px": r,
        "tags": tags2,
    }  # fmt: skip
    assert ref_fn == fn
    return Scene(img1, question, answer, annotations, needs, objects, choices=list(letters),
                 encoded=photo1, more_images=[img2])  # fmt: skip


FAMILY = Family(
    "functional_correspondence",
    make,
    "which lettered point of another kind of object serves the function of REF's part "
    "(BLINK-style)",
    PHRASINGS,
    (("box", "box"), ("box", "arrow"), ()),
    images=2,
)
