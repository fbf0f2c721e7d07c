"""Benchmark 6: explore with search on photo-sized images, against one OCR read.

On the grounded corpus of the tests (``tests/grounded_corpus.py``: 2048×1536 JPEG photos
with small stickers, signs and discs; half of the stickers boxed, the other half not),
on the whole machine (onnxruntime uses every core for OCR in both):

- floor: decode the photo and one OCR read (detect + recognise) of it at the trainee's
  budget (1024 px): the least any pipeline that looks for text at the budget pays.
- explore: decode + the default local exploration: proposers ``boxes``, ``scan``, ``text``
  (OCR detector) and ``salient`` (OpenCV), judges ``annotation`` and ``ocr`` (the OCR judge
  reads only the candidates still in the race), and running the chosen operations.

Prints samples/s for each and, last, ``explore / floor``. ``--detection`` first prints how
many stickers the OCR detector finds when it is given the whole photo at several sizes
(why detection runs at the budget).

    python -m benchmarks.explore_search [--per-kind 8] [--detection]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from atlas_data.config import RunConfig
from atlas_data.explore import build_judges, build_proposers, explore
from atlas_data.explore.text import BILINEAR, shared_engine
from atlas_data.ops.geometry import coverage
from atlas_data.ops.image_io import downscale_to, load_image
from atlas_data.sources import build_source
from atlas_data.sources.base import SourceSample
from atlas_data.tokens import DEFAULT_VOCABULARY
from benchmarks.common import header, ratio_line, timed
from tests.grounded_corpus import write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=8, help="photos of each kind (x3)")
    parser.add_argument("--detection", action="store_true", help="sticker recall by size")
    args = parser.parse_args()
    header("explore with search vs one OCR read at the budget", "rapidocr", "onnxruntime")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        truths = write(root, per_kind=args.per_kind, seed=1)
        options = {"root": str(root), "questions": str(root / "questions.jsonl")}
        config = RunConfig(source="local", source_options=options)
        items = [s for s in build_source("local", options, None, 0) if isinstance(s, SourceSample)]
        blobs = [s.image for s in items if isinstance(s.image, bytes)]
        assert len(blobs) == len(items) == 3 * args.per_kind
        engine = shared_engine()
        engine.read(downscale_to(load_image(blobs[0]).image, 256, BILINEAR))  # load models
        if args.detection:
            stickers = [
                (load_image(data).image, t.box)
                for data, t in zip(blobs, truths, strict=True)
                if t.kind != "no_help" and t.box
            ]
            for side in (1024, 1536, 2048):
                with timed() as took:
                    hits = sum(
                        any(coverage(b, box) > 0.6 for b in engine.detect(image, side))
                        for image, box in stickers
                    )
                each = took() / len(stickers)
                print(f"detect at {side} px: {hits} of {len(stickers)} stickers, {each:.2f} s")

        with timed() as floor_time:
            for data in blobs:
                image = load_image(data).image
                engine.read(downscale_to(image, config.budget_side, BILINEAR))

        judges, proposers = build_judges(config), build_proposers(config)
        kept = direct = 0
        with timed() as explore_time:
            for item, data in zip(items, blobs, strict=True):
                image = load_image(data).image
                found = explore(
                    item, image, judges, DEFAULT_VOCABULARY, 0, proposers, config.budget()
                )
                kept += bool(found.steps)
                direct += found.direct is not None
    n = len(items)
    floor, search = n / floor_time(), n / explore_time()
    print(f"photos: {n} at 2048x1536 ({args.per_kind} of each kind)")
    print(f"floor   (decode + one OCR read at the budget)   {floor:6.2f} samples/s")
    print(f"explore (search, annotation + ocr judges)       {search:6.2f} samples/s")
    print(f"explore found an operation for {kept}, a direct answer for {direct}, of {n}")
    ratio_line("explore / floor", search / floor, "report")


if __name__ == "__main__":
    main()
