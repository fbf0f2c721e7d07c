"""Trainer-ready exports of a finished run: TRL, LLaMA-Factory and verl.

Each exporter streams the run shard by shard (one Parquet batch in memory at a time) and
writes its output to temporary names that are renamed at the end, so an interrupted export
never leaves a file a trainer could half-read. The preset and the vocabulary come from the
run's manifest: an export of a custom-vocabulary run carries only that run's spellings.

Formats (all rows also keep ``id`` and the character spans of functional tokens in the
assistant text, for up-weighting them in the loss):

``trl``           ``train.parquet``: ``messages`` with content parts (``{"type": "image"}``,
                  ``{"type": "text", "text": ...}``) and an ``images`` column (SFTTrainer).
``llamafactory``  ``<name>.jsonl`` (sharegpt ``messages`` with ``<image>`` placeholders and
                  ``images`` paths relative to the folder), ``images/``, ``dataset_info.json``.
``verl``          ``train.parquet``: ``data_source``, ``prompt``, ``images``, ``ability``,
                  ``reward_model {style, ground_truth}``, ``extra_info`` (index, preset,
                  vocabulary, reference and its token spans) — read by
                  :func:`atlas_data.rewards.compute_score`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from atlas_data.store.schemas import IMAGE, MESSAGE, SPAN, with_hf_metadata
from atlas_data.store.writer import MANIFEST, RunDir, atomic_write_bytes, atomic_write_json
from atlas_data.tokens import Vocabulary
from atlas_data.trajectory import IMAGE_PLACEHOLDER

FORMATS = ("trl", "llamafactory", "verl")
# The split each trainer wants first; the other one is used when a run has only that.
PREFERRED = {"trl": ("sft", "rl"), "llamafactory": ("sft", "rl"), "verl": ("rl", "sft")}
BATCH_ROWS = 64

PART = pa.struct([("type", pa.string()), ("text", pa.string())])
TRL = pa.schema(
    [
        ("id", pa.string()),
        ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.list_(PART))]))),
        ("images", pa.list_(IMAGE)),
        ("token_spans", pa.list_(SPAN)),  # within messages[-1].content[0].text
        ("task", pa.string()),
        ("answer", pa.string()),
    ]
)
VERL = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(MESSAGE)),
        ("images", pa.list_(IMAGE)),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        (
            "extra_info",
            pa.struct(
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
            ),
        ),
    ]
)


class ExportError(ValueError):
    """A run that cannot be exported; the message says what to do."""


@dataclass(frozen=True)
class RunInfo:
    """A finished run as the exporters read it: its folder and its manifest."""

    run: RunDir
    manifest: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    @property
    def preset(self) -> str:
        return str(self.manifest.get("preset", "atlas"))

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary.of_manifest(self.manifest)

    def files(self, kind: str) -> list[Path]:
        return self.run.parquet_files([kind])


def open_run(run_dir: str | Path) -> RunInfo:
    run = RunDir(Path(run_dir))
    manifest = run.manifest()
    if manifest is None:
        raise ExportError(
            f"{run.root} has no {MANIFEST}: not a run folder, or the run did not finish "
            "(rerun `atlas-data run` with the same options to complete it)"
        )
    return RunInfo(run, manifest)


def pick_split(run: RunInfo, fmt: str) -> str:
    for kind in PREFERRED[fmt]:
        if run.files(kind):
            return kind
    raise ExportError(f"run {run.run_id} has no kept rows in sft/ or rl/ to export")


@dataclass
class Example:
    """What every format needs, read from either an SFT or an RL row."""

    row: dict[str, Any]
    prompt: str
    response: str
    spans: list[dict[str, Any]]


def examples(run: RunInfo, kind: str) -> Iterator[Example]:
    """Rows of one split, shard by shard, one batch in memory at a time."""
    for path in run.files(kind):
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
    """``<image>\\nQuestion`` → ``[{"type": "image"}, {"type": "text", "text": "Question"}]``."""
    parts: list[dict[str, Any]] = []
    chunks = prompt.split(IMAGE_PLACEHOLDER)
    for k, chunk in enumerate(chunks):
        if k:
            parts.append({"type": "image", "text": None})
        text = chunk.strip("\n")
        if text:
            parts.append({"type": "text", "text": text})
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


def export_trl(run: RunInfo, kind: str, out: Path) -> dict[str, Any]:
    sink = _ParquetOut(out / "train.parquet", TRL)
    for ex in examples(run, kind):
        sink.add(
            {
                "id": ex.row["id"],
                "messages": [
                    {"role": "user", "content": content_parts(ex.prompt)},
                    {"role": "assistant", "content": [{"type": "text", "text": ex.response}]},
                ],
                "images": ex.row["images"],
                "token_spans": ex.spans,
                "task": ex.row["task"],
                "answer": ex.row["answer"],
            }
        )
    sink.close()
    return {"rows": sink.count, "files": ["train.parquet"]}


def _dataset_name(run: RunInfo) -> str:
    return "atlas_" + re.sub(r"\W+", "_", run.run_id).strip("_")


def export_llamafactory(
    run: RunInfo, kind: str, out: Path, name: str | None = None
) -> dict[str, Any]:
    name = name or _dataset_name(run)
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    data = out / f"{name}.jsonl"
    tmp = data.with_name(f".{data.name}.tmp-{os.getpid()}")
    count = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for ex in examples(run, kind):
            paths = []
            for k, img in enumerate(ex.row["images"]):
                ext = Path(img.get("path") or "x.png").suffix or ".png"  # png, jpg or webp
                rel = f"images/{ex.row['id']}-{k}{ext}"
                target = out / rel
                if not target.exists():  # atomic: a cut-short export leaves no half image
                    atomic_write_bytes(target, img["bytes"])
                paths.append(rel)
            record = {
                "id": ex.row["id"],
                "messages": [
                    {"role": "user", "content": ex.prompt},
                    {"role": "assistant", "content": ex.response},
                ],
                "images": paths,
                "token_spans": ex.spans,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    os.replace(tmp, data)
    info_path = out / "dataset_info.json"
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
    return {"rows": count, "files": [data.name, "dataset_info.json", "images/"], "name": name}


def export_verl(run: RunInfo, kind: str, out: Path) -> dict[str, Any]:
    sink = _ParquetOut(out / "train.parquet", VERL)
    vocab = run.vocab
    vocab_json = json.dumps(vocab.to_json(), sort_keys=True, ensure_ascii=False)
    for index, ex in enumerate(examples(run, kind)):
        row = ex.row
        sink.add(
            {
                "data_source": row.get("data_source") or f"atlas-data/{row['source']}",
                "prompt": [{"role": "user", "content": ex.prompt}],
                "images": row["images"],
                "ability": row.get("ability") or row["task"],
                "reward_model": {"style": "rule", "ground_truth": row["answer"]},
                "extra_info": {
                    "index": index,
                    "id": row["id"],
                    "split": "train",
                    "question": row["question"],
                    "answer": row["answer"],
                    "choices": row["choices"],
                    "preset": row["preset"] or run.preset,
                    "vocab": vocab_json,
                    "vocab_hash": vocab.hash,
                    "reference": ex.response,
                    "reference_token_spans": ex.spans,
                    "reference_token_count": len(ex.spans),
                },
            }
        )
    sink.close()
    return {"rows": sink.count, "files": ["train.parquet"]}


def export_run(
    run_dir: str | Path, fmt: str, out: str | Path, name: str | None = None
) -> dict[str, Any]:
    """Export a finished run in one trainer's format; returns a summary (also ``export.json``)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    run = open_run(run_dir)
    kind = pick_split(run, fmt)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    if fmt == "trl":
        result = export_trl(run, kind, target)
    elif fmt == "llamafactory":
        result = export_llamafactory(run, kind, target, name)
    else:
        result = export_verl(run, kind, target)
    vocab = run.vocab
    atomic_write_json(target / "vocabulary.json", vocab.to_json())
    summary = {
        "format": fmt,
        "run_id": run.run_id,
        "split": kind,
        "preset": run.preset,
        "vocab_hash": vocab.hash,
        "functional_tokens": list(vocab.tokens),
        **result,
    }
    atomic_write_json(target / "export.json", summary)
    return summary
