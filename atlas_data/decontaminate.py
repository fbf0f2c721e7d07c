"""The benchmarks a run keeps out (``--decontaminate PATH``), opened as the sources open data.

:mod:`atlas_data.dedup.benchmarks` fingerprints and indexes a benchmark and caches the
index; it does not know table formats, hub names or column names, which are the sources'
knowledge. This module joins the two: :func:`read_table` opens a table with the sources'
readers (:func:`~atlas_data.sources.local.read_questions` for CSV/TSV/JSON/JSONL,
:func:`~atlas_data.sources.hf.load_hf` for Parquet, ``save_to_disk`` folders and hub names)
and finds its image and question columns under the names a source looks for
(:data:`~atlas_data.sources.columns.CANDIDATES`); :func:`benchmark_index` is
:func:`~atlas_data.dedup.benchmarks.load` with it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from atlas_data.dedup.benchmarks import CACHE_DIR, Benchmark, Table, files_under, load
from atlas_data.sources.columns import CANDIDATES
from atlas_data.sources.hf import load_hf
from atlas_data.sources.local import read_questions

TEXT_TABLES = (".csv", ".tsv", ".jsonl", ".json")


def read_table(path: str) -> Table:
    """The benchmark table at ``path`` (a file, a folder or a hub name), its images not
    decoded; a ValueError names the columns when none holds an image."""
    p = Path(path).expanduser()
    if p.is_file() and p.suffix.lower() in TEXT_TABLES:
        rows: Any = read_questions(p)
        names = list(rows[0]) if rows else []
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        base = p.parent
    else:
        import datasets

        rows = load_hf(path, "train", None, False)
        if isinstance(rows, datasets.DatasetDict):  # pragma: no cover - load_hf picks a split
            rows = next(iter(rows.values()))
        names = list(rows.column_names)
        for col in image_columns(names):
            feature = rows.features[col]
            if isinstance(feature, datasets.Image):
                rows = rows.cast_column(col, datasets.Image(decode=False))
            elif isinstance(getattr(feature, "feature", None), datasets.Image):  # a list
                list_type: Any = type(feature)
                rows = rows.cast_column(col, list_type(datasets.Image(decode=False)))
        digest = hashlib.sha256(
            b"".join(hashlib.sha256(f.read_bytes()).digest() for f in files_under(p))
            if p.exists()
            else str(getattr(rows, "_fingerprint", path)).encode()
        ).hexdigest()
        base = p if p.is_dir() else p.parent
    images = image_columns(names)
    question = next((c for c in CANDIDATES["question"] if c in names), None)
    if not images:
        raise ValueError(
            f"--decontaminate {path}: no image column; columns are {names} "
            f"(expected one of {CANDIDATES['image']}, image_1..., or image_list)"
        )
    return Table(rows, images, question, digest, base)


def image_columns(names: list[str]) -> tuple[str, ...]:
    """Every column that holds a benchmark's images: the first a source would read, and
    numbered or listed ones (BLINK's ``image_1`` … ``image_4``, MuirBench's ``image_list``)."""
    first = next((c for c in CANDIDATES["image"] if c in names), None)
    more = [c for c in names if re.fullmatch(r"image_(\d+|list)", c) and c != first]
    return tuple(([first] if first else []) + more)


def benchmark_index(path: str, cache: Path = CACHE_DIR) -> Benchmark:
    """The indexed benchmark at ``path`` (a folder of images or a table), cached."""
    return load(path, read_table, cache)
