"""Every core: the default run on ``--workers N`` processes against one process, in one
command, and each worker's peak memory.

Both runs take the same samples (the embedded default, the same seed) into fresh folders;
the rows are compared (they must be identical) and the samples per second of each are
printed with their ratio. On an idle machine of N cores the ratio approaches N minus the
cluster's start (a few seconds: the workers import the package and build their OCR engine).

    python -m benchmarks.workers [--n 256] [--workers N] [--shard-size 16]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from atlas_data.config import RunConfig
from atlas_data.run.driver import drive, in_order
from atlas_data.run.plan import RunPlan
from atlas_data.run.workers import available_cores, peak_rss, worker_processes
from atlas_data.store.run import open_run
from benchmarks.common import header, ratio_line


def rows(root: str) -> list[tuple]:
    with open_run(root) as r:
        return r.sql("SELECT id, text FROM sft ORDER BY id")[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--workers", type=int, default=available_cores())
    ap.add_argument("--shard-size", type=int, default=16)
    args = ap.parse_args()
    header(f"the default run on {args.workers} worker processes vs 1 process", "distributed")
    speed: dict[int, float] = {}
    found: dict[int, list[tuple]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, args.workers):
            config = RunConfig(n=args.n, shard_size=args.shard_size, workers=workers,
                               out=str(Path(tmp) / f"w{workers}"))  # fmt: skip
            plan = RunPlan.resolve(config)
            t0 = time.perf_counter()
            if workers == 1:
                manifest = drive(plan, in_order(plan))
                peaks = {"this process": peak_rss()}
            else:
                with worker_processes(plan, workers) as pool:
                    manifest = drive(plan, pool.map_shards, wave=workers)
                    peaks = pool.peak_rss
            seconds = time.perf_counter() - t0
            speed[workers] = args.n / seconds
            found[workers] = rows(plan.run_dir.url)
            memory = ", ".join(f"{p / 2**20:.0f} MiB" for p in sorted(peaks.values()))
            print(
                f"{workers} worker(s): {seconds:.1f} s wall, {speed[workers]:.2f} samples/s, "
                f"{manifest.counts.kept} kept; peak memory per process: {memory}"
            )
    same = found[1] == found[args.workers]
    print(f"rows identical: {same} ({len(found[1])} SFT rows)")
    ratio_line(
        f"samples/s on {args.workers} workers / on 1 process",
        speed[args.workers] / speed[1],
        f"near {args.workers} on an idle machine of {args.workers} cores",
    )
    if not same:
        raise SystemExit("the rows differ between 1 and N workers")


if __name__ == "__main__":
    main()
