"""The one driver of shards, for the library, the CLI and the Prefect flow alike.

A run is a deterministic function of its :class:`RunConfig`: the run id is a hash of
what changes the rows, sample ``i`` is the same on every run, and shard ``k`` always
covers the same samples. That is what makes a rerun resume (finished shards are skipped,
a shard cut short is redone under the same file names) and lets an orchestrator run
shards anywhere: :func:`drive` is given a ``map_shards`` that decides *where* shards
run (here in order; in ``flows/`` as Prefect tasks on threads or Dask) and does the rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas_data import __version__
from atlas_data.config import RunConfig
from atlas_data.dedup.benchmarks import Decontamination
from atlas_data.dedup.benchmarks import load as benchmark_index
from atlas_data.dedup.fingerprint import DEFAULT_BITS
from atlas_data.dedup.kept import Kept
from atlas_data.explore import judge_names, proposer_names
from atlas_data.llm import Usage
from atlas_data.run.shard import ShardProcessor
from atlas_data.sources import build_source, source_items, source_size
from atlas_data.sources.base import Source
from atlas_data.store.manifest import Counts, Filters, Manifest, Quality, SourceTaken, Timing
from atlas_data.store.run import RunDir
from atlas_data.store.schemas import ROW_SCHEMAS, SCHEMA_VERSION, schema_hash
from atlas_data.teacher import build_teacher
from atlas_data.teacher.base import Teacher
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary

# (shard indices, redo) -> their completion records; where and how they run is the caller's.
MapShards = Callable[[list[int], bool], Iterable[dict[str, Any]]]


@dataclass
class RunPlan:
    """A config resolved once: its source, vocabulary, teacher identity, run id and size."""

    config: RunConfig
    source: Source
    vocab: Vocabulary
    teacher_identity: dict[str, Any]
    run_id: str
    records_in_source: int | None  # None: a stream of unknown length
    identity: dict[str, Any] = field(repr=False, default_factory=dict)
    filters: Decontamination | None = None  # the benchmarks the run keeps out

    @classmethod
    def resolve(cls, config: RunConfig) -> RunPlan:
        """Everything that can fail on a bad option fails here, before any work."""
        vocab = Vocabulary.load(config.vocab_path) if config.vocab_path else DEFAULT_VOCABULARY
        # What the teacher says it is (model, endpoint, prompt version...; never a key): a
        # new prompt version is a new run, not a resumed one with mixed prompts.
        teacher = build_teacher(config.teacher, config.teacher_options, config.budget_side)
        source = build_source(config.source, config.source_options, config.n, config.seed)
        filters = None
        if config.decontaminate:  # built once (or read from its cache) for every shard
            benchmarks = [benchmark_index(p) for p in config.decontaminate]
            filters = Decontamination(benchmarks, config.dedup_bits, config.decontaminate_questions)
        identity = {
            **config.rows_identity(),
            # the judges and proposers in force, not "default": a changed default is a new run
            "judges": judge_names(config),
            "proposers": proposer_names(config),
            "teacher_identity": teacher.describe(),
            "vocab_hash": vocab.hash,
            # what the benchmarks hold, not only where they are: changed ones are a new run
            "benchmarks": [b.content_hash for b in filters.benchmarks] if filters else [],
        }
        identity.pop("vocab_path")
        blob = json.dumps(identity, sort_keys=True, default=str)
        digest = hashlib.sha256(blob.encode()).hexdigest()[:10]
        run_id = config.run_id or f"{config.source}-{config.split}-{digest}"
        size = source_size(source)
        return cls(config, source, vocab, teacher.describe(), run_id, size, identity, filters)

    @property
    def run_dir(self) -> RunDir:
        return RunDir(Path(self.config.out) / self.run_id)

    @property
    def total(self) -> int | None:
        """Samples this run takes: ``--n`` capped by the source, or the whole source."""
        if self.records_in_source is None:
            return self.config.n
        return min(self.config.n or self.records_in_source, self.records_in_source)

    def shard_count(self) -> int | None:
        total = self.total
        return None if total is None else math.ceil(total / self.config.shard_size)

    def bounds(self, index: int) -> tuple[int, int]:
        start = index * self.config.shard_size
        stop = start + self.config.shard_size
        return start, stop if self.total is None else min(self.total, stop)

    def taken(self) -> str:
        """How many samples were taken of how many, in words (summary, report)."""
        have, total, n = self.records_in_source, self.total, self.config.n
        if have is None:
            return f"a stream, {n} taken: --n {n}" if n else "a stream, read to its end"
        if n is not None and n < have:
            return f"{have} records, {total} taken: --n {n}"
        return f"{have} records, all taken"


def process_shard(
    plan: RunPlan,
    index: int,
    seen: Kept | Iterable[str] = (),
    on_item: Callable[[], None] | None = None,
    teacher: Teacher | None = None,
) -> dict[str, Any]:
    """Produce and commit one shard; returns its completion record. Idempotent.

    ``seen``: what earlier shards kept (or just their keys); ``teacher``: one to use
    instead of the config's (kept open: the caller owns it)."""
    start, stop = plan.bounds(index)
    t0 = time.perf_counter()
    items: Iterator[Any] = source_items(plan.source, start, stop)
    history = seen if isinstance(seen, Kept) else Kept(set(seen), bits=plan.config.dedup_bits)
    processor = ShardProcessor(plan.config, plan.run_id, plan.vocab, history, plan.filters)
    own = teacher is None
    config = plan.config
    teach = teacher or build_teacher(config.teacher, config.teacher_options, config.budget_side)
    writer = plan.run_dir.shard_writer(index, (*plan.config.kinds(), "rejects"))

    async def go() -> Any:
        try:
            return await processor.process(items, teach, writer, on_item)
        finally:
            if own:
                await teach.aclose()

    try:
        stats = asyncio.run(go())
    except BaseException:
        writer.abort()
        raise
    return writer.commit(
        {
            "samples": stats.samples,
            "first": start,
            "kept": len(stats.keys),
            "rejected": sum(stats.reasons.values()),
            "reasons": dict(stats.reasons),
            "tokens": dict(stats.tokens),
            "operations": dict(stats.operations),
            "tasks": dict(stats.tasks),
            "usage": stats.usage.to_json(),
            "seconds": round(time.perf_counter() - t0, 3),
            "direct": stats.direct,
            "chain_lengths": dict(stats.chain_lengths),
            "explored": dict(stats.explored),
            "sources": {s: dict(c) for s, c in stats.sources.items()},
            "contaminated": dict(stats.contaminated),
            "keys": stats.keys,
            "near": stats.near,
        }
    )


def predecessor_keys(records: Iterable[dict[str, Any]], index: int) -> set[str]:
    """Dedup keys kept by finished shards before ``index``: the ``seen`` to give shard ``index``.

    Only earlier shards count, so processing shards concurrently can keep a cross-shard
    duplicate too often (when a predecessor was not finished yet) but never too rarely.
    :func:`shards_to_redo` finds and repairs the first case.
    """
    return {k for r in records if r["shard"] < index for k in r.get("keys", [])}


def shards_to_redo(records: Iterable[dict[str, Any]], bits: int = DEFAULT_BITS) -> list[int]:
    """Shards that kept what an earlier shard also kept (the same key, or a near-duplicate
    under the same question): redo them with all predecessors done.

    A shard's kept keys are its own first occurrences minus its ``seen`` (the duplicate
    checks are the last verifiers), so what shards ``< k`` kept equals the in-order history
    for shard ``k`` whatever order shards finished in, and redoing only these shards with
    :meth:`Kept.of_records` gives exactly the rows of an in-order run.
    """
    history = Kept(bits=bits)
    redo: list[int] = []
    for r in sorted(records, key=lambda r: r["shard"]):
        if history.overlaps(r):
            redo.append(r["shard"])
        history.merge(r)
    return redo


def run_shard(
    plan: RunPlan, index: int, redo: bool = False, on_item: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Shard ``index`` with the keys of the finished shards before it, or its record when
    it is done on disk and not to be redone (the flow's task and the library alike)."""
    if not redo and plan.run_dir.is_done(index):
        return plan.run_dir.record(index)
    history = Kept.of_records(plan.run_dir.records(), index, plan.config.dedup_bits)
    return process_shard(plan, index, history, on_item)


def drive(plan: RunPlan, map_shards: MapShards, wave: int = 1) -> Manifest:
    """Run (or resume) every shard not done yet, repair cross-shard dedup, write the manifest.

    A source of known size is mapped in one call; a stream of unknown length in waves of
    ``wave`` shards until a shard comes back short.
    """
    run_dir = plan.run_dir
    run_dir.root.mkdir(parents=True, exist_ok=True)
    run_dir.clean_temporaries()
    t0 = time.perf_counter()
    processed = 0
    count = plan.shard_count()
    start = 0
    while True:
        indices = list(range(start, count) if count is not None else range(start, start + wave))
        todo = {i for i in indices if not run_dir.is_done(i)}
        processed += sum(r["samples"] for r in map_shards(indices, False) if r["shard"] in todo)
        if count is not None or _stream_ended(run_dir.records(), plan.config.shard_size):
            break
        start += wave
    # only after a concurrent run was cut short
    redo = shards_to_redo(run_dir.records(), plan.config.dedup_bits)
    if redo:
        list(map_shards(redo, True))
    return finalize(plan, time.perf_counter() - t0, processed)


def _stream_ended(records: list[dict[str, Any]], shard_size: int) -> bool:
    return any(r["samples"] < shard_size for r in records)


def in_order(plan: RunPlan, on_item: Callable[[], None] | None = None) -> MapShards:
    """The library's ``map_shards``: one shard after another, in this process."""

    def map_shards(indices: list[int], redo: bool) -> Iterator[dict[str, Any]]:
        for index in indices:
            yield run_shard(plan, index, redo, on_item)

    return map_shards


def run(config: RunConfig, on_item: Callable[[], None] | None = None) -> Manifest:
    """Run (or resume) a whole run in this process; returns the manifest."""
    plan = RunPlan.resolve(config)
    return drive(plan, in_order(plan, on_item))


def finalize(plan: RunPlan, wall_seconds: float | None = None, processed: int = 0) -> Manifest:
    """Aggregate completion records into the manifest (written last, atomically).

    ``processed`` (the samples of the shards this invocation ran, not resumed ones) over
    ``wall_seconds`` is the throughput reported: resumed shards took no time now.
    """
    run = plan.run_dir
    records = run.records()
    count = plan.shard_count()
    if count is None:  # a stream: complete once a short shard was seen
        short = [r["shard"] for r in records if r["samples"] < plan.config.shard_size]
        count = min(short) + 1 if short else max((r["shard"] for r in records), default=0) + 2
    missing = sorted(set(range(count)) - {r["shard"] for r in records})
    totals: dict[str, Counter[str]] = {
        k: Counter()
        for k in ("reasons", "tokens", "operations", "tasks", "chain_lengths", "explored")
    }
    usage = Usage()
    contaminated: Counter[str] = Counter()
    sources: dict[str, Counter[str]] = {}
    for r in records:
        for k in totals:
            totals[k].update(r.get(k, {}))
        usage.add(Usage(**r.get("usage", {})))
        contaminated.update(r.get("contaminated", {}))
        for name, tallies in r.get("sources", {}).items():
            sources.setdefault(name, Counter()).update(tallies)
    samples = sum(r["samples"] for r in records)
    kept = sum(r["kept"] for r in records)
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
            taken=plan.total if plan.total is not None else samples,
            n=plan.config.n,
            summary=plan.taken(),
        ),
        counts=Counts(
            samples=samples,
            kept=kept,
            rejected=samples - kept,
            kept_fraction=round(kept / samples, 4) if samples else 0.0,
            rejected_by_reason=dict(sorted(totals["reasons"].items())),
            tokens=dict(totals["tokens"]),
            operations=dict(totals["operations"]),
            tasks=dict(sorted(totals["tasks"].items())),
        ),
        quality=quality(kept, sum(r.get("direct", 0) for r in records), totals, sources),
        teacher_usage=usage,
        filters=Filters(
            benchmarks=plan.filters.describe() if plan.filters else [],
            contaminated=dict(contaminated),
            near_duplicates=totals["reasons"]["near_duplicate"],
            dedup_bits=plan.config.dedup_bits,
        ),
        timing=Timing(
            shard_seconds=round(sum(r["seconds"] for r in records), 3),
            wall_seconds=round(wall_seconds, 3) if wall_seconds is not None else None,
            samples_this_run=processed,
            samples_per_second=round(processed / wall_seconds, 3)
            if wall_seconds and processed
            else None,
        ),
        files=sorted(str(p.relative_to(run.root)) for p in run.parquet_files()),
    )
    run.write_manifest(manifest)
    return manifest


def quality(
    kept: int,
    direct: int,
    totals: dict[str, Counter[str]],
    sources: dict[str, Counter[str]] | None = None,
) -> Quality:
    """What a researcher checks first: how many operations a trajectory chains, how many
    answer directly, what each proposer put forward and had chosen, what each judge said,
    how often a chosen zoom holds the source's own evidence region, and what each source
    (their own data, the synthetic default) produced: kept rows, direct answers, tokens."""
    chains, explored = totals["chain_lengths"], totals["explored"]
    ops = sum(int(n) * c for n, c in chains.items())
    proposers: dict[str, dict[str, int]] = {}
    judges: dict[str, dict[str, int]] = {}
    for key, count in sorted(explored.items()):
        kind, name, what = (key.split(":") + ["", ""])[:3]
        if kind == "proposer":
            proposers.setdefault(name, {"proposed": 0, "chosen": 0})[what] = count
        elif kind == "judge":
            judges.setdefault(name, {"accept": 0, "reject": 0, "abstain": 0})[what] = count
    known, held = explored["evidence:zooms_known"], explored["evidence:zooms_containing"]
    return Quality(
        operations_per_trajectory=dict(sorted(chains.items(), key=lambda kv: int(kv[0]))),
        mean_operations=round(ops / kept, 3) if kept else 0.0,
        multi_operation_share=round(sum(c for n, c in chains.items() if int(n) >= 2) / kept, 4)
        if kept
        else 0.0,
        direct=direct,
        direct_share=round(direct / kept, 4) if kept else 0.0,
        proposers=proposers,
        judges=judges,
        evidence_containment={
            "zooms_with_known_evidence": known,
            "zooms_containing_it": held,
            "share": round(held / known, 4) if known else None,
        },
        sources={name: dict(sorted(c.items())) for name, c in sorted((sources or {}).items())},
    )


def run_folder(config: RunConfig) -> Path:
    """Where ``config``'s run is (or will be) written."""
    return RunPlan.resolve(config).run_dir.root
