"""What one shard's samples become on their way to its files: each item's rows or its
rejection row (:class:`Outcome`), and the shard's tallies (:class:`ShardStats`), which
become its completion record."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from atlas_data.dedup.fingerprint import Fingerprint
from atlas_data.llm import Usage


@dataclass
class Outcome:
    """One item's rows (kept) or its rejection row, ready to leave in source order."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    reject: dict[str, Any] | None = None
    key: str = ""  # dedup key of a kept sample
    duplicate: dict[str, Any] | None = None  # its rejection row if an earlier one is kept
    usage: Usage = field(default_factory=Usage)
    over_quota: dict[str, Any] | None = None  # a direct answer's row past --direct-share
    question: str = ""  # question and answer, normalised: near-duplicates are looked for under it
    fingerprint: Fingerprint | None = None  # of the source image
    deferred: bool = False  # a batch pass: its teacher request was spooled, not answered


@dataclass
class ShardStats:
    samples: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    keys: list[str] = field(default_factory=list)
    direct: int = 0
    chain_lengths: Counter[str] = field(default_factory=Counter)  # operations per kept row
    explored: Counter[str] = field(default_factory=Counter)  # proposer:/judge: tallies
    # per source (the rows' ``source``): kept rows, direct answers and each token used
    sources: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    contaminated: Counter[str] = field(default_factory=Counter)  # rejected, by benchmark
    near: list[list[str]] = field(default_factory=list)  # kept fingerprints (Kept.entry)
    deferred: int = 0  # samples whose teacher request waits for a batch
