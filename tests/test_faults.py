"""Crash and resume: kill -9 at many points; the finished run equals an uninterrupted one.

Each case runs the pipeline in a child process (tests/crash_child.py) that SIGKILLs itself
at a chosen point: inside teacher calls, halfway through a Parquet write, right after a
rename, just before the manifest, or at a random moment. After the crash every
``*.parquet`` file in the run must read as a whole table (a partial file never reads as
data); a rerun must finish with exactly the rows of a run that never crashed — no loss,
no duplicates.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from atlas_data.config import RunConfig
from atlas_data.run.driver import run
from atlas_data.store.run import open_run

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "split": "both",
    "n": 24,
    "seed": 3,
    "shard_size": 4,
    "source_options": {"size": [400, 400]},
    "run_id": "crash",
}


def rows(run_dir: Path) -> dict[str, Counter[tuple[str, str]]]:
    """Every row of every split, as a multiset of (id, content) pairs."""
    out: dict[str, Counter[tuple[str, str]]] = {}
    for kind, column in (("sft", "text"), ("rl", "reference"), ("rejects", "reason")):
        found: Counter[tuple[str, str]] = Counter()
        for part in sorted((run_dir / kind).glob("*.parquet")):
            table = pq.read_table(part, columns=["id", column]).to_pylist()
            found.update((r["id"], r[column]) for r in table)
        out[kind] = found
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[tuple[str, str]]]:
    out = tmp_path_factory.mktemp("reference")
    manifest = run(RunConfig(**{**BASE, "out": str(out)}))  # type: ignore[arg-type]
    assert manifest.complete and manifest.counts.kept > 0
    expected = rows(out / "crash")
    assert sum(expected["sft"].values()) == manifest.counts.kept
    return expected


def child(point: str, k: int, out: Path, config: dict[str, Any] = BASE) -> subprocess.Popen[str]:
    spec = json.dumps({**config, "out": str(out)})
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash_child", point, str(k), spec],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_no_partial_data(run_dir: Path) -> None:
    """Whatever a crash left, every file a ``*.parquet`` glob sees is a complete table."""
    for part in run_dir.glob("*/*.parquet"):
        assert pq.read_table(part).num_rows >= 0, part  # raises on a truncated file
    for record in run_dir.glob("_shards/*.json"):
        json.loads(record.read_text())  # a completion record is whole or absent


def finish_and_compare(
    out: Path, reference: dict[str, Counter[tuple[str, str]]], config: dict[str, Any] = BASE
) -> None:
    proc = child("none", 0, out, config)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    run_dir = out / "crash"
    assert rows(run_dir) == reference
    manifest = open_run(run_dir).finished()
    assert manifest.complete and manifest.counts.kept == sum(reference["sft"].values())
    assert not list(run_dir.rglob(".*.tmp-*")), "temporaries survived the resumed run"


# 6 shards of 4 samples; every shard writes sft, rl and rejects-if-any parts, then a record.
CRASH_POINTS = [
    ("teacher", 1),  # first shard, first teacher call: nothing written yet
    ("teacher", 10),  # third shard, mid-flight
    ("parquet", 1),  # first part of the first shard half-written
    ("parquet", 8),  # a later shard's part half-written
    ("rename", 2),  # shard 0's rl part renamed, its completion record not yet written
    ("rename", 3),  # shard 0 complete, nothing of shard 1
    ("rename", 7),  # mid-way through shard 2
    ("manifest", 1),  # every shard done, manifest never written
]


@pytest.mark.parametrize(("point", "k"), CRASH_POINTS)
def test_kill_at_a_point_then_resume(
    point: str, k: int, tmp_path: Path, reference: dict[str, Counter[tuple[str, str]]]
) -> None:
    proc = child(point, k, tmp_path)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, f"the crash hook did not fire: {stderr[-2000:]}"
    run_dir = tmp_path / "crash"
    assert not (run_dir / "manifest.json").exists()
    assert_no_partial_data(run_dir)
    if point == "parquet":
        assert list(run_dir.rglob(".*.tmp-*")), "the half-written file should be a temporary"
    finish_and_compare(tmp_path, reference)


def test_repeated_kills_at_random_moments(tmp_path: Path) -> None:
    """Kill at a random moment after 1, 4, then 8 of 12 shards landed; then let it finish."""
    config = {**BASE, "n": 48}
    manifest = run(RunConfig(**{**config, "out": str(tmp_path / "reference")}))  # type: ignore[arg-type]
    expected = rows(tmp_path / "reference" / "crash")
    assert manifest.counts.kept == sum(expected["sft"].values())
    rng = random.Random(20261123)
    out = tmp_path / "crashing"
    records = out / "crash" / "_shards"
    killed = 0
    for landed in (1, 4, 8):
        proc = child("none", 0, out, config)
        while proc.poll() is None and len(list(records.glob("*.json"))) < landed:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.08))  # a shard of 4 small samples takes ~0.1-0.3 s
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.communicate(timeout=60)
        assert_no_partial_data(out / "crash")
    assert killed >= 2, "the runs finished before they could be interrupted"
    finish_and_compare(out, expected, config)
