"""thermometer: the temperature a photographed liquid thermometer shows, or which of two is
warmer. The ticks are one degree apart and only every tenth is numbered: a level line from
the top of the liquid to the scale shows the tick it stops at, and a label writes the value
there; on a small thermometer the ticks are too fine at the budget, so zoom first. Two
identical thermometers side by side differ by a degree or two: a level line from one
column's top across to the other shows which stands taller, and a box marks it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.instrument_photo import (
    MATERIALS,
    darker,
    light,
    room,
    shadow,
    surface,
)
from atlas_data.sources.scenes.kit import (
    RGB,
    TEXT_INK,
    Family,
    Scene,
    ask,
    camera,
    multiple_choice,
    typeface,
    unit,
    zoom_need,
)

READ = (
    "What temperature does the thermometer show, in °C?",
    "What is the temperature on this thermometer in degrees Celsius?",
    "How warm is it according to the thermometer (°C)?",
    "Where does the liquid column stop on the Celsius scale?",
    "What Celsius temperature is indicated by the thermometer?",
    "The thermometer shows what temperature in °C?",
)
COMPARE = (
    "Which thermometer shows the warmer temperature, A or B?",
    "Thermometers A and B hang side by side. Which one indicates a warmer temperature?",
    "Is it warmer at thermometer A or at thermometer B?",
    "Which of the two thermometers, A or B, shows more degrees?",
    "Comparing A and B, which thermometer is warmer?",
)
PHRASINGS = READ + COMPARE
LIQUIDS: dict[str, RGB] = {"red": (200, 28, 34), "blue": (30, 70, 200)}
PLATE: RGB = (244, 241, 230)
GLASS: RGB = (214, 224, 230)
# Variants: read (a line, then a label), fine (zoom, line, label), compare (line, box), easy.
SHARES = (("read", 0.34), ("fine", 0.26), ("compare", 0.22), ("easy", 0.18))


@dataclass(frozen=True)
class Scale:
    """Where degrees sit on a thermometer: ``y0`` is the row of ``lo``, ``sp`` px a degree."""

    lo: int
    hi: int
    y0: float
    sp: float
    tx: int  # the tube's centre column

    def y(self, v: float) -> float:
        return self.y0 - (v - self.lo) * self.sp


@dataclass(frozen=True)
class Drawn:
    """What the drawing of one thermometer left where: the scale, the liquid's top row,
    the °C tick band and numerals column (x ranges), the board and every numeral's box."""

    scale: Scale
    top: int  # the liquid's top row
    ticks: tuple[int, int]  # x0, x1 of the °C tick band (long ticks span it)
    numerals_x: tuple[int, int]
    tube: tuple[int, int]  # x0, x1 of the glass tube
    board: list[int]
    numerals: dict[int, list[int]]


def draw_thermometer(
    img: Image.Image,
    rng: random.Random,
    tx: int,
    y_top: int,
    length: float,
    lo: int,
    hi: int,
    value: int,
    k: float,
    material: str,
    liquid: RGB,
    fahrenheit: bool,
    tag: str = "",
) -> tuple[Image.Image, Drawn]:
    """One thermometer whose scale runs ``length`` px from ``hi`` (at ``y_top``) down to
    ``lo``, the liquid stopping at ``value``; ``k`` scales its parts (1: the default size)."""
    sp = length / (hi - lo)
    y0 = y_top + length
    sc = Scale(lo, hi, y0, sp, tx)
    tube_w = max(4, round(12 * k))
    bulb_r = round(17 * k)
    tick_gap = round(5 * k)
    t_long, t_mid, t_short = round(26 * k), round(17 * k), round(10 * k)
    num_font = typeface("sans", max(8, round(22 * k)))
    num_gap = round(8 * k)
    num_w = round(num_font.getlength("-00"))
    half_left = tube_w // 2 + tick_gap + t_long + num_gap + num_w + round(14 * k)
    half_right = half_left if fahrenheit else tube_w // 2 + round(34 * k)
    plate = [tx - half_left, round(y_top - 62 * k), tx + half_right, round(y0 + 3.4 * bulb_r)]
    rim = round(22 * k)
    above = rim + round((30 + (52 if tag else 0)) * k)
    board = [plate[0] - rim, plate[1] - above, plate[2] + rim, plate[3] + rim]
    blur = 10 * k
    off = round(9 * k)

    def paint(dd: ImageDraw.ImageDraw) -> None:
        dd.rounded_rectangle(
            (board[0] + off, board[1] + off, board[2] + off, board[3] + off), rim, fill=255
        )

    img = shadow(img, paint, blur)
    body = surface(rng, (board[2] - board[0], board[3] - board[1]), material)
    mask = Image.new("L", body.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, body.size[0] - 1, body.size[1] - 1), rim, 255)
    img.paste(body, (board[0], board[1]), mask)
    d = ImageDraw.Draw(img)
    hole = round(7 * k)
    hx, hy = tx, board[1] + round(16 * k)
    d.ellipse((hx - hole, hy - hole, hx + hole, hy + hole), fill=(50, 45, 40))
    d.rounded_rectangle(plate, round(8 * k), fill=PLATE, outline=darker(PLATE, 0.8))
    ink = TEXT_INK
    tube = (tx - tube_w // 2, tx + tube_w - tube_w // 2)
    left_end = tube[0] - tick_gap  # the ticks' inner end, by the tube
    numerals: dict[int, list[int]] = {}
    for v in range(lo, hi + 1):
        y = round(sc.y(v))
        length_v = t_long if v % 10 == 0 else t_mid if v % 5 == 0 else t_short
        d.line((left_end - length_v, y, left_end, y), fill=ink, width=max(1, round(2 * k)))
        if v % 10 == 0:
            x = left_end - t_long - num_gap
            d.text((x, y), str(v), ink, num_font, "rm")
            numerals[v] = [round(b) for b in d.textbbox((x, y), str(v), num_font, "rm")]
    head_font = typeface("sans", max(8, round(20 * k)))
    d.text((left_end - t_long // 2, plate[1] + round(30 * k)), "°C", ink, head_font, "mm")
    if fahrenheit:
        right_start = tube[1] + tick_gap
        f_lo, f_hi = int(lo * 9 / 5 + 32), int(hi * 9 / 5 + 32)
        for f in range(f_lo + (-f_lo) % 2, f_hi + 1, 2):
            y = round(sc.y((f - 32) * 5 / 9))
            length_f = t_long if f % 20 == 0 else t_mid if f % 10 == 0 else t_short
            d.line(
                (right_start, y, right_start + length_f, y), fill=ink, width=max(1, round(2 * k))
            )
            if f % 20 == 0:
                d.text((right_start + t_long + num_gap, y), str(f), ink, num_font, "lm")
        d.text((right_start + t_long // 2, plate[1] + round(30 * k)), "°F", ink, head_font, "mm")
    # the glass: a tube from above ``hi`` down to the bulb, the liquid up to ``value``
    top = round(sc.y(value))
    tube_top = round(sc.y(hi) - 18 * k)
    bulb_y = round(y0 + 1.9 * bulb_r)
    d.rounded_rectangle((tube[0], tube_top, tube[1], bulb_y), tube_w // 2, fill=GLASS)
    d.rectangle((tube[0] + 1, top, tube[1] - 1, bulb_y), fill=liquid)
    d.ellipse((tx - bulb_r, bulb_y - bulb_r, tx + bulb_r, bulb_y + bulb_r), fill=liquid)
    shine = (255, 255, 255)
    d.line((tube[0] + 2, tube_top + tube_w, tube[0] + 2, top - 3), fill=shine, width=1)
    d.ellipse(
        (tx - bulb_r // 2, bulb_y - bulb_r // 2 - 3, tx - bulb_r // 6, bulb_y - bulb_r // 6 - 3),
        fill=(240, 150, 150) if liquid[0] > liquid[2] else (150, 170, 240),
    )
    if tag:
        tag_font = typeface("sans", round(46 * k))
        d.text((tx, board[1] + round(34 * k)), tag, ink, tag_font, "mt",
               stroke_width=2, stroke_fill=PLATE)  # fmt: skip
    ticks = (left_end - t_long, left_end)
    numerals_x = (min(b[0] for b in numerals.values()), max(b[2] for b in numerals.values()))
    return img, Drawn(sc, top, ticks, numerals_x, tube, board, numerals)


def variant(rng: random.Random) -> str:
    x = rng.random()
    for name, share in SHARES:
        if x < share:
            return name
        x -= share
    return SHARES[-1][0]


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    w, h = size
    u = unit(size)
    kind = variant(rng)
    img = room(rng, size)
    material = rng.choice(MATERIALS)
    liquid_name = rng.choice(sorted(LIQUIDS))
    liquid = LIQUIDS[liquid_name]
    fahrenheit = rng.random() < 0.5
    lo = rng.choice((-10, 0) if kind == "easy" else (-30, -20, -10, 0))
    if kind == "easy":
        span = 40  # 18-21 px a degree: the ticks stand apart at the budget
        length, k = rng.uniform(0.62, 0.7) * h, 1.1 * u
    elif kind == "fine":
        span = rng.choice((60, 70))  # 5-6 px a degree, numerals 8-9 px tall
        length, k = rng.uniform(0.3, 0.34) * h, 0.5 * u
    else:
        span = rng.choice((60, 70, 80))  # 8-13 px a degree
        length, k = rng.uniform(0.6, 0.68) * h, u
    hi = lo + span
    # the board reaches 62+22+30 (+52 with a tag) units above the scale, 80 below it
    above, below = (166 if kind == "compare" else 114) * k, 80 * k
    slack = max(0.0, h - length - above - below)
    y_top = round(above + slack * rng.uniform(0.3, 0.7))
    if kind == "easy":
        value = rng.choice([v for v in range(lo + 10, hi - 5, 10) if v > 0])
    else:
        value = rng.choice([v for v in range(max(1, lo + 3), hi - 3) if v % 5])
    answer = str(value)
    objects: list[dict[str, Any]] = []
    needs: list[Need]
    choices = None
    annotations: dict[str, Any] = {
        "variant": kind,
        "easy": kind == "easy",
        "liquid": liquid_name,
        "liquid_rgb": list(liquid),
        "fahrenheit": fahrenheit,
    }
    if kind == "compare":
        other = value + rng.choice((-2, -1, 1, 2))
        values = {"A": value, "B": other} if rng.random() < 0.5 else {"A": other, "B": value}
        xs = {"A": round(w * rng.uniform(0.22, 0.3)), "B": round(w * rng.uniform(0.7, 0.78))}
        drawn: dict[str, Drawn] = {}
        for name in ("A", "B"):
            img, drawn[name] = draw_thermometer(
                img, rng, xs[name], y_top, length, lo, hi, values[name], k, material, liquid,
                fahrenheit, tag=name,
            )  # fmt: skip
        warm = max(values, key=lambda n: values[n])
        cold = "B" if warm == "A" else "A"
        answer = warm
        choices = ["A", "B"] if rng.random() < 0.5 else None
        c, t = drawn[cold], drawn[warm]
        offset = c.top - t.top
        end_x = t.tube[1] + 6 if t.scale.tx > c.scale.tx else t.tube[0] - 6  # across it
        start_x = c.tube[1] if t.scale.tx > c.scale.tx else c.tube[0]
        half = round(22 * u)
        needs = [
            Need("aux_line", {"start": [start_x, c.top], "end": [end_x, c.top]},
                 f"the level line from the top of {cold}'s column passes {offset} px under the "
                 f"top of {warm}'s column",
                 measure={"purpose": "align", "offset_px": offset,
                          "span_px": abs(end_x - start_x)}),
            Need("box", {"box": [t.tube[0] - half, t.top - half, t.tube[1] + half, t.top + half]},
                 f"the box marks the top of {warm}'s column, the taller one: {warm} is warmer"),
        ]  # fmt: skip
        for name, dr in drawn.items():
            objects.append({"label": f"thermometer {name} board", "box": dr.board})
            objects.append({"label": f"thermometer {name} bulb",
                            "box": [dr.tube[0] - 20, round(dr.scale.y0), dr.tube[1] + 20,
                                    round(dr.scale.y0 + 60 * k)]})  # fmt: skip
        annotations.update(
            values=values,
            tops={n: dr.top for n, dr in drawn.items()},
            tubes={n: list(dr.tube) for n, dr in drawn.items()},
            scale={"lo": lo, "hi": hi, "y0": drawn["A"].scale.y0, "sp": drawn["A"].scale.sp},
            ticks={n: list(dr.ticks) for n, dr in drawn.items()},
            numerals={n: {str(v): b for v, b in dr.numerals.items()} for n, dr in drawn.items()},
        )
        question = ask(rng, COMPARE)
    else:
        tx = round(w * rng.uniform(0.3, 0.7))
        img, dr = draw_thermometer(
            img, rng, tx, y_top, length, lo, hi, value, k, material, liquid, fahrenheit
        )
        sc = dr.scale
        line_end = [dr.numerals_x[0] - 4, dr.top]  # across the ticks and the numerals
        label_at = [dr.numerals_x[0] - 4, dr.top - round(46 * k)]
        near10 = round(value / 10) * 10
        reveals_line = (
            f"the level line from the liquid's top meets the scale {value - near10:+d} ticks "
            f"from the {near10} mark"
        )
        line = Need("aux_line", {"start": [dr.tube[1], dr.top], "end": line_end}, reveals_line)
        label = Need("text_label", {"position": label_at, "text": answer},
                     f"the tick the line meets is labelled {answer} °C")  # fmt: skip
        # the region that tells: the liquid's top, the ticks by it and a numbered one
        y_a, y_b = sorted((sc.y(near10), float(dr.top)))
        evidence = [
            float(label_at[0] - 4),
            y_a - 14 * k - 46 * k,
            float(dr.tube[1] + 8),
            y_b + 14 * k,
        ]
        if kind == "easy":
            needs = [zoom_need(evidence, sc.sp, f"the liquid stops at the {answer} mark")]
        elif kind == "fine":
            needs = [zoom_need(evidence, sc.sp, "the fine ticks by the liquid's top are apart"),
                     line, label]  # fmt: skip
        else:
            needs = [line, label]
        objects = [
            {"label": f"numeral {v}", "box": b}
            for v, b in dr.numerals.items()
            if abs(v - value) >= 10
        ][:4]
        objects.append({"label": "thermometer board", "box": dr.board})
        if rng.random() < 0.3:
            wrong = [str(value + dv) for dv in (-10, -5, -2, -1, 1, 2, 5, 10) if value + dv > 0]
            choices = multiple_choice(rng, answer, wrong)
        annotations.update(
            value=value,
            top=dr.top,
            tube=list(dr.tube),
            ticks=list(dr.ticks),
            scale={"lo": lo, "hi": hi, "y0": sc.y0, "sp": sc.sp},
            numerals={str(v): b for v, b in dr.numerals.items()},
            evidence=evidence,
        )
        question = ask(rng, READ)
    img = light(img, rng)
    img, photo = camera(img, rng)
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "thermometer",
    make,
    "the temperature a photographed liquid thermometer shows, or which of two is warmer",
    PHRASINGS,
    (("aux_line", "text_label"), ("zoom", "aux_line", "text_label"), ("aux_line", "box"), ()),
)
