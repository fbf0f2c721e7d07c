"""multi_view: a yard of a few distinctive objects photographed twice, the camera turned a
little left or right (and stepped that way) between the shots: the objects shift sideways,
near ones more. Which way did it turn? A line in Image 2 where an anchor object stood in
Image 1 makes a small shift plain (then an arrow shows its way); a large one is plain."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    Family,
    Scene,
    ask,
    camera,
    hsv,
    rgb_planes,
    unit,
    zoom_need,
)

PHRASINGS = (
    "The two photos were taken from the same spot. Did the camera turn left or right "
    "between Image 1 and Image 2?",
    "Between the first and the second image, which way did the camera turn?",
    "Compare the two views of the yard. Was the camera panned to the left or to the right "
    "for Image 2?",
    "Image 2 was taken after turning the camera. Which way did it turn, left or right?",
    "Which way did the photographer turn between the two shots?",
    "Relative to Image 1, does Image 2 look further to the left or further to the right?",
)
# Saturated, mutually distinct hues: each object's own colour (the ground and sky are muted).
COLOURS: dict[str, float] = {
    "red": 0.0,
    "orange": 0.07,
    "yellow": 0.15,
    "green": 0.33,
    "cyan": 0.5,
    "blue": 0.62,
    "purple": 0.78,
}
# kind: (width, height) in metres
KINDS: dict[str, tuple[float, float]] = {
    "cone": (0.55, 0.8),
    "crate": (0.8, 0.75),
    "barrel": (0.6, 0.95),
    "ball": (0.6, 0.6),
    "post": (0.16, 2.0),
    "bin": (0.55, 1.05),
}
FOV = math.radians(60)
EYE = 1.6  # camera height, metres


def project(x: float, z: float, yaw: float, step: float, f: float, w: int) -> tuple[float, float]:
    """Image x and depth of the ground point (x, z) for a camera stepped ``step`` metres to
    the right and turned ``yaw`` radians to the right (negative: left)."""
    dx = x - step
    xc = dx * math.cos(yaw) - z * math.sin(yaw)
    zc = dx * math.sin(yaw) + z * math.cos(yaw)
    return w / 2 + f * xc / zc, zc


def panorama(rng: random.Random, size: tuple[int, int], horizon: int) -> Image.Image:
    """Sky, far hills and a textured yard floor, wider than a view: far things only slide."""
    w, h = size
    gen = np.random.default_rng(rng.randrange(2**32))
    sky_top = np.array(hsv(rng.uniform(0.55, 0.62), 0.45, 0.85), np.float32)
    sky_low = np.array(hsv(rng.uniform(0.55, 0.62), 0.15, 0.97), np.float32)
    ground = np.array(hsv(rng.uniform(0.06, 0.3), rng.uniform(0.15, 0.3), 0.55), np.float32)
    t = np.clip(np.arange(h, dtype=np.float32) / max(1, horizon), 0, 1)[:, None]
    above = np.arange(h)[:, None] < horizon
    mottle = np.zeros((h, w), np.float32)  # the yard floor's texture, at two scales
    for cell, amp in ((90, 10.0), (12, 6.0)):
        noise = gen.normal(0, 1, (h // cell + 2, w // cell + 2)).astype(np.float32)
        mottle[horizon:] += cv2.resize(noise, size, interpolation=cv2.INTER_CUBIC)[horizon:] * amp
    planes = [mottle + np.where(above, top + (low - top) * t, g).astype(np.float32)
              for top, low, g in zip(sky_top, sky_low, ground, strict=True)]  # fmt: skip
    img = Image.fromarray(rgb_planes(planes))
    d = ImageDraw.Draw(img)
    hill = hsv(rng.uniform(0.25, 0.4), 0.2, 0.5)
    phases = [rng.uniform(0, 2 * math.pi) for _ in range(3)]
    pts: list[tuple[float, float]] = [(0.0, float(horizon))]
    for x in range(0, w + 8, 8):
        y = (
            horizon
            - 30
            - sum(
                a * (1 + math.sin(x / p + ph))
                for a, p, ph in zip((22, 12, 6), (260, 90, 31), phases, strict=True)
            )
        )
        pts.append((x, y))
    pts.append((w, horizon))
    d.polygon(pts, fill=hill)
    for _ in range(rng.randint(4, 8)):  # far sheds and trees along the horizon
        bx, bw, bh = rng.randint(0, w), rng.randint(30, 90), rng.randint(20, 60)
        d.rectangle((bx, horizon - bh, bx + bw, horizon), fill=hsv(rng.random(), 0.12, 0.6))
    return img


def shade(rgb: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    r, g, b = rgb
    return min(255, round(r * k)), min(255, round(g * k)), min(255, round(b * k))


def draw_object(
    d: ImageDraw.ImageDraw,
    kind: str,
    colour: tuple[int, int, int],
    cx: float,
    base: float,
    s: float,
) -> list[int]:
    """An object standing on the ground at (cx, base), ``s`` px per metre; its box."""
    ow, oh = (v * s for v in KINDS[kind])
    x0, x1, top = cx - ow / 2, cx + ow / 2, base - oh
    d.ellipse((x0 - ow * 0.2, base - ow * 0.12, x1 + ow * 0.5, base + ow * 0.12),
              fill=(60, 58, 52))  # fmt: skip
    if kind == "cone":
        d.polygon([(cx, top), (x1, base), (x0, base)], fill=colour)
        d.polygon([(cx, top), (cx + ow * 0.15, base), (x0, base)], fill=shade(colour, 1.12))
        band = base - oh * 0.45
        half = ow / 2 * 0.45
        d.polygon([(cx - half, band - oh * 0.08), (cx + half, band - oh * 0.08),
                   (cx + half * 1.18, band + oh * 0.06), (cx - half * 1.18, band + oh * 0.06)],
                  fill=(240, 240, 235))  # fmt: skip
        d.rectangle((x0 - ow * 0.1, base - oh * 0.06, x1 + ow * 0.1, base), fill=colour)
    elif kind in ("crate", "barrel", "bin"):
        strips = 8
        for k in range(strips):
            a = x0 + (x1 - x0) * k / strips
            b = x0 + (x1 - x0) * (k + 1) / strips
            light = 1.15 - 0.45 * abs((k + 0.5) / strips - 0.35) * (kind != "crate")
            light = light if kind != "crate" else 1.0
            d.rectangle((a, top, b, base), fill=shade(colour, light))
        if kind == "crate":
            d.polygon([(x0, top), (x1, top), (x1 + ow * 0.18, top - oh * 0.12),
                       (x0 + ow * 0.18, top - oh * 0.12)], fill=shade(colour, 1.25))  # fmt: skip
            for third in (1, 2):
                y = top + oh * third / 3
                d.line((x0, y, x1, y), fill=shade(colour, 0.7), width=max(1, round(s * 0.02)))
        else:
            for at in (0.2, 0.8) if kind == "barrel" else (0.08,):
                y = top + oh * at
                d.line((x0, y, x1, y), fill=shade(colour, 0.6), width=max(1, round(s * 0.03)))
            if kind == "bin":
                d.rectangle((x0 - ow * 0.06, top - oh * 0.05, x1 + ow * 0.06, top + oh * 0.03),
                            fill=shade(colour, 0.75))  # fmt: skip
    elif kind == "ball":
        r = ow / 2
        cy = base - r
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=shade(colour, 0.8))
        d.ellipse((cx - r * 0.85, cy - r * 0.9, cx + r * 0.6, cy + r * 0.55), fill=colour)
        d.ellipse((cx - r * 0.45, cy - r * 0.6, cx - r * 0.05, cy - r * 0.2),
                  fill=shade(colour, 1.3))  # fmt: skip
    else:  # post: stripes of the colour and white
        n = 6
        for k in range(n):
            y0, y1 = top + oh * k / n, top + oh * (k + 1) / n
            d.rectangle((x0, y0, x1, y1), fill=colour if k % 2 == 0 else (238, 238, 232))
    top_box = top - (oh * 0.12 if kind == "crate" else oh * 0.05 if kind == "bin" else 0)
    return [math.floor(x0 - ow * 0.1), math.floor(top_box), math.ceil(x1 + ow * 0.18),
            math.ceil(base)]  # fmt: skip


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    f = w / 2 / math.tan(FOV / 2)
    horizon = round(h * rng.uniform(0.36, 0.46))
    roll = rng.random()
    variant = "easy" if roll < 0.17 else "plain" if roll < 0.27 else "hard"
    lo, hi = {"easy": (260, 380), "plain": (110, 170), "hard": (26, 60)}[variant]
    shift = rng.uniform(lo, hi) * u  # the anchor's shift, image 1 to image 2
    turn = rng.choice((-1, 1))  # +1: the camera turned right, so the scene slides left

    def ground_y(z: float) -> float:
        return horizon + f * EYE / z

    # The anchor first: its place in Image 1, then the turn that shifts it by ``shift``.
    kinds = rng.sample(list(KINDS), rng.randint(3, 5))
    names = rng.sample(list(COLOURS), len(kinds))
    margin = 0.14 * w
    for _ in range(1000):
        z_a = rng.uniform(6, 14)
        # a step the same way as the turn: a share of the anchor's shift, more for nearer
        step = turn * rng.uniform(0.15, 0.45) * shift * z_a / f
        u_a = rng.uniform(margin + shift * (turn > 0), w - margin - shift * (turn < 0))
        x_a = (u_a - w / 2) * z_a / f
        lo_yaw, hi_yaw = 0.0, 0.6
        for _ in range(60):  # how far to turn so the anchor moves by ``shift``
            mid = (lo_yaw + hi_yaw) / 2
            moved = u_a - project(x_a, z_a, turn * mid, step, f, w)[0]
            lo_yaw, hi_yaw = (mid, hi_yaw) if turn * moved < shift else (lo_yaw, mid)
        yaw = turn * (lo_yaw + hi_yaw) / 2
        u_a2 = project(x_a, z_a, yaw, step, f, w)[0]
        if margin * 0.6 <= u_a2 <= w - margin * 0.6 and abs(abs(u_a - u_a2) - shift) < 1:
            break
    else:  # pragma: no cover
        raise RuntimeError("multi_view: could not place the anchor")

    placed: list[dict[str, Any]] = []
    for k, (kind, name) in enumerate(zip(kinds, names, strict=True)):
        for _ in range(400):
            if k == 0:
                z, x = z_a, x_a
            else:
                z = rng.uniform(5, 22)
                x = (rng.uniform(0.06 * w, 0.94 * w) - w / 2) * z / f
            boxes = []
            for yaw_k, step_k in ((0.0, 0.0), (yaw, step)):
                cx, zc = project(x, z, yaw_k, step_k, f, w)
                s = f / zc
                ow, oh = KINDS[kind]
                base = horizon + f * EYE / zc
                boxes.append([cx - ow * s * 0.6, base - oh * s * 1.15, cx + ow * s * 0.7,
                              base + ow * s * 0.15])  # fmt: skip
            inside = all(0.03 * w <= b[0] and b[2] <= 0.97 * w and b[3] < h for b in boxes)
            clear = all(
                b[2] + 20 * u < o[0] or o[2] + 20 * u < b[0]
                for p in placed
                for b, o in zip(boxes, p["boxes"], strict=True)
            )  # no two objects overlap sideways, in either view: nothing hides the anchor
            if inside and clear:
                placed.append({"kind": kind, "name": name, "x": x, "z": z, "boxes": boxes})
                break
        else:
            if k == 0:  # pragma: no cover - the anchor goes first on an empty yard
                raise RuntimeError("multi_view: could not place the anchor")

    pano_w = w + 2 * round(f * math.tan(abs(yaw))) + 8
    pano = panorama(rng, (pano_w, h), horizon)
    slide = f * math.tan(yaw)  # far things slide by the turn alone
    mid_x = (pano_w - w) / 2
    views = []
    boxes_of: list[dict[str, list[int]]] = [{}, {}]
    centres: list[dict[str, list[float]]] = [{}, {}]
    for v, (yaw_k, step_k, off) in enumerate(((0.0, 0.0, mid_x), (yaw, step, mid_x + slide))):
        img = pano.crop((round(off), 0, round(off) + w, h))
        d = ImageDraw.Draw(img)
        order = sorted(placed, key=lambda p: -p["z"])  # far first
        for p in order:
            cx, zc = project(p["x"], p["z"], yaw_k, step_k, f, w)
            s = f / zc
            colour = hsv(COLOURS[p["name"]], 0.85, 0.85)
            box = draw_object(d, p["kind"], colour, cx, ground_y(zc), s)
            boxes_of[v][p["name"]] = box
            centres[v][p["name"]] = [
                round(cx, 1),
                round(ground_y(zc) - KINDS[p["kind"]][1] * s / 2, 1),
            ]
        views.append(img)
    img1, photo1 = camera(views[0], rng)
    img2, _ = camera(views[1], rng)

    anchor = placed[0]
    label = f"{anchor['name']} {anchor['kind']}"
    x1, y1 = centres[0][anchor["name"]]
    x2, y2 = centres[1][anchor["name"]]
    answer = "right" if turn > 0 else "left"
    slid = "left" if x2 < x1 else "right"
    if variant == "easy":
        box2 = boxes_of[1][anchor["name"]]
        tall = max(box2[2] - box2[0], box2[3] - box2[1])
        reveals = f"the {label} stands far to the {slid} of where it stood in Image 1"
        needs = [replace(zoom_need(box2, tall, reveals), image=1)]
    else:
        reveals = (
            f"the {label} in Image 2 stands to the {slid} of the line where it stood in "
            f"Image 1: the view slid {slid}, so the camera turned {answer}"
        )
        measure = {"purpose": "align", "offset_px": round(abs(x2 - x1), 1), "span_px": w}
        needs = [Need("aux_line", {"start": [round(x1), 0], "end": [round(x1), h - 1]}, reveals,
                      measure=measure, image=1)]  # fmt: skip
        if rng.random() < 0.5:
            needs.append(Need(
                "arrow", {"start": [round(x1), round(y2)], "end": [round(x2), round(y2)]},
                f"the arrow from the line to the {label} points {slid}", image=1,
            ))  # fmt: skip
    objects = [
        {"label": f"{p['name']} {p['kind']}", "box": boxes_of[1][p["name"]], "image": 1}
        for p in placed[1:]
    ]
    objects += [
        {"label": f"{p['name']} {p['kind']}", "box": boxes_of[0][p["name"]]} for p in placed[:2]
    ]
    question = ask(rng, PHRASINGS)
    choices = ["left", "right"] if rng.random() < 0.5 else None
    annotations = {
        "variant": variant,
        "easy": variant == "easy",  # answered directly: its zoom need shows it needs none
        "turn": answer,
        "yaw_deg": round(math.degrees(yaw), 3),
        "step_m": round(step, 3),
        "anchor": {"name": anchor["name"], "kind": anchor["kind"],
                   "hue": COLOURS[anchor["name"]], "x": [x1, x2], "y": [y1, y2],
                   "boxes": [boxes_of[0][anchor["name"]], boxes_of[1][anchor["name"]]]},
        "objects": {p["name"]: {"kind": p["kind"], "depth_m": round(p["z"], 2),
                                "x": [centres[0][p["name"]][0], centres[1][p["name"]][0]]}
                    for p in placed},
    }  # fmt: skip
    return Scene(img1, question, answer, annotations, needs, objects, choices=choices,
                 encoded=photo1, more_images=[img2])  # fmt: skip


FAMILY = Family(
    "multi_view",
    make,
    "which way the camera turned between two views of a yard",
    PHRASINGS,
    (("aux_line",), ("aux_line", "arrow"), ()),
    images=2,
)
