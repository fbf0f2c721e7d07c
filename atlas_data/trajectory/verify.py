"""Verifiers: each returns ``None`` (pass) or a detail string; the first failure becomes a
:class:`~atlas_data.rejections.Rejection` at stage ``verify`` under the verifier's code.

Every check reads token spellings from the run's vocabulary and the layout from the run's
format preset, so a custom vocabulary or preset is verified by the same code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from atlas_data import answers
from atlas_data.rejections import Rejection
from atlas_data.tokens import Vocabulary
from atlas_data.trajectory.formats import (
    PRESET_TAGS,
    TOKEN_LIKE,
    FormatError,
    Parsed,
    get_preset,
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


@dataclass
class Candidate:
    """Everything the verifiers look at for one trajectory."""

    trajectory: Trajectory
    functional: str
    agentic: str
    truth: str
    vocab: Vocabulary
    preset: str
    direct: bool = False  # no operation by design: a judge verified the answer without one
    accepted: tuple[str, ...] = ()  # other answers annotators agreed on (VQA's ten)
    choices: tuple[str, ...] = ()  # the options of a multiple-choice question

    @cached_property
    def parsed(self) -> dict[str, Parsed | FormatError]:
        """Each form parsed once under the preset (or why it does not parse)."""
        preset = get_preset(self.preset)
        out: dict[str, Parsed | FormatError] = {}
        for form, text in (("functional", self.functional), ("agentic", self.agentic)):
            try:
                out[form] = preset.parse(text)
            except FormatError as exc:
                out[form] = exc
        return out


def check_format(c: Candidate) -> str | None:
    for form, parsed in c.parsed.items():
        if isinstance(parsed, FormatError):
            return f"{form} form: {parsed}"
    return None


def check_answer(c: Candidate) -> str | None:
    parsed = c.parsed["functional"]
    if isinstance(parsed, FormatError):
        return "no parsable final answer"
    got = parsed.answer
    if not answers.matches(got, c.truth, c.choices, c.accepted):
        return f"answered {got!r}, ground truth is {c.truth!r}"
    return None


# Words after which a short answer is being asserted ("it is 7", "reads B", "answer: 7").
_CUES = frozenset(
    re.findall(
        r"\S+",
        "is are was were be been being seems seem seemed looks look reads read says say "
        "shows show showing displays indicates equals reaches gives count counted like "
        "likely probably perhaps maybe guess answer : = it's that's there's",
    )
)
# Words that may stand between the cue and the answer ("is probably option B").
_FILLERS = frozenset(
    re.findall(
        r"\S+",
        "a an the box option choice letter number label value just exactly only clearly "
        "probably likely about around roughly approximately maybe perhaps",
    )
)
_CLAUSE_END = re.compile(
    r"""[ \t)\]"'’”*`]*(?:[.;,!?:—–\n]|-(?=\s)|$"""
    r"|(?:so|but|and|which|though|although|because|yet|or)\b)"
)
_CLAUSE_START = re.compile(r"[.;!?\n]")


def _telling(spelling: str) -> bool:
    """An answer no preamble writes by accident: a code, a decimal, a time, a phrase with a
    number ("KW3A", "4.50", "3:05", "row 2, column 3"); not a bare integer, letter or word."""
    norm = answers.normalize(spelling)
    if not any(ch.isdigit() for ch in norm):
        return False
    return not re.fullmatch(r"-?\d+", norm)


def _asserted(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` is said to be the answer: a cue word before it in its clause (at
    most three filler words between) and the clause ends right after it."""
    if not _CLAUSE_END.match(text, end):
        return False
    clause = _CLAUSE_START.split(text[:start])[-1]
    words = re.findall(r"[\w']+|[:=]", clause.lower().replace("’", "'"))
    for word in reversed(words[-4:]):
        if word in _CUES:
            return True
        if word not in _FILLERS:
            return False
    return False


def check_answer_before_operation(c: Candidate) -> str | None:
    """The text before the first functional token (the preamble and the first intent) must
    not state the answer: "It reads KW3A; let me zoom in to check" teaches the model that
    the token is decoration (Monet drops such samples).

    It states the answer when it holds ``\\boxed{``, or a right answer's spelling (the
    truth, an accepted answer, the right option's text or letter) as whole tokens
    (number-aware: "3" is not in "13" or "3.5"), where

    * a *telling* spelling (a code, a decimal, a time, a phrase with a number: "KW3A",
      "4.50", "row 2, column 3") counts anywhere;
    * any other (a bare integer, an option letter, a word: "2", "B", "yes", "red") counts
      only when asserted: after a cue word of its clause ("is", "reads", "looks like",
      "answer:"...) and at the clause's end ("It is 2.", "probably B, but", "the answer
      is yes;"). So "the 2 rows", "label A is small", "I need" pass; "there are 2 dots
      inside" slips through: a false positive would drop honest rows.

    Direct trajectories (no operation) state their answer by design and are exempt.
    """
    if c.direct:
        return None
    first = c.vocab.token_pattern.search(c.functional)
    if first is None:
        return None
    before = c.functional[: first.start()]
    if "\\boxed{" in before:
        return "a \\boxed{} answer before the first operation"
    for spelling in answers.spellings(c.truth, c.choices, c.accepted):
        telling = _telling(spelling)
        for start, end in answers.occurrences(before, spelling):
            if telling or _asserted(before, start, end):
                line = before[:end].rsplit("\n", 1)[-1] + before[end:].split("\n", 1)[0]
                said = before[start:end]
                return f"states the answer {said!r} before the first operation: {line.strip()!r}"
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
    answer = answers.normalize(c.truth)
    for i, step in enumerate(c.trajectory.steps):
        text = answers.normalize(step.observation)
        if not answer or answer not in text:
            continue
        rest = set(re.findall(r"[a-z0-9]+", text.replace(answer, " ")))
        if rest <= FRAME_WORDS:
            return f"step {i}'s observation {step.observation!r} only restates the answer"
    return None


VERIFIERS: tuple[tuple[str, Callable[[Candidate], str | None]], ...] = (
    ("malformed_format", check_format),
    ("unknown_token", check_known_tokens),
    ("token_misplaced", check_token_placement),
    ("leak", check_no_leak),
    ("answer_mismatch", check_answer),
    ("answer_before_operation", check_answer_before_operation),
    ("not_helpful", check_helpful),
    ("observation_restates_answer", check_observations),
)


def verify(c: Candidate) -> Rejection | None:
    """``None`` when every verifier passes, else the rejection of the first failure."""
    for reason, check in VERIFIERS:
        detail = check(c)
        if detail is not None:
            return Rejection(reason, detail, "verify", raw=c.functional)
    return None
