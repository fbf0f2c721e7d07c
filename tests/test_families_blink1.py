"""The BLINK-style families ``relative_depth`` and ``object_localisation``: each answer read
from the STORED pixels (the camera's JPEG as it is, or the run's ``auto`` storage encoded
and decoded back), not from the generator's variables, and each need checked against
those pixels: where it acts, that it holds the evidence, and that the evidence is visible
at the budget after it (and not before, in the hard variants)."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from atlas_data.ops import Operation
from atlas_data.ops.aux_line import ALIGN
from atlas_data.ops.geometry import area, coverage, iou
from atlas_data.ops.image_io import downscale_to
from atlas_data.ops.zoom import zoom_scale
from atlas_data.sources.scenes.object_localisation import COLOURS
from atlas_data.sources.synthetic import FAMILIES
from tests.family_pixels import BUDGET, completed, run_chain, samples, stored

READING = BUDGET.reading_px


def blob(a: np.ndarray, rgb: list[int], tol: float = 60) -> tuple[float, float, float, float]:
    """The bounding box (x0, y0, x1, y1; exclusive ends) of the largest blob of ``rgb``."""
    dist = np.sqrt(((a - np.array(rgb)) ** 2).sum(axis=2))
    mask = (dist < tol).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    assert n > 1, rgb
    x, y, w, h, _ = stats[1 + int(np.argmax(stats[1:, 4]))]
    return float(x), float(y), float(x + w), float(y + h)


def centre(b: tuple[float, float, float, float]) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


# ---------------------------------------------------------------------- relative_depth


def test_relative_depth_the_nearer_point_is_the_lower_one_on_the_ground_plane():
    kinds = set()
    for s in samples("relative_depth", 24):
        a = stored(s)
        ann = s.annotations
        marks = {k: centre(blob(a, rgb)) for k, rgb in ann["mark_rgb"].items()}
        for k, (x, y) in marks.items():  # the pixels put each mark where the graph says
            assert abs(x - ann["points"][k][0]) <= 1.5 and abs(y - ann["points"][k][1]) <= 1.5
        # Depth from the ground-plane model: a ground point at row y is f * H / (y - horizon)
        # metres away; the mark rows come from the pixels.
        horizon, f, cam = ann["horizon"], ann["focal_px"], ann["camera_height_m"]
        depth = {k: f * cam / (y - horizon) for k, (_, y) in marks.items()}
        near, far = sorted(depth, key=lambda k: depth[k])
        assert marks[near][1] > marks[far][1]  # nearer = lower in the picture
        assert s.answer == (far if ann["asks_farther"] else near), (s.question, depth)
        assert ("farther" in s.question) == ann["asks_farther"]
        if s.choices:
            assert s.choices == ["A", "B"]
        offset = marks[near][1] - marks[far][1]  # rows apart, in source pixels
        span = abs(marks[near][0] - marks[far][0])
        scale = BUDGET.scale((a.shape[1], a.shape[0]))
        needs = completed(s, [a])
        kinds.add(() if ann["easy"] else tuple(n.op for n in needs))
        if ann["easy"]:  # rows far apart: plain at the budget, answered directly
            (zoom,) = needs
            assert zoom.op == "zoom" and abs((zoom.detail_px or 0) - offset) <= 2
            assert offset * scale >= 2 * READING
            zb = zoom.params["box"]
            assert all(zb[0] <= x <= zb[2] and zb[1] <= y <= zb[3] for x, y in marks.values())
            continue
        # hard: the rows differ by under the reading size at the budget, across the picture
        assert offset * scale < READING and offset / span < ALIGN
        (line,) = needs
        (sx, sy), (ex, ey) = line.params["start"], line.params["end"]
        assert line.op == "aux_line" and sy == ey  # level
        assert abs(sx - marks[far][0]) <= 1.5 and abs(sy - marks[far][1]) <= 1.5
        assert (ex - sx) * (marks[near][0] - sx) > 0 and abs(ex - sx) > span  # past the other
        m = line.measure or {}
        assert m["purpose"] == "align" and abs(m["offset_px"] - offset) <= 1.5
        assert abs(m["span_px"] - span) <= 1.5 and m["offset_px"] / m["span_px"] < ALIGN
        # after the line, at the budget: the line runs above the nearer mark's centre
        seen = np.asarray(downscale_to(run_chain(needs, a), BUDGET.side)).astype(int)
        k = BUDGET.scale((a.shape[1], a.shape[0]))
        r = ann["mark_radius"] * k
        col = round(marks[near][0] * k + (r + 8) * (1 if ex > sx else -1))
        red = np.flatnonzero((seen[:, col, 0] > 170) & (seen[:, col, 1] < 90))
        assert red.size, col
        line_row = red.mean()
        _, near_y = centre(blob(seen, ann["mark_rgb"][near]))
        assert near_y - line_row >= 2, (near_y, line_row)  # visibly below the line
    assert kinds == {(), ("aux_line",)}
    assert {c for f in [FAMILIES["relative_depth"]] for c in f.chains} == kinds


# ----------------------------------------------------------------- object_localisation


def object_extent(a: np.ndarray, rgb: tuple[int, int, int], strokes: list[list[int]]) -> list[int]:
    """The named object's extent from the pixels: its hue, saturated and not dark, off the
    drawn boxes' strokes (where JPEG mixes colours); the largest piece and the pieces next
    to it (a stroke across the object cuts it in pieces), specks dropped."""
    hsv = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2HSV).astype(int)
    want = int(cv2.cvtColor(np.array([[rgb]], np.uint8), cv2.COLOR_RGB2HSV)[0, 0, 0])
    dh = np.abs(hsv[..., 0] - want)
    dh = np.minimum(dh, 180 - dh)
    mask = ((dh <= 7) & (hsv[..., 1] > 130) & (hsv[..., 2] > 60)).astype(np.uint8)
    drawn = np.zeros(mask.shape, np.uint8)
    for b in strokes:
        drawn |= (np.sqrt(((a - np.array(b)) ** 2).sum(axis=2)) < 90).astype(np.uint8)
    mask &= (cv2.dilate(drawn, np.ones((3, 3), np.uint8)) == 0).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    pieces = sorted(
        ([int(x), int(y), int(x + w), int(y + h)] for x, y, w, h, size in stats[1:] if size >= 15),
        key=area,
        reverse=True,
    )
    assert pieces
    box, rest = pieces[0], pieces[1:]
    while near := [p for p in rest if iou([box[0] - 6, box[1] - 6, box[2] + 6, box[3] + 6], p)]:
        for p in near:
            rest.remove(p)
            box = [min(box[0], p[0]), min(box[1], p[1]), max(box[2], p[2]), max(box[3], p[3])]
    return box


def groups(idx: np.ndarray) -> list[np.ndarray]:
    return np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if idx.size else []


def drawn_box(a: np.ndarray, rgb: list[int], tag: tuple[float, float]) -> list[int]:
    """A drawn box's inner edges (x1, y1 exclusive) from its strokes: its letter tag (a
    piece of its own, about ``tag`` wide and tall and mostly filled) is set aside, then the
    rows and columns that the box's long strokes fill give its sides."""
    m = (np.sqrt(((a - np.array(rgb)) ** 2).sum(axis=2)) < 90).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    tags = [
        (x, y, x + w, y + h)
        for x, y, w, h, size in stats[1:]
        if w >= 0.6 * tag[0] and h >= 0.6 * tag[1] and size >= 0.35 * w * h and w < 2 * tag[0]
    ]
    for k, (x, y, w, h, _) in enumerate(stats[1:], start=1):  # tags and their letters' holes
        if any(t[0] <= x and t[1] <= y and x + w <= t[2] and y + h <= t[3] for t in tags):
            m[labels == k] = 0
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    top, *_, bottom = groups(np.flatnonzero(rows >= 0.5 * rows.max()))
    left, *_, right = groups(np.flatnonzero(cols >= 0.5 * cols.max()))
    return [int(left.max()) + 1, int(top.max()) + 1, int(right.min()), int(bottom.min())]


def test_object_localisation_the_answer_is_the_box_of_higher_iou_with_the_object():
    kinds = set()
    for s in samples("object_localisation", 24):
        a = stored(s)
        ann = s.annotations
        assert ann["object"] in s.question
        colour = ann["object"].split()[0]
        (x0, y0, x1, y1) = ann["tags"]["A"]
        tag = (float(x1 - x0), float(y1 - y0))
        boxes = {k: drawn_box(a, rgb, tag) for k, rgb in ann["box_rgb"].items()}
        for k, b in boxes.items():  # the strokes are where the scene graph drew them
            assert max(abs(p - q) for p, q in zip(b, ann["boxes"][k], strict=True)) <= 2, k
        extent = object_extent(a, COLOURS[colour], list(ann["box_rgb"].values()))
        assert max(abs(p - q) for p, q in zip(extent, ann["extent"], strict=True)) <= 3
        fits = {k: iou(b, extent) for k, b in boxes.items()}
        best = max(fits, key=lambda k: fits[k])
        assert s.answer == best and fits[best] - min(fits.values()) >= 0.03, fits
        assert fits[best] >= 0.85
        if s.choices:
            assert s.choices == ["A", "B"]
        other = "B" if best == "A" else "A"
        # the telling difference: the worst side of the wrong box against the right one
        off = max(abs(p - q) for p, q in zip(boxes[other], boxes[best], strict=True))
        scale = BUDGET.scale((a.shape[1], a.shape[0]))
        needs = completed(s, [a])
        kinds.add(() if ann["easy"] else tuple(n.op for n in needs))
        zoom = needs[0]
        assert zoom.op == "zoom" and abs((zoom.detail_px or 0) - off) <= 2
        zb = zoom.params["box"]
        for b in [*boxes.values(), *ann["tags"].values(), extent]:
            assert coverage(zb, b) == 1.0  # the zoom holds the object, both boxes and tags
        if ann["easy"]:  # plainly off: seen at the budget, answered directly
            assert len(needs) == 1 and off * scale >= 2 * READING
            continue
        assert off * scale < READING  # a few pixels at the budget: not told apart
        assert off * zoom_scale(zb, zoom.params["factor"], BUDGET) >= READING
        (box,) = needs[1:]
        assert box.op == "box" and iou(box.params["box"], extent) >= 0.9
        assert area(extent) / area(zb) <= 0.5  # a box in the zoom still localises
        # after the zoom, at the budget: the boxes' sides are told apart by the reading size
        zoomed = Operation("zoom", zoom.params).apply(Image.fromarray(a.astype(np.uint8)))
        seen = np.asarray(downscale_to(zoomed, BUDGET.side)).astype(int)
        gain = zoom_scale(zb, zoom.params["factor"], BUDGET)
        grown = (tag[0] * gain, tag[1] * gain)
        there = {k: drawn_box(seen, rgb, grown) for k, rgb in ann["box_rgb"].items()}
        apart = max(abs(p - q) for p, q in zip(there["A"], there["B"], strict=True))
        assert apart >= READING, (apart, off)
        run_chain(needs, a)  # the chain runs: zoom, then the true extent boxed in the zoom
    assert kinds == {(), ("zoom", "box")}
    assert set(FAMILIES["object_localisation"].chains) == kinds
