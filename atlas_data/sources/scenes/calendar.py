"""calendar: a photographed month calendar page with events written small in coloured
pills in some day cells. Which weekday is a date (box the date's cell, then an arrow up
its column to the weekday heading), what event is on a date (box the cell, then zoom into
it to read the small print), how many events in a date's week (box the week's row, then
number the events in it). An easy variant prints the events large: read directly."""

from __future__ import annotations

import calendar as cal
import random
from typing import Any

from PIL import ImageDraw

from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.kit import (
    TEXT_INK,
    Family,
    Scene,
    ask,
    hsv,
    ink_height,
    multiple_choice,
    typeface,
    unit,
    zoom_need,
)
from atlas_data.sources.scenes.paper_photo import photograph, sheet

EVENTS = ("Dentist", "Yoga", "Piano", "Book club", "Gym", "Haircut", "Swim", "Vet", "Dinner",
          "Tennis", "Choir", "Market", "Meeting", "Picnic", "Exam", "Concert", "Chess",
          "Football", "Bakery", "Lecture", "Party", "Garden", "Museum", "Cinema")  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
WEEKDAY_Q = (
    "On which day of the week does {date} fall in this calendar?",
    "According to the calendar, what weekday is {date}?",
)
EVENT_Q = (
    "What event is written on {date} in the calendar?",
    "Which appointment is noted for {date}?",
    "What is planned on {date}, according to this calendar page?",
)
COUNT_Q = (
    "How many events are scheduled in the week that contains {date}?",
    "Count the events in the calendar row (week) of {date}.",
)
PHRASINGS = WEEKDAY_Q + EVENT_Q + COUNT_Q
GRID_INK = (95, 95, 95)


def make(rng: random.Random, size: tuple[int, int]) -> Scene:
    u = unit(size)
    variant = rng.choices(("easy", "event", "weekday", "count"), (0.17, 0.3, 0.26, 0.27))[0]
    year, month = rng.randint(2019, 2031), rng.randint(1, 12)
    first = rng.choice((0, 6))  # weeks start on Monday or on Sunday
    weeks = cal.Calendar(first).monthdayscalendar(year, month)
    order = [(first + k) % 7 for k in range(7)]  # the weekday (0 = Monday) of each column
    img, (sx0, sy0, sx1, sy1) = sheet(rng, size, rng.uniform(24, 60))
    d = ImageDraw.Draw(img)
    style = rng.choice(("sans", "serif"))
    pad = round(30 * u)
    gx0, gx1 = sx0 + pad, sx1 - pad
    cw = (gx1 - gx0) // 7
    gx1 = gx0 + 7 * cw
    title_px = round(rng.uniform(44, 56) * u)
    d.text(((gx0 + gx1) / 2, sy0 + pad), f"{MONTHS[month - 1].upper()} {year}", TEXT_INK,
           typeface(style, title_px), "ma")  # fmt: skip
    hy0 = sy0 + pad + round(title_px * 1.5)
    head_h = round(44 * u)
    gy0 = hy0 + head_h
    ch = (sy1 - pad - gy0) // len(weeks)
    head_font = typeface(style, round(24 * u))
    day_font = typeface(style, round(27 * u))
    easy = variant == "easy"
    ev_px = round(rng.uniform(27, 30) * u) if easy else rng.randint(11, 13)
    ev_font = typeface(rng.choice(("sans", "serif", "mono")) if not easy else "sans", ev_px)
    pill_h = round(ev_px * 1.45)

    d.rectangle((gx0, hy0, gx1, gy0), fill=(222, 222, 215))
    for c in range(7):
        d.text((gx0 + c * cw + cw / 2, (hy0 + gy0) / 2), WEEKDAYS[order[c]], TEXT_INK,
               head_font, "mm")  # fmt: skip
    for r, week in enumerate(weeks):
        for c, day in enumerate(week):
            if day == 0:
                x, y = gx0 + c * cw, gy0 + r * ch
                d.rectangle((x, y, x + cw, y + ch), fill=(232, 230, 224))
    for c in range(8):
        d.line((gx0 + c * cw, hy0, gx0 + c * cw, gy0 + len(weeks) * ch), GRID_INK, 2)
    for r in range(len(weeks) + 1):
        d.line((gx0, gy0 + r * ch, gx1, gy0 + r * ch), GRID_INK, 2)
    d.line((gx0, hy0, gx1, hy0), GRID_INK, 2)

    def cell(r: int, c: int) -> list[int]:
        return [gx0 + c * cw, gy0 + r * ch, gx0 + (c + 1) * cw, gy0 + (r + 1) * ch]

    where = {day: (r, c) for r, week in enumerate(weeks) for c, day in enumerate(week) if day}
    # how many events each day holds (the scene's plan), then the target fixed within it
    cap = 1 if easy else 2
    room = (ch - round(44 * u)) // (pill_h + 4)
    cap = min(cap, room)
    plan = {day: min(cap, rng.choices((0, 1, 2), (0.5, 0.35, 0.15))[0]) for day in where}
    if variant in ("easy", "event"):
        target = rng.choice(sorted(where))
        plan[target] = 1
    elif variant == "weekday":
        target = rng.choice([day for day, (r, _) in where.items() if r >= 2])
    else:
        rows = [r for r in range(len(weeks)) if sum(1 for d_ in weeks[r] if d_) >= 5]
        row = rng.choice(rows)
        days = [d_ for d_ in weeks[row] if d_]
        target = rng.choice(days)
        want = rng.randint(5, min(8, cap * len(days)))
        for d_ in days:
            plan[d_] = 0
        for _ in range(want):
            plan[rng.choice([d_ for d_ in days if plan[d_] < cap])] += 1

    events: dict[int, list[dict[str, Any]]] = {}
    for day, (r, c) in where.items():
        x0, y0, x1, _ = cell(r, c)
        d.text((x0 + round(10 * u), y0 + round(8 * u)), str(day), TEXT_INK, day_font)
        names = rng.sample(EVENTS, plan[day]) if plan[day] else []
        for k, name in enumerate(names):
            if easy:
                name = rng.choice([e for e in EVENTS if len(e) <= 8])
            tw = ev_font.getlength(name)
            px0 = x0 + round(8 * u)
            py0 = y0 + round(44 * u) + k * (pill_h + 4)
            pill = [px0, py0, min(x1 - 4, round(px0 + tw + ev_px)), py0 + pill_h]
            colour = hsv(rng.random(), rng.uniform(0.35, 0.5), 0.97)
            d.rounded_rectangle(pill, radius=round(pill_h / 3), fill=colour)
            d.text((pill[0] + ev_px / 2, (pill[1] + pill[3]) / 2), name, TEXT_INK, ev_font, "lm")
            events.setdefault(day, []).append({"name": name, "box": pill})
    img, photo = photograph(img, rng)

    r, c = where[target]
    date = f"{MONTHS[month - 1]} {target}"
    box = cell(r, c)
    head = [gx0 + c * cw, hy0, gx0 + (c + 1) * cw, gy0]
    choices = None
    needs: list[Need]
    if variant == "weekday":
        answer = WEEKDAYS[order[c]]
        cx = (box[0] + box[2]) // 2
        needs = [
            Need("box", {"box": box}, f"the boxed cell is {date}"),
            Need("arrow", {"start": [cx, box[1] + 6], "end": [cx, gy0 + 4]},
                 f"up its column, {date} sits under the heading {answer}"),
        ]  # fmt: skip
        question = ask(rng, WEEKDAY_Q, date=date)
        if rng.random() < 0.3:
            choices = multiple_choice(rng, answer, WEEKDAYS)
    elif variant == "count":
        row_box = [gx0, box[1], gx1, box[3]]
        pills = [e["box"] for d_ in weeks[r] if d_ for e in events.get(d_, [])]
        answer = str(len(pills))
        needs = [
            Need("box", {"box": row_box}, f"the boxed row is the week of {date}"),
            Need("point_mark",
                 {"points": [[(p[0] + p[2]) // 2, (p[1] + p[3]) // 2] for p in pills],
                  "numbered": True},
                 f"the marks number that week's events 1 to {len(pills)}"),
        ]  # fmt: skip
        question = ask(rng, COUNT_Q, date=date)
        if rng.random() < 0.3:
            choices = multiple_choice(rng, answer, [str(v) for v in range(2, 12)])
    else:
        (event,) = events[target]
        answer = event["name"]
        reveals = f"the cell of {date} reads {answer}"
        zoom = zoom_need(box, ink_height(ev_font, answer), reveals)
        needs = [zoom] if easy else [Need("box", {"box": box}, f"the boxed cell is {date}"), zoom]
        question = ask(rng, EVENT_Q, date=date)
        if rng.random() < 0.3:
            choices = multiple_choice(rng, answer, EVENTS)
    others = [day for day in where if day != target]
    objects = [{"label": f"cell of {MONTHS[month - 1]} {day}", "box": cell(*where[day])}
               for day in rng.sample(others, 4)]  # fmt: skip
    annotations: dict[str, Any] = {
        "variant": variant,
        "easy": easy,
        "year": year,
        "month": month,
        "day": target,
        "cell": box,
        "heading": head,
        "grid": {"x0": gx0, "y0": gy0, "cw": cw, "ch": ch, "rows": len(weeks), "head_y0": hy0},
        "events": {str(k): v for k, v in events.items()},
        "event_px": ev_px,
    }
    return Scene(img, question, answer, annotations, needs, objects, choices, encoded=photo)


FAMILY = Family(
    "calendar",
    make,
    "a date's weekday, event or week's event count on a photographed month calendar",
    PHRASINGS,
    (("box", "arrow"), ("box", "zoom"), ("box", "point_mark"), ()),
)
