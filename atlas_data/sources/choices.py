"""A record's answer and choices as the dataset wrote them, read into text: option lists in
their many spellings, the right option named by letter, index or text, and annotator
answers (VQA's ten) reduced to their consensus. Comparing a model's answer with these is
not done here (that is the answer rule's job); this only reads what a record says."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from atlas_data.rejections import Rejection
from atlas_data.sources.columns import maybe_json

_LETTER_PREFIX = re.compile(r"^\s*\(?([A-Za-z])\s*[.):]\s*")
AGREEING = 3  # annotators who must give an answer for it to count (VQA accuracy's rule)


def normalize_choices(value: Any) -> list[str] | None:
    """A list, a JSON list, ``a|b|c`` or ``{"A": ..}`` → list of option texts."""
    value = maybe_json(value)
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = [value[k] for k in sorted(value)]
    elif isinstance(value, str):
        sep = "|" if "|" in value else "\n"
        value = [v for v in value.split(sep) if v.strip()]
    elif not isinstance(value, list | tuple):
        raise Rejection("bad_choices", f"choices must be a list, a mapping or a|b|c, got {value!r}")
    choices = [str(v).strip() for v in value]
    if not choices:
        return None
    letters = [_LETTER_PREFIX.match(c) for c in choices]
    if all(letters) and [m.group(1).upper() for m in letters if m] == [
        chr(65 + i) for i in range(len(choices))
    ]:
        choices = [_LETTER_PREFIX.sub("", c, count=1).strip() for c in choices]
    return choices


def consensus(answers: Sequence[Any]) -> tuple[str, list[str]]:
    """Annotator answers (VQA's ten): the most common (ties: the first given), and every
    answer given by at least :data:`AGREEING` annotators (or by the most, if none is)."""
    given = [str(a).strip() for a in answers if str(a or "").strip()]
    if not given:
        return "", []
    tally = Counter(a.lower() for a in given)
    top = max(tally.values())
    first = {a.lower(): a for a in reversed(given)}  # the first spelling of each
    best = next(a for a in given if tally[a.lower()] == top)
    accepted = [first[a] for a, n in tally.items() if n >= min(AGREEING, top)]
    return best, accepted


def resolve_answer(answer: Any, choices: list[str] | None) -> str:
    """The answer as text; for multiple choice, the text of the right option; for a list of
    annotator answers, their consensus."""
    if isinstance(answer, (list, tuple)):  # e.g. VQA lists of annotator answers
        answer = consensus(answer)[0]
    if not choices:
        return "" if answer is None else str(answer).strip()
    if isinstance(answer, int) and not isinstance(answer, bool):
        if 0 <= answer < len(choices):
            return choices[answer]
        raise Rejection("answer_not_in_choices", f"index {answer} with {len(choices)} choices")
    text = "" if answer is None else str(answer).strip()
    lowered = [c.lower() for c in choices]
    if text.lower() in lowered:
        return choices[lowered.index(text.lower())]
    m = re.fullmatch(r"\(?([A-Za-z])\)?\.?", text)
    if m and ord(m.group(1).upper()) - 65 < len(choices):
        return choices[ord(m.group(1).upper()) - 65]
    if text.isdigit() and int(text) < len(choices):
        return choices[int(text)]
    rest = _LETTER_PREFIX.sub("", text, count=1).strip().lower()  # "(C) text" / "C. text"
    if rest != text.lower() and rest in lowered:
        return choices[lowered.index(rest)]
    raise Rejection("answer_not_in_choices", f"answer {text!r} is none of {choices}")
