"""A run's shards on worker processes: every core of this machine, or a Dask cluster's.

One process shares one GIL and one OCR engine; ``--workers N`` puts the shards on N worker
processes of a local Dask cluster (or on the workers of a running scheduler), each with
its own OCR engine and a share of the cores for it. Which worker runs which shard, and in
which order they finish, changes no row: a shard's rows depend only on the shards before
it, and :func:`atlas_data.run.driver.drive` redoes any shard that ran before an earlier
one was committed (the cross-shard dedup repair), so the row set is the one of a run in
shard order. Workers share nothing but the run's storage (a folder, or an object store:
no shared filesystem needed) and, with ``--max-cost``, its spend notes (see
:class:`~atlas_data.run.ledger.LiveSpend`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from atlas_data.config import RunConfig
from atlas_data.explore.text import OCR_THREADS
from atlas_data.llm import stops
from atlas_data.llm.prices import metering
from atlas_data.llm.stops import RunStopped
from atlas_data.run.ledger import SpendCap
from atlas_data.run.plan import RunPlan
from atlas_data.run.shard import run_shard
from atlas_data.store.manifest import ShardRecord

WORKERS_ENV = "ATLAS_DATA_WORKERS"  # the default of --workers, when set


def cgroup_cpus(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup, in cores (v2 ``cpu.max``, v1 CFS quota), or
    None when there is none."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def available_cores() -> int:
    """The cores this process may use: its CPU affinity, within its cgroup's quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = cgroup_cpus()
    if quota is not None:
        cores = min(cores or 1, max(1, math.floor(quota)))
    return max(1, cores or 1)


def default_workers() -> int:
    """``--workers``' default: ``$ATLAS_DATA_WORKERS`` if set, else every available core."""
    given = os.environ.get(WORKERS_ENV)
    return int(given) if given else available_cores()


def workers_for(plan: RunPlan) -> int:
    """Worker processes this run uses: ``--workers`` (or its default), never more than the
    run has shards."""
    workers = plan.config.workers or default_workers()
    count = plan.shard_count()
    return max(1, min(workers, count) if count is not None else workers)


@dataclass(frozen=True)
class Stopped:
    """A shard stopped by a :class:`RunStopped` (the spending cap, an unreachable teacher):
    sent back as a value, since the exception does not always survive Dask's pickling, and
    raised again, as its own class, by the caller."""

    kind: str
    message: str

    def exception(self) -> RunStopped:
        cls = getattr(stops, self.kind, RunStopped)
        return cls(self.message) if issubclass(cls, RunStopped) else RunStopped(self.message)


def peak_rss() -> int:
    """This process's peak resident memory in bytes: ``VmHWM`` where Linux has it (its
    ``ru_maxrss`` survives ``exec``, so a spawned worker would report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


_PLANS: dict[str, RunPlan] = {}


def _plan_of(config: RunConfig) -> RunPlan:
    """The plan of ``config``, resolved once per worker process."""
    key = json.dumps(asdict(config), sort_keys=True, default=str)
    if key not in _PLANS:
        _PLANS[key] = RunPlan.resolve(config)
    return _PLANS[key]


def shard_on_worker(
    config: RunConfig, index: int, redo: bool, cap: SpendCap | None
) -> tuple[ShardRecord | Stopped, int, str]:
    """One shard, in a worker process, metered against the invocation's shared cap;
    returns its record (without its dedup keys: they stay in storage), the process's peak
    resident memory in bytes, and which process it was."""
    plan = _plan_of(config)
    plan.spend_cap = cap
    meter = plan.meter()
    try:
        if meter is not None and not plan.run_dir.is_done(index):
            meter.check()  # past the cap a queued shard stops before it explores anything
        with metering(meter):
            record: ShardRecord | Stopped = run_shard(plan, index, redo)
    except RunStopped as exc:  # a planned stop travels back as a value (see Stopped)
        record = Stopped(type(exc).__name__, str(exc))
    peak = peak_rss()
    if isinstance(record, ShardRecord):
        record = replace(record, keys=[], near=[])
    return record, peak, f"{socket.gethostname()}:{os.getpid()}"


class Workers:
    """Shards on Dask worker processes: a local cluster of ``n``, or the scheduler at
    ``address``. :meth:`map_shards` is the driver's ``MapShards``."""

    def __init__(
        self,
        plan: RunPlan,
        client: object,
        on_shard: Callable[[ShardRecord], None] | None = None,
    ) -> None:
        self.plan, self.client, self.on_shard = plan, client, on_shard
        self.peak_rss: dict[str, int] = {}  # worker (host:pid) -> peak resident bytes

    def map_shards(self, indices: list[int], redo: bool) -> list[ShardRecord]:
        from distributed import Client, as_completed

        client = self.client
        assert isinstance(client, Client)
        tag = uuid.uuid4().hex[:8]
        config, cap = self.plan.config, self.plan.spend_cap
        futures = [
            client.submit(shard_on_worker, config, i, redo, cap, key=f"shard-{i}-{tag}", pure=False)
            for i in indices
        ]
        done: dict[int, ShardRecord] = {}
        stopped: RunStopped | None = None
        try:
            for future in as_completed(futures):
                record, peak, worker = future.result()  # a shard's failure is raised here
                if isinstance(record, Stopped):
                    # e.g. the cap: the other shards stop at their next request and record
                    # what they paid, so every one is let finish
                    stopped = stopped or record.exception()
                    continue
                self.peak_rss[worker] = max(self.peak_rss.get(worker, 0), peak)
                done[record.shard] = record
                if self.on_shard:
                    self.on_shard(record)
        except BaseException:
            client.cancel(futures)
            raise
        if stopped is not None:
            raise stopped
        return [done[i] for i in indices]


def local_cluster(n: int) -> dict[str, Any]:
    """A local Dask cluster of ``n`` worker processes, as ``LocalCluster`` takes it: one
    shard at a time each, ``cores / n`` OCR threads each, no dashboard."""
    return {
        "n_workers": n,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "memory_limit": 0,  # a worker's peak is documented (docs/cluster.md), not policed
        "env": {OCR_THREADS: str(max(1, available_cores() // n)), WORKERS_ENV: "1"},
    }


@contextmanager
def worker_processes(
    plan: RunPlan,
    n: int,
    address: str | None = None,
    on_shard: Callable[[ShardRecord], None] | None = None,
) -> Iterator[Workers]:
    """``n`` worker processes of a local Dask cluster (each in its own scratch folder, with
    ``cores / n`` OCR threads), or the workers of the scheduler at ``address``."""
    from distributed import Client, LocalCluster

    if address:
        with Client(address) as client:
            yield Workers(plan, client, on_shard)
        return
    with tempfile.TemporaryDirectory(prefix="atlas-data-workers-") as scratch:
        cluster = LocalCluster(
            **local_cluster(n), local_directory=scratch, silence_logs=logging.ERROR
        )
        with cluster, Client(cluster) as client:
            yield Workers(plan, client, on_shard)
