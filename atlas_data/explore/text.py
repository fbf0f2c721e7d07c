"""Text in the image: where it is, what it says and how tall its glyphs are, measured once
for the OCR judge, the ``text`` proposer and the annotation judge.

Fully offline: ``rapidocr`` 3.x runs the PP-OCR ONNX models that ship inside its wheel on
CPU with ``onnxruntime``; the models are loaded by explicit path, so nothing is ever
downloaded. (``rapidocr-onnxruntime`` 1.4 is avoided: it pulls the GUI ``opencv-python``,
which clashes with ``opencv-python-headless`` over the ``cv2`` module.)

What the judges compare with the reading size is the *glyph height* of the matched text
line, measured in the source's pixels (:func:`glyph_height`), never whether OCR returns the
string: OCR reads glyphs far smaller than a vision-language model does.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from atlas_data.config import Budget
from atlas_data.ops.geometry import coverage, union
from atlas_data.sources.base import SourceSample
from atlas_data.sources.intent import is_reading

BILINEAR = Image.Resampling.BILINEAR  # fast; the OCR thresholds were measured with it
# The fine pass searches again at twice the budget's resolution (a 1024 px budget: a copy
# 2048 px wide, never larger than the image itself), on budget-sized tiles: there glyphs
# are up to twice as tall as at the budget, for text too small for the detector at it.
FINE_PER_BUDGET = 2.0  # the fine pass: tiles of the budget over a copy this many budgets wide
READING_OPS = frozenset({"zoom"})

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Line:
    text: str
    score: float
    box: Box  # in pixels of the image that was read


OCR_THREADS = "ATLAS_DATA_OCR_THREADS"  # set by the run's worker processes (-1: onnxruntime's)


def model_paths() -> dict[str, Path]:
    """The ONNX models packaged in the ``rapidocr`` wheel (detection, classifier, recognition)."""
    import rapidocr

    root = Path(rapidocr.__file__).parent / "models"
    found = {
        "det": sorted(root.glob("*det*.onnx")),
        "cls": sorted(root.glob("*cls*.onnx")),
        "rec": sorted(root.glob("*rec*.onnx")),
    }
    missing = [k for k, v in found.items() if not v]
    if missing:
        raise RuntimeError(
            f"rapidocr's packaged models are missing ({', '.join(missing)}) under {root}; "
            "reinstall with: pip install 'rapidocr>=3.0' onnxruntime"
        )
    return {k: v[-1] for k, v in found.items()}


def _box(points: Any) -> Box:
    b = np.asarray(points, dtype=float)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 0].max()), float(b[:, 1].max())


class OcrEngine:
    """A lazily built rapidocr engine; calls are serialised (the session is not reentrant).

    rapidocr 3.x remembers the ``use_det``/``use_rec`` flags of the last call, so every
    call here names all of them.
    """

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        from rapidocr import RapidOCR  # a core dependency: the default judges read text

        paths = model_paths()
        return RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,  # the text we judge is upright
                # Images arrive at the size to detect at (see detect): never resized again.
                "Det.limit_side_len": 4096,
                "Det.limit_type": "max",
                "Det.model_path": str(paths["det"]),
                "Cls.model_path": str(paths["cls"]),
                "Rec.model_path": str(paths["rec"]),
                # one worker process of several: its share of the cores, not all of them
                "EngineConfig.onnxruntime.intra_op_num_threads": int(
                    os.environ.get(OCR_THREADS, "-1")
                ),
            }
        )

    def _call(self, img: Image.Image, det: bool, rec: bool) -> Any:
        arr = np.asarray(img.convert("RGB"))
        with self._lock:
            if self._engine is None:
                self._engine = self._build()
            return self._engine(arr, use_det=det, use_cls=False, use_rec=rec)

    def read(self, img: Image.Image) -> list[Line]:
        """Detect and recognise every line."""
        out = self._call(img, True, True)
        boxes = out.boxes if getattr(out, "boxes", None) is not None else []
        txts, scores = getattr(out, "txts", None) or (), getattr(out, "scores", None) or ()
        return [
            Line(str(t), float(s), _box(b)) for t, s, b in zip(txts, scores, boxes, strict=False)
        ]

    def detect(self, img: Image.Image, side: int) -> list[Box]:
        """Where text lines are, without reading them, with the image resized to ``side``
        on its longest side; boxes in ``img``'s pixels."""
        scale = side / max(img.size)
        if abs(scale - 1) > 0.01:
            img = img.resize((round(img.width * scale), round(img.height * scale)), BILINEAR)
        boxes = getattr(self._call(img, True, False), "boxes", None)
        if boxes is None:
            return []
        return [tuple(v / scale for v in _box(b)) for b in boxes]  # type: ignore[misc]

    def recognize(self, img: Image.Image) -> tuple[str, float]:
        """The text of one cropped line."""
        out = self._call(img, False, True)
        txts: Any = getattr(out, "txts", None) or ()
        scores: Any = getattr(out, "scores", None) or ()
        return (str(txts[0]), float(scores[0])) if txts else ("", 0.0)


_ENGINE = OcrEngine()


def shared_engine() -> OcrEngine:
    return _ENGINE


# ---------------------------------------------------------------- measuring and matching


def glyph_height(crop: Image.Image) -> float:
    """Height in pixels of the letters in a crop of text (the tallest run of text rows).

    A text row is one crossed by many strong vertical strokes (jumps in brightness along
    the row); a plain label, a box edge or a gradient crosses few. A detection box's own
    height is not used: its padding varies with the detector and the label around the
    text, and one pixel of it must not decide legibility.
    """
    g = np.asarray(crop.convert("L"), dtype=np.float64)
    if g.ndim != 2 or g.shape[1] < 2:
        return 0.0
    dx = np.abs(np.diff(g, axis=1))
    strokes = (dx > max(24.0, 0.35 * float(dx.max()))).sum(axis=1)
    if strokes.max() == 0:
        return 0.0
    best = run = 0
    for row in strokes >= max(2.0, 0.25 * float(strokes.max())):
        run = run + 1 if row else 0
        best = max(best, run)
    return float(best)


def words(text: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", text.lower())


def find_answer(lines: list[Line], answer: str) -> list[Line] | None:
    """The lines that spell the answer, on word boundaries, or ``None``.

    Lines are joined in reading order first, so an answer the OCR split over two lines
    ("LOT" / "47B") is found, and spacing differences ("LOT47B") do not matter; a short
    answer ("S") only matches a whole word, never the inside of another.
    """
    want = "".join(words(answer))
    if not want:
        return None
    ordered = sorted(lines, key=lambda ln: (round(ln.box[1] / 8), ln.box[0]))
    tokens = [(w, k) for k, ln in enumerate(ordered) for w in words(ln.text)]
    for i in range(len(tokens)):
        joined = ""
        for j in range(i, len(tokens)):
            joined += tokens[j][0]
            if joined == want:
                used = sorted({k for _, k in tokens[i : j + 1]})
                return [ordered[k] for k in used]
            if len(joined) >= len(want) or not want.startswith(joined):
                break
    return None


def is_reading_question(sample: SourceSample) -> bool:
    """Whether the sample asks to read text (:func:`atlas_data.sources.intent.is_reading`)."""
    return is_reading(sample.question, sample.task)


@dataclass
class TextEvidence:
    """Where the answer is written in an image, and how tall its glyphs are there."""

    lines: list[Line]  # every detected line, read from the full-resolution image
    box: Box | None = None  # the answer's lines, in the image's pixels
    text: str = ""
    glyph_px: float = 0.0  # in the image's pixels
    read_at_budget: bool | None = None  # filled when a direct answer is considered

    @property
    def found(self) -> bool:
        return self.box is not None


def _tiles(size: tuple[int, int], tile: int) -> list[tuple[int, int, int, int]]:
    """Tiles of at most ``tile`` a side covering ``size``, overlapping by an eighth."""
    step = max(1, tile - tile // 8)
    w, h = size
    xs = range(0, max(1, w - tile // 8), step)
    ys = range(0, max(1, h - tile // 8), step)
    return [(x, y, min(w, x + tile), min(h, y + tile)) for y in ys for x in xs]


def _detect(engine: OcrEngine, image: Image.Image, side: int, fine: bool) -> list[Box]:
    """Text boxes in ``image``'s pixels. The coarse pass sees the image at the budget (the
    detector misses both very large and textured high-resolution text when given the full
    image at once); the fine pass runs it on budget-sized tiles of a copy up to
    :data:`FINE_PER_BUDGET` budgets wide, for text too small to show at the budget."""
    if not fine:
        return engine.detect(image, side)
    scale = min(FINE_PER_BUDGET * side, max(image.size)) / max(image.size)
    big = image.resize((round(image.width * scale), round(image.height * scale)), BILINEAR)
    out: list[Box] = []
    for x0, y0, x1, y1 in _tiles(big.size, side):
        for b in engine.detect(big.crop((x0, y0, x1, y1)), max(x1 - x0, y1 - y0)):
            out.append(
                ((b[0] + x0) / scale, (b[1] + y0) / scale, (b[2] + x0) / scale, (b[3] + y0) / scale)
            )
    return out


def text_lines(
    engine: OcrEngine, image: Image.Image, budget: Budget, fine: bool = False
) -> list[Line]:
    """Every line of text in ``image``, detected at the budget (``fine``: also on tiles at a
    finer scale, deduplicated) and read from the full-resolution crop. Cached per image: the
    ``text`` proposer and the OCR judge ask for the same canvas."""
    key = (id(image), budget.side, fine)  # two budgets see different lines
    with _LINES_LOCK:
        hit = _LINES.get(key)
        if hit is not None and hit[0]() is image:
            return hit[1]
    lines = list(text_lines(engine, image, budget)) if fine else []
    for b in _detect(engine, image, budget.side, fine):
        if any(coverage(ln.box, b) > 0.6 for ln in lines):
            continue  # the coarse pass has it already
        pad = 0.15 * (b[3] - b[1])
        crop = image.crop(
            (max(0, b[0] - pad), max(0, b[1] - pad), b[2] + pad, min(image.height, b[3] + pad))
        )
        text, score = engine.recognize(crop)
        if text:
            lines.append(Line(text, score, b))
    with _LINES_LOCK:
        if len(_LINES) >= 8:
            _LINES.pop(next(iter(_LINES)))
        _LINES[key] = (weakref.ref(image), lines)
    return lines


_LINES: dict[tuple[int, int, bool], tuple[weakref.ref[Image.Image], list[Line]]] = {}
_LINES_LOCK = threading.Lock()


def text_evidence(
    engine: OcrEngine, image: Image.Image, answer: str, budget: Budget
) -> TextEvidence:
    """Where the answer is written in ``image``, and how tall its letters are there. When the
    budget-scale pass does not find it, the fine pass looks for smaller text."""
    lines = text_lines(engine, image, budget)
    matched = find_answer(lines, answer)
    if not matched:
        lines = text_lines(engine, image, budget, fine=True)
        matched = find_answer(lines, answer)
    if not matched:
        return TextEvidence(lines)
    x0, y0, x1, y1 = union([ln.box for ln in matched])
    heights = [glyph_height(image.crop(ln.box)) for ln in matched]
    text = " ".join(ln.text for ln in matched)
    return TextEvidence(lines, (x0, y0, x1, y1), text, max(heights))
