"""``--source local``: a folder of images plus a questions file (JSONL, CSV or Parquet).

Columns: ``image`` (a path relative to the root), ``question``, ``answer``, optional
``choices`` and ``bbox`` (the same column map, presets and box formats as ``--source hf``).
Image paths are resolved *inside* the root only: ``../x.png``, an absolute path elsewhere
or a symlink pointing out becomes a rejection row ``path_outside_root`` — one bad row never
stops the run, and nothing outside the folder the user named is ever read.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from atlas_data.rejections import Rejection
from atlas_data.sources.base import SourceItem, SourceRejection, content_id
from atlas_data.sources.options import DEFAULT_MAX_FILE_BYTES, RecordOptions, record_options
from atlas_data.sources.records import RecordAdapter

OPTIONS = ("root", "questions")
_BAD_RECORD = "__atlas_bad_record__"


def read_inside(root: Path, ref: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[bytes, str]:
    """Read ``ref`` only if it resolves (symlinks followed) to a file inside ``root``."""
    if not ref.strip():
        raise Rejection("missing_image", "the image path is empty")
    if "\x00" in ref:
        raise Rejection("path_outside_root", "the image path contains a NUL byte")
    target = (root / ref).resolve()  # an absolute ref replaces root here, then is checked
    if not target.is_relative_to(root):
        raise Rejection("path_outside_root", f"{ref!r} resolves outside the root {root}")
    if not target.exists():
        raise Rejection("missing_image", f"{ref!r} does not exist under {root}")
    if not target.is_file():
        raise Rejection("missing_image", f"{ref!r} is not a regular file")
    size = target.stat().st_size
    if size > max_bytes:
        raise Rejection("file_too_large", f"{ref!r} is {size} bytes > max_file_bytes={max_bytes}")
    try:
        return target.read_bytes(), target.name
    except OSError as exc:
        raise Rejection("missing_image", f"cannot read {ref!r}: {exc}") from exc


def read_questions(path: Path) -> list[dict[str, Any]]:
    """All records of a questions file; a malformed JSONL line becomes a marker record."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        raw = path.read_bytes()
        if suffix == ".json" and raw.lstrip().startswith(b"["):
            records = json.loads(raw.decode("utf-8"))
            return [r if isinstance(r, dict) else {_BAD_RECORD: repr(r)[:200]} for r in records]
        out: list[dict[str, Any]] = []
        # Decoded line by line: one line of bad bytes is one bad record, not a lost file.
        for lineno, blob in enumerate(raw.splitlines(), 1):
            if not blob.strip():
                continue
            try:
                rec = json.loads(blob.decode("utf-8"))
            except UnicodeDecodeError as exc:
                out.append({_BAD_RECORD: f"line {lineno}: not valid UTF-8 ({exc.reason})"})
                continue
            except json.JSONDecodeError as exc:
                out.append({_BAD_RECORD: f"line {lineno}: {exc}"})
                continue
            out.append(
                rec if isinstance(rec, dict) else {_BAD_RECORD: f"line {lineno}: not an object"}
            )
        return out
    if suffix in (".csv", ".tsv"):
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ","))
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    raise ValueError(f"questions file {path} must be .jsonl, .json, .csv, .tsv or .parquet")


class LocalSource:
    """Records of a questions file, images read from inside ``root``."""

    name = "local"

    def __init__(
        self,
        root: str,
        questions: str,
        records: RecordOptions | None = None,
    ) -> None:
        if not root or not questions:
            raise ValueError("--source local needs --root IMAGE_FOLDER and --questions FILE")
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise ValueError(f"root {root} is not a folder")
        qpath = Path(questions).expanduser()
        if not qpath.is_absolute() and not qpath.exists():
            qpath = self.root / qpath
        if not qpath.is_file():
            raise ValueError(f"questions file {questions} does not exist")
        self.questions_path = qpath
        try:
            self.records = read_questions(qpath)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
            raise ValueError(f"cannot read questions file {qpath}: {exc}") from exc
        names: list[str] = []
        for r in self.records:
            names += [k for k in r if k not in names and k != _BAD_RECORD]
        self.options = records or RecordOptions()
        label = self.options.label or self.root.name
        self.adapter = RecordAdapter.build(self.options, names, f"local/{label}", self._read_image)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> LocalSource:
        own, shared = record_options(options, OPTIONS, "local")
        root, questions = str(own.get("root") or ""), str(own.get("questions") or "")
        return cls(root=root, questions=questions, records=shared)

    def __len__(self) -> int:
        return len(self.records)

    def _read_image(self, value: Any) -> tuple[bytes, str]:
        if value is None:
            raise Rejection("missing_image", "the image column is empty")
        if isinstance(value, (bytes, bytearray)):  # a preset decoded it (TreeBench's base64)
            return bytes(value), ""
        return read_inside(self.root, str(value), self.adapter.policy.max_file_bytes)

    def sample(self, i: int) -> SourceItem:
        record = self.records[i]
        if _BAD_RECORD in record:
            return SourceRejection(
                id=content_id(f"{self.adapter.source}#{i}", ""),
                rejection=Rejection("bad_record", str(record[_BAD_RECORD]), "load"),
                source=self.adapter.source,
            )
        return self.adapter.item(record, i)

    def __iter__(self) -> Iterator[SourceItem]:
        for i in range(len(self.records)):
            yield self.sample(i)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "root": str(self.root),
            "questions": str(self.questions_path),
            **self.adapter.describe(),
        }
