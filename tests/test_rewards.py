"""The RL reward on a real run's verified trajectories and on corrupted copies of them."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from atlas_data.config import RunConfig
from atlas_data.run.driver import run
from atlas_data.store.export import export_run
from atlas_data.tokens import DEFAULT_VOCABULARY
from atlas_data.train.rewards import RewardWeights, compute_score, score
from tests.runs import run_folder


def _rows(tmp_path_factory, preset: str) -> list[dict]:
    base = tmp_path_factory.mktemp(preset)
    families = {"families": "small_text,counting,odd_one,geometry,direction"}  # all need tokens
    config = RunConfig(
        split="rl", n=10, seed=3, preset=preset, source_options=families, out=str(base / "runs")
    )
    run(config)
    export_run(run_folder(config), "verl", base / "verl")
    return pq.read_table(base / "verl" / "train.parquet").drop_columns(["images"]).to_pylist()


@pytest.fixture(scope="module")
def atlas_rows(tmp_path_factory) -> list[dict]:
    return _rows(tmp_path_factory, "atlas")


@pytest.fixture(scope="module")
def think_rows(tmp_path_factory) -> list[dict]:
    return _rows(tmp_path_factory, "think-answer")


def _score(row: dict, text: str) -> dict:
    return compute_score(
        row["data_source"], text, row["reward_model"]["ground_truth"], row["extra_info"]
    )


def _wrong(text: str, preset: str) -> str:
    if preset == "atlas":
        return re.sub(r"\\boxed\{[^}]*\}", r"\\boxed{definitely wrong}", text)
    return re.sub(r"<answer>.*</answer>", "<answer>definitely wrong</answer>", text, flags=re.S)


def _without_tokens(text: str) -> str:
    return re.sub(r"\n?" + DEFAULT_VOCABULARY.token_pattern.pattern + r"\n?", "\n", text)


@pytest.mark.parametrize("preset", ["atlas", "think-answer"])
def test_verified_trajectories_score_high_and_each_corruption_lower(atlas_rows, think_rows, preset):
    rows = atlas_rows if preset == "atlas" else think_rows
    assert len(rows) >= 6
    good = [_score(r, r["extra_info"]["reference"]) for r in rows]
    assert sum(g["score"] for g in good) / len(good) > 0.9
    assert all(g["acc"] == 1 and g["format"] == 1 and g["token_use"] == 1 for g in good)
    for row, g in zip(rows, good, strict=True):
        ref = row["extra_info"]["reference"]
        token = row["extra_info"]["reference_token_spans"][0]["token"]
        wrong = _score(row, _wrong(ref, preset))
        assert wrong["acc"] == 0 and wrong["score"] <= 0.2
        no_tokens = _score(row, _without_tokens(ref))
        assert no_tokens["acc"] == 1 and no_tokens["token_use"] == 0
        assert wrong["score"] < no_tokens["score"] < g["score"]
        unknown = _score(row, ref.replace(token, "<|Zoom|>", 1))
        assert unknown["unknown_tokens"] == 1 and unknown["score"] < no_tokens["score"]
        spam = _score(row, ref.replace(token, "\n".join([token] * 12), 1))
        assert spam["excess_tokens"] > 0 and spam["score"] < no_tokens["score"]
        if preset == "think-answer":
            broken = _score(row, ref.replace("</think>", ""))
            assert broken["format"] == 0 and broken["score"] < g["score"]
        else:
            inline = _score(row, ref.replace(f"\n{token}\n", f" {token} ", 1))
            assert inline["format"] == 0 and inline["score"] < g["score"]


def test_token_with_no_purpose_is_penalised(atlas_rows):
    row = atlas_rows[0]
    ref = row["extra_info"]["reference"]
    token = row["extra_info"]["reference_token_spans"][0]["token"]
    # an extra token just before the answer: nothing is observed after it
    cut = ref.rindex("The answer is")
    idle = _score(row, ref[:cut] + token + "\n" + ref[cut:])
    assert idle["purposeless_tokens"] == 1 and idle["score"] < _score(row, ref)["score"]


def test_multiple_choice_letter_and_numbers():
    extra = {"choices": ["cat", "dog", "bird"], "reference_token_count": 0}
    assert (
        compute_score(None, "Looking at it.\nThe answer is \\boxed{B}.", "dog", extra)["acc"] == 1
    )
    assert (
        compute_score(None, "Looking at it.\nThe answer is \\boxed{C}.", "dog", extra)["acc"] == 0
    )
    assert compute_score(None, "Counting.\nThe answer is \\boxed{3.0}.", "three")["acc"] == 1


def test_custom_vocabulary_from_extra_info_decides_what_is_valid():
    doc = DEFAULT_VOCABULARY.to_json()
    for op in doc["operations"]:
        op["token"] = "<|Look|>"
    extra = {"vocab": json.dumps(doc), "preset": "atlas", "reference_token_count": 1}
    text = "The tag is small.\n{}\nNow the tag reads K7.\nThe answer is \\boxed{{K7}}."
    mine = compute_score(None, text.format("<|Look|>"), "K7", extra)
    paper = compute_score(None, text.format("<|Manip|>"), "K7", extra)
    assert mine["score"] == 1.0 and mine["token_use"] == 1
    assert paper["unknown_tokens"] == 1 and paper["score"] < mine["score"]
    # without extra_info the paper's default vocabulary applies
    assert compute_score(None, text.format("<|Manip|>"), "K7")["score"] == 1.0


def test_weights_live_in_one_dataclass():
    text = "The tag is small.\nThe answer is \\boxed{K7}."
    heavy = RewardWeights(answer=0.5, format=0.5, tokens=0.0)
    assert score(text, "K7", {"reference_token_count": 1}) == pytest.approx(0.9)
    assert score(text, "K7", {"reference_token_count": 1}, heavy) == pytest.approx(1.0)


def test_reward_module_imports_no_heavy_dependency():
    code = (
        "import sys, atlas_data.train.rewards as r; "
        "heavy = [m for m in ('PIL', 'numpy', 'pyarrow', 'datasets', 'cv2', 'duckdb') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_chat_control_tokens_do_not_change_the_score(atlas_rows):
    """As OpenRLHF or verl without skip_special_tokens hand it over: end and pad tokens."""
    for row in atlas_rows:
        ref = row["extra_info"]["reference"]
        plain = _score(row, ref)
        for tail in ("<|im_end|>", "<|im_end|>\n<|endoftext|><|endoftext|>", "<|eot_id|>", "</s>"):
            assert _score(row, ref + tail) == plain
    # a template's own end token the list does not know: unknown, unless extra_info names it
    row = atlas_rows[0]
    text = row["extra_info"]["reference"] + "<|turn_end|>"
    assert _score(row, text)["unknown_tokens"] == 1
    named = {**row["extra_info"], "control_tokens": ["<|turn_end|>"]}
    assert compute_score(None, text, row["reward_model"]["ground_truth"], named) == _score(
        row, row["extra_info"]["reference"]
    )
    # a token the run's vocabulary does not know still counts as unknown
    assert (
        _score(atlas_rows[0], atlas_rows[0]["extra_info"]["reference"] + "<|Zoom|>")[
            "unknown_tokens"
        ]
        == 1
    )


def test_reference_decoded_by_a_tokenizer_scores_what_the_reference_scores(atlas_rows):
    """The done-when: encode with our tokens added, append the chat end token, decode with
    skip_special_tokens=True (verl, TRL) and =False (OpenRLHF): the score is unchanged."""
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from atlas_data.train.tokenizer import add_functional_tokens

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = [r["extra_info"]["reference"] for r in atlas_rows]
    bpe.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=400,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=["<|endoftext|>", "<|im_end|>"],
        ),
    )
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>")
    add_functional_tokens(tok)
    for row in atlas_rows:
        ref = row["extra_info"]["reference"]
        ids = tok.encode(ref + "<|im_end|>", add_special_tokens=False)
        for skip in (True, False):
            decoded = tok.decode(ids, skip_special_tokens=skip)
            assert _score(row, decoded) == _score(row, ref), (skip, decoded)
        assert _score(row, ref)["score"] == 1.0


def _load_by_path_as_verl_does(path: str):
    """verl 0.9's load_module: a spec from the file, executed, *not* put in sys.modules."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"custom_module_{hash(path)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reward_loads_by_file_path_without_sys_modules(atlas_rows):
    import atlas_data.train.rewards as packaged

    module = _load_by_path_as_verl_does(packaged.__file__)
    assert module.__name__ not in sys.modules
    row = atlas_rows[0]
    args = (row["data_source"], row["extra_info"]["reference"], row["reward_model"]["ground_truth"])
    assert module.compute_score(*args, row["extra_info"]) == _score(row, args[1])
    assert module.RewardWeights().answer == RewardWeights().answer


def test_trl_reward_reads_the_columns_trl_passes(atlas_rows):
    from atlas_data.train.rewards import trl_reward

    rows = atlas_rows[:3]
    completions = [[{"role": "assistant", "content": r["extra_info"]["reference"]}] for r in rows]
    answers = [r["reward_model"]["ground_truth"] for r in rows]
    infos = [r["extra_info"] for r in rows]
    assert trl_reward(completions, answers, infos) == [1.0, 1.0, 1.0]
    wrong = [
        [{"role": "assistant", "content": _wrong(c[0]["content"], "atlas")}] for c in completions
    ]
    assert all(s <= 0.2 for s in trl_reward(wrong, answers, infos))


def test_the_reward_applies_the_verifiers_answer_rule():
    """One rule (atlas_data.answers): what the SFT verifier keeps, the reward scores right."""

    def acc(got: str, truth: str, extra: dict | None = None) -> float:
        text = f"Looking at it.\nThe answer is \\boxed{{{got}}}."
        return compute_score(None, text, truth, {"reference_token_count": 0, **(extra or {})})[
            "acc"
        ]

    for got, truth in (("3.0", "3"), ("3.50", "3.5"), ("1,000", "1000"), ("(B)", "B")):
        assert acc(got, truth) == 1, got
    for got, truth in (("13", "3"), ("3.5", "3"), ("(C)", "B"), ("There are 3", "3")):
        assert acc(got, truth) == 0, got
    numbers = ["17", "60", "42", "35"]
    assert acc("(C)", "42", {"choices": numbers}) == 1
    assert acc("(A)", "42", {"choices": numbers}) == 0
    np = pytest.importorskip("numpy")  # a trainer's dataframe hands columns over as arrays
    assert acc("C", "42", {"choices": np.array(numbers)}) == 1
    assert acc("two dogs", "2", {"accepted": ["two dogs"]}) == 1
