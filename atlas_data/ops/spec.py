"""What an operation *is*, in one place: :class:`OpSpec`.

Each operation module in this package defines one ``SPEC``: how to run it, its parameter
limits (from which the vocabulary's JSON Schema is generated), a coordinate-free
description for teachers, phrasings of intent for the offline teacher, the token category
it belongs to, and what exploration needs of it: how a need is completed at the run's
budget, variants and distractors to propose around a needed operation, how closely a
candidate matches a needed one, and what its result does to the frame of coordinates.
Adding an operation is adding one module here; nothing else changes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from atlas_data.config import Budget
from atlas_data.ops.frame import Frame, keep_frame
from atlas_data.ops.params import Param, params_schema

# The paper's token categories, in the paper's order (tokens.py maps them to spellings).
CATEGORIES = ("manipulation", "line", "arrow", "shape", "text")
MAX_IMAGES = 8  # images per sample, at most
IMAGE_INDEX = {
    "type": "integer",
    "minimum": 0,
    "maximum": MAX_IMAGES - 1,
    "description": "which input image to act on, counting from 0 (omitted: the first)",
}
POINT_TOL = 0.03  # of the image diagonal: how far a point may be from the needed one
SMALL_READINGS = 2.0  # under this many reading sizes (at the budget) a thing is small


@dataclass(frozen=True)
class Need:
    """An operation that genuinely helps a sample, as its source knows it (ground truth).

    Coordinates are those of the source image it acts on (``image``, counting from 0).
    ``reveals`` is one clause on what the result shows; ``evidence`` is the region that
    holds the answer and ``detail_px`` how big its telling detail is (the letters' height,
    a counted object's size), when the source knows it. A source states what it knows; the
    operation's spec completes the parameters at the run's budget (``OpSpec.complete``: a
    zoom's box and factor come from its evidence).

    ``measure`` holds what annotations say the drawing is *for* and the numbers its help
    rule weighs (``{"purpose": "count", "count": 13, "spacing_px": 21.0}``): a need built
    from a user's annotations or a model's pointing is proved by ``OpSpec.helps``. A need
    without one (a synthetic scene's) helps by construction.
    """

    op: str
    params: dict[str, Any]
    reveals: str = ""
    detail_px: float | None = None
    evidence: list[float] | None = None
    measure: dict[str, Any] | None = None
    image: int = 0  # which of the sample's images it acts on (coordinates are that image's)


@dataclass(frozen=True)
class ProposeContext:
    """What proposing variants of a need may look at: the image size, the other salient
    regions of the scene (for distractors) and a seeded generator."""

    size: tuple[int, int]
    objects: Sequence[Sequence[float]]
    rng: random.Random


@dataclass(frozen=True)
class MatchContext:
    """What judging a candidate against a need may look at: the image size and the
    trainee's budget (longest side it sees, glyph height it reads)."""

    size: tuple[int, int]
    budget: Budget

    @property
    def diagonal(self) -> float:
        return math.hypot(*self.size)

    @property
    def scale(self) -> float:
        """Budget pixels per pixel of this canvas: how much it shrinks when shown."""
        return self.budget.scale(self.size)

    def small(self, px: float) -> bool:
        """Whether something ``px`` pixels across (on this canvas) is small at the budget:
        under twice the reading size, too small to make out or to tell apart reliably."""
        return px * self.scale < SMALL_READINGS * self.budget.reading_px


@dataclass(frozen=True)
class Match:
    """How well a candidate reproduces a need: ``ok`` is the verdict, ``score`` ranks."""

    ok: bool
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)


def no_variants(params: dict[str, Any], ctx: ProposeContext) -> list[dict[str, Any]]:
    return []


def as_given(need: Need, ctx: MatchContext) -> list[Need]:
    """A need whose parameters its source gave in full (points, ends, a box to draw)."""
    return [need]


def no_rule(need: Need, ctx: MatchContext, image: Image.Image) -> Match | None:
    """No help rule: the operation helps whenever it matches its need."""
    return None


@dataclass(frozen=True)
class OpSpec:
    name: str
    category: str  # one of CATEGORIES: which functional token stands for it by default
    meaning: str  # one sentence for the vocabulary table
    params: dict[str, Param]
    apply: Callable[..., Image.Image]  # apply(image, **params) -> a new image
    describe: Callable[[dict[str, Any]], str]  # coordinate-free, for teachers
    intents: tuple[str, ...]  # first-person sentences of intent, for the offline teacher
    match: Callable[[dict[str, Any], Need, MatchContext], Match]
    variants: Callable[[dict[str, Any], ProposeContext], list[dict[str, Any]]] = no_variants
    reading_intents: tuple[str, ...] = ()  # when the step makes text legible
    # sentences of intent for a need's purpose (``measure["purpose"]``: count, align...)
    purpose_intents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A need's parameters at the run's budget, from what its source knew (evidence, size);
    # it may call for a step before it (marks on crowded points: zoom there first).
    complete: Callable[[Need, MatchContext], list[Need]] = as_given
    # Whether a need with a ``measure`` helps at the budget: the operation's documented
    # rule, its numbers in the evidence (``rule``, ``why`` when it refuses, ``seen``).
    helps: Callable[[Need, MatchContext, Image.Image], Match | None] = no_rule
    # The frame of the result: a zoom opens a new one, a drawing keeps it.
    reframe: Callable[[dict[str, Any], Frame, tuple[int, int]], Frame] = keep_frame

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.name}: category must be one of {CATEGORIES}")

    def schema(self) -> dict[str, Any]:
        """The parameters' JSON Schema, with the image the operation acts on (several
        images per sample: ``image`` counts from 0; omitted, the first)."""
        schema = params_schema(self.params)
        schema["properties"]["image"] = IMAGE_INDEX
        return schema

    def map_coords(
        self, params: dict[str, Any], point: Callable[[Sequence[float]], list[float]]
    ) -> dict[str, Any]:
        """``params`` with every image coordinate passed through ``point`` (a box by its
        corners): how a need written in the source's pixels reaches a zoomed canvas."""
        out = dict(params)
        for name, param in self.params.items():
            value = params.get(name)
            if value is None or not param.coords:
                continue
            if param.coords == "point":
                out[name] = point(value)
            elif param.coords == "points":
                out[name] = [point(p) for p in value]
            else:
                out[name] = point(value[:2]) + point(value[2:])
        return out


def ruled(ok: bool, rule: str, numbers: dict[str, Any], why: str, seen: str = "") -> Match:
    """A help rule's verdict with its rule and numbers, and why it refused (or what is seen)."""
    ev: dict[str, Any] = {"rule": rule, **numbers}
    if ok:
        if seen:
            ev["seen"] = seen
    else:
        ev["why"] = why
    return Match(ok, 1.0 if ok else 0.0, ev)


def purpose(need: Need) -> str:
    return str((need.measure or {}).get("purpose", ""))


def point_error(a: Sequence[float], b: Sequence[float], ctx: MatchContext) -> float:
    """Distance between two points as a share of the image diagonal."""
    return math.dist(a, b) / ctx.diagonal
