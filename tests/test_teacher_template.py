"""The offline teacher writes only what the judges saw, with words that fit the step."""

from __future__ import annotations

import re

from PIL import Image

from atlas_data.explore import combine
from atlas_data.ops import Operation, specs
from atlas_data.teacher.base import TeachRequest
from atlas_data.teacher.template import TemplateTeacher
from atlas_data.trajectory.judgement import ChosenStep, Judgement

READING = re.compile(r"\b(read|reading|legible|writing|written|text)\b", re.I)
IMG = Image.new("RGB", (64, 48))


def request(steps: list[ChosenStep], direct: dict | None = None, sid: str = "s1") -> TeachRequest:
    return TeachRequest(sid, "vqa", "What is it?", "7", None, [], steps, "atlas", direct)


def step(name: str, params: dict, evidence: dict) -> ChosenStep:
    return ChosenStep(Operation(name, params), IMG, Judgement(True, 1.0, "x", evidence))


def test_no_evidence_beyond_the_answer_means_no_trajectory():
    result = TemplateTeacher().teach_sync(request([step("zoom", {"box": [0, 0, 9, 9]}, {})]))
    assert (
        result.reasoning is None
        and result.rejection
        and result.rejection.reason == "teacher_no_evidence"
    )


def test_a_non_reading_step_never_talks_of_reading():
    for name, spec in specs().items():  # no operation's plain intents speak of reading
        assert not any(READING.search(i) for i in spec.intents), name
    seen = "the marks number the coins 1 to 7"
    for k in range(12):  # every phrasing the generator may pick
        annotation = Judgement(True, 1.0, "annotation", {"seen": seen})
        chosen = ChosenStep(
            Operation("zoom", {"box": [0, 0, 9, 9]}), IMG, combine([annotation]) or annotation
        )
        text = TemplateTeacher().teach_sync(request([chosen], sid=f"c{k}")).reasoning
        assert text is not None and not READING.search(text.steps[0].intent)
        assert seen in text.steps[0].observation


def test_a_step_whose_judge_read_text_says_so():
    ocr = Judgement(True, 1.0, "ocr", {"text": "LOT 7", "seen": 'the text reads "LOT 7"'})
    annotation = Judgement(True, 1.0, "annotation", {})
    judged = combine([annotation, ocr])
    assert judged is not None
    chosen = ChosenStep(Operation("zoom", {"box": [0, 0, 9, 9]}), IMG, judged)
    intents = {
        TemplateTeacher().teach_sync(request([chosen], sid=f"r{k}")).reasoning.steps[0].intent  # type: ignore[union-attr]
        for k in range(12)
    }
    assert intents <= set(specs()["zoom"].reading_intents)
    assert all(READING.search(i) for i in intents)


def test_a_direct_answer_says_what_was_seen_or_nothing_invented():
    result = TemplateTeacher().teach_sync(
        request([], {"judge": "ocr", "seen": "the sign reads EXIT"})
    )
    assert result.reasoning is not None and not result.reasoning.steps
    assert "the sign reads EXIT" in result.reasoning.preamble
    plain = TemplateTeacher().teach_sync(request([], {"judge": "annotation", "seen": ""}))
    assert plain.reasoning is not None and "reads" not in plain.reasoning.preamble
