"""venn: a Venn diagram of two or three sets drawn on a photographed sheet, with items (dots,
or small words) placed in its regions. How many dots are in one set but not another
(number them; tiny, crowded dots are zoomed into first), or which sets a word belongs to
(zoom to find the small word, then box it so the circles around it can be told). An easy
variant writes the words large: answered directly."""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.geometry import box_around
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    TEXT_INK,
    Family,
    Scene,
    ask,
    ink_height,
    multiple_choice,
    typeface,
    unit,
    zoom_need,
)
from atlas_data.sources.scenes.paper_photo import photograph, sheet

SETS = "ABC"
RINGS = {"A": (205, 40, 40), "B": (35, 80, 205), "C": (25, 140, 60)}
DOT_INK = (40, 40, 40)
WORDS = ("fig", "kiwi", "plum", "lime", "pear", "date", "apple", "mango", "olive", "grape",
         "lemon", "melon", "peach", "cherry", "guava", "quince", "papaya", "banana")  # fmt: skip
TITLES = ("Survey results", "Who likes what", "Sorting exercise", "Sets and members")
COUNT_Q = (
    "How many dots are in set {a} but not in set {b}?",
    "Count the dots that lie inside {a} and outside {b}.",
    "What is the number of dots in {a} but not {b} in the Venn diagram?",
)
MEMBER_Q = (
    'Which sets contain the word "{item}"?',
    "In the Venn diagram, which sets does {item} belong to?",
)
PHRASINGS = COUNT_Q + MEMBER_Q


def region_name(sets: tuple[str, ...]) -> str:
    """How an answer names a region: "A only", "A and B", "A, B and C", "none"."""
    if not sets:
        return "none"
    if len(sets) == 1:
        return f"{sets[0]} only"
    return ", ".join(sets[:-1]) + f" and {sets[-1]}"


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    u = unit(size)
    variant = rng.choices(("easy", "member", "tiny", "dots"), (0.15, 0.3, 0.32, 0.23))[0]
    n_sets = 2 if variant == "easy" else rng.choice((2, 3))
    img, (sx0, sy0, sx1, sy1) = sheet(rng, size, rng.uniform(24, 60))
    d = ImageDraw.Draw(img)
    style = rng.choice(("sans", "serif"))
    title_px = round(rng.uniform(36, 44) * u)
    d.text(((sx0 + sx1) / 2, sy0 + round(30 * u)), rng.choice(TITLES), TEXT_INK,
           typeface(style, title_px), "ma")  # fmt: skip
    top = sy0 + round(30 * u) + round(title_px * 1.6)
    cx, cy = (sx0 + sx1) / 2 + rng.uniform(-40, 40) * u, (top + sy1) / 2
    if n_sets == 2:
        r = rng.uniform(290, 330) * u
        off = r * rng.uniform(0.5, 0.62)
        centres = [(cx - off, cy), (cx + off, cy)]
    else:
        r = rng.uniform(245, 270) * u
        off = r * rng.uniform(0.55, 0.62)
        centres = [
            (cx + off * math.cos(a), cy + off * math.sin(a) + 20 * u)
            for a in (math.radians(210), math.radians(330), math.radians(90))
        ]
    names = SETS[:n_sets]
    circles = {s: (round(x), round(y), round(r)) for s, (x, y) in zip(names, centres, strict=True)}
    letter_font = typeface("sans", round(40 * u))
    letter_boxes = {}
    for s, (x, y, rr) in circles.items():
        d.ellipse((x - rr, y - rr, x + rr, y + rr), outline=RINGS[s], width=max(3, round(4 * u)))
        ang = {"A": math.radians(225), "B": math.radians(315), "C": math.radians(90)}[s]
        lx, ly = x + (rr + 28 * u) * math.cos(ang), y + (rr + 28 * u) * math.sin(ang)
        d.text((lx, ly), s, RINGS[s], letter_font, "mm")
        letter_boxes[s] = [round(lx - 20 * u), round(ly - 24 * u), round(lx + 20 * u),
                           round(ly + 24 * u)]  # fmt: skip

    def member(x: float, y: float) -> tuple[str, ...]:
        return tuple(s for s, (ox, oy, rr) in circles.items() if math.hypot(x - ox, y - oy) < rr)

    def clear(x: float, y: float, half: float) -> float:
        """Distance from (x, y) to the nearest circle outline, less ``half``."""
        return min(abs(math.hypot(x - ox, y - oy) - rr) for ox, oy, rr in circles.values()) - half

    # the area items may take: around the circles, inside the sheet, below the title
    ax0, ax1 = max(sx0 + 40 * u, cx - 2.1 * r), min(sx1 - 40 * u, cx + 2.1 * r)
    ay0, ay1 = top + 10 * u, sy1 - 30 * u
    items: list[dict[str, Any]] = []
    taken = [b for b in letter_boxes.values()]

    def put(want: tuple[str, ...] | None, w: float, h: float, gap: float) -> list[int] | None:
        for _ in range(3000):
            x, y = rng.uniform(ax0 + w / 2, ax1 - w / 2), rng.uniform(ay0 + h / 2, ay1 - h / 2)
            if want is not None and member(x, y) != want:
                continue
            if clear(x, y, math.hypot(w, h) / 2) < 8 * u:
                continue
            b = [round(x - w / 2), round(y - h / 2), round(x + w / 2), round(y + h / 2)]
            if any(not (b[2] + gap <= t[0] or t[2] + gap <= b[0] or b[3] + gap <= t[1]
                        or t[3] + gap <= b[1]) for t in taken):  # fmt: skip
                continue
            taken.append(b)
            return b
        return None

    regions = [tuple(s for k, s in enumerate(names) if m >> k & 1) for m in range(2**n_sets)]
    needs: list[Need]
    choices = None
    easy = variant == "easy"
    if variant in ("tiny", "dots"):
        a, b = rng.sample(names, 2)
        dot_r = rng.uniform(3.5, 4.5) * u if variant == "tiny" else rng.uniform(9, 11) * u
        gap = (11 if variant == "tiny" else 22) * u
        inside = [g for g in regions if a in g and b not in g]
        n_target = rng.randint(5, 9)
        plan: list[tuple[str, ...] | None] = [rng.choice(inside) for _ in range(n_target)]
        extra = rng.randint(14, 26) if variant == "tiny" else rng.randint(8, 14)
        plan += [rng.choice([g for g in regions if g not in inside]) for _ in range(extra)]
        for want in plan:
            bb = put(want, 2 * dot_r, 2 * dot_r, gap)
            if bb is None:
                continue
            mx, my = (bb[0] + bb[2]) / 2, (bb[1] + bb[3]) / 2
            d.ellipse((mx - dot_r, my - dot_r, mx + dot_r, my + dot_r), fill=DOT_INK)
            items.append({"kind": "dot", "box": bb, "sets": list(member(mx, my)), "at": [mx, my]})
        hits = [it for it in items if a in it["sets"] and b not in it["sets"]]
        answer = str(len(hits))
        points = [[round(v) for v in it["at"]] for it in hits]
        marks = Need("point_mark", {"points": points, "numbered": True},
                     f"the marks number the dots in {a} but not {b} 1 to {len(hits)}")  # fmt: skip
        needs = [marks]
        if variant == "tiny":
            ox, oy, rr = circles[a]
            area = [ox - rr, oy - rr, ox + rr, oy + rr]
            look = f"circle {a}'s tiny dots appear large enough to tell apart"
            needs.insert(0, zoom_need(area, 2 * dot_r, look))
        question = ask(rng, COUNT_Q, a=a, b=b)
        if rng.random() < 0.3:
            choices = multiple_choice(rng, answer, [str(v) for v in range(1, 14)])
        target: dict[str, Any] = {"a": a, "b": b, "dot_r": dot_r}
    else:
        font = typeface(style, round(rng.uniform(36, 40) * u) if easy else rng.randint(13, 15))
        words = rng.sample(WORDS, rng.randint(7, 11) if not easy else rng.randint(4, 6))
        goal = rng.choice(regions)
        for k, word in enumerate(words):
            left, top_, right, bottom = font.getbbox(word)
            w, h = right - left + 4, bottom - top_ + 4
            bb = put(goal if k == 0 else None, w, h, 14 * u)
            if bb is None:
                assert k, "the first word always finds room"
                continue
            d.text((bb[0] + 2 - left, bb[1] + 2 - top_), word, TEXT_INK, font)
            mx, my = (bb[0] + bb[2]) / 2, (bb[1] + bb[3]) / 2
            items.append({"kind": "word", "word": word, "box": bb, "sets": list(member(mx, my))})
        item = items[0]
        answer = region_name(tuple(item["sets"]))
        word, box = item["word"], item["box"]
        glyphs = float(ink_height(font, word))
        reveals = f'"{word}" lies in {answer}' if answer != "none" else f'"{word}" is in no set'
        # enough around the word to see which outlines enclose it (a good part of a circle)
        side = max(4 * (box[2] - box[0]), 1.1 * r)
        context = box_around((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, side, side, size)
        if easy:
            needs = [zoom_need(box, glyphs, reveals)]
        else:
            needs = [
                zoom_need(context, glyphs, f'the small word "{word}" can be read'),
                Need("box", {"box": [box[0] - 8, box[1] - 8, box[2] + 8, box[3] + 8]}, reveals),
            ]
        question = ask(rng, MEMBER_Q, item=word)
        choices = multiple_choice(rng, answer, [region_name(g) for g in regions])
        target = {"word": word, "box": box, "glyph_px": glyphs}
    img, photo = photograph(img, rng)
    objects = [
        {"label": f"circle {s}", "box": [max(0, x - rr), max(0, y - rr), x + rr, y + rr]}
        for s, (x, y, rr) in circles.items()
    ]
    objects += [{"label": f"set letter {s}", "box": b} for s, b in letter_boxes.items()]
    annotations: dict[str, Any] = {
        "variant": variant,
        "easy": easy,
        "circles": {s: list(c) for s, c in circles.items()},
        "items": items,
        "target": target,
    }
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "venn",
    make,
    "dots counted in one set but not another, or the sets a word is in, on a Venn diagram",
    PHRASINGS,
    (("zoom", "point_mark"), ("point_mark",), ("zoom", "box"), ()),
)
