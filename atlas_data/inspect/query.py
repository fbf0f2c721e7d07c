"""SQL over a run: named recipes, output formats and a small shell, on the views of
:class:`~atlas_data.store.run.Run` (``sft``, ``rl``, ``rejects``, ``kept``), on local disk
or behind any fsspec URL (``hf://datasets/ORG/NAME`` is queried with the same SQL).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import duckdb

from atlas_data.store.run import Run

# Named recipes: each runs over the views above (tested in tests/test_query.py).
RECIPES: dict[str, tuple[str, str]] = {
    "tokens-per-task": (
        "How often each functional token is used, per task.",
        "SELECT task, token, count(*) AS n FROM (SELECT task, unnest(tokens) AS token FROM kept) "
        "GROUP BY ALL ORDER BY task, token",
    ),
    "rejection-reasons": (
        "Rejections by stage and reason, most frequent first.",
        "SELECT stage, reason, count(*) AS n FROM rejects GROUP BY ALL "
        "ORDER BY n DESC, reason, stage",
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
        "the chosen operations, the tokens each source produced, and rejections by reason.",
        "SELECT CASE WHEN len(operations) = 0 THEN 'direct answers (no operation)' "
        "ELSE 'trajectories with ' || len(operations) || ' operation(s)' END AS what, "
        "count(*) AS n FROM kept GROUP BY ALL "
        "UNION ALL SELECT 'kept operations found by ' || coalesce(op.proposer, '-'), count(*) "
        "FROM (SELECT unnest(operations) AS op FROM kept) GROUP BY ALL "
        "UNION ALL SELECT 'token ' || token || ' from ' || source, count(*) "
        "FROM (SELECT source, unnest(tokens) AS token FROM kept) GROUP BY ALL "
        "UNION ALL SELECT 'rejected: ' || reason, count(*) FROM rejects GROUP BY ALL "
        "ORDER BY what",
    ),
    "judge-scores": (
        "Judge verdicts per operation: how many helpful, mean score.",
        "SELECT op.name AS operation, op.judge AS judge, count(*) AS n, "
        "count(*) FILTER (WHERE op.helpful) AS helpful, round(avg(op.score), 3) AS mean_score "
        "FROM (SELECT unnest(operations) AS op FROM kept) GROUP BY ALL ORDER BY operation, judge",
    ),
}


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
    run: Run,
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
