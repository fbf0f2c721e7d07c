"""The ``openai`` teacher: any OpenAI-compatible chat endpoint (OpenAI, vLLM, SGLang, Ollama).

It sees the question, the original image and the result image of every operation that
ran, and writes the reasoning *around* those operations as JSON (structured outputs where
the server supports them, a tolerant parser where it does not). It never chooses
operations: the ones it is given are the ones that happened, and the pipeline rejects an
answer whose step count differs. Every failure is a :class:`TeachResult` with a specific
reason and the raw text, never an exception, except an endpoint that is unreachable or
lacks the model, which stops the run with :class:`TeacherUnavailable`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from atlas_data.config import Budget
from atlas_data.llm import Completion, Endpoint, EndpointConfig, Prompt, Usage
from atlas_data.llm.count import text_tokens
from atlas_data.ops import spec_of
from atlas_data.rejections import Rejection
from atlas_data.teacher.base import Reasoning, StepText, TeachRequest, TeachResult

PROMPT_VERSION = 2
SCHEMA_NAME = "atlas_reasoning"

REASONING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "preamble": {"type": "string"},
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "intent": {"type": "string"},
                    "observation": {"type": "string"},
                },
                "required": ["intent", "observation"],
                "additionalProperties": False,
            },
        },
        "conclusion": {"type": "string"},
        "answer": {"type": "string"},
    },
    "required": ["preamble", "steps", "conclusion", "answer"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = """\
You write the reasoning of a model that answers a visual question by performing visual \
operations on the image (zooming, drawing lines, arrows, boxes, marks or labels). The \
operations have already been performed: you are shown the original image and, in order, \
the result image of each operation. Do not add, drop or reorder operations.

Reply with a JSON object only:
{"preamble": "...", "steps": [{"intent": "...", "observation": "..."}], \
"conclusion": "...", "answer": "..."}
- preamble: one or two sentences on what makes the question hard from the original image \
(with no operation: what in the original image answers it).
- steps: exactly one entry per operation, in order (none when there is no operation). \
intent: one sentence saying what you will do next and why. observation: one or two \
sentences on what its result image shows: what is written, counted, met or pointed at, \
never just the answer restated.
- conclusion: one sentence that draws the answer from what was seen.
- answer: the final answer only, as short as possible.
Never mention pixel coordinates, numbers of pixels, tool names, JSON or special tokens in \
the prose."""

_REFUSAL = re.compile(
    r"^\s*(i'?m sorry|i am sorry|sorry|i can(?:'|no)t|i cannot|i am unable|i'm unable|"
    r"as an ai|i won'?t)\b",
    re.IGNORECASE,
)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class TeacherOptions(EndpointConfig):
    """``--teacher-opt`` keys of the openai teacher: the endpoint's, plus how to ask. The
    images it is shown follow the run's budget (``--budget-side``), not an option here."""

    temperature: float = 0.0
    max_tokens: int = 1024
    structured: str = "json_schema"  # json_schema | json_object | none
    hint_answer: bool = True

    def __post_init__(self) -> None:
        if self.structured not in ("json_schema", "json_object", "none"):
            raise ValueError(
                f"structured must be json_schema, json_object or none: {self.structured!r}"
            )


def build_prompt(request: TeachRequest, budget: Budget, hint_answer: bool = True) -> Prompt:
    """The messages for one sample: images are placeholders until the prompt is materialized
    (at most ``budget.side`` on their longest side)."""
    prompt = Prompt(messages=[], max_side=budget.side)
    lines = [f"Question: {request.question.strip()}"]
    if request.choices:
        lines.append("Options: " + "; ".join(request.choices))
    if hint_answer:
        lines.append(
            f"The correct answer is: {request.answer.strip()}\n"
            "Write reasoning that reaches it from what the images show."
        )
    if len(request.images) > 1:
        n = len(request.images)
        lines.append(
            f"The question shows {n} images, labelled Image 1 to Image {n}; each operation "
            "acted on the image it names. Refer to the images by these numbers."
        )
    lines.append(f"Number of operations: {len(request.steps)}")
    if request.direct is not None:
        seen = str(request.direct.get("seen") or "").strip()
        lines.append(
            "No operation helps here: the original image answers the question as it is"
            + (f" (a checker noted: {seen})." if seen else ".")
        )
    content: list[dict[str, Any]] = [{"type": "text", "text": "\n".join(lines)}]
    several = len(request.images) > 1
    if not several:
        content.append({"type": "text", "text": "Original image:"})
    if request.images:
        content += prompt.add_images(request.images)
    for k, step in enumerate(request.steps, start=1):
        op = step.operation
        on = f" (on image {op.index + 1})" if several else ""
        text = f"Operation {k}{on}: {spec_of(op.name).describe(dict(op.params))}."
        if step.judgement.seen:
            text += f" A checker noted that its result shows: {step.judgement.seen}."
        content.append({"type": "text", "text": text})
        content.append({"type": "text", "text": f"Result of operation {k}:"})
        content.append(prompt.add_image(step.result))
    prompt.messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": content},
    ]
    return prompt


def extract_json(text: str, keys: tuple[str, ...] = ()) -> Any:
    """The first JSON object in ``text``: bare, in a code fence, or followed by prose. With
    ``keys``, the first one holding any of them, else the chunk's outermost object: an
    answer broken midway must not yield one of its nested objects (a single step) as if it
    were the answer."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for chunk in candidates:
        outermost = start = chunk.find("{")
        fallback = None
        while start != -1:
            try:
                obj, _ = decoder.raw_decode(chunk, start)
                if not keys or (isinstance(obj, dict) and any(k in obj for k in keys)):
                    return obj
                if start == outermost:
                    fallback = (obj,)
            except json.JSONDecodeError:
                pass
            start = chunk.find("{", start + 1)
        if fallback:
            return fallback[0]
    raise ValueError("no JSON object in the answer")


def _str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{where}{key!r} must be a string, got {type(value).__name__}")
    return value.strip()


def parse_reasoning(completion: Completion) -> TeachResult:
    """Turn a completion into reasoning, or a rejection with a specific reason and the raw text."""
    raw = completion.text
    if completion.refusal:
        return TeachResult.refused("teacher_refused", completion.refusal[:500], raw or "")
    if completion.finish_reason == "content_filter":
        return TeachResult.refused(
            "teacher_refused", "the endpoint's content filter stopped it", raw
        )
    if completion.finish_reason == "length":
        return TeachResult.refused(
            "teacher_truncated", "the answer hit max_tokens (finish_reason=length)", raw
        )
    if not raw.strip():
        return TeachResult.refused("teacher_empty", f"empty answer ({completion.finish_reason})")
    try:
        obj = extract_json(raw, ("preamble", "steps", "answer"))
    except ValueError as exc:
        if _REFUSAL.match(raw):
            return TeachResult.refused("teacher_refused", raw.strip()[:300], raw)
        return TeachResult.refused("teacher_malformed", str(exc), raw)
    try:
        if not isinstance(obj, dict):
            raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
        steps = obj.get("steps")
        if not isinstance(steps, list):
            raise ValueError("'steps' must be a list")
        texts = []
        for i, s in enumerate(steps):
            if not isinstance(s, dict):
                raise ValueError(f"steps[{i}] must be an object")
            texts.append(
                StepText(_str(s, "intent", f"steps[{i}]."), _str(s, "observation", f"steps[{i}]."))
            )
        reasoning = Reasoning(
            preamble=_str(obj, "preamble", ""),
            steps=texts,
            conclusion=_str(obj, "conclusion", ""),
            answer=_str(obj, "answer", ""),
        )
    except ValueError as exc:
        return TeachResult.refused("teacher_off_format", str(exc), raw)
    if not reasoning.answer:
        return TeachResult.refused("teacher_off_format", "'answer' is empty", raw)
    return TeachResult(reasoning)


def expected_output_tokens(request: TeachRequest) -> int:
    """The answer's projected length (``--estimate``): the reasoning JSON the offline
    template teacher writes for the same operations (a preamble, an intent and an
    observation per step, a conclusion, the answer), in the estimate's tokens."""
    from atlas_data.teacher.template import TemplateTeacher

    taught = TemplateTeacher().teach_sync(request)
    reasoning = taught.reasoning or Reasoning(
        request.question,
        [StepText(request.question, request.question)] * len(request.steps),
        request.question,
        request.answer,
    )
    return text_tokens(json.dumps(dataclasses.asdict(reasoning)))


class OpenAITeacher:
    """Async, cached, retried teacher on an OpenAI-compatible ``/v1/chat/completions``."""

    name = "openai"

    def __init__(self, options: TeacherOptions, budget: Budget) -> None:
        self.options = options
        self.endpoint = Endpoint(options)
        self.structured = options.structured  # may fall back to "none" on an old server
        self.budget = budget  # the run's budget: the trainee's view

    @classmethod
    def from_options(cls, options: dict[str, Any], budget: Budget) -> OpenAITeacher:
        return cls(TeacherOptions.from_options(options), budget)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self.options.describe(), "prompt_version": PROMPT_VERSION}

    @property
    def usage(self) -> Usage:
        """Totals over this teacher's life (each TeachResult carries its own share)."""
        return self.endpoint.usage

    def _params(self) -> dict[str, Any]:
        o = self.options
        params: dict[str, Any] = {"temperature": o.temperature, "max_tokens": o.max_tokens}
        if self.structured == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": REASONING_SCHEMA, "strict": True},
            }
        elif self.structured == "json_object":
            params["response_format"] = {"type": "json_object"}
        return params

    def defer(self, failed: Mapping[str, str]) -> None:
        self.endpoint.defer(failed)

    @property
    def deferred(self) -> list[dict[str, Any]]:
        return self.endpoint.deferred

    async def teach(self, request: TeachRequest) -> TeachResult:
        usage = Usage()
        # Building the prompt hashes every image's pixels: keep it off the event loop.
        prompt = await asyncio.to_thread(
            build_prompt, request, self.budget, self.options.hint_answer
        )
        expect = expected_output_tokens(request) if self.endpoint.deferring else 0
        try:
            try:
                completion = await self.endpoint.complete(prompt, self._params(), usage, expect)
            except Rejection as exc:
                if exc.reason != "teacher_bad_request" or self.structured == "none":
                    raise
                if "response_format" not in exc.detail and "json_schema" not in exc.detail:
                    raise
                # The server does not do structured outputs: ask in prose, parse tolerantly.
                self.structured = "none"
                completion = await self.endpoint.complete(prompt, self._params(), usage)
        except Rejection as exc:
            return TeachResult.refused(exc.reason, exc.detail, usage=usage)
        result = parse_reasoning(completion)
        result.usage = usage
        return result

    async def aclose(self) -> None:
        await self.endpoint.aclose()
