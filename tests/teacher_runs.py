"""Small synthetic runs taught through the stand-in server: the batch and cost tests'."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from atlas_data.config import RunConfig
from tests.openai_server import ServerThread

N, SHARD = 8, 4


@contextmanager
def standin(monkeypatch: pytest.MonkeyPatch, *models: str) -> Iterator[ServerThread]:
    """The stand-in on 127.0.0.1 (serving ``models`` too), batches finishing at once."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with ServerThread() as s:
        s.state.batch_seconds = 0.05
        s.state.models.extend(models)
        yield s


def config(
    server: ServerThread, tmp: Path, tag: str, model: str = "stand-in-vlm", **kw: Any
) -> RunConfig:
    """``N`` synthetic samples in shards of ``SHARD``, taught by ``model``; ``tag`` names the
    run's own folder and cache; ``teacher={...}`` adds teacher options."""
    teacher = {
        "model": model,
        "base_url": server.base_url,
        "cache_dir": str(tmp / f"cache-{tag}"),
        "batch_poll": 0.05,
        "backoff": 0.05,
        **kw.pop("teacher", {}),
    }
    return RunConfig(
        n=kw.pop("n", N),
        seed=5,
        shard_size=SHARD,
        teacher="openai",
        teacher_options=teacher,
        out=str(tmp / f"runs-{tag}"),
        **kw,
    )
