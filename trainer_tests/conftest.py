"""Fixtures for the trainer checks: small real runs (one image a sample, and several),
their exports, a tiny Qwen2-VL.

These tests run in the trainer environments ``make test-trainers`` builds (.venv-trl,
.venv-lf), never in the main one: each imports its trainer's own code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The repo's test helpers (tests/multi_corpus.py) are the namespace package ``tests`` (the
# repo root is on the path under ``python -m pytest`` there; added if not). But verl
# installs a top-level ``tests`` package of its own, which then wins: our folder joins its
# path (they share no module name).
REPO = Path(__file__).resolve().parents[1]
REPO_TESTS = str(REPO / "tests")
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))
import tests  # noqa: E402

if REPO_TESTS not in list(tests.__path__):
    tests.__path__.append(REPO_TESTS)

from atlas_data.config import RunConfig  # noqa: E402
from atlas_data.run.driver import run  # noqa: E402
from atlas_data.store.export import export_run  # noqa: E402
from tests import multi_corpus  # noqa: E402

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


Exported = Callable[[str], tuple[Path, dict[str, Any]]]


def _exporter(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """``get(fmt) -> (folder, settings section)``, each format of ``run_dir`` exported once."""
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
def exported(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """``exported(fmt) -> (folder, settings section)``, each format exported once."""
    return _exporter(run_dir, tmp_path_factory)


# How many images each sample of the multi-image run shows, in its questions file's order.
MULTI_IMAGES = (3, 2, 2, 1)


@pytest.fixture(scope="session")
def multi_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run over samples that show 3, 2, 2 and 1 images; every one is kept."""
    base = tmp_path_factory.mktemp("multi")
    multi_corpus.write_small(base / "corpus")
    config = RunConfig(
        source="local",
        source_options={"root": str(base / "corpus"), "questions": "questions.jsonl"},
        split="both",
        judges=["annotation"],
        out=str(base / "runs"),
    )
    manifest = run(config)
    assert manifest.counts.kept == len(MULTI_IMAGES), manifest.counts
    return manifest.folder


@pytest.fixture(scope="session")
def multi_exported(multi_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """The multi-image run's exports, as ``exported`` gives the single-image run's."""
    return _exporter(multi_run_dir, tmp_path_factory)


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
