"""Adding the functional-token vocabulary to a Hugging Face tokenizer.

A functional token only works as the paper intends if the trainee sees it as *one* token:
split into ``<``, ``|``, ``Manip``… it is just text, and the up-weighted loss on its span
(``token_spans``) lands on several sub-words. It must also survive decoding: verl's reward
managers and TRL's GRPO decode rollouts with ``skip_special_tokens=True``, which deletes
*special* tokens before the reward sees them. So :func:`add_functional_tokens` registers
every token of the vocabulary as a plain **added** token (one id, unnormalised, never
split, but not special) and checks both properties. It accepts a ``transformers``
tokenizer (4.x or 5.x) or a bare ``tokenizers.Tokenizer``. After adding, resize the
model's embeddings: ``model.resize_token_embeddings(len(tokenizer))``.
"""

from __future__ import annotations

import json
from typing import Any

from atlas_data.extras import require
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary, added_tokens

PROBE = "I zoom in.\n{token}\nNow it is legible."


class TokenizerError(ValueError):
    """The tokenizer cannot hold the vocabulary as single, decodable tokens."""


def _ids(tokenizer: Any, text: str) -> list[int]:
    encoded = tokenizer.encode(text, add_special_tokens=False)
    return list(encoded.ids if hasattr(encoded, "ids") else encoded)


def add_functional_tokens(tokenizer: Any, vocab: Vocabulary = DEFAULT_VOCABULARY) -> dict[str, int]:
    """Add ``vocab``'s tokens as plain added tokens; return ``{token: id}``. Idempotent."""
    AddedToken = require("tokenizers", "tokenizer").AddedToken  # noqa: N806 - a class

    if not hasattr(tokenizer, "add_tokens") or not hasattr(tokenizer, "encode"):
        raise TokenizerError(
            f"{type(tokenizer).__name__} is neither a transformers tokenizer nor a "
            "tokenizers.Tokenizer"
        )
    tokens = added_tokens(vocab)
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in tokens])
    _make_plain(tokenizer, {t for t in tokens if _dropped_by_decode(tokenizer, t)})
    return check_single_ids(tokenizer, vocab)


def _make_plain(tokenizer: Any, tokens: set[str]) -> None:
    """Turn tokens another tool registered as special (LLaMA-Factory's
    ``new_special_tokens_config``) into plain added tokens, keeping their ids."""
    if not tokens or not hasattr(tokenizer, "_tokenizer"):
        return  # nothing to do, or a bare tokenizer: check_single_ids says what is wrong
    from tokenizers import Tokenizer

    state = json.loads(tokenizer._tokenizer.to_str())
    for entry in state["added_tokens"]:
        if entry["content"] in tokens:
            entry["special"] = False
    tokenizer._tokenizer = Tokenizer.from_str(json.dumps(state))


def _dropped_by_decode(tokenizer: Any, token: str) -> bool:
    """Whether ``decode(..., skip_special_tokens=True)`` deletes ``token``: the property that
    matters, tested directly (a flag can say "not special" while decoding still drops it)."""
    ids = _ids(tokenizer, token)
    return len(ids) == 1 and token not in tokenizer.decode(ids, skip_special_tokens=True)


def check_single_ids(tokenizer: Any, vocab: Vocabulary = DEFAULT_VOCABULARY) -> dict[str, int]:
    """Every token must be one id, alone and inside a line, and must not be special."""
    out: dict[str, int] = {}
    for token in vocab.tokens:
        ids = _ids(tokenizer, token)
        if len(ids) != 1:
            raise TokenizerError(f"{token!r} encodes to {len(ids)} ids {ids}, not one")
        if ids[0] not in _ids(tokenizer, PROBE.format(token=token)):
            raise TokenizerError(f"{token!r} does not stay one token inside a sentence")
        if _dropped_by_decode(tokenizer, token):
            raise TokenizerError(
                f"{token!r} is registered as a special token, so decoding with "
                "skip_special_tokens=True (verl, TRL GRPO) deletes it before the reward sees "
                "it. Call add_functional_tokens(tokenizer) on a transformers tokenizer: it "
                "makes the token plain and keeps its id."
            )
        out[token] = ids[0]
    if len(set(out.values())) != len(out):
        raise TokenizerError(f"two tokens share an id: {out}")
    return out


def hf_added_tokens(vocab: Vocabulary = DEFAULT_VOCABULARY) -> dict[str, Any]:
    """What ``atlas-data tokens --format hf`` prints: the tokens, their meanings, how to add."""
    return {
        "added_tokens": added_tokens(vocab),
        "special": False,
        "meanings": vocab.meanings(),
        "vocab_hash": vocab.hash,
        "python": (
            "from atlas_data.train.tokenizer import add_functional_tokens; "
            "add_functional_tokens(tokenizer, vocab); "
            "model.resize_token_embeddings(len(tokenizer))"
        ),
    }
