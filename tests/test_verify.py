"""Each verifier: one passing case and at least one failing case, with the named reason."""

import dataclasses

import pytest

from atlas_data.answers import normalize as normalize_answer
from atlas_data.ops import Operation
from atlas_data.tokens import DEFAULT_VOCABULARY
from atlas_data.trajectory.judgement import Judgement
from atlas_data.trajectory.model import Step, Trajectory
from atlas_data.trajectory.verify import Candidate, check_answer_before_operation, verify

OK = Judgement(True, 0.9, "annotation", {})


def make(preset: str = "atlas", **edits: str) -> Candidate:
    t = Trajectory(
        question="How many red triangles are there?",
        preamble="Several shapes are scattered around.",
        steps=[
            Step(
                "I will mark each one.",
                Operation("point_mark", {"points": [[3, 4]]}),
                "The marks number them 1 to 4.",
                OK,
            )
        ],
        conclusion="So there are four.",
        answer="4",
    )
    functional = t.functional(DEFAULT_VOCABULARY, preset).text
    c = Candidate(t, functional, t.agentic(preset).text, "4", DEFAULT_VOCABULARY, preset)
    return dataclasses.replace(c, **edits)


@pytest.mark.parametrize("preset", ["atlas", "think-answer"])
def test_a_good_trajectory_passes_every_verifier(preset):
    assert verify(make(preset)) is None


def test_answer_mismatch():
    assert verify(make(truth="5")).reason == "answer_mismatch"


def test_answer_normalisation_accepts_equivalent_forms():
    assert normalize_answer(" Four. ") == normalize_answer("4")
    assert normalize_answer('"K7Q"') == normalize_answer("k7q")
    assert normalize_answer("\\text{yes}") == "yes"
    assert normalize_answer("row 2, column 3") != normalize_answer("row 3, column 2")


def test_malformed_format():
    c = make()
    assert verify(
        dataclasses.replace(c, functional=c.functional.replace("\\boxed", ""))
    ).reason == ("malformed_format")
    t = make("think-answer")
    broken = t.functional.replace("</think>", "")
    assert verify(dataclasses.replace(t, functional=broken)).reason == "malformed_format"


def test_unknown_token():
    c = make()
    bad = c.functional.replace("<|Text|>", "<|Text|>\n<|Zoom|>")
    assert verify(dataclasses.replace(c, functional=bad)).reason == "unknown_token"


def test_token_misplaced_when_missing_repeated_or_not_on_its_own_line():
    c = make()
    assert (
        verify(dataclasses.replace(c, functional=c.functional.replace("<|Text|>\n", ""))).reason
        == "token_misplaced"
    )
    doubled = c.functional.replace("<|Text|>", "<|Text|>\n<|Text|>")
    assert verify(dataclasses.replace(c, functional=doubled)).reason == "token_misplaced"
    inline = c.functional.replace("<|Text|>\n", "<|Text|> ")
    assert verify(dataclasses.replace(c, functional=inline)).reason == "token_misplaced"


@pytest.mark.parametrize(
    "leak",
    ["at [120, 45, 300, 80] I see", "point (10, 20)", '{"name": "zoom"}', "<tool_call>"],
)
def test_leak_of_coordinates_or_tool_syntax(leak):
    c = make()
    bad = c.functional.replace("So there are four.", f"So there are four {leak}.")
    assert verify(dataclasses.replace(c, functional=bad)).reason in ("leak", "unknown_token")


def test_plain_numbers_in_prose_are_not_a_leak():
    c = make()
    ok = c.functional.replace("So there are four.", "Marks 1, 2, 3 and 4 cover row 2, column 3.")
    assert verify(dataclasses.replace(c, functional=ok)) is None


def test_not_helpful():
    c = make()
    t = c.trajectory
    t.steps[0].judgement = Judgement(False, 0.1, "annotation", {})
    assert verify(c).reason == "not_helpful"


@pytest.mark.parametrize(
    "observation",
    ["The enlarged region shows 4.", "Now it is clear: 4.", "After zooming, the answer is 4."],
)
def test_an_observation_that_only_wraps_the_answer_is_refused(observation):
    c = make()
    c.trajectory.steps[0].observation = observation
    assert verify(c).reason == "observation_restates_answer"


def test_an_observation_with_visual_evidence_around_the_answer_passes():
    c = make()
    c.trajectory.steps[0].observation = "Four red triangles carry the marks 1 to 4."
    assert verify(c) is None


def test_a_direct_answer_must_carry_no_operation():
    assert verify(make(direct=True)).reason == "not_helpful"  # type: ignore[arg-type]
    c = make(direct=True)  # type: ignore[arg-type]
    c.trajectory.steps.clear()
    assert (
        verify(
            dataclasses.replace(
                c,
                functional=c.trajectory.functional(DEFAULT_VOCABULARY, "atlas").text,
                agentic=c.trajectory.agentic("atlas").text,
            )
        )
        is None
    )


# -- answer_before_operation


def _with_preamble(preamble: str, truth: str = "4", **edits) -> Candidate:
    c = make()
    t = dataclasses.replace(c.trajectory, preamble=preamble, answer=truth)
    text = t.functional(DEFAULT_VOCABULARY, c.preset).text
    return dataclasses.replace(c, trajectory=t, functional=text, truth=truth, **edits)


@pytest.mark.parametrize(
    ("preamble", "truth"),
    [
        ("It reads KW3A; let me zoom in to check.", "KW3A"),
        ("The tag says kw3a, but it is small.", "KW3A"),
        ("The price looks like 4.50 from here.", "4.50"),
        ("It is row 2, column 3 I think.", "row 2, column 3"),
        ("There are 4.", "4"),
        ("I count four; marking them will confirm it.", "4"),
        ("The answer is probably B, but let me check.", "B"),
        ("It looks like option (B) so I will trace it.", "B"),
        ("Answer: yes. Let me verify.", "yes"),
    ],
)
def test_a_trajectory_stating_the_answer_before_its_operation_is_refused(preamble, truth):
    failure = verify(_with_preamble(preamble, truth))
    assert failure is not None and failure.reason == "answer_before_operation", failure
    assert "before the first operation" in failure.detail


def test_a_boxed_answer_before_the_operation_is_refused():
    # verify() refuses two \\boxed{} as malformed first; the check refuses it on its own too
    c = _with_preamble("I guess it is \\boxed{5} already.", "4")
    assert "boxed" in (check_answer_before_operation(c) or "")


def test_the_option_text_or_letter_of_the_right_choice_counts_as_the_answer():
    choices = ("cat", "dog", "bird")
    slip = _with_preamble("It is B, most likely.", "dog", choices=choices)
    assert verify(slip).reason == "answer_before_operation"
    slip = _with_preamble("It looks like a dog.", "B", choices=choices)
    assert verify(slip).reason == "answer_before_operation"
    honest = _with_preamble("It is hard to tell a cat from a dog here.", "B", choices=choices)
    assert verify(honest) is None


@pytest.mark.parametrize(
    ("preamble", "truth"),
    [
        ("The 4 rows of shapes are hard to tell apart.", "4"),
        ("Label A is small; the one on the left is hard to see.", "A"),
        ("To answer reliably I need to keep track of each object.", "I"),
        ("There are 14 shapes and 4.5 of them overlap.", "4"),
        ("Row 24 sits near the edge.", "4"),
        ("Yes or no is hard to tell at this size.", "yes"),
        ("Several candidates look alike, so I need to pin down the one.", "1"),
        ("The tag next to KW3B is tiny.", "KW3A"),
    ],
)
def test_innocent_mentions_before_the_operation_pass(preamble, truth):
    assert verify(_with_preamble(preamble, truth)) is None


def test_a_direct_trajectory_may_state_its_answer():
    c = _with_preamble("It reads 4 plainly.", "4", direct=True)
    c.trajectory.steps.clear()
    functional = c.trajectory.functional(DEFAULT_VOCABULARY, "atlas").text
    c = dataclasses.replace(c, functional=functional, agentic=c.trajectory.agentic("atlas").text)
    assert verify(c) is None


def test_after_the_first_token_the_answer_may_be_said():
    c = make()
    c.trajectory.steps[0].observation = "Marks 1 to 4 sit on the four triangles, so it is 4."
    functional = c.trajectory.functional(DEFAULT_VOCABULARY, "atlas").text
    assert verify(dataclasses.replace(c, functional=functional)) is None


def test_the_template_teachers_sentences_never_state_an_answer():
    """Every preamble and intent the offline teacher can write, against every short answer
    a family can have: the default run's rows must not change."""
    from atlas_data.ops import specs
    from atlas_data.teacher.template import PREAMBLES, PURPOSE_PREAMBLES

    preambles = [p for group in (*PREAMBLES.values(), *PURPOSE_PREAMBLES.values()) for p in group]
    intents = []
    for spec in specs().values():
        intents += [*spec.intents, *spec.reading_intents]
        intents += [i for group in spec.purpose_intents.values() for i in group]
    # numbers a family asks for (number words included), option letters, short words
    truths = [str(n) for n in (*range(21), 42, 100)] + [chr(c) for c in range(65, 91)]
    truths += ["yes", "no", "left", "right", "above", "below", "one", "a", "i"]
    c = make()
    # a clause never spans two sentences: each sentence alone is every combination
    for sentence in {*preambles, *intents}:
        text = f"{sentence}\n<|Text|>\nNow it is clear.\nThe answer is \\boxed{{x}}."
        for truth in truths:
            checked = dataclasses.replace(c, functional=text, truth=truth)
            assert check_answer_before_operation(checked) is None, (sentence, truth)
