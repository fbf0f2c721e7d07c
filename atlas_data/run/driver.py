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
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
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
from atlas_data.llm.batch import (
    REQUESTS_FILE,
    Batches,
    BatchState,
    Progress,
    Spool,
    vllm_command,
)
from atlas_data.llm.cache import ResponseCache
from atlas_data.llm.client import EndpointConfig
from atlas_data.llm.prices import (
    Meter,
    PriceBook,
    merge_billed,
    meter,
    metering,
    spent,
    total_usd,
)
from atlas_data.llm.stops import AwaitingResults, BudgetExhausted, RunStopped
from atlas_data.run.shard import ShardProcessor
from atlas_data.sources import build_source, source_items, source_size
from atlas_data.sources.base import Source
from atlas_data.store.manifest import (
    Cost,
    Counts,
    Filters,
    Manifest,
    Quality,
    SourceTaken,
    Timing,
)
from atlas_data.store.run import RunDir
from atlas_data.store.schemas import ROW_SCHEMAS, SCHEMA_VERSION, schema_hash
from atlas_data.teacher import build_teacher
from atlas_data.teacher.base import Teacher
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary

# (shard indices, redo) -> their completion records; where and how they run is the caller's.
MapShards = Callable[[list[int], bool], Iterable[dict[str, Any]]]
MAX_BATCH_ROUNDS = 20  # passes of a batch run: resubmissions after expiries and retries


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
    estimating: bool = False  # --estimate: every pass defers, nothing is committed

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
        plan = cls(config, source, vocab, teacher.describe(), run_id, size, identity, filters)
        plan.check_spending()
        return plan

    def check_spending(self) -> None:
        """Batch and cost options that cannot work fail before any work, saying why."""
        config = self.config
        if config.teacher_batch != "off":
            if config.teacher != "openai":
                raise ValueError("--teacher-batch batches the requests of --teacher openai")
            if self.total is None:
                raise ValueError("--teacher-batch needs a source of known size: pass --n")
        if config.max_cost is not None:
            book = self.price_book()
            unpriced = [m for m, mode in self.models() if book.price(m, mode) is None]
            if unpriced:
                raise ValueError(
                    f"--max-cost needs a price for {', '.join(unpriced)}: the price table "
                    "does not know it; pass --price-in and --price-out (USD per million tokens)"
                )

    def models(self) -> list[tuple[str, str]]:
        """(model, billing mode) of every model the run may ask."""
        config = self.config
        endpoint = EndpointConfig.of_teacher(config.teacher_options)
        mode = {"off": "live", "api": "batch", "file": "offline"}[config.teacher_batch]
        out = [(endpoint.model, mode)] if config.teacher == "openai" else []
        if "flip" in judge_names(config) or "grounding" in proposer_names(config):
            out.append((config.judge_model or endpoint.model, "live"))
        return out

    def price_book(self) -> PriceBook:
        return PriceBook(self.config.price_in, self.config.price_out)

    @property
    def deferring(self) -> bool:
        """Whether the teacher spools its cache misses (a batch pass, an estimate)."""
        return self.estimating or self.config.teacher_batch != "off"

    def batches(self) -> Batches:
        """The run's batches, on the teacher's endpoint and response cache."""
        endpoint = EndpointConfig.of_teacher(self.config.teacher_options)
        if not endpoint.cache_dir:
            raise ValueError("--teacher-batch keeps answers in the response cache: keep it on")
        client = None
        if self.config.teacher_batch == "api":
            import openai

            from atlas_data.llm.client import api_key

            client = openai.OpenAI(
                api_key=api_key(), base_url=endpoint.resolved_base_url(), max_retries=5
            )
        return Batches(
            self.run_dir.root / "_batches",
            ResponseCache(endpoint.cache_dir),
            self.config.teacher_batch,
            self.run_id,
            endpoint.batch_retries,
            endpoint.batch_poll,
            client,
        )

    def meter(self) -> Meter | None:
        """The spending meter of ``--max-cost``, started at what the run already spent."""
        if self.config.max_cost is None:
            return None
        book = self.price_book()
        so_far = total_usd(spent(run_billed(self.run_dir), book))
        return Meter(self.config.max_cost, book, so_far or Decimal(0))

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
    own = teacher is None or plan.deferring  # a batch pass spools into a teacher of its own
    config = plan.config
    teach = (
        build_teacher(config.teacher, config.teacher_options, config.budget_side)
        if own or teacher is None
        else teacher
    )
    if plan.deferring:
        teach.defer(BatchState.load(plan.run_dir.root / "_batches" / "state.json").failed)
    writer = plan.run_dir.shard_writer(index, (*plan.config.kinds(), "rejects"))

    async def go() -> Any:
        try:
            return await processor.process(items, teach, writer, on_item)
        finally:
            if own:
                await teach.aclose()

    try:
        stats = asyncio.run(go())
    except BaseException as exc:
        writer.abort()
        if isinstance(exc, BudgetExhausted):  # what the cut shard paid for still counts
            record_spent(plan.run_dir.root, index, processor.usage(teach))
        raise
    if plan.deferring and (stats.deferred or plan.estimating):
        writer.abort()  # redone in the next pass, with the batch's answers in the cache
        Spool(spool_folder(plan)).write(index, teach.deferred)
        return {"shard": index, "samples": 0, "deferred": stats.deferred}
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


def spool_folder(plan: RunPlan) -> Path:
    root = plan.run_dir.root
    return root / "_estimate" if plan.estimating else root / "_batches" / "pending"


def record_spent(root: Path, index: int, usage: Usage) -> None:
    """What a shard cut short by ``--max-cost`` paid for: its answers are cached (a rerun
    does not pay again), so the money is counted here, once."""
    if usage.billed:
        folder = root / "_spent"
        folder.mkdir(parents=True, exist_ok=True)
        doc = {"shard": index, "billed": usage.billed}
        (folder / f"shard-{index:05d}-{uuid.uuid4().hex[:8]}.json").write_text(json.dumps(doc))


def run_billed(run_dir: RunDir) -> dict[str, dict[str, int]]:
    """Every token the run paid for, per ``model@mode``: its shards' live requests, the
    shards cut short by the cap, and its batches."""
    billed: dict[str, dict[str, int]] = {}
    for r in run_dir.records():
        merge_billed(billed, r.get("usage", {}).get("billed", {}))
    for p in sorted((run_dir.root / "_spent").glob("*.json")):
        merge_billed(billed, json.loads(p.read_text())["billed"])
    merge_billed(billed, BatchState.load(run_dir.root / "_batches" / "state.json").billed())
    return billed


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
    run_dir.root.mkdir(parents=True, exist_ok=True)
    run_dir.clean_temporaries()
    t0 = time.perf_counter()
    with metering(plan.meter()):
        if plan.config.teacher_batch != "off":
            processed = batch_passes(plan, map_shards, on_batch, on_pass)
        else:
            processed = _passes(plan, map_shards, wave)
        # only after a concurrent run was cut short
        redo = shards_to_redo(run_dir.records(), plan.config.dedup_bits)
        if redo:
            list(map_shards(redo, True))
    return finalize(plan, time.perf_counter() - t0, processed)


def _passes(plan: RunPlan, map_shards: MapShards, wave: int) -> int:
    run_dir, processed, count, start = plan.run_dir, 0, plan.shard_count(), 0
    while True:
        indices = list(range(start, count) if count is not None else range(start, start + wave))
        todo = {i for i in indices if not run_dir.is_done(i)}
        processed += sum(r["samples"] for r in map_shards(indices, False) if r["shard"] in todo)
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
        processed += sum(r["samples"] for r in records)
        if not any(r.get("deferred") for r in records):
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
        cost=cost_of(plan),
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


def cost_of(plan: RunPlan) -> Cost:
    """The run's cost: every token it paid for (:func:`run_billed`) at its model's price."""
    parts = spent(run_billed(plan.run_dir), plan.price_book())
    usd = total_usd(parts)
    billed = [p for p in parts if p.input_tokens or p.output_tokens]
    unknown = sorted({p.model for p in billed if p.price is None})
    if unknown:
        note = (
            f"unknown: no price for {', '.join(unknown)} (pass --price-in and --price-out); "
            "the tokens are counted"
        )
    elif not billed:
        note = "nothing billed: no model request was sent (offline teacher or all cached)"
    else:
        note = "; ".join(f"{p.model} {p.mode}: ${float(p.usd or 0):.4f}" for p in billed)
    return Cost(
        usd=None if usd is None else round(float(usd), 6),
        input_tokens=sum(p.input_tokens for p in parts),
        output_tokens=sum(p.output_tokens for p in parts),
        requests=sum(p.requests for p in parts),
        batch=any(p.mode == "batch" for p in billed),
        models=[p.to_json() for p in parts],
        note=note,
    )


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
