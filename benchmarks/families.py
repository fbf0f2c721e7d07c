"""Benchmark 7: what each synthetic family costs to generate, against encoding its image,
and the whole default run's speed against the 16-family default it grew from.

For every family, ``--per-family`` scenes at the default 1600×1200 are generated, and the
same images are then encoded as the store encodes results (``encode_png``): a cost every
sample pays anyway. Prints ms per scene for both and the whole set's
``generation / encoding`` ratio (one core). With ``--run N``, it then runs N samples of
the default and N samples of the 16 families the default had before issue 30, through
the whole pipeline in one process each, after an untimed warm-up run, interleaved over
``--rounds`` (round r draws seed r, so more rounds average over more samples: a round's
time varies by 20 % with its seed), and prints the samples per second of both and their
ratio (the default's may drop by at most 10 %).

    python -m benchmarks.families [--per-family 12] [--run 192 --rounds 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from atlas_data.config import RunConfig
from atlas_data.ops.image_io import encode_png
from atlas_data.run.driver import run
from atlas_data.sources.synthetic import FAMILIES, SyntheticSource
from benchmarks.common import header, ratio_line, synthetic_image, timed

# The embedded default when issue 30 was filed: the baseline of the run-speed ratio.
SIXTEEN = ("small_text", "counting", "odd_one", "geometry", "direction", "bar_chart", "clock",
           "count_inside", "flow", "gauge", "receipt", "relative_position", "ruler", "sign",
           "spot_difference", "table")  # fmt: skip


def run_speed(n: int, rounds: int) -> None:
    """Samples per second of the default against the 16-family default, same size."""
    seconds = {"default": 0.0, "sixteen": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        # a small run first, untimed: loading the OCR models and first imports are not
        # what either default costs per sample
        run(RunConfig(n=4, seed=10_000, workers=1, out=str(Path(tmp) / "warm-up")))
        for r in range(rounds):  # interleaved: a slow spell of the machine hits both
            for which in ("default", "sixteen") if r % 2 == 0 else ("sixteen", "default"):
                options = {"families": ",".join(SIXTEEN)} if which == "sixteen" else {}
                config = RunConfig(n=n, seed=r, workers=1, source_options=options,
                                   out=str(Path(tmp) / f"{which}-{r}"))  # fmt: skip
                t0 = time.perf_counter()
                manifest = run(config)
                seconds[which] += time.perf_counter() - t0
                print(f"round {r} {which}: {manifest.counts.kept} of {n} kept in "
                      f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
    speed = {k: n * rounds / v for k, v in seconds.items()}
    print(f"default ({len(FAMILIES)} families): {speed['default']:.2f} samples/s; "
          f"the 16 of before: {speed['sixteen']:.2f} samples/s")  # fmt: skip
    ratio_line("default / 16-family samples per second", speed["default"] / speed["sixteen"],
               ">= 0.9")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=12, help="scenes per family")
    parser.add_argument("--run", type=int, default=0, help="samples per end-to-end run")
    parser.add_argument("--rounds", type=int, default=2, help="end-to-end rounds")
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
    if args.run:
        run_speed(args.run, args.rounds)


if __name__ == "__main__":
    main()
