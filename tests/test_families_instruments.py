"""The instrument families ``thermometer`` and ``weighing_scale``: each answer read from the
STORED pixels (the camera's JPEG, decoded), and each need checked against those pixels:
where it acts, that it holds what the answer depends on, and that it is visible at the
budget after the operation."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from atlas_data.explore.text import shared_engine
from atlas_data.ops.zoom import zoom_scale
from atlas_data.sources.synthetic import FAMILIES
from tests.family_pixels import BUDGET, completed, inside, run_chain, samples, stored

READING = BUDGET.reading_px


# ------------------------------------------------------------------------- thermometer


def liquid_top(a: np.ndarray, tube: list[int], rgb: list[int]) -> int:
    """The topmost row of the tube's middle columns that holds the liquid's colour."""
    mid = (tube[0] + tube[1]) // 2
    strip = a[:, mid - 1 : mid + 2].mean(axis=1)
    near = np.sqrt(((strip - np.array(rgb)) ** 2).sum(axis=1)) < 70
    rows = np.flatnonzero(near)
    # the column is one run down to the bulb: its top is where the longest run starts
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    return int(max(runs, key=len)[0])


def tick_rows(a: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> list[int]:
    """Rows of the dark ticks in columns x0..x1 between rows y0 and y1 (top to bottom): the
    centres of the runs of rows darker than the plate around them."""
    band = a[y0:y1, x0:x1].mean(axis=(1, 2))
    plate = np.percentile(band, 90)
    dark = band < plate - 0.3 * (plate - band.min())
    rows = np.flatnonzero(dark)
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    return [y0 + int(round(r.mean())) for r in runs if len(r)]


def numeral_at(a: np.ndarray, box: list[int]) -> str:
    """The numeral OCR recognises in ``box`` of the stored image (one line, magnified to the
    recogniser's height)."""
    pad = max(3, (box[3] - box[1]) // 3)
    crop = Image.fromarray(a.astype(np.uint8)).crop(
        (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
    )
    scale = 48 / crop.height
    big = crop.resize((round(crop.width * scale), 48), Image.Resampling.LANCZOS)
    text, _ = shared_engine().recognize(big)
    return text.replace(" ", "")


def scale_reading(
    a: np.ndarray, ann: dict, tube: list[int], ticks: list[int], numerals: dict[str, list[int]]
) -> tuple[int, int]:
    """The temperature a thermometer shows, from its pixels: the liquid's top row, the
    1-degree ticks by the tube (every one found), and the numeral OCR reads beside the
    numbered (long) tick nearest to the top; returns (degrees, liquid top row)."""
    sc = ann["scale"]
    top = liquid_top(a, tube, ann["liquid_rgb"])
    span = sc["hi"] - sc["lo"]
    y_hi, y_lo = round(sc["y0"] - span * sc["sp"]), round(sc["y0"])
    pad = max(3, round(sc["sp"] / 2))
    inner = ticks[1]  # every tick reaches the tube's side of the band
    short = tick_rows(a, inner - 3, inner - 1, y_hi - pad, y_lo + pad)
    assert len(short) == span + 1, (len(short), span)
    gaps = np.diff(short)
    assert gaps.min() >= 0.6 * sc["sp"] and gaps.max() <= 1.4 * sc["sp"]
    # the numbered ticks are the only ones reaching the band's far side
    long_rows = tick_rows(a, ticks[0] + 1, ticks[0] + 3, y_hi - pad, y_lo + pad)
    assert len(long_rows) == len([v for v in range(sc["lo"], sc["hi"] + 1) if v % 10 == 0])
    at = int(np.argmin([abs(y - top) for y in short]))
    assert abs(short[at] - top) <= 2, (short[at], top)
    near = min(long_rows, key=lambda y: abs(y - top))
    k_near = int(np.argmin([abs(y - near) for y in short]))
    # where the numeral beside that tick is printed (its text is read from the pixels)
    box = min(numerals.values(), key=lambda b: abs((b[1] + b[3]) / 2 - near))
    text = numeral_at(a, box)
    assert text.lstrip("-").isdigit(), text
    # rows grow downwards, degrees upwards: each tick above the numbered one is a degree more
    return int(text) + (k_near - at), top


def test_thermometer_value_is_the_tick_where_the_liquid_stops_and_needs_reach_it():
    kinds: set[str] = set()
    chains = set()
    for s in samples("thermometer", 12):
        a = stored(s)
        ann = s.annotations
        kinds.add(ann["variant"])
        needs = completed(s, [a])
        chains.add(() if ann["easy"] else tuple(n.op for n in s.needs))
        if s.choices:
            assert s.answer in s.choices
        sp_budget = ann["scale"]["sp"] * BUDGET.scale((a.shape[1], a.shape[0]))
        if ann["variant"] == "compare":
            seen = {}
            for name in ("A", "B"):
                value, top = scale_reading(
                    a, ann, ann["tubes"][name], ann["ticks"][name], ann["numerals"][name]
                )
                seen[name] = (value, top)
            warm = max(seen, key=lambda n: seen[n][0])
            assert seen["A"][0] != seen["B"][0] and s.answer == warm, (seen, s.answer)
            cold = "B" if warm == "A" else "A"
            line, box = needs
            assert line.op == "aux_line" and box.op == "box"
            (x0, y0), (x1, y1) = line.params["start"], line.params["end"]
            assert y0 == y1 and abs(y0 - seen[cold][1]) <= 2  # level, from the cold column's top
            tube = ann["tubes"][warm]
            assert min(x0, x1) < tube[0] and max(x0, x1) > tube[1]  # across the warm tube
            # the warm column's top stands above the line by a few px only: hard by eye
            offset = seen[cold][1] - seen[warm][1]
            assert offset > 0 and offset / abs(x1 - x0) < 0.05
            assert inside([(tube[0] + tube[1]) / 2, seen[warm][1]], box.params["box"])
            run_chain(needs, a)
            continue
        value, top = scale_reading(a, ann, ann["tube"], ann["ticks"], ann["numerals"])
        assert str(value) == s.answer, (value, s.answer, s.question)
        if ann["variant"] == "easy":
            (zoom,) = needs
            assert zoom.op == "zoom" and value % 10 == 0
            assert sp_budget >= READING  # the ticks stand apart at a glance: direct
            continue
        line, label = needs[-2:]
        (x0, y0), (x1, y1) = line.params["start"], line.params["end"]
        assert y0 == y1 and abs(y0 - top) <= 2 and x0 >= ann["tube"][1] - 1
        assert x1 <= ann["ticks"][0]  # the line crosses every tick up to the long ones
        assert label.op == "text_label" and label.params["text"] == s.answer
        if ann["variant"] == "fine":
            zoom = needs[0]
            assert zoom.op == "zoom" and sp_budget < READING
            box, factor = zoom.params["box"], zoom.params["factor"]
            assert ann["scale"]["sp"] * zoom_scale(box, factor, BUDGET) >= 2 * READING
            assert inside([x0, y0], box) and inside([x1, y1], box)
            assert inside(label.params["position"], box)
            near = str(round(value / 10) * 10)
            nb = ann["numerals"][near]
            assert inside(nb[:2], box) and inside(nb[2:], box)
        else:
            assert len(needs) == 2 and sp_budget < READING  # ticks too fine to count by eye
        run_chain(needs, a)
    assert kinds == {"read", "fine", "compare", "easy"}, kinds
    assert chains == set(FAMILIES["thermometer"].chains), chains


# ---------------------------------------------------------------------- weighing_scale


# A vertical cut through the beam (15 px at the default size), relative brightness: a dark
# outline, the lit upper half with its bright streak, the lower half in shade, the outline.
BEAM_CUT = np.array([0.4, 0.6, 1, 1.4, 1.4, 1, 1, 0.72, 0.72, 0.72, 0.72, 0.72, 0.72, 0.5, 0.4])


def beam_rows(a: np.ndarray, ann: dict, xs: list[int]) -> list[float]:
    """The beam's centre row at each column of ``xs``: where the column's profile best
    matches (normalised cross-correlation) a cut through the beam, in a window around the
    pivot's row; ``nan`` where nothing matches well."""
    grey = a.mean(axis=2)
    py = ann["pivot"][1]
    half = len(BEAM_CUT) // 2
    ref = (BEAM_CUT - BEAM_CUT.mean()) / BEAM_CUT.std()
    reach = round(ann["half_beam"] * np.sin(np.radians(12))) + 20
    out = []
    for x in xs:
        col = grey[py - reach - half : py + reach + half + 1, x - 1 : x + 2].mean(axis=1)
        scores = []
        for i in range(2 * reach + 1):
            win = col[i : i + 2 * half + 1]
            win = (win - win.mean()) / (win.std() + 1e-9)
            scores.append(float((win * ref).mean()))
        best = int(np.argmax(scores))
        out.append(py - reach + best if scores[best] > 0.6 else np.nan)
    return out


def beam_tilt(a: np.ndarray, ann: dict) -> tuple[float, list[int], list[float]]:
    """The beam's tilt in degrees (positive: the right end down) fitted to its rows along
    both arms, a column where a string or hook spoils the match left out; the columns and
    rows fitted."""
    cx, r = ann["pivot"][0], ann["half_beam"]
    xs = [round(cx + f * r) for f in np.r_[np.linspace(-0.9, -0.3, 8), np.linspace(0.3, 0.9, 8)]]
    rows = beam_rows(a, ann, xs)
    keep = [(x, y) for x, y in zip(xs, rows, strict=True) if not np.isnan(y)]
    # Theil-Sen: the median of the pairwise slopes, then the columns within 3 px of it
    slopes = [(y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(keep) for x2, y2 in keep[i + 1 :]]
    slope = float(np.median(slopes))
    icpt = float(np.median([y - slope * x for x, y in keep]))
    keep = [(x, y) for x, y in keep if abs(slope * x + icpt - y) <= 3]
    assert len(keep) >= 10 and min(sum(x < cx for x, _ in keep), sum(x > cx for x, _ in keep)) >= 3
    fx, fy = np.array(keep, dtype=float).T
    slope, icpt = np.polyfit(fx, fy, 1)
    return float(np.degrees(np.arctan(slope))), [int(x) for x in fx], [float(y) for y in fy]


def letter_holes(a: np.ndarray, box: list[int]) -> int:
    """How many holes the white letter painted on an object has (A: 1, B: 2)."""
    x0, y0, x1, y1 = box
    crop = a[y0:y1, x0:x1]
    white = (crop.min(axis=2) > 215).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(white, connectivity=8)
    assert n > 1
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    glyph = (labels == big).astype(np.uint8)
    contours, hierarchy = cv2.findContours(glyph, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    holes = [c for c, hh in zip(contours, hierarchy[0], strict=True) if hh[3] >= 0]
    return sum(cv2.contourArea(c) >= 4 for c in holes)


def test_weighing_scale_heavier_side_is_where_the_beam_dips_and_needs_show_it():
    chains = set()
    easy = hard = 0
    for s in samples("weighing_scale", 12):
        a = stored(s)
        ann = s.annotations
        cx, py = ann["pivot"]
        r = ann["half_beam"]
        tilt, xs, rows = beam_tilt(a, ann)
        assert abs(tilt - ann["tilt_deg"]) < 0.4, (tilt, ann["tilt_deg"])
        dipped = "right" if tilt > 0 else "left"
        letters = {
            side: "A" if letter_holes(a, ann["objects"][side]) == 1 else "B"
            for side in ("left", "right")
        }
        assert set(letters.values()) == {"A", "B"}, letters
        assert {v: k for k, v in letters.items()} == ann["sides"]
        heavy = letters[dipped]
        light = "B" if heavy == "A" else "A"
        assert s.answer == (light if ann["asks_lighter"] else heavy), (s.question, s.answer)
        # the objects' sizes tell nothing: the heavier is the smaller about half of the time
        if s.choices:
            assert s.choices == ["A", "B"]
        needs = completed(s, [a])
        chains.add(() if ann["easy"] else tuple(n.op for n in s.needs))
        drop_budget = 2 * r * np.sin(np.radians(abs(tilt))) * BUDGET.scale((a.shape[1], a.shape[0]))
        if ann["easy"]:
            easy += 1
            (zoom,) = needs
            assert zoom.op == "zoom" and drop_budget >= 2 * READING  # steep: plain at a glance
            continue
        hard += 1
        line, arrow = needs
        (x0, y0), (x1, y1) = line.params["start"], line.params["end"]
        assert y0 == y1 and abs(y0 - py) <= 1 and x0 < xs[0] and x1 > xs[-1]
        # the beam's ends stand off that level line by a few px only
        ends = [rows[0], rows[-1]]
        assert max(abs(e - py) for e in ends) < 0.05 * r + 3
        lower = "right" if ends[1] > ends[0] else "left"
        assert lower == dipped
        # the arrow leaves the pivot towards the object on the dipped side
        assert arrow.params["start"] == [cx, py]
        ex, ey = arrow.params["end"]
        assert inside([ex, ey], ann["objects"][dipped])
        run_chain(needs, a)
    assert easy and hard
    assert chains == set(FAMILIES["weighing_scale"].chains), chains
