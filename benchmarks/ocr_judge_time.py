"""OCR judge cost on a 1600x1200 synthetic small-text scene (CPU, onnxruntime).

Prints the engine load time, one OCR read of the original at the judge budget, one at full
resolution, and one judged zoom candidate (the original's reading is cached per sample).

    python -m benchmarks.ocr_judge_time --samples 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from atlas_data.config import RunConfig
from atlas_data.explore.judges.ocr import OCRJudge
from atlas_data.explore.search import complete_needs
from atlas_data.explore.text import BILINEAR, OcrEngine
from atlas_data.ops import Operation
from atlas_data.ops.image_io import downscale_to
from atlas_data.sources.synthetic import SyntheticSource
from benchmarks.common import synthetic_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--max-side", type=int, default=1024)
    args = ap.parse_args()
    engine = OcrEngine()
    src = SyntheticSource(n=args.samples, seed=0, families=["small_text"])
    t = time.perf_counter()
    engine.read(downscale_to(synthetic_image(src.sample(0)), 256, BILINEAR))  # loads the models
    load = time.perf_counter() - t
    budget, full, judged, helpful = [], [], [], 0
    for i in range(args.samples):
        s = src.sample(i)
        image = synthetic_image(s)
        t = time.perf_counter()
        engine.read(downscale_to(image, args.max_side, BILINEAR))
        budget.append(time.perf_counter() - t)
        t = time.perf_counter()
        engine.read(image)
        full.append(time.perf_counter() - t)
        judge = OCRJudge(RunConfig(budget_side=args.max_side).budget(), engine=engine)
        s = complete_needs(s, image.size, judge.budget)
        op = Operation("zoom", s.needs[0].params)
        judge.judge(s, image, op, None)  # original read + cached
        t = time.perf_counter()
        verdict = judge.judge(s, image, op, None)
        judged.append(time.perf_counter() - t)
        helpful += bool(verdict and verdict.helpful)
    med = statistics.median
    print(f"image=1600x1200 samples={args.samples} model_load={load:.2f}s")
    print(f"read at {args.max_side}px: median {med(budget):.2f}s")
    print(f"read at full resolution: median {med(full):.2f}s")
    print(f"judge one zoom candidate (original cached): median {med(judged):.2f}s")
    print(f"zoom judged helpful: {helpful}/{args.samples}")


if __name__ == "__main__":
    main()
