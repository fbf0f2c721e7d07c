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
        image_col = next((c for c in CANDIDATES["image"] if c in names), None)
        if image_col and isinstance(rows.features[image_col], datasets.Image):
            rows = rows.cast_column(image_col, datasets.Image(decode=False))
        digest = hashlib.sha256(
            b"".join(hashlib.sha256(f.read_bytes()).digest() for f in files_under(p))
            if p.exists()
            else str(getattr(rows, "_fingerprint", path)).encode()
        ).hexdigest()
        base = p if p.is_dir() else p.parent
    image = next((c for c in CANDIDATES["image"] if c in names), None)
    question = next((c for c in CANDIDATES["question"] if c in names), None)
    if image is None:
        raise ValueError(
            f"--decontaminate {path}: no image column; columns are {names} "
            f"(expected one of {CANDIDATES['image']})"
        )
    return Table(rows, image, question, digest, base)


def benchmark_index(path: str, cache: Path = CACHE_DIR) -> Benchmark:
    """The indexed benchmark at ``path`` (a folder of images or a table), cached."""
    return load(path, read_table, cache)
