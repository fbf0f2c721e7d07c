"""The manifest of a finished run, typed: written by the driver, read by everything else.

``manifest.json`` is its JSON form, written last and atomically, so its presence says the
run finished. :meth:`Manifest.from_json` reads older manifests too: a section they lack
takes its empty default, and the budget's old spelling (``judge_max_side``) is understood.

Beside it, :class:`ShardRecord`: what one committed shard holds (its completion record,
the commit point of the shard), tallied from its samples as they leave. The manifest's
counts and quality are the sum of its shards' records (:meth:`Manifest.aggregate`).
"""

from __future__ import annotations

import dataclasses
import typing
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from atlas_data.config import RunConfig
from atlas_data.llm import Usage
from atlas_data.tokens import Vocabulary, default_vocabulary

T = TypeVar("T")


@dataclass(frozen=True)
class SourceTaken:
    """How much of the source the run took."""

    records: int | None = None  # None: a stream of unknown length
    taken: int = 0
    n: int | None = None
    summary: str = ""  # in words: "300 records, 200 taken: --n 200"


@dataclass(frozen=True)
class Counts:
    samples: int = 0
    kept: int = 0
    rejected: int = 0
    kept_fraction: float = 0.0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, total: ShardRecord) -> Counts:
        samples, kept = total.samples, total.kept
        return cls(
            samples=samples,
            kept=kept,
            rejected=samples - kept,
            kept_fraction=round(kept / samples, 4) if samples else 0.0,
            rejected_by_reason=dict(sorted(total.reasons.items())),
            tokens=dict(total.tokens),
            operations=dict(total.operations),
            tasks=dict(sorted(total.tasks.items())),
        )


@dataclass(frozen=True)
class Quality:
    """What a researcher checks first: how many operations a trajectory chains, how many
    answer directly, what each proposer put forward and had chosen, what each judge said,
    how often a chosen zoom holds the source's own evidence region, and what each source
    (their own data, the synthetic default) produced: kept rows, direct answers, tokens."""

    operations_per_trajectory: dict[str, int] = field(default_factory=dict)
    mean_operations: float = 0.0
    multi_operation_share: float = 0.0
    direct: int = 0
    direct_share: float = 0.0
    proposers: dict[str, dict[str, int]] = field(default_factory=dict)
    judges: dict[str, dict[str, int]] = field(default_factory=dict)
    evidence_containment: dict[str, Any] = field(default_factory=dict)
    # per source: kept rows, direct answers and the count of each token used
    sources: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, total: ShardRecord) -> Quality:
        kept, chains, explored = total.kept, total.chain_lengths, total.explored
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
        chained = sum(c for n, c in chains.items() if int(n) >= 2)
        return cls(
            operations_per_trajectory=dict(sorted(chains.items(), key=lambda kv: int(kv[0]))),
            mean_operations=round(ops / kept, 3) if kept else 0.0,
            multi_operation_share=round(chained / kept, 4) if kept else 0.0,
            direct=total.direct,
            direct_share=round(total.direct / kept, 4) if kept else 0.0,
            proposers=proposers,
            judges=judges,
            evidence_containment={
                "zooms_with_known_evidence": known,
                "zooms_containing_it": held,
                "share": round(held / known, 4) if known else None,
            },
            sources={name: dict(sorted(c.items())) for name, c in sorted(total.sources.items())},
        )


@dataclass(frozen=True)
class Filters:
    """What was kept out of the data: the benchmarks decontaminated against (path, content
    hash, images and questions indexed), how many samples each removed, and the
    near-duplicate threshold."""

    benchmarks: list[dict[str, Any]] = field(default_factory=list)
    contaminated: dict[str, int] = field(default_factory=dict)
    near_duplicates: int = 0
    dedup_bits: int = 12


@dataclass(frozen=True)
class Cost:
    """What the run's model requests cost: the teacher's and any model judge's or
    proposer's, in every invocation of the run (resumed ones included). ``usd`` is
    ``None`` when a model billed tokens at no known price (``models`` names it)."""

    usd: float | None = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    batch: bool = False  # Batch API pricing applied to some requests
    models: list[dict[str, Any]] = field(default_factory=list)  # per model@mode, priced
    note: str = ""  # in words


@dataclass(frozen=True)
class Timing:
    shard_seconds: float = 0.0
    wall_seconds: float | None = None
    samples_this_run: int = 0
    samples_per_second: float | None = None  # None: every shard was already done


_TALLIES = ("reasons", "tokens", "operations", "tasks", "chain_lengths", "explored", "contaminated")


@dataclass
class ShardRecord:
    """One committed shard: what its samples became, tallied as they left in source order.

    ``keys`` and ``near`` are what it kept (exact keys, fingerprints: see
    :class:`~atlas_data.dedup.kept.Kept`), so later shards, a concurrent repair and a
    resumed run see the same history. A batch pass that deferred samples is not committed:
    its record only says how many it ``deferred``.
    """

    shard: int
    first: int = 0  # the source index of its first sample
    samples: int = 0
    kept: int = 0
    rejected: int = 0
    direct: int = 0
    deferred: int = 0
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    chain_lengths: Counter[str] = field(default_factory=Counter)  # operations per kept row
    explored: Counter[str] = field(default_factory=Counter)  # proposer:/judge: tallies
    contaminated: Counter[str] = field(default_factory=Counter)  # rejected, by benchmark
    # per source (the rows' ``source``): kept rows, direct answers and each token used
    sources: dict[str, Counter[str]] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    keys: list[str] = field(default_factory=list)
    near: list[list[str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.samples += 1
        self.rejected += 1
        self.reasons[reason] += 1

    def keep(
        self,
        task: str,
        source: str,
        tokens: list[str],
        operations: list[str],
        direct: bool,
    ) -> None:
        self.samples += 1
        self.kept += 1
        self.direct += int(direct)
        self.tasks[task] += 1
        self.tokens.update(tokens)
        self.operations.update(operations)
        self.chain_lengths[str(len(operations))] += 1
        by_source = self.sources.setdefault(source, Counter())
        by_source.update(kept=1, direct=int(direct))
        by_source.update(tokens)

    def add(self, other: ShardRecord) -> None:
        """Sum ``other`` into this one (a run's totals are the sum of its shards)."""
        for name in ("samples", "kept", "rejected", "direct", "deferred", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in _TALLIES:
            getattr(self, name).update(getattr(other, name))
        for source, tallies in other.sources.items():
            self.sources.setdefault(source, Counter()).update(tallies)
        self.usage.add(other.usage)

    @classmethod
    def total(cls, records: list[ShardRecord]) -> ShardRecord:
        out = cls(shard=-1)
        for r in records:
            out.add(r)
        return out

    def to_json(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        doc["usage"] = self.usage.to_json()
        for name in _TALLIES:
            doc[name] = dict(doc[name])
        doc["sources"] = {s: dict(c) for s, c in self.sources.items()}
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ShardRecord:
        fields = _build(cls, {k: v for k, v in doc.items() if k != "usage"}, partial=True)
        for name in _TALLIES:
            fields[name] = Counter(fields.get(name, {}))
        fields["sources"] = {s: Counter(c) for s, c in fields.get("sources", {}).items()}
        return cls(usage=Usage(**doc.get("usage", {})), **fields)


@dataclass(frozen=True)
class Manifest:
    run_id: str
    config: RunConfig
    atlas_data_version: str = ""
    complete: bool = True
    missing_shards: list[int] = field(default_factory=list)
    preset: str = "atlas"
    teacher: dict[str, Any] = field(default_factory=dict)
    vocabulary: dict[str, Any] = field(default_factory=dict)
    vocab_hash: str = ""
    schema_version: int = 0
    schemas: dict[str, str] = field(default_factory=dict)
    source: SourceTaken = field(default_factory=SourceTaken)
    counts: Counts = field(default_factory=Counts)
    quality: Quality = field(default_factory=Quality)
    teacher_usage: Usage = field(default_factory=Usage)
    cost: Cost = field(default_factory=Cost)
    filters: Filters = field(default_factory=Filters)
    timing: Timing = field(default_factory=Timing)
    files: list[str] = field(default_factory=list)

    @cached_property
    def vocab(self) -> Vocabulary:
        """The vocabulary the run was written with."""
        return Vocabulary.from_json(self.vocabulary) if self.vocabulary else default_vocabulary()

    @property
    def budget_side(self) -> int:
        """The longest side at which the run judged its operations (the trainee's view)."""
        return self.config.budget_side

    @property
    def folder(self) -> Path:
        """Where the run was written."""
        return Path(self.config.out) / self.run_id

    def to_json(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        doc["config"] = self.config.public()
        return {
            k: asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
            for k, v in doc.items()
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Manifest:
        fields = _build(cls, {k: v for k, v in doc.items() if k != "config"}, partial=True)
        return cls(config=RunConfig.from_params(doc.get("config") or {}), **fields)


def _build(cls: type[T], doc: dict[str, Any], partial: bool = False) -> Any:
    """``cls`` (a dataclass) from its JSON form: nested sections built alike, unknown keys
    ignored, missing ones left to their defaults (``partial``: return the keyword dict)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in doc:
            continue
        value, kind = doc[f.name], hints[f.name]
        if dataclasses.is_dataclass(kind) and isinstance(value, dict):
            value = _build(kind, value)  # type: ignore[arg-type]
        out[f.name] = value
    return out if partial else cls(**out)
