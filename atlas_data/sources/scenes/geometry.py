"""geometry: labelled points and a shaded circle; whether segment AB meets it needs a drawn
line, then a label of what it showed."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.geometry import clamp_box, segment_distance
from atlas_data.ops.params import font
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import TEXT_INK, Family, Scene, ask, hsv, unit

PHRASINGS = (
    "Does the straight segment from A to B pass through the shaded circle? Answer yes or no.",
    "Would a straight line from A to B cross the shaded circle? Answer yes or no.",
    "Is the shaded circle cut by the segment joining A and B? Answer yes or no.",
    "If you join A and B with a straight line, does it touch the shaded circle? Yes or no?",
    "Does segment AB intersect the shaded disc? Answer yes or no.",
)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    """Labelled points and a shaded circle; whether segment AB meets it needs a drawn line."""
    w, h = size
    u = unit(size)
    img = Image.new("RGB", size, (250, 250, 247))
    d = ImageDraw.Draw(img)
    step = max(10, round(50 * u))
    for x in range(step, w, step):
        d.line((x, 0, x, h), fill=(226, 231, 239))
    for y in range(step, h, step):
        d.line((0, y, w, y), fill=(226, 231, 239))

    r = round(rng.uniform(90, 190) * u)
    c = (rng.randint(round(w * 0.3), round(w * 0.7)), rng.randint(round(h * 0.3), round(h * 0.7)))
    want_yes = rng.random() < 0.5
    short_miss = not want_yes and rng.random() < 0.3  # the line would hit, the segment stops short
    m = round(70 * u)

    def inside(p: tuple[float, float]) -> bool:
        return m <= p[0] <= w - m and m <= p[1] <= h - m

    for _ in range(5000):
        phi = rng.uniform(0, 2 * math.pi)
        nx, ny = math.cos(phi), math.sin(phi)
        tx, ty = -ny, nx
        off = rng.uniform(0, 0.75 * r) if want_yes or short_miss else rng.uniform(1.25, 2.5) * r
        fx, fy = c[0] + off * nx, c[1] + off * ny
        if short_miss:
            t_a = rng.uniform(1.3 * r, 2.2 * r)
            t_b = t_a + rng.uniform(0.35, 0.7) * min(w, h)
        else:
            t_a = -rng.uniform(r + 60 * u, 0.6 * min(w, h))
            t_b = rng.uniform(r + 60 * u, 0.6 * min(w, h))
        pa, pb = (fx + t_a * tx, fy + t_a * ty), (fx + t_b * tx, fy + t_b * ty)
        if not (inside(pa) and inside(pb)):
            continue
        a_pt, b_pt = (round(pa[0]), round(pa[1])), (round(pb[0]), round(pb[1]))
        if rng.random() < 0.5:
            a_pt, b_pt = b_pt, a_pt
        dist = segment_distance(c, a_pt, b_pt)
        if (
            (dist < r) == want_yes
            and abs(dist - r) > 0.2 * r
            and min(math.dist(a_pt, c), math.dist(b_pt, c)) > r + 40 * u
        ):
            break
    else:  # pragma: no cover - the proposals above are accepted within a few tries
        raise RuntimeError("geometry: could not place A and B")

    points: dict[str, tuple[int, int]] = {"A": a_pt, "B": b_pt}
    for name in ("C", "D"):
        for _ in range(500):
            p = (rng.randint(m, w - m), rng.randint(m, h - m))
            if (
                math.dist(p, c) > r + 50 * u
                and all(math.dist(p, q) > 140 * u for q in points.values())
                and segment_distance(p, a_pt, b_pt) > 50 * u
            ):
                points[name] = p
                break

    objects: list[dict[str, Any]] = []
    decoy = None
    if rng.random() < 0.5:  # an unshaded circle, so "the shaded circle" has to be read
        r2 = round(rng.uniform(50, 110) * u)
        for _ in range(200):
            c2 = (rng.randint(r2 + 10, w - r2 - 10), rng.randint(r2 + 10, h - r2 - 10))
            if math.dist(c2, c) > r + r2 + 40 * u and all(
                math.dist(c2, q) > r2 + 40 * u for q in points.values()
            ):
                decoy = (c2, r2)
                break
    shade = hsv(rng.random(), rng.uniform(0.2, 0.4), rng.uniform(0.8, 0.9))
    line_w = max(2, round(3 * u))
    d.ellipse(
        (c[0] - r, c[1] - r, c[0] + r, c[1] + r),
        fill=shade,
        outline=tuple(round(v * 0.6) for v in shade),
        width=line_w,
    )
    objects.append({"label": "shaded circle", "box": [c[0] - r, c[1] - r, c[0] + r, c[1] + r]})
    if decoy is not None:
        (x2, y2), r2 = decoy
        d.ellipse((x2 - r2, y2 - r2, x2 + r2, y2 + r2), outline=(90, 90, 90), width=line_w)
        objects.append({"label": "unshaded circle", "box": [x2 - r2, y2 - r2, x2 + r2, y2 + r2]})

    dot = max(3, round(7 * u))
    f = font(max(12, round(34 * u)))
    reach = 30 * u
    for name, (px, py) in points.items():
        d.ellipse((px - dot, py - dot, px + dot, py + dot), fill=TEXT_INK)
        vx, vy = px - c[0], py - c[1]
        norm = math.hypot(vx, vy) or 1.0
        lx, ly = px + reach * vx / norm, py + reach * vy / norm
        d.text((lx, ly), name, fill=TEXT_INK, font=f, anchor="mm")
        if name in ("C", "D"):
            box = clamp_box((px - 2 * reach, py - 2 * reach, px + 2 * reach, py + 2 * reach), size)
            objects.append({"label": f"point {name}", "box": list(box)})

    yes = segment_distance(c, a_pt, b_pt) < r
    clause = "crosses the circle" if yes else "passes clear of the circle"
    label = "crossed" if yes else "missed"
    needs = [
        Need(
            op="aux_line",
            params={"start": list(a_pt), "end": list(b_pt)},
            reveals=f"the line from A to B {clause}",
        ),
        Need(  # what the line showed, written on the circle
            op="text_label",
            params={"position": list(c), "text": label},
            reveals=f'the circle is labelled "{label}": the line {clause}',
        ),
    ]
    annotations = {
        "circle": {"center": list(c), "radius": r},
        "points": {k: list(v) for k, v in points.items()},
    }
    question = ask(rng, PHRASINGS)
    return Scene(img, question, "yes" if yes else "no", annotations, needs, objects)


FAMILY = Family(
    "geometry", make, "whether a segment crosses a circle", PHRASINGS, (("aux_line", "text_label"),)
)
