"""form: a photographed, filled-in paper form: printed labels, small handwritten entries on
the lines, and groups of checkboxes with one ticked. What was entered in a field (zoom
into the field, then box the entry; on a form whose entries sit far right of their labels,
an arrow from the label to its entry, then zoom), or which option of a group is ticked
(zoom into the group, then box the ticked one). An easy variant is written large: read
directly."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    CODE_ALPHABET,
    TEXT_INK,
    Family,
    Scene,
    ask,
    multiple_choice,
    typeface,
    unit,
    zoom_need,
)
from atlas_data.sources.scenes.paper_photo import PENS, handwrite, photograph, sheet, tick

FIRST = ("Maria", "John", "Aiko", "Pedro", "Lena", "Omar", "Sofia", "Ivan", "Grace", "Tomas")
LAST = ("Lopez", "Smith", "Tanaka", "Silva", "Berg", "Haddad", "Rossi", "Petrov", "Owens")
CITIES = ("Lisbon", "Oslo", "Denver", "Leeds", "Porto", "Nagoya", "Turin", "Quebec", "Perth",
          "Utrecht", "Malaga", "Bergen")  # fmt: skip
JOBS = ("Teacher", "Nurse", "Baker", "Pilot", "Chemist", "Plumber", "Architect", "Farmer",
        "Librarian", "Engineer")  # fmt: skip
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


FIELDS: dict[str, Callable[[random.Random], str]] = {
    "Full name": _name,
    "City": lambda r: r.choice(CITIES),
    "Phone": lambda r: f"555-{r.randint(1000, 9999)}",
    "Date of birth": lambda r: f"{r.randint(1, 28)} {r.choice(MONTHS)} {r.randint(1950, 2005)}",
    "Occupation": lambda r: r.choice(JOBS),
    "Member ID": lambda r: (
        "".join(r.choice(CODE_ALPHABET) for _ in range(2)) + str(r.randint(1000, 9999))
    ),
    "Postcode": lambda r: str(r.randint(10000, 99999)),
    "Emergency contact": _name,
}
GROUPS = {
    "payment": ("Cash", "Card", "Transfer", "Cheque"),
    "membership": ("Basic", "Family", "Student", "Senior"),
    "contact": ("Email", "Phone", "Post"),
    "newsletter": ("Weekly", "Monthly", "Never"),
}
TITLES = ("MEMBERSHIP APPLICATION", "REGISTRATION FORM", "LIBRARY CARD REQUEST",
          "CLUB ENROLMENT FORM")  # fmt: skip
FIELD_Q = (
    "What is written in the {label} field of the form?",
    "Read the form: what was filled in for {label}?",
    "What has been entered as {label} on this form?",
)
TICK_Q = (
    "Which {group} option is ticked on the form?",
    "On this form, which box is checked under {group}?",
)
PHRASINGS = FIELD_Q + TICK_Q


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    u = unit(size)
    variant = rng.choices(("easy", "field", "arrow", "tick"), (0.17, 0.3, 0.25, 0.28))[0]
    easy = variant == "easy"
    img, (sx0, sy0, sx1, sy1) = sheet(rng, size, rng.uniform(24, 60))
    d = ImageDraw.Draw(img)
    style = rng.choice(("sans", "serif"))
    pad = round(50 * u)
    title_px = round(rng.uniform(36, 46) * u)
    d.text(((sx0 + sx1) / 2, sy0 + pad), rng.choice(TITLES), TEXT_INK, typeface(style, title_px),
           "ma")  # fmt: skip
    pen = PENS[rng.choice(sorted(PENS))]
    hand_px = round(rng.uniform(40, 46) * u) if easy else rng.randint(13, 15)
    label_px = round(rng.uniform(21, 25) * u)
    label_font = typeface(style, label_px)
    far = variant == "arrow"  # entries in a column far right of their labels
    n_fields = rng.randint(4, 5) if easy else rng.randint(6, 8)
    labels = rng.sample(sorted(FIELDS), n_fields)
    groups = rng.sample(sorted(GROUPS), 2)
    y = sy0 + pad + round(title_px * 2.2)
    spare = (sy1 - y - round(300 * u)) / n_fields  # spread the rows down the sheet
    row_h = round(max(hand_px * 1.9, min(spare, 92 * u), 62 * u))
    lx = sx0 + pad
    value_x = round(sx0 + (sx1 - sx0) * rng.uniform(0.55, 0.62)) if far else 0
    fields: dict[str, dict[str, Any]] = {}
    for label in labels:
        text = f"{label}:"
        d.text((lx, y + row_h - round(10 * u)), text, TEXT_INK, label_font, "ls")
        lx1 = round(lx + label_font.getlength(text))
        vx0 = value_x if far else lx1 + round(14 * u)
        base = y + row_h - round(8 * u)
        if far:  # a dotted leader from the label to the entry's line
            for x in range(lx1 + round(12 * u), vx0 - round(10 * u), round(12 * u)):
                d.ellipse((x - 1.5, base - 1.5, x + 1.5, base + 1.5), fill=(120, 120, 120))
        d.line((vx0, base, sx1 - pad, base), fill=(90, 90, 90), width=2)
        value = FIELDS[label](rng)
        ink = handwrite(img, (vx0 + rng.randint(6, 30), base - hand_px * 1.25 - 2), value,
                        hand_px, pen, rng)  # fmt: skip
        label_box = [lx, y + row_h - round(10 * u) - label_px, lx1, y + row_h - round(4 * u)]
        fields[label] = {"value": value, "ink": ink, "label": label_box, "line": [vx0, base]}
        y += row_h
    y += round(20 * u)
    box_px = round(rng.uniform(11, 13) * u) if not easy else round(26 * u)
    opt_px = rng.randint(16, 18) if not easy else round(28 * u)
    opt_font = typeface(style, opt_px)
    checks: dict[str, dict[str, Any]] = {}
    for group in groups:
        y += round(24 * u)
        head = f"{group.capitalize()}:"
        d.text((lx, y + box_px), head, TEXT_INK, label_font, "ls")
        x = round(lx + label_font.getlength(head) + 30 * u)
        options = list(GROUPS[group])
        rng.shuffle(options)
        ticked = rng.randrange(len(options))
        boxes = []
        for k, option in enumerate(options):
            cb = (x, y, x + box_px, y + box_px)
            d.rectangle(cb, outline=(40, 40, 40), width=2)
            if k == ticked:
                tick(img, cb, pen, rng)
            tx = x + box_px + round(8 * u)
            d.text((tx, y + box_px), option, TEXT_INK, opt_font, "ls")
            tx1 = round(tx + opt_font.getlength(option))
            boxes.append({"option": option, "box": list(cb), "label_end": tx1})
            x = tx1 + round(rng.uniform(50, 80) * u)
        group_box = [lx - 4, y - round(16 * u), x, y + box_px + round(16 * u)]
        checks[group] = {"options": boxes, "ticked": ticked, "box": group_box}
        y += box_px + round(30 * u)
    assert y < sy1, "the form overruns its sheet"
    img, photo = photograph(img, rng)

    choices = None
    needs: list[Need]
    if variant == "tick":
        group = rng.choice(groups)
        g = checks[group]
        opt = g["options"][g["ticked"]]
        answer = opt["option"]
        cb = opt["box"]
        pick = [cb[0] - 5, cb[1] - 8, opt["label_end"] + 6, cb[3] + 8]
        look = f"the {group} checkboxes appear large enough to see which is ticked"
        needs = [
            Need("zoom", {}, look, float(box_px), [float(v) for v in g["box"]]),
            Need("box", {"box": pick}, f"the ticked {group} box is the one for {answer}"),
        ]
        question = ask(rng, TICK_Q, group=group)
        if rng.random() < 0.4:
            options = [o["option"] for o in g["options"]]
            choices = (
                multiple_choice(rng, answer, options)
                if len(options) == 4
                else rng.sample(options, 3)
            )
        target: list[int] = g["box"]
    else:
        label = rng.choice(labels)
        f = fields[label]
        answer = f["value"]
        ink = f["ink"]
        reads = f"the {label} entry reads {answer}"
        if easy:
            needs = [zoom_need(ink, ink[3] - ink[1], reads)]
        elif variant == "field":
            row = [f["label"][0] - 6, min(f["label"][1], ink[1]) - 8, ink[2] + 10, f["line"][1] + 8]
            needs = [
                zoom_need(row, float(ink[3] - ink[1]), reads),
                Need("box", {"box": [ink[0] - 6, ink[1] - 6, ink[2] + 6, ink[3] + 6]},
                     f"the boxed writing is the {label} entry"),
            ]  # fmt: skip
        else:
            lb = f["label"]
            mid = (lb[1] + lb[3]) // 2
            needs = [
                Need("arrow", {"start": [lb[2] + 6, mid], "end": [ink[0] - 6, mid]},
                     f"the {label} label leads to the entry at the right"),
                zoom_need(ink, float(ink[3] - ink[1]), reads),
            ]  # fmt: skip
        question = ask(rng, FIELD_Q, label=label)
        if rng.random() < 0.3:
            choices = multiple_choice(rng, answer, [FIELDS[label](rng) for _ in range(12)])
        target = ink
    objects = [{"label": f"{k} label", "box": v["label"]} for k, v in fields.items()][:4]
    objects += [{"label": f"{k} checkboxes", "box": v["box"]} for k, v in checks.items()]
    annotations: dict[str, Any] = {
        "variant": variant,
        "easy": easy,
        "fields": fields,
        "checks": checks,
        "target": target,
        "hand_px": hand_px,
        "box_px": box_px,
    }
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "form",
    make,
    "a handwritten entry or the ticked checkbox on a photographed paper form",
    PHRASINGS,
    (("zoom", "box"), ("arrow", "zoom"), ()),
)
