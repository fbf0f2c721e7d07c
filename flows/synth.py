"""The ``synth`` flow: thin Prefect orchestration over :mod:`atlas_data.pipeline`.

One task per shard (a batch of ``shard_size`` samples), never per sample: a task costs
tens of milliseconds of orchestration (see docs/prefect.md), a 64-sample shard seconds.

Resume has two layers. The shard's on-disk completion record is the source of truth: a
task whose shard is done returns the record without work, so a rerun after a kill (or
with Prefect's result cache gone) skips finished shards. On top, Prefect's cache is keyed
on run id + shard index, so a rerun of a finished run shows its shards as ``Cached``.

Cross-shard dedup: shards run concurrently, each with the dedup keys of the *earlier*
shards already on disk. That can keep a duplicate too often, never too rarely, so after
the pass :func:`~atlas_data.pipeline.shards_to_redo` names the shards that kept a key an
earlier shard also kept, and only those are redone (all predecessors now done). The rows
are then exactly those of the sequential library ``run()``, whatever the finishing order.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.context import TaskRunContext
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from atlas_data.formats import DEFAULT_PRESET
from atlas_data.pipeline import (
    RunConfig,
    finalize,
    predecessor_keys,
    process_shard,
    shard_bounds,
    shards_to_redo,
)

# Measured (docs/prefect.md): ~180 ms of work per sample, ~55 ms of orchestration per task:
# at 64 orchestration is ~0.5 % of a shard, and 200 samples still spread over 4 tasks.
DEFAULT_SHARD_SIZE = 64
TaskRunnerName = Literal["thread", "dask"]


def build_config(
    split: str = "sft",
    source: str = "synthetic",
    source_options: dict[str, Any] | None = None,
    n: int = 200,
    seed: int = 0,
    teacher: str = "template",
    teacher_options: dict[str, Any] | None = None,
    judges: list[str] | None = None,
    judge_max_side: int = 1024,
    preset: str = DEFAULT_PRESET,
    out: str = "data/runs",
    shard_size: int = DEFAULT_SHARD_SIZE,
    run_id: str | None = None,
    **_orchestration: Any,
) -> RunConfig:
    """The :class:`RunConfig` of a set of flow parameters (orchestration ones ignored)."""
    return RunConfig(
        split=split,
        source=source,
        source_options=dict(source_options or {}),
        n=n,
        seed=seed,
        teacher=teacher,
        teacher_options=dict(teacher_options or {}),
        judges=list(judges) if judges is not None else ["annotation"],
        judge_max_side=judge_max_side,
        preset=preset,
        out=out,
        shard_size=shard_size,
        run_id=run_id,
    )


def _config(config: dict[str, Any]) -> RunConfig:
    return RunConfig(**config)


def _shard_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Run id + shard index: the run id already hashes every input that changes rows."""
    run_id = _config(parameters["config"]).resolved_run_id()
    return f"atlas-synth-{run_id}-shard-{parameters['index']:05d}"


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "keys"}


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
def synth_shard(config: dict[str, Any], index: int, redo: bool = False) -> dict[str, Any]:
    """Produce shard ``index`` (or return its completion record if it is done on disk)."""
    logger = get_run_logger()
    cfg = _config(config)
    run_dir = cfg.run_dir()
    if not redo and run_dir.is_done(index):
        logger.info("shard %d already done on disk: skipped", index)
        return _summary(json.loads(run_dir.done_record(index).read_text()))
    seen = predecessor_keys(run_dir.records(), index)
    record = process_shard(cfg, index, seen)
    logger.info(
        "shard %d%s: %d samples, %d kept, %d rejected in %.1f s",
        index,
        " (redone for cross-shard dedup)" if redo else "",
        record["samples"],
        record["kept"],
        record["rejected"],
        record["seconds"],
    )
    return _summary(record)


def build_task_runner(
    name: TaskRunnerName, dask_address: str | None, concurrency: int
) -> TaskRunner[Any]:
    """The local thread pool, or prefect-dask on an existing cluster (a temporary one if
    no address is given)."""
    if name == "thread":
        return ThreadPoolTaskRunner(max_workers=concurrency)
    if name == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "task_runner='dask' needs prefect-dask: pip install 'atlas-data[dask]'"
            ) from exc
        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": 1, "threads_per_worker": concurrency})
    raise ValueError(f"task_runner must be 'thread' or 'dask', got {name!r}")


def summary_markdown(manifest: dict[str, Any]) -> str:
    """The run summary as markdown: the flow's artifact (kept, rejected by reason, tokens,
    throughput, output path)."""
    c = manifest["counts"]
    usage = manifest.get("teacher_usage", {})
    timing = manifest["timing"]
    out = Path(manifest["config"]["out"]) / manifest["run_id"]
    rows = [
        ("samples", c["samples"]),
        ("kept", f"{c['kept']} ({c['kept_fraction']:.1%})"),
        ("rejected", c["rejected"]),
        *((f"rejected: `{r}`", k) for r, k in c["rejected_by_reason"].items()),
        *((f"token `{t}`", k) for t, k in c["tokens"].items()),
        *((f"task `{t}`", k) for t, k in c["tasks"].items()),
        ("teacher requests", usage.get("requests", 0)),
        ("teacher cache hits", usage.get("cache_hits", 0)),
        (
            "teacher tokens (prompt / completion)",
            f"{usage.get('prompt_tokens', 0)} / {usage.get('completion_tokens', 0)}",
        ),
        ("wall seconds", timing.get("wall_seconds")),
        ("samples/s", timing.get("samples_per_second")),
        ("complete", manifest["complete"]),
        ("output", f"`{out}`"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    query = f"select task, count(*) from '{out}/*/*.parquet' group by task"
    return (
        f"# synth run `{manifest['run_id']}`\n\n| what | value |\n|---|---|\n{table}\n\n"
        f'Query the shards: `duckdb -c "{query}"`\n'
    )


@flow(name="synth", log_prints=True)
def synth(
    split: str = "sft",
    source: str = "synthetic",
    source_options: dict[str, Any] | None = None,
    n: int = 200,
    seed: int = 0,
    teacher: str = "template",
    teacher_options: dict[str, Any] | None = None,
    judges: list[str] | None = None,
    judge_max_side: int = 1024,
    preset: str = DEFAULT_PRESET,
    out: str = "data/runs",
    shard_size: int = DEFAULT_SHARD_SIZE,
    run_id: str | None = None,
    concurrency: int = 2,
    task_runner: TaskRunnerName = "thread",
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Synthesize one split (sft, rl or both) shard by shard; returns the run manifest."""
    logger = get_run_logger()
    config = build_config(
        split, source, source_options, n, seed, teacher, teacher_options, judges,
        judge_max_side, preset, str(Path(out).resolve()), shard_size, run_id,
    )  # fmt: skip
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    config.identity()  # loads the vocabulary: fail before any task on a bad config
    params = asdict(config)
    run_dir = config.run_dir()
    run_dir.root.mkdir(parents=True, exist_ok=True)
    run_dir.clean_temporaries()
    shards = config.shard_count()
    done = sum(run_dir.is_done(i) for i in range(shards))
    logger.info(
        "run %s: %d samples in %d shards of %d (%d already done) -> %s",
        config.resolved_run_id(), n, shards, shard_size, done, run_dir.root,
    )  # fmt: skip
    todo = [i for i in range(shards) if not run_dir.is_done(i)]
    t0 = time.perf_counter()

    def submit(runner: TaskRunner[Any], index: int, redo: bool) -> PrefectFuture[Any]:
        # A shard not done on disk must run even if Prefect's cache remembers it.
        fresh = redo or not run_dir.is_done(index)
        job = synth_shard.with_options(refresh_cache=fresh)
        return runner.submit(job, parameters={"config": params, "index": index, "redo": redo})

    with build_task_runner(task_runner, dask_address, concurrency) as runner:
        futures = [submit(runner, i, False) for i in range(shards)]
        for k, future in enumerate(futures, 1):
            future.result()  # raises if the shard failed after its retries
            logger.info("%d/%d shards done", k, shards)
        redo = shards_to_redo(run_dir.records())
        if redo:
            logger.info("redoing shards %s: they kept keys an earlier shard also kept", redo)
            for future in [submit(runner, i, True) for i in redo]:
                future.result()
    processed = sum(hi - lo for lo, hi in (shard_bounds(config, i) for i in todo))
    manifest = finalize(config, time.perf_counter() - t0, processed)
    create_markdown_artifact(
        summary_markdown(manifest),
        key=f"synth-{config.split}-summary",
        description=f"atlas-data synth run {manifest['run_id']}",
    )
    c = manifest["counts"]
    logger.info(
        "kept %d of %d samples (%s rejected by reason); output %s",
        c["kept"], c["samples"], c["rejected_by_reason"] or "none", run_dir.root,
    )  # fmt: skip
    return manifest
