"""Benchmark 1: the explore stage against the floor every pipeline pays (decode + encode).

On a fixed set of synthetic images at 1024x768 and 2048x1536 (stored as PNG bytes, as a
source would hand them over), one core:

- floor: decode the source (``load_image``) and encode the operation results that explore
  produces for it (``encode_png``, the store's settings). No pipeline can do less.
- explore: decode + propose candidates + judge them (annotation judge) + run the chosen
  operations + encode their results.
- explore, eager: the same, but every candidate is run on the pixels, as a pixel-based
  judge (OCR, answer-flip) needs; shows what lazy application saves.

Prints samples/s per core for each and, last, ``explore / floor`` (target >= 0.5).
``--profile`` runs pyinstrument over the explore loop and prints where the time goes.

    python -m benchmarks.explore_vs_io [--per-size 24] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable

from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.explore import explore
from atlas_data.explore.judges.annotation import AnnotationJudge
from atlas_data.explore.proposers.boxes import need_proposals
from atlas_data.explore.search import complete_needs
from atlas_data.ops.frame import Frame
from atlas_data.ops.image_io import encode_png, load_image
from atlas_data.sources.base import SourceSample
from atlas_data.sources.synthetic import SyntheticSource
from atlas_data.tokens import DEFAULT_VOCABULARY
from benchmarks.common import header, ratio_line, timed

BUDGET = RunConfig().budget()  # the default run's view

SIZES = ((1024, 768), (2048, 1536))


def fixed_set(per_size: int) -> list[tuple[SourceSample, bytes]]:
    """Samples of every task family at both sizes, with their PNG bytes (made once); easy
    variants, which need no operation, are left out."""
    out = []
    for size in SIZES:
        for s in SyntheticSource(per_size, seed=11, size=size):
            assert isinstance(s.image, Image.Image)
            if not s.annotations.get("easy"):
                out.append((s, encode_png(s.image)))
    return out


def floor_once(items: list[tuple[SourceSample, bytes, list[Image.Image]]]) -> None:
    for _, data, results in items:
        load_image(data)
        for r in results:
            encode_png(r)


def explore_once(items: list[tuple[SourceSample, bytes, list[Image.Image]]]) -> None:
    judges = [AnnotationJudge(BUDGET)]
    for sample, data, _ in items:
        image = load_image(data).image
        found = explore(sample, image, judges, DEFAULT_VOCABULARY, 0, (), BUDGET)
        for step in found.steps:
            encode_png(step.result)


def eager_once(items: list[tuple[SourceSample, bytes, list[Image.Image]]]) -> None:
    """Every candidate is applied to the pixels (what a pixel judge would need)."""
    for sample, data, _ in items:
        image = load_image(data).image
        sample = complete_needs(sample, image.size, BUDGET)
        for need in sample.needs:
            for op in need_proposals(need, Frame(image.size), sample, 0):
                with contextlib.suppress(ValueError):
                    op.apply(image)
        found = explore(sample, image, [AnnotationJudge(BUDGET)], DEFAULT_VOCABULARY, 0, (), BUDGET)
        for step in found.steps:
            encode_png(step.result)


def best_rate(fn: Callable[[], None], n: int, repeats: int) -> float:
    """Samples/s of the fastest of ``repeats`` passes (the least disturbed one)."""
    best = float("inf")
    for _ in range(repeats):
        with timed() as elapsed:
            fn()
        best = min(best, elapsed())
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-size", type=int, default=24, help="samples per image size")
    parser.add_argument("--repeats", type=int, default=3, help="passes; the fastest counts")
    parser.add_argument("--profile", action="store_true", help="pyinstrument the explore pass")
    args = parser.parse_args()
    header("explore vs decode+encode (one core)")

    base = fixed_set(args.per_size)
    judges = [AnnotationJudge(BUDGET)]
    items = []
    candidates = 0
    for sample, data in base:
        image = load_image(data).image
        found = explore(sample, image, judges, DEFAULT_VOCABULARY, 0, (), BUDGET)
        candidates += sum(n for k, n in found.counts.items() if k.endswith(":proposed"))
        items.append((sample, data, [s.result for s in found.steps]))
    n = len(items)
    print(f"fixed set: {n} samples ({args.per_size} at each of {SIZES}), {candidates} candidates")

    floor = best_rate(lambda: floor_once(items), n, args.repeats)
    lazy = best_rate(lambda: explore_once(items), n, args.repeats)
    eager = best_rate(lambda: eager_once(items), n, args.repeats)
    print(f"floor   (decode + encode results)      {floor:8.1f} samples/s/core")
    print(f"explore (annotation judge, lazy ops)   {lazy:8.1f} samples/s/core")
    print(f"explore (every candidate applied)      {eager:8.1f} samples/s/core")

    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        explore_once(items)
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))

    ratio_line("explore / floor", lazy / floor, ">= 0.5")


if __name__ == "__main__":
    main()
