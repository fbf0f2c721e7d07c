"""What the drawing needs cost: a real-photo-like run with points (counting, alignment)
against the same records without their points, in one process, interleaved.

The corpus is ``tests/photo_corpus.py`` (1600x1200 textured photos: dots, labelled points,
discs, letters around an anchor, and controls). With points, counting and alignment records
become numbered marks (a zoom first on crowded dots) and lines; their help rules run (the
arrow's counts things in the pixels). Without points the same records fall back to what
their boxes give, or to nothing. Both runs use the defaults (annotation and OCR judges;
boxes, scan, text and salient proposers) and the template teacher, each in a fresh run
folder; the best of ``--repeats`` rounds is kept for each.

    python -m benchmarks.drawing_needs [--scale 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from atlas_data.config import RunConfig
from atlas_data.run.driver import run
from benchmarks.common import header, ratio_line
from tests.photo_corpus import write


def one_run(root: Path, out: Path) -> tuple[float, int, dict[str, int]]:
    """Seconds per sample, samples, and tokens of one fresh run over ``root``."""
    config = RunConfig(
        source="local",
        source_options={"root": str(root), "questions": "questions.jsonl"},
        split="sft",
        out=str(out),
    )
    t0 = time.perf_counter()
    manifest = run(config)
    seconds = time.perf_counter() - t0
    return seconds / manifest.counts.samples, manifest.counts.samples, manifest.counts.tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=2, help="records of each kind x this")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    header("drawing needs on photo-like records vs the same records without points")
    with tempfile.TemporaryDirectory(prefix="atlas-bench-drawing-") as tmp:
        base = Path(tmp)
        write(base / "with", seed=7, scale=args.scale)
        write(base / "without", seed=7, with_annotations=False, scale=args.scale)
        best = {"with": float("inf"), "without": float("inf")}
        for r in range(args.repeats):
            for kind in ("without", "with"):  # interleaved: both see the same machine state
                per, n, tokens = one_run(base / kind, base / f"runs-{kind}-{r}")
                best[kind] = min(best[kind], per)
                print(
                    f"round {r} {kind:>7} points: {per * 1000:7.1f} ms/sample over {n} "
                    f"samples, tokens {tokens}"
                )
    print(
        f"best: with points {best['with'] * 1000:.1f} ms/sample, "
        f"without {best['without'] * 1000:.1f} ms/sample"
    )
    ratio_line("time per sample with / without points", best["with"] / best["without"], "<= 1.5")


if __name__ == "__main__":
    main()
