"""The synthetic source: reproducible, and every answer and need checked against the pixels."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from functools import cache

import cv2
import numpy as np
import pytest
from PIL import Image

from atlas_data.config import Budget, RunConfig
from atlas_data.explore.search import complete_needs
from atlas_data.ops import Operation, need_in
from atlas_data.ops.frame import Frame
from atlas_data.ops.geometry import ray_hits_box, segment_distance
from atlas_data.ops.spec import Need
from atlas_data.sources.base import SourceSample, content_id, images_digest, pixels_digest
from atlas_data.sources.scenes.kit import CODE_ALPHABET
from atlas_data.sources.synthetic import FAMILIES, SyntheticSource

SIZE = (1600, 1200)


def chain_of(s: SourceSample) -> tuple[str, ...]:
    """The operations a sample needs, or () for an easy variant the judges find direct."""
    if s.annotations.get("easy"):
        return ()
    return tuple(n.op for n in s.needs)


@cache
def family_samples(family: str, n: int = 16, seed: int = 7) -> tuple[SourceSample, ...]:
    return tuple(SyntheticSource(n, seed=seed, families=[family]))


def pixels(s: SourceSample) -> np.ndarray:
    assert not isinstance(s.image, bytes)
    return np.asarray(s.image)


def completed(s: SourceSample, budget: Budget | None = None) -> list[Need]:
    """The sample's needs with their parameters completed at ``budget`` (default: the run's
    default), as explore does."""
    budget = budget or RunConfig().budget()
    sizes = [img.size for img in s.images]  # type: ignore[union-attr]
    return complete_needs(s, sizes, budget).needs


def the_need(s: SourceSample, op: str | None = None) -> dict:
    """The sample's one need (of operation ``op``, when its scene needs a chain), completed
    at the default budget."""
    needs = [n for n in completed(s) if op is None or n.op == op]
    assert len(needs) == 1
    return dataclasses.asdict(needs[0])


# --------------------------------------------------------------------------- the stream


def test_same_seed_same_samples() -> None:
    a, b = list(SyntheticSource(10, seed=3)), list(SyntheticSource(10, seed=3))
    assert [s.id for s in a] == [s.id for s in b]
    assert [s.question for s in a] == [s.question for s in b]
    assert [s.answer for s in a] == [s.answer for s in b]
    assert all(np.array_equal(pixels(x), pixels(y)) for x, y in zip(a, b, strict=True))
    assert [json.dumps(s.annotations) for s in a] == [json.dumps(s.annotations) for s in b]
    assert [(s.needs, s.objects) for s in a] == [(s.needs, s.objects) for s in b]


def test_different_seed_different_samples() -> None:
    a, b = list(SyntheticSource(10, seed=3)), list(SyntheticSource(10, seed=4))
    assert all(x.id != y.id for x, y in zip(a, b, strict=True))
    assert not any(np.array_equal(pixels(x), pixels(y)) for x, y in zip(a, b, strict=True))


def test_sample_is_the_ith_item_and_families_rotate() -> None:
    src = SyntheticSource(12, seed=5)
    items = list(src)
    assert len(items) == len(src) == 12
    assert [s.task for s in items] == [list(FAMILIES)[i % len(FAMILIES)] for i in range(12)]
    for i in (0, 4, 7, 11):
        alone = SyntheticSource(12, seed=5).sample(i)
        assert alone.id == items[i].id
        assert np.array_equal(pixels(alone), pixels(items[i]))
    with pytest.raises(IndexError):
        src.sample(12)

    two = list(SyntheticSource(5, seed=5, families=["geometry", "counting"]))
    assert [s.task for s in two] == ["geometry", "counting", "geometry", "counting", "geometry"]


def test_describe_and_validation() -> None:
    src = SyntheticSource(3, seed=9, families=["odd_one"], size=(800, 600))
    assert src.describe() == {
        "name": "synthetic",
        "n": 3,
        "seed": 9,
        "families": ["odd_one"],
        "size": [800, 600],
    }
    json.dumps(src.describe())
    assert all(s.image.size == (800, 600) for s in src)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown families"):
        SyntheticSource(3, families=["nope"])
    with pytest.raises(ValueError):
        SyntheticSource(3, families=[])
    with pytest.raises(ValueError):
        SyntheticSource(-1)
    assert list(SyntheticSource(0)) == []


def test_ids_unique_over_200() -> None:
    ids = [s.id for s in SyntheticSource(200, seed=11)]
    assert len(set(ids)) == 200


@pytest.mark.parametrize("family", list(FAMILIES))
def test_contract_and_need_applies(family: str) -> None:
    for s in family_samples(family):
        assert s.source == "synthetic" and s.task == family
        images = [img for img in s.images if isinstance(img, Image.Image)]
        assert len(images) == FAMILIES[family].images  # every sample shows the declared number
        assert all(img.mode == "RGB" and img.size == SIZE for img in images)
        digest = images_digest([pixels_digest(img) for img in images])
        assert s.id == content_id(digest, s.question)
        assert 0 < len(s.answer) <= 20
        json.dumps(s.annotations)
        assert chain_of(s) in FAMILIES[family].chains
        # each step runs on the previous result of the image it names, in that image's frame
        canvases, frames = list(images), [Frame(img.size) for img in images]
        for need in completed(s):
            assert need.reveals
            k = need.image
            op = Operation(need.op, need_in(frames[k], need).params)
            out = op.apply(canvases[k])
            canvases[k], frames[k] = out, op.reframe(frames[k], out.size)
        objects = s.objects
        assert len(objects) >= 3
        for o in objects:
            x0, y0, x1, y1 = o["box"]
            assert o["label"] and 0 <= x0 < x1 <= SIZE[0] and 0 <= y0 < y1 <= SIZE[1]
            Operation("box", {"box": o["box"]}).apply(images[o.get("image", 0)])


# --------------------------------------------------------------------------- per family


def test_small_text_is_small_unique_and_zoomable() -> None:
    for s in family_samples("small_text"):
        need, target = the_need(s), s.annotations["target"]
        th, factor = need["detail_px"], need["params"]["factor"]
        assert 8 <= th <= 12 and th * factor >= 32
        assert re.fullmatch(f"[{CODE_ALPHABET}]{{3,4}}", s.answer)
        assert f'"{s.answer}"' in need["reveals"]
        assert f"{target['colour']} tag" in s.question or f"{target['colour']} label" in s.question
        assert not any(o["label"] == f"{target['colour']} tag" for o in s.objects)

        tx0, ty0, tx1, ty1 = target["box"]
        zx0, zy0, zx1, zy1 = need["params"]["box"]
        assert 0 <= zx0 <= tx0 < tx1 <= zx1 <= SIZE[0] and 0 <= zy0 <= ty0 < ty1 <= zy1 <= SIZE[1]
        assert max(tx0 - zx0, ty0 - zy0, zx1 - tx1, zy1 - ty1) <= 8  # tight around the tag

        # The tag's colour occurs nowhere else: it is the one tag of that colour.
        px = pixels(s)
        is_tag = np.all(px == np.array(target["rgb"], dtype=np.uint8), axis=2)
        inside = is_tag[ty0:ty1, tx0:tx1].sum()
        assert inside > 0.4 * (tx1 - tx0) * (ty1 - ty0)
        assert is_tag.sum() == inside

        # The printed glyphs really are that small: the dark ink spans at most ~12 rows.
        tag = px[ty0 + 1 : ty1 - 1, tx0 + 1 : tx1 - 1].astype(int)
        ink_rows = np.flatnonzero((tag.max(axis=2) < 110).any(axis=1))
        assert ink_rows.size and 6 <= ink_rows[-1] - ink_rows[0] + 1 <= 13


def _classify(w: int, h: int, area: int) -> str:
    fill = area / (w * h)
    if fill > 0.9:
        return "square"
    if fill > 0.65:
        return "circle"
    return "triangle" if w / h > 1.07 else "diamond"


def test_counting_marks_every_target_and_nothing_else() -> None:
    trays = 0
    for s in family_samples("counting"):
        need, target = the_need(s, "point_mark"), s.annotations["target"]
        points = need["params"]["points"]
        assert need["params"]["numbered"] is True
        count = int(s.answer)
        assert 3 <= count <= 9 and len(points) == count
        plural = f"{target['colour']} {target['kind']}s"
        tray = s.annotations["tray"]
        if tray is None:
            assert plural in s.question and "tray" not in s.question
        else:  # the shapes are crowded on a tray: zoom there first
            trays += 1
            assert plural in s.question and s.question.rstrip("?.").endswith("on the tray")
            zoom = the_need(s, "zoom")
            assert zoom["evidence"] == tray
            box = zoom["params"]["box"]  # the tray with a margin
            assert box[0] <= tray[0] < tray[2] <= box[2] and box[1] <= tray[1] < tray[3] <= box[3]
            assert all(tray[0] < x < tray[2] and tray[1] < y < tray[3] for x, y in points)
            # too small to tell apart at the 1024 px budget, large enough after the zoom
            assert zoom["detail_px"] * 1024 / SIZE[0] < 10 <= zoom["detail_px"] * 1.6

        px = pixels(s)
        rgb = np.array(target["rgb"], dtype=np.uint8)
        for x, y in points:
            assert (px[y, x] == rgb).all()

        # Count independently: blobs of the target colour, classified by shape.
        mask = np.all(px == rgb, axis=2).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        kinds = {
            i: _classify(
                stats[i, cv2.CC_STAT_WIDTH],
                stats[i, cv2.CC_STAT_HEIGHT],
                stats[i, cv2.CC_STAT_AREA],
            )
            for i in range(1, n)
        }
        wanted = {i for i, k in kinds.items() if k == target["kind"]}
        assert len(wanted) == count
        assert {labels[y, x] for x, y in points} == wanted
    assert 0 < trays < len(family_samples("counting"))


def test_odd_one_box_holds_the_only_different_cell() -> None:
    modes = set()
    for s in family_samples("odd_one"):
        m = re.fullmatch(r"row (\d+), column (\d+)", s.answer)
        assert m
        row, col = int(m[1]), int(m[2])
        grid = s.annotations["grid"]
        assert 1 <= row <= grid["rows"] and 1 <= col <= grid["cols"]
        cells = grid["cells"]
        odd_box = cells[(row - 1) * grid["cols"] + (col - 1)]
        need = the_need(s, "box")
        assert need["params"]["box"] == odd_box
        # then an arrow from the boxed shape straight up, past the grid's top, to its column
        arrow = the_need(s, "arrow")["params"]
        (sx, sy), (ex, ey) = arrow["start"], arrow["end"]
        column = cells[col - 1]  # the first row's cell in that column
        assert sx == ex == (column[0] + column[2]) // 2 and sy == odd_box[1]
        assert ey < cells[0][1]
        assert f"column {col}" in the_need(s, "arrow")["reveals"]

        px = pixels(s)
        crops = [px[y0:y1, x0:x1] for x0, y0, x1, y1 in cells]
        odd = crops[cells.index(odd_box)]
        normal = [c for b, c in zip(cells, crops, strict=True) if b != odd_box]
        assert all(np.array_equal(c, normal[0]) for c in normal)
        assert not np.array_equal(odd, normal[0])
        modes.add(s.annotations["difference"])
    assert len(modes) >= 2


def test_geometry_answer_matches_the_segment_and_circle() -> None:
    answers = []
    for s in family_samples("geometry", n=60):
        params = the_need(s, "aux_line")["params"]
        a, b = params["start"], params["end"]
        circle = s.annotations["circle"]
        c, r = circle["center"], circle["radius"]
        label = the_need(s, "text_label")["params"]  # then what the line showed, on the circle
        assert label == {"position": c, "text": "crossed" if s.answer == "yes" else "missed"}
        dist = segment_distance(c, a, b)
        assert s.answer == ("yes" if dist < r else "no")
        assert abs(dist - r) > 0.15 * r  # never near-tangent
        assert math.dist(a, c) > r and math.dist(b, c) > r
        assert math.dist(a, b) > 2
        assert s.annotations["points"]["A"] == a and s.annotations["points"]["B"] == b

        px = pixels(s)
        assert tuple(px[c[1], c[0]]) not in {(250, 250, 247), (226, 231, 239)}  # shaded
        for x, y in (a, b):
            assert tuple(px[y, x]) == (20, 20, 20)  # the labelled dots are really there
        answers.append(s.answer)
    assert 0.3 <= answers.count("yes") / len(answers) <= 0.7


def test_direction_pointer_aims_at_the_answer_box_only() -> None:
    for s in family_samples("direction"):
        params = the_need(s)["params"]
        (sx, sy), (ex, ey) = params["start"], params["end"]
        boxes = s.annotations["boxes"]
        assert 4 <= len(boxes) <= 6 and s.answer in boxes
        tx0, ty0, tx1, ty1 = boxes[s.answer]
        assert tx0 <= ex <= tx1 and ty0 <= ey <= ty1
        length = math.hypot(ex - sx, ey - sy)
        ux, uy = (ex - sx) / length, (ey - sy) / length
        assert ray_hits_box((sx, sy), (ux, uy), boxes[s.answer])
        aim = math.atan2(uy, ux)
        for letter, box in boxes.items():
            if letter == s.answer:
                continue
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            off = abs((math.atan2(cy - sy, cx - sx) - aim + math.pi) % (2 * math.pi) - math.pi)
            assert math.degrees(off) > 20
            assert not ray_hits_box((sx, sy), (ux, uy), box)

        # The drawn glyph points the same way: ink just behind the tip, none just ahead.
        px = pixels(s)
        glyph = (35, 35, 45)
        for back in (6, 20, 35):
            assert tuple(px[round(sy - back * uy), round(sx - back * ux)]) == glyph
        assert tuple(px[round(sy + 8 * uy), round(sx + 8 * ux)]) != glyph


def test_families_from_a_command_line_string():
    src = SyntheticSource(6, seed=1, families="small_text, geometry")
    assert src.families == ["small_text", "geometry"]
    assert {s.task for s in src} == {"small_text", "geometry"}
    with pytest.raises(ValueError, match="unknown families"):
        SyntheticSource(2, families="small_txt")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_asks_in_at_least_five_phrasings(family: str) -> None:
    """Each question is one of the family's declared phrasings, and five or more occur."""
    phrasings = FAMILIES[family].phrasings
    assert len(phrasings) >= 5
    patterns = [re.compile(re.sub(r"\\{\w+\\}", ".*", re.escape(p)) + "$") for p in phrasings]
    used = set()
    for s in SyntheticSource(40, seed=3, families=[family]):
        hits = [k for k, p in enumerate(patterns) if p.match(s.question)]
        assert hits, s.question
        used.add(hits[0])
    assert len(used) >= 5


def test_families_spread_over_every_token_and_need_chains_and_easy_variants() -> None:
    chains = [chain for f in FAMILIES.values() for chain in f.chains]
    assert len(FAMILIES) >= 16
    assert sum(len(c) >= 2 for c in chains) >= 8 and () in chains
    used = {op for c in chains for op in c}
    from atlas_data.ops import specs

    assert {specs()[op].category for op in used} == {
        "manipulation", "line", "arrow", "shape", "text"
    }  # fmt: skip
