import json
from pathlib import Path

import pytest

from atlas_data.store.schemas import export_all
from atlas_data.tokens import (
    DEFAULT_VOCABULARY,
    Vocabulary,
    VocabularyError,
    added_tokens,
)

REPO = Path(__file__).resolve().parents[1]
PAPER_TOKENS = ["<|Manip|>", "<|Line|>", "<|Arrow|>", "<|Shape|>", "<|Text|>"]


def test_default_vocabulary_is_the_papers_five_tokens_in_order():
    assert list(DEFAULT_VOCABULARY.tokens) == PAPER_TOKENS
    assert added_tokens() == PAPER_TOKENS
    cats = {op.token: op.category for op in DEFAULT_VOCABULARY.operations}
    assert cats == {
        "<|Manip|>": "manipulation",
        "<|Line|>": "line",
        "<|Arrow|>": "arrow",
        "<|Shape|>": "shape",
        "<|Text|>": "text",
    }


def test_every_operation_has_an_implementation_and_param_schema():
    from atlas_data.ops import specs

    for op in DEFAULT_VOCABULARY.operations:
        assert op.name in specs()
        assert op.params["type"] == "object" and op.params["properties"]
        assert set(op.params["required"]) <= set(op.params["properties"])


def test_checked_in_schemas_match_the_code(tmp_path):
    """Regenerate every generated file and compare: a drift fails with the file's name."""
    for path in export_all(tmp_path / "schemas", tmp_path / "docs"):
        checked_in = REPO / path.relative_to(tmp_path)
        assert checked_in.exists(), f"{checked_in} missing: run `atlas-data schemas`"
        assert checked_in.read_text() == path.read_text(), (
            f"{checked_in} drifted from the code: run `atlas-data schemas`"
        )


def test_custom_vocabulary_round_trips_and_changes_hash(tmp_path):
    data = DEFAULT_VOCABULARY.to_json()
    for op in data["operations"]:
        op["token"] = "[" + op["name"].upper() + "]"
    path = tmp_path / "v.json"
    path.write_text(json.dumps(data))
    v = Vocabulary.load(path)
    assert v.token_for("zoom") == "[ZOOM]"
    assert v.hash != DEFAULT_VOCABULARY.hash
    assert v.token_pattern.findall("a [ZOOM] b [BOX]") == ["[ZOOM]", "[BOX]"]


@pytest.mark.parametrize(
    "ops",
    [
        [{"name": "zoom", "token": "two words"}],
        [{"name": "zoom", "token": "<a>"}, {"name": "zoom", "token": "<b>"}],
        [{"token": "<a>"}],
    ],
)
def test_bad_vocabularies_are_refused_with_a_clear_error(ops):
    with pytest.raises(VocabularyError):
        Vocabulary.from_json({"operations": ops})
