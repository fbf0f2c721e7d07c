"""Per-task Prefect overhead vs the work of one shard: ``python -m benchmarks.prefect_overhead``.

Talks to the server in ``PREFECT_API_URL`` (start one with ``prefect server start``, or
let this script start a private one). Prints the mean wall time of a no-op task submitted
from a flow, of a ``shard`` task whose shard is already done on disk (all orchestration:
cache key, state round trips, result persistence), and the work per sample of a real
shard, then the share orchestration takes at a few shard sizes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path


def measure(tasks: int, samples: int) -> dict[str, float]:
    from prefect import flow, task

    from atlas_data.config import RunConfig
    from atlas_data.run.plan import RunPlan
    from atlas_data.run.shard import process_shard
    from flows.synth import synth

    @task
    def noop(i: int) -> int:
        return i

    @flow
    def many_noops(k: int) -> float:
        t0 = time.perf_counter()
        for f in [noop.submit(i) for i in range(k)]:
            f.result()
        return (time.perf_counter() - t0) / k

    @flow
    def sequential_noops(k: int) -> float:
        t0 = time.perf_counter()
        for i in range(k):
            noop(i)
        return (time.perf_counter() - t0) / k

    many_noops(3)  # warm-up: imports, first client connection
    noop_submitted = many_noops(tasks)
    noop_sequential = sequential_noops(tasks)

    out = tempfile.mkdtemp(prefix="atlas-overhead-")
    config = RunConfig(n=samples, shard_size=samples, out=out)
    record = process_shard(RunPlan.resolve(config), 0)
    per_sample = record.seconds / record.samples
    # The same flow over `tasks` finished one-sample shards: each task only checks the disk.
    done = RunPlan.resolve(RunConfig(n=tasks, shard_size=1, out=out))
    for i in range(tasks):
        process_shard(done, i)
    t0 = time.perf_counter()
    synth(n=tasks, shard_size=1, out=out, concurrency=1)
    skipped_flow = time.perf_counter() - t0
    return {
        "noop_task_submitted_s": noop_submitted,
        "noop_task_sequential_s": noop_sequential,
        "shard_flow_per_skipped_shard_s": skipped_flow / tasks,
        "work_per_sample_s": per_sample,
    }


def main() -> int:
    tasks = int(os.environ.get("TASKS", "40"))
    samples = int(os.environ.get("SAMPLES", "32"))
    with ExitStack() as stack:
        if not os.environ.get("PREFECT_API_URL"):
            from flows.local_run import free_port, prefect_env, prefect_server

            home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            env = prefect_env(home, free_port())
            stack.enter_context(prefect_server(env, home / "server.log", 180))
            os.environ.update(env)
        m = measure(tasks, samples)
    for k, v in m.items():
        print(f"{k:34s} {v * 1000:8.1f} ms")
    overhead = max(m["noop_task_submitted_s"], m["shard_flow_per_skipped_shard_s"])
    for size in (8, 16, 32, 64, 128, 256):
        work = size * m["work_per_sample_s"]
        print(f"shard_size {size:4d}: orchestration {overhead / (overhead + work):6.1%} of a task")
    return 0


if __name__ == "__main__":
    sys.exit(main())
