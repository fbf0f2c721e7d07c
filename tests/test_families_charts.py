"""The chart families line_chart, pie_chart and scatter_plot: each answer read from the
STORED image's pixels (the camera's JPEG as the run stores it, decoded back), and each need
checked against the scene: it acts where the evidence is, and what it shows is visible at
the budget after the operation."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np
from PIL import Image

from atlas_data.explore.search import complete_needs
from atlas_data.ops import Operation, specs
from atlas_data.ops.image_io import downscale_to
from atlas_data.ops.spec import MatchContext, Need
from atlas_data.sources.base import SourceSample
from atlas_data.sources.scenes.chart_look import nearest
from tests.family_pixels import BUDGET, samples, stored


def needs(s: SourceSample) -> list[Need]:
    return complete_needs(s, (1600, 1200), BUDGET).needs


def ctx() -> MatchContext:
    return MatchContext((1600, 1200), BUDGET)


def run_ops(s: SourceSample, ns: list[Need]) -> Image.Image:
    """The needs applied in order, the result shown at the budget."""
    assert isinstance(s.image, Image.Image)
    img = s.image
    for n in ns:
        img = Operation(n.op, n.params).apply(img)
    return downscale_to(img, BUDGET.side)


def red_near(seen: Image.Image, points: list[list[float]], reach: int = 3) -> bool:
    """Whether the budget image has the operations' red ink near each of ``points`` (given
    in source pixels)."""
    a = np.asarray(seen).astype(int)
    k = seen.size[0] / 1600
    for x, y in points:
        cx, cy = round(x * k), round(y * k)
        win = a[max(0, cy - reach) : cy + reach + 1, max(0, cx - reach) : cx + reach + 1]
        if not ((win[..., 0] > 170) & (win[..., 1] < 80) & (win[..., 2] < 80)).any():
            return False
    return True


# --- line_chart --------------------------------------------------------------------------


def series_y(a: np.ndarray, colours: dict[str, list[int]], name: str, x: int) -> float | None:
    """The row of series ``name``'s ink in column ``x`` (its marker there), or None when
    another series' marker covers it."""
    palette = {k: tuple(v) for k, v in colours.items()}
    idx = list(palette).index(name)
    cls = nearest(a[:, x - 1 : x + 2], palette, 70)
    rows = np.flatnonzero((cls == idx).sum(axis=1) >= 2)
    return float(np.median(rows)) if rows.size else None


def test_line_chart_answers_are_where_the_series_are_in_the_pixels():
    kinds = set()
    for s in samples("line_chart", 16, seed=6):
        a = stored(s)
        ann, ax = s.annotations, s.annotations["axis"]
        kinds.add(ann["kind"])
        i, names = ann["step"], ann["asked"]
        x = ax["x"][i]
        ys = {nm: series_y(a, ann["colours"], nm, x) for nm in names}
        ns = needs(s)
        ops = [n.op for n in ns]

        def value(y: float) -> float:
            return (ax["y_bottom"] - y) / ax["per_unit"]  # noqa: B023

        if ann["kind"] == "value":
            y = ys[names[0]]
            assert y is not None
            assert abs(value(y) - int(s.answer)) <= 1.5, (value(y), s.answer)
            assert ops == ["aux_line", "aux_line", "text_label"]
            up, across, label = ns
            assert up.params["start"] == [x, ax["y_bottom"]] and abs(up.params["end"][1] - y) <= 3
            assert across.params["end"][0] == ax["left"] and abs(across.params["start"][1] - y) <= 3
            assert label.params["text"] == s.answer
            # after the lines, the point, the crossing with the axis and the label's red
            # glyphs (>= the reading size at the budget) are all in the budget image
            seen = run_ops(s, ns)
            assert red_near(seen, [[x, y], [ax["left"] + 3, y], [x, ax["y_bottom"] - 5]])
            assert max(12, round(1200 / 30)) * BUDGET.scale((1600, 1200)) >= BUDGET.reading_px
        elif ann["kind"] == "cross":
            a_name, b_name = names
            diffs = {}
            for k, xk in enumerate(ax["x"]):
                ya, yb = (series_y(a, ann["colours"], nm, xk) for nm in names)
                if ya is not None and yb is not None and abs(ya - yb) > 4:
                    diffs[k] = np.sign(ya - yb)
            flips = [(k1, k2) for k1, k2 in zip(list(diffs), list(diffs)[1:], strict=False)
                     if diffs[k1] != diffs[k2]]  # fmt: skip
            assert len(flips) == 1, (a_name, b_name, diffs)
            k1, k2 = flips[0]
            step = ann["years"].index(int(s.answer))
            assert k1 < step < k2
            ya, yb = ys[a_name], ys[b_name]
            assert ya is None or yb is None or abs(ya - yb) <= 4  # they meet at that step
            assert ops == ["box", "aux_line"]
            box, line = ns
            meet = ya if ya is not None else yb
            assert meet is not None
            b = box.params["box"]
            assert b[0] < x < b[2] and b[1] < meet < b[3]
            assert line.params["end"] == [x, ax["y_bottom"]]
            assert red_near(run_ops(s, ns), [[x, meet], [x, ax["y_bottom"] - 5]])
        else:
            ya, yb = ys[names[0]], ys[names[1]]
            assert ya is not None and yb is not None and abs(ya - yb) >= 3 * ax["per_unit"]
            assert s.answer == (names[0] if ya < yb else names[1])
            assert s.choices == names
            if ann["kind"] == "higher":
                assert not ann["easy"] and ops == ["aux_line", "box"]
                b = ns[1].params["box"]
                assert b[0] < x < b[2] and b[1] < min(ya, yb) and max(ya, yb) < b[3]
                # close: the pixels put them about 5 units apart, among other series
                assert abs(value(ya) - value(yb)) <= 6.5
            else:
                assert ann["easy"] and ops == ["zoom"]
                # far apart: well over the reading size at the budget, no operation needed
                assert abs(ya - yb) * BUDGET.scale((1600, 1200)) >= 10 * BUDGET.reading_px
                assert BUDGET.legibility(ns[0].detail_px or 0, (1600, 1200)).legible
    assert kinds == {"value", "cross", "higher", "easy"}


# --- pie_chart ---------------------------------------------------------------------------


def pie_shares(a: np.ndarray, ann: dict) -> dict[str, float]:
    """Each slice's share of a ring at 0.55 radii, by the colour of its pixels."""
    (cx, cy), r = ann["centre"], ann["radius"]
    colours = {k: tuple(v) for k, v in ann["colours"].items()}
    angles = np.linspace(0, 2 * np.pi, 3600, endpoint=False)
    xs = np.rint(cx + 0.55 * r * np.cos(angles)).astype(int)
    ys = np.rint(cy + 0.55 * r * np.sin(angles)).astype(int)
    cls = nearest(a[ys, xs], colours, 70)
    valid = cls[cls >= 0]
    return {nm: 100 * float((valid == k).mean()) for k, nm in enumerate(colours)}


def colour_at(a: np.ndarray, ann: dict, p: list[int] | tuple[int, int]) -> str | None:
    colours = {k: tuple(v) for k, v in ann["colours"].items()}
    cls = nearest(a[p[1] - 2 : p[1] + 3, p[0] - 2 : p[0] + 3], colours, 70)
    vals, counts = np.unique(cls, return_counts=True)
    best = vals[counts.argmax()]
    return None if best < 0 else list(colours)[best]


def test_pie_chart_answers_are_the_slices_colour_shares_in_the_pixels():
    kinds = set()
    for s in samples("pie_chart", 16):
        a = stored(s)
        ann = s.annotations
        kinds.add(ann["kind"] + ("-plain" if ann["plain"] else ""))
        shares = pie_shares(a, ann)
        assert abs(sum(shares.values()) - 100) < 0.5
        for nm, sl in ann["slices"].items():
            assert abs(shares[nm] - sl["share"]) <= 1.0, (nm, shares[nm], sl["share"])
        # the legend key for a name has that slice's colour in the pixels
        for nm, key in ann["legend"].items():
            assert colour_at(a, ann, ((key[0] + key[2]) // 2, (key[1] + key[3]) // 2)) == nm
        ns, names = needs(s), ann["asked"]
        ops = [n.op for n in ns]
        if ann["kind"] == "share":
            assert abs(shares[names[0]] - int(s.answer.rstrip("%"))) <= 1.0
            assert s.choices and s.answer in s.choices and len(set(s.choices)) == 4
            others = [int(c.rstrip("%")) for c in s.choices if c != s.answer]
            assert all(abs(o - shares[names[0]]) >= 7 for o in others)
            assert ops == ["arrow", "text_label"] and ns[1].params["text"] == s.answer
        else:
            x, y = (shares[nm] for nm in names)
            assert abs(x - y) >= 0.5 and s.answer == (names[0] if x > y else names[1])
            if ann["kind"] in ("arrows", "boxes") and not ann["plain"]:
                assert abs(x - y) <= 4  # close in size: not told at a glance
        arrows = [n for n in ns if n.op == "arrow"]
        for n, nm in zip(arrows, names, strict=False):
            key = ann["legend"][nm]
            sx, sy = n.params["start"]
            assert sx < key[0] and key[1] <= sy <= key[3] and key[0] - sx < 20
            assert colour_at(a, ann, n.params["end"]) == nm  # it ends in that slice
        if arrows:
            seen = run_ops(s, arrows)
            assert red_near(seen, [arrows[0].params["end"]], reach=5)
        boxes = [n for n in ns if n.op == "box"]
        (cx, cy), r = ann["centre"], ann["radius"]
        for n, nm in zip(boxes, names if boxes else [], strict=True):
            b = n.params["box"]
            # every pixel of the slice lies in its box
            disc = a[cy - r : cy + r + 1 : 2, cx - r : cx + r + 1 : 2]
            cls = nearest(disc, {k: tuple(v) for k, v in ann["colours"].items()}, 50)
            yy, xx = np.nonzero(cls == list(ann["colours"]).index(nm))
            yy, xx = cy - r + 2 * yy, cx - r + 2 * xx
            sel = np.hypot(xx - cx, yy - cy) < r
            assert sel.sum() > 0
            xx, yy = xx[sel], yy[sel]
            inside = (xx >= b[0] - 2) & (xx <= b[2] + 2) & (yy >= b[1] - 2) & (yy <= b[3] + 2)
            assert inside.mean() > 0.995
            verdict = specs()["box"].helps(n, ctx(), Image.fromarray(a.astype(np.uint8)))
            assert verdict is not None and verdict.ok == (not ann["plain"]), verdict
        if ann["kind"] == "easy":
            assert ops == ["zoom"] and BUDGET.legibility(ns[0].detail_px or 0, (1600, 1200)).legible
    assert kinds == {"arrows", "boxes", "boxes-plain", "share", "easy"}


# --- scatter_plot ------------------------------------------------------------------------


def markers(a: np.ndarray, ann: dict) -> dict[str, list[tuple[float, float]]]:
    """Each group's marker centroids inside the plot, found by colour in the pixels."""
    ax = ann["axis"]
    right = round(ax["left"] + 100 * ax["sx"])
    colours = {k: tuple(v) for k, v in ann["colours"].items()}
    x0, y0 = ax["left"] - 15, ax["y_top"] - 15  # the plot, not the legend
    # every second pixel: a marker is still ~9 px across, and the count stays fast
    cls = nearest(a[y0 : ax["y_bottom"] + 15 : 2, x0 : right + 15 : 2], colours, 70)
    out = {}
    for k, nm in enumerate(colours):
        mask = (cls == k).astype(np.uint8)
        n, _, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
        out[nm] = [(2 * c[0] + 0.5 + x0, 2 * c[1] + 0.5 + y0)
                   for c, st in zip(cents[1:], stats[1:], strict=True) if st[4] >= 10]  # fmt: skip
    return out


def test_scatter_plot_answers_are_where_the_markers_are_in_the_pixels():
    kinds = set()
    for s in samples("scatter_plot", 16):
        a = stored(s)
        ann, ax = s.annotations, s.annotations["axis"]
        kinds.add(ann["kind"] + ("-plain" if ann["plain"] else ""))
        found = markers(a, ann)
        for nm, pts in ann["points"].items():
            assert len(found[nm]) == len(pts), (nm, len(found[nm]), len(pts))  # none merged
        ns = needs(s)
        ops = [n.op for n in ns]
        if ann["kind"] == "count":
            m, k = ann["region"]["m"], ann["region"]["k"]
            data = [((x - ax["left"]) / ax["sx"], (ax["y_bottom"] - y) / ax["sy"])
                    for x, y in found[ann["group"]]]  # fmt: skip
            inside = [p for p in data if p[0] > m and p[1] > k]
            assert len(inside) == int(s.answer)
            assert m in [int(v) for v in re.findall(r"\d+", s.question)]
            assert ops == ["box", "point_mark"]
            box, marks = ns
            b = box.params["box"]
            assert abs(b[0] - (ax["left"] + m * ax["sx"])) <= 1
            assert abs(b[3] - (ax["y_bottom"] - k * ax["sy"])) <= 1
            pts = marks.params["points"]
            assert len(pts) == int(s.answer)
            centres = [c for c in found[ann["group"]] if b[0] < c[0] < b[2] and b[1] < c[1] < b[3]]
            assert len(centres) == len(pts)
            assert all(min(math.dist(p, c) for c in centres) <= 3 for p in pts)
            verdict = specs()["point_mark"].helps(marks, ctx(), s.image)  # type: ignore[arg-type]
            assert verdict is not None and verdict.ok == (int(s.answer) > 4)
            # marker size at the budget: big enough to see each mark and point
            assert 2 * ann["radius"] * BUDGET.scale((1600, 1200)) >= BUDGET.reading_px
            assert red_near(run_ops(s, ns), [[b[0] + 2, (b[1] + b[3]) / 2], *pts], reach=4)
        else:
            every = [(c, nm) for nm, cs in found.items() for c in cs]
            (first, win), (second, _) = sorted(every, key=lambda t: -t[0][0])[:2]
            assert s.answer == win and s.choices and win in s.choices
            lead = first[0] - second[0]
            if ann["kind"] == "easy":
                assert lead * BUDGET.scale((1600, 1200)) >= 10 * BUDGET.reading_px
                assert ops == ["zoom"]
                continue
            assert ops == ["box", "aux_line"]
            box, line = ns
            b = box.params["box"]
            rivals = sorted(every, key=lambda t: -t[0][0])[:2]
            assert all(b[0] < c[0] < b[2] and b[1] < c[1] < b[3] for c, _ in rivals)
            assert abs(line.params["start"][0] - first[0]) <= 2
            verdict = specs()["aux_line"].helps(line, ctx(), s.image)  # type: ignore[arg-type]
            assert verdict is not None and verdict.ok == (not ann["plain"]), verdict
            if not ann["plain"]:
                # the lead is under a few pixels at the budget; the line settles it
                assert lead * BUDGET.scale((1600, 1200)) < BUDGET.reading_px
            seen = run_ops(s, ns)
            assert red_near(seen, [[first[0], first[1] - 30], [first[0], second[1]]])
    assert kinds == {"count", "rightmost", "rightmost-plain", "easy"}
