"""A run's plan: its config resolved once, before any work.

A run is a deterministic function of its :class:`RunConfig`: the run id is a hash of what
changes the rows, sample ``i`` is the same on every run, and shard ``k`` always covers the
same samples. Every option that cannot work fails in :meth:`RunPlan.resolve`, with a
message naming the fix, before a shard is written.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from atlas_data.config import RunConfig
from atlas_data.decontaminate import benchmark_index
from atlas_data.dedup.benchmarks import Decontamination
from atlas_data.explore import judge_names, proposer_names
from atlas_data.llm.batch import Batches
from atlas_data.llm.cache import ResponseCache
from atlas_data.llm.client import EndpointConfig
from atlas_data.llm.prices import Meter, PriceBook
from atlas_data.run.ledger import SpendCap
from atlas_data.sources import build_source, source_size
from atlas_data.sources.base import Source
from atlas_data.store.location import Location
from atlas_data.store.run import RunDir
from atlas_data.teacher import build_teacher
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary


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
    spend_cap: SpendCap | None = None  # this invocation's --max-cost (see start_spending)

    @classmethod
    def resolve(cls, config: RunConfig) -> RunPlan:
        """Everything that can fail on a bad option fails here, before any work."""
        vocab = Vocabulary.load(config.vocab_path) if config.vocab_path else DEFAULT_VOCABULARY
        # What the teacher says it is (model, endpoint, prompt version...; never a key): a
        # new prompt version is a new run, not a resumed one with mixed prompts.
        teacher = build_teacher(config.teacher, config.teacher_options, config.budget())
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
        book = self.price_book()  # --price-in without --price-out fails here, not at the end
        if config.teacher_batch != "off":
            if config.teacher != "openai":
                raise ValueError("--teacher-batch batches the requests of --teacher openai")
            if self.total is None:
                raise ValueError("--teacher-batch needs a source of known size: pass --n")
            if self.run_dir.loc.remote:
                raise ValueError(
                    "--teacher-batch keeps its batches' state beside the run, on local disk: "
                    "use a local --out (or run without --teacher-batch)"
                )
        if config.max_cost is not None:
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

    def start_spending(self) -> SpendCap | None:
        """The cap of ``--max-cost`` for one invocation, started at what the run already
        spent; every process of the invocation meters against it (:meth:`meter`)."""
        if self.config.max_cost is not None:
            self.spend_cap = SpendCap.start(self.run_dir, self.config.max_cost, self.price_book())
        return self.spend_cap

    def meter(self) -> Meter | None:
        """This process's meter of the invocation's cap (None: no cap)."""
        cap = self.spend_cap
        return None if cap is None else cap.meter(self.run_dir, self.price_book())

    @cached_property
    def run_dir(self) -> RunDir:
        return RunDir(Location(self.config.out, self.config.storage_options).child(self.run_id))

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
