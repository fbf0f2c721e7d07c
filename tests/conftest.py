"""Fixtures shared by modules: one small real run that query, report and publish read."""

from __future__ import annotations

import os

import pytest
from inspect_runs import make_run

# Runs in this suite are small: one process each, unless a test asks for workers (the
# cluster tests do; `--workers`' own default is every core, see test_cluster.py).
os.environ.setdefault("ATLAS_DATA_WORKERS", "1")


@pytest.fixture(scope="session")
def both_run(tmp_path_factory) -> tuple[str, dict]:
    """A finished ``both`` run with real rejections in it (read only by its users)."""
    return make_run(str(tmp_path_factory.mktemp("both")), split="both")
