"""``atlas-data``: the command line. Thin: parses options, calls the library, prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from atlas_data.formats import PRESETS
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary, VocabularyError

app = typer.Typer(
    help="Synthesize functional-token visual reasoning data (ATLAS, arXiv 2605.15198).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def summary_table(manifest: dict[str, Any]) -> Table:
    """The end-of-run summary: kept, rejected by reason, tokens used, throughput."""
    c = manifest["counts"]
    t = Table(title=f"run {manifest['run_id']}", show_header=True, header_style="bold")
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("samples", str(c["samples"]))
    t.add_row("kept", f"{c['kept']} ({c['kept_fraction']:.1%})")
    t.add_row("rejected", str(c["rejected"]))
    for reason, n in c["rejected_by_reason"].items():
        t.add_row(f"  rejected: {reason}", str(n))
    for token, n in c["tokens"].items():
        t.add_row(f"  token {token}", str(n))
    for task, n in c["tasks"].items():
        t.add_row(f"  task {task}", str(n))
    usage = manifest.get("teacher_usage", {})
    if usage.get("requests") or usage.get("cache_hits"):
        t.add_row("teacher requests / cache hits", f"{usage['requests']} / {usage['cache_hits']}")
        t.add_row(
            "teacher tokens (prompt / completion)",
            f"{usage['prompt_tokens']} / {usage['completion_tokens']}",
        )
    sps = manifest["timing"].get("samples_per_second")
    t.add_row("samples/s", f"{sps:.2f}" if sps else "- (every shard was already done)")
    t.add_row("output", str(Path(manifest["config"]["out"]) / manifest["run_id"]))
    return t


def _parse_kv(pairs: list[str] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            _fail(f"{what} {pair!r} must look like key=value")
        k, v = pair.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


@app.command()
def run(
    split: Annotated[str, typer.Option(help="Which split to write: sft, rl or both.")] = "sft",
    n: Annotated[int, typer.Option(help="Number of source samples to process.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic source and proposals.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder that holds run folders.")] = Path("data/runs"),
    source: Annotated[str, typer.Option(help="Source adapter.")] = "synthetic",
    source_opt: Annotated[
        list[str] | None,
        typer.Option("--source-opt", help="Source option key=value (repeatable)."),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="--source hf: hub name, save_to_disk folder or Parquet.")
    ] = None,
    hf_split: Annotated[str | None, typer.Option(help="--source hf: dataset split.")] = None,
    hf_config: Annotated[str | None, typer.Option(help="--source hf: dataset config.")] = None,
    map: Annotated[
        str | None, typer.Option(help="Column map, e.g. image=img,question=query,bbox=box.")
    ] = None,
    root: Annotated[Path | None, typer.Option(help="--source local: the image folder.")] = None,
    questions: Annotated[
        Path | None, typer.Option(help="--source local: JSONL/CSV/Parquet of questions.")
    ] = None,
    max_pixels: Annotated[
        int | None, typer.Option(help="Refuse images with more pixels (default 64M).")
    ] = None,
    export: Annotated[
        list[str] | None,
        typer.Option("--export", help="Also export: trl, llamafactory, verl (repeatable)."),
    ] = None,
    teacher: Annotated[
        str, typer.Option(help="Teacher: template (offline) or openai (any compatible endpoint).")
    ] = "template",
    model: Annotated[
        str | None, typer.Option(help="Teacher model name (--teacher openai).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1."),
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option(help="Model for the flip judge (default: --model).")
    ] = None,
    teacher_concurrency: Annotated[
        int | None, typer.Option(help="Concurrent teacher requests (default 16).")
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Response cache folder (default data/cache/teacher).")
    ] = None,
    teacher_opt: Annotated[
        list[str] | None,
        typer.Option("--teacher-opt", help="Teacher option key=value (repeatable)."),
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option("--judge", help="Judge: annotation, ocr, flip (repeatable; all must agree)."),
    ] = None,
    preset: Annotated[
        str, typer.Option(help=f"Output format preset: {', '.join(PRESETS)}.")
    ] = "atlas",
    vocab: Annotated[
        Path | None, typer.Option(help="A vocabulary JSON file (default: the paper's 5 tokens).")
    ] = None,
    judge_max_side: Annotated[
        int, typer.Option(help="Longest side at which judges view images (trainee budget).")
    ] = 1024,
    shard_size: Annotated[int, typer.Option(help="Samples per Parquet shard.")] = 64,
    run_id: Annotated[
        str | None, typer.Option(help="Run folder name (default: a hash of the config).")
    ] = None,
) -> None:
    """Run the pipeline (resumes automatically when the same config ran before)."""
    from atlas_data.pipeline import RunConfig
    from atlas_data.pipeline import run as run_pipeline
    from atlas_data.teacher.base import TeacherUnavailable

    try:
        config = RunConfig(
            split=split,
            n=n,
            seed=seed,
            out=str(out),
            source=source,
            source_options={
                **{
                    k: v
                    for k, v in {
                        "dataset": dataset,
                        "split": hf_split,
                        "config": hf_config,
                        "map": map,
                        "root": str(root) if root else None,
                        "questions": str(questions) if questions else None,
                    }.items()
                    if v is not None
                },
                **_parse_kv(source_opt, "--source-opt"),
            },
            **({"max_pixels": max_pixels} if max_pixels else {}),
            teacher=teacher,
            teacher_options={
                **{
                    k: v
                    for k, v in {
                        "model": model,
                        "base_url": base_url,
                        "judge_model": judge_model,
                        "concurrency": teacher_concurrency,
                        "cache_dir": str(cache_dir) if cache_dir else None,
                    }.items()
                    if v is not None
                },
                **_parse_kv(teacher_opt, "--teacher-opt"),
            },
            judges=judge or ["annotation"],
            preset=preset,
            vocab_path=str(vocab) if vocab else None,
            judge_max_side=judge_max_side,
            shard_size=shard_size,
            run_id=run_id,
        )
        config.identity()  # loads the vocabulary: fail before any work on a bad file
        from atlas_data.pipeline import build_source

        build_source(config)  # a bad option, dataset, root or column map fails here
    except (ValueError, VocabularyError) as exc:
        _fail(str(exc))
        return
    done_before = sum(r["samples"] for r in config.run_dir().records())
    if done_before:
        console.print(f"resuming {config.run_dir().root}: {done_before} samples already done")
    with Progress(
        TextColumn("[bold]synthesizing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("samples", total=config.n)
        try:
            manifest = run_pipeline(config, on_item=lambda: progress.advance(task))
        except TeacherUnavailable as exc:
            progress.stop()
            _fail(str(exc))
            return
    console.print(summary_table(manifest))
    if not manifest["counts"]["kept"]:
        _fail("no sample was kept; see the rejection reasons above")
    for fmt in export or []:
        _export(config.run_dir().root, fmt, config.run_dir().root / "exports" / fmt)


@app.command()
def tokens(
    vocab: Annotated[Path | None, typer.Option(help="A vocabulary JSON file.")] = None,
    format: Annotated[
        str, typer.Option(help="table, json or hf (tokenizer special tokens).")
    ] = "table",
) -> None:
    """Print the functional-token vocabulary."""
    try:
        v = Vocabulary.load(vocab) if vocab else DEFAULT_VOCABULARY
    except VocabularyError as exc:
        _fail(str(exc))
        return
    if format == "hf":
        from atlas_data.tokenizer import hf_special_tokens

        console.print_json(json.dumps(hf_special_tokens(v)))
        return
    if format == "json":
        console.print_json(json.dumps(v.to_json()))
        return
    t = Table(title=f"vocabulary {v.name} ({v.hash})")
    for col in ("token", "category", "operation", "meaning"):
        t.add_column(col)
    for op in v.operations:
        t.add_row(op.token, op.category, op.name, op.meaning)
    console.print(t)


@app.command()
def schemas(
    out: Annotated[Path, typer.Option(help="Where to write the JSON Schemas.")] = Path("schemas"),
) -> None:
    """Regenerate schemas/*.json from the row schemas and the vocabulary."""
    from atlas_data.store.schemas import export_all

    for path in export_all(out):
        console.print(f"wrote {path}")


@app.command()
def query(
    run: Annotated[str, typer.Argument(help="Run folder, or an fsspec URL (s3://, hf://...).")],
    sql: Annotated[str | None, typer.Argument(help="SQL; omit for an interactive shell.")] = None,
    recipe: Annotated[
        str | None, typer.Option(help="A named query instead of SQL ('list' shows them).")
    ] = None,
    format: Annotated[str, typer.Option(help="table, csv or json.")] = "table",
) -> None:
    """SQL over a run with DuckDB: views sft, rl, rejects, kept."""
    from atlas_data import inspect_cli

    raise typer.Exit(inspect_cli.query(run, sql, recipe, format, console, err))


@app.command()
def report(
    run: Annotated[str, typer.Argument(help="Run folder, or an fsspec URL.")],
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
    examples: Annotated[int, typer.Option(help="Gallery size.")] = 12,
) -> None:
    """Write a self-contained HTML report: charts and an example gallery."""
    from atlas_data import inspect_cli

    raise typer.Exit(inspect_cli.report(run, out, examples, console, err))


@app.command()
def publish(
    run: Annotated[str, typer.Argument(help="Run folder (finished: has manifest.json).")],
    repo_id: Annotated[str, typer.Option(help="Hub dataset repo, ORG/NAME.")],
    private: Annotated[bool, typer.Option(help="Create the repo private.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Build the repo folder, upload nothing.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Where to build the repo folder (default RUN/_hub).")
    ] = None,
    license: Annotated[str, typer.Option(help="License id for the dataset card.")] = "apache-2.0",
) -> None:
    """Build the Hugging Face dataset repo folder and upload it (token: HF_TOKEN or login)."""
    from atlas_data import inspect_cli

    raise typer.Exit(
        inspect_cli.publish(run, repo_id, private, dry_run, out, license, console, err)
    )


def _export(run_dir: Path, fmt: str, out: Path, name: str | None = None) -> None:
    from atlas_data.store.export import ExportError, export_run

    try:
        summary = export_run(run_dir, fmt, out, name)
    except ExportError as exc:
        _fail(str(exc))
        return
    console.print(f"exported {summary['rows']} {summary['split']} rows as {fmt} to {out}")


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder (has manifest.json).")],
    format: Annotated[str, typer.Option(help="trl, llamafactory or verl.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    name: Annotated[
        str | None, typer.Option(help="llamafactory: dataset name in dataset_info.json.")
    ] = None,
) -> None:
    """Export a run for a trainer: TRL (SFT), LLaMA-Factory (SFT) or verl (RL)."""
    _export(run_dir, format, out, name)


if __name__ == "__main__":  # pragma: no cover
    app()
