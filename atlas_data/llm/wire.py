"""The chat-completions wire format the live client and the batches both speak.

A request's body, the line a batch file holds for it, a response read into a
:class:`Completion` (from the SDK's object, a batch result's JSON or the cache's record)
and the tokens its ``usage`` says were spent. Below :mod:`~atlas_data.llm.client` and
:mod:`~atlas_data.llm.batch`, which never import each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openai.types.chat import ChatCompletion

ENDPOINT = "/v1/chat/completions"


class Deferred(Exception):  # noqa: N818 - a signal, not an error
    """A cache miss in a batch pass: the request was spooled, its answer comes later."""


def chat_body(
    model: str, messages: list[dict[str, Any]], params: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body of one chat completion request."""
    return {"model": model, "messages": messages, **params}


def request_line(key: str, body: dict[str, Any]) -> dict[str, Any]:
    """One line of a batch input file (Batch API and ``vllm run-batch`` alike)."""
    return {"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body}


@dataclass
class Completion:
    text: str
    finish_reason: str
    refusal: str = ""
    cached: bool = False

    @classmethod
    def of_record(cls, record: Mapping[str, str]) -> Completion:
        """A completion the response cache kept (:func:`cache_record`)."""
        return cls(record["text"], record["finish_reason"], record.get("refusal", ""), True)


def completion_of(response: ChatCompletion) -> Completion:
    if not response.choices:
        return Completion("", "empty")
    choice = response.choices[0]
    msg = choice.message
    return Completion(
        text=msg.content or "",
        finish_reason=choice.finish_reason or "",
        refusal=getattr(msg, "refusal", None) or "",
    )


def cache_record(c: Completion) -> dict[str, str]:
    """What the response cache keeps of a completion."""
    return {"text": c.text, "finish_reason": c.finish_reason, "refusal": c.refusal}


def completion_record(body: dict[str, Any]) -> dict[str, str]:
    """The cache record of a chat completion's JSON (a batch result line's body)."""
    return cache_record(completion_of(ChatCompletion.model_validate(body)))


def spent_tokens(usage: Any) -> tuple[int, int]:
    """``(prompt, completion)`` tokens of a response's ``usage``: the SDK's object, a batch
    result's JSON, or nothing (a server that does not count)."""
    if usage is None:
        return 0, 0
    if isinstance(usage, Mapping):
        return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)
