"""The embedded default source: procedurally drawn scenes with known answers.

Every sample is a scene of one task family (:mod:`atlas_data.sources.scenes`, one module
each) in which a known operation, or a chain of them, genuinely helps, and the family's
generator knows what each needs, so ``needs`` is ground truth rather than a guess. Item
``i`` depends only on ``(seed, i, families, size)``: any item can be rebuilt alone, which
is what sharding needs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from atlas_data.sources.base import SourceSample, content_id, images_digest, pixels_digest
from atlas_data.sources.scenes import families as registered

FAMILIES = registered()


class SyntheticSource:
    """A seeded stream of generated scenes; item ``i`` is rebuilt alone by :meth:`sample`."""

    name = "synthetic"
    DEFAULT_N = 200  # the size of a run that names no --n: `make run` in a couple of minutes
    OPTIONS = ("families", "size")

    def __init__(
        self,
        n: int = DEFAULT_N,
        seed: int = 0,
        families: Sequence[str] | str | None = None,
        size: tuple[int, int] = (1600, 1200),
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        if isinstance(families, str):  # --source-opt families=small_text,geometry
            families = [f.strip() for f in families.split(",") if f.strip()]
        fams = list(FAMILIES) if families is None else list(families)
        if not fams:
            raise ValueError("families must name at least one family")
        unknown = [f for f in fams if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown families {unknown} (known: {', '.join(FAMILIES)})")
        w, h = (int(v) for v in size)
        if min(w, h) < 400 or max(w, h) > 4096:
            raise ValueError(f"size must be between 400 and 4096 px a side, got {size!r}")
        self.n = n
        self.seed = seed
        self.families = fams
        self.size = (w, h)

    def __len__(self) -> int:
        return self.n

    def sample(self, i: int) -> SourceSample:
        """Item ``i``: its own RNG seeded from (seed, i), so shards need not replay the stream."""
        if not 0 <= i < self.n:
            raise IndexError(f"sample index {i} out of range for n={self.n}")
        family = self.families[i % len(self.families)]
        scene = FAMILIES[family].make(random.Random(f"{self.seed}:{i}"), self.size)
        img, *more = (im if im.mode == "RGB" else im.convert("RGB") for im in scene.images)
        return SourceSample(
            id=content_id(
                images_digest([pixels_digest(im) for im in (img, *more)]), scene.question
            ),
            image=img,
            more_images=list(more),
            question=scene.question,
            answer=scene.answer,
            task=family,
            source=self.name,
            choices=scene.choices,
            annotations=scene.annotations,
            needs=scene.needs,
            objects=scene.objects,
            encoded=scene.encoded,
        )

    def __iter__(self) -> Iterator[SourceSample]:
        for i in range(self.n):
            yield self.sample(i)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n": self.n,
            "seed": self.seed,
            "families": list(self.families),
            "size": list(self.size),
        }


__all__ = ["FAMILIES", "SyntheticSource"]
