"""Synthetic task families, one module each (a ``FAMILY``: generator, phrasings, chains).

A family module draws a scene and keeps its scene graph, so the answer and the operations
that reveal it are computed, never guessed. Adding a family is adding one module here;
:func:`families` finds it. What the generators share (colours, shapes, placement, fonts,
paper and camera) is in :mod:`atlas_data.sources.scenes.kit`.
"""

from __future__ import annotations

from functools import cache

from atlas_data.registry import discover
from atlas_data.sources.scenes.kit import Family


@cache
def families() -> dict[str, Family]:
    """Every family module of this package, by name, in module order."""
    return discover(__name__, "FAMILY", Family)
