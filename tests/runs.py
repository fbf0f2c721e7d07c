"""Where a test's run lands (the tests' own shorthand; the library returns it as
``Manifest.folder``)."""

from __future__ import annotations

from pathlib import Path

from atlas_data.config import RunConfig
from atlas_data.run.plan import RunPlan


def run_folder(config: RunConfig) -> Path:
    """Where ``config``'s run is (or will be) written."""
    return RunPlan.resolve(config).run_dir.root
