"""Fixtures for the trainer checks: one small real run, its exports, a tiny Qwen2-VL.

These tests run in the trainer environments ``make test-trainers`` builds (.venv-trl,
.venv-lf), never in the main one: each imports its trainer's own code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from atlas_data.config import RunConfig  # noqa: E402
from atlas_data.run.driver import run  # noqa: E402
from atlas_data.store.export import export_run  # noqa: E402

# A small pixel budget keeps CPU steps fast: 50,176 px is 64 Qwen2-VL image tokens.
EXPORT_MAX_PIXELS = 50_176


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic run with both splits (chains, direct answers, every family). The
    annotation judge alone keeps it quick: the trainers only need rows."""
    out = str(tmp_path_factory.mktemp("runs"))
    config = RunConfig(split="both", n=24, seed=5, judges=["annotation"], out=out)
    manifest = run(config)
    assert manifest.counts.kept >= 12
    return manifest.folder


@pytest.fixture(scope="session")
def exported(run_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """``exported(fmt) -> (folder, settings section)``, each format exported once."""
    done: dict[str, tuple[Path, dict[str, Any]]] = {}

    def get(fmt: str) -> tuple[Path, dict[str, Any]]:
        if fmt not in done:
            out = tmp_path_factory.mktemp(fmt)
            export_run(run_dir, fmt, out, name="atlas_check", max_pixels=EXPORT_MAX_PIXELS)
            settings = json.loads((out / "settings.json").read_text())
            done[fmt] = (out, settings[fmt])
        return done[fmt]

    return get


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen2-VL with our tokens added by atlas_data.train.tokenizer."""
    import tiny_vlm

    return tiny_vlm.build(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_plain_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same model without our tokens: the trainer must add them."""
    import tiny_vlm

    return tiny_vlm.build(tmp_path_factory.mktemp("tiny") / "plain", functional_tokens=False)
