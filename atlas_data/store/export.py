"""Trainer-ready exports of a finished run: TRL, LLaMA-Factory, verl and OpenRLHF.

Each exporter streams the run shard by shard (one Parquet batch in memory at a time) and
writes its output to temporary names that are renamed at the end, so an interrupted export
never leaves a file a trainer could half-read. The preset and the vocabulary come from the
run's manifest: an export of a custom-vocabulary run carries only that run's spellings.
Every format renders the same text around the image: ``<image>`` (or an image part)
followed by the user text exactly as the run wrote it, newline included.

Formats (all keep the character spans of functional tokens in the assistant text):

``trl``           ``train.parquet``: conversational ``prompt``/``completion`` (content
                  parts), ``images``, ``answer``, ``extra_info`` (SFTTrainer trains on the
                  completion only; GRPOTrainer passes ``answer``/``extra_info`` to
                  :func:`atlas_data.train.rewards.trl_reward`).
``llamafactory``  ``<name>.jsonl`` (sharegpt ``messages`` with ``<image>`` placeholders and
                  ``images`` paths relative to the folder), ``images/``, ``dataset_info.json``,
                  ``functional_tokens.yaml`` (``{token: meaning}``).
``verl``          ``train.parquet``: ``data_source``, ``prompt``, ``images``, ``ability``,
                  ``reward_model {style, ground_truth}``, ``extra_info`` (index, preset,
                  vocabulary, reference and its token spans) — read by
                  :func:`atlas_data.train.rewards.compute_score`.
``openrlhf``      ``train.jsonl``: chat ``prompt``, ``images`` paths, ``label`` (JSON of the
                  answer and ``extra_info``) — read by :func:`atlas_data.train.rewards.reward_func`.

Beside the data: ``settings.json`` (the limits this export needs and the trainer's keys
that set them), ``vocabulary.json`` and ``export.json`` (a summary).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from atlas_data.atomic import atomic_write_bytes, atomic_write_json
from atlas_data.llm.count import QWEN_MIN_PIXELS
from atlas_data.store.limits import Limits
from atlas_data.store.manifest import Manifest
from atlas_data.store.run import Run, RunNotFound, open_run
from atlas_data.store.schemas import IMAGE, MESSAGE, SPAN, with_hf_metadata
from atlas_data.store.settings import trainer_settings
from atlas_data.trajectory.model import IMAGE_PLACEHOLDER

FORMATS = ("trl", "llamafactory", "verl", "openrlhf")
# The split each trainer wants first; the other one is used when a run has only that.
PREFERRED = {
    "trl": ("sft", "rl"),
    "llamafactory": ("sft", "rl"),
    "verl": ("rl", "sft"),
    "openrlhf": ("rl", "sft"),
}
BATCH_ROWS = 64
SETTINGS = "settings.json"
TOKEN_MEANINGS = "functional_tokens.yaml"

PART = pa.struct([("type", pa.string()), ("text", pa.string())])
TURN = pa.list_(pa.struct([("role", pa.string()), ("content", pa.list_(PART))]))
EXTRA_INFO = pa.struct(
    [
        ("index", pa.int64()),
        ("id", pa.string()),
        ("split", pa.string()),
        ("question", pa.string()),
        ("answer", pa.string()),
        ("choices", pa.list_(pa.string())),
        ("preset", pa.string()),
        ("vocab", pa.string()),  # the run's vocabulary, JSON
        ("vocab_hash", pa.string()),
        ("reference", pa.string()),
        ("reference_token_spans", pa.list_(SPAN)),
        ("reference_token_count", pa.int64()),
    ]
)
TRL = pa.schema(
    [
        ("id", pa.string()),
        ("prompt", TURN),
        ("completion", TURN),
        ("images", pa.list_(IMAGE)),
        ("token_spans", pa.list_(SPAN)),  # within completion[0].content[0].text
        ("task", pa.string()),
        ("answer", pa.string()),
        ("extra_info", EXTRA_INFO),
    ]
)
VERL = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(MESSAGE)),
        ("images", pa.list_(IMAGE)),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", EXTRA_INFO),
    ]
)


class ExportError(ValueError):
    """A run that cannot be exported; the message says what to do."""


def pick_split(run: Run, manifest: Manifest, fmt: str) -> str:
    for kind in PREFERRED[fmt]:
        if run.files.get(kind):
            return kind
    raise ExportError(f"run {manifest.run_id} has no kept rows in sft/ or rl/ to export")


@dataclass
class Example:
    """What every format needs, read from either an SFT or an RL row."""

    row: dict[str, Any]
    prompt: str
    response: str
    spans: list[dict[str, Any]]


def examples(files: list[str], kind: str) -> Iterator[Example]:
    """Rows of one split, shard by shard, one batch in memory at a time."""
    for path in files:
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            for row in batch.to_pylist():
                if kind == "sft":
                    msgs = row["messages"]
                    yield Example(row, msgs[0]["content"], row["text"], row["token_spans"] or [])
                else:
                    prompt = row["prompt"][0]["content"]
                    yield Example(row, prompt, row["reference"], row["reference_token_spans"] or [])


def content_parts(prompt: str) -> list[dict[str, Any]]:
    """``<image>\nQuestion`` → ``[{"type": "image"}, {"type": "text", "text": "\nQuestion"}]``.

    The text keeps every character around the placeholder, so a chat template renders the
    same string as LLaMA-Factory and verl do from the placeholder form.
    """
    parts: list[dict[str, Any]] = []
    for k, chunk in enumerate(prompt.split(IMAGE_PLACEHOLDER)):
        if k:
            parts.append({"type": "image", "text": None})
        if chunk:
            parts.append({"type": "text", "text": chunk})
    return parts


class _ParquetOut:
    """One Parquet file written batch by batch under a temporary name."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        self.schema = with_hf_metadata(schema)
        self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.count += len(self.rows)
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.writer.close()
        os.replace(self.tmp, self.path)


@dataclass
class Target:
    """Where one export goes and what it measures on the way."""

    manifest: Manifest
    files: list[str]
    kind: str
    out: Path
    limits: Limits

    @cached_property
    def vocab_json(self) -> str:
        return json.dumps(self.manifest.vocab.to_json(), sort_keys=True, ensure_ascii=False)

    def rows(self) -> Iterator[tuple[int, Example, list[dict[str, Any]]]]:
        """``(index, example, images fitted to the budget)``, measuring every row."""
        for index, ex in enumerate(examples(self.files, self.kind)):
            images, tokens = self.limits.fit(ex.row["images"])
            self.limits.add(ex.prompt, tokens, ex.response)
            yield index, ex, images

    def extra_info(self, index: int, ex: Example) -> dict[str, Any]:
        """What the reward reads (verl's ``extra_info``; TRL and OpenRLHF carry the same)."""
        row, vocab = ex.row, self.manifest.vocab
        return {
            "index": index,
            "id": row["id"],
            "split": "train",
            "question": row["question"],
            "answer": row["answer"],
            "choices": row["choices"],
            "preset": row.get("preset") or self.manifest.preset,
            "vocab": self.vocab_json,
            "vocab_hash": vocab.hash,
            "reference": ex.response,
            "reference_token_spans": ex.spans,
            "reference_token_count": len(ex.spans),
        }

    def image_files(self, ex: Example, images: list[dict[str, Any]]) -> list[str]:
        """Write a row's images under ``images/``; return their paths relative to the folder."""
        paths = []
        for k, img in enumerate(images):
            ext = Path(img.get("path") or "x.png").suffix or ".png"  # png, jpg or webp
            rel = f"images/{ex.row['id']}-{k}{ext}"
            # always rewritten (a re-export with another --max-pixels must not keep old
            # sizes), atomically: a cut-short export leaves no half image
            atomic_write_bytes(self.out / rel, img["bytes"])
            paths.append(rel)
        return paths


def export_trl(t: Target) -> dict[str, Any]:
    """Prompt/completion rows: TRL's SFTTrainer then trains on the completion only."""
    sink = _ParquetOut(t.out / "train.parquet", TRL)
    for index, ex, images in t.rows():
        sink.add(
            {
                "id": ex.row["id"],
                "prompt": [{"role": "user", "content": content_parts(ex.prompt)}],
                "completion": [
                    {"role": "assistant", "content": [{"type": "text", "text": ex.response}]}
                ],
                "images": images,
                "token_spans": ex.spans,
                "task": ex.row["task"],
                "answer": ex.row["answer"],
                "extra_info": t.extra_info(index, ex),
            }
        )
    sink.close()
    return {"rows": sink.count, "files": ["train.parquet"]}


def _dataset_name(manifest: Manifest) -> str:
    return "atlas_" + re.sub(r"\W+", "_", manifest.run_id).strip("_")


def _jsonl(path: Path, records: Iterator[dict[str, Any]]) -> int:
    """Write records as JSON lines under a temporary name; rename at the end."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    count = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    os.replace(tmp, path)
    return count


def export_llamafactory(t: Target, name: str | None = None) -> dict[str, Any]:
    name = name or _dataset_name(t.manifest)
    (t.out / "images").mkdir(parents=True, exist_ok=True)
    data = t.out / f"{name}.jsonl"
    count = _jsonl(
        data,
        (
            {
                "id": ex.row["id"],
                "messages": [
                    {"role": "user", "content": ex.prompt},
                    {"role": "assistant", "content": ex.response},
                ],
                "images": t.image_files(ex, images),
                "token_spans": ex.spans,
            }
            for _, ex, images in t.rows()
        ),
    )
    info_path = t.out / "dataset_info.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.exists() else {}
    info[name] = {
        "file_name": data.name,
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "images": "images"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
        },
    }
    atomic_write_json(info_path, info)
    # {token: meaning} for new_special_tokens_config, in id order (JSON is YAML)
    meanings = json.dumps(t.manifest.vocab.meanings(), ensure_ascii=False, indent=2)
    atomic_write_bytes(t.out / TOKEN_MEANINGS, meanings.encode())
    files = [data.name, "dataset_info.json", "images/", TOKEN_MEANINGS]
    return {"rows": count, "files": files, "name": name}


def export_verl(t: Target) -> dict[str, Any]:
    sink = _ParquetOut(t.out / "train.parquet", VERL)
    for index, ex, images in t.rows():
        row = ex.row
        sink.add(
            {
                "data_source": row.get("data_source") or f"atlas-data/{row['source']}",
                "prompt": [{"role": "user", "content": ex.prompt}],
                "images": images,
                "ability": row.get("ability") or row["task"],
                "reward_model": {"style": "rule", "ground_truth": row["answer"]},
                "extra_info": t.extra_info(index, ex),
            }
        )
    sink.close()
    return {"rows": sink.count, "files": ["train.parquet"]}


def export_openrlhf(t: Target) -> dict[str, Any]:
    """Chat prompts, image paths and a ``label`` holding the answer and the reward's info."""
    (t.out / "images").mkdir(parents=True, exist_ok=True)
    count = _jsonl(
        t.out / "train.jsonl",
        (
            {
                "id": ex.row["id"],
                "prompt": [{"role": "user", "content": ex.prompt}],
                "images": t.image_files(ex, images),
                "label": json.dumps(
                    {"answer": ex.row["answer"], "extra_info": t.extra_info(index, ex)},
                    ensure_ascii=False,
                ),
            }
            for index, ex, images in t.rows()
        ),
    )
    return {"rows": count, "files": ["train.jsonl", "images/"]}


def export_run(
    run_dir: str | Path,
    fmt: str,
    out: str | Path,
    name: str | None = None,
    max_pixels: int | None = None,
) -> dict[str, Any]:
    """Export a finished run in one trainer's format; returns a summary (also ``export.json``).

    Images are fitted to the run's budget (its ``budget_side``, the view at which every
    operation was judged) and, if given, to ``max_pixels``; ``settings.json`` beside the
    data holds the limits the trainer must be given (see :mod:`atlas_data.store.limits`).
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    if max_pixels is not None and max_pixels < QWEN_MIN_PIXELS:
        raise ExportError(f"--max-pixels {max_pixels} is below {QWEN_MIN_PIXELS} (56 x 56)")
    try:
        with open_run(run_dir) as run:
            manifest = run.finished()
            kind = pick_split(run, manifest, fmt)
            files = run.files[kind]
    except RunNotFound as exc:
        raise ExportError(str(exc)) from None
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    fits = Limits(manifest.budget_side, max_pixels, manifest.config.image_format)
    t = Target(manifest, files, kind, target, fits)
    if fmt == "trl":
        result = export_trl(t)
    elif fmt == "llamafactory":
        result = export_llamafactory(t, name)
    elif fmt == "verl":
        result = export_verl(t)
    else:
        result = export_openrlhf(t)
    vocab = manifest.vocab
    atomic_write_json(target / "vocabulary.json", vocab.to_json())
    limits = t.limits.to_json()
    atomic_write_json(target / SETTINGS, trainer_settings(fmt, limits, vocab, target, result))
    summary = {
        "format": fmt,
        "run_id": manifest.run_id,
        "split": kind,
        "preset": manifest.preset,
        "vocab_hash": vocab.hash,
        "functional_tokens": list(vocab.tokens),
        "limits": limits,
        **result,
        "files": [*result["files"], "vocabulary.json", SETTINGS],
    }
    atomic_write_json(target / "export.json", summary)
    return summary
