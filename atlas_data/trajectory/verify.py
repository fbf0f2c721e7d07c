"""Verifiers: each returns ``None`` (pass) or a detail string; the first failure becomes a
:class:`~atlas_data.rejections.Rejection` at stage ``verify`` under the verifier's code.

Every check reads token spellings from the run's vocabulary and the layout from the run's
format preset, so a custom vocabulary or preset is verified by the same code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from atlas_data.rejections import Rejection
from atlas_data.tokens import Vocabulary
from atlas_data.trajectory.formats import (
    PRESET_TAGS,
    TOKEN_LIKE,
    FormatError,
    get_preset,
    normalize_answer,
)
from atlas_data.trajectory.model import IMAGE_PLACEHOLDER, TOOL_CALL_OPEN, Trajectory

# Things that look like special tokens: <|Foo|>, <foo>, </foo>.
# Pixel coordinates or tool syntax that must not survive into the functional-token form.
_LEAKS = (
    (re.compile(r"[\[(]\s*-?\d+(?:\.\d+)?\s*,\s*-?\d+(?:\.\d+)?\s*(?:,|[\])])"), "coordinates"),
    (re.compile(r"\"(?:name|arguments)\"\s*:"), "tool-call JSON"),
    (re.compile(re.escape(TOOL_CALL_OPEN)), "tool-call tag"),
    (re.compile(r"<observation>"), "observation tag"),
    (re.compile(re.escape(IMAGE_PLACEHOLDER)), "image placeholder"),
)


def dedup_key(image_sha: str, question: str) -> str:
    return f"{image_sha}:{' '.join(question.lower().split())}"


@dataclass
class Candidate:
    """Everything the verifiers look at for one trajectory."""

    trajectory: Trajectory
    functional: str
    agentic: str
    truth: str
    vocab: Vocabulary
    preset: str
    key: str
    seen: set[str]
    direct: bool = False  # no operation by design: a judge verified the answer without one
    accepted: tuple[str, ...] = ()  # other answers annotators agreed on (VQA's ten)


def check_format(c: Candidate) -> str | None:
    preset = get_preset(c.preset)
    for form, text in (("functional", c.functional), ("agentic", c.agentic)):
        try:
            preset.parse(text)
        except FormatError as exc:
            return f"{form} form: {exc}"
    return None


def check_answer(c: Candidate) -> str | None:
    try:
        got = get_preset(c.preset).parse(c.functional).answer
    except FormatError:
        return "no parsable final answer"
    if normalize_answer(got) not in {normalize_answer(t) for t in (c.truth, *c.accepted)}:
        return f"answered {got!r}, ground truth is {c.truth!r}"
    return None


def check_known_tokens(c: Candidate) -> str | None:
    allowed = set(c.vocab.tokens) | PRESET_TAGS
    unknown = sorted({m.group(0) for m in TOKEN_LIKE.finditer(c.functional)} - allowed)
    # Custom spellings may not look token-ish; also strip them before looking for strays.
    return f"unknown token(s) {unknown}" if unknown else None


def check_token_placement(c: Candidate) -> str | None:
    want = [c.vocab.token_for(op.name) for op in c.trajectory.operations()]
    got = [m.group(0) for m in c.vocab.token_pattern.finditer(c.functional)]
    if got != want:
        return f"tokens {got} do not match the operations performed {want}"
    if c.preset == "atlas":
        lines = {line.strip() for line in c.functional.splitlines()}
        missing = [t for t in want if t not in lines]
        if missing:
            return f"token(s) {missing} not on a line of their own"
    return None


def check_no_leak(c: Candidate) -> str | None:
    text = c.vocab.token_pattern.sub(" ", c.functional)
    for pattern, what in _LEAKS:
        m = pattern.search(text)
        if m:
            return f"{what} left in the functional-token form: {m.group(0)!r}"
    return None


def check_helpful(c: Candidate) -> str | None:
    for i, step in enumerate(c.trajectory.steps):
        if step.judgement is None or not step.judgement.helpful:
            return f"step {i} ({step.operation.name}) was not judged helpful"
    if c.direct:
        return "a direct answer carries an operation" if c.trajectory.steps else None
    return None if c.trajectory.steps else "no operation in the trajectory"


# Words an observation may wrap around the answer without saying anything of its own.
FRAME_WORDS = frozenset(
    re.findall(
        r"\w+",
        "a an the now it this that these after with done clear clearly is are was be can we "
        "i so here there which of in on at as shows show showing shown displays display "
        "reveals enlarged zoomed magnified region area part image picture result answer "
        "visible see seen look looks after zoom zooming crop cropping closer up",
    )
)


def check_observations(c: Candidate) -> str | None:
    """An observation must say something of the result image, not the answer in a frame
    ("the enlarged region shows 6"): with the answer taken out, a word must remain that is
    not frame."""
    answer = normalize_answer(c.truth)
    for i, step in enumerate(c.trajectory.steps):
        text = normalize_answer(step.observation)
        if not answer or answer not in text:
            continue
        rest = set(re.findall(r"[a-z0-9]+", text.replace(answer, " ")))
        if rest <= FRAME_WORDS:
            return f"step {i}'s observation {step.observation!r} only restates the answer"
    return None


def check_duplicate(c: Candidate) -> str | None:
    return "same image and question already kept in this run" if c.key in c.seen else None


VERIFIERS: tuple[tuple[str, Callable[[Candidate], str | None]], ...] = (
    ("malformed_format", check_format),
    ("unknown_token", check_known_tokens),
    ("token_misplaced", check_token_placement),
    ("leak", check_no_leak),
    ("answer_mismatch", check_answer),
    ("not_helpful", check_helpful),
    ("observation_restates_answer", check_observations),
    ("duplicate", check_duplicate),
)


def verify(c: Candidate) -> Rejection | None:
    """``None`` when every verifier passes, else the rejection of the first failure."""
    for reason, check in VERIFIERS:
        detail = check(c)
        if detail is not None:
            return Rejection(reason, detail, "verify", raw=c.functional)
    return None
