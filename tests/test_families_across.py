"""The several-image families ``count_across`` and ``forensics``: each answer read from the
STORED pixels of every image (Image 1 as its camera JPEG, the others as the run's ``auto``
storage encodes them, decoded back), and each need checked against those pixels: where it
acts, that it holds the evidence, and that the evidence is visible at the budget after it."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from atlas_data.ops.spec import Need
from atlas_data.ops.zoom import zoom_scale
from atlas_data.sources.synthetic import FAMILIES
from tests.family_pixels import BUDGET, completed, run_chain, samples, stored_images

READING = BUDGET.reading_px


def run_chains(needs: list[Need], arrays: list[np.ndarray]) -> list[Image.Image]:
    """Every need run for real, each on the latest canvas of the image it names."""
    return [run_chain([n for n in needs if n.image == k], a) for k, a in enumerate(arrays)]


# ------------------------------------------------------------------------ count_across


def pieces(a: np.ndarray, rgb: list[int], kind: str) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x, y, w, h) of the blobs of colour ``rgb`` whose form says ``kind``:
    a triangle (apex up) has a third as much of itself in the upper half of its box as in
    the lower, a circle or a square as much; a circle fills 79 % of its box, a square all."""
    diff = (a - np.array(rgb)).astype(np.float32)
    mask = (diff[..., 0] ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2 < 70**2).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for i, (x, y, w, h, area) in enumerate(stats[1:], start=1):
        if area < 12:
            continue
        blob = labels[y : y + h, x : x + w] == i
        upper, lower = blob[: h // 2].sum(), blob[h - h // 2 :].sum()
        seen = (
            "triangle" if upper < 0.65 * lower
            else "circle" if area / (w * h) < 0.87
            else "square"
        )  # fmt: skip
        if seen == kind:
            out.append((int(x), int(y), int(w), int(h)))
    return out


def test_count_across_total_is_the_target_blobs_of_both_stored_images_and_marks_sit_on_them():
    chains = set()
    for s in samples("count_across", 24):
        arrays = [np.asarray(im).astype(int) for im in stored_images(s)]
        assert len(arrays) == 2 and FAMILIES["count_across"].images == 2
        t = s.annotations["target"]
        found = [pieces(a, t["rgb"], t["kind"]) for a in arrays]
        assert sum(map(len, found)) == int(s.answer), (s.question, [len(f) for f in found])
        if s.choices:
            assert s.answer in s.choices and len(set(s.choices)) == 4
        needs = completed(s, arrays)
        chain = () if s.annotations["easy"] else tuple(n.op for n in s.needs)
        chains.add(chain)
        scale = BUDGET.scale((arrays[0].shape[1], arrays[0].shape[0]))
        if s.annotations["easy"]:  # a few big pieces, all in one image, seen at a glance
            ((zoom,),) = [needs]
            assert zoom.op == "zoom" and int(s.answer) <= 3
            assert len(found[zoom.image]) == int(s.answer) and not found[1 - zoom.image]
            assert min(max(w, h) for _, _, w, h in found[zoom.image]) * scale >= 2 * READING
            x0, y0, x1, y1 = zoom.params["box"]
            assert all(x0 <= x and x + w <= x1 and y0 <= y and y + h <= y1
                       for x, y, w, h in found[zoom.image])  # fmt: skip
            continue
        marks = [n for n in needs if n.op == "point_mark"]
        assert [m.image for m in marks] == [0, 1]
        assert [m.params.get("first", 1) for m in marks] == [1, len(found[0]) + 1]
        for m in marks:  # one mark on each target piece of its image, none elsewhere
            blobs = found[m.image]
            hit = [
                [b for b in blobs
                 if b[0] - 2 <= px <= b[0] + b[2] + 2 and b[1] - 2 <= py <= b[1] + b[3] + 2]
                for px, py in m.params["points"]
            ]  # fmt: skip
            assert all(len(h) == 1 for h in hit) and len({h[0] for h in hit}) == len(blobs)
            assert str(len(found[0]) + len(found[1])) in s.needs[-1].reveals
        for k, n in enumerate(needs):
            if n.op != "zoom":
                continue
            # the tray's pieces: too small to tell apart at the budget, not after the zoom
            nxt = needs[k + 1]
            assert nxt.op == "point_mark" and nxt.image == n.image
            size = max(max(w, h) for _, _, w, h in found[n.image])
            assert size * scale < READING
            assert size * zoom_scale(n.params["box"], n.params["factor"], BUDGET) >= READING
            x0, y0, x1, y1 = n.params["box"]
            assert all(x0 <= px <= x1 and y0 <= py <= y1 for px, py in nxt.params["points"])
        out = run_chains(needs, arrays)  # the chain runs on the images it names
        assert len(out) == 2
    assert chains == set(FAMILIES["count_across"].chains), chains


# --------------------------------------------------------------------------- forensics


def changed(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """For each image, how much it differs from BOTH others beyond how much they differ
    from each other (camera blur and JPEG noise aside: a light blur first)."""
    soft = [cv2.GaussianBlur(a.astype(np.float32), (0, 0), 1.2) for a in arrays]

    def apart(i: int, j: int) -> np.ndarray:
        diff = np.abs(soft[i] - soft[j])
        return np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])

    d = {(i, j): apart(i, j) for i, j in ((0, 1), (0, 2), (1, 2))}
    return [
        np.minimum(d[(0, 1)], d[(0, 2)]) - d[(1, 2)],
        np.minimum(d[(0, 1)], d[(1, 2)]) - d[(0, 2)],
        np.minimum(d[(0, 2)], d[(1, 2)]) - d[(0, 1)],
    ]


def test_forensics_the_altered_image_is_the_one_whose_region_differs_and_the_box_holds_it():
    variants = set()
    for s in samples("forensics", 20):
        arrays = [np.asarray(im).astype(int) for im in stored_images(s)]
        assert len(arrays) == 3 and FAMILIES["forensics"].images == 3
        scores = changed(arrays)
        masks = [score > 40 for score in scores]
        sizes = [int(m.sum()) for m in masks]
        k = int(np.argmax(sizes))
        assert s.answer == str(k + 1), (s.answer, sizes)
        assert sizes[k] >= 20 and sorted(sizes)[1] <= 0.02 * sizes[k], sizes
        if s.choices:
            assert s.answer in s.choices
        ys, xs = np.nonzero(masks[k])
        region = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        strong = scores[k] > 60  # the piece itself, not its soft shadow
        sy, sx = np.nonzero(strong)
        detail = max(sx.max() - sx.min() + 1, sy.max() - sy.min() + 1)
        scale = BUDGET.scale((arrays[k].shape[1], arrays[k].shape[0]))
        needs = completed(s, arrays)
        assert all(n.image == k for n in needs)  # every step acts on the altered image

        def holds(box: list[float], region: list[int] = region) -> bool:
            return (box[0] <= region[0] and box[1] <= region[1]
                    and region[2] <= box[2] and region[3] <= box[3])  # fmt: skip

        variant = s.annotations["variant"]
        variants.add(variant)
        if variant == "easy":  # a big alteration: seen at a glance, answered directly
            (zoom,) = needs
            assert zoom.op == "zoom" and holds(zoom.params["box"])
            assert detail * scale >= 4 * READING
            continue
        box = needs[-1]
        assert box.op == "box" and holds(box.params["box"])
        if variant == "box":  # visible at the budget once boxed
            assert len(needs) == 1 and detail * scale >= 2 * READING
        else:  # a tiny bead: under the reading size until zoomed
            zoom = needs[0]
            assert zoom.op == "zoom" and holds(zoom.params["box"])
            assert detail * scale < READING
            assert detail * zoom_scale(zoom.params["box"], zoom.params["factor"], BUDGET) >= (
                2 * READING
            )
        run_chains(needs, arrays)
    assert variants == {"easy", "box", "zoom"}
