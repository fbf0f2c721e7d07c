"""End-to-end runs of the offline slice on the embedded default."""

import json

import duckdb
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.dedup.kept import Kept
from atlas_data.rejections import Rejection
from atlas_data.run.driver import run
from atlas_data.run.plan import RunPlan
from atlas_data.run.shard import ShardLine
from atlas_data.run.stages import Stages
from atlas_data.sources.base import SourceRejection, SourceSample
from atlas_data.sources.synthetic import SyntheticSource
from atlas_data.store.manifest import ShardRecord
from atlas_data.store.run import RunDir
from atlas_data.teacher.template import TemplateTeacher
from atlas_data.tokens import DEFAULT_VOCABULARY
from tests.runs import run_folder

PAPER_TOKENS = set(DEFAULT_VOCABULARY.tokens)
N = 40


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> tuple[RunConfig, dict]:
    config = RunConfig(
        split="both", n=N, seed=7, shard_size=16, out=str(tmp_path_factory.mktemp("runs"))
    )
    return config, run(config)


def ids(pattern: str) -> list[str]:
    return [r[0] for r in duckdb.sql(f"select id from '{pattern}' order by id").fetchall()]


def test_every_sample_is_kept_or_rejected_with_a_reason(default_run):
    config, manifest = default_run
    root = run_folder(config)
    expected = sorted(s.id for s in SyntheticSource(n=N, seed=7))
    kept = ids(f"{root}/sft/*.parquet")
    rejected = ids(f"{root}/rejects/*.parquet") if list(root.glob("rejects/*.parquet")) else []
    assert sorted(kept + rejected) == expected
    assert manifest.counts.kept == len(kept)
    assert manifest.counts.kept_fraction > 0.5
    assert manifest.complete and manifest.missing_shards == []
    if rejected:
        reasons = duckdb.sql(f"select reason from '{root}/rejects/*.parquet'").fetchall()
        assert all(r[0] for r in reasons)


def test_sft_shards_load_with_duckdb_and_datasets_and_images_decode(default_run):
    config, manifest = default_run
    files = sorted(str(p) for p in run_folder(config).glob("sft/*.parquet"))
    ((count,),) = duckdb.sql(f"select count(*) from read_parquet({files})").fetchall()
    assert count == manifest.counts.kept
    ds = load_dataset("parquet", data_files=files, split="train")
    assert len(ds) == count
    first = ds[0]
    assert isinstance(first["images"][0], Image.Image) and first["images"][0].size == (1600, 1200)
    assert len(first["observations"]) == len(first["operations"])
    assert first["messages"][0]["role"] == "user" and first["messages"][1]["role"] == "assistant"


def test_all_five_paper_tokens_are_used_and_rows_keep_the_operation(default_run):
    config, manifest = default_run
    assert set(manifest.counts.tokens) == PAPER_TOKENS
    root = run_folder(config)
    rows = duckdb.sql(
        f"select text, tokens, operations, token_spans from '{root}/sft/*.parquet'"
    ).fetchall()
    for text, tokens, ops, spans in rows:
        assert tokens == [DEFAULT_VOCABULARY.token_for(op["name"]) for op in ops]
        assert [text[s["start"] : s["end"]] for s in spans] == tokens
        for op in ops:
            assert json.loads(op["params"]) and op["helpful"]
            assert json.loads(op["evidence"])["agreed"]
        for token in tokens:  # the atlas preset: token alone on its line, answer boxed
            assert token in text.splitlines()
        assert "\\boxed{" in text and "<think>" not in text


def test_rl_split_carries_prompt_images_and_ground_truth(default_run):
    config, manifest = default_run
    root = run_folder(config)
    rows = duckdb.sql(
        f"select prompt, answer, len(images), reference from '{root}/rl/*.parquet'"
    ).fetchall()
    assert len(rows) == manifest.counts.kept
    for prompt, answer, n_images, reference in rows:
        user = prompt[0]["content"]
        assert user.count("<image>") == n_images and answer
        assert user.startswith("<image>" if n_images == 1 else "Image 1: <image>\n")
        assert f"\\boxed{{{answer}}}" in reference


def test_rerun_resumes_skipping_finished_shards_and_redoes_a_cut_short_one(default_run):
    config, manifest = default_run
    rd = RunPlan.resolve(config).run_dir
    records = sorted((rd.root / "_shards").glob("*.json"))
    before = {p: p.stat().st_mtime_ns for p in records}
    kept_before = ids(f"{rd.root}/sft/*.parquet")
    # Simulate a crash in shard 1: its record is gone and a half-written temp file remains.
    records[1].unlink()
    (rd.root / "sft" / ".part-00001.parquet.tmp-999").write_bytes(b"PAR1 half written")
    again = run(config)
    assert again.counts == manifest.counts
    assert ids(f"{rd.root}/sft/*.parquet") == kept_before  # no loss, no duplicates
    assert records[0].stat().st_mtime_ns == before[records[0]]  # untouched
    assert records[1].exists()
    assert not list(rd.root.glob("sft/.*tmp*"))
    # throughput counts only the shard redone now, never the ones resumed from disk
    assert again.timing.samples_this_run == config.shard_size
    assert run(config).timing.samples_per_second is None  # nothing left to do


def test_custom_vocabulary_spellings_are_the_only_ones_in_rows(tmp_path):
    data = DEFAULT_VOCABULARY.to_json()
    for op in data["operations"]:
        op["token"] = f"[{op['name'].upper()}]"
    vocab = tmp_path / "vocab.json"
    vocab.write_text(json.dumps(data))
    config = RunConfig(n=10, seed=1, out=str(tmp_path / "runs"), vocab_path=str(vocab))
    manifest = run(config)
    assert manifest.counts.kept >= 5
    assert set(manifest.counts.tokens) <= {op["token"] for op in data["operations"]}
    root = run_folder(config)
    for (blob,) in duckdb.sql(
        f"select to_json(struct_pack(text, messages, tokens, operations)) "
        f"from '{root}/sft/*.parquet'"
    ).fetchall():
        assert not any(t in blob for t in PAPER_TOKENS)
        assert "[" in blob


def test_think_answer_preset_yields_tags(tmp_path):
    config = RunConfig(n=5, seed=2, out=str(tmp_path), preset="think-answer")
    manifest = run(config)
    assert manifest.preset == "think-answer" and manifest.counts.kept == 5
    for (text,) in duckdb.sql(f"select text from '{run_folder(config)}/sft/*.parquet'").fetchall():
        assert text.startswith("<think>") and text.endswith("</answer>")
        assert "\\boxed" not in text


def test_bad_items_become_rejection_rows_and_the_batch_goes_on(tmp_path):
    import asyncio

    good = SyntheticSource(n=2, seed=3).sample(0)
    items = [
        SourceRejection("r1", Rejection("path_outside_root", "../x.png", "load")),
        SourceSample("e1", good.image, "", "x", "t", "test"),
        SourceSample("e2", good.image, "What?", "  ", "t", "test"),
        SourceSample("b1", b"not an image", "What?", "x", "t", "test"),
        SourceSample("b2", b"", "What?", "x", "t", "test"),
        SourceSample("n1", good.image, "What?", "x", "t", "test", annotations={}),
        good,
    ]
    config = RunConfig(n=len(items), out=str(tmp_path))
    stages = Stages(config, "bad-items", DEFAULT_VOCABULARY, Kept())
    writer = RunDir(tmp_path / "bad-items").shard_writer(0, ["sft", "rejects"])
    line = ShardLine(stages, TemplateTeacher(), writer)
    record = writer.commit(asyncio.run(line.process(iter(items))))
    assert record.samples == len(items) and record.rejected == 6 and record.kept == 1
    assert record.reasons["empty_question"] == 1 and record.tasks[good.task] == 1
    parts = {
        k: pq.read_table(tmp_path / "bad-items" / f).to_pylist() for k, f in record.files.items()
    }
    reasons = {r["id"]: r["reason"] for r in parts["rejects"]}
    assert reasons == {
        "r1": "path_outside_root",
        "e1": "empty_question",
        "e2": "empty_answer",
        "b1": "not_an_image",
        "b2": "empty_file",
        "n1": "no_helpful_operation",  # nothing annotated: the scan finds nothing helpful
    }
    assert [r["id"] for r in parts["sft"]] == [good.id]


def test_cli_run_prints_a_summary_and_tokens_lists_the_paper_tokens(tmp_path):
    from typer.testing import CliRunner

    from atlas_data.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["tokens"])
    assert res.exit_code == 0
    for t in PAPER_TOKENS:
        assert t in res.output
    res = runner.invoke(
        app, ["run", "--n", "5", "--out", str(tmp_path), "--seed", "4"], env={"COLUMNS": "200"}
    )
    assert res.exit_code == 0, res.output
    assert "kept" in res.output and "samples/s" in res.output
    assert "operations per trajectory" in res.output and "judge annotation" in res.output
    bad = tmp_path / "bad"
    res = runner.invoke(app, ["run", "--n", "5", "--out", str(bad), "--preset", "nope"])
    assert res.exit_code == 2 and "unknown format preset" in res.output
    res = runner.invoke(app, ["run", "--n", "5", "--out", str(bad), "--source-opt", "families=x"])
    assert res.exit_code == 2 and "unknown families" in res.output
    res = runner.invoke(app, ["run", "--n", "5", "--out", str(bad), "--source-opt", "colour=red"])
    assert res.exit_code == 2 and "colour" in res.output
    assert not bad.exists()  # a bad config fails before any work or any folder


def test_secret_options_never_reach_the_run_id_or_manifest_but_max_tokens_does(tmp_path):
    from atlas_data.config import is_secret

    assert all(map(is_secret, ["api_key", "OPENAI_API_KEY", "auth_token", "hf-token", "apikey"]))
    assert not any(map(is_secret, ["max_tokens", "model", "keyframe_every", "tokenizer"]))
    opts = {"model": "m", "max_tokens": 512}
    a = RunConfig(n=2, teacher_options={**opts, "auth_token": "s3cr3t-1"}, out=str(tmp_path))
    b = RunConfig(n=2, teacher_options={**opts, "auth_token": "s3cr3t-2"}, out=str(tmp_path))
    assert RunPlan.resolve(a).run_id == RunPlan.resolve(b).run_id
    assert a.public()["teacher_options"] == opts


def test_row_groups_close_on_image_bytes_as_well_as_rows(tmp_path):
    """A shard of 12 MP photos must not buffer (and encode at once) a row group's worth of
    multi-megabyte images, while small synthetic rows still share row groups."""
    from atlas_data.store.writer import ROW_GROUP_IMAGE_BYTES, ROW_GROUP_ROWS

    run(RunConfig(n=4, out=str(tmp_path / "src")))
    row = pq.read_table(next((tmp_path / "src").rglob("sft/part-*.parquet"))).to_pylist()[0]

    def is_image(x: object) -> bool:
        return isinstance(x, dict) and "bytes" in x

    def with_images(size: int) -> dict:  # every encoded image in the row replaced by `size` bytes
        return {
            k: [{**x, "bytes": b"\0" * size} if is_image(x) else x for x in v]
            if isinstance(v, list)
            else v
            for k, v in row.items()
        }

    def group_sizes(name: str, rows: list[dict]) -> list[int]:
        writer = RunDir(tmp_path / name).shard_writer(0, ["sft"])
        for r in rows:
            writer.add("sft", r)
        meta = pq.ParquetFile(tmp_path / name / writer.commit(ShardRecord(0)).files["sft"]).metadata
        return [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]

    images = sum(1 for v in row.values() if isinstance(v, list) for x in v if is_image(x))
    big = ROW_GROUP_IMAGE_BYTES // (3 * images) + 1  # three rows pass the byte bound, two do not
    assert group_sizes("photos", [with_images(big)] * 10) == [3, 3, 3, 1]
    small = [with_images(1024)] * (ROW_GROUP_ROWS + 6)
    assert group_sizes("synthetic", small) == [ROW_GROUP_ROWS, 6]
