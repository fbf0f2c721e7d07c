"""Things that register themselves by being there: operations, judges, proposers, families.

A package holds one module per thing, and each module defines one declaration under an
agreed name (``SPEC``, ``JUDGE``, ``PROPOSER``, ``FAMILY``); :func:`discover` finds them, so
adding one is adding one module and nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, TypeVar

T = TypeVar("T")


def discover(package: str, attr: str, kind: type[T]) -> dict[str, T]:
    """Every module of ``package`` that defines ``attr`` (an instance of ``kind``), by its
    ``name``, in module-name order."""
    pkg = importlib.import_module(package)
    found: dict[str, T] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        value: Any = getattr(importlib.import_module(f"{package}.{info.name}"), attr, None)
        if isinstance(value, kind):
            found[value.name] = value  # type: ignore[attr-defined]
    return found


def pick(kind: str, names: list[str], known: dict[str, T]) -> list[T]:
    """The registered entries of ``names``, in order; a name nothing registered is an error
    that names what is."""
    for name in names:
        if name not in known:
            raise ValueError(f"unknown {kind} {name!r}; available: {', '.join(known)}")
    return [known[name] for name in names]
