"""The bodies of ``atlas-data query``, ``report`` and ``publish`` (cli.py only registers them).

Each returns a process exit code and prints through the given rich consoles, so tests can
call them directly and ``cli.py`` stays a list of thin commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from atlas_data.inspect.query import RECIPES, format_rows, recipe_sql, repl
from atlas_data.store.run import RunNotFound, open_run


def _table(columns: list[str], rows: list[tuple[Any, ...]], limit: int = 200) -> Table:
    from atlas_data.inspect.query import to_records

    t = Table(show_header=True, header_style="bold")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in to_records(columns, rows[:limit]):
        t.add_row(
            *(
                json.dumps(v, default=str, ensure_ascii=False)
                if isinstance(v, list | dict)
                else ("NULL" if v is None else str(v))
                for v in r.values()
            )
        )
    if len(rows) > limit:
        t.caption = f"{len(rows)} rows, first {limit} shown (use --format csv for all)"
    else:
        t.caption = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
    return t


def query(
    run: str, sql: str | None, recipe: str | None, fmt: str, out: Console, err: Console
) -> int:
    if fmt not in ("table", "csv", "json"):
        err.print(f"[bold red]error:[/] --format must be table, csv or json, not {fmt!r}")
        return 2
    if recipe == "list":
        for name, (doc, text) in RECIPES.items():
            out.print(f"[bold]{name}[/]: {doc}\n  {text}")
        return 0
    if sql and recipe:
        err.print("[bold red]error:[/] give either SQL or --recipe, not both")
        return 2
    try:
        statement = recipe_sql(recipe) if recipe else sql
        opened = open_run(run)
    except (RunNotFound, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        return 2
    try:
        if statement is None:

            def show(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
                if columns:
                    out.print(_table(columns, rows))

            repl(opened, show, lambda s: out.print(s, highlight=False, markup=False))
            return 0
        try:
            columns, rows = opened.sql(statement)
        except duckdb.Error as exc:
            err.print(f"[bold red]error:[/] {exc}")
            err.print(f"views available: {', '.join(opened.views)}")
            return 2
        if fmt == "table":
            out.print(_table(columns, rows))
        else:
            print(format_rows(columns, rows, fmt), end="" if fmt == "csv" else "\n")
        return 0
    finally:
        opened.close()


def report(run: str, dest: Path, examples: int, out: Console, err: Console) -> int:
    from atlas_data.inspect.report import write_report

    try:
        path = write_report(run, dest, n_examples=examples)
    except (RunNotFound, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        return 2
    out.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); open it in a browser")
    return 0


def publish(
    run: str,
    repo_id: str,
    private: bool,
    dry_run: bool,
    dest: Path | None,
    license: str,
    out: Console,
    err: Console,
) -> int:
    from atlas_data.inspect.publish import PublishError, build_folder, resolve_token, upload

    try:
        if not dry_run:
            resolve_token()  # fail before building anything when there is no token
        folder = build_folder(run, repo_id, dest, license=license)
        files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
        out.print(f"built {folder}: " + ", ".join(str(f) for f in files))
        if dry_run:
            out.print(f"dry run: nothing uploaded. Repo folder: {folder}")
            return 0
        url = upload(folder, repo_id, private=private)
    except (PublishError, RunNotFound, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        return 2
    out.print(f"uploaded to dataset {repo_id}: {url}")
    return 0
