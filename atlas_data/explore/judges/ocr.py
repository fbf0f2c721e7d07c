"""The OCR judge: whether a zoom makes the answer legible at the trainee's budget.

OCR reads glyphs far smaller than a vision-language model does at the same budget, so
whether OCR returns the string decides nothing about legibility. What decides is the
*glyph height* at the budget (:mod:`atlas_data.explore.text`): a zoom helps when it makes
the answer's glyphs legible by the one legibility rule the zoom's own ``match`` uses
(:func:`atlas_data.ops.zoom.legibility`: from below the reading size to above it, enough
larger), and OCR then really reads the answer in the zoomed result, at the budget. It
abstains on anything but reading questions.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from atlas_data.config import ZOOM_GAIN, Budget
from atlas_data.explore.judges import JudgeEntry
from atlas_data.explore.text import (
    BILINEAR,
    READING_OPS,
    OcrEngine,
    TextEvidence,
    find_answer,
    is_reading_question,
    shared_engine,
    text_evidence,
)
from atlas_data.ops import Operation
from atlas_data.ops.geometry import coverage
from atlas_data.ops.image_io import downscale_to
from atlas_data.ops.zoom import COVERAGE, legibility
from atlas_data.sources.base import SourceSample
from atlas_data.trajectory.judgement import Judgement


@dataclass
class OCRJudge:
    """Helpful when a zoom holds the answer's text and makes its glyphs legible at the
    budget (:func:`atlas_data.ops.zoom.legibility`), and OCR then reads the answer in the
    result."""

    budget: Budget
    engine: OcrEngine = field(default_factory=shared_engine)
    name: str = "ocr"
    needs_pixels: bool = True
    _cache: dict[tuple[str, int], tuple[weakref.ref[Image.Image], TextEvidence]] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def evidence(self, sample: SourceSample, canvas: Image.Image) -> TextEvidence:
        key = (sample.id, id(canvas))
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0]() is canvas:  # the same canvas, not a reused id
            return hit[1]
        found = text_evidence(self.engine, canvas, sample.answer, self.budget)
        with self._lock:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = (weakref.ref(canvas), found)
        return found

    def _numbers(self, ev: TextEvidence, canvas: Image.Image) -> dict[str, Any]:
        return {
            "max_side": self.budget.side,
            "reading_px": self.budget.reading_px,
            "glyph_px_source": round(ev.glyph_px, 1),
            "glyph_px_at_budget": round(ev.glyph_px * self.budget.scale(canvas.size), 2),
            "text_box": [round(v) for v in ev.box] if ev.box else None,
        }

    def screen(self, sample: SourceSample, canvas: Image.Image, op: Operation) -> Judgement | None:
        """The verdict from the parameters and the canvas's text evidence alone: ``None``
        (abstain) off topic, a rejection, or a provisional accept (the result is read next)."""
        if op.name not in READING_OPS or not is_reading_question(sample):
            return None
        ev = self.evidence(sample, canvas)
        if not ev.found:
            # OCR cannot read the answer anywhere (an unusual font, a hard photo): that is
            # no evidence about the zoom, so abstain; another judge (a given box) decides,
            # and with none the operation is not kept.
            return None
        numbers = self._numbers(ev, canvas)
        assert ev.box is not None
        box = op.params["box"]
        held = coverage(box, ev.box)
        seen = legibility(ev.glyph_px, canvas.size, op.params, self.budget)
        numbers.update(coverage=round(held, 3), glyph_px_after=round(seen.after, 2))
        if seen.legible:
            why = "the answer is already legible at the budget"
        elif held < COVERAGE:
            why = "the zoom misses part of the answer's text"
        elif seen.after < seen.reading_px:
            why = "the answer is still below the reading size after the zoom"
        elif not seen.lifted:
            why = f"the zoom makes the answer less than {ZOOM_GAIN:g} times larger at the budget"
        else:
            area = (box[2] - box[0]) * (box[3] - box[1])
            text_area = (ev.box[2] - ev.box[0]) * (ev.box[3] - ev.box[1])
            return Judgement(
                True, round(min(1.0, text_area / max(area, 1.0)), 4), self.name, numbers
            )
        return Judgement(False, 0.0, self.name, {**numbers, "why": why})

    def judge(
        self, sample: SourceSample, image: Image.Image, op: Operation, result: Image.Image | None
    ) -> Judgement | None:
        first = self.screen(sample, image, op)
        if first is None or not first.helpful:
            return first
        seen = downscale_to(
            result if result is not None else op.apply(image), self.budget.side, BILINEAR
        )
        matched = find_answer(self.engine.read(seen), sample.answer)
        ev = dict(first.evidence)
        if not matched:
            ev["why"] = "OCR does not read the answer in the result at the budget"
            return Judgement(False, 0.0, self.name, ev)
        text = " ".join(ln.text for ln in matched)
        ev.update(text=text, seen=f'the text reads "{text}"')
        return Judgement(True, first.score, self.name, ev)

    def direct(self, sample: SourceSample, image: Image.Image) -> dict[str, Any] | None:
        """Evidence that the answer is legible with no operation: its glyphs are at least the
        reading size at the budget, and OCR reads it in the budget image."""
        if not is_reading_question(sample):
            return None
        ev = self.evidence(sample, image)
        if not ev.found or not self.budget.legibility(ev.glyph_px, image.size).legible:
            return None
        if ev.read_at_budget is None:
            seen = downscale_to(image, self.budget.side, BILINEAR)
            ev.read_at_budget = find_answer(self.engine.read(seen), sample.answer) is not None
        if not ev.read_at_budget:
            return None
        return {**self._numbers(ev, image), "text": ev.text, "seen": f'the text reads "{ev.text}"'}


JUDGE = JudgeEntry(
    "ocr",
    "rapidocr (offline): a zoom must lift the answer's glyphs over the reading size at the "
    "budget and OCR must then read the answer; abstains on anything but reading questions",
    lambda config: OCRJudge(config.budget()),
    default=True,
)
