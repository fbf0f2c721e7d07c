"""SQL over a run's shards with DuckDB, on local disk or behind any fsspec URL.

A run is opened as a DuckDB connection with one view per row type whose files exist
(``sft``, ``rl``, ``rejects``) plus ``kept``: the kept samples with one ``reasoning``
column whichever split holds them, so the same SQL works on SFT-only, RL-only and
``both`` runs. ``rejects`` and ``kept`` always exist (empty when nothing was rejected or
nothing kept: "none" is an answer, not an error). Both the run layout
(``<run>/sft/part-*.parquet``) and the published Hub layout (``data/sft/*.parquet``)
are understood, so ``hf://datasets/ORG/NAME`` is queried with the same SQL.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from atlas_data.store.schemas import REJECTS, SFT
from atlas_data.store.writer import MANIFEST, SPLIT_DIRS

# Named recipes: each runs over the views above (tested in tests/test_query.py).
RECIPES: dict[str, tuple[str, str]] = {
    "tokens-per-task": (
        "How often each functional token is used, per task.",
        "SELECT task, token, count(*) AS n FROM (SELECT task, unnest(tokens) AS token FROM kept) "
        "GROUP BY ALL ORDER BY task, token",
    ),
    "rejection-reasons": (
        "Rejections by stage and reason, most frequent first.",
        "SELECT stage, reason, count(*) AS n FROM rejects GROUP BY ALL ORDER BY n DESC, reason",
    ),
    "reasoning-length": (
        "Average reasoning length (characters and words) per task.",
        "SELECT task, count(*) AS n, round(avg(length(reasoning)), 1) AS avg_chars, "
        "round(avg(len(string_split(trim(reasoning), ' '))), 1) AS avg_words "
        "FROM kept GROUP BY task ORDER BY task",
    ),
    "multi-op": (
        "Samples that use more than one operation.",
        "SELECT id, task, len(operations) AS n_ops, tokens FROM kept "
        "WHERE len(operations) > 1 ORDER BY n_ops DESC, id",
    ),
    "quality": (
        "Trajectories by number of operations (0: a direct answer), the proposers that found "
        "the chosen operations, and rejections by reason.",
        "SELECT CASE WHEN len(operations) = 0 THEN 'direct answers (no operation)' "
        "ELSE 'trajectories with ' || len(operations) || ' operation(s)' END AS what, "
        "count(*) AS n FROM kept GROUP BY ALL "
        "UNION ALL SELECT 'kept operations found by ' || coalesce(op.proposer, '-'), count(*) "
        "FROM (SELECT unnest(operations) AS op FROM kept) GROUP BY ALL "
        "UNION ALL SELECT 'rejected: ' || reason, count(*) FROM rejects GROUP BY ALL "
        "ORDER BY what",
    ),
    "judge-scores": (
        "Judge verdicts per operation: how many helpful, mean score.",
        "SELECT op.name AS operation, op.judge AS judge, count(*) AS n, "
        "count(*) FILTER (WHERE op.helpful) AS helpful, round(avg(op.score), 3) AS mean_score "
        "FROM (SELECT unnest(operations) AS op FROM kept) GROUP BY ALL ORDER BY operation",
    ),
}


class RunNotFound(ValueError):
    """The path or URL holds no run shards; the message says what was looked for."""


@dataclass
class OpenRun:
    """A DuckDB connection with the run's views, plus what was found."""

    con: duckdb.DuckDBPyConnection
    root: str
    files: dict[str, list[str]] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None

    @property
    def views(self) -> list[str]:
        return [k for k in ("sft", "rl") if self.files.get(k)] + ["rejects", "kept"]

    def sql(self, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one statement; returns column names and rows ([] for statements without)."""
        rel = self.con.sql(query)
        if rel is None:
            return [], []
        return list(rel.columns), rel.fetchall()

    def close(self) -> None:
        self.con.close()


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


def open_run(run: str | Path) -> OpenRun:
    """Open a run (a local folder, ``file://``, or any fsspec URL) for SQL."""
    run = str(run)
    root, files, read, fs = _find(run)
    manifest_text = read(MANIFEST)
    if not files.get("sft") and not files.get("rl") and not manifest_text:
        local = Path(run.removeprefix("file://")).expanduser()
        runs = [] if _is_url(run) or not local.is_dir() else sorted(local.glob(f"*/{MANIFEST}"))
        if runs:
            names = ", ".join(str(p.parent) for p in runs[:5])
            raise RunNotFound(f"{run!r} holds runs, not shards: pass one run folder, e.g. {names}")
        raise RunNotFound(
            f"no shards found under {run!r}: expected sft/part-*.parquet or rl/part-*.parquet "
            "(a run folder made by `atlas-data run`) or data/sft/*.parquet (a published "
            "dataset); pass the run folder itself, e.g. data/runs/<run-id>"
        )
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
    manifest = json.loads(manifest_text) if manifest_text else None
    return OpenRun(con=con, root=root, files=files, manifest=manifest)


def recipe_sql(name: str) -> str:
    try:
        return RECIPES[name][1]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r}; available: {', '.join(RECIPES)}") from None


def _cell(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, list):
        return [_cell(v) for v in value]
    if isinstance(value, dict):
        return {k: _cell(v) for k, v in value.items()}
    return value


def to_records(columns: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (binary image bytes shown as their size)."""
    return [{c: _cell(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def format_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str:
    """Render rows as ``csv`` or ``json`` text."""
    records = to_records(columns, rows)
    if fmt == "json":
        return json.dumps(records, indent=2, default=str, ensure_ascii=False)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        for r in records:
            w.writerow(
                [
                    json.dumps(v, default=str) if isinstance(v, list | dict) else v
                    for v in r.values()
                ]
            )
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}; use table, csv or json")


def repl(
    run: OpenRun,
    show: Callable[[list[str], list[tuple[Any, ...]]], None],
    say: Callable[[str], None],
    read_line: Callable[[str], str] = input,
) -> None:
    """A small SQL shell: statements end with ``;``; ``.tables``, ``.recipes``, ``.quit``."""
    with contextlib.suppress(ImportError):  # line editing and history for input()
        import readline  # noqa: F401
    say(f"views: {', '.join(run.views)}.  End statements with ';'.  .recipes  .tables  .quit")
    buffer: list[str] = []
    while True:
        try:
            line = read_line("atlas> " if not buffer else "  ...> ")
        except (EOFError, KeyboardInterrupt):
            say("")
            return
        stripped = line.strip()
        if not buffer and stripped in (".quit", ".exit", "exit", "quit"):
            return
        if not buffer and stripped == ".tables":
            say(", ".join(run.views))
            continue
        if not buffer and stripped == ".recipes":
            for name, (doc, sql) in RECIPES.items():
                say(f"-- {name}: {doc}\n{sql};")
            continue
        if not stripped:
            continue
        buffer.append(line)
        if not stripped.endswith(";"):
            continue
        statement = "\n".join(buffer)
        buffer = []
        try:
            show(*run.sql(statement))
        except duckdb.Error as exc:
            say(f"error: {exc}")
