"""semantic_correspondence: two photos of the same KIND of object (an animal, a chair, a
mug, a car), BLINK-style: two instances of other colours, sizes, proportions and often
facing the other way. A point REF in Image 1 sits on one part (the tail's tip, the top of
the mug's handle); four lettered points in Image 2 sit on different parts of the other
instance, one of them on the same part. The answer comes from the object's part graph.

Operations: box REF's part in Image 1, then box the same part in Image 2; when the second
object faces the other way, an arrow in Image 2 from the candidate that only sits where
REF would be by position to the one on the same part; when the second object is small (its
letters under the reading size), zoom on it before boxing. Same-facing objects with
candidates on far-apart parts are answered directly."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    RGB,
    Family,
    Scene,
    ask,
    backdrop,
    camera,
    gaussian_blur,
    hsv,
    overlaps,
    typeface,
    zoom_need,
)

PHRASINGS = (
    "Image 1 marks a point REF on {a_kind}. Which of the points A to D in Image 2 is on "
    "the same part of the {kind}?",
    "Both photos show a {kind}. Which lettered point in Image 2 corresponds to the REF "
    "point in Image 1?",
    "REF in the first image marks a part of the {kind}. Which candidate in the second image "
    "marks the same part: A, B, C or D?",
    "Find the point of Image 2 that is semantically the same as REF in Image 1 (the same "
    "part of the object): A, B, C or D?",
    "The two {kind}s differ in colour, size and pose. Which of the points A-D in Image 2 "
    "lies on the part that REF marks in Image 1?",
    "Match the reference point across the two photos by object part: which candidate is it?",
)
RING: RGB = (250, 215, 30)  # REF's and the candidates' rings
SHARES = (("easy", 0.16), ("small", 0.22), ("arrow", 0.27), ("box", 0.35))
# Canonical frame: the object faces right (its front at larger u), u in 0..100, v down.
Shape = tuple[str, Any, str]  # (kind, geometry, role: main / accent / dark)
Part = tuple[tuple[float, float], tuple[float, float, float, float]]  # anchor, box


def _animal(rng: random.Random) -> tuple[list[Shape], dict[str, Part], str]:
    bl, bh = rng.uniform(20, 26), rng.uniform(10, 13)
    ll, tl, hr = rng.uniform(14, 20), rng.uniform(12, 18), rng.uniform(8.5, 11)
    cx, cy = 50.0, 42.0
    hx, hy = cx + bl + hr * 0.55, cy - bh - hr * 0.35
    foot = cy + bh + ll
    legs = {"front": cx + bl * 0.6, "hind": cx - bl * 0.6}
    tail0 = (cx - bl * 0.9, cy - bh * 0.4)
    tail1 = (cx - bl - tl * 0.55, cy - bh - tl * 0.75)
    ear = [(hx - hr * 0.65, hy - hr * 0.55), (hx + hr * 0.05, hy - hr * 0.85),
           (hx - hr * 0.45, hy - hr * 1.75)]  # fmt: skip
    nose = (hx + hr * 1.3, hy + hr * 0.2)
    shapes: list[Shape] = []
    for x in (legs["front"] - 4, legs["hind"] + 4):  # far legs, darker, behind
        shapes.append(("rect", (x - 2.6, cy, x + 2.6, foot), "dark"))
    shapes += [
        ("line", (*tail0, *tail1, 4.2), "accent"),
        ("ellipse", (cx - bl, cy - bh, cx + bl, cy + bh), "main"),
    ]
    for x in legs.values():
        shapes.append(("rect", (x - 3, cy, x + 3, foot), "main"))
        shapes.append(("ellipse", (x - 4, foot - 3, x + 4.5, foot + 1.5), "accent"))
    shapes += [
        ("ellipse", (hx - hr, hy - hr, hx + hr, hy + hr), "main"),
        ("poly", ear, "accent"),
        ("ellipse", (hx + hr * 0.4, hy - hr * 0.15, hx + hr * 1.45, hy + hr * 0.6), "main"),
        ("ellipse", (nose[0] - 1.8, nose[1] - 1.5, nose[0] + 1.8, nose[1] + 1.5), "dark"),
        ("ellipse", (hx + hr * 0.1, hy - hr * 0.4, hx + hr * 0.38, hy - hr * 0.12), "dark"),
    ]

    def near(p: tuple[float, float], r: float) -> Part:
        return p, (p[0] - r, p[1] - r, p[0] + r, p[1] + r)

    parts = {
        "nose": near(nose, 4),
        "ear tip": near(ear[2], 4),
        "tip of the tail": near(tail1, 4),
        "front paw": near((legs["front"], foot - 1), 5),
        "hind paw": near((legs["hind"], foot - 1), 5),
        "middle of the back": near((cx, cy - bh + 1.5), 5),
        "belly": near((cx, cy + bh - 1.5), 5),
    }
    return shapes, parts, "animal"


def _chair(rng: random.Random) -> tuple[list[Shape], dict[str, Part], str]:
    sw, bh, lh = rng.uniform(46, 58), rng.uniform(30, 40), rng.uniform(26, 34)
    x0, sy, th = 20.0, 50.0, 6.0
    x1 = x0 + sw
    foot = sy + th + lh
    shapes: list[Shape] = [
        ("rect", (x0, sy - bh, x0 + 7, sy), "main"),
        ("rect", (x0 - 3, sy - bh - 4, x0 + 10, sy - bh + 4), "accent"),
        ("rect", (x0, sy + th, x0 + 6, foot), "main"),
        ("rect", (x1 - 6, sy + th, x1, foot), "main"),
        ("rect", (x0 + 6, sy + th + lh * 0.55 - 1.5, x1 - 6, sy + th + lh * 0.55 + 1.5), "dark"),
        ("rect", (x0, sy, x1, sy + th), "main"),
        ("rect", (x0 + 8, sy - 5, x1 - 2, sy), "accent"),
    ]
    parts: dict[str, Part] = {
        "top of the backrest": ((x0 + 3.5, sy - bh), (x0 - 3, sy - bh - 4, x0 + 10, sy - bh + 4)),
        "back foot": ((x0 + 3, foot - 2), (x0 - 1, foot - 8, x0 + 7, foot)),
        "front foot": ((x1 - 3, foot - 2), (x1 - 7, foot - 8, x1 + 1, foot)),
        "seat cushion": (((x0 + x1) / 2 + 3, sy - 2.5), (x0 + 8, sy - 5, x1 - 2, sy)),
        "crossbar": (((x0 + x1) / 2, sy + th + lh * 0.55),
                     (x0 + 6, sy + th + lh * 0.55 - 3, x1 - 6, sy + th + lh * 0.55 + 3)),
        "middle of the backrest": ((x0 + 3.5, sy - bh * 0.5), (x0, sy - bh * 0.7, x0 + 7,
                                                               sy - bh * 0.3)),
    }  # fmt: skip
    return shapes, parts, "chair"


def _mug(rng: random.Random) -> tuple[list[Shape], dict[str, Part], str]:
    bw, bh = rng.uniform(40, 52), rng.uniform(48, 62)
    x0, y0 = 22.0, 18.0
    x1, y1 = x0 + bw, y0 + bh
    hw = bh * rng.uniform(0.3, 0.4)
    ht, hb = y0 + bh * 0.18, y0 + bh * 0.72
    shapes: list[Shape] = [
        ("ring", (x1 - 8, ht, x1 + hw, hb, 5.5), "main"),
        ("rect", (x0, y0, x1, y1), "main"),
        ("ellipse", (x0, y0 - 4, x1, y0 + 4), "accent"),
        ("ellipse", ((x0 + x1) / 2 - 8, y0 + bh * 0.5 - 8, (x0 + x1) / 2 + 8,
                     y0 + bh * 0.5 + 8), "accent"),
        ("rect", (x0 - 1, y1 - 4, x1 + 1, y1), "dark"),
    ]  # fmt: skip
    hx = x1 + hw * 0.55

    def near(p: tuple[float, float], r: float) -> Part:
        return p, (p[0] - r, p[1] - r, p[0] + r, p[1] + r)

    parts = {
        "top of the handle": near((hx, ht + 2.5), 5),
        "bottom of the handle": near((hx, hb - 2.5), 5),
        "side away from the handle": near((x0 + 2.5, y0 + bh * 0.5), 5),
        "logo": near(((x0 + x1) / 2, y0 + bh * 0.5), 7),
        "rim": near(((x0 + x1) / 2, y0 + 3.5), 5),
        "base": near(((x0 + x1) / 2, y1 - 2), 5),
    }
    return shapes, parts, "mug"


def _car(rng: random.Random) -> tuple[list[Shape], dict[str, Part], str]:
    length, bh, ch = rng.uniform(82, 96), rng.uniform(17, 23), rng.uniform(15, 20)
    x0, y0 = 5.0, 40.0
    x1 = x0 + length
    wr = rng.uniform(8.5, 10.5)
    rear, front = x0 + length * 0.2, x0 + length * 0.8
    cab = [(x0 + length * 0.24, y0), (x0 + length * 0.36, y0 - ch), (x0 + length * 0.66, y0 - ch),
           (x0 + length * 0.8, y0)]  # fmt: skip
    shapes: list[Shape] = [
        ("poly", cab, "accent"),
        ("rect", (x0, y0, x1, y0 + bh), "main"),
        ("ellipse", (x1 - 5, y0 + bh * 0.2, x1 + 0.5, y0 + bh * 0.5), "accent"),
        ("rect", (x0 - 0.5, y0 + bh * 0.2, x0 + 3.5, y0 + bh * 0.55), "dark"),
    ]
    for x in (rear, front):
        shapes.append(("ellipse", (x - wr, y0 + bh - wr, x + wr, y0 + bh + wr), "dark"))
        shapes.append(("ellipse", (x - wr * 0.4, y0 + bh - wr * 0.4, x + wr * 0.4,
                                   y0 + bh + wr * 0.4), "accent"))  # fmt: skip

    def near(p: tuple[float, float], r: float) -> Part:
        return p, (p[0] - r, p[1] - r, p[0] + r, p[1] + r)

    parts = {
        "front wheel": near((front, y0 + bh), wr),
        "rear wheel": near((rear, y0 + bh), wr),
        "headlight": near((x1 - 2.2, y0 + bh * 0.35), 4),
        "tail light": near((x0 + 1.5, y0 + bh * 0.37), 4),
        "roof": near((x0 + length * 0.51, y0 - ch + 2), 5),
        "door": near((x0 + length * 0.5, y0 + bh * 0.5), 5),
    }
    return shapes, parts, "car"


KINDS = (_animal, _chair, _mug, _car)
# Parts REF may mark: each sits far from its mirror image, so a flipped instance matters.
REF_PARTS = {
    "animal": ("nose", "ear tip", "tip of the tail", "front paw", "hind paw"),
    "chair": ("top of the backrest", "back foot", "front foot"),
    "mug": ("top of the handle", "bottom of the handle"),
    "car": ("front wheel", "rear wheel", "headlight", "tail light"),
}


class Pose:
    """Where an instance lies: canonical (u, v) -> image pixels, maybe mirrored."""

    def __init__(self, ox: float, oy: float, scale: float, flip: bool, extent: list[float]):
        self.ox, self.oy, self.scale, self.flip = ox, oy, scale, flip
        self.u0, self.u1 = extent[0], extent[2]

    def pt(self, u: float, v: float) -> tuple[float, float]:
        uu = (self.u0 + self.u1 - u) if self.flip else u
        return self.ox + (uu - self.u0) * self.scale, self.oy + v * self.scale

    def box(self, b: tuple[float, float, float, float] | list[float]) -> list[float]:
        (ax, ay), (bx, by) = self.pt(b[0], b[1]), self.pt(b[2], b[3])
        return [min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)]


def extent(shapes: list[Shape]) -> list[float]:
    xs: list[float] = []
    ys: list[float] = []
    for kind, g, _ in shapes:
        if kind == "poly":
            xs += [p[0] for p in g]
            ys += [p[1] for p in g]
        elif kind == "line":
            r = g[4] / 2  # a round cap at the far end
            xs += [g[0], g[2] - r, g[2] + r]
            ys += [g[1], g[3] - r, g[3] + r]
        else:
            xs += [g[0], g[2]]
            ys += [g[1], g[3]]
    return [min(xs), min(ys), max(xs), max(ys)]


def palette(rng: random.Random) -> dict[str, RGB]:
    """Saturated colours away from the rings' yellow (hue 0.07..0.22)."""
    h = rng.uniform(0.22, 1.07)
    h2 = h + rng.uniform(0.25, 0.6)
    while 0.06 < h2 % 1.0 < 0.23:
        h2 += 0.1
    return {
        "main": hsv(h, rng.uniform(0.6, 0.85), rng.uniform(0.55, 0.85)),
        "accent": hsv(h2, rng.uniform(0.6, 0.85), rng.uniform(0.5, 0.8)),
        "dark": hsv(h, rng.uniform(0.6, 0.8), rng.uniform(0.25, 0.35)),
    }


def draw(img: Image.Image, shapes: list[Shape], pose: Pose, colours: dict[str, RGB]) -> None:
    """The instance over a soft shadow on the floor, each shape with a darker outline."""
    ext = pose.box(extent(shapes))
    shadow = Image.new("L", img.size, 0)
    sw = ext[2] - ext[0]
    ImageDraw.Draw(shadow).ellipse((ext[0] - 0.05 * sw, ext[3] - 0.05 * sw, ext[2] + 0.05 * sw,
                                    ext[3] + 0.04 * sw), fill=120)  # fmt: skip
    shadow = gaussian_blur(shadow, max(2.0, 0.03 * sw))
    img.paste((25, 25, 25), (0, 0, *img.size), shadow)
    d = ImageDraw.Draw(img)
    lw = max(1, round(pose.scale * 0.5))
    for kind, g, role in shapes:
        fill = colours[role]
        edge = tuple(round(c * 0.6) for c in fill)
        if kind == "poly":
            d.polygon([pose.pt(*p) for p in g], fill=fill, outline=edge, width=lw)
        elif kind == "line":
            a, b = pose.pt(g[0], g[1]), pose.pt(g[2], g[3])
            d.line((a, b), fill=fill, width=max(2, round(g[4] * pose.scale)))
            r = g[4] * pose.scale / 2
            d.ellipse((b[0] - r, b[1] - r, b[0] + r, b[1] + r), fill=fill)
        elif kind == "ring":
            d.ellipse(pose.box(g[:4]), outline=fill, width=max(2, round(g[4] * pose.scale)))
        elif kind == "rect":
            d.rectangle(pose.box(g), fill=fill, outline=edge, width=lw)
        else:
            d.ellipse(pose.box(g), fill=fill, outline=edge, width=lw)


def ring(d: ImageDraw.ImageDraw, x: float, y: float, r: float, width: int) -> None:
    d.ellipse((x - r - 1, y - r - 1, x + r + 1, y + r + 1), outline=(20, 20, 20), width=width + 2)
    d.ellipse((x - r, y - r, x + r, y + r), outline=RING, width=width)


def stroke(px: int) -> int:
    """A label's dark outline: thin on small letters, which it would otherwise fill."""
    return max(1, round(px / 10))


def label_box(d: ImageDraw.ImageDraw, x: float, y: float, text: str, px: int) -> list[float]:
    box = d.textbbox((x, y), text, font=typeface("sans", px), anchor="mm", stroke_width=stroke(px))
    return [float(v) for v in box]


def tag(d: ImageDraw.ImageDraw, x: float, y: float, text: str, px: int) -> None:
    d.text((x, y), text, fill=(255, 255, 255), font=typeface("sans", px), anchor="mm",
           stroke_width=stroke(px), stroke_fill=(15, 15, 15))  # fmt: skip


def place_label(
    d: ImageDraw.ImageDraw, p: tuple[float, float], centre: tuple[float, float], r: float,
    text: str, px: int, taken: list[list[float]], size: tuple[int, int],
) -> list[float]:  # fmt: skip
    """Where ``text`` goes beside the ring at ``p``: outward from the object first, clear of
    every ring and label already placed and inside the image."""
    out = math.atan2(p[1] - centre[1], p[0] - centre[0])
    dist = r + px * 0.85
    tries = [out + k * math.pi / 8 * s for k in range(9) for s in (1, -1)]
    for grow in (1.0, 1.5, 2.0):
        for a in tries:
            x, y = p[0] + grow * dist * math.cos(a), p[1] + grow * dist * math.sin(a)
            box = label_box(d, x, y, text, px)
            inside = box[0] >= 2 and box[1] >= 2 and box[2] <= size[0] - 2 and box[3] <= size[1] - 2
            if inside and not any(overlaps(box, t, 2) for t in taken):
                return [x, y, *box]
    box = label_box(d, p[0], p[1] - dist, text, px)
    return [p[0], p[1] - dist, *box]


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    k = max(size) / 1600
    roll, variant = rng.random(), "box"
    for name, share in SHARES:
        if roll < share:
            variant = name
            break
        roll -= share
    build = rng.choice(KINDS)
    shapes1, parts1, kind = build(rng)
    shapes2, parts2, _ = build(rng)  # another instance: other proportions
    turned = variant == "arrow" or (variant in ("box", "small") and rng.random() < 0.7)
    flip1 = rng.random() < 0.5
    flip2 = flip1 != turned  # whether Image 2 faces the other way is what matters
    ext1, ext2 = extent(shapes1), extent(shapes2)

    def pose(ext: list[float], scale: float, flip: bool) -> Pose:
        ow, oh = (ext[2] - ext[0]) * scale, (ext[3] - ext[1]) * scale
        mx, my = 0.08 * w, 0.1 * h
        ox = rng.uniform(mx, max(mx, w - mx - ow))
        oy = rng.uniform(my, max(my, h - my - oh)) - ext[1] * scale
        return Pose(ox, oy, scale, flip, ext)

    def fit(ext: list[float], share: float) -> float:  # px per unit for a share of the width
        return min(share * w / (ext[2] - ext[0]), 0.75 * h / (ext[3] - ext[1]))

    small = variant == "small"
    pose1 = pose(ext1, fit(ext1, rng.uniform(0.45, 0.6)), flip1)
    s2 = fit(ext2, rng.uniform(0.17, 0.2)) if small else fit(ext2, rng.uniform(0.42, 0.6))
    pose2 = pose(ext2, s2, flip2)

    ref_part = rng.choice(REF_PARTS[kind])
    ring_r1 = round(13 * k)
    ring_r2 = max(8, round(s2 * 1.8)) if small else round(13 * k)
    ref = pose1.pt(*parts1[ref_part][0])
    # where REF would be in Image 2 by its place in the object's box alone (no semantics)
    b1 = pose1.box(ext1)
    fx, fy = (ref[0] - b1[0]) / (b1[2] - b1[0]), (ref[1] - b1[1]) / (b1[3] - b1[1])
    b2 = pose2.box(ext2)
    naive = (b2[0] + fx * (b2[2] - b2[0]), b2[1] + fy * (b2[3] - b2[1]))
    at2 = {name: pose2.pt(*part[0]) for name, part in parts2.items()}
    gap = 2.6 * ring_r2 if small else 3.2 * ring_r2
    chosen = [ref_part]
    if variant == "easy":  # far-apart parts: the answer is the one where REF is by position
        others = sorted((p for p in parts2 if p != ref_part),
                        key=lambda p: -math.dist(at2[p], at2[ref_part]))  # fmt: skip
        pool = others[:4]
        rng.shuffle(pool)
    else:  # the part that sits where REF would be by position comes first: the trap
        pool = sorted((p for p in parts2 if p != ref_part), key=lambda p: math.dist(at2[p], naive))
        pool = pool[:1] + rng.sample(pool[1:], len(pool) - 1)
    for p in pool:
        if all(math.dist(at2[p], at2[c]) >= gap for c in chosen):
            chosen.append(p)
        if len(chosen) == 4:
            break
    if len(chosen) < 4:  # too crowded: another scene
        return make(rng, size)
    trap = chosen[1]
    rng.shuffle(chosen)
    letters = "ABCD"
    answer = letters[chosen.index(ref_part)]
    trap_letter = letters[chosen.index(trap)]

    img1 = backdrop(rng, size, noise=True, light=rng.random() < 0.5)
    img2 = backdrop(rng, size, noise=True, light=rng.random() < 0.5)
    draw(img1, shapes1, pose1, palette(rng))
    draw(img2, shapes2, pose2, palette(rng))
    d1, d2 = ImageDraw.Draw(img1), ImageDraw.Draw(img2)
    rw = max(2, round(3 * k))
    ring(d1, *ref, ring_r1, rw)
    label_px1 = round(30 * k)
    label_px2 = round(14 * k) if small else round(30 * k)
    c1 = ((b1[0] + b1[2]) / 2, (b1[1] + b1[3]) / 2)
    ref_label = place_label(d1, ref, c1, ring_r1, "REF", label_px1,
                            [[ref[0] - ring_r1, ref[1] - ring_r1, ref[0] + ring_r1,
                              ref[1] + ring_r1]], size)  # fmt: skip
    tag(d1, ref_label[0], ref_label[1], "REF", label_px1)
    points = {letter: at2[p] for letter, p in zip(letters, chosen, strict=True)}
    taken = [[x - ring_r2 - 2, y - ring_r2 - 2, x + ring_r2 + 2, y + ring_r2 + 2]
             for x, y in points.values()]  # fmt: skip
    for x, y in points.values():
        ring(d2, x, y, ring_r2, rw)
    c2 = ((b2[0] + b2[2]) / 2, (b2[1] + b2[3]) / 2)
    labels: dict[str, list[float]] = {}
    for letter, q in points.items():
        lab = place_label(d2, q, c2, ring_r2, letter, label_px2, taken, size)
        taken.append(lab[2:])
        labels[letter] = lab[2:]
        tag(d2, lab[0], lab[1], letter, label_px2)
    img1, photo1 = camera(img1, rng)
    img2, _ = camera(img2, rng)

    def grown(b: list[float], m: float) -> list[float]:
        return [max(0.0, b[0] - m), max(0.0, b[1] - m), min(float(w), b[2] + m),
                min(float(h), b[3] + m)]  # fmt: skip

    part_box1 = grown(pose1.box(parts1[ref_part][1]), ring_r1 * 0.6)
    part_box2 = grown(pose2.box(parts2[ref_part][1]), ring_r2 * 0.6)
    facing = "faces the other way" if turned else "faces the same way"
    boxed1 = f"REF marks the {ref_part} of the {kind} in Image 1"
    on_part = f"point {answer} is on the {ref_part} of the {kind} in Image 2"
    needs: list[Need] = []
    if variant == "easy":
        ev = grown([min(ref[0], ref_label[2]), min(ref[1], ref_label[3]),
                    max(ref[0], ref_label[4]), max(ref[1], ref_label[5])], ring_r1)  # fmt: skip
        needs.append(zoom_need(ev, (b1[3] - b1[1]) * 0.5,
                               f"REF is on the {ref_part}; the {kind} in Image 2 {facing}, and "
                               f"point {answer} is on its {ref_part}"))  # fmt: skip
    else:
        needs.append(Need("box", {"box": [round(v, 1) for v in part_box1]}, boxed1))
        if variant == "small":
            xs = [v for b in labels.values() for v in (b[0], b[2])] + [b2[0], b2[2]]
            ys = [v for b in labels.values() for v in (b[1], b[3])] + [b2[1], b2[3]]
            ev2 = grown([min(xs), min(ys), max(xs), max(ys)], 4)
            glyph = (
                labels[answer][3] - labels[answer][1] - 2 * stroke(label_px2)
            )  # less the outline
            needs.append(
                replace(
                    zoom_need(
                        ev2, glyph, f"the small {kind} in Image 2 {facing}; its letters can be read"
                    ),
                    image=1,
                )
            )
        if variant == "arrow":
            start, end = points[trap_letter], points[answer]
            needs.append(Need("arrow", {"start": [round(v, 1) for v in start],
                                        "end": [round(v, 1) for v in end]},
                              f"point {trap_letter} is only where REF would be if the {kind} "
                              f"faced the same way; its {ref_part} is at point {answer}",
                              image=1))  # fmt: skip
        else:
            needs.append(Need("box", {"box": [round(v, 1) for v in part_box2]}, on_part, image=1))
    objects: list[dict[str, Any]] = []
    for letter, name in zip(letters, chosen, strict=True):
        if letter != answer:
            objects.append(
                {
                    "label": f"the {name}",
                    "image": 1,
                    "box": [round(v) for v in grown(pose2.box(parts2[name][1]), 4)],
                }
            )
    for name in rng.sample([p for p in parts1 if p != ref_part], 2):
        objects.append(
            {
                "label": f"the {name}",
                "box": [round(v) for v in grown(pose1.box(parts1[name][1]), 4)],
            }
        )
    annotations = {
        "easy": variant == "easy",
        "variant": variant,
        "kind": kind,
        "part": ref_part,
        "parts": dict(zip(letters, chosen, strict=True)),
        "turned": turned,
        "ref": [round(v, 1) for v in ref],
        "points": {letter: [round(v, 1) for v in p] for letter, p in points.items()},
        "trap": trap_letter,
        "object_boxes": [[round(v, 1) for v in b1], [round(v, 1) for v in b2]],
        "ring_px": [ring_r1, ring_r2],
        "label_px": [label_px1, label_px2],
        "labels": {letter: [round(v, 1) for v in b] for letter, b in labels.items()},
    }
    question = ask(rng, PHRASINGS, kind=kind, a_kind=("an " if kind[0] in "aeiou" else "a ") + kind)
    return Scene(img1, question, answer, annotations, needs, objects, choices=list(letters),
                 encoded=photo1, more_images=[img2])  # fmt: skip


FAMILY = Family(
    "semantic_correspondence",
    make,
    "which lettered point on another instance of an object is on the same part as REF "
    "(BLINK-style)",
    PHRASINGS,
    (("box", "box"), ("box", "arrow"), ("box", "zoom", "box"), ()),
    images=2,
)
