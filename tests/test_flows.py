"""The ``synth`` flow against a real local Prefect server (started once for this module).

Asserts on flow and task states, the summary artifact and the Parquet output read back by
DuckDB, and that the flow writes exactly the rows of the library's sequential ``run()``:
after a cached rerun, after losing Prefect's cache, on a Dask cluster, after a forced
cross-shard dedup repair, and after a ``kill -9`` mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from atlas_data.config import RunConfig
from atlas_data.dedup.kept import Kept, shards_to_redo
from atlas_data.run.driver import run as library_run
from atlas_data.run.plan import RunPlan
from atlas_data.store.manifest import Manifest, ShardRecord
from atlas_data.store.run import open_run
from flows.local_run import background, free_port, prefect_env, prefect_server, wait_until
from tests.runs import run_folder

N, SHARD, SEED = 20, 5, 11
PARAMS: dict[str, Any] = {"n": N, "shard_size": SHARD, "seed": SEED}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A real ``prefect server start`` on 127.0.0.1; this process talks to it."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_LOCAL_STORAGE_PATH,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )

    home = tmp_path_factory.mktemp("prefect-home")
    env = prefect_env(home, free_port())
    updates: dict[Any, Any] = {
        PREFECT_LOCAL_STORAGE_PATH: str(home / "storage"),
        PREFECT_SERVER_ANALYTICS_ENABLED: False,
    }
    with ExitStack() as stack:
        if os.environ.get("ATLAS_TEST_PREFECT_API_URL"):  # reuse a running server
            env["PREFECT_API_URL"] = os.environ["ATLAS_TEST_PREFECT_API_URL"]
        else:
            stack.enter_context(prefect_server(env, home / "server.log", 120))
        with temporary_settings(updates={**updates, PREFECT_API_URL: env["PREFECT_API_URL"]}):
            yield env
            from prefect.logging.handlers import APILogHandler

            APILogHandler().flush()  # before the server goes away


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[RunConfig, dict[str, Any], list[tuple[Any, ...]]]:
    """The reference: the plain library loop on the same config."""
    config = RunConfig(**PARAMS, out=str(tmp_path_factory.mktemp("library")))
    manifest = library_run(config)
    return config, manifest, rows(run_folder(config))


def rows(root: Path, kind: str = "sft") -> list[tuple[Any, ...]]:
    return duckdb.sql(f"select id, text from '{root}/{kind}/*.parquet' order by id").fetchall()


def files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def task_states(flow_run_id: Any) -> list[tuple[str, str]]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter
    from prefect.client.schemas.sorting import TaskRunSort

    async def read() -> list[tuple[str, str]]:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC,
                limit=200,
            )
        return sorted((r.name, r.state.name) for r in runs if r.state)

    import asyncio

    return asyncio.run(read())


def summary_artifact(flow_run_id: Any) -> dict[str, Any]:
    """The flow run's artifact, read over the REST API (every filter field spelled out:
    this server rejects nulls in filter bodies that the 3.8 client sends)."""
    from prefect.settings import PREFECT_API_URL

    body = {
        "artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}},
        "sort": "CREATED_DESC",
        "limit": 10,
        "offset": 0,
    }
    res = httpx.post(f"{PREFECT_API_URL.value()}/artifacts/filter", json=body, timeout=10)
    res.raise_for_status()
    (artifact,) = res.json()
    return dict(artifact)


def run_flow(**kwargs: Any) -> tuple[Any, Manifest]:
    from flows.synth import synth

    state = synth(**{**PARAMS, **kwargs}, return_state=True)
    assert state.is_completed(), state
    return state, Manifest.from_json(state.result())


def test_flow_states_artifact_parquet_then_cached_rerun(server, library, tmp_path):
    _, lib_manifest, lib_rows = library
    state, manifest = run_flow(out=str(tmp_path))
    root = tmp_path / manifest.run_id
    shards = [f"shard-{i}" for i in range(N // SHARD)]
    assert task_states(state.state_details.flow_run_id) == [(s, "Completed") for s in shards]
    assert manifest.complete and manifest.counts == lib_manifest.counts
    assert manifest.run_id == lib_manifest.run_id
    assert rows(root) == lib_rows  # same rows as the library path, no duplicates
    ((count, ids),) = duckdb.sql(
        f"select count(*), count(distinct id) from '{root}/sft/*.parquet'"
    ).fetchall()
    assert count == ids == manifest.counts.kept

    artifact = summary_artifact(state.state_details.flow_run_id)
    assert artifact["type"] == "markdown" and artifact["key"] == "synth-sft-summary"
    text = artifact["data"]
    assert manifest.run_id in text and str(root) in text
    assert f"| kept | {manifest.counts.kept} (" in text
    assert "samples/s" in text and "token `" in text

    before = files(root)
    state2, again = run_flow(out=str(tmp_path))
    assert task_states(state2.state_details.flow_run_id) == [(s, "Cached") for s in shards]
    assert again.counts == manifest.counts
    after = files(root)
    assert {k: v for k, v in after.items() if k != "manifest.json"} == {
        k: v for k, v in before.items() if k != "manifest.json"
    }  # no shard rewritten, no new file

    # Prefect's cache lost (new result storage): the on-disk records still skip the work.
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "empty")}):
        state3, third = run_flow(out=str(tmp_path))
    assert task_states(state3.state_details.flow_run_id) == [(s, "Completed") for s in shards]
    assert third.counts == manifest.counts
    assert {k: v for k, v in files(root).items() if k.endswith(".parquet")} == {
        k: v for k, v in before.items() if k.endswith(".parquet")
    }


def test_rl_split_on_a_local_dask_cluster(server, tmp_path):
    LocalCluster = pytest.importorskip("distributed").LocalCluster  # the `dask` extra

    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        state, manifest = run_flow(
            split="rl",
            n=8,
            shard_size=4,
            out=str(tmp_path / "flow"),
            task_runner="dask",
            dask_address=cluster.scheduler_address,
        )
    assert manifest.complete
    assert task_states(state.state_details.flow_run_id) == [
        ("shard-0", "Completed"),
        ("shard-1", "Completed"),
    ]
    reference = RunConfig(split="rl", n=8, shard_size=4, seed=SEED, out=str(tmp_path / "lib"))
    library_run(reference)
    query = "select id, reference from '{}/rl/*.parquet' order by id"
    got = duckdb.sql(query.format(tmp_path / "flow" / manifest.run_id)).fetchall()
    assert got == duckdb.sql(query.format(run_folder(reference))).fetchall() and got


def test_cross_shard_duplicate_is_repaired_to_the_library_rows(server, library, tmp_path):
    config, lib_manifest, lib_rows = library
    out = tmp_path / "runs"
    _, manifest = run_flow(out=str(out))
    rd = RunPlan.resolve(RunConfig(**PARAMS, out=str(out))).run_dir
    # Simulate shard 2 having finished before shard 0 and kept one of shard 0's keys.
    rec0 = json.loads((rd.root / rd.done_record(0)).read_text())
    rec2 = json.loads((rd.root / rd.done_record(2)).read_text())
    rec2["keys"] = [*rec2["keys"], rec0["keys"][0]]
    (rd.root / rd.done_record(2)).write_text(json.dumps(rec2))
    assert shards_to_redo(rd.records()) == [2]
    before = files(rd.root)
    state, again = run_flow(out=str(out))
    # The first pass skips shard 2 (done on disk), the repair redoes it.
    assert [n for n, _ in task_states(state.state_details.flow_run_id)].count("shard-2") == 2
    assert shards_to_redo(rd.records()) == []
    assert rows(rd.root) == lib_rows and again.counts == lib_manifest.counts
    changed = {k for k, v in files(rd.root).items() if before.get(k) != v}
    redone = {"sft/part-00002.parquet", "rejects/part-00002.parquet", "_shards/part-00002.json"}
    assert changed <= {"manifest.json", *redone}


def test_dedup_repair_only_looks_back():
    records = [
        ShardRecord(0, keys=["a", "b"]),
        ShardRecord(2, keys=["c", "a"]),  # kept "a" although shard 0 has it
        ShardRecord(1, keys=["d"]),
        ShardRecord(3, keys=["e"]),
    ]
    assert Kept.of_records(records, 2).keys == {"a", "b", "d"}
    assert Kept.of_records(records, 0).keys == set()
    assert shards_to_redo(records) == [2]
    assert shards_to_redo([ShardRecord(1, keys=["x"]), ShardRecord(0, keys=["x"])]) == [1]


def test_kill_9_mid_run_then_rerun_loses_and_duplicates_nothing(server, library, tmp_path):
    _, lib_manifest, lib_rows = library
    out = tmp_path / "runs"
    root = RunPlan.resolve(RunConfig(**PARAMS, out=str(out))).run_dir.root
    code = (
        "from flows.synth import synth; "
        f"synth(n={N}, shard_size={SHARD}, seed={SEED}, out={str(out)!r}, concurrency=1)"
    )
    env = {**server, "PREFECT_LOGGING_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not list(root.glob("_shards/part-*.json")):
            assert proc.poll() is None, "the flow process exited before finishing a shard"
            assert time.monotonic() < deadline, "no shard landed in 90 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = sorted(p.name for p in root.glob("_shards/part-*.json"))
    assert 1 <= len(done) < N // SHARD and not (root / "manifest.json").exists()
    kept_before = {p: p.stat().st_mtime_ns for p in root.glob("_shards/part-*.json")}

    _, manifest = run_flow(out=str(out))
    assert manifest.complete and manifest.counts == lib_manifest.counts
    got = rows(root)
    assert len({r[0] for r in got}) == len(got) == lib_manifest.counts.kept
    assert got == lib_rows
    for path, mtime in kept_before.items():  # finished shards were not redone
        assert path.stat().st_mtime_ns == mtime
    assert not list(root.rglob(".*.tmp-*"))


def test_local_run_end_to_end_through_served_deployments(tmp_path):
    """``make run`` at a small size: real server, ``flows.serve``, ``prefect deployment run``."""
    out, home = tmp_path / "runs", tmp_path / "home"
    cmd = [sys.executable, "-m", "flows.local_run", "--n", "10", "--out", str(out)]
    res = subprocess.run(
        [*cmd, "--home", str(home), "--split", "rl", "--param", "seed=3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Flow run finished successfully" in res.stdout
    config = RunConfig(split="rl", n=10, seed=3, out=str(out))
    root = run_folder(config)
    assert str(root) in res.stdout and "duckdb>" in res.stdout
    manifest = open_run(root).finished()
    ((count,),) = duckdb.sql(f"select count(distinct id) from '{root}/rl/*.parquet'").fetchall()
    assert manifest.complete and count == manifest.counts.kept > 0


def test_killing_the_served_process_then_rerunning_the_deployment(server, library, tmp_path):
    """The issue's scenario: ``kill -9`` the served process mid-run, serve again, rerun."""
    _, lib_manifest, lib_rows = library
    out = tmp_path / "runs"
    root = RunPlan.resolve(RunConfig(**PARAMS, out=str(out))).run_dir.root
    api = server["PREFECT_API_URL"]
    params = [f"--param={k}={v}" for k, v in {**PARAMS, "out": out, "concurrency": 1}.items()]
    run_cmd = [sys.executable, "-m", "prefect", "deployment", "run", "synth/sft-split", *params]
    serve_cmd = [sys.executable, "-m", "flows.serve"]
    env = {**server, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}

    def deployed() -> bool:
        return httpx.get(f"{api}/deployments/name/synth/sft-split", timeout=2).status_code == 200

    log = tmp_path / "serve-1.log"
    with background(serve_cmd, env, log, "flows.serve") as served:
        wait_until(deployed, served, log, "flows.serve", 120)
        subprocess.run(run_cmd, cwd=REPO, env=env, check=True, capture_output=True)
        deadline = time.monotonic() + 120
        while not list(root.glob("_shards/part-*.json")):
            assert served.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        os.killpg(served.pid, signal.SIGKILL)  # the server and its flow-run child, at once
        served.wait()
    assert 1 <= len(list(root.glob("_shards/part-*.json"))) < N // SHARD

    log = tmp_path / "serve-2.log"
    with background(serve_cmd, env, log, "flows.serve") as served:
        wait_until(deployed, served, log, "flows.serve", 120)
        res = subprocess.run([*run_cmd, "--watch"], cwd=REPO, env=env, capture_output=True)
        assert res.returncode == 0, res.stdout.decode() + log.read_text()
    manifest = open_run(root).finished()
    assert manifest.complete and manifest.counts == lib_manifest.counts
    assert rows(root) == lib_rows  # no lost, no duplicated rows


def test_deployment_takes_every_option_a_cli_run_has(server, tmp_path):
    """A served ``synth/sft-split`` run with a local source and no ``n`` (every record is
    read), a user vocabulary and a pixel limit; an unknown parameter key is refused."""
    from realdata_helpers import encode, scene

    from atlas_data.tokens import DEFAULT_VOCABULARY

    root = tmp_path / "photos"
    root.mkdir()
    records = []
    for i in range(7):
        size = (2000, 1600) if i in (2, 5) else (1600, 1200)  # 3.2 MP: over the limit
        img, box, code = scene(i, size)
        (root / f"{i}.png").write_bytes(encode(img))
        records.append({"image": f"{i}.png", "question": f"Code on tag {i}?", "answer": code})
        records[-1]["bbox"] = box
    (root / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    vocab = DEFAULT_VOCABULARY.to_json()
    for op in vocab["operations"]:
        op["token"] = f"[{op['name'].upper()}]"
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    out = tmp_path / "runs"
    params = {
        "source": "local",
        "source_options": {"root": str(root), "questions": "q.jsonl"},
        "vocab_path": str(tmp_path / "vocab.json"),
        "max_pixels": 2_000_000,
        "shard_size": 3,
        "out": str(out),
    }
    api = server["PREFECT_API_URL"]
    env = {**server, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}

    def deployment_run(extra: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "prefect", "deployment", "run", "synth/sft-split"]
        for k, v in {**params, **extra}.items():
            cmd.append(f"--param={k}={v if isinstance(v, str) else json.dumps(v)}")
        return subprocess.run([*cmd, "--watch"], cwd=REPO, env=env, capture_output=True, text=True)

    log = tmp_path / "serve.log"
    with background([sys.executable, "-m", "flows.serve"], env, log, "flows.serve") as served:
        wait_until(
            lambda: httpx.get(f"{api}/deployments/name/synth/sft-split", timeout=2).is_success,
            served,
            log,
            "flows.serve",
            120,
        )
        res = deployment_run({})
        assert res.returncode == 0, res.stdout + res.stderr + log.read_text()
        bad = deployment_run({"shards": 2})
    assert bad.returncode != 0
    assert "shards" in bad.stdout + bad.stderr + log.read_text()
    assert "shard_size" in bad.stdout + bad.stderr + log.read_text()  # the known ones named

    (manifest_path,) = out.glob("*/manifest.json")
    manifest = open_run(manifest_path.parent).finished()
    c = manifest.counts
    assert manifest.complete and manifest.source.records == 7
    assert c.samples == c.kept + c.rejected == 7  # no n: every record was read
    assert c.rejected_by_reason == {"too_many_pixels": 2}
    assert manifest.config.max_pixels == 2_000_000
    assert set(c.tokens) == {"[ZOOM]"}
    assert manifest.vocabulary["operations"] == vocab["operations"]
    texts = duckdb.sql(f"select text from '{manifest_path.parent}/sft/*.parquet'").fetchall()
    assert len(texts) == 5 and all("[ZOOM]" in t and "<|" not in t for (t,) in texts)
