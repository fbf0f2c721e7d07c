"""Every run option is declared once (``RunConfig``) and exists on the CLI and the flow with
the same default and help; unknown keys are errors that name the known ones."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import typer

from atlas_data.cli import app
from atlas_data.config import SHORTCUTS, RunConfig, option_names, options
from atlas_data.run.plan import RunPlan


def cli_run_options() -> dict[str, Any]:
    run = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    return {p.name: p for p in run.params if p.param_type_name == "option" and p.name != "help"}


def test_every_config_option_is_a_cli_option_with_its_default_and_help():
    cli = cli_run_options()
    for o in options():
        assert o.name in cli, f"RunConfig.{o.name} has no --{o.flag} on `atlas-data run`"
        opt = cli[o.name]
        assert opt.opts == [f"--{o.flag}", *(f"--{a.replace('_', '-')}" for a in o.aliases)]
        assert opt.help == o.help
        if not isinstance(o.default, list | dict):
            assert opt.default == o.default, o.name
    extra = set(cli) - set(option_names()) - {s.flag.replace("-", "_") for s in SHORTCUTS}
    # the only CLI options that are not run options: what to do after the run, or instead
    assert extra == {"export", "estimate"}


def test_the_flow_has_exactly_the_config_options_plus_where_shards_run():
    from flows.synth import ORCHESTRATION, synth

    props = synth.parameters.properties
    aliases = [a for o in options() for a in o.aliases]
    assert list(props) == [*option_names(), *aliases, *ORCHESTRATION]
    for o in options():
        assert props[o.name].get("default") == o.default, o.name
        assert props[o.name]["description"] == o.help


def test_the_budget_is_one_option_and_its_old_spelling_still_works():
    assert RunConfig.from_params({"judge_max_side": 768}).budget_side == 768
    assert RunConfig.from_params({"judge_max_side": 768, "budget_side": 768}).budget_side == 768
    with pytest.raises(ValueError, match="old spelling of budget_side"):
        RunConfig.from_params({"judge_max_side": 768, "budget_side": 512})
    cli = cli_run_options()["budget_side"]
    assert "--judge-max-side" in cli.opts
    config = RunConfig(budget_side=768)
    assert config.budget().side == 768 and config.budget().reading_px == config.reading_px


def test_unknown_keys_are_errors_that_name_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown run option\(s\) \['shards'\].*shard_size"):
        RunConfig.from_params({"n": 3, "shards": 2})
    with pytest.raises(ValueError, match=r"unknown teacher option.*'tempreature'.*temperature"):
        RunPlan.resolve(RunConfig(teacher="openai", teacher_options={"tempreature": 0.2}))
    with pytest.raises(ValueError, match=r"unknown synthetic source option.*colour.*families"):
        RunPlan.resolve(RunConfig(source_options={"colour": "red"}))


def test_only_row_changing_options_move_the_run_id(tmp_path):
    base = RunConfig(n=4, out=str(tmp_path / "a"))
    same = [
        dataclasses.replace(base, out=str(tmp_path / "b")),
        dataclasses.replace(base, teacher_options={"concurrency": 3}),
    ]
    moved = [
        dataclasses.replace(base, n=5),
        dataclasses.replace(base, budget_side=768),
        dataclasses.replace(base, max_pixels=10**6),
        dataclasses.replace(base, preset="think-answer"),
    ]
    ident = RunPlan.resolve(base).run_id
    assert all(RunPlan.resolve(c).run_id == ident for c in same)
    assert len({ident, *(RunPlan.resolve(c).run_id for c in moved)}) == 1 + len(moved)


def test_bad_values_fail_before_any_work():
    for bad, match in [
        ({"split": "dev"}, "split"),
        ({"n": 0}, "n must be"),
        ({"shard_size": 0}, "shard_size"),
        ({"judges": []}, "judge"),
        ({"preset": "nope"}, "preset"),
    ]:
        with pytest.raises(ValueError, match=match):
            RunConfig.from_params(bad)


@pytest.mark.parametrize("given", [["--price-in", "0.5"], ["--price-out", "2"]])
def test_half_a_price_fails_before_any_shard_is_written(tmp_path, given):
    """A price needs both halves: the command stops at once, naming the fix, and leaves
    no run folder behind (it used to fail in the manifest, after all the work)."""
    import subprocess
    import sys

    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "atlas_data.cli", "run", "--n", "4", "--out", str(out), *given]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "give both --price-in and --price-out" in done.stdout + done.stderr
    assert not list(out.rglob("*.parquet")) and not list(out.rglob("_shards/*"))
