"""A run's folder: its layout (:class:`RunDir`) and the one reader of a finished run
(:func:`open_run`), used by query, export, publish, the report, the summary and the flows.

Layout: ``<run>/{sft,rl,rejects}/part-NNNNN.parquet``, ``<run>/_shards/part-NNNNN.json``
(each shard's completion record) and ``<run>/manifest.json`` (written last). A published
dataset (``data/<kind>/*.parquet`` on the Hub) is read the same way, without a manifest.

:class:`Run` puts the files, the typed :class:`~atlas_data.store.manifest.Manifest` and a
DuckDB connection with one view per row type behind one object: ``sft``, ``rl``,
``rejects`` and ``kept`` (the kept samples with one ``reasoning`` column whichever split
holds them, so the same SQL works on SFT-only, RL-only and ``both`` runs). ``rejects`` and
``kept`` always exist, empty when nothing was rejected or kept: "none" is an answer.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from atlas_data.atomic import atomic_write_json
from atlas_data.store.manifest import Manifest, ShardRecord
from atlas_data.store.schemas import REJECTS, SFT
from atlas_data.store.writer import ShardWriter

SPLIT_DIRS = ("sft", "rl", "rejects")
DONE_DIR = "_shards"
MANIFEST = "manifest.json"


def shard_name(index: int) -> str:
    return f"part-{index:05d}"


class RunNotFound(ValueError):
    """The path or URL holds no run; the message says what was looked for."""


class RunDir:
    """One run's folder as the driver writes it: shard parts, completion records, manifest."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def part(self, kind: str, index: int) -> Path:
        return self.root / kind / f"{shard_name(index)}.parquet"

    def done_record(self, index: int) -> Path:
        return self.root / DONE_DIR / f"{shard_name(index)}.json"

    def is_done(self, index: int) -> bool:
        return self.done_record(index).exists()

    def shard_writer(self, index: int, kinds: Iterable[str]) -> ShardWriter:
        parts = {kind: self.part(kind, index) for kind in kinds}
        return ShardWriter(index, parts, self.done_record(index), self.root)

    def record(self, index: int) -> ShardRecord:
        """The completion record of a finished shard."""
        return ShardRecord.from_json(json.loads(self.done_record(index).read_text()))

    def records(self) -> list[ShardRecord]:
        """Every committed shard's record, in shard order."""
        folder = self.root / DONE_DIR
        if not folder.exists():
            return []
        paths = sorted(folder.glob("part-*.json"))
        return [ShardRecord.from_json(json.loads(p.read_text())) for p in paths]

    def clean_temporaries(self) -> int:
        """Remove temp files a crashed writer left behind (never readable as data)."""
        n = 0
        for kind in (*SPLIT_DIRS, DONE_DIR, "."):
            folder = self.root / kind
            if folder.exists():
                for tmp in folder.glob(".*.tmp-*"):
                    tmp.unlink(missing_ok=True)
                    n += 1
        return n

    def parquet_files(self, kinds: Iterable[str] = SPLIT_DIRS) -> list[Path]:
        return [p for k in kinds for p in sorted((self.root / k).glob("part-*.parquet"))]

    def write_manifest(self, manifest: Manifest) -> Path:
        """Write the manifest last, atomically: from then on the run reads as finished."""
        path = self.root / MANIFEST
        atomic_write_json(path, manifest.to_json())
        return path


@dataclass
class Run:
    """A finished run (or a published dataset): its files by row type, its manifest, and
    SQL over it. Close it (or use it as a context manager) to release the connection."""

    root: str
    files: dict[str, list[str]]
    manifest: Manifest | None
    fs: Any = None  # the fsspec filesystem of a URL; None on local disk
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)

    @property
    def local(self) -> RunDir | None:
        """The folder on local disk (None for a URL)."""
        return RunDir(Path(self.root)) if self.fs is None else None

    def finished(self) -> Manifest:
        """The manifest, or an error saying the run has not finished."""
        if self.manifest is None:
            raise RunNotFound(
                f"{self.root} has no {MANIFEST}: not a run folder, or the run did not finish "
                "(rerun `atlas-data run` with the same options; it resumes and writes it)"
            )
        return self.manifest

    @property
    def views(self) -> list[str]:
        return [k for k in ("sft", "rl") if self.files.get(k)] + ["rejects", "kept"]

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the run's views (made on first use)."""
        if self._con is None:
            self._con = _connect(self.files, self.fs)
        return self._con

    def sql(self, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one statement; returns column names and rows ([] for statements without)."""
        rel = self.con.sql(query)
        if rel is None:
            return [], []
        return list(rel.columns), rel.fetchall()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_url(run: str) -> bool:
    return "://" in run and not run.startswith("file://")


def _filesystem(run: str) -> Any:
    import fsspec

    protocol = run.split("://", 1)[0]
    try:
        return fsspec.filesystem(protocol)
    except (ImportError, ValueError) as exc:
        raise RunNotFound(
            f"cannot open {run!r}: no fsspec filesystem for {protocol}:// ({exc}); "
            f"install its package (s3fs for s3://, huggingface_hub for hf://)"
        ) from exc


def _find(run: str) -> tuple[str, dict[str, list[str]], Callable[[str], str | None], Any]:
    """Locate the shards of each row type; returns root, files, a text reader, the fs."""
    if _is_url(run):
        fs = _filesystem(run)
        root = run.rstrip("/")

        def glob(pattern: str) -> list[str]:
            return sorted(fs.unstrip_protocol(p) for p in fs.glob(pattern))

        def read(name: str) -> str | None:
            path = posixpath.join(root, name)
            return fs.cat_file(path).decode() if fs.exists(path) else None

    else:
        fs = None
        local = Path(run.removeprefix("file://")).expanduser()
        root = str(local)

        def glob(pattern: str) -> list[str]:
            return sorted(str(p) for p in local.glob(pattern.removeprefix(root + "/")))

        def read(name: str) -> str | None:
            path = local / name
            return path.read_text(encoding="utf-8") if path.exists() else None

    files: dict[str, list[str]] = {}
    for kind in SPLIT_DIRS:
        found = glob(f"{root}/{kind}/part-*.parquet") or glob(f"{root}/data/{kind}/*.parquet")
        if found:
            files[kind] = found
    return root, files, read, fs


def open_run(run: str | Path) -> Run:
    """Open a run folder, ``file://`` path or any fsspec URL (``s3://``, ``hf://``): the one
    reader of a finished run and of its ``manifest.json``."""
    run = str(run)
    root, files, read, fs = _find(run)
    text = read(MANIFEST)
    if not files.get("sft") and not files.get("rl") and not text:
        local = Path(run.removeprefix("file://")).expanduser()
        runs = [] if _is_url(run) or not local.is_dir() else sorted(local.glob(f"*/{MANIFEST}"))
        if runs:
            names = ", ".join(str(p.parent) for p in runs[:5])
            raise RunNotFound(f"{run!r} holds runs, not shards: pass one run folder, e.g. {names}")
        raise RunNotFound(
            f"no shards found under {run!r} (and no {MANIFEST}): expected sft/part-*.parquet "
            "or rl/part-*.parquet "
            "(a run folder made by `atlas-data run`) or data/sft/*.parquet (a published "
            "dataset); pass the run folder itself, e.g. data/runs/<run-id>"
        )
    manifest = Manifest.from_json(json.loads(text)) if text else None
    return Run(root=root, files=files, manifest=manifest, fs=fs)


def _connect(files: dict[str, list[str]], fs: Any) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if fs is not None:
        con.register_filesystem(fs)
    for kind, paths in files.items():
        listing = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        con.execute(
            f"CREATE VIEW {kind} AS SELECT * FROM read_parquet([{listing}], union_by_name = true)"
        )
    if "rejects" not in files:
        con.register("_no_rejects", pa.table({f.name: pa.array([], f.type) for f in REJECTS}))
        con.execute("CREATE VIEW rejects AS SELECT * FROM _no_rejects")
    cols = "id, task, source, question, answer, tokens, operations, images"
    if "sft" in files:
        kept = f"SELECT {cols}, text AS reasoning, 'sft' AS split FROM sft"
    elif "rl" in files:
        kept = f"SELECT {cols}, reference AS reasoning, 'rl' AS split FROM rl"
    else:  # a run whose every sample was rejected: nothing kept is an answer too
        con.register("_no_kept", pa.table({f.name: pa.array([], f.type) for f in SFT}))
        kept = f"SELECT {cols}, text AS reasoning, 'sft' AS split FROM _no_kept"
    con.execute(f"CREATE VIEW kept AS {kept}")
    return con
