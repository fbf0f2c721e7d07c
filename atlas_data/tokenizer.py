"""Adding the functional-token vocabulary to a Hugging Face tokenizer.

A functional token only works as the paper intends if the trainee sees it as *one* token:
split into ``<``, ``|``, ``Manip``… it is just text, and the up-weighted loss on its span
(``token_spans``) lands on several sub-words. :func:`add_functional_tokens` registers
every token of the vocabulary as a special token, unnormalised, and checks that each one
now encodes to exactly one id. It accepts a ``transformers`` tokenizer (4.x
``additional_special_tokens`` or 5.x ``extra_special_tokens``) or a bare
``tokenizers.Tokenizer``. After adding, resize the model's embeddings:
``model.resize_token_embeddings(len(tokenizer))``.
"""

from __future__ import annotations

import inspect
from typing import Any

from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary, additional_special_tokens


class TokenizerError(ValueError):
    """The tokenizer cannot hold the vocabulary as single tokens."""


def _added_tokens(tokens: list[str]) -> list[Any]:
    from tokenizers import AddedToken

    return [AddedToken(t, special=True, normalized=False, single_word=False) for t in tokens]


def _ids(tokenizer: Any, text: str) -> list[int]:
    encoded = tokenizer.encode(text, add_special_tokens=False)
    return list(encoded.ids if hasattr(encoded, "ids") else encoded)


def add_functional_tokens(tokenizer: Any, vocab: Vocabulary = DEFAULT_VOCABULARY) -> dict[str, int]:
    """Add ``vocab``'s tokens as special tokens; return ``{token: id}``. Idempotent."""
    tokens = additional_special_tokens(vocab)
    params = inspect.signature(tokenizer.add_special_tokens).parameters
    added = _added_tokens(tokens)
    if "replace_extra_special_tokens" in params:  # transformers >= 5
        tokenizer.add_special_tokens(
            {"extra_special_tokens": added}, replace_extra_special_tokens=False
        )
    elif "replace_additional_special_tokens" in params:  # transformers 4.x
        tokenizer.add_special_tokens(
            {"additional_special_tokens": added}, replace_additional_special_tokens=False
        )
    elif hasattr(tokenizer, "token_to_id"):  # a bare tokenizers.Tokenizer
        tokenizer.add_special_tokens(added)
    else:
        raise TokenizerError(
            f"{type(tokenizer).__name__} is neither a transformers tokenizer nor a "
            "tokenizers.Tokenizer"
        )
    return check_single_ids(tokenizer, vocab)


def check_single_ids(tokenizer: Any, vocab: Vocabulary = DEFAULT_VOCABULARY) -> dict[str, int]:
    """Every token must encode to exactly one id, alone and inside a trajectory line."""
    out: dict[str, int] = {}
    for token in vocab.tokens:
        ids = _ids(tokenizer, token)
        if len(ids) != 1:
            raise TokenizerError(f"{token!r} encodes to {len(ids)} ids {ids}, not one")
        in_context = _ids(tokenizer, f"I zoom in.\n{token}\nNow it is legible.")
        if ids[0] not in in_context:
            raise TokenizerError(f"{token!r} does not stay one token inside a sentence")
        out[token] = ids[0]
    if len(set(out.values())) != len(out):
        raise TokenizerError(f"two tokens share an id: {out}")
    return out


def hf_special_tokens(vocab: Vocabulary = DEFAULT_VOCABULARY) -> dict[str, Any]:
    """What ``atlas-data tokens --format hf`` prints: the list and how to add it."""
    tokens = additional_special_tokens(vocab)
    return {
        "additional_special_tokens": tokens,
        "vocab_hash": vocab.hash,
        "python": (
            "from atlas_data.tokenizer import add_functional_tokens; "
            "add_functional_tokens(tokenizer, vocab); "
            "model.resize_token_embeddings(len(tokenizer))"
        ),
    }
