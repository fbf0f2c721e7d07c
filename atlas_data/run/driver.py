"""The one driver of shards, for the library, the CLI and the Prefect flow alike.

:func:`drive` is given a ``map_shards`` that decides *where* shards run (here in order;
in ``flows/`` as Prefect tasks on threads or Dask) and does the rest: the passes over
unfinished shards (and, with ``--teacher-batch``, the batches between them), the repair of
cross-shard dedup after a concurrent run, and the manifest, written last. The plan is
:mod:`atlas_data.run.plan`, one shard :mod:`atlas_data.run.shard`, the spend
:mod:`atlas_data.run.ledger`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from atlas_data import __version__
from atlas_data.config import RunConfig
from atlas_data.dedup.kept import shards_to_redo
from atlas_data.llm.batch import REQUESTS_FILE, Progress, vllm_command
from atlas_data.llm.client import EndpointConfig
from atlas_data.llm.prices import meter, metering
from atlas_data.llm.stops import AwaitingResults, RunStopped
from atlas_data.run.ledger import cost_of
from atlas_data.run.plan import RunPlan
from atlas_data.run.shard import run_shard
from atlas_data.store.manifest import (
    Counts,
    Filters,
    Manifest,
    Quality,
    ShardRecord,
    SourceTaken,
    Timing,
)
from atlas_data.store.schemas import ROW_SCHEMAS, SCHEMA_VERSION, schema_hash

# (shard indices, redo) -> their completion records; where and how they run is the caller's.
MapShards = Callable[[list[int], bool], Iterable[ShardRecord]]
MAX_BATCH_ROUNDS = 20  # passes of a batch run: resubmissions after expiries and retries


def drive(
    plan: RunPlan,
    map_shards: MapShards,
    wave: int = 1,
    on_batch: Progress | None = None,
    on_pass: Callable[[int], None] | None = None,
) -> Manifest:
    """Run (or resume) every shard not done yet, repair cross-shard dedup, write the manifest.

    A source of known size is mapped in one call; a stream of unknown length in waves of
    ``wave`` shards until a shard comes back short. With ``--teacher-batch``, passes and
    batches alternate (:func:`batch_passes`); ``on_batch`` sees (requests done, submitted)
    and ``on_pass`` the samples each pass starts on.
    Raises :class:`~atlas_data.llm.stops.RunStopped` subclasses: the run stops, resumable.
    """
    run_dir = plan.run_dir
    run_dir.loc.makedirs()
    run_dir.clean_temporaries()
    t0 = time.perf_counter()
    cap = plan.start_spending()
    try:
        with metering(plan.meter()):
            if plan.config.teacher_batch != "off":
                processed = batch_passes(plan, map_shards, on_batch, on_pass)
            else:
                processed = _passes(plan, map_shards, wave)
            # only after a concurrent run was cut short
            redo = shards_to_redo(run_dir.records(), plan.config.dedup_bits)
            if redo:
                list(map_shards(redo, True))
    finally:
        if cap is not None:
            cap.end(run_dir)
    return finalize(plan, time.perf_counter() - t0, processed)


def _passes(plan: RunPlan, map_shards: MapShards, wave: int) -> int:
    run_dir, processed, count, start = plan.run_dir, 0, plan.shard_count(), 0
    while True:
        indices = list(range(start, count) if count is not None else range(start, start + wave))
        todo = {i for i in indices if not run_dir.is_done(i)}
        processed += sum(r.samples for r in map_shards(indices, False) if r.shard in todo)
        if count is not None or _stream_ended(run_dir.records(), plan.config.shard_size):
            return processed
        start += wave


def batch_passes(
    plan: RunPlan,
    map_shards: MapShards,
    on_batch: Progress | None = None,
    on_pass: Callable[[int], None] | None = None,
) -> int:
    """Passes over the unfinished shards, each followed by the batches of what it deferred,
    until every shard is committed (see :mod:`atlas_data.llm.batch`)."""
    batches = plan.batches()
    count = plan.shard_count() or 0
    processed = 0
    for _ in range(MAX_BATCH_ROUNDS):
        if batches.mode == "api":
            batches.settle(on_batch)  # batches a killed run left in flight come in first
        else:
            batches.apply_results()
        batches.spool.clear()
        todo = [i for i in range(count) if not plan.run_dir.is_done(i)]
        if on_pass:
            on_pass(sum(plan.bounds(i)[1] - plan.bounds(i)[0] for i in todo))
        records = list(map_shards(todo, False)) if todo else []
        processed += sum(r.samples for r in records)
        if not any(r.deferred for r in records):
            return processed
        if batches.mode == "file":
            waiting = batches.awaiting()
            written = batches.write_requests(batches.to_send()) if waiting is None else None
            model = EndpointConfig.of_teacher(plan.config.teacher_options).model
            folder = batches.folder
            what = (
                f"wrote {written.requests} teacher requests to {folder / REQUESTS_FILE}"
                if written
                else f"waiting for the results of {folder / REQUESTS_FILE}"
            )
            raise AwaitingResults(
                f"{what}. Run them on your GPUs:\n  {vllm_command(folder, model)}\n"
                "then rerun this same command: it reads the results and finishes the run"
            )
        capped = meter()
        if capped is not None:
            capped.check()  # no new batch past the cap
        if not batches.submit(batches.to_send()) and not batches.open_ids():
            raise RunStopped(
                "a batch pass deferred requests that no batch can answer (the teacher's "
                "prompts changed between passes?); rerun, or run without --teacher-batch"
            )
    raise RunStopped(
        f"the batches did not settle in {MAX_BATCH_ROUNDS} rounds; see "
        f"{batches.path} and rerun to go on"
    )


def _stream_ended(records: list[ShardRecord], shard_size: int) -> bool:
    return any(r.samples < shard_size for r in records)


def in_order(plan: RunPlan, on_item: Callable[[], None] | None = None) -> MapShards:
    """The library's ``map_shards``: one shard after another, in this process."""

    def map_shards(indices: list[int], redo: bool) -> Iterator[ShardRecord]:
        for index in indices:
            yield run_shard(plan, index, redo, on_item)

    return map_shards


def run(config: RunConfig, on_item: Callable[[], None] | None = None) -> Manifest:
    """Run (or resume) a whole run on ``--workers`` processes (one: in this process, where
    ``on_item`` sees each sample); returns the manifest."""
    from atlas_data.run.workers import worker_processes, workers_for

    plan = RunPlan.resolve(config)
    n = workers_for(plan)
    if n == 1:
        return drive(plan, in_order(plan, on_item))
    with worker_processes(plan, n) as workers:
        return drive(plan, workers.map_shards, wave=n)


def finalize(plan: RunPlan, wall_seconds: float | None = None, processed: int = 0) -> Manifest:
    """The manifest (written last, atomically): the sum of the shards' records.

    ``processed`` (the samples of the shards this invocation ran, not resumed ones) over
    ``wall_seconds`` is the throughput reported: resumed shards took no time now.
    """
    run = plan.run_dir
    records = run.records()
    count = plan.shard_count()
    if count is None:  # a stream: complete once a short shard was seen
        short = [r.shard for r in records if r.samples < plan.config.shard_size]
        count = min(short) + 1 if short else max((r.shard for r in records), default=0) + 2
    missing = sorted(set(range(count)) - {r.shard for r in records})
    total = ShardRecord.total(records)
    manifest = Manifest(
        run_id=plan.run_id,
        config=plan.config,
        atlas_data_version=__version__,
        complete=not missing,
        missing_shards=missing,
        preset=plan.config.preset,
        teacher=plan.teacher_identity,
        vocabulary=plan.vocab.to_json(),
        vocab_hash=plan.vocab.hash,
        schema_version=SCHEMA_VERSION,
        schemas={k: schema_hash(s) for k, s in ROW_SCHEMAS.items()},
        source=SourceTaken(
            records=plan.records_in_source,
            taken=plan.total if plan.total is not None else total.samples,
            n=plan.config.n,
            summary=plan.taken(),
        ),
        counts=Counts.of(total),
        quality=Quality.of(total),
        teacher_usage=total.usage,
        cost=cost_of(run, plan.price_book()),
        filters=Filters(
            benchmarks=plan.filters.describe() if plan.filters else [],
            contaminated=dict(total.contaminated),
            near_duplicates=total.reasons["near_duplicate"],
            dedup_bits=plan.config.dedup_bits,
        ),
        timing=Timing(
            shard_seconds=round(total.seconds, 3),
            wall_seconds=round(wall_seconds, 3) if wall_seconds is not None else None,
            samples_this_run=processed,
            samples_per_second=round(processed / wall_seconds, 3)
            if wall_seconds and processed
            else None,
        ),
        files=run.committed_files(records),
    )
    run.write_manifest(manifest)
    return manifest
