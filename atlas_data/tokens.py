"""The functional-token vocabulary: the one source of truth for token spellings.

Every renderer, verifier, reward and exporter asks a :class:`Vocabulary` for spellings;
no other module writes a token literal. The default is the ATLAS paper's five bare
tokens, in the paper's order. A user vocabulary (other spellings, more operations) is a
JSON file of the same shape as ``schemas/functional_tokens.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

_POINT = {
    "type": "array",
    "items": {"type": "number"},
    "minItems": 2,
    "maxItems": 2,
    "description": "[x, y] in source-image pixels",
}
_BOX = {
    "type": "array",
    "items": {"type": "number"},
    "minItems": 4,
    "maxItems": 4,
    "description": "[x0, y0, x1, y1] in source-image pixels, x0 < x1, y0 < y1",
}
_COLOR = {"type": "string", "description": "colour name or #rrggbb", "default": "red"}


def _params(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class OperationSpec:
    """One visual operation and the functional token that stands for it."""

    name: str
    token: str
    category: str
    meaning: str
    params: dict[str, Any] = field(hash=False, compare=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "token": self.token,
            "category": self.category,
            "meaning": self.meaning,
            "params": self.params,
        }


class VocabularyError(ValueError):
    """A vocabulary file that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Vocabulary:
    """An ordered set of operations, each mapped to a (possibly shared) token."""

    name: str
    operations: tuple[OperationSpec, ...]

    def __post_init__(self) -> None:
        names = [op.name for op in self.operations]
        if len(set(names)) != len(names):
            raise VocabularyError(f"vocabulary {self.name!r}: operation names repeat: {names}")
        for op in self.operations:
            if not op.token or any(ch.isspace() for ch in op.token):
                raise VocabularyError(
                    f"operation {op.name!r}: token {op.token!r} must be one non-empty word "
                    "with no whitespace"
                )

    @cached_property
    def by_name(self) -> dict[str, OperationSpec]:
        return {op.name: op for op in self.operations}

    def spec(self, operation: str) -> OperationSpec:
        try:
            return self.by_name[operation]
        except KeyError:
            known = ", ".join(self.by_name)
            raise VocabularyError(
                f"operation {operation!r} is not in vocabulary {self.name!r} (known: {known})"
            ) from None

    def token_for(self, operation: str) -> str:
        return self.spec(operation).token

    @cached_property
    def tokens(self) -> tuple[str, ...]:
        """Distinct tokens in first-appearance order."""
        return tuple(dict.fromkeys(op.token for op in self.operations))

    @cached_property
    def token_pattern(self) -> re.Pattern[str]:
        """Matches any token of this vocabulary (longest first, so prefixes cannot win)."""
        alternatives = sorted(self.tokens, key=len, reverse=True)
        return re.compile("|".join(re.escape(t) for t in alternatives))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tokens": list(self.tokens),
            "operations": [op.to_json() for op in self.operations],
        }

    @cached_property
    def hash(self) -> str:
        """Content hash recorded in manifests: two runs with equal hashes share spellings."""
        blob = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vocabulary:
        try:
            ops = tuple(
                OperationSpec(
                    name=str(o["name"]),
                    token=str(o["token"]),
                    category=str(o.get("category", "")),
                    meaning=str(o.get("meaning", "")),
                    params=dict(o.get("params") or DEFAULT_VOCABULARY.spec(o["name"]).params),
                )
                for o in data["operations"]
            )
        except (KeyError, TypeError) as exc:
            raise VocabularyError(
                f"vocabulary JSON needs 'operations': a list of objects with 'name' and "
                f"'token' ({exc!r})"
            ) from exc
        return cls(name=str(data.get("name", "custom")), operations=ops)

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise VocabularyError(f"cannot read vocabulary file {path}: {exc}") from exc
        return cls.from_json(data)


DEFAULT_VOCABULARY = Vocabulary(
    name="atlas",
    operations=(
        OperationSpec(
            name="zoom",
            token="<|Manip|>",
            category="manipulation",
            meaning="Crop a box of the image and magnify it (factor 1 is a plain crop).",
            params=_params(
                {"box": _BOX},
                {"factor": {"type": "number", "minimum": 1, "maximum": 8, "default": 2}},
            ),
        ),
        OperationSpec(
            name="aux_line",
            token="<|Line|>",
            category="line",
            meaning="Draw an auxiliary straight line between two points.",
            params=_params(
                {"start": _POINT, "end": _POINT},
                {"color": _COLOR, "width": {"type": "integer", "minimum": 1, "maximum": 32}},
            ),
        ),
        OperationSpec(
            name="arrow",
            token="<|Arrow|>",
            category="arrow",
            meaning="Draw an arrow from one point towards another to follow a direction.",
            params=_params(
                {"start": _POINT, "end": _POINT},
                {
                    "color": _COLOR,
                    "width": {"type": "integer", "minimum": 1, "maximum": 32},
                    "head": {"type": "number", "minimum": 2, "maximum": 128},
                },
            ),
        ),
        OperationSpec(
            name="box",
            token="<|Shape|>",
            category="shape",
            meaning="Draw a rectangle around a region to localise it.",
            params=_params(
                {"box": _BOX},
                {"color": _COLOR, "width": {"type": "integer", "minimum": 1, "maximum": 32}},
            ),
        ),
        OperationSpec(
            name="point_mark",
            token="<|Text|>",
            category="text",
            meaning="Mark and number one or more points, e.g. the objects being counted.",
            params=_params(
                {"points": {"type": "array", "items": _POINT, "minItems": 1, "maxItems": 256}},
                {"color": _COLOR, "numbered": {"type": "boolean", "default": True}},
            ),
        ),
        OperationSpec(
            name="text_label",
            token="<|Text|>",
            category="text",
            meaning="Write a short label (a name, a length) at a position.",
            params=_params(
                {"position": _POINT, "text": {"type": "string", "minLength": 1, "maxLength": 64}},
                {"color": _COLOR},
            ),
        ),
    ),
)


def additional_special_tokens(vocab: Vocabulary = DEFAULT_VOCABULARY) -> list[str]:
    """The list to pass as a tokenizer's ``additional_special_tokens``."""
    return list(vocab.tokens)
