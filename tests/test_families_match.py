"""The matching families (``jigsaw``, ``visual_similarity``): each answer read from the
STORED images (every image through the run's storage policy and back), and each need
checked against the scene: its zoom holds the evidence, the telling detail is under the
reading size at the budget and over it after the zoom (hard variants), or over it as it is
(easy ones, answered directly)."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from atlas_data.ops.geometry import coverage
from tests.family_pixels import BUDGET, completed, stored_samples, zoomed_px


def gray(img: Image.Image | bytes) -> np.ndarray:
    assert isinstance(img, Image.Image)
    return np.asarray(img.convert("L")).astype(np.float64)


def after_zoom(need, size: tuple[int, int]) -> tuple[float, float]:
    """The need's detail at the budget before and after its zoom, in budget pixels."""
    before = need.detail_px * BUDGET.scale(size)
    return before, zoomed_px(need, need.detail_px)


# -- jigsaw ---------------------------------------------------------------------------------


def blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of a 1-D profile or a 2-D image (edges repeated)."""
    two = a if a.ndim == 2 else a[None, :]
    out = cv2.GaussianBlur(two, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return out if a.ndim == 2 else out[0]


def _fine(profile: np.ndarray) -> np.ndarray:
    """A profile's fine scale (a stroke's width up to a dozen px): what a wide blur of it
    does not hold, lightly smoothed so a stroke slanting across the edge still meets itself."""
    return blur(profile, 1.5) - blur(profile, 12)


def _edges(a: np.ndarray, box: list[int], inside: bool, d: tuple[int, int]) -> list[np.ndarray]:
    """Mean grey profiles along the four edges of ``box``, ``d`` px (a range) inside it or
    outside it: top, bottom, left, right; the corners left out."""
    x0, y0, x1, y1 = box
    lo, hi = d
    c = 6  # leave the corners out
    if inside:
        strips = [a[y0 + lo : y0 + hi, x0 + c : x1 - c].mean(0),
                  a[y1 - hi : y1 - lo, x0 + c : x1 - c].mean(0),
                  a[y0 + c : y1 - c, x0 + lo : x0 + hi].mean(1),
                  a[y0 + c : y1 - c, x1 - hi : x1 - lo].mean(1)]  # fmt: skip
    else:
        strips = [a[y0 - hi : y0 - lo, x0 + c : x1 - c].mean(0),
                  a[y1 + lo : y1 + hi, x0 + c : x1 - c].mean(0),
                  a[y0 + c : y1 - c, x0 - hi : x0 - lo].mean(1),
                  a[y0 + c : y1 - c, x1 + lo : x1 + hi].mean(1)]  # fmt: skip
    return [_fine(p) for p in strips]


def continuity(picture: np.ndarray, hole: list[int], photo: np.ndarray, piece: list[int]) -> float:
    """How well the piece's strokes continue the picture's across the hole's four edges:
    the correlation of the fine profiles just outside the hole and just inside the piece."""
    out = np.concatenate(_edges(picture, hole, False, (1, 2)))
    ins = np.concatenate(_edges(photo, piece, True, (0, 1)))
    return float(np.corrcoef(out, ins)[0, 1])


def stroke_spacing(picture: np.ndarray, hole: list[int]) -> float:
    """Px between neighbouring dark strokes along the hole's edges, in the pixels just
    outside it: the edges' length over the dark dips of their profiles."""
    x0, y0, x1, y1 = hole
    c, n = 6, 0
    for p in (picture[y0 - 2, x0 + c : x1 - c], picture[y1 + 1, x0 + c : x1 - c],
              picture[y0 + c : y1 - c, x0 - 2], picture[y0 + c : y1 - c, x1 + 1]):  # fmt: skip
        f = blur(p, 0.7) - blur(p, 12)
        dips = (f[1:-1] < f[:-2]) & (f[1:-1] <= f[2:]) & (f[1:-1] < -0.5 * f.std())
        n += int(dips.sum())
    return 2 * (x1 - x0 + y1 - y0 - 4 * c) / n


def test_jigsaw_the_piece_that_continues_the_strokes_is_the_answer():
    easy = hard = 0
    for s in stored_samples("jigsaw", 16):
        a, hole = s.annotations, s.annotations["hole"]
        picture = gray(s.image)
        scores = {
            letter: continuity(picture, hole, gray(s.images[p["image"]]), p["box"])
            for letter, p in a["pieces"].items()
        }
        best = max(scores, key=scores.__getitem__)
        other = min(scores, key=scores.__getitem__)
        assert best == s.answer, (scores, s.answer)
        assert scores[best] > 0.25 and scores[best] - scores[other] > 0.15, scores
        # the pieces differ only at the fine scale: their mean colours are the same
        means = [
            np.asarray(s.images[p["image"]], dtype=np.float64)[y0:y1, x0:x1].mean((0, 1))
            for p in a["pieces"].values()
            for x0, y0, x1, y1 in [p["box"]]
        ]
        assert np.abs(means[0] - means[1]).max() < 6, means
        # the telling detail: strokes every few px along the edges, in the pixels
        spacing = stroke_spacing(picture, hole)
        assert 0.6 * a["detail_px"] < spacing < 1.8 * a["detail_px"], (spacing, a["detail_px"])
        seen = spacing * BUDGET.scale(s.image.size)  # type: ignore[union-attr]
        assert (seen >= BUDGET.reading_px) == a["easy"], seen
        needs = completed(s)
        assert needs[0].image == 0
        assert coverage(needs[0].params["box"], hole) == 1.0
        before, after = after_zoom(needs[0], s.image.size)  # type: ignore[union-attr]
        if a["easy"]:
            easy += 1
            assert len(needs) == 1 and before >= BUDGET.reading_px
        else:
            hard += 1
            assert before < BUDGET.reading_px and after >= 1.25 * BUDGET.reading_px
            piece = a["pieces"][s.answer]
            assert needs[1].image == piece["image"]
            assert coverage(needs[1].params["box"], piece["box"]) == 1.0
            before, after = after_zoom(needs[1], s.images[piece["image"]].size)
            assert before < BUDGET.reading_px and after >= 1.25 * BUDGET.reading_px
        assert s.answer in (s.choices or ["A", "B"])
    assert easy and hard


# -- visual_similarity ----------------------------------------------------------------------


def _detail(img: Image.Image | bytes) -> np.ndarray:
    """The fine scale of a swatch's middle: grey minus a wide blur (the checks, the light)."""
    a = gray(img)
    h, w = a.shape
    mid = a[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    return mid - blur(mid, 20)


def lattice_period(fine: np.ndarray) -> int:
    """The motif lattice's period: the first strong peak of the rows' autocorrelation."""
    spec = np.fft.rfft(fine - fine.mean(1, keepdims=True), axis=1)
    auto = np.fft.irfft(np.abs(spec) ** 2, axis=1).mean(0)
    auto /= auto[0]
    lags = range(6, 120)
    return max(lags, key=lambda lag: auto[lag] - 0.001 * lag)


def mean_cell(fine: np.ndarray, period: int) -> np.ndarray:
    """The lattice folded onto one cell: the average motif, at the swatch's own phase."""
    h, w = (n // period * period for n in fine.shape)
    cells = fine[:h, :w].reshape(h // period, period, w // period, period)
    cell = cells.mean((0, 2))
    return (cell - cell.mean()) / (cell.std() + 1e-9)


def same_motif(a: np.ndarray, b: np.ndarray) -> float:
    """The best normalised correlation of two mean cells over every circular shift."""
    corr = np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(b))).real / a.size
    return float(corr.max())


def _arc(inked: np.ndarray) -> int:
    """The shortest circular stretch holding every inked place of a folded cell's side."""
    free = run = 0
    for v in np.concatenate([inked, inked]):  # twice round: a gap may wrap
        run = 0 if v else run + 1
        free = max(free, run)
    return len(inked) - min(free, len(inked))


def test_visual_similarity_the_candidate_with_the_reference_motif_is_the_answer():
    easy = hard = 0
    for s in stored_samples("visual_similarity", 16):
        a = s.annotations
        fine = [_detail(im) for im in s.images]
        periods = {lattice_period(f) for f in fine}
        assert periods == {a["period"]}, (periods, a["period"])  # one lattice, measured
        cells = [mean_cell(f, a["period"]) for f in fine]
        scores = {letter: same_motif(cells[0], cells[n + 1]) for n, letter in enumerate("AB")}
        best = max(scores, key=scores.__getitem__)
        other = min(scores, key=scores.__getitem__)
        assert best == s.answer and scores[best] > 0.9 and scores[other] < 0.85, scores
        # the candidates differ only at the fine scale: the same mean colour (one tone)
        means = [np.asarray(im, dtype=np.float64).mean((0, 1)) for im in s.images[1:]]
        assert np.abs(means[0] - means[1]).max() < 4, means
        # the telling detail: the motif's extent in the folded cell, measured
        ink = -cells[0] > -0.5 * cells[0].min()  # the motif is dark ink
        extent = max(_arc(ink.any(1)), _arc(ink.any(0)))
        assert abs(extent - a["motif_px"]) <= max(3, 0.2 * a["motif_px"]), (extent, a)
        needs = completed(s)
        assert needs[0].image == 0
        size = s.image.size  # type: ignore[union-attr]
        before, after = after_zoom(needs[0], size)
        ev = needs[0].evidence
        assert ev and coverage(needs[0].params["box"], ev) == 1.0
        # the evidence holds several whole cells of the lattice
        assert min(ev[2] - ev[0], ev[3] - ev[1]) >= 3 * a["period"]
        if a["easy"]:
            easy += 1
            assert len(needs) == 1 and before >= BUDGET.reading_px
        else:
            hard += 1
            assert before < BUDGET.reading_px and after >= 1.25 * BUDGET.reading_px
            k = "AB".index(s.answer) + 1
            assert needs[1].image == k
            before, after = after_zoom(needs[1], s.images[k].size)  # type: ignore[union-attr]
            assert before < BUDGET.reading_px and after >= 1.25 * BUDGET.reading_px
        assert s.answer in (s.choices or ["A", "B"])
    assert easy and hard
