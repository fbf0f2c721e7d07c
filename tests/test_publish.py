"""`atlas-data publish`: the repo folder loads like the Hub serves it; the upload reaches a
fake Hub on 127.0.0.1 (tests/fake_hub.py) with the right files and never leaks the token."""

import json
import logging
from pathlib import Path

import pytest
import yaml
from datasets import load_dataset
from fake_hub import FakeHub
from PIL import Image
from typer.testing import CliRunner

from atlas_data.cli import app
from atlas_data.inspect.publish import PublishError, build_folder, public_config, upload
from atlas_data.inspect.query import recipe_sql
from atlas_data.store.run import open_run

TOKEN = "hf_FAKEtokenForTests0123456789abcdef"
REPO = "atlas-org/synth"


@pytest.fixture(scope="module")
def folder(both_run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hub") / "repo"
    res = CliRunner().invoke(
        app,
        ["publish", both_run[0], "--repo-id", "atlas-org/synth", "--dry-run", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "dry run" in res.output
    return out


def front_matter(readme: str) -> dict:
    assert readme.startswith("---\n")
    return yaml.safe_load(readme.split("---\n")[1])


def test_dry_run_folder_layout_and_card(both_run, folder):
    _, manifest = both_run
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "data/rl/train-00000-of-00003.parquet",
        "data/rl/train-00001-of-00003.parquet",
        "data/rl/train-00002-of-00003.parquet",
        "data/sft/train-00000-of-00003.parquet",
        "data/sft/train-00001-of-00003.parquet",
        "data/sft/train-00002-of-00003.parquet",
        "functional_tokens.json",
    ]
    readme = (folder / "README.md").read_text(encoding="utf-8")
    meta = front_matter(readme)
    assert [c["config_name"] for c in meta["configs"]] == ["sft", "rl"]
    assert meta["configs"][1]["data_files"] == [
        {"split": "train", "path": "data/rl/train-*.parquet"}
    ]
    assert meta["license"] == "apache-2.0" and meta["task_categories"] and meta["tags"]
    info = {d["config_name"]: d for d in meta["dataset_info"]}
    assert info["sft"]["splits"][0]["num_examples"] == manifest.counts.kept
    assert json.loads((folder / "functional_tokens.json").read_text()) == manifest.vocabulary
    for op in manifest.vocabulary["operations"]:
        assert op["token"].replace("|", "\\|") in readme
    for reason, n in manifest.counts.rejected_by_reason.items():
        assert f"| rejected: verify/{reason} | {n} |" in readme or f"/{reason} | {n} |" in readme
    assert manifest.run_id in readme
    assert f'"out": "{manifest.config.out}"' not in readme  # no local paths


@pytest.mark.parametrize("config", ["sft", "rl"])
def test_folder_loads_with_datasets_images_decode(both_run, folder, config):
    ds = load_dataset(str(folder), config, split="train")
    assert len(ds) == both_run[1].counts.kept
    assert isinstance(ds[0]["images"][0], Image.Image)
    if config == "sft":  # the first row with an operation (a direct answer has none)
        row = next(r for r in ds if r["observations"])
        assert isinstance(row["observations"][0], Image.Image)
        assert ds[0]["messages"][1]["role"] == "assistant"
    else:
        assert ds[0]["prompt"][0]["role"] == "user" and ds[0]["reference"]


def test_the_published_layout_is_queryable(both_run, folder):
    run = open_run(folder)
    assert run.views == ["sft", "rl", "rejects", "kept"]
    local = open_run(both_run[0])
    assert run.sql(recipe_sql("tokens-per-task")) == local.sql(recipe_sql("tokens-per-task"))


def test_public_config_drops_secrets_and_local_paths():
    cfg = {
        "out": "/home/me/runs",
        "vocab_path": "/home/me/v.json",
        "n": 5,
        "teacher_options": {"model": "m", "api_key": "sk-1", "Auth_Header": "x", "base_url": "u"},
    }
    assert public_config(cfg) == {"n": 5, "teacher_options": {"model": "m", "base_url": "u"}}


def test_upload_to_a_local_fake_hub_sends_the_folder_and_hides_the_token(
    both_run, folder, monkeypatch, caplog, capfd, tmp_path
):
    caplog.set_level(logging.DEBUG)
    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        res = CliRunner().invoke(
            app,
            [
                "publish",
                both_run[0],
                "--repo-id",
                "atlas-org/synth",
                "--private",
                "--out",
                str(folder),
            ],
        )
    assert res.exit_code == 0, res.output
    assert "uploaded to dataset atlas-org/synth" in res.output
    assert hub.repos["atlas-org/synth"]["type"] == "dataset"
    assert hub.repos["atlas-org/synth"].get("private") or (
        hub.repos["atlas-org/synth"].get("visibility") == "private"
    )
    paths = [r["path"].split("?")[0] for r in hub.requests]
    assert paths[0] == "/api/repos/create"
    assert "/api/datasets/atlas-org/synth/preupload/main" in paths
    assert paths[-1] == "/api/datasets/atlas-org/synth/commit/main"
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in hub.requests if r["method"] == "POST")
    ((commit),) = hub.commits
    local = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert commit["files"] == local  # every file, byte for byte, nothing else
    assert commit["other_keys"] == [] and commit["header"]["summary"]
    assert hub.validated and "configs:" in hub.validated[0]
    # the token is in no output, no log record, no file written
    out, errout = capfd.readouterr()
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for text in (res.output, out, errout, logs):
        assert TOKEN not in text
    for p in [*folder.rglob("*"), *Path(both_run[0]).rglob("*")]:
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p


def test_upload_without_token_says_what_to_do(folder, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "no-token"))
    with pytest.raises(PublishError, match="HF_TOKEN"):
        upload(folder, "atlas-org/synth", endpoint="http://127.0.0.1:9")


def test_bad_repo_id_and_unfinished_run(both_run, tmp_path):
    with pytest.raises(PublishError, match="ORG/NAME"):
        build_folder(both_run[0], "no-slash", tmp_path / "x")
    res = CliRunner().invoke(app, ["publish", str(tmp_path), "--repo-id", "a/b", "--dry-run"])
    assert res.exit_code == 2 and "no shards found" in res.output
