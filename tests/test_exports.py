"""Exports load back with the loader each trainer uses, with the run's kept row count."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from PIL import Image
from realdata_helpers import HF_MAP, save_hf
from typer.testing import CliRunner

from atlas_data.cli import app
from atlas_data.config import RunConfig
from atlas_data.driver import run, run_folder
from atlas_data.rewards import compute_score
from atlas_data.store.export import ExportError, export_run
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary

N = 7


@pytest.fixture(scope="module")
def hf_run(tmp_path_factory) -> tuple[Path, dict]:
    """The done-when scenario: a local HF-layout dataset, a column map, both splits."""
    base = tmp_path_factory.mktemp("hfrun")
    ds = save_hf(base / "ds", N)
    config = RunConfig(
        split="both",
        n=N,
        source="hf",
        source_options={"dataset": str(ds), "map": HF_MAP},
        out=str(base / "runs"),
        shard_size=3,  # several shards: the exporters stream them in order
    )
    manifest = run(config)
    assert manifest["counts"]["kept"] == N
    return run_folder(config), manifest


def _assistant_spans_ok(text: str, spans: list[dict], tokens: set[str]) -> None:
    assert spans, "every kept row uses at least one functional token"
    for s in spans:
        assert text[s["start"] : s["end"]] == s["token"] and s["token"] in tokens


def test_trl_export_loads_with_datasets(hf_run, tmp_path):
    root, manifest = hf_run
    summary = export_run(root, "trl", tmp_path / "trl")
    assert summary["rows"] == manifest["counts"]["kept"] and summary["split"] == "sft"
    ds = load_dataset("parquet", data_files=str(tmp_path / "trl" / "train.parquet"), split="train")
    assert len(ds) == manifest["counts"]["kept"]
    row = ds[0]
    user, assistant = row["messages"]
    assert user["role"] == "user" and assistant["role"] == "assistant"
    assert user["content"][0]["type"] == "image" and user["content"][1]["type"] == "text"
    assert "<image>" not in user["content"][1]["text"]  # the placeholder became a part
    assert isinstance(row["images"][0], Image.Image) and row["images"][0].size == (1600, 1200)
    text = assistant["content"][0]["text"]
    _assistant_spans_ok(text, row["token_spans"], set(DEFAULT_VOCABULARY.tokens))
    assert json.loads((tmp_path / "trl" / "vocabulary.json").read_text())["tokens"] == list(
        DEFAULT_VOCABULARY.tokens
    )


def test_llamafactory_export_registers_files_that_exist(hf_run, tmp_path):
    root, manifest = hf_run
    out = tmp_path / "lf"
    (out).mkdir()
    (out / "dataset_info.json").write_text(json.dumps({"mine": {"file_name": "mine.json"}}))
    summary = export_run(root, "llamafactory", out, name="atlas_demo")
    info = json.loads((out / "dataset_info.json").read_text())
    assert "mine" in info  # an existing registry is extended, not replaced
    entry = info["atlas_demo"]
    assert entry["formatting"] == "sharegpt"
    assert entry["columns"] == {"messages": "messages", "images": "images"}
    data = out / entry["file_name"]
    ds = load_dataset("json", data_files=str(data), split="train")
    assert len(ds) == manifest["counts"]["kept"] == summary["rows"]
    for row in ds:
        user, assistant = row["messages"]
        assert user["content"].count("<image>") == len(row["images"]) == 1
        for rel in row["images"]:
            assert not Path(rel).is_absolute() and (out / rel).is_file()
            assert Image.open(out / rel).size == (1600, 1200)
        _assistant_spans_ok(
            assistant["content"], row["token_spans"], set(DEFAULT_VOCABULARY.tokens)
        )


def test_verl_export_has_the_fields_verl_reads_and_rewards_them(hf_run, tmp_path):
    root, manifest = hf_run
    export_run(root, "verl", tmp_path / "verl")
    ds = load_dataset("parquet", data_files=str(tmp_path / "verl" / "train.parquet"), split="train")
    assert len(ds) == manifest["counts"]["kept"]
    assert set(ds.column_names) >= {
        "data_source",
        "prompt",
        "images",
        "ability",
        "reward_model",
        "extra_info",
    }
    scores = []
    for i, row in enumerate(ds):
        assert row["data_source"].startswith("atlas-data/hf/")
        assert row["prompt"][0]["role"] == "user" and "<image>" in row["prompt"][0]["content"]
        assert isinstance(row["images"][0], Image.Image)
        assert row["reward_model"]["style"] == "rule"
        extra = row["extra_info"]
        assert extra["index"] == i and extra["preset"] == manifest["preset"]
        assert Vocabulary.from_json(json.loads(extra["vocab"])).hash == manifest["vocab_hash"]
        assert extra["reference_token_count"] == len(extra["reference_token_spans"]) >= 1
        _assistant_spans_ok(
            extra["reference"], extra["reference_token_spans"], set(DEFAULT_VOCABULARY.tokens)
        )
        scores.append(
            compute_score(
                row["data_source"],
                extra["reference"],
                row["reward_model"]["ground_truth"],
                extra,
            )["score"]
        )
    assert sum(scores) / len(scores) > 0.9


def test_custom_vocabulary_run_exports_only_its_spellings(tmp_path):
    doc = DEFAULT_VOCABULARY.to_json()
    for op in doc["operations"]:
        op["token"] = "<|Look|>" if op["name"] == "zoom" else f"<|Do{op['name'].title()}|>"
    vocab_file = tmp_path / "vocab.json"
    vocab_file.write_text(json.dumps(doc))
    save_hf(tmp_path / "ds", 3)
    config = RunConfig(
        split="both",
        n=3,
        source="hf",
        source_options={"dataset": str(tmp_path / "ds"), "map": HF_MAP},
        vocab_path=str(vocab_file),
        out=str(tmp_path / "runs"),
    )
    assert run(config)["counts"]["kept"] == 3
    blobs = []
    for fmt in ("trl", "llamafactory", "verl"):
        out = tmp_path / fmt
        export_run(run_folder(config), fmt, out)
        for f in [*out.glob("*.parquet"), *out.glob("*.jsonl"), *out.glob("*.json")]:
            if f.suffix == ".parquet":
                table = pq.read_table(f).drop_columns(["images"])
                blobs.append(json.dumps(table.to_pylist(), default=str))
            else:
                blobs.append(f.read_text())
    text = "\n".join(blobs)
    assert "<|Look|>" in text
    assert not [t for t in DEFAULT_VOCABULARY.tokens if t in text]


def test_export_errors_are_clear(tmp_path, hf_run):
    with pytest.raises(ExportError, match="no manifest.json"):
        export_run(tmp_path, "trl", tmp_path / "o")
    with pytest.raises(ExportError, match="unknown export format"):
        export_run(hf_run[0], "axolotl", tmp_path / "o")


def test_cli_run_with_dataset_options_and_export(tmp_path):
    ds = save_hf(tmp_path / "ds", 3)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "run",
            "--source",
            "hf",
            "--dataset",
            str(ds),
            "--map",
            HF_MAP,
            "--n",
            "3",
            "--split",
            "both",
            "--out",
            str(tmp_path / "runs"),
            "--run-id",
            "r1",
            "--export",
            "verl",
            "--export",
            "llamafactory",
        ],
    )
    assert res.exit_code == 0, res.output
    root = tmp_path / "runs" / "r1"
    assert pq.read_metadata(root / "exports" / "verl" / "train.parquet").num_rows == 3
    assert (root / "exports" / "llamafactory" / "dataset_info.json").exists()
    res = runner.invoke(app, ["export", str(root), "--format", "trl", "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert pq.read_metadata(tmp_path / "t" / "train.parquet").num_rows == 3
    bad = runner.invoke(app, ["run", "--source", "hf", "--dataset", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "does not exist" in " ".join(bad.output.split())
    res = runner.invoke(app, ["tokens", "--format", "hf"])
    assert res.exit_code == 0
    assert json.loads(res.output)["additional_special_tokens"] == list(DEFAULT_VOCABULARY.tokens)


QWEN_VL_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content %}<|vision_start|><|image_pad|>"
    "<|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}"
    "<|im_end|>\n{% endif %}{% endfor %}"
)


def test_trl_messages_render_through_a_vlm_chat_template(hf_run, tmp_path):
    """A Qwen2-VL-style template (as TRL applies it) renders one image slot per image."""
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models

    export_run(hf_run[0], "trl", tmp_path / "trl")
    ds = load_dataset("parquet", data_files=str(tmp_path / "trl" / "train.parquet"), split="train")
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()))
    tok.chat_template = QWEN_VL_TEMPLATE
    for row in ds:
        text = tok.apply_chat_template(row["messages"], tokenize=False)
        assert text.count("<|image_pad|>") == len(row["images"]) == 1
        assert "<image>" not in text and row["messages"][1]["content"][0]["text"] in text
