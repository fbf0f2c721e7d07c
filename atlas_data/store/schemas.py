"""Row schemas, each defined once as a pyarrow schema and exported to ``schemas/*.json``.

Images follow the Hugging Face ``Image`` convention (a ``{bytes, path}`` struct), and every
schema carries ``huggingface`` feature metadata so ``datasets`` decodes image columns to PIL
images straight from the Parquet files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 2

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
OPERATION = pa.struct(
    [
        ("name", pa.string()),
        ("token", pa.string()),
        ("params", pa.string()),  # JSON, source-image pixel coordinates
        ("judge", pa.string()),
        ("helpful", pa.bool_()),
        ("score", pa.float64()),
        ("evidence", pa.string()),  # JSON: what each judge measured and saw, and why
        ("proposer", pa.string()),  # boxes | scan | text | salient | grounding
        ("frame", pa.string()),  # JSON: the canvas it ran on (size, origin, scale)
    ]
)
SPAN = pa.struct(
    [("token", pa.string()), ("operation", pa.string()), ("start", pa.int32()), ("end", pa.int32())]
)
IMAGE_COLUMNS = {"images", "observations"}
REJECTIONS_DOC = "rejections.md"  # generated into docs/ by `atlas-data schemas`

_COMMON = [
    ("id", pa.string()),
    ("run_id", pa.string()),
    ("task", pa.string()),
    ("source", pa.string()),
    ("question", pa.string()),
    ("answer", pa.string()),
    ("choices", pa.list_(pa.string())),
    ("preset", pa.string()),
    ("vocab_hash", pa.string()),
    ("images", pa.list_(IMAGE)),  # the sample's input images, in order (Image 1..N)
    ("operations", pa.list_(OPERATION)),
    ("tokens", pa.list_(pa.string())),  # functional tokens in order of use
    ("direct", pa.bool_()),  # no operation: the answer needed none (a judge verified it)
]

SFT = pa.schema(
    _COMMON
    + [
        ("observations", pa.list_(IMAGE)),  # one result image per operation (agentic form)
        ("messages", pa.list_(MESSAGE)),  # functional-token form: user, assistant
        ("agentic_messages", pa.list_(MESSAGE)),  # explicit calls + tool turns with images
        ("text", pa.string()),  # the assistant turn in functional-token form
        ("agentic_text", pa.string()),
        ("token_spans", pa.list_(SPAN)),  # character spans of tokens within `text`
        ("teacher", pa.string()),
    ]
)

RL = pa.schema(
    _COMMON
    + [
        ("data_source", pa.string()),
        ("ability", pa.string()),
        ("prompt", pa.list_(MESSAGE)),
        ("reference", pa.string()),  # a verified functional-token trajectory
        ("reference_token_spans", pa.list_(SPAN)),
    ]
)

REJECTS = pa.schema(
    [
        ("id", pa.string()),
        ("run_id", pa.string()),
        ("task", pa.string()),
        ("source", pa.string()),
        ("stage", pa.string()),  # rejections.STAGES: load, filter, explore, teach, verify, dedup
        ("reason", pa.string()),  # a stable short code, e.g. answer_mismatch
        ("detail", pa.string()),
        ("question", pa.string()),
        ("raw", pa.string()),  # raw teacher text, when there was one
        ("operations", pa.list_(OPERATION)),  # the best candidates tried, with verdicts
    ]
)

ROW_SCHEMAS: dict[str, pa.Schema] = {"sft": SFT, "rl": RL, "rejects": REJECTS}


def _feature(name: str, t: pa.DataType) -> Any:
    if name in IMAGE_COLUMNS and pa.types.is_list(t):
        return {"_type": "List", "feature": {"_type": "Image"}}
    if pa.types.is_list(t):
        return {"_type": "List", "feature": _feature("", t.value_type)}
    if pa.types.is_struct(t):
        return {
            t.field(i).name: _feature(t.field(i).name, t.field(i).type) for i in range(t.num_fields)
        }
    dtype = {"bool": "bool", "double": "float64", "binary": "binary"}.get(str(t), str(t))
    return {"dtype": dtype, "_type": "Value"}


def hf_features(schema: pa.Schema) -> dict[str, Any]:
    """The ``datasets`` Features dict for a schema (image columns as ``Image``)."""
    return {f.name: _feature(f.name, f.type) for f in schema}


def with_hf_metadata(schema: pa.Schema) -> pa.Schema:
    meta = {"info": {"features": hf_features(schema)}}
    return schema.with_metadata({b"huggingface": json.dumps(meta).encode()})


def schema_hash(schema: pa.Schema) -> str:
    return hashlib.sha256(str(schema.remove_metadata()).encode()).hexdigest()[:16]


def _json_type(t: pa.DataType) -> dict[str, Any]:
    if pa.types.is_list(t):
        return {"type": "array", "items": _json_type(t.value_type)}
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        return {
            "type": "object",
            "properties": {f.name: _json_type(f.type) for f in fields},
            "required": [f.name for f in fields],
        }
    if pa.types.is_string(t):
        return {"type": ["string", "null"]}
    if pa.types.is_binary(t):
        return {"type": ["string", "null"], "contentEncoding": "base64"}
    if pa.types.is_boolean(t):
        return {"type": "boolean"}
    if pa.types.is_integer(t):
        return {"type": "integer"}
    return {"type": "number"}


def json_schema(kind: str) -> dict[str, Any]:
    """JSON Schema of one row type, as checked in under ``schemas/``. A rejection row's
    ``stage`` and ``reason`` are enumerations from the catalogue of reasons."""
    from atlas_data.rejections import CATALOGUE, STAGES

    body = _json_type(pa.struct(list(ROW_SCHEMAS[kind])))
    if kind == "rejects":
        body["properties"]["stage"] = {"enum": list(STAGES)}
        body["properties"]["reason"] = {"enum": sorted(CATALOGUE)}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"atlas-data {kind} row",
        "x-schema-version": SCHEMA_VERSION,
        "x-arrow-hash": schema_hash(ROW_SCHEMAS[kind]),
        **body,
    }


def export_all(directory: Path, docs_dir: Path | None = None) -> list[Path]:
    """Write every generated file: the schemas into ``directory`` and, when given, the table
    of rejection reasons into ``docs_dir``; the drift test compares them with the repo."""
    from atlas_data.rejections import docs_table
    from atlas_data.tokens import DEFAULT_VOCABULARY

    directory.mkdir(parents=True, exist_ok=True)
    docs: dict[str, Any] = {f"{k}_row.json": json_schema(k) for k in ROW_SCHEMAS}
    docs["functional_tokens.json"] = DEFAULT_VOCABULARY.to_json()
    texts = {
        directory / name: json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        for name, doc in docs.items()
    }
    if docs_dir is not None:
        texts[docs_dir / REJECTIONS_DOC] = docs_table()
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(texts)
