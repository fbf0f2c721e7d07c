"""The multi-image families of group multi2 (``semantic_correspondence``, ``art_style``):
each answer read from the STORED images (every image through the run's storage policy and
back), and each need checked against the scene: it acts on the image that holds the
evidence, holds it, and makes it visible at the budget (hard variants), or the evidence is
plain as it is (easy variants, answered directly)."""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from tests.family_pixels import BUDGET, completed, inside, stored_samples, zoomed_px


def size(img: Image.Image | bytes) -> tuple[int, int]:
    assert isinstance(img, Image.Image)
    return img.size


def rgb(img: Image.Image | bytes) -> np.ndarray:
    assert isinstance(img, Image.Image)
    return np.asarray(img)


# -- semantic_correspondence ----------------------------------------------------------------


def rings(a: np.ndarray, r: float) -> list[tuple[float, float]]:
    """Centres of the yellow rings of radius ``r`` (REF's, the candidates') found in the
    pixels: yellow pieces within a ring's size of each other are one ring (the JPEG breaks
    a thin ring over some colours), its centre the middle of their extent."""
    red, g, b = (a[:, :, i].astype(int) for i in range(3))
    mask = ((red > 170) & (g > 140) & (b < 120) & (red - b > 90)).astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask)
    groups: list[list[int]] = []
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < 4:
            continue
        for grp in groups:
            if any(math.dist(cents[i], cents[j]) <= 1.6 * r for j in grp):
                grp.append(i)
                break
        else:
            groups.append([i])
    out = []
    for grp in groups:
        x0 = min(stats[i, 0] for i in grp)
        y0 = min(stats[i, 1] for i in grp)
        x1 = max(stats[i, 0] + stats[i, 2] for i in grp)
        y1 = max(stats[i, 1] + stats[i, 3] for i in grp)
        if max(x1 - x0, y1 - y0) >= r:  # a ring, not a speck
            out.append(((x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2))
    return out


def object_mask(a: np.ndarray) -> np.ndarray:
    """The object: saturated pixels that are not the rings' yellow (the floor, shadows,
    labels and rings' outlines are all unsaturated)."""
    hsv = cv2.cvtColor(a, cv2.COLOR_RGB2HSV)
    yellow = (hsv[:, :, 0] >= 13) & (hsv[:, :, 0] <= 38)
    mask = ((hsv[:, :, 1] > 110) & (hsv[:, :, 2] > 35) & ~yellow).astype(np.uint8)
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def bbox(mask: np.ndarray) -> list[float]:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 25]
    x0 = min(stats[i, 0] for i in keep)
    y0 = min(stats[i, 1] for i in keep)
    x1 = max(stats[i, 0] + stats[i, 2] for i in keep)
    y1 = max(stats[i, 1] + stats[i, 3] for i in keep)
    return [float(x0), float(y0), float(x1), float(y1)]


def shape_of(mask: np.ndarray, box: list[float]) -> np.ndarray:
    x0, y0, x1, y1 = (int(v) for v in box)
    crop = mask[y0:y1, x0:x1].astype(np.float32)
    return cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA)


def norm(p, box) -> tuple[float, float]:
    return (p[0] - box[0]) / (box[2] - box[0]), (p[1] - box[1]) / (box[3] - box[1])


def white_height(a: np.ndarray, box: list[float]) -> int:
    """Rows of a label's box that hold its white glyph pixels: the glyph height."""
    x0, y0, x1, y1 = (round(v) for v in box)
    crop = a[max(0, y0) : y1, max(0, x0) : x1].astype(int)
    white = (crop.min(axis=2) > 140).any(axis=1)  # light grey on blurred small letters
    rows = np.flatnonzero(white)
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0


def test_semantic_correspondence_answer_is_the_candidate_on_refs_part_by_its_pixels():
    """From the stored pixels: the rings give REF and the candidates; the object's outline
    gives its box and whether Image 2 faces the other way (the mirrored silhouette fits
    better); the answer is the candidate whose place in the object, mirrored when it faces
    the other way, is nearest REF's. Turned objects put a wrong candidate where REF would be
    by position alone. Needs: box REF's part (image 0), then box the answer's part or draw
    the arrow from that trap to it (image 1); small objects' letters are under the reading
    size at the budget and over it after the zoom; easy ones read as they are."""
    seen: set[str] = set()
    for s in stored_samples("semantic_correspondence", 16):
        a1, a2 = rgb(s.images[0]), rgb(s.images[1])
        ann = s.annotations
        (ref,) = rings(a1, ann["ring_px"][0])
        assert math.dist(ref, ann["ref"]) < 3
        found = rings(a2, ann["ring_px"][1])
        assert len(found) == 4
        at: dict[str, tuple[float, float]] = {}
        for letter, p in ann["points"].items():
            (hit,) = [q for q in found if math.dist(q, p) < 3]
            at[letter] = hit
        m1, m2 = object_mask(a1), object_mask(a2)
        b1, b2 = bbox(m1), bbox(m2)
        for b, want in zip((b1, b2), ann["object_boxes"], strict=True):
            tol = max(6.0, 0.02 * (want[2] - want[0]))
            assert all(abs(u - v) <= tol for u, v in zip(b, want, strict=True)), (b, want)
        sh1, sh2 = shape_of(m1, b1), shape_of(m2, b2)
        same = float((sh1 * sh2).sum())
        mirrored = float((sh1 * sh2[:, ::-1]).sum())
        turned = mirrored > same
        assert turned == ann["turned"]
        rx, ry = norm(ref, b1)
        want = (1 - rx, ry) if turned else (rx, ry)
        dist = {k: math.dist(norm(p, b2), want) for k, p in at.items()}
        ranked = sorted(dist, key=dist.__getitem__)
        assert ranked[0] == s.answer, (ann["kind"], ann["part"], dist)
        assert dist[ranked[1]] > dist[ranked[0]] + 0.08
        by_place = min(at, key=lambda k: math.dist(norm(at[k], b2), (rx, ry)))
        if turned:
            assert by_place != s.answer
        needs = completed(s)
        variant = ann["variant"]
        seen.add(variant)
        if variant == "easy":
            assert not turned and by_place == s.answer
            (z,) = needs
            assert z.op == "zoom" and z.image == 0 and inside(ref, z.params["box"])
            assert (z.detail_px or 0) * BUDGET.scale(size(s.images[0])) >= 20  # plain as it is
            for letter in at:  # the letters read at the budget
                h = white_height(a2, ann["labels"][letter])
                assert h * BUDGET.scale(size(s.images[1])) >= 12
            continue
        first, *rest = needs
        assert first.op == "box" and first.image == 0 and inside(ref, first.params["box"])
        assert all(n.image == 1 for n in rest)
        last = rest[-1]
        if last.op == "box":
            assert inside(at[s.answer], last.params["box"])
            others = [p for k, p in at.items() if k != s.answer]
            assert not any(inside(p, last.params["box"]) for p in others)
        else:
            assert last.op == "arrow" and turned
            assert by_place == ann["trap"]  # the arrow leaves the trap by position
            assert math.dist(last.params["start"], at[ann["trap"]]) < 3
            assert math.dist(last.params["end"], at[s.answer]) < 3
        heights = [white_height(a2, ann["labels"][k]) for k in at]
        if variant == "small":
            z = rest[0]
            assert z.op == "zoom"
            assert all(inside(p, z.params["box"]) for p in at.values())
            before = max(heights) * BUDGET.scale(size(s.images[1]))
            assert before < 10  # the letters cannot be read at the budget
            assert zoomed_px(z, min(heights)) >= 12  # and can after the zoom
        else:
            assert min(heights) * BUDGET.scale(size(s.images[1])) >= 12
    assert seen == {"easy", "small", "arrow", "box"}


# -- art_style ------------------------------------------------------------------------------


def spectrum(img: Image.Image | bytes, canvas: list[int], period: float) -> np.ndarray:
    """The painting's fine texture: the amplitude spectrum of its luminance less a blur
    (the subject's colour fields), averaged over patches of the canvas, low bins dropped,
    scaled to unit length."""
    assert isinstance(img, Image.Image)
    g = np.asarray(img.convert("L"), dtype=np.float32)
    g = g - cv2.GaussianBlur(g, (0, 0), 2 * period)
    n = int(2 ** math.ceil(math.log2(12 * period)))
    win = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    x0, y0, x1, y1 = canvas
    acc = np.zeros((n, n), np.float32)
    m = 0
    for y in np.linspace(y0 + 0.1 * (y1 - y0), y1 - 0.1 * (y1 - y0) - n, 4):
        for x in np.linspace(x0 + 0.1 * (x1 - x0), x1 - 0.1 * (x1 - x0) - n, 5):
            patch = g[int(y) : int(y) + n, int(x) : int(x) + n] * win
            acc += np.abs(np.fft.fftshift(np.fft.fft2(patch)))
            m += 1
    yy, xx = np.mgrid[:n, :n] - n // 2
    acc[np.hypot(xx, yy) < n / (4 * period)] = 0  # coarser than four marks: the subject
    acc /= m
    return acc / np.linalg.norm(acc)


def mark_period(spec: np.ndarray, period: float) -> float:
    """The marks' spacing: where the spectrum's radial profile peaks."""
    n = spec.shape[0]
    yy, xx = np.mgrid[:n, :n] - n // 2
    r = np.rint(np.hypot(xx, yy)).astype(int)
    prof = np.bincount(r.ravel(), spec.ravel()) / np.maximum(1, np.bincount(r.ravel()))
    lo = math.ceil(n / (1.5 * period))  # finer than the subject's edges and a dab's length
    k = lo + int(np.argmax(prof[lo : n // 2]))
    return n / k


def test_art_style_answer_is_the_candidate_whose_marks_match_the_reference():
    """From the stored pixels: the candidate whose fine texture (the amplitude spectrum of
    its marks) is nearest the reference's is the answer, clearly; the mark spacing read
    from the pixels is the scene's (the palette is shared, so colour tells nothing).
    Hard: the marks are under the reading size at the budget and over it in each zoom,
    which acts on image 0 then on the answer's image and holds several marks. Easy: the
    marks are plain at the budget."""
    easy = hard = 0
    for s in stored_samples("art_style", 8):
        ann = s.annotations
        period = ann["period"]
        specs = [spectrum(im, c, period) for im, c in zip(s.images, ann["canvases"], strict=True)]
        sim = [float((specs[0] * specs[k]).sum()) for k in (1, 2)]
        best = "AB"[int(np.argmax(sim))]
        assert best == s.answer, (sim, ann["techniques"])
        assert max(sim) > min(sim) + 0.1, (sim, ann["techniques"])
        for sp in specs:
            assert 0.85 * period <= mark_period(sp, period) <= 1.15 * period
        needs = completed(s)
        scale = BUDGET.scale(size(s.images[0]))
        if ann["easy"]:
            easy += 1
            (z,) = needs
            assert z.image == 0 and period * scale >= 16
            continue
        hard += 1
        assert period * scale < 10
        first, second = needs
        assert (first.image, second.image) == (0, "AB".index(s.answer) + 1)
        for z, canvas in zip((first, second), (ann["canvases"][0], ann["canvases"][second.image]),
                             strict=True):  # fmt: skip
            box = z.params["box"]
            assert inside(box[:2], canvas) and inside(box[2:], canvas)
            assert box[2] - box[0] >= 4 * period  # several marks
            assert zoomed_px(z, period) >= 20
    assert easy and hard
