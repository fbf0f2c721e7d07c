"""Training helpers: functional-token positions, and the paper's LA-GRPO objective.

:func:`functional_token_mask` needs only a fast tokenizer; :class:`LAGRPOTrainer` needs
the ``train`` extra (TRL, torch) and is imported on first use, so the mask works in any
environment that can tokenize.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["LAGRPOTrainer", "SpanError", "functional_token_mask"]


class SpanError(ValueError):
    """A token span that does not land on exactly one token of the tokenizer."""


def functional_token_mask(
    tokenizer: Any, text: str, spans: Iterable[Mapping[str, Any]], offset: int = 0
) -> list[bool]:
    """One flag per token of ``text``: True where a functional token sits.

    ``spans`` are the export's ``token_spans`` (character ``start``/``end`` in the assistant
    text); ``offset`` is where that assistant text starts inside ``text`` (for example
    ``text.index(completion)`` when ``text`` is the whole rendered chat). Character spans
    become token positions through the tokenizer's offset mapping; a span that covers
    more or fewer than one token is an error (add the tokens first:
    :func:`atlas_data.train.tokenizer.add_functional_tokens`).
    """
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = encoded["offset_mapping"]
    mask = [False] * len(offsets)
    for span in spans:
        start, end = int(span["start"]) + offset, int(span["end"]) + offset
        if text[start:end] != span.get("token", text[start:end]):
            raise SpanError(f"span {start}:{end} is {text[start:end]!r}, not {span['token']!r}")
        hits = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
        if len(hits) != 1:
            raise SpanError(
                f"{text[start:end]!r} at {start}:{end} covers {len(hits)} tokens, not one: "
                "add the functional tokens to the tokenizer (add_functional_tokens)"
            )
        mask[hits[0]] = True
    return mask


def __getattr__(name: str) -> Any:
    if name == "LAGRPOTrainer":
        from atlas_data.extras import require

        for module in ("torch", "trl"):
            require(module, "train")
        from atlas_data.train.la_grpo import LAGRPOTrainer

        return LAGRPOTrainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
