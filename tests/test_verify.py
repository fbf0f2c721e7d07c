"""Each verifier: one passing case and at least one failing case, with the named reason."""

import dataclasses

import pytest

from atlas_data.ops import Operation
from atlas_data.tokens import DEFAULT_VOCABULARY
from atlas_data.trajectory.formats import normalize_answer
from atlas_data.trajectory.judgement import Judgement
from atlas_data.trajectory.model import Step, Trajectory
from atlas_data.trajectory.verify import Candidate, verify

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
    c = Candidate(t, functional, t.agentic(preset), "4", DEFAULT_VOCABULARY, preset, "k", set())
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


def test_duplicate():
    assert verify(make(key="k", seen={"k"})).reason == "duplicate"  # type: ignore[arg-type]


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
                agentic=c.trajectory.agentic("atlas"),
            )
        )
        is None
    )
