"""The ``synth`` flow: thin Prefect orchestration over :func:`atlas_data.run.driver.drive`.

The flow's parameters are generated from :class:`~atlas_data.config.RunConfig` (every
option a CLI run has, with the same defaults and help, ``workers`` and ``out`` among them)
plus three of its own that say only *where* shards run: ``concurrency``, ``task_runner``
and ``dask_address``. Unknown keys
are an error that names the known ones.

One task per shard (a batch of ``shard_size`` samples), never per sample: a task costs
tens of milliseconds of orchestration (see docs/prefect.md), a 64-sample shard seconds.
The driver decides which shards to run and repairs cross-shard dedup; this module only
submits them. Resume has two layers: the shard's on-disk completion record is the source
of truth (a task whose shard is done returns its record without work), and on top
Prefect's cache is keyed on run id + shard index, so a finished run shows ``Cached``.
"""

from __future__ import annotations

import inspect
import re
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.context import TaskRunContext
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from atlas_data.config import RunConfig, options
from atlas_data.extras import require
from atlas_data.inspect.summary import summary_rows
from atlas_data.llm.prices import metering
from atlas_data.run.driver import drive
from atlas_data.run.ledger import SpendCap
from atlas_data.run.plan import RunPlan
from atlas_data.run.shard import run_shard
from atlas_data.run.workers import local_cluster, workers_for
from atlas_data.store.location import is_url
from atlas_data.store.manifest import Manifest, ShardRecord

TaskRunnerName = Literal["thread", "dask"]
# Orchestration-only parameters: where shards run, never what they contain.
ORCHESTRATION: dict[str, tuple[Any, Any, str]] = {
    "concurrency": (int, 2, "Shards run at once on threads (task_runner thread)."),
    "task_runner": (
        TaskRunnerName,
        "thread",
        "thread (a local pool) or dask (dask_address, or a local cluster of `workers`).",
    ),
    "dask_address": (str | None, None, "A Dask scheduler address; none starts a local cluster."),
}


def _shard_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Run id + shard index: the run id already hashes every input that changes rows."""
    return f"atlas-synth-{parameters['run_id']}-shard-{parameters['index']:05d}"


@task(
    name="shard",
    task_run_name="shard-{index}",
    cache_key_fn=_shard_cache_key,
    persist_result=True,
    # Teacher endpoints fail transiently (rate limits, restarts); a retry redoes the shard
    # under the same file names, so it never duplicates rows.
    retries=2,
    retry_delay_seconds=[2, 10],
)
def synth_shard(
    config: dict[str, Any],
    run_id: str,
    index: int,
    redo: bool = False,
    cap: dict[str, Any] | None = None,
) -> ShardRecord:
    """Produce shard ``index`` (or return its completion record if it is done on disk),
    metered against the invocation's ``--max-cost`` (``cap``) in whichever process."""
    logger = get_run_logger()
    plan = RunPlan.resolve(RunConfig.from_params(config))
    plan.spend_cap = SpendCap(**cap) if cap else None
    if not redo and plan.run_dir.is_done(index):
        logger.info("shard %d already done on disk: skipped", index)
    with metering(plan.meter()):
        record = run_shard(plan, index, redo)
    logger.info(
        "shard %d%s: %d samples, %d kept, %d rejected in %.1f s",
        index,
        " (redone for cross-shard dedup)" if redo else "",
        record.samples,
        record.kept,
        record.rejected,
        record.seconds,
    )
    # what the flow needs of it: the counts (the dedup history stays on disk)
    return replace(record, keys=[], near=[])


def build_task_runner(
    name: TaskRunnerName, dask_address: str | None, concurrency: int, workers: int = 1
) -> TaskRunner[Any]:
    """The local thread pool, or prefect-dask: on an existing cluster, or on a temporary
    local one of ``workers`` processes."""
    if name == "thread":
        return ThreadPoolTaskRunner(max_workers=concurrency)
    if name == "dask":
        runner: Any = require("prefect_dask", "dask").DaskTaskRunner
        if dask_address:
            return runner(address=dask_address)
        return runner(cluster_kwargs=local_cluster(workers))
    raise ValueError(f"task_runner must be 'thread' or 'dask', got {name!r}")


def _code(text: str) -> str:
    """Token spellings in backticks, so markdown does not read ``<|Manip|>`` as a tag."""
    return re.sub(r"(<[^>]+>)", r"`\1`", text)


def summary_markdown(manifest: Manifest) -> str:
    """The run summary (:func:`atlas_data.inspect.summary.summary_rows`) as the flow's artifact."""
    table = "\n".join(f"| {_code(k.strip())} | {v} |" for k, v in summary_rows(manifest))
    out = manifest.folder
    query = f"select task, count(*) from '{out}/*/*.parquet' group by task"
    return (
        f"# synth run `{manifest.run_id}`\n\n| what | value |\n|---|---|\n{table}\n\n"
        f'Query the shards: `duckdb -c "{query}"`\n'
    )


def _synth(**params: Any) -> dict[str, Any]:
    """Synthesize one split (sft, rl or both) shard by shard; returns the run manifest (its
    JSON form, as ``manifest.json`` holds it)."""
    logger = get_run_logger()
    for o in options():  # an old spelling given (not None) stands for the option
        for old in o.aliases:
            value = params.pop(old, None)
            if value is not None:
                params[o.name] = value
    concurrency = int(params.pop("concurrency"))
    runner_name, address = params.pop("task_runner"), params.pop("dask_address")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if not is_url(params["out"]):
        params["out"] = str(Path(params["out"]).resolve())  # served runs start elsewhere
    plan = RunPlan.resolve(RunConfig.from_params(params))
    config = plan.config.public() | {
        "source_options": plan.config.source_options,
        "teacher_options": plan.config.teacher_options,
        "storage_options": plan.config.storage_options,
    }
    workers = workers_for(plan)
    logger.info(
        "run %s: %s in shards of %d -> %s",
        plan.run_id, plan.taken(), plan.config.shard_size, plan.run_dir.url,
    )  # fmt: skip

    with build_task_runner(runner_name, address, concurrency, workers) as runner:

        def map_shards(indices: list[int], redo: bool) -> list[ShardRecord]:
            if redo:
                logger.info("redoing shards %s: they kept keys an earlier shard kept", indices)
            futures = [
                # A shard not done on disk must run even if Prefect's cache remembers it.
                runner.submit(
                    synth_shard.with_options(refresh_cache=redo or not plan.run_dir.is_done(i)),
                    parameters={
                        "config": config,
                        "run_id": plan.run_id,
                        "index": i,
                        "redo": redo,
                        "cap": asdict(plan.spend_cap) if plan.spend_cap else None,
                    },
                )
                for i in indices
            ]
            records = [f.result() for f in futures]  # raises if a shard failed for good
            logger.info("%d shard(s) done", len(records))
            return records

        t0 = time.perf_counter()
        manifest = drive(plan, map_shards, wave=concurrency if runner_name == "thread" else workers)
    create_markdown_artifact(
        summary_markdown(manifest),
        key=f"synth-{plan.config.split}-summary",
        description=f"atlas-data synth run {manifest.run_id} ({time.perf_counter() - t0:.1f} s)",
    )
    c = manifest.counts
    logger.info(
        "kept %d of %d samples (%s rejected by reason); output %s",
        c.kept, c.samples, c.rejected_by_reason or "none", plan.run_dir.url,
    )  # fmt: skip
    return manifest.to_json()


def _signature() -> tuple[inspect.Signature, dict[str, Any], str]:
    """The flow's parameters: every RunConfig option, then the orchestration ones."""
    declared = [(o.name, o.annotation, o.default, o.help) for o in options()]
    declared += [
        (old, o.annotation | None, None, f"Old spelling of {o.name}.")
        for o in options()
        for old in o.aliases
    ]
    declared += [(name, *spec) for name, spec in ORCHESTRATION.items()]
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(n, kw, default=d, annotation=t) for n, t, d, _ in declared]
    hints: dict[str, Any] = {n: t for n, t, _, _ in declared} | {"return": dict[str, Any]}
    docs = "\n".join(f"    {n}: {h}" for n, _, _, h in declared)
    doc = f"{_synth.__doc__}\n\nArgs:\n{docs}"
    return inspect.Signature(params, return_annotation=dict[str, Any]), hints, doc


_synth.__signature__, _synth.__annotations__, _synth.__doc__ = _signature()  # type: ignore[attr-defined]
synth = flow(name="synth", log_prints=True)(_synth)
