import json

import pytest

from atlas_data.ops import Operation
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary
from atlas_data.trajectory.formats import FormatError, get_preset
from atlas_data.trajectory.judgement import Judgement
from atlas_data.trajectory.model import Step, Trajectory, agentic_messages, user_prompt

OK = Judgement(True, 0.9, "annotation", {"reveals": "x"})


def traj() -> Trajectory:
    return Trajectory(
        question="What code is on the tag?",
        preamble="The tag is tiny.",
        steps=[
            Step(
                "I will zoom in.",
                Operation("zoom", {"box": [1, 2, 30, 40], "factor": 3}),
                'Now the tag reads "K7Q".',
                OK,
            ),
            Step("I will box it.", Operation("box", {"box": [5, 5, 9, 9]}), "It is boxed.", OK),
        ],
        conclusion="That settles it.",
        answer="K7Q",
    )


def test_atlas_functional_form_puts_each_token_on_its_own_line_and_boxes_the_answer():
    r = traj().functional(DEFAULT_VOCABULARY, "atlas")
    lines = r.text.splitlines()
    assert lines == [
        "The tag is tiny.",
        "I will zoom in.",
        "<|Manip|>",
        'Now the tag reads "K7Q".',
        "I will box it.",
        "<|Shape|>",
        "It is boxed.",
        "That settles it.",
        "The answer is \\boxed{K7Q}.",
    ]
    assert [r.text[s.start : s.end] for s in r.spans] == ["<|Manip|>", "<|Shape|>"]
    assert [s.operation for s in r.spans] == ["zoom", "box"]


def test_think_answer_form_has_tags_and_spans_still_point_at_tokens():
    r = traj().functional(DEFAULT_VOCABULARY, "think-answer")
    assert r.text.startswith("<think>\n") and r.text.endswith("</think>\n<answer>K7Q</answer>")
    assert [r.text[s.start : s.end] for s in r.spans] == ["<|Manip|>", "<|Shape|>"]
    assert get_preset("think-answer").parse(r.text).answer == "K7Q"


def test_agentic_form_has_explicit_calls_and_observations_aligned_with_the_tokens():
    t = traj()
    text = t.agentic("atlas").text
    assert text.count("<tool_call>") == 2 and text.count("<observation><image></observation>") == 2
    call = text.split("<tool_call>")[1].split("</tool_call>")[0]
    assert json.loads(call) == {"name": "zoom", "arguments": {"box": [1, 2, 30, 40], "factor": 3}}
    # Same prose in both forms: remove the calls/observations and the tokens, compare.
    functional = t.functional(DEFAULT_VOCABULARY, "atlas").text
    strip_f = [ln for ln in functional.splitlines() if ln not in DEFAULT_VOCABULARY.tokens]
    strip_a = [
        ln for ln in text.splitlines() if not ln.startswith(("<tool_call>", "<observation>"))
    ]
    assert strip_f == strip_a


def test_agentic_messages_alternate_assistant_and_tool_turns():
    t = traj()
    msgs = agentic_messages(t.agentic("atlas"), user_prompt(t.question, None, "atlas"))
    assert [m["role"] for m in msgs] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert msgs[0]["content"].startswith("<image>\nWhat code")
    assert msgs[1]["content"].endswith("</tool_call>")


def test_custom_vocabulary_spellings_flow_into_the_rendering():
    data = DEFAULT_VOCABULARY.to_json()
    for op in data["operations"]:
        op["token"] = f"[{op['name']}]"
    v = Vocabulary.from_json(data)
    text = traj().functional(v, "atlas").text
    assert "[zoom]" in text and "[box]" in text and "<|" not in text


@pytest.mark.parametrize(
    "preset,text,msg",
    [
        ("atlas", "reasoning only", "boxed"),
        ("atlas", "r \\boxed{1} and \\boxed{2}", "exactly one"),
        ("atlas", "<think>r</think><answer>1</answer>", "must not contain"),
        ("atlas", "r \\boxed{1} more words", "continues"),
        ("think-answer", "<think>r</think>", "missing <answer>"),
        ("think-answer", "<think>r<answer>1</answer>", "missing </think>"),
        ("think-answer", "r \\boxed{1}", "missing"),
        ("think-answer", "<think></think><answer>1</answer>", "empty"),
    ],
)
def test_each_preset_rejects_malformed_and_the_others_format(preset, text, msg):
    with pytest.raises(FormatError, match=msg):
        get_preset(preset).parse(text)


def test_each_presets_parser_rejects_the_other_presets_rendering():
    t = traj()
    atlas = t.functional(DEFAULT_VOCABULARY, "atlas").text
    think = t.functional(DEFAULT_VOCABULARY, "think-answer").text
    with pytest.raises(FormatError):
        get_preset("think-answer").parse(atlas)
    with pytest.raises(FormatError):
        get_preset("atlas").parse(think)
