"""The functional-token vocabulary: the one source of truth for token spellings.

Every renderer, verifier, reward and exporter asks a :class:`Vocabulary` for spellings;
no other module writes a token literal. The default is the ATLAS paper's five bare
tokens, in the paper's order, each standing for the operations of its category (every
operation spec in ``atlas_data/ops`` names its category). A user vocabulary (other
spellings, more operations) is a JSON file shaped like ``schemas/functional_tokens.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

# The paper's five tokens, by the category of operations each stands for (paper order).
PAPER_TOKENS = {
    "manipulation": "<|Manip|>",
    "line": "<|Line|>",
    "arrow": "<|Arrow|>",
    "shape": "<|Shape|>",
    "text": "<|Text|>",
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

    def meanings(self) -> dict[str, str]:
        """``{token: what it stands for}``: the meanings of the operations it covers, joined.

        LLaMA-Factory's ``new_special_tokens_config`` reads this shape to initialise each new
        embedding from its description.
        """
        out: dict[str, list[str]] = {}
        for op in self.operations:
            out.setdefault(op.token, []).append(op.meaning.rstrip("."))
        return {token: "; ".join(parts) + "." for token, parts in out.items()}

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
                    params=dict(o.get("params") or default_vocabulary().spec(o["name"]).params),
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
    def of_manifest(cls, manifest: dict[str, Any] | None) -> Vocabulary:
        """The vocabulary a run was written with (the default for a run that records none)."""
        doc = (manifest or {}).get("vocabulary")
        return cls.from_json(doc) if doc else default_vocabulary()

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise VocabularyError(f"cannot read vocabulary file {path}: {exc}") from exc
        return cls.from_json(data)


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """Every operation in ``atlas_data/ops`` under the paper token of its category.

    Built on first use: the operations need Pillow, and a reward worker that only reads
    spellings (``atlas_data.train.rewards``) must import this module without it.
    """
    from atlas_data.ops import specs

    return Vocabulary(
        name="atlas",
        operations=tuple(
            OperationSpec(s.name, PAPER_TOKENS[s.category], s.category, s.meaning, s.schema())
            for s in specs().values()
        ),
    )


DEFAULT_VOCABULARY: Vocabulary  # = default_vocabulary(), made on first access


def __getattr__(name: str) -> Any:
    if name == "DEFAULT_VOCABULARY":
        return default_vocabulary()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def added_tokens(vocab: Vocabulary | None = None) -> list[str]:
    """The tokens to add to a tokenizer (as plain added tokens, not special ones)."""
    return list((vocab or default_vocabulary()).tokens)
