"""Benchmarks a run must not train on: ``--decontaminate PATH`` (repeatable).

PATH is a folder of a benchmark's images, or a table of them: Parquet files, a CSV/TSV/JSONL
file, a ``save_to_disk`` folder or a hub name, with an image column (bytes, ``{bytes,
path}``, a path next to the table, or base64 as TreeBench ships it) and, optionally, a
question column. Each image is indexed under its fingerprint and those of a few crops
(:mod:`atlas_data.dedup.fingerprint`); each question under its word trigrams.

The index is built once and cached by content hash under ``data/cache/benchmarks/``: the
SHA-256 of the benchmark's bytes names ``<hash>.npz``, and a small note keyed by the files'
names, sizes and times remembers which hash they had, so a rerun (or every shard of a
Prefect run) loads the index without reading the benchmark again.

A folder of images is read here. A table is opened by its caller's ``read_table`` (formats,
hub names and column names are the sources' knowledge: :mod:`atlas_data.decontaminate`
passes theirs), which hands back a :class:`Table`; this module only fingerprints it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from atlas_data.atomic import atomic_write_bytes, atomic_write_json
from atlas_data.dedup.fingerprint import DEFAULT_BITS, Fingerprint, FingerprintIndex, variants

CACHE_DIR = Path("data/cache/benchmarks")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
TABLE_SUFFIXES = {".parquet", ".csv", ".tsv", ".jsonl", ".json"}
# A question is the benchmark's when the word trigrams the two share are this share of the
# shorter one's (one holds the other, give or take a word). Measured in
# tests/test_decontamination.py: copies with a phrase added share 1.0; questions from the
# same template with one word changed share 0.67 or less.
QUESTION_OVERLAP = 0.8
MIN_TRIGRAMS = 3  # shorter questions ("What is this?") are everyone's
_WORD = re.compile(r"[0-9a-z]+")


@dataclass
class Table:
    """A benchmark table as its reader opened it: its rows, the columns holding its images
    (bytes, ``{bytes, path}``, a path relative to ``base``, base64, or a list of these: a
    benchmark of several images per question has every one indexed) and the question
    (``None``: no question column), and the SHA-256 that names its content."""

    rows: Iterable[Mapping[str, Any]]
    images: tuple[str, ...]  # every column holding an image (or a list of images)
    question: str | None
    digest: str
    base: Path


ReadTable = Callable[[str], Table]  # a table's path or hub name -> the table, or ValueError


def trigrams(question: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(question.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


@dataclass
class Benchmark:
    """One benchmark's images and questions, indexed."""

    path: str
    content_hash: str
    images: FingerprintIndex
    questions: list[str] = field(default_factory=list)
    _grams: dict[tuple[str, ...], list[int]] = field(default_factory=dict, repr=False)
    _sizes: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        grams: defaultdict[tuple[str, ...], list[int]] = defaultdict(list)
        for k, q in enumerate(self.questions):
            mine = trigrams(q)
            self._sizes.append(len(mine))
            for g in mine:
                grams[g].append(k)
        self._grams = dict(grams)

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "content_hash": self.content_hash,
            "images": len(self.images),
            "questions": len(self.questions),
        }

    def image_match(self, fp: Fingerprint, bits: int) -> str | None:
        """Why an image is this benchmark's, or ``None``."""
        found = self.images.find(fp, bits)
        if found is None:
            return None
        label, distance = found
        return f"{label} of {self.path} ({distance} of 64 bits apart)"

    def question_match(self, question: str) -> str | None:
        """Why a question is this benchmark's (one holds the other's word trigrams), or None."""
        mine = trigrams(question)
        if len(mine) < MIN_TRIGRAMS or not self._grams:
            return None
        shared = Counter(k for g in mine for k in self._grams.get(g, ()))
        overlaps = {k: n / min(len(mine), self._sizes[k]) for k, n in shared.items()}
        k = max(overlaps, key=overlaps.__getitem__, default=None)
        if k is None or self._sizes[k] < MIN_TRIGRAMS or overlaps[k] < QUESTION_OVERLAP:
            return None
        share = f"{overlaps[k]:.0%} of the shorter one's word trigrams"
        return f"question {k} of {self.path} ({share}): {self.questions[k][:120]!r}"


# What an index holds changed (v2: every image of a row, not its first): older caches are
# not read.
INDEX_VERSION = "v2"


def load(path: str, read_table: ReadTable, cache: Path = CACHE_DIR) -> Benchmark:
    """The benchmark at ``path``, from the cache when its files are unchanged; a table (not
    a folder of images) is opened with ``read_table``."""
    note = cache / f"stat-{INDEX_VERSION}-{_stat_key(path)}.json"
    if note.exists():
        content = json.loads(note.read_text())["content_hash"]
        cached = cache / f"{content}.{INDEX_VERSION}.npz"
        if cached.exists():
            return _read(path, content, cached)
    images, questions, content = _scan(path, read_table)
    dct = np.array([[v.dct for v in fps] for _, fps in images], dtype=np.uint64).reshape(-1, 6)
    gradient = np.array([[v.gradient for v in fps] for _, fps in images], dtype=np.uint64)
    buf = io.BytesIO()
    np.savez(
        buf,
        dct=dct,
        gradient=gradient.reshape(-1, 6),
        labels=np.array([label for label, _ in images], dtype=str),
        questions=np.array(questions, dtype=str),
    )
    atomic_write_bytes(cache / f"{content}.{INDEX_VERSION}.npz", buf.getvalue())
    atomic_write_json(note, {"path": path, "content_hash": content})
    return _read(path, content, cache / f"{content}.{INDEX_VERSION}.npz")


def _read(path: str, content: str, file: Path) -> Benchmark:
    with np.load(file) as data:
        index = FingerprintIndex(data["dct"], data["gradient"], [str(x) for x in data["labels"]])
        return Benchmark(path, content, index, [str(q) for q in data["questions"]])


def files_under(path: Path) -> list[Path]:
    """The file itself, or every file under a folder (hidden ones left out), sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))


def _stat_key(path: str) -> str:
    """What the files look like (names, sizes, times): unchanged files keep their hash."""
    p = Path(path).expanduser()
    if not p.exists():
        return hashlib.sha256(f"hub:{path}".encode()).hexdigest()[:24]
    stats = [
        (str(f.relative_to(p)) if p.is_dir() else f.name, f.stat().st_size, f.stat().st_mtime_ns)
        for f in files_under(p)
    ]
    return hashlib.sha256(json.dumps([str(p.resolve()), stats]).encode()).hexdigest()[:24]


Scanned = tuple[list[tuple[str, list[Fingerprint]]], list[str], str]


def _scan(path: str, read_table: ReadTable) -> Scanned:
    """Every image's fingerprints (with a label naming it), the questions, and the SHA-256
    of the benchmark's bytes."""
    p = Path(path).expanduser()
    if p.is_dir() and not _is_table_folder(p):
        return _scan_folder(p)
    return _scan_table(path, read_table(path))


def _is_table_folder(p: Path) -> bool:
    markers = ("dataset_info.json", "state.json", "dataset_dict.json")
    return any((p / m).exists() for m in markers) or any(p.glob("*.parquet"))


def _open(data: bytes) -> Image.Image | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
            img.draft("RGB", (256, 256))  # JPEG: decode small, it is all a fingerprint reads
            return img.convert("RGB")
    except Exception:  # noqa: BLE001 - a file that is no image is not a benchmark image
        return None


def _scan_folder(root: Path) -> Scanned:
    digest = hashlib.sha256()
    images = []
    for f in files_under(root):
        if f.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        data = f.read_bytes()
        digest.update(str(f.relative_to(root)).encode() + b"\0" + hashlib.sha256(data).digest())
        img = _open(data)
        if img is not None:
            images.append((str(f.relative_to(root)), variants(img)))
    if not images:
        raise ValueError(f"--decontaminate {root}: no image files in the folder")
    return images, [], digest.hexdigest()


def _scan_table(path: str, table: Table) -> Scanned:
    images, questions = [], []
    for k, row in enumerate(table.rows):
        values = [v for col in table.images for v in _listed(row.get(col))]
        for j, value in enumerate(values):
            data = _image_bytes(value, table.base)
            img = _open(data) if data else None
            if img is not None:
                images.append((f"row {k}" if len(values) == 1 else f"row {k} image {j + 1}",
                               variants(img)))  # fmt: skip
        if table.question and row.get(table.question):
            questions.append(str(row[table.question]))
    if not images and not questions:
        raise ValueError(f"--decontaminate {path}: no readable image or question")
    return images, questions, table.digest


def _listed(value: Any) -> list[Any]:
    """A cell's images: a list of them, or one (an empty cell: none)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _image_bytes(value: Any, base: Path) -> bytes | None:
    """One image value as bytes: raw, a ``{bytes, path}`` struct, a path next to the
    table, or base64."""
    if isinstance(value, dict):
        if value.get("bytes"):
            return bytes(value["bytes"])
        value = value.get("path")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str) or not value:
        return None
    candidate = Path(value) if Path(value).is_absolute() else base / value
    if len(value) < 1024 and candidate.is_file():
        return candidate.read_bytes()
    try:
        return base64.b64decode(value)
    except (binascii.Error, ValueError):
        return None


@dataclass
class Decontamination:
    """Every benchmark of a run, and the checks a sample must pass."""

    benchmarks: list[Benchmark]
    bits: int = DEFAULT_BITS
    questions: bool = False

    def contaminated(self, fp: Fingerprint, question: str) -> tuple[str, str] | None:
        """``(benchmark path, why)`` when the sample is a benchmark's, else ``None``."""
        for b in self.benchmarks:
            why = b.image_match(fp, self.bits) or (
                b.question_match(question) if self.questions else None
            )
            if why:
                return b.path, why
        return None

    def describe(self) -> list[dict[str, Any]]:
        return [b.describe() for b in self.benchmarks]
