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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from atlas_data.store.location import Location
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
    """One run's folder as the driver writes it: shard parts, completion records, manifest,
    on local disk or in an object store (:class:`~atlas_data.store.location.Location`)."""

    def __init__(self, root: Path | str | Location, options: dict[str, Any] | None = None) -> None:
        self.loc = root if isinstance(root, Location) else Location(root, options)

    @property
    def root(self) -> Path:
        """The folder on local disk; what only works there (batches, estimates, exports
        beside the run) says so instead of writing elsewhere."""
        local = self.loc.local_root
        if local is None:
            raise ValueError(
                f"{self.loc.url} is in an object store; this needs a run on local disk "
                "(--out a folder)"
            )
        return local

    @property
    def url(self) -> str:
        return self.loc.url

    def part(self, kind: str, index: int) -> str:
        return f"{kind}/{shard_name(index)}.parquet"

    def done_record(self, index: int) -> str:
        return f"{DONE_DIR}/{shard_name(index)}.json"

    def is_done(self, index: int) -> bool:
        return self.loc.exists(self.done_record(index))

    def shard_writer(self, index: int, kinds: Iterable[str]) -> ShardWriter:
        parts = {kind: self.part(kind, index) for kind in kinds}
        return ShardWriter(index, parts, self.done_record(index), self.loc)

    def record(self, index: int) -> ShardRecord:
        """The completion record of a finished shard."""
        return ShardRecord.from_json(self.loc.read_json(self.done_record(index)))

    def records(self) -> list[ShardRecord]:
        """Every committed shard's record, in shard order."""
        names = self.loc.listdir(DONE_DIR, ".json")
        return [
            ShardRecord.from_json(self.loc.read_json(f"{DONE_DIR}/{n}"))
            for n in names
            if n.startswith("part-")
        ]

    def clean_temporaries(self) -> int:
        """Remove temp files a crashed writer left behind (never readable as data); an
        object store has none (its files are staged on local disk)."""
        local = self.loc.local_root
        if local is None:
            return 0
        n = 0
        for kind in (*SPLIT_DIRS, DONE_DIR, "."):
            folder = local / kind
            if folder.exists():
                for tmp in folder.glob(".*.tmp-*"):
                    tmp.unlink(missing_ok=True)
                    n += 1
        return n

    def committed_files(self, records: Iterable[ShardRecord] | None = None) -> list[str]:
        """The data files the commit records name, relative to the run: what is data (a
        file without a record, cut short by a crash, is not)."""
        records = self.records() if records is None else records
        return sorted(f for r in records for f in r.files.values())

    def write_manifest(self, manifest: Manifest) -> str:
        """Write the manifest last, atomically: from then on the run reads as finished."""
        self.loc.write_json(MANIFEST, manifest.to_json())
        return self.loc.url_of(MANIFEST)


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


def _find(run: str) -> tuple[Location, dict[str, list[str]], str | None]:
    """Locate the shards of each row type; returns the location, the files (paths or URLs
    by row type) and the manifest's text. A run's files are the ones its manifest or, while
    it is unfinished, its commit records name (an object a killed run left uncommitted is
    not data); a published dataset's are ``data/<kind>/*.parquet``."""
    try:
        loc = Location(run)
    except ValueError as exc:
        raise RunNotFound(str(exc)) from exc
    text = loc.read_bytes(MANIFEST).decode("utf-8") if loc.exists(MANIFEST) else None
    if text is not None:
        names = list(Manifest.from_json(json.loads(text)).files)
    else:
        names = RunDir(loc).committed_files()
    if not names:  # a published dataset, or shards without records
        for kind in SPLIT_DIRS:
            names += [f"{kind}/{n}" for n in loc.listdir(kind, ".parquet") if n.startswith("part-")]
            names += [f"data/{kind}/{n}" for n in loc.listdir(f"data/{kind}", ".parquet")]
    files: dict[str, list[str]] = {}
    for name in sorted(names):
        kind = name.removeprefix("data/").split("/", 1)[0]
        if kind in SPLIT_DIRS:
            files.setdefault(kind, []).append(loc.url_of(name))
    return loc, files, text


def open_run(run: str | Path) -> Run:
    """Open a run folder, ``file://`` path or any fsspec URL (``s3://``, ``hf://``): the one
    reader of a finished run and of its ``manifest.json``."""
    run = str(run)
    loc, files, text = _find(run)
    if not files.get("sft") and not files.get("rl") and not text:
        local = loc.local_root
        runs = [] if local is None or not local.is_dir() else sorted(local.glob(f"*/{MANIFEST}"))
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
    return Run(root=loc.url, files=files, manifest=manifest, fs=loc.fs)


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
