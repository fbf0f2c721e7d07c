"""Synthetic task families, one module each (a ``FAMILY``: generator, phrasings, chains).

A family module draws a scene and keeps its scene graph, so the answer and the operations
that reveal it are computed, never guessed. Adding a family is adding one module here;
:func:`families` finds it. The first five families live in
:mod:`atlas_data.sources.synthetic`.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from atlas_data.sources.scenes.kit import Family


@cache
def families() -> dict[str, Family]:
    """Every family module of this package, by name, in module order."""
    out: dict[str, Family] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        family = getattr(module, "FAMILY", None)
        if isinstance(family, Family):
            out[family.name] = family
    return out
