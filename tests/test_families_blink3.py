"""The BLINK-style families ``spatial_relation`` and ``functional_correspondence``: each
answer read from the STORED pixels (every image encoded as the run stores it and decoded
back), not from the generator's variables, and each need checked against those pixels: it
acts on the image holding the evidence, holds it, and its drawing shows at the budget."""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np
from PIL import Image

from atlas_data.ops import Operation
from atlas_data.ops.image_io import downscale_to
from atlas_data.ops.spec import Need
from atlas_data.sources.synthetic import FAMILIES
from tests.family_pixels import BUDGET, completed, samples, stored_images


def drawn_at_budget(img: Image.Image, chain: list[Need]) -> np.ndarray:
    """Where the chain's drawings changed the image, as the trainee sees it (at the budget)."""
    out = img
    for n in chain:
        out = Operation(n.op, n.params).apply(out)
    before = np.asarray(downscale_to(img, BUDGET.side)).astype(int)
    after = np.asarray(downscale_to(out, BUDGET.side)).astype(int)
    return np.abs(after - before).sum(axis=2) > 90


def hue_mask(a: np.ndarray, rgb: list[int]) -> np.ndarray:
    """Pixels of one saturated object colour (table, wall, shadows and clutter are muted)."""
    hsv = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2HSV).astype(int)
    want = colorsys.rgb_to_hsv(*(v / 255 for v in rgb))[0] * 180
    dh = np.abs(hsv[..., 0] - want)
    dh = np.minimum(dh, 180 - dh)
    mask = (dh < 7) & (hsv[..., 1] > 140) & (hsv[..., 2] > 60)
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3))) > 0


def extent(mask: np.ndarray) -> list[float]:
    """The largest blob's box (x1, y1 exclusive)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    k = 1 + int(np.argmax(stats[1:, 4]))
    x, y, bw, bh = stats[k, :4]
    return [float(x), float(y), float(x + bw), float(y + bh)]


def mid(box: list[float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


# ---------------------------------------------------------------------- spatial_relation


def test_spatial_relation_answer_is_read_from_object_positions_in_the_pixels():
    seen = {"side": 0, "near": 0, "easy": 0}
    for s in samples("spatial_relation", 16):
        (img,) = stored_images(s)
        ann = s.annotations
        a = np.asarray(img).astype(int)
        k = BUDGET.scale(img.size)
        done = completed(s, [img])
        seen["easy"] += ann["easy"]
        if ann["mode"] == "side":
            seen["side"] += 1
            ea = extent(hue_mask(a, ann["a"]["rgb"]))
            eb = extent(hue_mask(a, ann["b"]["rgb"]))
            for got, want in ((ea, ann["a"]["extent"]), (eb, ann["b"]["extent"])):
                assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 4, (got, want)
            (xa, _), (xb, _) = mid(ea), mid(eb)
            a_is = xa < xb if ann["rel"] == "left" else xa > xb
            names = {ann["a"]["name"], ann["b"]["name"]}
            if s.answer in ("yes", "no"):
                assert s.answer == ("yes" if a_is else "no")
            else:
                assert s.answer == (ann["a"]["name"] if a_is else ann["b"]["name"])
                assert set(s.choices or []) == names
            if ann["easy"]:
                assert [n.op for n in done] == ["zoom"] and abs(
                    xa - xb
                ) * k >= 90  # plain at the budget
                continue
            # a subtle gap: a few pixels at the budget, between objects far apart in depth
            assert 5 <= abs(xa - xb) * k <= 16
            assert [n.op for n in done] == ["box", "aux_line"]
            box, line = done
            bx = box.params["box"]
            assert bx[0] <= ea[0] and bx[1] <= ea[1] and bx[2] >= ea[2] and bx[3] >= ea[3]
            assert bx[2] - bx[0] <= ea[2] - ea[0] + 20  # it frames the object, no more
            sx, sy = line.params["start"]
            ex, ey = line.params["end"]
            assert sx == ex and abs(sx - xb) <= 2.5  # the vertical through b's centre
            assert sy <= min(ea[1], eb[1]) and ey >= max(ea[3], eb[3])
            drawn = drawn_at_budget(img, done)
            # the line shows between the two objects, and the box's sides show round a
            gap_y = round(((min(ea[3], eb[3]) + max(ea[1], eb[1])) / 2) * k)
            assert drawn[gap_y, round(xb * k) - 3 : round(xb * k) + 4].any()
            assert drawn[round(mid(ea)[1] * k), round(bx[0] * k) - 2 : round(bx[0] * k) + 3].any()
        else:
            seen["near"] += 1
            ref = mid(extent(hue_mask(a, ann["ref"]["rgb"])))
            dists = {}
            for letter, c in ann["candidates"].items():
                e = extent(hue_mask(a, c["rgb"]))
                # the tag right above the blob is white with dark ink: the blob's letter
                tag = ann["tags"][letter]
                assert abs(mid(tag)[0] - mid(e)[0]) <= 4 and 0 <= e[1] - tag[3] <= 16
                patch = a[tag[1] + 3 : tag[3] - 3, tag[0] + 3 : tag[2] - 3].mean(axis=2)
                assert (patch > 225).mean() > 0.5 and (patch < 90).any()
                dists[letter] = math.dist(ref, mid(e))
            order = sorted(dists, key=lambda key: dists[key])
            assert order[0] == s.answer
            ratio = dists[order[1]] / dists[order[0]]
            if ann["easy"]:
                assert [n.op for n in done] == ["zoom"] and ratio >= 1.5
                continue
            assert 1.05 <= ratio <= 1.22
            assert [n.op for n in done] == ["box", "arrow"]
            box, arrow = done
            er = extent(hue_mask(a, ann["ref"]["rgb"]))
            bx = box.params["box"]
            assert bx[0] <= er[0] and bx[1] <= er[1] and bx[2] >= er[2] and bx[3] >= er[3]
            assert math.dist(arrow.params["start"], ref) <= 4
            ends = {key: math.dist(arrow.params["end"], mid(extent(hue_mask(a, c["rgb"]))))
                    for key, c in ann["candidates"].items()}  # fmt: skip
            assert min(ends, key=lambda key: ends[key]) == s.answer
            drawn = drawn_at_budget(img, done)
            tip = arrow.params["end"]
            y0, x0 = round(tip[1] * k), round(tip[0] * k)
            assert drawn[y0 - 6 : y0 + 7, x0 - 6 : x0 + 7].any()
    assert seen["side"] and seen["near"] and seen["easy"]


# ------------------------------------------------------------- functional_correspondence


def rings(a: np.ndarray) -> list[tuple[float, float]]:
    """Centres of the yellow rings (the REF and candidate marks)."""
    hsv = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2HSV).astype(int)
    yellow = (np.abs(hsv[..., 0] - 25) <= 6) & (hsv[..., 1] > 130) & (hsv[..., 2] > 215)
    closed = cv2.morphologyEx(yellow.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((9, 9)))
    n, _, stats, cents = cv2.connectedComponentsWithStats(closed, connectivity=8)
    return [(float(cents[i][0]), float(cents[i][1])) for i in range(1, n) if stats[i, 4] >= 60]


def part_under(a: np.ndarray, p: tuple[float, float], parts: list[dict]) -> dict:
    """The part whose colour the ring's inside shows (nearest colour, under the lighting)."""
    x, y = round(p[0]), round(p[1])
    inside = a[y - 4 : y + 5, x - 4 : x + 5].reshape(-1, 3).mean(axis=0)
    scores = []
    for part in parts:
        rgb = np.asarray(part["rgb"], float)
        best = min(np.abs(inside - rgb * t).sum() for t in np.linspace(0.8, 1.1, 13))
        scores.append(best)
    assert sorted(scores)[0] < 60, (inside, scores)
    return parts[int(np.argmin(scores))]


def test_functional_correspondence_answer_is_the_candidate_on_a_part_of_refs_function():
    seen = {"box": 0, "arrow": 0, "easy": 0}
    for s in samples("functional_correspondence", 14):
        images = stored_images(s)
        ann = s.annotations
        a1, a2 = (np.asarray(im).astype(int) for im in images)
        (ref,) = rings(a1)
        assert math.dist(ref, ann["ref"]) <= 2
        fn = part_under(a1, ref, ann["parts"]["1"])["function"]
        assert fn == ann["function"]
        found = rings(a2)
        assert len(found) == len(ann["points"]) == len(s.choices or []) >= 3
        letters = {}
        for p in found:  # each ring is the candidate nearest it (its letter tag beside it)
            letter = min(ann["points"], key=lambda key: math.dist(p, ann["points"][key]))
            assert math.dist(p, ann["points"][letter]) <= 2
            tag = ann["tags"][letter]
            assert math.dist(mid(tag), p) <= ann["ring_px"] + 45
            letters[letter] = part_under(a2, p, ann["parts"]["2"])["function"]
        assert [key for key, f in letters.items() if f == fn] == [s.answer]
        assert ann["x"] != ann["y"]
        done = completed(s, images)
        if ann["easy"]:
            seen["easy"] += 1
            assert [(n.op, n.image) for n in done] == [("zoom", 1)]
            assert (
                done[0].detail_px
                and done[0].detail_px * BUDGET.scale(images[1].size) >= 3 * BUDGET.reading_px
            )
            continue
        assert [(n.op, n.image) for n in done][0] == ("box", 0)
        bx = done[0].params["box"]
        assert bx[0] <= ref[0] <= bx[2] and bx[1] <= ref[1] <= bx[3]
        # the box frames the REF's part: the ring's part colour fills much of it
        drawn = drawn_at_budget(images[0], done[:1])
        k = BUDGET.scale(images[0].size)
        assert drawn[
            round((bx[1] + bx[3]) / 2 * k), round(bx[0] * k) - 2 : round(bx[0] * k) + 3
        ].any()
        second = done[1]
        assert second.image == 1
        k2 = BUDGET.scale(images[1].size)
        drawn2 = drawn_at_budget(images[1], [second])
        p = next(q for q in found if math.dist(q, ann["points"][s.answer]) <= 2)
        if second.op == "box":
            seen["box"] += 1
            b = second.params["box"]
            inside = [q for q in found if b[0] <= q[0] <= b[2] and b[1] <= q[1] <= b[3]]
            assert inside == [p]  # the box holds the answer's ring and no other
            assert drawn2[round(b[1] * k2), round(b[0] * k2) + 2 : round(b[2] * k2) - 2].any()
        else:
            seen["arrow"] += 1
            assert second.op == "arrow"
            end = second.params["end"]
            near = min(found, key=lambda q: math.dist(q, end))
            assert near == p and math.dist(end, p) <= ann["ring_px"] + 12
            y0, x0 = round(end[1] * k2), round(end[0] * k2)
            assert drawn2[y0 - 5 : y0 + 6, x0 - 5 : x0 + 6].any()
    assert seen["box"] and seen["arrow"] and seen["easy"]


def test_blink3_families_are_registered():
    assert FAMILIES["spatial_relation"].images == 1
    assert FAMILIES["functional_correspondence"].images == 2
    for name in ("spatial_relation", "functional_correspondence"):
        assert len(FAMILIES[name].phrasings) >= 5 and () in FAMILIES[name].chains
