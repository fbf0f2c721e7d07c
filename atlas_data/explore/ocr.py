"""The OCR judge: does the operation make the answer text readable at the trainee's budget?

Fully offline: ``rapidocr`` 3.x runs the PP-OCR ONNX models that ship inside its wheel
on CPU with ``onnxruntime``; the models are loaded by explicit path, so nothing is ever
downloaded. (``rapidocr-onnxruntime`` 1.4 is avoided: it pulls the GUI ``opencv-python``,
which clashes with ``opencv-python-headless`` over the ``cv2`` module.)

Both the original and the result are first downscaled to ``max_side`` (the trainee's
pixel budget). The OCR model reads glyphs far smaller than a vision-language model can at
the same budget (PP-OCRv6 reads 6 px glyphs), so a reading counts as *legible* only when
its detected line is at least ``min_line_px`` tall at the budget. An operation is helpful
when the answer is legible in its result but not in the original, or legible in both with
clearly higher confidence (``margin``). The judge abstains (``None``) on operations that
do not change resolution (only zoom does) and on questions that are not about reading text.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from atlas_data.config import DEFAULT_BUDGET_SIDE
from atlas_data.judgement import Judgement
from atlas_data.ops import Operation
from atlas_data.ops.image_io import downscale_to
from atlas_data.sources.base import SourceSample

MIN_LINE_PX = 20.0  # detected line height at the budget; ~9 px glyphs, what a VLM reads
MARGIN = 0.15
BILINEAR = Image.Resampling.BILINEAR  # fast; the OCR thresholds were measured with it
READING_OPS = frozenset({"zoom"})
TEXT_TASKS = frozenset({"small_text", "ocr", "text", "textvqa", "docvqa"})
_READING_WORDS = re.compile(
    r"\b(code|text|written|write|read|reads|say|says|printed|label|word|words|sign|"
    r"title|name on|number on|letters?|digits?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Line:
    text: str
    score: float
    height: float  # detected box height in pixels of the image that was read
    box: tuple[float, float, float, float]


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


class OcrEngine:
    """A lazily built rapidocr engine; calls are serialised (the session is not reentrant)."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "the OCR judge needs rapidocr 3.x and onnxruntime: pip install 'atlas-data[ocr]'"
            ) from exc
        paths = model_paths()
        return RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,  # the text we judge is upright
                # Detection upscales images whose short side is below this; the default (736)
                # makes a 190x90 crop cost as much as a full 1024 px image, for no gain here.
                "Det.limit_side_len": 320,
                "Det.model_path": str(paths["det"]),
                "Cls.model_path": str(paths["cls"]),
                "Rec.model_path": str(paths["rec"]),
            }
        )

    def read(self, img: Image.Image) -> list[Line]:
        arr = np.asarray(img.convert("RGB"))
        with self._lock:
            if self._engine is None:
                self._engine = self._build()
            out = self._engine(arr)
        lines = []
        boxes = out.boxes if out.boxes is not None else []
        for text, score, box in zip(out.txts or (), out.scores or (), boxes, strict=False):
            b = np.asarray(box, dtype=float)
            x0, y0 = float(b[:, 0].min()), float(b[:, 1].min())
            x1, y1 = float(b[:, 0].max()), float(b[:, 1].max())
            lines.append(Line(str(text), float(score), y1 - y0, (x0, y0, x1, y1)))
        return lines


_ENGINE = OcrEngine()


def shared_engine() -> OcrEngine:
    return _ENGINE


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def answer_reading(lines: list[Line], answer: str, min_line_px: float) -> dict[str, Any]:
    """Best reading of ``answer`` among the lines: legible (tall enough) ones first."""
    want = _norm(answer)
    best: dict[str, Any] = {"found": False, "legible": False, "score": 0.0, "height": 0.0}
    if not want:
        return best
    for line in lines:
        if want not in _norm(line.text):
            continue
        legible = line.height >= min_line_px
        cand = {
            "found": True,
            "legible": legible,
            "score": round(line.score if legible else 0.0, 4),
            "height": round(line.height, 1),
            "text": line.text,
        }
        if not best["found"] or (legible, cand["score"]) > (best["legible"], best["score"]):
            best = cand
    return best


def is_reading_question(sample: SourceSample) -> bool:
    return sample.task in TEXT_TASKS or bool(_READING_WORDS.search(sample.question))


class OCRJudge:
    """Helpful when the answer becomes legible (or clearly more confident) after the operation."""

    name = "ocr"
    needs_pixels = True

    def __init__(
        self,
        max_side: int = DEFAULT_BUDGET_SIDE,
        min_line_px: float = MIN_LINE_PX,
        margin: float = MARGIN,
        engine: OcrEngine | None = None,
    ) -> None:
        self.max_side = max_side
        self.min_line_px = min_line_px
        self.margin = margin
        self.engine = engine or shared_engine()
        self._originals: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _original(self, sample: SourceSample, image: Image.Image) -> dict[str, Any]:
        """The original's reading, once per sample (every candidate compares against it)."""
        key = (sample.id, id(image))
        with self._lock:
            hit = self._originals.get(key)
        if hit is None:
            lines = self.engine.read(downscale_to(image, self.max_side, BILINEAR))
            hit = answer_reading(lines, sample.answer, self.min_line_px)
            with self._lock:
                if len(self._originals) > 256:
                    self._originals.clear()
                self._originals[key] = hit
        return hit

    def judge(
        self, sample: SourceSample, image: Image.Image, op: Operation, result: Image.Image | None
    ) -> Judgement | None:
        if op.name not in READING_OPS or not is_reading_question(sample):
            return None
        if result is None:
            result = op.apply(image)
        before = self._original(sample, image)
        seen = downscale_to(result, self.max_side, BILINEAR)
        after = answer_reading(self.engine.read(seen), sample.answer, self.min_line_px)
        ev: dict[str, Any] = {
            "max_side": self.max_side,
            "min_line_px": self.min_line_px,
            "before": before,
            "after": after,
        }
        if after["legible"] and not before["legible"]:
            helpful, ev["why"] = True, "answer legible only after the operation"
        elif after["legible"] and after["score"] >= before["score"] + self.margin:
            helpful, ev["why"] = True, "answer read with clearly higher confidence"
        else:
            helpful = False
            ev["why"] = (
                "answer not legible in the result"
                if not after["legible"]
                else "answer already legible in the original"
            )
        if helpful:
            ev["reveals"] = f'the text reads "{after["text"]}"'
        return Judgement(helpful, float(after["score"]), self.name, ev)
