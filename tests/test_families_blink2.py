"""The BLINK-style families ``iq_grid`` and ``relative_reflectance``: each answer read from
the STORED pixels (the camera's JPEG as it is), not from the generator's variables, and each
need checked against those pixels: where it acts, that it holds the evidence, and that the
evidence is visible at the budget after it (and not before, in the hard variants)."""

from __future__ import annotations

import math
from functools import cache

import cv2
import numpy as np
from PIL import Image, ImageDraw

from atlas_data.ops.geometry import coverage
from atlas_data.ops.image_io import downscale_to
from atlas_data.ops.spec import Need
from atlas_data.ops.zoom import zoom_scale
from atlas_data.sources.scenes import iq_grid
from atlas_data.sources.synthetic import FAMILIES
from tests.family_pixels import BUDGET, completed, run_chain, samples, stored

READING = BUDGET.reading_px


def seen_at_budget(needs: list[Need], a: np.ndarray) -> tuple[np.ndarray, float, list[float]]:
    """The chain's result downscaled to the budget, and how source pixels map into it:
    (image, scale, origin) with x_seen = (x - origin_x) * scale."""
    out = run_chain(needs, a)
    origin, scale = [0.0, 0.0], 1.0
    zoom = next((n for n in needs if n.op == "zoom"), None)
    if zoom is not None:
        origin = [float(zoom.params["box"][0]), float(zoom.params["box"][1])]
        scale = float(zoom.params.get("factor", 1))
    k = BUDGET.scale(out.size)
    return np.asarray(downscale_to(out, BUDGET.side)).astype(int), scale * k, origin


def red(seen: np.ndarray) -> np.ndarray:
    return (seen[..., 0] > 170) & (seen[..., 1] < 90) & (seen[..., 2] < 90)


# ---------------------------------------------------------------------------- iq_grid


@cache
def template(kind: str, rot: int, fill: str, r: float) -> np.ndarray:
    """The figure drawn alone by the family's own drawing kit (no scene), binarised and
    cropped round its ink: what each decoded figure is compared with."""
    side = round(4 * r)
    img = Image.new("RGB", (side, side), (255, 255, 255))
    iq_grid.draw_glyph(ImageDraw.Draw(img), kind, fill, rot, side / 2, side / 2, r)
    return window(np.asarray(img).mean(axis=2) < 128, r)


def window(ink: np.ndarray, r: float) -> np.ndarray:
    """A 2.4r x 2.4r window centred on the ink's bounding box, resampled to 32 x 32."""
    ys, xs = np.nonzero(ink)
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    half = 1.2 * r
    src = np.array([[cx - half, cy - half], [cx + half, cy - half], [cx - half, cy + half]])
    dst = np.array([[0, 0], [32, 0], [0, 32]])
    m = cv2.getAffineTransform(src.astype(np.float32), dst.astype(np.float32))
    return cv2.warpAffine(ink.astype(np.float32), m, (32, 32), flags=cv2.INTER_AREA)


def decode(a: np.ndarray, box: list[int], r: float) -> dict[str, object]:
    """A cell's figures from the pixels: how many (ink pieces) and each one's kind, turn and
    fill (the nearest of the 48 drawn templates); every piece must agree."""
    inset = max(4, round((box[2] - box[0]) * 0.06))
    crop = a[box[1] + inset : box[3] - inset, box[0] + inset : box[2] - inset].mean(axis=2)
    ink = (crop < 128).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    pieces = [k for k in range(1, n) if stats[k, 4] >= 0.1 * r * r]
    kinds = set()
    for k in pieces:
        got = window(labels == k, r)
        scores = {
            (kind, rot, fill): float(np.abs(got - template(kind, rot, fill, r)).mean())
            for kind in iq_grid.KINDS
            for rot in iq_grid.ROTATIONS
            for fill in iq_grid.FILLS
        }
        kinds.add(min(scores, key=lambda key: scores[key]))
    assert len(kinds) == 1, kinds
    kind, rot, fill = kinds.pop()
    return {"kind": kind, "count": len(pieces), "rot": rot, "fill": fill}


def test_iq_grid_the_answer_completes_the_rule_read_from_the_pixels():
    kinds = set()
    for s in samples("iq_grid", 14):
        a = stored(s)
        ann = s.annotations
        r = ann["glyph_radius_px"]
        grid = [[decode(a, ann["cells"][i][j], r) if (i, j) != (2, 2) else None
                 for j in range(3)] for i in range(3)]  # fmt: skip
        cands = [decode(a, b, r) for b in ann["candidates"]]
        # the decoder reads what the graph drew (a check of the decoder, not the answer)
        for i in range(3):
            for j in range(3):
                if (i, j) != (2, 2):
                    assert grid[i][j] == ann["figures"][i][j], (i, j)
        assert cands == ann["candidate_figures"]
        # The rule from the eight figures: an attribute that holds along the rows is the
        # row's; one that holds down the columns is the column's.
        want = {}
        for attr in iq_grid.ATTRS:
            v = [[None if f is None else f[attr] for f in row] for row in grid]
            by_row = all(v[i][0] == v[i][1] for i in range(3)) and all(
                v[i][1] == v[i][2] for i in range(2)
            )
            by_column = all(v[0][j] == v[1][j] for j in range(3)) and all(
                v[1][j] == v[2][j] for j in range(2)
            )
            assert by_row or by_column, attr
            want[attr] = v[2][0] if by_row else v[0][2]
        fits = [k for k, c in enumerate(cands) if c == want]
        assert len(fits) == 1, (want, cands)
        assert s.answer == iq_grid.CANDIDATES[fits[0]]
        if s.choices:
            assert s.choices == list(iq_grid.CANDIDATES)

        needs = completed(s, [a])
        variant = ann["variant"]
        kinds.add(() if ann["easy"] else tuple(n.op for n in needs))
        scale = BUDGET.scale((a.shape[1], a.shape[0]))
        if variant == "easy":  # figures plain at the budget: answered directly
            (zoom,) = needs
            assert zoom.op == "zoom" and (zoom.detail_px or 0) * scale >= READING
            assert ann["rule"]["down_columns"] is None
            continue
        target = ann["candidates"][fits[0]]
        blank = ann["cells"][2][2]
        if variant == "hard":  # the figures' detail under the reading size until zoomed
            zoom, arrow = needs
            assert r * scale < READING
            assert zoom.op == "zoom" and coverage(zoom.params["box"], ann["puzzle"]) >= 0.99
            assert r * zoom_scale(zoom.params["box"], zoom.params["factor"], BUDGET) >= READING
        else:  # large figures: the box holds the bottom row, the blank cell included
            box, arrow = needs
            assert box.op == "box" and r * scale >= READING
            row = [ann["cells"][2][0][0], ann["cells"][2][0][1], *blank[2:]]
            assert coverage(box.params["box"], row) >= 0.99
            assert not any(coverage(box.params["box"], c) > 0.1 for c in ann["candidates"])
        # The arrow, run for real and seen at the budget, leaves the blank cell and ends
        # just over the right candidate, and over no other.
        seen, k, (ox, oy) = seen_at_budget(needs, a)
        ys, xs = np.nonzero(red(seen))
        below = ys / k + oy > blank[3] + 4  # under the grid (and any box round its row)
        ys, xs = ys[below], xs[below]
        assert ys.size, variant
        tip = ys.argmax()
        tx, ty = xs[tip] / k + ox, ys[tip] / k + oy
        assert target[0] <= tx <= target[2] and target[1] - 14 <= ty <= target[1] + 2, (tx, ty)
        top = ys.argmin()
        sx = xs[top] / k + ox
        assert blank[0] <= sx <= blank[2] and ys[top] / k + oy <= blank[3] + 12
    assert kinds == {(), ("zoom", "arrow"), ("box", "arrow")}
    assert set(FAMILIES["iq_grid"].chains) == kinds


# --------------------------------------------------------------- relative_reflectance


def marks(a: np.ndarray, rgb: list[int]) -> list[tuple[float, float]]:
    """The centres of the two ring marks (the two largest blobs of the ring colour)."""
    mask = (np.sqrt(((a - np.array(rgb)) ** 2).sum(axis=2)) < 80).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    big = sorted(range(1, n), key=lambda k: -stats[k, 4])[:2]
    return [(float(cents[k][0]), float(cents[k][1])) for k in big]


def profile(a: np.ndarray, p: tuple[float, float], q: tuple[float, float], skip: float):
    """Log luminance along p->q, one sample a pixel, averaged over a 5 px wide strip,
    ``skip`` px left off at each end (the rings)."""
    length = math.dist(p, q)
    ux, uy = (q[0] - p[0]) / length, (q[1] - p[1]) / length
    t = np.arange(skip, length - skip)
    lum = a.mean(axis=2).astype(np.float32)
    rows = []
    for off in range(-2, 3):
        xs = (p[0] + ux * t - uy * off).astype(np.float32)
        ys = (p[1] + uy * t + ux * off).astype(np.float32)
        rows.append(cv2.remap(lum, xs[None, :], ys[None, :], cv2.INTER_LINEAR)[0])
    return t, np.log(np.maximum(np.mean(rows, axis=0), 1.0))


def steps(lp: np.ndarray) -> list[tuple[int, float, int]]:
    """The edges along a profile: (position, log step, 10-90 % width in px). Flat stretches
    either side give the step; the width tells a sharp edge of paint or cloth (a few px,
    the camera's blur) from the soft edge of a shadow (its penumbra)."""
    d = np.zeros_like(lp)
    d[3:-3] = lp[6:] - lp[:-6]
    hot = np.abs(d) > 0.06
    out = []
    k = 0
    while k < len(lp):
        if not hot[k]:
            k += 1
            continue
        j = k
        while j + 1 < len(lp) and (hot[j + 1] or (j + 3 < len(lp) and hot[j + 3])):
            j += 1
        before = np.median(lp[max(0, k - 16) : max(1, k - 3)])
        after = np.median(lp[j + 4 : j + 17]) if j + 5 < len(lp) else lp[-1]
        delta = float(after - before)
        if abs(delta) > 0.22:  # mottling and grain stay under this
            seg = lp[max(0, k - 6) : j + 7]
            lo, hi = before + 0.1 * delta, before + 0.9 * delta
            width = int(((seg - lo) * (seg - hi) < 0).sum())
            out.append(((k + j) // 2, delta, width))
        k = j + 1
    return out


def test_relative_reflectance_albedo_read_from_the_pixels_sharp_edges_only():
    kinds, traps = set(), 0
    for s in samples("relative_reflectance", 10):
        a = stored(s)
        ann = s.annotations
        found = marks(a, ann["ring_rgb"])
        pts = {}
        for name, p in ann["points"].items():  # the pixels put each ring where the graph says
            near = min(found, key=lambda f: math.dist(f, p))
            assert math.dist(near, p) <= 2.0, (name, near, p)
            pts[name] = near
        first = ann["shaded"] or "A"
        other = "B" if first == "A" else "A"
        t, lp = profile(a, pts[first], pts[other], ann["ring_radius"] + 6)
        edges = steps(lp)
        soft = [e for e in edges if e[2] >= 16]
        sharp = [e for e in edges if e[2] <= 12]
        assert len(soft) + len(sharp) == len(edges), edges  # every edge plainly one or other
        # Paint changes at sharp edges, light at soft ones: the albedo ratio along the floor
        # is the sum of the sharp steps.
        paint = sum(e[1] for e in sharp)
        lighter = other if paint > 0 else first
        read = "about the same" if abs(paint) < math.log(1.15) else lighter
        assert s.answer == read, (s.question, edges, ann["materials"])
        if s.choices:
            assert s.choices == ["A", "B", "about the same"]
        pixel = {k: float(np.median(lp[:8] if k == first else lp[-8:])) for k in (first, other)}
        needs = completed(s, [a])
        kinds.add(() if ann["easy"] else tuple(n.op for n in needs))
        if ann["easy"]:  # both in the light: no shadow edge, brightness is colour
            assert not soft, edges
            (zoom,) = needs
            assert zoom.op == "zoom"
            assert (zoom.detail_px or 0) * BUDGET.scale((a.shape[1], a.shape[0])) >= READING
            zb = zoom.params["box"]
            assert all(zb[0] <= x <= zb[2] and zb[1] <= y <= zb[3] for x, y in pts.values())
            continue
        # hard: exactly one soft edge, into the light: the first point is shaded
        ((where, shade, _),) = soft
        assert shade > 0.5, edges
        if read != "about the same" and pixel[read] < pixel["B" if read == "A" else "A"]:
            traps += 1  # the lighter material is the darker pixel
        box, line = needs
        assert box.op == "box" and line.op == "aux_line"
        bx = box.params["box"]
        sx, sy = pts[first]
        assert bx[0] <= sx <= bx[2] and bx[1] <= sy <= bx[3]  # the box holds the shaded point
        frac = (t[where]) / math.dist(pts[first], pts[other])
        ex = sx + frac * (pts[other][0] - sx)
        ey = sy + frac * (pts[other][1] - sy)
        assert bx[0] - 4 <= ex <= bx[2] + 4 and bx[1] - 4 <= ey <= bx[3] + 4  # and its edge
        assert (bx[2] - bx[0]) * (bx[3] - bx[1]) <= 0.5 * a.shape[0] * a.shape[1]
        assert math.dist(line.params["start"], pts[first]) <= 2.0
        assert math.dist(line.params["end"], pts[other]) <= 2.0
        # run for real, at the budget: the line is there all the way between the rings
        seen, k, _ = seen_at_budget(needs, a)
        m = red(seen)
        for f in (0.25, 0.5, 0.75):
            x = round((sx + f * (pts[other][0] - sx)) * k)
            y = round((sy + f * (pts[other][1] - sy)) * k)
            assert m[y - 2 : y + 3, x - 2 : x + 3].any(), f
        assert m[round(bx[1] * k) + 1, round(bx[0] * k) : round(bx[2] * k)].mean() > 0.8
    assert kinds == {(), ("box", "aux_line")}
    assert set(FAMILIES["relative_reflectance"].chains) == kinds
    assert traps >= 1  # shading does mislead: some answers are the darker pixel
