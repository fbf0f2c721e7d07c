"""Rejections: the one type every stage raises, and the catalogue of every reason code.

A broken image (``load``), a sample no operation helps (``explore``), a teacher request that
failed for good (``teach``), a trajectory a verifier refused (``verify``): each becomes one
:class:`Rejection` with ``stage``, ``reason`` (a stable short code from :data:`CATALOGUE`)
and ``detail`` (what a person reads), then one rejection row, and the run goes on.

The catalogue is the only place a code is born: :class:`Rejection` refuses a code it does
not list, the rejects schema's ``reason`` enumeration and ``docs/rejections.md`` are
generated from it (``atlas-data schemas``), and a test fails when they drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The stages of a sample's life, in order.
STAGES = ("load", "filter", "explore", "teach", "verify", "dedup")


@dataclass(frozen=True)
class Reason:
    """One rejection code: the stage(s) that raise it and what it means."""

    code: str
    stages: tuple[str, ...]
    meaning: str


# Model requests (the teacher, and model judges or proposers during explore) fail alike.
_MODEL = ("explore", "teach")

_REASONS = (
    # load: the record or its image cannot become a sample
    Reason("bad_record", ("load",), "A line of the questions file is not a JSON object."),
    Reason("missing_image", ("load",), "The image is absent, empty or cannot be read."),
    Reason("path_outside_root", ("load",), "The image path resolves outside --root."),
    Reason("file_too_large", ("load",), "The image file is larger than max_file_bytes."),
    Reason("wrong_extension", ("load",), "The file's content is not the format its name says."),
    Reason("animated_image", ("load",), "An animation; animated=first_frame takes frame one."),
    Reason("cmyk_image", ("load",), "A CMYK image refused by cmyk=reject."),
    Reason(
        "high_bit_depth", ("load",), "A 16-bit or float image refused by high_bit_depth=reject."
    ),
    Reason("too_many_images", ("load",), "More images than a sample may show (8)."),
    Reason("empty_file", ("load",), "The image file has zero bytes."),
    Reason("zero_size", ("load",), "The image has no pixels."),
    Reason(
        "too_many_pixels", ("load",), "More pixels than --max-pixels (or a decompression bomb)."
    ),
    Reason("extreme_aspect", ("load",), "An aspect ratio beyond 50:1."),
    Reason("not_an_image", ("load",), "The bytes are not a recognised image format."),
    Reason("corrupt_image", ("load",), "The image fails to decode (truncated or damaged)."),
    Reason("bad_bbox", ("load",), "A box that is not 4 finite numbers inside the image."),
    Reason("too_many_boxes", ("load",), "More boxes than a sample may carry."),
    Reason(
        "bad_points",
        ("load",),
        "Points that are malformed, not finite, off the image, or not what the answer counts.",
    ),
    Reason("bad_choices", ("load",), "Choices that are not a list, a mapping or a|b|c."),
    Reason("answer_not_in_choices", ("load",), "The answer is none of the choices."),
    Reason("empty_question", ("load",), "The question is empty."),
    Reason("empty_answer", ("load",), "The ground-truth answer is empty."),
    Reason("question_too_long", ("load",), "The question is too long to fit a prompt."),
    # filter: a sample that may not enter the data
    Reason(
        "contaminated",
        ("filter",),
        "Its image (or, with --decontaminate-questions, its question) is a benchmark's.",
    ),
    # explore: no operation that helps
    Reason("no_candidates", ("explore",), "Nothing annotated and no proposer ran."),
    Reason(
        "operation_not_in_vocabulary",
        ("explore",),
        "The sample needs an operation the vocabulary lacks.",
    ),
    Reason(
        "no_helpful_operation",
        ("explore",),
        "No candidate was judged helpful (and no direct answer was kept).",
    ),
    # teach: the teacher's answer cannot be used (request failures: explore or teach)
    Reason("teacher_timeout", _MODEL, "The model request timed out on every attempt."),
    Reason("teacher_connection_error", _MODEL, "The endpoint could not be reached in time."),
    Reason("teacher_rate_limited", _MODEL, "Rate limited (429) on every attempt."),
    Reason("teacher_server_error", _MODEL, "The endpoint answered 5xx (or 408/409) every time."),
    Reason("teacher_bad_request", _MODEL, "The endpoint refused the request (4xx)."),
    Reason("teacher_error", _MODEL, "The request failed in an unexpected way."),
    Reason(
        "teacher_batch_failed",
        ("teach",),
        "In a batch (Batch API or offline file) the request failed on every retry; the "
        "detail holds the last error line.",
    ),
    Reason("teacher_refused", ("teach",), "The teacher refused, or a content filter stopped it."),
    Reason("teacher_truncated", ("teach",), "The answer hit max_tokens."),
    Reason("teacher_empty", ("teach",), "The teacher returned no text."),
    Reason("teacher_malformed", ("teach",), "The answer holds no usable JSON object."),
    Reason("teacher_off_format", ("teach",), "The JSON misses or mistypes a field."),
    Reason(
        "teacher_no_evidence",
        ("teach",),
        "No judge recorded what the result shows, so no observation can be written.",
    ),
    Reason(
        "teacher_step_mismatch",
        ("teach",),
        "The teacher wrote a different number of steps than operations ran.",
    ),
    # verify: the trajectory fails a check
    Reason("malformed_format", ("verify",), "The text does not follow the format preset."),
    Reason("unknown_token", ("verify",), "A token-like string not in the vocabulary."),
    Reason(
        "token_misplaced",
        ("verify",),
        "The tokens differ from the operations performed, or are not on their own line.",
    ),
    Reason("leak", ("verify",), "Coordinates or tool syntax left in the functional form."),
    Reason("answer_mismatch", ("verify",), "The final answer differs from the ground truth."),
    Reason(
        "answer_before_operation",
        ("verify",),
        "The reasoning states the answer before its first functional token, so the operation "
        "only decorates it.",
    ),
    Reason("not_helpful", ("verify",), "An operation was not judged helpful."),
    Reason(
        "observation_restates_answer",
        ("verify",),
        "An observation only restates the answer instead of what the result shows.",
    ),
    # dedup: decided in source order, after every verifier passed
    Reason("duplicate", ("dedup",), "The same image and question were already kept."),
    Reason(
        "near_duplicate",
        ("dedup",),
        "A near-duplicate image (resized, re-encoded, cropped) with the same question was "
        "already kept.",
    ),
)

CATALOGUE: dict[str, Reason] = {r.code: r for r in _REASONS}


class Rejection(Exception):
    """A sample refused at ``stage`` for ``reason``; ``detail`` says why in words.

    ``trail`` holds what was tried, with every verdict (operation structs), and ``raw`` the
    model text behind a teacher rejection, both kept on the rejection row for inspection.
    """

    def __init__(
        self,
        reason: str,
        detail: str,
        stage: str = "",
        trail: list[dict[str, Any]] | None = None,
        raw: str = "",
    ) -> None:
        entry = CATALOGUE.get(reason)
        if entry is None:
            raise ValueError(f"rejection reason {reason!r} is not in the catalogue")
        if stage and stage not in entry.stages:
            raise ValueError(f"{reason!r} is a {'/'.join(entry.stages)} reason, not {stage!r}")
        super().__init__(f"{stage or '?'}/{reason}: {detail}")
        self.stage, self.reason, self.detail = stage, reason, detail
        self.trail = trail or []
        self.raw = raw

    def at(self, stage: str) -> Rejection:
        """The same rejection, attributed to ``stage`` unless the raiser already named one."""
        if self.stage:
            return self
        return Rejection(self.reason, self.detail, stage, self.trail, self.raw)

    def with_trail(self, trail: list[dict[str, Any]]) -> Rejection:
        """The same rejection, carrying ``trail`` (the operations that ran) on its row."""
        return Rejection(self.reason, self.detail, self.stage, trail, self.raw)

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across process pools
        return (Rejection, (self.reason, self.detail, self.stage, self.trail, self.raw))


def docs_table() -> str:
    """``docs/rejections.md``: every code with its stage(s) and meaning (generated)."""
    lines = [
        "# Rejection reasons",
        "",
        "<!-- generated from atlas_data/rejections.py by `atlas-data schemas`; do not edit -->",
        "",
        "Every sample that does not become a trajectory is one row in `rejects/` with a "
        "`stage` and one of these `reason` codes (`atlas-data query RUN --recipe "
        "rejection-reasons` counts them).",
        "",
        "| reason | stage | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{r.code}` | {', '.join(r.stages)} | {r.meaning} |" for r in _REASONS]
    return "\n".join(lines) + "\n"
