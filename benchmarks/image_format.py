"""The default run with ``--image-format auto`` against ``--image-format png``, interleaved.

Both are the embedded default run (``atlas-data run --split sft``, template teacher, 16
families), in this process, one after the other in alternating order (``png``, ``auto``,
``png``, ``auto``...), so that a machine that speeds up or slows down during the command
affects both alike. Each run reports the samples/s of its manifest (``timing``) and the
stored bytes per kept row (every image struct of the ``sft`` rows: ``images``, the source
image, and ``observations``, the operation results).

    python -m benchmarks.image_format [--n 300] [--rounds 2]

RATIO is auto's samples/s over png's (the median round of each).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import duckdb

from atlas_data.config import RunConfig
from atlas_data.run.driver import run
from benchmarks.common import header, ratio_line
from tests.runs import run_folder


def stored_bytes(cfg: RunConfig) -> tuple[int, int]:
    """(bytes of every stored image, kept rows) of a finished run."""
    folder = run_folder(cfg)
    size = "coalesce(list_sum(list_transform({}, lambda o: octet_length(o.bytes))), 0)"
    query = (
        f"select sum({size.format('images')} + {size.format('observations')}), count(*) "
        f"from '{folder}/sft/*.parquet'"
    )
    found = duckdb.connect().execute(query).fetchone()
    total, rows = found if found else (0, 0)
    return int(total or 0), int(rows or 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    header(f"--image-format auto vs png, atlas-data run --split sft --n {args.n}", "pyarrow")
    speed: dict[str, list[float]] = {"png": [], "auto": []}
    size: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="atlas-bench-format-") as tmp:
        for k in range(args.rounds):
            for fmt in ("png", "auto") if k % 2 == 0 else ("auto", "png"):
                cfg = RunConfig(
                    split="sft", n=args.n, image_format=fmt, out=str(Path(tmp) / f"{fmt}-{k}")
                )
                manifest = run(cfg)
                sps = manifest.timing.samples_per_second or 0.0
                speed[fmt].append(sps)
                size[fmt] = stored_bytes(cfg)
                print(f"round {k} {fmt:>4}: {sps:.2f} samples/s, kept {manifest.counts.kept}")
    for fmt in ("png", "auto"):
        total, rows = size[fmt]
        print(
            f"{fmt:>4}: median {statistics.median(speed[fmt]):.2f} samples/s; stored images "
            f"{total / max(rows, 1) / 1024:.0f} KiB per kept row ({total / 2**20:.1f} MiB in all)"
        )
    ratio = statistics.median(speed["auto"]) / statistics.median(speed["png"])
    ratio_line("auto_over_png_samples_per_second", ratio, ">= 1.4")


if __name__ == "__main__":
    main()
