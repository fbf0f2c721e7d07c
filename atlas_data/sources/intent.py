"""What a question asks for, in one place: counting, a change between images, alignment,
lengths, comparing regions, a relation from an anchor, naming, reading.

The kinds a question matches come in priority order; the need builder
(:mod:`atlas_data.sources.needs`) takes the first one the record's annotations can serve
("Is A above B?" is an alignment with two points and a relation with two boxes). Reading is
separate: a question may ask to read *and* to relate ("Which letter is written nearest to
the pentagon?"), and the OCR judge only asks whether reading is involved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("count", "change", "align", "length", "compare", "relate", "name")

_PATTERNS: dict[str, re.Pattern[str]] = {
    "count": re.compile(r"\b(how many|count|number of|total of|tally)\b"),
    "change": re.compile(
        r"\b(differen(t|ce|ces|s)|differs?|chang(e|ed|es)|altered|alteration|modified|edited|"
        r"missing (from|in)|added to|spot the|not the same|no longer)\b"
    ),
    "align": re.compile(
        r"\b(same (height|level|row|column|horizontal line|vertical line)|level with|"
        r"exactly level|(horizontally|vertically) aligned|aligned|collinear|"
        r"(on|in) (a|one|the same) (straight )?line|higher|lower|above|below|"
        r"directly (above|below|under))\b"
    ),
    "length": re.compile(r"\b(longer|shorter|same length|equal(ly)? long|equal length)\b"),
    "compare": re.compile(
        r"\b(bigger|larger|smaller|biggest|largest|smallest|taller|wider|narrower|thicker|"
        r"thinner|same size|greater area|more area)\b"
    ),
    "relate": re.compile(
        r"\b(nearest|closest|next to|adjacent to|left of|right of|above|below|beneath|"
        r"on top of|(points?|pointing) (to|at|towards)|connected to|linked to|joined to|beside|"
        r"leads? to|towards)\b"
    ),
    "name": re.compile(
        r"\b(which (letter|label|name|point|mark)|what (letter|label|name) (is|marks|labels)|"
        r"labell?ed|is called)\b"
    ),
}
_VERTICAL = re.compile(
    r"\b(vertically aligned|same (column|vertical line)|directly (above|below|under))\b"
)
_COLLINEAR = re.compile(r"\b(collinear|(on|in) (a|one|the same) (straight )?line)\b")
READING = re.compile(
    r"\b(code|text|written|write|read|reads|say|says|printed|label|word|words|sign|"
    r"title|name on|number on|letters?|digits?|sticker|plate|serial)\b",
    re.IGNORECASE,
)
TEXT_TASKS = frozenset({"small_text", "ocr", "text", "textvqa", "docvqa"})
_LABEL = re.compile(r"\b([A-Z][0-9]?)\b")


@dataclass(frozen=True)
class Intent:
    """The kinds a question matches, most specific first; the labels it names (point or
    region labels such as ``A``); the axis of an alignment; whether it asks to read."""

    kinds: tuple[str, ...]
    labels: tuple[str, ...] = ()
    axis: str = "horizontal"  # align: horizontal (same height), vertical, or through (collinear)
    reads: bool = False


def intent_of(question: str) -> Intent:
    """The intent of ``question`` (options appended to it are fine: they are ignored)."""
    text = " ".join(question.lower().split())
    kinds = tuple(k for k in KINDS if _PATTERNS[k].search(text))
    axis = "vertical" if _VERTICAL.search(text) else "horizontal"
    if _COLLINEAR.search(text):
        axis = "through"
    labels = tuple(dict.fromkeys(_LABEL.findall(question)))
    return Intent(kinds, labels, axis, bool(READING.search(question)))


def is_reading(question: str, task: str = "") -> bool:
    """Whether answering needs text read from the image (the OCR judge speaks only then)."""
    return task in TEXT_TASKS or bool(READING.search(question))
