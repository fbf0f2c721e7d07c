"""``atlas-data``: the command line. Thin: parses options, calls the library, prints."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from atlas_data.config import SHORTCUTS, RunConfig, options
from atlas_data.store.manifest import Manifest
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary, VocabularyError

if TYPE_CHECKING:
    from PIL import Image

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


def summary_table(manifest: Manifest) -> Table:
    """The end-of-run summary (:func:`atlas_data.inspect.summary.summary_rows`) as a table."""
    from atlas_data.inspect.summary import summary_rows

    t = Table(title=f"run {manifest.run_id}", show_header=True, header_style="bold")
    t.add_column("what")
    t.add_column("value", justify="right")
    for what, value in summary_rows(manifest):
        t.add_row(what, value)
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


def _cli_type(annotation: Any) -> Any:
    """The type typer parses an option as: dicts arrive as repeatable key=value strings."""
    if annotation in (dict[str, Any], list[str], list[str] | None):
        return list[str] | None
    return annotation


def config_from_cli(values: dict[str, Any]) -> RunConfig:
    """A :class:`RunConfig` from the generated options' values (shortcuts folded in)."""
    params: dict[str, Any] = {}
    for o in options():
        value = values.pop(o.name)
        if o.annotation == dict[str, Any]:
            value = _parse_kv(value, f"--{o.flag}")
        elif o.annotation in (list[str], list[str] | None):
            value = list(value) if value else o.default
        params[o.name] = value
    for sc in SHORTCUTS:
        value = values.pop(sc.flag.replace("-", "_"))
        if value is not None:
            params[sc.into].setdefault(sc.key, str(value) if isinstance(value, Path) else value)
    return RunConfig.from_params(params)


def _run(**values: Any) -> None:
    """Run the pipeline (resumes automatically when the same config ran before)."""
    from atlas_data.llm import RunStopped
    from atlas_data.run.driver import drive, in_order
    from atlas_data.run.plan import RunPlan
    from atlas_data.run.workers import worker_processes, workers_for

    exports = values.pop("export") or []
    estimating = values.pop("estimate")
    try:
        plan = RunPlan.resolve(config_from_cli(values))  # a bad option or file fails here
    except (ValueError, VocabularyError) as exc:
        _fail(str(exc))
        return
    if estimating:
        _estimate(plan)
        return
    done_before = sum(r.samples for r in plan.run_dir.records())
    if done_before:
        console.print(f"resuming {plan.run_dir.url}: {done_before} samples already done")
    n = workers_for(plan)
    console.print(f"source: {plan.taken()}; {n} worker process{'es' if n > 1 else ''}")
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("synthesizing", total=plan.total, completed=done_before)
        batch_task: list[Any] = []

        def on_batch(done: int, submitted: int) -> None:
            if not batch_task:
                batch_task.append(progress.add_task("batch requests", total=submitted))
            progress.update(batch_task[0], completed=done, total=submitted)

        def on_pass(samples: int) -> None:  # a batch run explores again after each batch
            progress.reset(task, total=samples, description="exploring and teaching")

        def on_shard(_record: Any) -> None:  # several workers: progress by committed shard
            progress.update(task, completed=sum(r.samples for r in plan.run_dir.records()))

        try:
            if n == 1:
                manifest = drive(
                    plan, in_order(plan, lambda: progress.advance(task)), 1, on_batch, on_pass
                )
            else:
                with worker_processes(plan, n, on_shard=on_shard) as workers:
                    manifest = drive(plan, workers.map_shards, n, on_batch, on_pass)
        except RunStopped as exc:
            progress.stop()
            if exc.exit_code == 3:  # a planned stop: say what to do next, not "error"
                console.print(str(exc), style="bold")
                raise typer.Exit(3) from None
            _fail(str(exc))
    console.print(summary_table(manifest))
    if not manifest.counts.kept:
        _fail("no sample was kept; see the rejection reasons above")
    local = plan.run_dir.loc.local_root  # exports are for trainers: on local disk
    for fmt in exports:
        target = (local or Path("exports") / plan.run_id) / "exports" / fmt
        _export(plan.run_dir.url, fmt, target)


def _estimate(plan: Any) -> None:
    """``run --estimate``: explore, prepare the teacher's requests, count and price them."""
    from atlas_data.run.estimate import estimate

    console.print(f"source: {plan.taken()}; estimating (nothing is sent)")
    try:
        with console.status("exploring and preparing the teacher's requests"):
            est = estimate(plan)
    except ValueError as exc:
        _fail(str(exc))
        return
    path = plan.run_dir.root / "estimate.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(est.to_json(), indent=1))
    t = Table(title="estimate (nothing was sent)", show_header=False)
    per = 1000 / est.samples if est.samples else 0.0
    usd = "unknown: pass --price-in and --price-out" if est.usd is None else f"${est.usd:.4f}"
    for k, v in (
        ("samples to do", str(est.samples)),
        ("teacher requests", str(est.requests)),
        ("input tokens (text + images)", str(est.input_tokens)),
        ("output tokens (projected)", str(est.output_tokens)),
        ("model", f"{est.model or '-'} ({est.mode})"),
        ("cost", f"{usd} ({est.price_source})"),
        (
            "per 1,000 samples",
            "-" if est.usd is None else f"{est.requests * per:.0f} requests, ${est.usd * per:.2f}",
        ),
        ("written to", str(path)),
    ):
        t.add_row(k, v)
    console.print(t)


def _run_signature() -> tuple[inspect.Signature, dict[str, Any]]:
    """``run``'s options: one per RunConfig option, the shortcuts, then ``--export``."""
    params, hints = [], {}

    def add(name: str, kind: Any, default: Any, opt: Any) -> None:
        annotated = Annotated[kind, opt]
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotated
            )
        )
        hints[name] = annotated

    for o in options():
        kind = _cli_type(o.annotation)
        default = None if kind == list[str] | None else o.default
        old = [f"--{a.replace('_', '-')}" for a in o.aliases]  # old spellings still work
        add(o.name, kind, default, typer.Option(f"--{o.flag}", *old, help=o.help))
    for sc in SHORTCUTS:
        add(sc.flag.replace("-", "_"), str | None, None, typer.Option(f"--{sc.flag}", help=sc.help))
    add(
        "export",
        list[str] | None,
        None,
        typer.Option(
            "--export", help="Also export: trl, llamafactory, verl, openrlhf (repeatable)."
        ),
    )
    add(
        "estimate",
        bool,
        False,
        typer.Option(
            "--estimate",
            help="Explore and prepare the teacher's requests, then print their count, tokens "
            "and dollars without sending anything or writing rows.",
        ),
    )
    return inspect.Signature(params), hints


_run.__signature__, _run.__annotations__ = _run_signature()  # type: ignore[attr-defined]
app.command(name="run")(_run)


@app.command()
def tokens(
    vocab: Annotated[Path | None, typer.Option(help="A vocabulary JSON file.")] = None,
    format: Annotated[
        str, typer.Option(help="table, json or hf (tokens to add to a tokenizer, with meanings).")
    ] = "table",
) -> None:
    """Print the functional-token vocabulary."""
    try:
        v = Vocabulary.load(vocab) if vocab else DEFAULT_VOCABULARY
    except VocabularyError as exc:
        _fail(str(exc))
        return
    if format == "hf":
        from atlas_data.train.tokenizer import hf_added_tokens

        console.print_json(json.dumps(hf_added_tokens(v)))
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
def judges() -> None:
    """The judges (--judge) and proposers (--proposer), and which are on by default."""
    from atlas_data.explore.judges import judges as registered_judges
    from atlas_data.explore.proposers import proposers as registered_proposers

    t = Table(title="judges (--judge, repeatable: every judge that speaks must agree)")
    for col in ("judge", "default", "what it checks"):
        t.add_column(col)
    for j in registered_judges().values():
        t.add_row(j.name, "yes" if j.default else "", j.about)
    console.print(t)
    t = Table(title="proposers (--proposer, repeatable: where to look)")
    for col in ("proposer", "default for", "what it proposes"):
        t.add_column(col)
    for p in registered_proposers().values():
        default = ", ".join(sorted(p.default_for))
        if p.needs_model and default:
            default += " (with a model teacher)"
        t.add_row(p.name, default, p.about)
    console.print(t)


@app.command()
def presets() -> None:
    """The public datasets --data-preset reads in their own schema (--source hf or local)."""
    from atlas_data.sources.presets import PRESETS

    t = Table(title="dataset presets (--data-preset NAME)")
    for col in ("preset", "dataset", "what", "boxes / points", "schema read from"):
        t.add_column(col)
    for p in PRESETS.values():
        marks = f"{p.bbox_format} boxes" + (
            f", {p.point_format} points" if p.point_format != "xy" else ""
        )
        what = p.about + (" [benchmark]" if p.benchmark else "")
        t.add_row(p.name, p.dataset, what, marks, p.read)
    console.print(t)


@app.command()
def families(
    gallery: Annotated[
        Path | None,
        typer.Option(help="Also write one example image per family (JPEG) into this folder."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the gallery's examples.")] = 0,
) -> None:
    """The synthetic task families (--source-opt families=a,b) and the tokens they use."""
    from atlas_data.sources.synthetic import FAMILIES, SyntheticSource

    t = Table(title=f"{len(FAMILIES)} synthetic task families")
    for col in ("family", "what it asks", "operations (tokens)", "images", "phrasings"):
        t.add_column(col)
    for f in FAMILIES.values():
        chains = [
            " → ".join(f"{op} ({DEFAULT_VOCABULARY.token_for(op)})" for op in chain)
            if chain
            else "none: direct answer when easy"
            for chain in f.chains
        ]
        t.add_row(f.name, f.about, "\n".join(chains), str(f.images), str(len(f.phrasings)))
    console.print(t)
    if gallery is not None:
        gallery.mkdir(parents=True, exist_ok=True)
        for name in FAMILIES:
            sample = SyntheticSource(1, seed=seed, families=[name]).sample(0)
            shown = [img for img in sample.images if not isinstance(img, bytes)]
            strip = side_by_side(shown, (480, 360))  # a sample of several: every image
            strip.save(gallery / f"{name}.jpg", quality=82)
        console.print(f"wrote {len(FAMILIES)} examples to {gallery}")


def side_by_side(images: list[Image.Image], box: tuple[int, int]) -> Image.Image:
    """``images`` each fitted in ``box`` and laid left to right, a gap between them."""
    from PIL import Image

    thumbs = []
    for img in images:
        thumb = img.copy()
        thumb.thumbnail(box)
        thumbs.append(thumb)
    gap = 12 if len(thumbs) > 1 else 0
    width = sum(t.width for t in thumbs) + gap * (len(thumbs) - 1)
    strip = Image.new("RGB", (width, max(t.height for t in thumbs)), (255, 255, 255))
    x = 0
    for t in thumbs:
        strip.paste(t, (x, 0))
        x += t.width + gap
    return strip


@app.command()
def schemas(
    out: Annotated[Path, typer.Option(help="Where to write the JSON Schemas.")] = Path("schemas"),
    docs: Annotated[
        Path, typer.Option(help="Where to write the generated table of rejection reasons.")
    ] = Path("docs"),
) -> None:
    """Regenerate schemas/*.json (row schemas, vocabulary) and docs/rejections.md."""
    from atlas_data.store.schemas import export_all

    for path in export_all(out, docs):
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
    from atlas_data.inspect import commands as inspect_cli

    raise typer.Exit(inspect_cli.query(run, sql, recipe, format, console, err))


@app.command()
def report(
    run: Annotated[str, typer.Argument(help="Run folder, or an fsspec URL.")],
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
    examples: Annotated[int, typer.Option(help="Gallery size.")] = 12,
) -> None:
    """Write a self-contained HTML report: charts and an example gallery."""
    from atlas_data.inspect import commands as inspect_cli

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
    from atlas_data.inspect import commands as inspect_cli

    raise typer.Exit(
        inspect_cli.publish(run, repo_id, private, dry_run, out, license, console, err)
    )


def _export(
    run_dir: str, fmt: str, out: Path, name: str | None = None, max_pixels: int | None = None
) -> None:
    from atlas_data.store.export import SETTINGS, ExportError, export_run

    try:
        summary = export_run(run_dir, fmt, out, name, max_pixels)
    except ExportError as exc:
        _fail(str(exc))
        return
    limits = summary["limits"]
    console.print(
        f"exported {summary['rows']} {summary['split']} rows as {fmt} to {out}: images up to "
        f"{limits['image_max_pixels']} px ({limits['images_resized']} resized), prompts up to "
        f"{limits['prompt_tokens_max']} tokens, rows up to {limits['sequence_tokens_max']}; "
        f"the trainer settings are in {out / SETTINGS}"
    )


@app.command()
def export(
    run_dir: Annotated[
        str, typer.Argument(help="A finished run (has manifest.json): a folder or a URL.")
    ],
    format: Annotated[str, typer.Option(help="trl, llamafactory, verl or openrlhf.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    name: Annotated[
        str | None, typer.Option(help="llamafactory: dataset name in dataset_info.json.")
    ] = None,
    max_pixels: Annotated[
        int | None,
        typer.Option(
            help="Shrink exported images to at most this many pixels (e.g. 401408 = 512 "
            "Qwen2-VL image tokens). Default: the run's budget side (judge_max_side), the "
            "view at which every operation was judged."
        ),
    ] = None,
) -> None:
    """Export a run for a trainer: TRL (SFT/GRPO), LLaMA-Factory (SFT), verl or OpenRLHF (RL).

    Also writes settings.json: the limits measured on this export, as the trainer's keys.
    """
    _export(run_dir, format, out, name, max_pixels)


def main() -> None:
    """The console script: a missing optional piece is one line naming the extra."""
    from atlas_data.extras import MissingExtra

    try:
        app()
    except MissingExtra as exc:
        print(f"error: {exc}", file=sys.stderr)  # one line, never wrapped
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
