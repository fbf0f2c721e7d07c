"""Functional tokens added to tokenizers built locally (no download): one id each."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary
from atlas_data.train.tokenizer import TokenizerError, add_functional_tokens, check_single_ids

CORPUS = ["I zoom in to read the small tag. Now it is legible.", "draw a line <| and |> here"] * 20


def _bpe() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=200, special_tokens=["[UNK]"]))
    return tok


def _wordlevel() -> Tokenizer:
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(CORPUS, trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    return tok


@pytest.mark.parametrize("build", [_bpe, _wordlevel])
def test_bare_tokenizers_get_one_id_per_token(build):
    tok = build()
    with pytest.raises(TokenizerError):  # before: split into pieces (or unknown)
        check_single_ids(tok)
    ids = add_functional_tokens(tok)
    assert list(ids) == list(DEFAULT_VOCABULARY.tokens) and len(set(ids.values())) == 5
    for token, i in ids.items():
        assert tok.encode(f"Zoom.\n{token}\nNow", add_special_tokens=False).ids.count(i) == 1
    assert add_functional_tokens(tok) == ids  # idempotent
    assert tok.get_vocab_size() == len(tok.get_vocab())


def test_transformers_fast_tokenizer_survives_save_and_reload(tmp_path):
    transformers = pytest.importorskip("transformers")
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=_bpe())
    before = len(fast)
    ids = add_functional_tokens(fast)
    assert len(fast) == before + 5
    assert not set(DEFAULT_VOCABULARY.tokens) & set(fast.all_special_tokens)
    fast.save_pretrained(tmp_path)
    again = transformers.PreTrainedTokenizerFast.from_pretrained(tmp_path)
    assert check_single_ids(again) == ids
    encoded = again.encode("Let me look.\n<|Arrow|>\nIt leads to B.", add_special_tokens=False)
    assert encoded.count(ids["<|Arrow|>"]) == 1
    assert again.convert_ids_to_tokens(ids["<|Arrow|>"]) == "<|Arrow|>"


def test_custom_vocabulary_spellings_are_added(tmp_path):
    doc = DEFAULT_VOCABULARY.to_json()
    for op in doc["operations"]:
        op["token"] = f"[{op['category'].upper()}]"
    vocab = Vocabulary.from_json(json.loads(json.dumps(doc)))
    tok = _bpe()
    ids = add_functional_tokens(tok, vocab)
    assert sorted(ids) == sorted(set(vocab.tokens)) and "<|Manip|>" not in ids


def test_unsupported_object_is_refused():
    class NotATokenizer:
        def add_special_tokens(self, things):  # no transformers/tokenizers signature
            return 0

    with pytest.raises(TokenizerError, match="neither"):
        add_functional_tokens(NotATokenizer())


def _chat_tokenizer():
    """A transformers tokenizer with a chat end token, as Qwen's: special, skipped on decode."""
    transformers = pytest.importorskip("transformers")
    from tokenizers import decoders

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()  # every byte, newline included
    tok.train_from_iterator(
        CORPUS,
        trainers.BpeTrainer(
            vocab_size=300, initial_alphabet=alphabet, special_tokens=["<|im_end|>"]
        ),
    )
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>")


def test_tokens_survive_decoding_that_skips_special_tokens():
    fast = _chat_tokenizer()
    add_functional_tokens(fast)
    text = "I zoom in.\n<|Manip|>\nNow it is legible.<|im_end|>"
    ids = fast.encode(text, add_special_tokens=False)
    assert fast.decode(ids, skip_special_tokens=True) == text.removesuffix("<|im_end|>")
    assert fast.decode(ids, skip_special_tokens=False) == text


def test_tokens_another_tool_made_special_are_refused_then_repaired(tmp_path):
    """LLaMA-Factory's new_special_tokens_config registers tokens as special: decoding for a
    reward would delete them. The check refuses such a tokenizer; adding repairs it."""
    fast = _chat_tokenizer()
    fast.add_tokens(list(DEFAULT_VOCABULARY.tokens), special_tokens=True)
    ids = fast.encode("Look.\n<|Line|>\nIt meets 15.", add_special_tokens=False)
    assert "<|Line|>" not in fast.decode(ids, skip_special_tokens=True)
    with pytest.raises(TokenizerError, match="special"):
        check_single_ids(fast)
    before = {t: fast.convert_tokens_to_ids(t) for t in DEFAULT_VOCABULARY.tokens}
    assert add_functional_tokens(fast) == before  # same ids: trained embeddings still apply
    assert fast.decode(ids, skip_special_tokens=True) == "Look.\n<|Line|>\nIt meets 15."
    fast.save_pretrained(tmp_path)
    again = type(fast).from_pretrained(tmp_path)
    assert check_single_ids(again) == before
