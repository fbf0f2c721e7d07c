"""A batch run explores each sample once: OCR reads per sample of a ``--teacher-batch api``
run against the same run sent live, on the stand-in server (``tests/openai_server.py``).

A batch run makes two passes over a shard: the first explores and defers its teacher
requests, the second writes the rows once the batch answered. The second starts from what
the first explored (``_batches/explored/``), so the OCR engine, the costliest part of
exploring, reads as often as in a live run. ``--families`` picks text-reading families,
where the OCR judge reads.

    python -m benchmarks.batch_explore [--n 64]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from atlas_data.config import RunConfig
from atlas_data.explore.text import OcrEngine
from atlas_data.run.driver import run
from benchmarks.common import header, ratio_line
from tests.openai_server import ServerThread

READS = [0]


def _counting() -> None:
    real = OcrEngine._call

    def counted(self: OcrEngine, *args: Any, **kw: Any) -> Any:
        READS[0] += 1
        return real(self, *args, **kw)

    OcrEngine._call = counted  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--families", default="small_text,receipt,sign,table")
    args = ap.parse_args()
    header("OCR reads per sample: --teacher-batch api vs live (stand-in server)", "rapidocr")
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    _counting()
    per_sample = {}
    with ServerThread() as server, tempfile.TemporaryDirectory() as tmp:
        server.state.batch_seconds = 0.05
        for mode in ("off", "api"):
            config = RunConfig(
                n=args.n,
                seed=2,
                shard_size=16,
                source_options={"families": args.families},
                teacher="openai",
                teacher_options={
                    "model": "stand-in-vlm",
                    "base_url": server.base_url,
                    "cache_dir": str(Path(tmp) / f"cache-{mode}"),
                    "batch_poll": 0.05,
                },
                teacher_batch=mode,
                out=str(Path(tmp) / f"runs-{mode}"),
            )
            READS[0] = 0
            t0 = time.perf_counter()
            manifest = run(config)
            seconds = time.perf_counter() - t0
            per_sample[mode] = READS[0] / manifest.counts.samples
            name = "live" if mode == "off" else "batch"
            print(
                f"{name:>5}: {READS[0]} OCR reads over {manifest.counts.samples} samples "
                f"({per_sample[mode]:.2f} per sample), {manifest.counts.kept} kept, "
                f"{seconds:.1f} s"
            )
    ratio_line("batch / live OCR reads per sample", per_sample["api"] / per_sample["off"], "1.0")


if __name__ == "__main__":
    main()
