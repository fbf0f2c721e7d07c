"""The trajectory model and its two aligned renderings.

*Agentic*: each operation is an explicit tool call followed by an observation placeholder
for its result image. *Functional-token*: each operation is replaced by its vocabulary
token on its own line and the observation is dropped. Both come from the same steps, so the
prose around each operation is identical in the two forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from atlas_data.ops import Operation
from atlas_data.tokens import Vocabulary
from atlas_data.trajectory.formats import get_preset
from atlas_data.trajectory.judgement import Judgement

IMAGE_PLACEHOLDER = "<image>"
TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
OBSERVATION = f"<observation>{IMAGE_PLACEHOLDER}</observation>"


@dataclass
class Step:
    intent: str  # the sentence that states the operation about to be done
    operation: Operation
    observation: str  # what is seen once the operation has been done
    judgement: Judgement | None = None


@dataclass(frozen=True)
class TokenSpan:
    token: str
    operation: str
    start: int
    end: int


@dataclass
class Rendered:
    text: str
    spans: list[TokenSpan] = field(default_factory=list)


@dataclass
class Trajectory:
    question: str
    preamble: str
    steps: list[Step]
    conclusion: str
    answer: str

    def _render(self, vocab: Vocabulary | None, preset: str) -> Rendered:
        parts: list[str] = []
        spans: list[TokenSpan] = []
        pos = 0

        def add(s: str) -> None:
            nonlocal pos
            parts.append(s)
            pos += len(s)

        if self.preamble.strip():
            add(self.preamble.strip() + "\n")
        for step in self.steps:
            add(step.intent.strip() + "\n")
            if vocab is None:  # the spans are where each result image is shown
                add(f"{TOOL_CALL_OPEN}{step.operation.call_json()}{TOOL_CALL_CLOSE}\n")
                spans.append(
                    TokenSpan(OBSERVATION, step.operation.name, pos, pos + len(OBSERVATION))
                )
                add(OBSERVATION + "\n")
            else:
                token = vocab.token_for(step.operation.name)
                spans.append(TokenSpan(token, step.operation.name, pos, pos + len(token)))
                add(token + "\n")
            add(step.observation.strip() + "\n")
        add(self.conclusion.strip())
        reasoning = "".join(parts)
        text = get_preset(preset).wrap(reasoning, self.answer)
        # wrap() may prefix the reasoning (e.g. "<think>\n"); shift spans to match.
        offset = text.find(reasoning.strip()) - (len(reasoning) - len(reasoning.lstrip()))
        shifted = [TokenSpan(s.token, s.operation, s.start + offset, s.end + offset) for s in spans]
        return Rendered(text=text, spans=shifted)

    def functional(self, vocab: Vocabulary, preset: str) -> Rendered:
        """Operations replaced by their tokens; observations dropped."""
        return self._render(vocab, preset)

    def agentic(self, preset: str) -> Rendered:
        """Explicit tool calls with an observation placeholder for each result image (its
        spans: where each placeholder stands)."""
        return self._render(None, preset)

    def operations(self) -> list[Operation]:
        return [s.operation for s in self.steps]

    def with_answer(self, answer: str) -> Trajectory:
        """A copy whose final answer is ``answer``: a kept row writes the right answer in
        the ground truth's spelling (:func:`atlas_data.answers.in_truth_spelling`)."""
        return replace(self, steps=list(self.steps), answer=answer)


def user_prompt(question: str, choices: list[str] | None, preset: str, images: int = 1) -> str:
    """The user turn shared by SFT and RL rows: one image placeholder per input image
    (named "Image 1:" … when there are several), question, layout rule."""
    marks = [IMAGE_PLACEHOLDER]
    if images > 1:
        marks = [f"Image {k}: {IMAGE_PLACEHOLDER}" for k in range(1, images + 1)]
    lines = [*marks, question.strip()]
    if choices:
        lines.append("Options: " + "; ".join(choices))
    lines.append(get_preset(preset).instruction())
    return "\n".join(lines)


def agentic_messages(agentic: Rendered, prompt: str) -> list[dict[str, Any]]:
    """Multi-turn agentic form: the assistant calls a tool, a tool turn returns the image;
    cut from the agentic rendering where it placed each observation."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    start = 0
    for span in agentic.spans:
        messages.append(
            {"role": "assistant", "content": agentic.text[start : span.start].strip("\n")}
        )
        messages.append({"role": "tool", "content": IMAGE_PLACEHOLDER})
        start = span.end
    messages.append({"role": "assistant", "content": agentic.text[start:].strip("\n")})
    return messages
