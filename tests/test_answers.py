"""The one answer rule (``atlas_data.answers``): what it must accept, what it must refuse, and
that the verifier, the reward and the flip judge all say the same; end to end, a teacher's
own spelling of the right answer is kept (in the truth's spelling) and a teacher that lets
the answer slip before its first operation is refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_data.answers import in_truth_spelling, matches, normalize, occurrences, spellings
from atlas_data.explore.judges.flip import is_correct
from atlas_data.ops import Operation
from atlas_data.tokens import DEFAULT_VOCABULARY
from atlas_data.train.rewards import answers_match, compute_score
from atlas_data.trajectory.judgement import Judgement
from atlas_data.trajectory.model import Step, Trajectory
from atlas_data.trajectory.verify import Candidate, check_answer

CHOICES = ["cat", "dog", "bird"]

RIGHT = [
    ("3.0", "3"),
    ("3.50", "3.5"),
    ("1,000", "1000"),
    ("$4.50", "4.50"),
    ("3 cm", "3"),
    ("50%", "50"),
    ("three", "3"),
    (" Four. ", "4"),
    ("-0", "0"),
    (".5", "0.50"),
    ("(B)", "B"),
    ("B", "(B)"),
    ("B.", "B"),
    ("B)", "B"),
    ("option B", "B"),
    ("Option (b)", "B"),
    ("b", "B"),
    ("The Dog.", "dog"),
    ("a bicycle", "bicycle"),
    ('"K7Q"', "k7q"),
    ("**KW3A**", "KW3A"),
    ("\\text{yes}", "yes"),
    ("Yes!", "yes"),
    ("row 2,  column 3", "row 2, column 3"),
    ("03:05", "3:05"),
]
WRONG = [
    ("13", "3"),
    ("3.5", "3"),
    ("3", "3.5"),
    ("30", "3"),
    ("-3", "3"),
    ("\u22123", "3"),
    ("B", "(C)"),
    ("(B)", "C"),
    ("option B", "C"),
    ("There are 3 cars", "3"),
    ("The code is KW3A.", "KW3A"),
    ("KW3", "KW3A"),
    ("3 cm", "3 mm"),
    ("3 apples", "3"),
    ("007", "7"),
    ("row 2, column 3", "row 3, column 2"),
    ("no", "yes"),
    ("", "3"),
    ("   ", ""),
    ("the", "a"),
    ("3:05", "3:50"),
]


@pytest.mark.parametrize(("got", "truth"), RIGHT)
def test_right_answers_match(got, truth):
    assert matches(got, truth)
    assert in_truth_spelling(got, truth) == truth


@pytest.mark.parametrize(("got", "truth"), WRONG)
def test_wrong_answers_do_not(got, truth):
    assert not matches(got, truth)
    assert in_truth_spelling(got, truth) is None


def test_choices_letter_and_text_name_the_same_option():
    assert matches("B", "dog", CHOICES) and matches("(B)", "dog", CHOICES)
    assert matches("option b.", "dog", CHOICES) and matches("(B) dog", "dog", CHOICES)
    assert matches("dog", "B", CHOICES) and matches("Dog", "(B)", CHOICES)
    assert in_truth_spelling("(B)", "dog", CHOICES) == "dog"
    assert in_truth_spelling("the dog", "B", CHOICES) == "B"
    assert not matches("C", "dog", CHOICES) and not matches("(B) cat", "dog", CHOICES)
    assert not matches("D", "dog", CHOICES)  # no fourth option
    assert not matches("B", "dog")  # without the choices a letter is not a text
    # options that are letters themselves: a bare letter is their text, never an index
    assert matches("C", "C", ["C", "A", "B"]) and not matches("A", "C", ["C", "A", "B"])
    # a number option: its letter and its value in another spelling
    assert matches("(C)", "42", ["17", "60", "42", "35"])
    assert matches("42.0", "42", ["17", "60", "42", "35"])
    assert not matches("(A)", "42", ["17", "60", "42", "35"])


def test_accepted_alternatives_are_right_and_spelled_as_the_truth():
    assert matches("two dogs", "2", accepted=["two dogs", "2"])
    assert in_truth_spelling("Two dogs.", "2", accepted=["two dogs"]) == "2"
    assert not matches("three dogs", "2", accepted=["two dogs"])


def test_normalize_spells_equal_answers_alike():
    assert normalize(" Four. ") == normalize("4") == "4"
    assert normalize("1,000.50") == "1000.5"
    assert normalize("The Answer.") == "answer"
    assert normalize("row 2, column 3") != normalize("row 3, column 2")
    assert normalize("\\text{yes}") == "yes"


def test_occurrences_are_whole_tokens_and_number_aware():
    assert occurrences("It reads KW3A; let me zoom", "KW3A") == [(9, 13)]
    assert occurrences("13 and 3.5 and 1,300 and 30", "3") == []
    assert len(occurrences("there are three. 3.0 rows", "3")) == 2
    assert occurrences("the one on the left", "1") == []  # "one" is a pronoun too
    assert occurrences("a box; label A and I", "A") == [(13, 14)]  # never the article
    assert occurrences("KW3AB", "KW3A") == []


def test_spellings_of_a_multiple_choice_truth():
    assert spellings("dog", CHOICES) == ["dog", "B"]
    assert spellings("B", CHOICES) == ["B", "dog"]
    assert spellings("2", accepted=["two dogs", "2"]) == ["2", "two dogs"]


# -- properties


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_an_integer_in_any_spelling_is_itself(n):
    for spelled in (f"{n}.0", f"{n}.00", f"{n:,}", f" {n} ", f"{n}."):
        assert matches(spelled, str(n)), spelled
        assert matches(str(n), spelled), spelled


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_different_numbers_never_match(a, b):
    if a != b:
        assert not matches(str(a), str(b))
        assert not matches(f"{a}.5", str(a))
        assert not occurrences(f"rows {b}, {a}.5 and x{a}", str(a)) or a == b
    assert not matches(f"There are {a} cars", str(a))


@given(st.text(max_size=40))
def test_normalize_is_idempotent_and_matching_reflexive(text):
    once = normalize(text)
    assert normalize(once) == once
    if once:
        assert matches(text, text)


@given(st.sampled_from("ABCDEFGH"), st.sampled_from("ABCDEFGH"))
def test_letters_match_only_themselves(a, b):
    forms = (f"({a})", f"{a}.", f"{a})", f"option {a}", a.lower())
    assert all(matches(f, b) == (a == b) for f in forms)


# -- one rule for the verifier, the reward and the flip judge


def _candidate(got: str, truth: str, choices: tuple[str, ...] = ()) -> Candidate:
    t = Trajectory(
        "How many?",
        "Several shapes are scattered around.",
        [
            Step(
                "I will mark each one.",
                Operation("point_mark", {"points": [[3, 4]]}),
                "The marks number them.",
                Judgement(True, 0.9, "annotation", {}),
            )
        ],
        "That settles it.",
        got,
    )
    text = t.functional(DEFAULT_VOCABULARY, "atlas").text
    return Candidate(
        t,
        text,
        t.agentic("atlas").text,
        truth,
        DEFAULT_VOCABULARY,
        "atlas",
        False,
        (),
        choices,
    )


@pytest.mark.parametrize(
    ("got", "truth", "choices"),
    [(g, t, ()) for g, t in RIGHT + WRONG if g.strip() and "{" not in g]
    + [("(B)", "dog", tuple(CHOICES)), ("C", "dog", tuple(CHOICES)), ("dog", "B", tuple(CHOICES))],
)
def test_verifier_reward_and_flip_judge_agree(got, truth, choices):
    right = matches(got, truth, choices)
    assert (check_answer(_candidate(got, truth, choices)) is None) == right
    text = f"Looking at it.\nThe answer is \\boxed{{{got}}}."
    extra = {"choices": list(choices) or None, "reference_token_count": 0}
    assert compute_score(None, text, truth, extra)["acc"] == float(right)
    assert answers_match(got, truth, list(choices)) == right
    if right:  # the judge reads short replies too, but never refuses a right answer
        assert is_correct(got, truth, list(choices))


def test_flip_judge_reads_a_short_reply_but_not_a_rival():
    assert is_correct("The code is KW3A.", "KW3A")
    assert is_correct("three", "3") and is_correct("It is box B.", "B")
    assert is_correct("It shows the dog.", "B", CHOICES)
    assert not is_correct("KW3", "KW3A") and not is_correct("unknown", "KW3A")
    assert not is_correct("3 or 4", "3") and not is_correct("about 3.5", "3")
    assert not is_correct("the cat or the dog", "dog", CHOICES)
    long = "I think that it might be 3 but the image is far too small to tell for sure at all"
    assert not is_correct(long, "3")


# -- end to end: the stand-in teacher's own spellings, and its slips


@pytest.fixture(scope="module")
def server():
    from tests.openai_server import ServerThread

    with ServerThread() as s:
        yield s


def _run(server, tmp_path: Path, style: str, monkeypatch) -> Path:
    from atlas_data.config import RunConfig
    from atlas_data.run.driver import run
    from tests.runs import run_folder

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    server.state.reset()
    server.state.teach_style = style
    n = 16
    config = RunConfig(
        split="both",
        n=n,
        seed=5,
        shard_size=n,
        teacher="openai",
        teacher_options={
            "model": "stand-in-vlm",
            "base_url": server.base_url,
            "cache_dir": str(tmp_path / "cache"),
            "backoff": 0.05,
            "timeout": 10,
        },
        # numbers (bar values, some as multiple choice), letters (boxes) and direct answers
        source_options={"families": "bar_chart,direction,table"},
        out=str(tmp_path / "runs"),
    )
    try:
        run(config)
    finally:
        server.state.reset()
    return run_folder(config)


def _rows(root: Path, kind: str) -> list[dict]:
    if not list(root.glob(f"{kind}/*.parquet")):
        return []
    rel = duckdb.sql(f"select * from '{root}/{kind}/*.parquet'")
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def _score(row: dict, text: str) -> dict:
    """The shipped reward as verl calls it on the row's own verified trajectory."""
    extra = {
        "choices": row["choices"],
        "preset": row["preset"],
        "reference_token_count": len(row["tokens"]),
    }
    return compute_score(row["source"], text, row["answer"], extra)


def test_a_teacher_spelling_the_answer_its_own_way_is_kept_in_the_truths_spelling(
    server, tmp_path, monkeypatch
):
    """ "3.0" for "3", "(B)" for "B", "(C)" for the option "42": right, so kept, and the kept
    row's final answer is the ground truth's own spelling, which the reward scores 1.

    Needs the pipeline to rewrite the kept answer with ``answers.in_truth_spelling`` (and to
    give ``Candidate`` the sample's choices): until it does, the respelled rows are refused
    as ``answer_mismatch`` or keep the teacher's spelling, and this test says which."""
    root = _run(server, tmp_path, "respell", monkeypatch)
    rejects = _rows(root, "rejects")
    mismatched = [r["detail"] for r in rejects if r["reason"] == "answer_mismatch"]
    assert not mismatched, f"right answers refused: {mismatched[:3]}"
    sft, rl = _rows(root, "sft"), _rows(root, "rl")
    assert len(sft) >= 6 and len(rl) == len(sft)
    assert any(r["choices"] for r in sft) and any(len(r["answer"]) == 1 for r in sft)
    respelled = [r for r in sft if "." in r["answer"] or len(r["answer"]) == 1 or r["choices"]]
    assert respelled
    for row in sft:
        boxed = f"\\boxed{{{row['answer']}}}"
        assert row["text"].rstrip(". \n").endswith(boxed), (row["answer"], row["text"][-60:])
        assert _score(row, row["text"])["score"] == 1.0, row["text"]
    for row in rl:
        assert _score(row, row["reference"])["score"] == 1.0, row["reference"]


def test_a_teacher_that_states_the_answer_before_its_operation_is_refused(
    server, tmp_path, monkeypatch
):
    root = _run(server, tmp_path, "slip", monkeypatch)
    rejects = _rows(root, "rejects")
    slips = [r for r in rejects if r["reason"] == "answer_before_operation"]
    assert len(slips) >= 4
    assert all("states the answer" in r["detail"] and "It reads" in r["raw"] for r in slips)
    kept = _rows(root, "sft")
    assert all(r["direct"] for r in kept), "only direct rows (no operation) may keep a slip"
    assert all(r["text"].startswith("It reads") for r in kept)


def test_the_honest_teacher_never_trips_the_new_verifier(server, tmp_path, monkeypatch):
    root = _run(server, tmp_path, "honest", monkeypatch)
    assert not [r for r in _rows(root, "rejects") if r["reason"] == "answer_before_operation"]
    assert _rows(root, "sft")


def test_candidate_choices_default_keeps_old_callers_working():
    c = _candidate("(B)", "dog")
    assert check_answer(c) is not None  # without the choices a letter is not the text
    assert check_answer(dataclasses.replace(c, choices=tuple(CHOICES))) is None


def test_with_answer_copies_the_trajectory_in_the_truths_spelling():
    c = _candidate("3.0", "3")
    spelled = in_truth_spelling(c.trajectory.answer, c.truth)
    assert spelled == "3"
    copy = c.trajectory.with_answer(spelled)
    assert copy.answer == "3" and c.trajectory.answer == "3.0"
    assert copy.steps == c.trajectory.steps and copy.steps is not c.trajectory.steps
    assert copy.functional(DEFAULT_VOCABULARY, "atlas").text.endswith("\\boxed{3}.")
