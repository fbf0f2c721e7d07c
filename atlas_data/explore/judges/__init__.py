"""Judges: did an operation help? One module each, registered by its ``JUDGE``.

A judge returns a :class:`~atlas_data.trajectory.judgement.Judgement` or ``None`` (it
abstains: the OCR judge on a counting question). Judges that can rule from parameters
alone (``needs_pixels = False``, or a ``screen`` method) rule first, so only the few
candidates still in the race are run on their pixels. A judge may also offer ``direct``:
its proof that the answer needs no operation at all. Every judge looks at images at the
run's budget (:class:`~atlas_data.config.Budget`), never at full resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.ops import Operation
from atlas_data.registry import discover, pick
from atlas_data.sources.base import SourceSample
from atlas_data.trajectory.judgement import Judgement


class Judge(Protocol):
    name: str
    needs_pixels: bool  # False: judges from parameters alone, so results are made lazily

    def judge(
        self, sample: SourceSample, image: Image.Image, op: Operation, result: Image.Image | None
    ) -> Judgement | None: ...


@dataclass(frozen=True)
class JudgeEntry:
    """A judge as the registry knows it: its name, what it checks, how to build it for a
    run, and whether it is in the default set."""

    name: str
    about: str
    build: Callable[[RunConfig], Any]
    default: bool = False


@cache
def judges() -> dict[str, JudgeEntry]:
    """Every judge module of this package, by name."""
    return discover(__name__, "JUDGE", JudgeEntry)


def judge_names(config: RunConfig) -> list[str]:
    """The judges in force: the ones given, or the default set."""
    if config.judges is not None:
        return list(config.judges)
    return [name for name, entry in judges().items() if entry.default]


def build_judges(config: RunConfig) -> list[Judge]:
    """The run's judges, each looking at the run's budget."""
    return [entry.build(config) for entry in pick("judge", judge_names(config), judges())]
