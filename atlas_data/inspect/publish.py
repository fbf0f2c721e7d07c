"""Publish a run to the Hugging Face Hub: build the exact repo folder, then upload it.

The folder is what the dataset repo will hold, nothing more: Parquet shards under
``data/<config>/train-*.parquet`` (copied byte for byte, so the ``huggingface`` schema
metadata that makes image columns decode survives), ``functional_tokens.json`` and a
dataset card whose YAML ``configs`` map the ``sft`` and ``rl`` configs to their files.
``--dry-run`` stops after building it, so what is uploaded can be inspected first.

The token comes from ``HF_TOKEN`` or the login cache (``hf auth login``) and is handed to
``huggingface_hub`` only; it is never printed, logged or written.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from atlas_data.config import is_secret
from atlas_data.store.manifest import Manifest
from atlas_data.store.run import RunNotFound, open_run
from atlas_data.store.schemas import ROW_SCHEMAS, hf_features

CONFIGS = ("sft", "rl")
LOCAL_FIELDS = ("out", "vocab_path")  # paths on the machine that made the run
PAPER = "https://arxiv.org/abs/2605.15198"


class PublishError(RuntimeError):
    """Publishing cannot go on; the message says what to do."""


def check_repo_id(repo_id: str) -> str:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts) or any(c.isspace() for c in repo_id):
        raise PublishError(f"--repo-id must look like ORG/NAME (or USER/NAME), got {repo_id!r}")
    return repo_id


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """The run config without secrets or local paths: safe to print on a public card."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if not is_secret(str(k))}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return {k: v for k, v in clean(config).items() if k not in LOCAL_FIELDS}


def _features(path: str, kind: str) -> dict[str, Any]:
    """The ``datasets`` features stored in the shard itself (fallback: the row schema)."""
    import fsspec

    with fsspec.open(path, "rb") as fh:
        meta = pq.read_schema(fh).metadata or {}
    raw = meta.get(b"huggingface")
    if raw:
        features: dict[str, Any] = json.loads(raw)["info"]["features"]
        return features
    return hf_features(ROW_SCHEMAS[kind])


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _dataset_info(kind: str, features: dict[str, Any], rows: int, size: int) -> dict[str, Any]:
    from datasets import Features
    from datasets.info import DatasetInfo

    info: dict[str, Any] = DatasetInfo(features=Features.from_dict(features))._to_yaml_dict()
    info["config_name"] = kind
    info["splits"] = [{"name": "train", "num_bytes": size, "num_examples": rows}]
    return info


def dataset_card(
    repo_id: str,
    manifest: Manifest,
    configs: dict[str, dict[str, Any]],
    rejects: list[tuple[str, str, int]],
    license: str,
) -> str:
    """The README.md of the dataset repo: YAML front matter, then a human description."""
    vocab = manifest.vocab
    rows = max((c["rows"] for c in configs.values()), default=0)  # sft and rl share samples
    size = next(
        label
        for label, below in (
            ("n<1K", 1e3), ("1K<n<10K", 1e4), ("10K<n<100K", 1e5), ("100K<n<1M", 1e6),
            ("1M<n<10M", 1e7), ("n>10M", float("inf")),
        )
        if rows < below
    )  # fmt: skip
    front = {
        "license": license,
        "language": ["en"],
        "pretty_name": f"{repo_id.split('/')[-1]} (atlas-data functional-token reasoning)",
        "size_categories": [size],
        "task_categories": ["image-text-to-text", "visual-question-answering"],
        "tags": ["atlas-data", "functional-tokens", "visual-reasoning", "synthetic"],
        "configs": [
            {
                "config_name": kind,
                "data_files": [{"split": "train", "path": f"data/{kind}/train-*.parquet"}],
                **({"default": True} if i == 0 else {}),
            }
            for i, kind in enumerate(configs)
        ],
        "dataset_info": [
            _dataset_info(kind, c["features"], c["rows"], c["bytes"]) for kind, c in configs.items()
        ],
    }
    counts = manifest.counts
    config = public_config(manifest.config.public())
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {repo_id}",
        "",
        "Functional-token visual reasoning data made with **atlas-data**, in the style of ATLAS",
        f'("Agentic or Latent Visual Reasoning? One Word is Enough for Both", {PAPER}).',
        "Each trajectory replaces a real visual operation (zoom, auxiliary line, arrow, box, "
        "label) by one functional token; every operation was run on the image and judged helpful.",
        "",
        "## Load it",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        *[f'{kind} = load_dataset("{repo_id}", "{kind}", split="train")' for kind in configs],
        "```",
        "",
        "| config | rows | files | what |",
        "|---|---|---|---|",
    ]
    what = {
        "sft": "supervised fine-tuning: `messages` (functional-token form), "
        "`agentic_messages`, images and per-operation observations",
        "rl": "RL prompts (`prompt`, `reference`, `data_source`, `ability`) in verl style",
    }
    for kind, c in configs.items():
        lines.append(f"| `{kind}` | {c['rows']} | {c['files']} | {what[kind]} |")
    lines += [
        "",
        f"## Token vocabulary: `{vocab.name}` (hash `{vocab.hash}`)",
        "",
        "Add these to your tokenizer as plain added tokens, one id each and *not* special "
        "(decoding with `skip_special_tokens=True` would delete special ones before a reward "
        "sees them): `atlas_data.train.tokenizer.add_functional_tokens(tokenizer)`. The full "
        "vocabulary, with the parameter schema of each operation, is in "
        "`functional_tokens.json`.",
        "",
        "| token | category | operation | meaning |",
        "|---|---|---|---|",
        *[
            f"| `{_md(op.token)}` | {_md(op.category)} | `{op.name}` | {_md(op.meaning)} |"
            for op in vocab.operations
        ],
        "",
        "## Counts",
        "",
        "| what | n |",
        "|---|---|",
        f"| source samples | {counts.samples} |",
        f"| kept | {counts.kept} |",
        f"| rejected | {counts.rejected} |",
        *[f"| rejected: {stage}/{_md(reason)} | {n} |" for stage, reason, n in rejects],
        *[f"| token `{_md(t)}` | {n} |" for t, n in counts.tokens.items()],
        *[f"| operation `{o}` | {n} |" for o, n in counts.operations.items()],
        *[f"| task `{_md(t)}` | {n} |" for t, n in counts.tasks.items()],
        *[
            f"| {kind} rows showing {k} image{'s' if k > 1 else ''} | {n} |"
            for kind, c in configs.items()
            for k, n in c.get("images", {}).items()
        ],
        "",
        "## Features",
        "",
    ]
    for kind, c in configs.items():
        cols = ", ".join(f"`{name}`" for name in c["features"])
        lines.append(f"- **{kind}**: {cols}")
    lines += [
        "",
        "Image columns (`images`, `observations`) decode to PIL images. `images` holds every "
        "input image of a sample, in order: a sample may show several (Image 1 to Image N), "
        "and its user turn carries one `<image>` per image, in that order. An operation's "
        '`params` name the image it acted on (`"image": k`, from 0) when there are several.',
        "",
        "## Generation config",
        "",
        "```json",
        json.dumps(config, indent=2, sort_keys=True),
        "```",
        "",
        "## Run summary",
        "",
        f"- run id: `{manifest.run_id}`",
        f"- atlas-data version: `{manifest.atlas_data_version or '-'}`",
        f"- output format preset: `{manifest.preset}`",
        f"- schema version: `{manifest.schema_version}`, "
        f"row schema hashes: `{json.dumps(manifest.schemas, sort_keys=True)}`",
        f"- complete: `{manifest.complete}`",
        f"- throughput: {manifest.timing.samples_per_second or '-'} samples/s",
        "",
    ]
    return "\n".join(lines)


def default_out(run: str) -> Path:
    if "://" in run and not run.startswith("file://"):
        raise PublishError(f"{run} is not a local folder: pass --out DIR for the repo folder")
    return Path(run.removeprefix("file://")) / "_hub"


def build_folder(
    run: str | Path, repo_id: str, out: str | Path | None = None, license: str = "apache-2.0"
) -> Path:
    """Write the repo folder (replacing a previous build there); returns its path."""
    import fsspec

    check_repo_id(repo_id)
    run = str(run)
    opened = open_run(run)
    try:
        folder = Path(out) if out else default_out(run)
        try:
            manifest = opened.finished()
        except RunNotFound as exc:
            raise PublishError(str(exc)) from None
        if not manifest.complete:
            raise PublishError(
                f"run {manifest.run_id} is incomplete (missing shards "
                f"{manifest.missing_shards}); rerun it to finish before publishing"
            )
        for stale in ("data", "README.md", "functional_tokens.json"):
            target = folder / stale
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        configs: dict[str, dict[str, Any]] = {}
        for kind in CONFIGS:
            paths = opened.files.get(kind, [])
            if not paths:
                continue
            dest = folder / "data" / kind
            dest.mkdir(parents=True, exist_ok=True)
            size = 0
            for i, src in enumerate(paths):
                target = dest / f"train-{i:05d}-of-{len(paths):05d}.parquet"
                with fsspec.open(src, "rb") as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
                size += target.stat().st_size
            ((rows,),) = opened.sql(f"SELECT count(*) FROM {kind}")[1]
            per = opened.sql(f"SELECT len(images), count(*) FROM {kind} GROUP BY 1 ORDER BY 1")
            configs[kind] = {
                "rows": rows,
                "files": len(paths),
                "bytes": size,
                "features": _features(paths[0], kind),
                "images": {int(n): int(k) for n, k in per[1]},  # rows by images per sample
            }
        rejects = [
            (str(s), str(r), int(n))
            for s, r, n in opened.sql(
                "SELECT stage, reason, count(*) n FROM rejects GROUP BY ALL ORDER BY n DESC, reason"
            )[1]
        ]
        vocab_doc = manifest.vocab.to_json()
        (folder / "functional_tokens.json").write_text(
            json.dumps(vocab_doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        card = dataset_card(repo_id, manifest, configs, rejects, license)
        (folder / "README.md").write_text(card, encoding="utf-8")
    finally:
        opened.close()
    return folder


def resolve_token(token: str | None = None) -> str:
    """The Hub token: explicit, else ``HF_TOKEN``, else the login cache."""
    from huggingface_hub import get_token

    found = token or get_token()
    if not found:
        raise PublishError(
            "no Hugging Face token found: set HF_TOKEN=<a write token> or run `hf auth login`, "
            "or use --dry-run to only build the folder"
        )
    return found


def upload(
    folder: str | Path,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Create the dataset repo if needed and upload the folder in one go; returns the commit URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    check_repo_id(repo_id)
    secret = resolve_token(token)
    api = HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=secret)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        info = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="dataset",
            commit_message=commit_message or "Upload dataset made with atlas-data",
        )
    except HfHubHTTPError as exc:
        message = str(exc).replace(secret, "***")
        raise PublishError(f"upload to {repo_id} failed: {message}") from None
    return str(info.commit_url or info)
