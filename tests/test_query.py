"""`atlas-data query`: views and recipes over real run shards, local and behind fsspec URLs."""

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest
from inspect_runs import make_run
from typer.testing import CliRunner

from atlas_data.cli import app
from atlas_data.inspect.query import RECIPES, recipe_sql
from atlas_data.store.run import RunNotFound, open_run

DOCS = Path(__file__).resolve().parents[1] / "docs" / "inspect-and-publish.md"


@pytest.fixture(scope="module")
def rl_run(tmp_path_factory) -> tuple[str, dict]:
    return make_run(str(tmp_path_factory.mktemp("q")), split="rl")


def as_dict(rows):
    return {r[0]: r[-1] for r in rows}


def test_views_exist_only_for_written_splits(both_run, rl_run):
    both = open_run(both_run[0])
    assert both.views == ["sft", "rl", "rejects", "kept"]
    rl = open_run(rl_run[0])
    assert rl.views == ["rl", "rejects", "kept"]
    assert "sft" not in rl.files
    # the kept view reads the RL reference when there is no SFT split
    ((n, with_token, direct),) = rl.sql(
        "SELECT count(*), count(*) FILTER (WHERE len(tokens) > 0 AND reasoning LIKE '%' || "
        "tokens[1] || '%'), count(*) FILTER (WHERE len(tokens) = 0) FROM kept"
    )[1]
    assert n == rl_run[1].counts.kept == with_token + direct  # direct answers have no token
    assert direct == rl_run[1].quality.direct


def test_recipes_agree_with_the_manifest(both_run):
    root, manifest = both_run
    run = open_run(root)
    counts = manifest.counts
    tokens: Counter[str] = Counter()
    for _task, token, n in run.sql(recipe_sql("tokens-per-task"))[1]:
        tokens[token] += n
    assert dict(tokens) == counts.tokens
    reasons = {reason: n for _stage, reason, n in run.sql(recipe_sql("rejection-reasons"))[1]}
    assert reasons == counts.rejected_by_reason and sum(reasons.values()) > 0
    lengths = run.sql(recipe_sql("reasoning-length"))[1]
    assert {r[0]: r[1] for r in lengths} == counts.tasks
    assert all(r[2] > 50 and r[3] > 5 for r in lengths)
    table = pq.read_table(run.files["sft"])
    multi = sum(1 for ops in table.column("operations").to_pylist() if len(ops) > 1)
    assert len(run.sql(recipe_sql("multi-op"))[1]) == multi
    judged = run.sql(recipe_sql("judge-scores"))[1]
    per_operation: Counter[str] = Counter()
    for operation, _judge, n, _helpful, _score in judged:
        per_operation[operation] += n  # one operation may be judged by several judges
    assert dict(per_operation) == counts.operations
    assert judged == sorted(judged, key=lambda r: (r[0], r[1]))
    quality = dict(run.sql(recipe_sql("quality"))[1])
    q = manifest.quality
    for n, c in q.operations_per_trajectory.items():
        if int(n):  # 0 operations: the direct answers, checked next
            assert quality[f"trajectories with {n} operation(s)"] == c
    assert quality.get("direct answers (no operation)", 0) == q.direct
    kept_ops = sum(len(ops) for ops in table.column("operations").to_pylist())
    found = {k: v for k, v in quality.items() if k.startswith("kept operations found by ")}
    assert sum(found.values()) == kept_ops
    for name, c in q.proposers.items():  # explore chose more: some were rejected later
        assert quality.get(f"kept operations found by {name}", 0) <= c["chosen"]
    assert sum(v for k, v in quality.items() if k.startswith("rejected: ")) == counts.rejected


def test_every_recipe_and_every_sql_block_in_the_docs_runs(both_run, rl_run):
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= len(RECIPES)
    for name in RECIPES:
        assert name in text
    for root, _ in (both_run, rl_run):
        run = open_run(root)
        for sql in [s for _, s in RECIPES.values()] + blocks:
            run.sql(sql)  # raises on any binder/parser error


def test_no_rejects_gives_an_empty_typed_view(both_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(both_run[0], copy)
    shutil.rmtree(copy / "rejects")  # a run that rejected nothing: no file, none listed
    doc = json.loads((copy / "manifest.json").read_text())
    doc["files"] = [f for f in doc["files"] if not f.startswith("rejects/")]
    (copy / "manifest.json").write_text(json.dumps(doc))
    run = open_run(copy)
    assert "rejects" not in run.files
    assert run.sql(recipe_sql("rejection-reasons"))[1] == []


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_same_sql_behind_an_fsspec_url(both_run, scheme):
    root = Path(both_run[0])
    if scheme == "memory":
        fs = fsspec.filesystem("memory")
        url = "memory://atlas-test-run"
        for path in root.rglob("*"):
            if path.is_file():
                fs.pipe(f"{url}/{path.relative_to(root)}", path.read_bytes())
    else:
        url = f"file://{root}"
    remote, local = open_run(url), open_run(root)
    assert remote.manifest == local.manifest
    if scheme == "memory":
        assert all(p.startswith("memory://") for p in remote.files["sft"])
    for name in RECIPES:
        assert remote.sql(recipe_sql(name))[1] == local.sql(recipe_sql(name))[1]


def test_cli_formats_errors_and_shell(both_run):
    root, manifest = both_run
    runner = CliRunner()
    res = runner.invoke(
        app, ["query", root, "SELECT task, count(*) n FROM kept GROUP BY 1", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    assert {r["task"]: r["n"] for r in json.loads(res.stdout)} == manifest.counts.tasks
    res = runner.invoke(app, ["query", root, "--recipe", "rejection-reasons", "--format", "csv"])
    assert res.exit_code == 0 and res.stdout.splitlines()[0] == "stage,reason,n"
    res = runner.invoke(
        app, ["query", root, "SELECT id, images FROM sft LIMIT 1", "--format", "json"]
    )
    assert re.search(r"<\d+ bytes>", res.stdout)  # image bytes summarised, not dumped
    res = runner.invoke(app, ["query", root, "--recipe", "tokens-per-task"])
    assert res.exit_code == 0 and all(t in res.stdout for t in manifest.counts.tokens)
    res = runner.invoke(app, ["query", root, "SELECT * FROM nope"])
    assert res.exit_code == 2 and "views available" in res.output
    res = runner.invoke(app, ["query", root, "--recipe", "nope"])
    assert res.exit_code == 2 and "available" in res.output
    res = runner.invoke(app, ["query", str(Path(root).parent / "missing"), "SELECT 1"])
    assert res.exit_code == 2 and "no shards found" in res.output
    shell = "SELECT count(*) AS c\n  FROM sft;\n.tables\nSELECT nope;\n.quit\n"
    res = runner.invoke(app, ["query", root], input=shell)
    assert res.exit_code == 0, res.output
    assert str(manifest.counts.kept) in res.stdout
    assert "sft, rl, rejects, kept" in res.stdout and "error:" in res.stdout


def test_a_run_that_kept_nothing_is_queried_like_any_other(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    (root / "broken.png").write_bytes(b"not an image at all")
    (root / "q.jsonl").write_text(
        json.dumps({"image": "broken.png", "question": "What is it?", "answer": "x"}) + "\n"
    )
    out = tmp_path / "runs"
    res = CliRunner().invoke(
        app, ["run", "--source", "local", "--root", str(root), "--questions", str(root / "q.jsonl"),
              "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 2 and "no sample was kept" in res.output  # said, and written
    (folder,) = out.iterdir()
    run = open_run(folder)
    assert run.views == ["rejects", "kept"]
    assert run.sql("SELECT count(*) FROM kept")[1] == [(0,)]
    res = CliRunner().invoke(app, ["query", str(folder), "--recipe", "rejection-reasons"])
    assert res.exit_code == 0, res.output
    assert "not_an_image" in res.stdout or "corrupt" in res.stdout
    for name in RECIPES:
        run.sql(recipe_sql(name))


def test_not_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(RunNotFound, match="no shards found"):
        open_run(tmp_path)
