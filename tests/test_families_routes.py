"""The route families (``maze``, ``route_map``, ``tree_graph``): each answer read from the
STORED image (the camera's own JPEG, decoded) and each need checked against the scene.

The geometry a reader is told (the maze's grid, where stations and nodes are drawn) comes
from the annotations; what connects to what is read from the pixels: walls, line colours
along each stretch, edges and their arrowheads."""

from __future__ import annotations

import math
import re
from collections import deque

import cv2
import numpy as np
from PIL import Image

from atlas_data.ops import Operation
from atlas_data.ops.geometry import coverage
from atlas_data.ops.image_io import downscale_to
from atlas_data.ops.zoom import zoom_scale
from atlas_data.sources.base import SourceSample
from tests.family_pixels import BUDGET, completed, run_chain, stored_samples


def rgb(s: SourceSample) -> np.ndarray:
    assert isinstance(s.image, Image.Image)
    return np.asarray(s.image).astype(int)


def at_budget(img: Image.Image) -> np.ndarray:
    return np.asarray(downscale_to(img, BUDGET.side, Image.Resampling.BILINEAR)).astype(int)


def is_red(a: np.ndarray) -> np.ndarray:
    return (a[..., 0] > 170) & (a[..., 1] < 90) & (a[..., 2] < 90)


# -- maze -----------------------------------------------------------------------------------

STEP = {"N": (0, -1), "S": (0, 1), "W": (-1, 0), "E": (1, 0)}


def maze_walls(s: SourceSample) -> tuple[dict, set, tuple]:
    """The maze's passages and rim openings, read from the darkness of each cell side."""
    g = rgb(s).mean(axis=2)
    grid = s.annotations["grid"]
    (ox, oy), cs, cols, rows = grid["origin"], grid["cell"], grid["cols"], grid["rows"]

    def dark(x: int, y: int, side: str) -> bool:
        """Whether the side of cell (x, y) is a wall: its middle half is inked."""
        if side in "NS":
            yy = oy + (y + (side == "S")) * cs
            xx = np.arange(ox + x * cs + cs // 4, ox + x * cs + 3 * cs // 4)
            vals = g[yy - 1 : yy + 2, xx].min(axis=0)
        else:
            xx = ox + (x + (side == "E")) * cs
            ys = np.arange(oy + y * cs + cs // 4, oy + y * cs + 3 * cs // 4)
            vals = g[ys, xx - 1 : xx + 2].min(axis=1)
        return float(np.mean(vals < 110)) > 0.6

    open_: dict = {}
    rim = set()
    for x in range(cols):
        for y in range(rows):
            for side, (dx, dy) in STEP.items():
                n = (x + dx, y + dy)
                inside = 0 <= n[0] < cols and 0 <= n[1] < rows
                if dark(x, y, side):
                    continue
                if inside:
                    open_.setdefault((x, y), set()).add(n)
                else:
                    rim.add((x, y, side))
    return open_, rim, (ox, oy, cs, cols, rows)


def test_maze_one_exit_is_reached_from_the_start_and_the_arrows_walk_the_corridors():
    easy = hard = 0
    for s in stored_samples("maze", 12, seed=8):
        open_, rim, (ox, oy, cs, cols, rows) = maze_walls(s)
        a = rgb(s)
        green = (a[..., 1] > a[..., 0] + 50) & (a[..., 1] > a[..., 2] + 40)
        ys, xs = np.nonzero(green)
        start = (int((xs.mean() - ox) // cs), int((ys.mean() - oy) // cs))
        seen, todo = {start}, deque([start])
        while todo:
            c = todo.popleft()
            for n in open_.get(c, ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        exits = {(e[0], e[1], e[2]): k for k, e in s.annotations["exits"].items()}
        assert rim == set(exits)  # every opening in the rim is a lettered exit
        g = a.mean(axis=2)
        for letter, (lx, ly) in s.annotations["letters"].items():
            assert (g[ly - 12 : ly + 12, lx - 12 : lx + 12] < 110).sum() > 20, letter  # inked
        reached = [exits[e] for e in rim if (e[0], e[1]) in seen]
        assert reached == [s.answer], (reached, s.answer)
        if s.choices:
            assert s.answer in s.choices

        needs = completed(s)
        if s.annotations["easy"]:
            easy += 1
            (zoom,) = needs
            assert zoom.op == "zoom" and (zoom.detail_px or 0) * BUDGET.scale((1600, 1200)) >= 20
            continue
        hard += 1
        assert 3 <= len(needs) <= 5 and {n.op for n in needs} == {"arrow"}
        assert math.dist(needs[0].params["start"], (xs.mean(), ys.mean())) < cs / 3
        cells: list[tuple[int, int]] = []
        for k, n in enumerate(needs):
            (x0, y0), (x1, y1) = n.params["start"], n.params["end"]
            if k:
                assert needs[k - 1].params["end"] == n.params["start"]
            steps = max(1, round(math.dist((x0, y0), (x1, y1)) / (cs / 4)))
            for t in range(steps + 1):
                px_ = x0 + (x1 - x0) * t / steps
                py_ = y0 + (y1 - y0) * t / steps
                c = (int((px_ - ox) // cs), int((py_ - oy) // cs))
                if 0 <= c[0] < cols and 0 <= c[1] < rows and (not cells or cells[-1] != c):
                    cells.append(c)
        assert cells[0] == start
        for p, q in zip(cells, cells[1:], strict=False):
            assert q in open_.get(p, ()), (p, q)  # the arrows never cross a wall
        (out,) = [e for e in rim if (e[0], e[1]) == cells[-1]]
        assert exits[out] == s.answer
        # the drawn route is seen at the budget: red along every arrow's middle
        seen_img = at_budget(run_chain(needs, s.image))
        scale = BUDGET.scale((1600, 1200))
        assert cs * scale >= 30  # corridors wide at the budget
        for n in needs:
            mx = (n.params["start"][0] + n.params["end"][0]) / 2 * scale
            my = (n.params["start"][1] + n.params["end"][1]) / 2 * scale
            patch = seen_img[round(my) - 3 : round(my) + 4, round(mx) - 3 : round(mx) + 4]
            assert is_red(patch).any()
    assert easy and hard


# -- route_map ------------------------------------------------------------------------------


def off_line(p: np.ndarray, q: np.ndarray, o: np.ndarray) -> float:
    """How far ``o`` is from the line through ``p`` and ``q``."""
    d, e = q - p, o - p
    return abs(float(d[0] * e[1] - d[1] * e[0])) / float(np.hypot(*d))


def map_graph(s: SourceSample) -> dict[frozenset, str]:
    """Which stations a stretch of which line joins, read from the colour of the pixels
    between every two stations (stretches through a third station are not direct)."""
    a = rgb(s)
    st = s.annotations["stations"]
    r = s.annotations["station_r"]
    labels = list(s.annotations["labels"].values())
    colours = {k: np.array(v) for k, v in s.annotations["line_rgb"].items()}
    names = list(st)
    out: dict[frozenset, str] = {}
    for i, p in enumerate(names):
        for q in names[i + 1 :]:
            P, Q = np.array(st[p], float), np.array(st[q], float)
            length = float(np.linalg.norm(Q - P))
            through = [
                o for o in names if o not in (p, q)
                and off_line(P, Q, np.array(st[o], float)) < 2 * r
                and 0 < np.dot(np.array(st[o]) - P, Q - P) < length**2
            ]  # fmt: skip
            if through or length > 400:
                continue
            votes: dict[str, int] = {}
            n = 0
            for t in np.linspace((r + 6) / length, 1 - (r + 6) / length, 30):
                x, y = P + t * (Q - P)
                if any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in labels):
                    continue
                n += 1
                pix = a[round(y), round(x)]
                name, best = min(
                    ((k, float(np.linalg.norm(pix - c))) for k, c in colours.items()),
                    key=lambda kv: kv[1],
                )
                if best < 70:
                    votes[name] = votes.get(name, 0) + 1
            if n >= 8 and votes:
                name, v = max(votes.items(), key=lambda kv: kv[1])
                if v >= 0.7 * n:
                    out[frozenset((p, q))] = name
    return out


def label_glyph(s: SourceSample, name: str) -> int:
    """Rows of dark ink under a station label's first letter (a capital): the label's glyph
    height in source pixels."""
    x0, y0, x1, y1 = s.annotations["labels"][name]
    x1 = x0 + 2 + round(0.6 * s.annotations["glyph_px"])
    g = rgb(s)[y0:y1, x0:x1].mean(axis=2)
    rows = np.flatnonzero((g < 100).any(axis=1))
    return int(rows[-1] - rows[0] + 1)


def test_route_map_answers_follow_the_coloured_stretches_and_the_zoom_makes_labels_legible():
    from atlas_data.explore.text import BILINEAR, find_answer, shared_engine

    engine = shared_engine()
    kinds = {"stops": 0, "links": 0, "easy": 0}
    read = 0
    for s in stored_samples("route_map", 12, seed=8):
        graph = map_graph(s)
        st = s.annotations["stations"]
        named = [w for w in re.findall(r"[A-Z][a-z]+", s.question) if w in st]
        colour = [c for c in s.annotations["line_rgb"] if re.search(rf"\b{c}\b", s.question)]
        if s.annotations["kind"] == "stops":
            (line,) = colour
            m = re.search(r"(towards|direction of|heading to) ([A-Z][a-z]+)", s.question)
            assert m
            end = m.group(2)
            (start,) = [w for w in named if w != end]
            n = re.search(r"(\d) stops?\b", s.question)
            steps = int(n.group(1)) if n else ["first", "second", "third"].index(
                re.search(r"(first|second|third) stop", s.question).group(1)) + 1  # type: ignore[union-attr]  # fmt: skip
            adj: dict[str, set[str]] = {}
            for pair, c in graph.items():
                if c == line:
                    p, q = tuple(pair)
                    adj.setdefault(p, set()).add(q)
                    adj.setdefault(q, set()).add(p)
            assert all(len(v) <= 2 for v in adj.values())  # a line is a path
            walks = []
            for first in adj[start]:
                walk, prev = [start, first], start
                while len(adj[walk[-1]]) == 2:
                    nxt = next(iter(adj[walk[-1]] - {prev}))
                    prev = walk[-1]
                    walk.append(nxt)
                walks.append(walk)
            (walk,) = [w for w in walks if w[-1] == end or end == start]
            assert walk[steps] == s.answer
            stretch = walk[: steps + 1]
        else:
            p, q = named
            comps = []
            for line in s.annotations["line_rgb"]:
                seen, todo = {p}, [p]
                while todo:
                    c = todo.pop()
                    for pair, col in graph.items():
                        if col == line and c in pair:
                            (o,) = pair - {c}
                            if o not in seen:
                                seen.add(o)
                                todo.append(o)
                if q in seen:
                    comps.append(line)
            assert comps == [s.answer]
            stretch = [p, q]
        if s.choices:
            assert s.answer in s.choices
        needs = completed(s)
        zoom = needs[0]
        assert zoom.op == "zoom"
        glyph = max(label_glyph(s, name) for name in stretch)
        assert abs(glyph - s.annotations["glyph_px"]) <= 3
        for name in stretch:
            assert coverage(zoom.params["box"], s.annotations["labels"][name]) >= 0.95
        before = glyph * BUDGET.scale((1600, 1200))
        if s.annotations["easy"]:
            kinds["easy"] += 1
            assert len(needs) == 1 and before >= BUDGET.reading_px
            continue
        kinds[s.annotations["kind"]] += 1
        after = glyph * zoom_scale(zoom.params["box"], zoom.params["factor"], BUDGET)
        assert before < BUDGET.reading_px <= after
        if s.annotations["kind"] == "stops":
            arrows = needs[1:]
            assert [a.op for a in arrows] == ["arrow"] * len(arrows)
            assert [tuple(a.params["start"]) for a in arrows] == [
                tuple(st[x]) for x in stretch[:-1]
            ]
            assert [tuple(a.params["end"]) for a in arrows] == [tuple(st[x]) for x in stretch[1:]]
            if read < 2:  # OCR reads the answer in the zoom's result at the budget
                assert isinstance(s.image, Image.Image)
                zoomed = Operation("zoom", zoom.params).apply(s.image)
                view = downscale_to(zoomed, BUDGET.side, BILINEAR)
                assert find_answer(engine.read(view), s.answer), s.answer
                read += 1
        else:
            boxes = needs[1:]
            assert [b.op for b in boxes] == ["box", "box"]
            for b, name in zip(boxes, stretch, strict=True):
                assert coverage(b.params["box"], s.annotations["labels"][name]) >= 0.95
        run_chain(needs, s.image)
    assert all(kinds.values()), kinds


# -- tree_graph -----------------------------------------------------------------------------


def tree_edges(s: SourceSample) -> tuple[dict[str, tuple[float, float]], list[tuple[str, str]]]:
    """Node centres (from the node fill's blobs) and the edges, parent first (the end with
    the arrowhead is the child), read from the ink between every two nodes."""
    a = rgb(s)
    fill = np.array(s.annotations["fill"])
    mask = (np.abs(a - fill).max(axis=2) < 40).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask)
    r = s.annotations["radius"]
    blobs = [cents[k] for k in range(1, n) if stats[k, cv2.CC_STAT_AREA] > r * r]
    nodes: dict[str, tuple[float, float]] = {}
    for name, p in s.annotations["nodes"].items():
        (c,) = [b for b in blobs if math.dist(b, p) < 5]
        nodes[name] = (float(c[0]), float(c[1]))
    assert len(blobs) == len(nodes)
    g = a.mean(axis=2)
    edges = []
    names = list(nodes)
    for i, p in enumerate(names):
        for q in names[i + 1 :]:
            P, Q = np.array(nodes[p]), np.array(nodes[q])
            length = float(np.linalg.norm(Q - P))
            if any(
                o not in (p, q)
                and off_line(P, Q, np.array(nodes[o])) < r
                and 0 < np.dot(np.array(nodes[o]) - P, Q - P) < length**2
                for o in names
            ):
                continue  # through a third node: two edges meeting there, not one
            ts = np.linspace((r + 30) / length, 1 - (r + 30) / length, 40)
            if ts[0] >= ts[-1]:
                continue
            pts = [P + t * (Q - P) for t in ts]
            ink = np.mean([g[round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2].min() < 120
                           for x, y in pts])  # fmt: skip
            if ink < 0.95:
                continue
            unit_ = (Q - P) / length
            normal = np.array([-unit_[1], unit_[0]])

            def width(end: np.ndarray, inward: np.ndarray, normal: np.ndarray = normal) -> int:
                """Dark pixels across the edge just off a node's rim (an arrowhead is wide)."""
                return sum(
                    g[round(y), round(x)] < 120
                    for d in range(4, 15, 2)
                    for k in range(-7, 8)
                    for x, y in [end + inward * (r + d) + k * normal]
                )

            at_p = width(P, unit_)
            at_q = width(Q, -unit_)
            edges.append((p, q) if at_q > at_p else (q, p))
    return nodes, edges


def test_tree_graph_parent_and_children_come_from_the_drawn_edges():
    kinds = {"parent": 0, "children": 0, "easy": 0}
    for s in stored_samples("tree_graph", 12, seed=8):
        nodes, edges = tree_edges(s)
        assert len(edges) == len(nodes) - 1
        assert sorted(edges) == sorted(tuple(e) for e in s.annotations["edges"])
        x = s.annotations["asked"]
        needs = completed(s)
        if s.choices:
            assert s.answer in s.choices
        if s.annotations["kind"] == "parent":
            (parent,) = [p for p, c in edges if c == x]
            assert parent == s.answer
            if s.annotations["easy"]:
                kinds["easy"] += 1
                (zoom,) = needs
                assert zoom.op == "zoom"
                assert s.annotations["crossings"] == 0
                assert (zoom.detail_px or 0) * BUDGET.scale((1600, 1200)) >= 20
                continue
            kinds["parent"] += 1
            (arrow,) = needs
            assert math.dist(arrow.params["start"], nodes[x]) < 3
            assert math.dist(arrow.params["end"], nodes[parent]) < 3
            assert s.annotations["crossings"] >= len(nodes) // 2
        else:
            kinds["children"] += 1
            children = [c for p, c in edges if p == x]
            assert str(len(children)) == s.answer
            (mark,) = needs
            got = mark.params["points"]
            assert len(got) == len(children)
            assert all(min(math.dist(g, nodes[c]) for g in got) < 3 for c in children)
        # the drawing is seen at the budget: red over the first point it marks or starts at
        seen = at_budget(run_chain(needs, s.image))
        scale = BUDGET.scale((1600, 1200))
        p = needs[0].params.get("start") or needs[0].params["points"][0]
        patch = seen[round(p[1] * scale) - 4 : round(p[1] * scale) + 5,
                     round(p[0] * scale) - 4 : round(p[0] * scale) + 5]  # fmt: skip
        assert is_red(patch).sum() >= 4
    assert all(kinds.values()), kinds
