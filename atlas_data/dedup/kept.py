"""What a run has kept so far, for deduplication in source order, across shards and resumes.

A kept sample leaves its exact key (the image's SHA-256 and the normalised question) and,
under its normalised question and answer, its fingerprint. A later sample with the same key
is a ``duplicate``; one whose fingerprint is the same picture under the same question and
answer is a ``near_duplicate`` of the first. The same image with another question is kept,
and so is a look-alike with another answer (32 grey pixels a side do not see everything).
Shards carry what they kept in their completion records, so a shard, a concurrent repair
and a resumed run all see the same history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from atlas_data.dedup.fingerprint import DEFAULT_BITS, Fingerprint


@dataclass
class Kept:
    keys: set[str] = field(default_factory=set)
    near: dict[str, list[tuple[Fingerprint, str]]] = field(default_factory=dict)
    bits: int = DEFAULT_BITS

    @staticmethod
    def key(image_sha: str, question: str) -> str:
        """The exact-duplicate key: the input's digest and the question, normalised."""
        return f"{image_sha}:{' '.join(question.lower().split())}"

    def near_duplicate_of(self, question: str, fp: Fingerprint | None) -> str | None:
        """The id of an earlier kept sample with this question whose image is the same picture."""
        if fp is None:
            return None
        same = (i for other, i in self.near.get(question, ()) if fp.same(other, self.bits))
        return next(same, None)

    def add(self, key: str, near: Iterable[tuple[str, Fingerprint]], sample_id: str) -> None:
        """A kept sample: its exact key, and each image's fingerprint under its near key."""
        self.keys.add(key)
        for question, fp in near:
            self.add_near(question, fp, sample_id)

    @staticmethod
    def entry(question: str, fp: Fingerprint, sample_id: str) -> list[str]:
        """How a kept fingerprint is written into a shard's completion record."""
        return [question, *fp.to_json(), sample_id]

    @classmethod
    def of_records(
        cls, records: Iterable[Kept.Record], before: int, bits: int = DEFAULT_BITS
    ) -> Kept:
        """What the finished shards before ``before`` kept (the history shard ``before`` sees)."""
        kept = cls(bits=bits)
        for r in sorted(records, key=lambda r: r.shard):
            if r.shard < before:
                kept.merge(r)
        return kept

    class Record(Protocol):
        """What a shard's completion record says it kept."""

        shard: int
        keys: list[str]
        near: list[list[str]]

    def merge(self, record: Kept.Record) -> None:
        """Add what a shard's completion record says it kept."""
        self.keys.update(record.keys)
        for question, dct, gradient, sample_id in record.near:
            self.add_near(question, Fingerprint.from_json([dct, gradient]), sample_id)

    def add_near(self, question: str, fp: Fingerprint, sample_id: str) -> None:
        self.near.setdefault(question, []).append((fp, sample_id))

    def overlaps(self, record: Kept.Record) -> bool:
        """Whether a shard kept something this history already holds (it must be redone)."""
        if set(record.keys) & self.keys:
            return True
        return any(
            self.near_duplicate_of(q, Fingerprint.from_json([d, g])) is not None
            for q, d, g, _ in record.near
        )


def shards_to_redo(records: Iterable[Kept.Record], bits: int = DEFAULT_BITS) -> list[int]:
    """Shards that kept what an earlier shard also kept (the same key, or a near-duplicate
    under the same question): redo them with all predecessors done.

    A shard's kept keys are its own first occurrences minus its history (dedup decides in
    source order), so what shards ``< k`` kept equals the in-order history for shard ``k``
    whatever order shards finished in, and redoing only these shards with
    :meth:`Kept.of_records` gives exactly the rows of an in-order run.
    """
    history = Kept(bits=bits)
    redo: list[int] = []
    for r in sorted(records, key=lambda r: r.shard):
        if history.overlaps(r):
            redo.append(r.shard)
        history.merge(r)
    return redo
