"""The document families ``calendar``, ``form`` and ``venn``: each answer read from the
STORED pixels (the camera's own JPEG, decoded), never from the generator's variables, and
each need checked against the scene: it acts where the answer's evidence is, and the
evidence is visible at the budget after it (glyphs, checkboxes, dots over the reading
size), while the hard variants' evidence is under it before."""

from __future__ import annotations

import calendar as cal
import datetime
import math
import re

import cv2
import numpy as np
from PIL import Image

from atlas_data.explore.text import BILINEAR, find_answer, shared_engine
from atlas_data.ops.geometry import coverage
from atlas_data.ops.image_io import downscale_to
from atlas_data.ops.spec import Need
from atlas_data.ops.zoom import COVERAGE
from atlas_data.sources.scenes.venn import region_name
from tests.family_pixels import BUDGET, completed, decoded, inside, run_chain, samples, zoomed_px

READING = BUDGET.reading_px


def reads(img: Image.Image, box: list[int], text: str, zoom: Need | None = None) -> bool:
    """OCR finds ``text`` where ``box`` (source pixels) is in ``img`` seen at the budget:
    ``img`` is the source, or the result of a chain ending in ``zoom``."""
    view = downscale_to(img, BUDGET.side, BILINEAR)
    origin = zoom.params["box"][:2] if zoom else [0, 0]
    k = view.width / ((zoom.params["box"][2] - origin[0]) if zoom else img.width)
    at = [round((v - o) * k) for v, o in zip(box, origin * 2, strict=True)]
    crop = view.crop((at[0] - 12, at[1] - 12, at[2] + 12, at[3] + 12))
    return find_answer(shared_engine().read(crop), text) is not None


def read_crop(img: Image.Image, box: list[int], scale: float = 2.0) -> str:
    crop = img.crop((box[0], box[1], box[2], box[3]))
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), BILINEAR)
    return " ".join(ln.text for ln in shared_engine().read(crop))


def ink_rows(a: np.ndarray, box: list[int], dark: int = 110) -> int:
    """How many pixel rows of ``box`` hold dark ink (a glyph's height, in source pixels)."""
    x0, y0, x1, y1 = box
    rows = np.flatnonzero((a[y0:y1, x0:x1].max(axis=2) < dark).any(axis=1))
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def zoom_of(needs: list[Need]) -> Need:
    """The one zoom of a chain; its box holds all of its evidence (the zoom's own rule)."""
    (z,) = [n for n in needs if n.op == "zoom"]
    assert z.evidence and coverage(z.params["box"], z.evidence) >= COVERAGE
    return z


# ------------------------------------------------------------------------------ calendar


def test_calendar_answer_is_read_from_the_page_and_the_needs_reach_it():
    seen = set()
    for s in samples("calendar", 12):
        img = decoded(s.image, s.encoded)
        a = np.asarray(img).astype(int)
        an, grid = s.annotations, s.annotations["grid"]
        seen.add(an["variant"])
        # the grid is really drawn where the scene says: dark column lines at every edge
        for c in range(8):
            x = grid["x0"] + c * grid["cw"]
            band = a[grid["y0"] : grid["y0"] + grid["rows"] * grid["ch"], x - 1 : x + 3]
            assert (band.mean(axis=2).min(axis=1) < 150).mean() > 0.9
        day = int(re.search(r"\b(\d{1,2})\b", s.question)[1])  # type: ignore[index]
        cell = an["cell"]
        # the cell's own number, read in its top-left corner, is the asked date
        corner = [cell[0] + 2, cell[1] + 2, cell[0] + (cell[2] - cell[0]) // 2, cell[1] + 44]
        assert re.search(rf"\b{day}\b", read_crop(img, corner)), (s.question, corner)
        needs = completed(s, [img])
        variant = an["variant"]
        if variant == "weekday":
            heading = read_crop(img, an["heading"]).strip()
            assert heading.lower() == s.answer.lower()
            real = datetime.date(an["year"], an["month"], day).weekday()
            assert cal.day_name[real] == s.answer  # the page is a true calendar
            box, arrow = needs
            assert box.op == "box" and box.params["box"] == cell
            (sx, sy), (ex, ey) = arrow.params["start"], arrow.params["end"]
            assert arrow.op == "arrow" and sx == ex and inside([sx, sy], cell)
            head = an["heading"]
            assert head[0] < ex < head[2] and 0 <= ey - head[3] <= 8  # just under the heading
            assert sy - ey >= 2 * grid["ch"]  # the column is long: two rows or more
        elif variant == "count":
            box, marks = needs
            row = box.params["box"]
            assert row[1] == cell[1] and row[3] == cell[3]
            band = a[row[1] + 4 : row[3] - 2, row[0] + 4 : row[2] - 4]
            sat = (band.max(axis=2) - band.min(axis=2) > 45) & (band.max(axis=2) > 170)
            n, labels, stats, _ = cv2.connectedComponentsWithStats(
                sat.astype(np.uint8), connectivity=8
            )
            pills = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] > 60]
            assert len(pills) == int(s.answer) >= 5
            boxes = [stats[i, :4] + [row[0] + 4, row[1] + 4, 0, 0] for i in pills]
            boxes = [[x0, y0, x0 + w, y0 + h] for x0, y0, w, h in boxes]
            hit = [[k for k, b in enumerate(boxes) if inside(p, b)] for p in marks.params["points"]]
            assert sorted(k for (k,) in hit) == list(range(len(pills)))  # a mark in every pill
        else:
            z = zoom_of(needs)
            held = z.params["box"]
            assert held[0] <= cell[0] and held[1] <= cell[1] and held[2] >= cell[2]
            assert held[3] >= cell[3]
            pill = an["events"][str(day)][0]["box"]
            glyph = ink_rows(a, [pill[0] + 3, pill[1] + 2, pill[2] - 3, pill[3] - 2])
            if an["easy"]:
                assert needs == [z] and glyph * BUDGET.scale(img.size) >= READING
                assert reads(img, pill, s.answer), s.answer  # read as it is, at the budget
            else:
                assert [n.op for n in needs] == ["box", "zoom"]
                assert needs[0].params["box"] == cell
                assert glyph * BUDGET.scale(img.size) < READING <= zoomed_px(z, glyph)
                assert reads(run_chain(needs, img), pill, s.answer, z), s.answer
        if s.choices:
            assert s.answer in s.choices and len(set(s.choices)) == len(s.choices)
    assert {"weekday", "count", "event", "easy"} <= seen


# ---------------------------------------------------------------------------------- form


def test_form_entry_and_tick_are_read_from_the_page_and_the_needs_reach_them():
    seen = set()
    for s in samples("form", 14):
        img = decoded(s.image, s.encoded)
        a = np.asarray(img).astype(int)
        an = s.annotations
        variant = an["variant"]
        seen.add(variant)
        needs = completed(s, [img])
        if variant == "tick":
            group = re.search(r"\b(payment|membership|contact|newsletter)\b", s.question)[1]  # type: ignore[index]
            g = an["checks"][group]
            # ink inside each checkbox (its frame left out): exactly one is ticked
            fills = []
            for o in g["options"]:
                x0, y0, x1, y1 = o["box"]
                inner = a[y0 + 3 : y1 - 2, x0 + 3 : x1 - 2]
                fills.append(float((inner.mean(axis=2) < 150).mean()))
            k = int(np.argmax(fills))
            assert fills[k] > 0.2 and sorted(fills)[-2] < 0.25 * fills[k], fills
            cb = g["options"][k]["box"]
            label = read_crop(img, [cb[2] + 2, cb[1] - 10, g["options"][k]["label_end"] + 6,
                                    cb[3] + 8], 3.0)  # fmt: skip
            assert label.strip().lower() == s.answer.lower(), (label, s.answer)
            z, box = needs
            assert z.op == "zoom" and box.op == "box"
            zb = z.params["box"]
            for o in g["options"]:  # the zoom holds every option of the group
                assert zb[0] <= o["box"][0] and o["label_end"] <= zb[2]
                assert zb[1] <= o["box"][1] and o["box"][3] <= zb[3]
            b = box.params["box"]
            assert b[0] <= cb[0] and b[1] <= cb[1] and b[2] >= cb[2] and b[3] >= cb[3]
            side = an["box_px"]
            assert side * BUDGET.scale(img.size) < READING <= zoomed_px(z, side)
        else:
            label = max((k for k in an["fields"] if k in s.question), key=len)
            f = an["fields"][label]
            ink = f["ink"]
            assert ink_rows(a, ink, 150) >= 0.6 * (ink[3] - ink[1])  # the pen's ink is there
            glyph = ink[3] - ink[1]
            z = zoom_of(needs)
            zb = z.params["box"]
            assert zb[0] <= ink[0] and zb[1] <= ink[1] and zb[2] >= ink[2] and zb[3] >= ink[3]
            if an["easy"]:
                assert needs == [z] and glyph * BUDGET.scale(img.size) >= READING
                assert reads(img, ink, s.answer), s.answer
                continue
            assert glyph * BUDGET.scale(img.size) < READING <= zoomed_px(z, glyph)
            assert reads(run_chain(needs, img), ink, s.answer, z), s.answer
            if variant == "arrow":
                arrow = needs[0]
                (sx, sy), (ex, ey) = arrow.params["start"], arrow.params["end"]
                lb = f["label"]
                assert sy == ey and 0 < sx - lb[2] <= 10 and 0 < ink[0] - ex <= 10
                assert lb[1] <= sy <= lb[3] and ex - sx > 300  # a long way along the row
                # the printed label the arrow leaves from is the asked one
                printed = read_crop(img, [lb[0] - 4, lb[1] - 6, lb[2] + 4, lb[3] + 6])
                assert label.lower() in printed.lower()
            else:
                box = needs[1]
                assert box.op == "box" and inside([(ink[0] + ink[2]) / 2, (ink[1] + ink[3]) / 2],
                                                  box.params["box"])  # fmt: skip
        if s.choices:
            assert s.answer in s.choices
    assert {"tick", "field", "arrow", "easy"} <= seen


# ---------------------------------------------------------------------------------- venn

RINGS = {"A": (205, 40, 40), "B": (35, 80, 205), "C": (25, 140, 60)}


def rings(a: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """Each set's circle fitted to the pixels of its outline colour: centre and radius."""
    out = {}
    for name, rgb in RINGS.items():
        diff = a - np.array(rgb)
        ys, xs = np.nonzero((diff**2).sum(axis=2) < 55**2)
        if xs.size < 500:
            continue
        # algebraic circle fit: x^2 + y^2 + D x + E y + F = 0
        m = np.column_stack([xs, ys, np.ones_like(xs)]).astype(float)
        rhs = -(xs.astype(float) ** 2 + ys.astype(float) ** 2)
        (dd, ee, ff), *_ = np.linalg.lstsq(m, rhs, rcond=None)
        cx, cy = -dd / 2, -ee / 2
        out[name] = (cx, cy, math.sqrt(cx**2 + cy**2 - ff))
    return out


def on_paper(a: np.ndarray, xywh: np.ndarray) -> bool:
    """Whether a blob lies on the sheet: the frame of pixels around it is bright paper."""
    x, y, w, h = (int(v) for v in xywh)
    frame = a[max(0, y - 4) : y + h + 4, max(0, x - 4) : x + w + 4].mean(axis=2)
    ring = np.concatenate([frame[:2].ravel(), frame[-2:].ravel(), frame[:, :2].ravel(),
                           frame[:, -2:].ravel()])  # fmt: skip
    return bool(ring.mean() > 170)


def in_sets(fit: dict[str, tuple[float, float, float]], x: float, y: float) -> tuple[str, ...]:
    return tuple(s for s in sorted(fit) if math.hypot(x - fit[s][0], y - fit[s][1]) < fit[s][2])


def test_venn_answer_comes_from_the_circles_and_items_in_the_pixels():
    seen = set()
    for s in samples("venn", 14):
        img = decoded(s.image, s.encoded)
        a = np.asarray(img).astype(int)
        an = s.annotations
        variant = an["variant"]
        seen.add(variant)
        fit = rings(a)
        assert sorted(fit) == sorted(an["circles"])
        for name, (cx, cy, r) in fit.items():  # the letters' ink may pull a fit a little
            assert math.dist((cx, cy), an["circles"][name][:2]) < 4
            assert abs(r - an["circles"][name][2]) < 4
        needs = completed(s, [img])
        if variant in ("tiny", "dots"):
            t = an["target"]
            dark = (a.max(axis=2) < 100).astype(np.uint8)
            n, labels, stats, cents = cv2.connectedComponentsWithStats(dark, connectivity=8)
            size = 2 * t["dot_r"]
            dots = [
                i for i in range(1, n)
                if abs(stats[i, cv2.CC_STAT_WIDTH] - size) <= 3
                and abs(stats[i, cv2.CC_STAT_HEIGHT] - size) <= 3
                and stats[i, cv2.CC_STAT_AREA] > 0.62 * size * size  # filled, not a ring
                and on_paper(a, stats[i, :4])
            ]  # fmt: skip
            assert len(dots) == len(an["items"])  # every dot found, nothing else taken for one
            wanted = {
                i for i in dots
                if t["a"] in in_sets(fit, *cents[i]) and t["b"] not in in_sets(fit, *cents[i])
            }  # fmt: skip
            assert len(wanted) == int(s.answer), (len(wanted), s.answer)
            marks = needs[-1]
            assert marks.op == "point_mark"
            assert {labels[y, x] for x, y in marks.params["points"]} == wanted
            if variant == "tiny":
                z = zoom_of(needs)
                cx, cy, r = fit[t["a"]]
                zb = z.params["box"]
                assert zb[0] <= cx - r + 4 and zb[2] >= cx + r - 4 and zb[1] <= cy - r + 4
                assert zb[3] >= cy + r - 4  # the whole circle the dots are counted in
                assert size * BUDGET.scale(img.size) < READING <= zoomed_px(z, size)
            else:
                assert len(needs) == 1 and size * BUDGET.scale(img.size) >= READING
        else:
            t = an["target"]
            box = t["box"]
            x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            assert region_name(in_sets(fit, x, y)) == s.answer
            # the word sits clear of every outline: no ring colour inside its box
            patch = a[box[1] : box[3], box[0] : box[2]]
            for rgb in RINGS.values():
                assert ((patch - np.array(rgb)) ** 2).sum(axis=2).min() > 55**2
            glyph = ink_rows(a, box)
            z = zoom_of(needs)
            zb = z.params["box"]
            assert zb[0] <= box[0] and zb[1] <= box[1] and zb[2] >= box[2] and zb[3] >= box[3]
            if an["easy"]:
                assert needs == [z] and glyph * BUDGET.scale(img.size) >= READING
                assert reads(img, box, t["word"])
            else:
                assert glyph * BUDGET.scale(img.size) < READING <= zoomed_px(z, glyph)
                # the zoom's result, as the budget shows it, reads the word where it is
                assert reads(run_chain(needs[:1], img), box, t["word"], z), t["word"]
                assert needs[1].op == "box" and inside([x, y], needs[1].params["box"])
            assert s.choices and s.answer in s.choices
    assert {"tiny", "dots", "member", "easy"} <= seen
