"""The answer-flip judge: does a model answer correctly only after the operation?

It asks a vision-language model (the teacher's endpoint, or a cheaper ``--judge-model`` on
it) the question twice: on the original image and on the operation's result, both
downscaled to the trainee's budget (the run's :class:`~atlas_data.config.Budget`). The
operation is helpful when the answer flips from wrong to right. Replies are cached on disk
like the teacher's, so a rerun asks nothing. Judges run in worker threads, so this one uses
the blocking client.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PIL import Image

from atlas_data.answers import matches, normalize, occurrences, spellings
from atlas_data.config import Budget, RunConfig
from atlas_data.explore.judges import JudgeEntry
from atlas_data.llm import Endpoint, EndpointConfig, Prompt, Usage
from atlas_data.ops import Operation
from atlas_data.sources.base import SourceSample
from atlas_data.trajectory.judgement import Judgement

JUDGE_SYSTEM = (
    "Answer the question about the image. Reply with the answer only: a word, a number, "
    "a code or a short phrase, with no explanation. If you cannot tell, reply: unknown."
)
# A reply longer than this is an explanation, not "the answer only": it must be the answer.
SHORT_REPLY_WORDS = 12


def is_correct(
    reply: str,
    truth: str,
    choices: Sequence[str] | None = None,
    accepted: Sequence[str] = (),
) -> bool:
    """Right by the one answer rule (:func:`atlas_data.answers.matches`), or a short reply
    that names a right answer as whole tokens ("The code is KW3A.") and no rival (another
    number, another option: "3 or 4" is not 3)."""
    if matches(reply, truth, choices, accepted):
        return True
    if len(reply.split()) > SHORT_REPLY_WORDS:
        return False
    right = spellings(truth, choices, accepted)
    if not any(occurrences(reply, s) for s in right):
        return False
    wanted = {normalize(s) for s in right}
    rivals = [c for c in (choices or ()) if normalize(c) not in wanted]
    if any(occurrences(reply, r) for r in rivals):
        return False
    numbers = {t for t in normalize(reply).split() if re.fullmatch(r"-?\d+(?:\.\d+)?", t)}
    return numbers <= {t for w in wanted for t in w.split()}


def question_prompt(sample: SourceSample, images: Sequence[Image.Image], budget: Budget) -> Prompt:
    """The question on ``images`` (one, or every image of the sample, labelled)."""
    prompt = Prompt(messages=[], max_side=budget.side)
    text = f"Question: {sample.question.strip()}"
    if sample.choices:
        text += "\nOptions: " + "; ".join(sample.choices)
    content = [*prompt.add_images(images), {"type": "text", "text": text}]
    prompt.messages = [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": content},
    ]
    return prompt


class AnswerFlipJudge:
    """Helpful when the model's answer is wrong on the original and right on the result."""

    name = "flip"
    needs_pixels = True

    def __init__(self, endpoint: EndpointConfig, budget: Budget, max_tokens: int = 32) -> None:
        self.endpoint = Endpoint(endpoint)
        self.budget = budget
        self.params: dict[str, Any] = {"temperature": 0.0, "max_tokens": max_tokens}
        self._originals: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def of_run(cls, config: RunConfig) -> AnswerFlipJudge:
        """On the teacher's endpoint (its URL, cache, retries), asking ``--judge-model`` or,
        without one, the teacher's own model, at the run's budget."""
        endpoint = EndpointConfig.of_teacher(config.teacher_options)
        model = config.judge_model or endpoint.model
        if not model:
            raise ValueError(
                "the flip judge asks a model: pass --judge-model NAME (or --model) and "
                "--base-url URL of an OpenAI-compatible endpoint"
            )
        return cls(replace(endpoint, model=model), config.budget())

    @property
    def usage(self) -> Usage:
        return self.endpoint.usage

    def ask(self, sample: SourceSample, images: Sequence[Image.Image]) -> str:
        """The model's answer on ``images`` at the budget (cached). Raises Rejection."""
        prompt = question_prompt(sample, images, self.budget)
        done = self.endpoint.complete_sync(prompt, self.params, Usage())
        return done.text.strip() or done.refusal.strip()

    def judge(
        self, sample: SourceSample, image: Image.Image, op: Operation, result: Image.Image | None
    ) -> Judgement | None:
        if result is None:
            result = op.apply(image)
        # several images: every one is shown, the result in place of the one it ran on
        shown = sample.images if sample.more_images else [image]
        before_images = [img for img in shown if isinstance(img, Image.Image)]
        after_images = list(before_images)
        after_images[op.index if sample.more_images else 0] = result
        # A failed request raises Rejection: the sample becomes a rejection with the real
        # reason (timeout, rate limit...), not a candidate wrongly judged unhelpful.
        with self._lock:
            before = self._originals.get(sample.id)
        if before is None:
            before = self.ask(sample, before_images)
            with self._lock:
                if len(self._originals) > 1024:
                    self._originals.clear()
                self._originals[sample.id] = before
        after = self.ask(sample, after_images)
        right_before, right_after = (
            is_correct(before, sample.answer, sample.choices, sample.accepted),
            is_correct(after, sample.answer, sample.choices, sample.accepted),
        )
        ev: dict[str, Any] = {
            "max_side": self.budget.side,
            "model": self.endpoint.config.model,
            "before": before[:200],
            "after": after[:200],
            "correct_before": right_before,
            "correct_after": right_after,
        }
        helpful = right_after and not right_before
        if helpful:
            ev["reveals"] = f'the answer can be read as "{after[:80]}"'
        elif right_before:
            ev["why"] = "already answered correctly from the original"
        else:
            ev["why"] = "still answered wrongly after the operation"
        return Judgement(helpful, 1.0 if helpful else 0.0, self.name, ev)

    def close(self) -> None:
        self.endpoint.close_sync()


JUDGE = JudgeEntry(
    "flip",
    "asks a model (--judge-model, on the teacher's endpoint) the question before and after "
    "the operation, at the budget: helpful when the answer turns right",
    AnswerFlipJudge.of_run,
)
