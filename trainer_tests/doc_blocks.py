"""The recipes in docs/sources-and-exports.md, read back so the checks run what users copy."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "sources-and-exports.md"


def block(name: str) -> str:
    """The fenced block right after ``<!-- check: name -->``."""
    text = DOC.read_text(encoding="utf-8")
    marker = text.index(f"<!-- check: {name} -->")
    start = text.index("\n", text.index("```", marker)) + 1
    return text[start : text.index("\n```", start)]


def with_paths(code: str, model: Path, export: Path, out: Path) -> str:
    """A Python recipe with its ``MODEL, EXPORT, OUT = ...`` line pointed at the test's, and
    ``use_cpu=True`` beside ``report_to="none"``: this machine has no GPU (the trainers
    refuse their bf16 default without one). Nothing else is changed."""
    line = f"MODEL, EXPORT, OUT = {str(model)!r}, {str(export)!r}, {str(out)!r}"
    replaced, n = re.subn(r"^MODEL, EXPORT, OUT = .*$", line, code, flags=re.M)
    assert n == 1, "the recipe must set MODEL, EXPORT, OUT on one line"
    assert replaced.count('report_to="none"') == 1
    return replaced.replace('report_to="none"', 'report_to="none", use_cpu=True')
