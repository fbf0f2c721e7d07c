"""Which column of a record holds which field: the fields, the names tried for each, the
layouts, ``--map`` parsing, and reading a cell that holds JSON text."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

FIELDS = ("image", "question", "answer", "choices", "bbox", "points", "objects", "task")
REQUIRED = ("image", "question", "answer")

# Column names tried, in order, when a field is not mapped explicitly.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "image": ("image", "img", "images", "image_path", "image_file", "file_name", "path"),
    "question": ("question", "query", "prompt", "problem", "instruction"),
    "answer": ("answer", "label", "gt_answer", "solution", "answers", "target"),
    "choices": ("choices", "options", "candidates"),
    "bbox": ("bbox", "box", "boxes", "bboxes", "target_box", "target_bbox"),
    "points": ("points", "point", "keypoints", "coords", "coordinates"),
    "objects": ("objects", "distractors"),
    "task": ("task", "category", "type"),
}

# Layout presets: the fields a layout must have, on top of auto-detected column names.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "auto": (),
    "vqa": ("image", "question", "answer"),
    "mc": ("image", "question", "answer", "choices"),
    "grounded": ("image", "question", "answer", "bbox"),
}


def parse_map(value: Any) -> dict[str, str]:
    """``image=img,question=query`` (or a dict) → ``{"image": "img", ...}``."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        pairs = []
        for part in str(value).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ValueError(f"map entry {part!r} must look like field=column")
            k, v = part.split("=", 1)
            pairs.append((k.strip(), v.strip()))
    unknown = [k for k, _ in pairs if k not in FIELDS]
    if unknown:
        raise ValueError(f"map names unknown field(s) {unknown}; fields are {list(FIELDS)}")
    return dict(pairs)


def resolve_columns(
    available: Sequence[str], explicit: dict[str, str], layout: str
) -> dict[str, str]:
    """Field → column: explicit map first, then the first candidate name present."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}")
    cols = set(available)
    missing_mapped = {f: c for f, c in explicit.items() if c not in cols}
    if missing_mapped:
        raise ValueError(
            f"mapped column(s) {missing_mapped} not in the data; columns are {sorted(cols)}"
        )
    out = dict(explicit)
    for f in FIELDS:
        if f not in out:
            found = next((c for c in CANDIDATES[f] if c in cols and c not in out.values()), None)
            if found:
                out[f] = found
    need = set(REQUIRED) | set(LAYOUTS[layout])
    lacking = sorted(need - set(out))
    if lacking:
        raise ValueError(
            f"no column for {lacking}; columns are {sorted(cols)}. "
            f"Map them, e.g. map={','.join(f'{f}=COLUMN' for f in lacking)}"
        )
    return out


def maybe_json(value: Any) -> Any:
    """A cell's value, parsed when it is JSON text for a list or an object (CSV cells,
    JSON-encoded Parquet columns); any other value as it is."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
