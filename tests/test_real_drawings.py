"""Every token on a user's own data: photo-like images with the points and boxes public
datasets ship, run with the defaults, give the drawing each question needs, proved at the
budget, and no drawing where none helps; a model endpoint can point where nothing is
annotated."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from atlas_data.config import RunConfig
from atlas_data.inspect.query import recipe_sql
from atlas_data.inspect.summary import summary_rows
from atlas_data.run.driver import run
from atlas_data.sources.local import LocalSource
from atlas_data.store.run import open_run
from tests.openai_server import ServerThread
from tests.photo_corpus import Truth, write
from tests.runs import run_folder

DRAWING_TOKENS = ("<|Text|>", "<|Line|>", "<|Shape|>", "<|Arrow|>")


def rows(folder: Path, kind: str, columns: str) -> list[tuple[Any, ...]]:
    if not list(folder.glob(f"{kind}/*.parquet")):
        return []
    return duckdb.sql(f"select {columns} from '{folder}/{kind}/*.parquet'").fetchall()


def outcomes(root: Path, config: RunConfig, truths: list[Truth]) -> dict[str, Any]:
    """Each record's truth with its kept tokens (or its rejection), by sample id."""
    source = LocalSource.from_options(config.source_options)
    ids = {source.sample(i).id: t for i, t in enumerate(truths)}
    folder = run_folder(config)
    kept = {r[0]: r[1] for r in rows(folder, "sft", "id, tokens")}
    rejected = {r[0]: r[1] for r in rows(folder, "rejects", "id, reason")}
    assert set(kept) | set(rejected) == set(ids)  # every record is kept or rejected
    return {"ids": ids, "kept": kept, "rejected": rejected, "folder": folder}


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    truths = write(root, seed=0)
    options = {"root": str(root), "questions": "questions.jsonl"}
    out = tmp_path_factory.mktemp("runs")
    config = RunConfig(source="local", source_options=options, out=str(out))
    manifest = run(config)
    return {"config": config, "manifest": manifest, **outcomes(root, config, truths)}


def test_the_needed_drawing_token_appears_and_controls_get_none(default_run):
    ids, kept = default_run["ids"], default_run["kept"]
    for token in DRAWING_TOKENS:
        needing = [i for i, t in ids.items() if t.token == token]
        assert needing, token
        got = [i for i in needing if token in (kept.get(i) or [])]
        assert len(got) >= 0.7 * len(needing), (token, len(got), len(needing))
    controls = [i for i, t in ids.items() if t.token is None]
    drawn = [i for i in controls if set(kept.get(i) or []) & set(DRAWING_TOKENS)]
    assert len(controls) >= 10 and len(drawn) <= 0.1 * len(controls), drawn
    # crowded dots are zoomed into first, then marked: a chain on real data
    crowded = [kept.get(i) for i, t in ids.items() if t.kind == "crowded"]
    assert sum(c == ["<|Manip|>", "<|Text|>"] for c in crowded) >= 2, crowded


def test_each_rule_and_its_numbers_are_in_kept_and_rejected_evidence(default_run):
    folder, ids = default_run["folder"], default_run["ids"]
    kept = rows(folder, "sft", "id, operations")
    ruled = Counter()
    for _, ops in kept:
        for op in ops:
            ev = json.loads(op["evidence"])["annotation"]
            if "rule" in ev:
                ruled[op["name"]] += 1
                assert ev["purpose"] and ev["seen"]
    assert set(ruled) >= {"point_mark", "aux_line", "box", "arrow"}
    refusals = Counter()
    for sample_id, reason, detail, ops in rows(folder, "rejects", "id, reason, detail, operations"):
        if ids[sample_id].token is None and reason == "no_helpful_operation" and ops:
            ev = json.loads(ops[0]["evidence"])["annotation"]
            assert ev["rule"] and ev["why"] and ev["why"] in detail
            refusals[ops[0]["name"]] += 1
    # each rule refused its own no-help controls (a relation control whose answer OCR reads
    # at the budget becomes a direct answer instead; the arrow's refusals are in
    # tests/test_drawing_rules.py)
    assert set(refusals) >= {"point_mark", "aux_line", "box"}, refusals


def test_tokens_per_source_reach_the_manifest_summary_and_quality_recipe(default_run):
    manifest, folder = default_run["manifest"], default_run["folder"]
    (source,) = manifest.quality.sources
    tallies = manifest.quality.sources[source]
    assert source.startswith("local/") and tallies["kept"] == manifest.counts.kept
    for token in DRAWING_TOKENS:
        assert tallies[token] == manifest.counts.tokens[token]
    assert any(what == f"  source {source}" for what, _ in summary_rows(manifest))
    with open_run(folder) as opened:
        recipe = dict(opened.sql(recipe_sql("quality"))[1])
    for token in DRAWING_TOKENS:
        assert recipe[f"token {token} from {source}"] == tallies[token]


def bare(root: Path, truths: list[Truth], kinds: set[str]) -> list[Truth]:
    """Keep the records of ``kinds`` only, without their annotations; their truths."""
    lines = [json.loads(line) for line in (root / "questions.jsonl").read_text().splitlines()]
    kept = [(x, t) for x, t in zip(lines, truths, strict=True) if t.kind in kinds]
    for line, _ in kept:
        line.pop("bbox", None)
        line.pop("points", None)
    (root / "questions.jsonl").write_text("".join(json.dumps(x) + "\n" for x, _ in kept))
    return [t for _, t in kept]


def test_the_model_points_where_nothing_is_annotated(tmp_path, monkeypatch):
    """The grounding proposer asks the endpoint for points to count, boxes to compare and
    an anchor and target; their needs are judged by the same rules; a malformed reply
    proposes nothing."""
    root = tmp_path / "bare"
    kinds = {"count", "compare", "relate", "control_compare", "control_count"}
    truths = bare(root, write(root, seed=1), kinds)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with ServerThread() as server:
        options = {"model": "stand-in-vlm", "base_url": server.base_url, "cache_dir": None}
        config = RunConfig(
            source="local",
            source_options={"root": str(root), "questions": "questions.jsonl"},
            teacher="openai",
            teacher_options=options,
            proposers=["grounding"],
            out=str(tmp_path / "runs"),
        )
        manifest = run(config)
        asked = [r for r in server.state.chat_records() if "You point at" in r["text"]]
    done = outcomes(root, config, truths)
    assert asked and manifest.quality.proposers["grounding"]["chosen"] > 0
    got: Counter[str] = Counter()
    for sample_id, tokens in done["kept"].items():
        truth = done["ids"][sample_id]
        if truth.token and truth.token in tokens and truth.kind != "align":
            got[truth.kind] += 1
    assert got["count"] >= 3 and got["compare"] >= 3 and got["relate"] >= 3, got
    kept_ops = rows(done["folder"], "sft", "operations")
    assert {op["proposer"] for (ops,) in kept_ops for op in ops} == {"grounding"}

    # the same records, every pointing reply malformed: nothing is proposed, nothing drawn
    with ServerThread() as server:
        server.state.default_mode = "malformed"
        options = {"model": "stand-in-vlm", "base_url": server.base_url, "cache_dir": None}
        bad = RunConfig(
            source="local",
            source_options={"root": str(root), "questions": "questions.jsonl"},
            teacher="template",
            teacher_options=options,
            proposers=["grounding"],
            out=str(tmp_path / "bad-runs"),
        )
        broken = run(bad)
    assert broken.counts.kept == 0 or not set(broken.counts.tokens) & set(DRAWING_TOKENS)
    assert broken.quality.proposers.get("grounding", {}).get("chosen", 0) == 0
