"""Fixtures shared by modules: one small real run that query, report and publish read."""

from __future__ import annotations

import pytest
from inspect_runs import make_run


@pytest.fixture(scope="session")
def both_run(tmp_path_factory) -> tuple[str, dict]:
    """A finished ``both`` run with real rejections in it (read only by its users)."""
    return make_run(str(tmp_path_factory.mktemp("both")), split="both")
