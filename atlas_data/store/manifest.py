"""The manifest of a finished run, typed: written by the driver, read by everything else.

``manifest.json`` is its JSON form, written last and atomically, so its presence says the
run finished. :meth:`Manifest.from_json` reads older manifests too: a section they lack
takes its empty default, and the budget's old spelling (``judge_max_side``) is understood.
"""

from __future__ import annotations

import dataclasses
import typing
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


@dataclass(frozen=True)
class Quality:
    """What a researcher checks first (see :func:`atlas_data.run.driver.quality`)."""

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
