"""Source adapters: the synthetic embedded default, local folders, Hugging Face datasets."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from atlas_data.config import check_keys
from atlas_data.sources.base import Source, SourceItem

SOURCES = ("synthetic", "local", "hf")


def build_source(name: str, options: dict[str, Any], n: int | None, seed: int) -> Source:
    """The source a run reads. Bad options, folders, files or column maps fail here."""
    if name == "synthetic":
        from atlas_data.sources.synthetic import SyntheticSource

        check_keys(options, SyntheticSource.OPTIONS, "synthetic source option")
        return SyntheticSource(n=n or SyntheticSource.DEFAULT_N, seed=seed, **options)
    if name == "local":
        from atlas_data.sources.local import LocalSource

        return LocalSource.from_options(options)  # pixels are checked at load
    if name == "hf":
        from atlas_data.sources.hf import HFSource

        return HFSource.from_options(options)
    raise ValueError(f"unknown source {name!r}; available: {', '.join(SOURCES)}")


def source_size(source: Source) -> int | None:
    """How many records the source holds, or ``None`` for a stream of unknown length."""
    size = getattr(source, "__len__", None)
    return int(size()) if callable(size) and getattr(source, "sample", None) else None


def source_items(source: Source, start: int, stop: int) -> Iterator[SourceItem]:
    """Items ``start..stop-1``, lazily: random access when the source has it, else a skip."""
    sample = getattr(source, "sample", None)
    if callable(sample):
        return (sample(i) for i in range(start, stop))
    return islice(iter(source), start, stop)
