"""Functional tokens added to tokenizers built locally (no download): one id each."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from atlas_data.tokenizer import TokenizerError, add_functional_tokens, check_single_ids
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary

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
    assert set(DEFAULT_VOCABULARY.tokens) <= set(fast.all_special_tokens)
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
