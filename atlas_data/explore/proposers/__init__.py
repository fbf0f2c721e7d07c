"""Proposers: where to look. One module each, registered by its ``PROPOSER``.

Each turns a sample and the current canvas into candidate operations; they compose
(``--proposer``, repeatable), and every proposal competes with every other, so
distractors come for free. ``boxes`` reads the sample's own needs (the search asks it for
each step); the others look at the pixels or ask a model, and propose zooms: the
operation that finds evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from PIL import Image

from atlas_data.config import Budget, RunConfig
from atlas_data.ops import Operation
from atlas_data.ops.geometry import box_around
from atlas_data.ops.zoom import filling
from atlas_data.registry import discover, pick
from atlas_data.sources.base import SourceSample


@dataclass(frozen=True)
class Proposal:
    op: Operation
    proposer: str


class Proposer(Protocol):
    name: str

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]: ...


@dataclass(frozen=True)
class ProposerEntry:
    """A proposer as the registry knows it. ``build`` is ``None`` for ``boxes``, which the
    search consults itself; ``default_for`` names the sources whose default includes it,
    ``needs_model`` that it asks the teacher's endpoint (default only with one)."""

    name: str
    about: str
    build: Callable[[RunConfig], Any] | None
    default_for: frozenset[str] = frozenset()
    needs_model: bool = False


@cache
def proposers() -> dict[str, ProposerEntry]:
    """Every proposer module of this package, by name."""
    return discover(__name__, "PROPOSER", ProposerEntry)


def proposer_names(config: RunConfig) -> list[str]:
    """The proposers in force: the ones given, or the source's default."""
    if config.proposers is not None:
        return list(config.proposers)
    model = config.teacher != "template"
    return [
        name
        for name, entry in proposers().items()
        if config.source in entry.default_for and (model or not entry.needs_model)
    ]


def build_proposers(config: RunConfig) -> list[Proposer]:
    """The run's free proposers (``boxes`` is built into the search: it reads the needs),
    each given the run's budget (``config.budget()``)."""
    entries = pick("proposer", proposer_names(config), proposers())
    return [entry.build(config) for entry in entries if entry.build is not None]


def zoom_on(box: Any, budget: Budget) -> Operation | None:
    """A zoom on ``box`` magnified to fill the budget (``None`` for a sliver)."""
    params = filling(box, budget)
    return Operation("zoom", params) if params is not None else None


def zooms_around(
    box: Any, spans: list[tuple[float, float]], size: tuple[int, int], budget: Budget
) -> list[Operation]:
    """Zooms centred on ``box``, one ``(width, height)`` of ``spans`` each, moved inside
    the canvas: a found region is rarely exact, so it is looked at tightly and with context."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    ops = [zoom_on(box_around(cx, cy, w, h, size), budget) for w, h in spans]
    return [op for op in ops if op is not None]
