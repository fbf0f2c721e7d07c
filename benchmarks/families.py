"""Benchmark 7: what each synthetic family costs to generate, against encoding its image.

For every family, ``--per-family`` scenes at the default 1600×1200 are generated, and the
same images are then encoded as the store encodes results (``encode_png``): a cost every
sample pays anyway. Prints ms per scene for both and, last, the whole set's
``generation / encoding`` ratio (one core).

    python -m benchmarks.families [--per-family 12]
"""

from __future__ import annotations

import argparse

from atlas_data.ops.image_io import encode_png
from atlas_data.sources.synthetic import FAMILIES, SyntheticSource
from benchmarks.common import header, ratio_line, synthetic_image, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=12, help="scenes per family")
    args = parser.parse_args()
    header("synthetic families: generation vs PNG encoding (one core)")
    n = args.per_family
    total_gen = total_enc = 0.0
    print(f"{'family':<18} {'generate ms':>12} {'encode ms':>10}")
    for name in FAMILIES:
        source = SyntheticSource(n, seed=0, families=[name])
        with timed() as gen:
            images = [synthetic_image(s) for s in source]
        with timed() as enc:
            for image in images:
                encode_png(image)
        total_gen, total_enc = total_gen + gen(), total_enc + enc()
        print(f"{name:<18} {1000 * gen() / n:>12.1f} {1000 * enc() / n:>10.1f}")
    scenes = n * len(FAMILIES)
    print(f"all {len(FAMILIES)} families: {scenes / total_gen:.1f} scenes/s generated")
    ratio_line("generation / PNG encoding", total_gen / total_enc, "report")


if __name__ == "__main__":
    main()
