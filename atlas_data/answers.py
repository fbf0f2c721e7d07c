"""The one answer rule: is this answer the ground truth?

The SFT verifier (``check_answer``), the RL reward (``rewards.answers_match``) and the flip
judge (``flip.is_correct``) all ask this module, so a text the verifier keeps is a text the
reward scores right. Standard library only: the reward loads it in a trainer process.

What counts as the same answer (:func:`matches`):

* case, surrounding quotes and punctuation, whitespace, ``\\text{}``, a leading article
  (a/an/the): ``"The Dog."`` is ``"dog"``;
* numbers by value: ``"3.0"`` is ``"3"``, ``"3.50"`` is ``"3.5"``, ``"1,000"`` is ``"1000"``,
  ``"$4.50"`` and ``"50%"`` are ``"4.5"`` and ``"50"``, ``"three"`` is ``"3"``; a number with
  a known unit (``"3 cm"``) is the bare number, but two different units are not the same
  and ``"3 apples"`` is not ``"3"``; codes with leading zeros (``"007"``) stay text;
* option letters: ``"(B)"``, ``"B"``, ``"B."``, ``"B)"``, ``"option B"`` are the letter B; with
  ``choices`` a letter is its option's text and the text its letter, and ``"(B) dog"`` is
  right only when B *is* "dog";
* the annotators' ``accepted`` alternatives (VQA) are right too.

Never lax: numbers and words compare as whole tokens (``"13"`` is not ``"3"``, ``"3.5"`` is
not ``"3"``), and a sentence that merely contains the answer is not the answer.
:func:`occurrences` finds an answer *inside* a text (whole tokens, number-aware) for the
callers that read prose: the flip judge's short replies and the answer-leak verifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

__all__ = [
    "in_truth_spelling",
    "matches",
    "normalize",
    "occurrences",
    "option_index",
    "spellings",
]

_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        re.findall(
            r"\S+",
            "zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty",
        )
    )
}
_ARTICLES = frozenset({"a", "an", "the"})
# Units a bare number may carry and still be the bare number ("3 cm" vs "3").
UNITS = frozenset(
    re.findall(
        r"\S+",
        "percent deg degree degrees cm mm m km in inch inches ft foot feet kg g mg lb lbs "
        "s sec secs second seconds min mins minute minutes h hr hrs hour hours px pixel "
        "pixels usd eur gbp dollar dollars euro euros",
    )
)

# A chunk: letters and digits, glued by '.', ',' or ':' only between alphanumerics ("3.5",
# "1,000", "3:05", "KW3A"); a sign or a leading '.' belongs to a number.
_CHUNK = re.compile(r"(?:(?<![\w.-])-(?=\.?\d))?(?:(?<![\w.])\.(?=\d))?[^\W_]+(?:[.,:][^\W_]+)*")
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_LATEX_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")
_LETTER = r"\(?([A-Za-z])\)?[.:)]?"
_BARE_LETTER = re.compile(rf"(?:(?:option|choice|answer|letter)\s*:?\s*)?{_LETTER}", re.I)
_LETTER_AND_TEXT = re.compile(
    r"(?:(?:option|choice)\s*)?(?:\(([A-Za-z])\)|([A-Za-z])[.:)])\s*(\S.*)", re.I | re.S
)


def _canon(chunk: str) -> str:
    """One chunk's canonical spelling: numbers by value, times as h:mm, words lower-case."""
    if _NUMBER.fullmatch(chunk) and any(ch.isdigit() for ch in chunk):
        digits = chunk.lstrip("-")
        if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
            return chunk  # "007" is a code, not seven
        try:
            value = Decimal(chunk.replace(",", "")).normalize()
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return chunk.lower()
        text = format(value, "f")
        return "0" if text == "-0" else text
    t = _TIME.fullmatch(chunk)
    if t:
        return f"{int(t.group(1))}:{t.group(2)}" + (f":{t.group(3)}" if t.group(3) else "")
    # lower() may yield combining marks ("İ" → "i̇") that are no chunk's: drop them
    return re.sub(r"[^\w.,:]", "", chunk.lower())


def _is_number(token: str) -> bool:
    return bool(_NUMBER.fullmatch(token)) and any(ch.isdigit() for ch in token)


def _chunks(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, canonical)`` for every chunk of ``text``; punctuation falls away."""
    text = text.replace("\u2212", "-")  # the minus sign is a sign, not punctuation
    return [(m.start(), m.end(), _canon(m.group(0))) for m in _CHUNK.finditer(text)]


def _tokens(text: str) -> list[str]:
    """The canonical tokens of an answer: no leading article, number words as digits."""
    tokens = [c for _, _, c in _chunks(_LATEX_TEXT.sub(r" \1 ", text))]
    while len(tokens) > 1 and tokens[0] in _ARTICLES:
        tokens = tokens[1:]
    if len(tokens) == 1:
        return [_NUMBER_WORDS.get(tokens[0], tokens[0])]
    # "one" is also a pronoun ("the one on the left"): only a whole answer "one" is 1
    return [_NUMBER_WORDS.get(t, t) if t != "one" else t for t in tokens]


def normalize(text: str) -> str:
    """The canonical spelling two equal answers share (see the module docstring)."""
    return " ".join(_tokens(text))


def _letter(text: str) -> str | None:
    """The option letter ``text`` names on its own ("(B)", "B.", "option B"), upper-case."""
    m = _BARE_LETTER.fullmatch(text.strip().strip("*`'\" "))
    return m.group(1).upper() if m else None


def _letter_and_text(text: str) -> tuple[str, str] | None:
    """``("B", "dog")`` for "(B) dog", "B. dog", "option B) dog"."""
    m = _LETTER_AND_TEXT.fullmatch(text.strip().strip("*`'\" "))
    if not m:
        return None
    return (m.group(1) or m.group(2)).upper(), m.group(3)


def _same_text(got: str, truth: str) -> bool:
    """Equal after normalisation, or the same number with at most one known unit."""
    g, t = _tokens(got), _tokens(truth)
    if not g or not t:
        return False
    if g == t:
        return True
    if len(g) + len(t) == 3:  # one side is "N", the other "N unit" (or "$N" already is N)
        short, longer = (g, t) if len(g) == 1 else (t, g)
        if len(short) == 1 and _is_number(short[0]):
            return longer[0] == short[0] and longer[1] in UNITS
    return False


def _letters_are_texts(choices: Sequence[str]) -> bool:
    """Options whose texts are themselves letters make a bare letter ambiguous."""
    return any(_letter(c) is not None for c in choices)


def option_index(text: str, choices: Sequence[str] | None) -> int | None:
    """Which option ``text`` names: by its text, its letter, or both (which must agree)."""
    options = list(choices) if choices is not None else []
    if not options:
        return None
    for i, option in enumerate(options):
        if _same_text(text, option):
            return i
    if _letters_are_texts(options):
        return None
    letter = _letter(text)
    if letter is not None:
        i = ord(letter) - 65
        return i if 0 <= i < len(options) else None
    both = _letter_and_text(text)
    if both is not None:
        i = ord(both[0]) - 65
        if 0 <= i < len(options) and _same_text(both[1], options[i]):
            return i
    return None


def _same(got: str, truth: str) -> bool:
    if _same_text(got, truth):
        return True
    want = _letter(truth)
    if want is None:
        return False
    if _letter(got) == want:
        return True
    both = _letter_and_text(got)  # "(B) dog" against a bare "B": the letter decides
    return both is not None and both[0] == want


def matches(
    got: str,
    truth: str,
    choices: Sequence[str] | None = None,
    accepted: Iterable[str] = (),
) -> bool:
    """Is ``got`` the right answer: the ground truth, an accepted alternative, or (with
    ``choices``) the same option as the truth, named by its letter or its text?"""
    if not got or not got.strip():
        return False
    truths = [t for t in (truth, *accepted) if t and t.strip()]
    if any(_same(got, t) for t in truths):
        return True
    options = list(choices) if choices is not None else []
    if not options:
        return False
    mine = option_index(got, options)
    return mine is not None and any(option_index(t, options) == mine for t in truths)


def in_truth_spelling(
    got: str,
    truth: str,
    choices: Sequence[str] | None = None,
    accepted: Iterable[str] = (),
) -> str | None:
    """The ground truth as its source spells it when ``got`` is right, else ``None``: a kept
    row's final answer is written the way the reward's ground truth is (``"3"``, not
    ``"3.0"``; ``"B"``, not ``"(B)"``)."""
    return truth.strip() if matches(got, truth, choices, accepted) else None


def spellings(
    truth: str,
    choices: Sequence[str] | None = None,
    accepted: Iterable[str] = (),
) -> list[str]:
    """Every way the right answer is written: the truth, the accepted alternatives and,
    for multiple choice, the right option's text and its letter."""
    out = [t.strip() for t in (truth, *accepted) if t and t.strip()]
    options = list(choices) if choices is not None else []
    if options:
        i = option_index(truth, options)
        if i is not None:
            out.append(options[i].strip())
            if not _letters_are_texts(options):
                out.append(chr(65 + i))
    return list(dict.fromkeys(out))


def occurrences(text: str, answer: str) -> list[tuple[int, int]]:
    """Where ``answer`` stands in ``text`` as whole tokens: ``(start, end)`` spans.

    Number-aware ("3" is in "3 rows" and "3.0 rows", not in "13", "3.5" or "1,300"), number
    words count except "one" (a pronoun too); a one-letter answer (an option letter) counts
    only as that capital letter, never the article "a" or the word "I" in lower case.
    """
    want = _tokens(answer)
    if not want:
        return []
    letter = len(want) == 1 and len(want[0]) == 1 and want[0].isalpha()
    chunks = _chunks(text)
    found: list[tuple[int, int]] = []
    for k in range(len(chunks) - len(want) + 1):
        window = chunks[k : k + len(want)]
        ok = True
        for (start, end, canon), w in zip(window, want, strict=True):
            if letter:
                ok = text[start:end] == w.upper()
            else:
                ok = canon == w or (canon != "one" and _NUMBER_WORDS.get(canon) == w)
            if not ok:
                break
        if ok:
            found.append((window[0][0], window[-1][1]))
    return found
