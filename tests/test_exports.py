"""Exports load back with the loader each trainer uses, with the run's kept row count."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from datasets import load_dataset
from PIL import Image
from realdata_helpers import HF_MAP, save_hf
from typer.testing import CliRunner

from atlas_data.cli import app
from atlas_data.config import RunConfig
from atlas_data.run.driver import run
from atlas_data.store.export import ExportError, export_run
from atlas_data.store.limits import image_tokens, smart_resize
from atlas_data.store.manifest import Manifest
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary
from atlas_data.train.rewards import compute_score, parse_label, reward_func
from tests import multi_corpus
from tests.runs import run_folder

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
    assert manifest.counts.kept == N
    return run_folder(config), manifest


def _assistant_spans_ok(text: str, spans: list[dict], tokens: set[str]) -> None:
    assert spans, "every kept row uses at least one functional token"
    for s in spans:
        assert text[s["start"] : s["end"]] == s["token"] and s["token"] in tokens


def test_trl_export_loads_with_datasets(hf_run, tmp_path):
    root, manifest = hf_run
    summary = export_run(root, "trl", tmp_path / "trl")
    assert summary["rows"] == manifest.counts.kept and summary["split"] == "sft"
    ds = load_dataset("parquet", data_files=str(tmp_path / "trl" / "train.parquet"), split="train")
    assert len(ds) == manifest.counts.kept
    row = ds[0]
    (user,), (assistant,) = row["prompt"], row["completion"]
    assert user["role"] == "user" and assistant["role"] == "assistant"
    assert user["content"][0]["type"] == "image" and user["content"][1]["type"] == "text"
    assert "<image>" not in user["content"][1]["text"]  # the placeholder became a part
    # 1600x1200 sources are fitted to the run's budget side (1024), the view judged
    assert isinstance(row["images"][0], Image.Image) and row["images"][0].size == (1024, 768)
    text = assistant["content"][0]["text"]
    _assistant_spans_ok(text, row["token_spans"], set(DEFAULT_VOCABULARY.tokens))
    assert row["extra_info"]["answer"] == row["answer"] and row["extra_info"]["reference"] == text
    assert json.loads((tmp_path / "trl" / "vocabulary.json").read_text())["tokens"] == list(
        DEFAULT_VOCABULARY.tokens
    )


def _user_text(fmt: str, row: dict) -> str:
    """The user turn as text, an image part written back as its placeholder."""
    if fmt == "trl":
        return "".join(
            "<image>" if p["type"] == "image" else p["text"] for p in row["prompt"][0]["content"]
        )
    if fmt == "llamafactory":
        return row["messages"][0]["content"]
    return row["prompt"][0]["content"]


def test_every_format_renders_the_same_text_around_the_image(hf_run, tmp_path):
    root, _ = hf_run
    seen: dict[str, dict[str, str]] = {}
    for fmt in ("trl", "llamafactory", "verl", "openrlhf"):
        out = tmp_path / fmt
        summary = export_run(root, fmt, out, name="atlas_demo")
        data = out / {"llamafactory": "atlas_demo.jsonl", "openrlhf": "train.jsonl"}.get(
            fmt, "train.parquet"
        )
        kind = "json" if data.suffix == ".jsonl" else "parquet"
        ds = load_dataset(kind, data_files=str(data), split="train")
        ids = ds["id"] if "id" in ds.column_names else [e["id"] for e in ds["extra_info"]]
        seen[fmt] = {i: _user_text(fmt, row) for i, row in zip(ids, ds, strict=True)}
        assert summary["rows"] == len(ds)
    texts = list(seen["llamafactory"].values())
    assert all(t.startswith("<image>\n") for t in texts)  # the newline after the image stays
    for fmt in ("trl", "verl", "openrlhf"):
        common = seen[fmt].keys() & seen["llamafactory"].keys()
        assert common, fmt
        assert {i: seen[fmt][i] for i in common} == {i: seen["llamafactory"][i] for i in common}


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
    assert len(ds) == manifest.counts.kept == summary["rows"]
    for row in ds:
        user, assistant = row["messages"]
        assert user["content"].count("<image>") == len(row["images"]) == 1
        for rel in row["images"]:
            assert not Path(rel).is_absolute() and (out / rel).is_file()
            assert Image.open(out / rel).size == (1024, 768)
        _assistant_spans_ok(
            assistant["content"], row["token_spans"], set(DEFAULT_VOCABULARY.tokens)
        )
    # {token: meaning} for LLaMA-Factory's new_special_tokens_config (YAML; JSON is YAML)
    meanings = yaml.safe_load((out / "functional_tokens.yaml").read_text())
    assert list(meanings) == list(DEFAULT_VOCABULARY.tokens)
    assert "magnify" in meanings["<|Manip|>"] and "line" in meanings["<|Line|>"].lower()
    settings = json.loads((out / "settings.json").read_text())["llamafactory"]
    assert settings["add_tokens"].split(",") == list(DEFAULT_VOCABULARY.tokens)
    assert settings["dataset"] == "atlas_demo" and settings["template"] == "qwen2_vl"


def test_verl_export_has_the_fields_verl_reads_and_rewards_them(hf_run, tmp_path):
    root, manifest = hf_run
    export_run(root, "verl", tmp_path / "verl")
    ds = load_dataset("parquet", data_files=str(tmp_path / "verl" / "train.parquet"), split="train")
    assert len(ds) == manifest.counts.kept
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
        assert extra["index"] == i and extra["preset"] == manifest.preset
        assert Vocabulary.from_json(json.loads(extra["vocab"])).hash == manifest.vocab_hash
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
    assert run(config).counts.kept == 3
    blobs = []
    for fmt in ("trl", "llamafactory", "verl", "openrlhf"):
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
    hf = json.loads(res.output)
    assert hf["added_tokens"] == list(DEFAULT_VOCABULARY.tokens) and hf["special"] is False
    assert "magnify" in hf["meanings"]["<|Manip|>"] and "arrow" in hf["meanings"]["<|Arrow|>"]


def test_qwen_image_tokens_follow_smart_resize_by_hand():
    # 1024x768: sides round to 37 and 27 units of 28 px -> 999 tokens (under the cap)
    assert smart_resize(768, 1024) == (756, 1036) and image_tokens(1024, 768) == 999
    # 1600x1200 at the default cap is 43 x 57 units
    assert image_tokens(1600, 1200) == 43 * 57
    # a cap shrinks both sides by the same factor, flooring to whole units
    assert smart_resize(1200, 1600, max_pixels=401408) == (532, 728)
    assert smart_resize(10, 10) == (56, 56)  # the minimum is 56 x 56


def test_settings_hold_limits_measured_on_the_export(hf_run, tmp_path):
    root, _ = hf_run
    cap = 200_000
    summary = export_run(root, "verl", tmp_path / "verl", max_pixels=cap)
    settings = json.loads((tmp_path / "verl" / "settings.json").read_text())
    limits = settings["limits"]
    assert limits == summary["limits"] and settings["trainer"] == "verl"
    table = pq.read_table(tmp_path / "verl" / "train.parquet").to_pylist()
    assert limits["rows"] == len(table) and limits["images_resized"] == len(table)
    biggest_prompt = 0
    for row in table:
        with Image.open(io.BytesIO(row["images"][0]["bytes"])) as img:
            w, h = img.size
        assert w * h <= cap and w * h <= limits["image_max_pixels"]
        assert image_tokens(w, h) <= limits["image_tokens_max"]
        text = row["prompt"][0]["content"]
        # one token per UTF-8 byte at most, plus the image's tokens and the template
        biggest_prompt = max(biggest_prompt, len(text.encode()) + image_tokens(w, h))
    assert biggest_prompt < limits["prompt_tokens_max"] <= biggest_prompt + 64 + 64
    verl = settings["verl"]
    assert verl["data.max_prompt_length"] == limits["prompt_tokens_max"]
    assert verl["reward.custom_reward_function.path"] == "pkg://atlas_data.train.rewards"
    assert f"data.max_prompt_length={limits['prompt_tokens_max']}" in verl["overrides"]
    # a second export into the same folder with another budget rewrites the images
    lf = tmp_path / "lf"
    export_run(root, "llamafactory", lf, name="a")
    export_run(root, "llamafactory", lf, name="a", max_pixels=cap)
    for line in (lf / "a.jsonl").read_text().splitlines():
        for rel in json.loads(line)["images"]:
            with Image.open(lf / rel) as img:
                assert img.size[0] * img.size[1] <= cap
    with pytest.raises(ExportError, match="below"):
        export_run(root, "verl", tmp_path / "tiny", max_pixels=100)


def test_openrlhf_export_labels_feed_its_reward_func(hf_run, tmp_path):
    root, manifest = hf_run
    out = tmp_path / "openrlhf"
    summary = export_run(root, "openrlhf", out)
    ds = load_dataset("json", data_files=str(out / "train.jsonl"), split="train")
    assert len(ds) == summary["rows"] == manifest.counts.kept
    settings = json.loads((out / "settings.json").read_text())["openrlhf"]
    assert settings["--label_key"] == "label" and settings["--input_key"] == "prompt"
    queries, prompts, labels, expected = [], [], [], []
    for row in ds:
        assert all((out / rel).is_file() for rel in row["images"])
        answer, extra = parse_label(row["label"])
        reference = extra["reference"]
        prompt = (
            f"<|im_start|>user\n{row['prompt'][0]['content']}<|im_end|>\n<|im_start|>assistant\n"
        )
        # OpenRLHF decodes with skip_special_tokens=False: left padding and the end token stay
        queries.append("<|endoftext|>" * 3 + prompt + reference + "<|im_end|><|endoftext|>")
        prompts.append(prompt)
        labels.append(row["label"])
        expected.append(compute_score(None, reference, answer, extra)["score"])
    out_scores = reward_func(queries, prompts, labels)
    assert [round(float(x), 6) for x in out_scores["rewards"]] == expected
    assert sum(expected) / len(expected) > 0.9


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory) -> tuple[Path, Manifest]:
    """A run over samples of 3, 2, 2 and 1 images, every one kept."""
    base = tmp_path_factory.mktemp("multi")
    multi_corpus.write_small(base / "corpus")
    config = RunConfig(
        source="local",
        source_options={"root": str(base / "corpus"), "questions": "questions.jsonl"},
        split="both",
        out=str(base / "runs"),
    )
    manifest = run(config)
    assert manifest.counts.kept == 4, manifest.counts
    return manifest.folder, manifest


def _run_rows(folder: Path, split: str) -> dict[str, dict]:
    """The run's kept rows of one split by id, as the run wrote them."""
    files = sorted((folder / split).glob("*.parquet"))
    assert files, split
    return {r["id"]: r for f in files for r in pq.read_table(f).to_pylist()}


def _pixels(img: Image.Image) -> np.ndarray:
    """An image at a common small size, for comparing a fitted copy with its original."""
    return np.asarray(img.convert("RGB").resize((64, 48), Image.Resampling.BILINEAR), float)


def _exported_rows(fmt: str, out: Path) -> list[tuple[str, str, list[Image.Image]]]:
    """``(id, user text with a placeholder per image, images)`` per row, read back with the
    loader the trainers use (``datasets``; image paths opened from the export's folder)."""
    data = out / {"llamafactory": "multi.jsonl", "openrlhf": "train.jsonl"}.get(
        fmt, "train.parquet"
    )
    ds = load_dataset("json" if data.suffix == ".jsonl" else "parquet", data_files=str(data))
    rows = []
    for row in ds["train"]:
        images = row["images"]
        if fmt in ("llamafactory", "openrlhf"):
            images = [Image.open(out / rel) for rel in images]
        if fmt == "trl":
            (user,) = row["prompt"]
            kinds = [p["type"] for p in user["content"]]
            assert kinds.count("image") + kinds.count("text") == len(kinds)
        row_id = row["extra_info"]["id"] if fmt == "verl" else row["id"]
        rows.append((row_id, _user_text(fmt, row), images))
    return rows


@pytest.mark.parametrize("fmt", ["trl", "llamafactory", "verl", "openrlhf"])
def test_every_format_round_trips_a_three_image_sample(multi_run, tmp_path, fmt):
    folder, manifest = multi_run
    out = tmp_path / fmt
    summary = export_run(folder, fmt, out, name="multi")
    expected = _run_rows(folder, summary["split"])
    rows = _exported_rows(fmt, out)
    assert sorted(i for i, _, _ in rows) == sorted(expected)  # every kept row, once
    by_count: dict[int, int] = {}
    for row_id, text, images in rows:
        source = expected[row_id]
        run_text = (source["messages"] if summary["split"] == "sft" else source["prompt"])[0][
            "content"
        ]
        originals = [Image.open(io.BytesIO(img["bytes"])) for img in source["images"]]
        n = len(originals)
        by_count[n] = by_count.get(n, 0) + 1
        # one placeholder (TRL: one image part) per image, the run's text around them
        assert text.count("<image>") == len(images) == n
        assert text == run_text
        marks = ["<image>"] if n == 1 else [f"Image {k}: <image>" for k in range(1, n + 1)]
        assert text.startswith("\n".join(marks) + "\n" + source["question"].strip())
        # the same pictures in the same order, fitted to the run's budget side
        for k, (img, original) in enumerate(zip(images, originals, strict=True)):
            (w, h), (ow, oh) = img.size, original.size
            assert max(w, h) <= manifest.budget_side < max(ow, oh)
            assert abs(w / h - ow / oh) < 0.01, (row_id, k)
            diffs = [np.abs(_pixels(img) - _pixels(o)).mean() for o in originals]
            # near-identical to its own original (a resize and a re-encode apart), and
            # closest to it: the images of one sample are told apart (a retaken photo of
            # the same scene differs by about one grey level at this size)
            assert diffs[k] < 0.5 and int(np.argmin(diffs)) == k, (row_id, k, diffs)
    assert by_count == {3: 1, 2: 2, 1: 1}
