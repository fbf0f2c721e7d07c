"""Every core, then every machine: worker processes on a Dask cluster, runs on object
storage, one spend meter.

Real parts only: an S3-protocol server (moto in server mode, a separate process on
127.0.0.1, since pyarrow and DuckDB do not go through boto and an in-process mock would
not see their requests), Dask clusters of worker processes, each in its own scratch
folder, the CLI in a subprocess killed with ``kill -9``, and the stand-in teacher over HTTP.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from atlas_data.cli import app
from atlas_data.config import RunConfig
from atlas_data.llm.stops import BudgetExhausted
from atlas_data.run.driver import run
from atlas_data.run.ledger import LiveSpend, SpendCap, cost_of, run_billed
from atlas_data.run.plan import RunPlan
from atlas_data.run.workers import available_cores, cgroup_cpus, default_workers, workers_for
from atlas_data.store.location import Location
from atlas_data.store.run import open_run
from tests.teacher_runs import config as teacher_config
from tests.teacher_runs import standin

BUCKET = "atlas-test"
FAMILIES = "counting,small_text,clock,visual_correspondence"  # one of them multi-image
# no direct answers: the easy variants become rejection rows, compared too
OPTIONS = {"split": "both", "n": 24, "seed": 3, "shard_size": 4, "direct_share": 0.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """moto's S3 server on 127.0.0.1, a bucket in it, and the AWS variables that reach it
    (set here and in every subprocess: the store's standard credentials)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        import fsspec

        fsspec.filesystem("s3", skip_instance_cache=True).mkdir(BUCKET)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def rows(where: str) -> dict[str, list[tuple]]:
    """The SFT, RL and reject rows of a run (ids and texts), read through ``open_run``."""
    queries = {
        "sft": "SELECT id, text FROM sft ORDER BY id",
        "rl": "SELECT id, prompt, reference FROM rl ORDER BY id",
        "rejects": "SELECT id, stage, reason, detail FROM rejects ORDER BY id",
    }
    with open_run(where) as r:
        return {view: r.sql(sql)[1] for view, sql in queries.items() if view in r.views}


def cli_args(out: str, workers: int) -> list[str]:
    args = [sys.executable, "-m", "atlas_data.cli", "run", "--out", out]
    args += ["--workers", str(workers), "--source-opt", f"families={FAMILIES}"]
    for k, v in OPTIONS.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def test_a_killed_run_on_s3_with_two_workers_resumes_to_the_rows_of_one_local_process(s3, tmp_path):
    local = RunConfig(**OPTIONS, source_options={"families": FAMILIES}, workers=1,
                      out=str(tmp_path / "local"))  # fmt: skip
    reference = run(local)
    assert reference.complete and reference.counts.rejected > 0
    out = f"s3://{BUCKET}/runs"
    run_id = RunPlan.resolve(RunConfig.from_params({**local.public(), "out": out})).run_id
    assert run_id == reference.run_id  # where a run is written is not what it is
    url = f"{out}/{run_id}"
    store = Location(url)
    env = {**os.environ, "ATLAS_DATA_WORKERS": ""}
    first = subprocess.Popen(cli_args(out, 2), env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 600
    while not store.listdir("_shards", ".json"):
        assert first.poll() is None, first.stderr.read().decode()[-3000:] if first.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the CLI and its workers, mid-run
    first.wait()
    committed = store.listdir("_shards", ".json")
    assert 1 <= len(committed) < 6 and not store.exists("manifest.json")
    # What a killed run left is no data: only committed shards are read back.
    with open_run(url) as cut:
        assert cut.manifest is None
        assert len(cut.files["sft"]) == len(committed)

    again = subprocess.run(cli_args(out, 2), env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming" in again.stdout and "2 worker processes" in again.stdout
    ours, theirs = rows(url), rows(str(tmp_path / "local" / run_id))
    assert ours == theirs and len(ours["sft"]) == reference.counts.kept
    manifest = open_run(url).finished()
    assert manifest.complete and manifest.files == reference.files
    assert manifest.counts == reference.counts

    # Every reader works from the URL: the query command answers from the object store.
    result = CliRunner().invoke(
        app, ["query", url, "select count(*) AS n from sft", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert f'"n": {reference.counts.kept}' in result.output
    exported = tmp_path / "trl"
    result = CliRunner().invoke(app, ["export", url, "--format", "trl", "--out", str(exported)])
    assert result.exit_code == 0, result.output
    assert any(exported.rglob("*.parquet"))


def test_rows_do_not_depend_on_the_number_of_workers(tmp_path):
    options = {**OPTIONS, "split": "sft", "n": 16}
    one = run(RunConfig(**options, source_options={"families": FAMILIES}, workers=1,
                        out=str(tmp_path / "one")))  # fmt: skip
    two = run(RunConfig(**options, source_options={"families": FAMILIES}, workers=2,
                        out=str(tmp_path / "two")))  # fmt: skip
    assert one.run_id == two.run_id and one.files == two.files
    assert rows(str(tmp_path / "one" / one.run_id)) == rows(str(tmp_path / "two" / two.run_id))


def test_the_spend_cap_holds_across_two_worker_processes(monkeypatch, tmp_path):
    with standin(monkeypatch, "gpt-4o-mini") as server:
        # ~3,000 input tokens a request at $1,000 per million: about $3 a request. One
        # request in flight per worker: unshared meters would let each worker spend the cap.
        cap, concurrency, workers = 10.0, 1, 2
        cfg = teacher_config(server, tmp_path, "capped", n=16, max_cost=cap, workers=workers,
                             teacher={"concurrency": concurrency}, price_in=1000.0,
                             price_out=1000.0)  # fmt: skip
        plan = RunPlan.resolve(cfg)
        assert workers_for(plan) == 2
        with pytest.raises(BudgetExhausted, match="--max-cost reached"):
            run(cfg)
        spent = cost_of(plan.run_dir, plan.price_book())
        sent = [r for r in server.state.chat_records() if r.get("teaching")]
        assert spent.requests == len(sent)  # every request sent is in the ledger
        assert spent.usd is not None
        per_request = spent.usd / spent.requests
        assert cap <= spent.usd <= cap + workers * concurrency * per_request * 1.5
        # the meters were notes of this invocation only: gone, and never part of the ledger
        assert not plan.run_dir.loc.listdir("_spent/live")
        assert sum(t["requests"] for t in run_billed(plan.run_dir).values()) == len(sent)


def test_live_spend_notes_add_up_across_processes(tmp_path):
    """Two meters of one invocation see each other's spend; another invocation's do not."""
    from atlas_data.llm.prices import PriceBook
    from atlas_data.store.run import RunDir

    run_dir = RunDir(tmp_path / "run")
    book = PriceBook(1000.0, 1000.0)  # $1 per thousand tokens
    cap = SpendCap(cap=5.0, base="1", session="s1")
    a, b = cap.meter(run_dir, book), cap.meter(run_dir, book)
    other = SpendCap(cap=5.0, base="1", session="s2").meter(run_dir, book)
    a.charge("m@live", 1000, 0)
    b.charge("m@live", 2000, 0)
    assert a.spent == b.spent == 4  # base 1 + 1 + 2
    assert other.spent == 1
    b.charge("m@live", 1000, 0)
    with pytest.raises(BudgetExhausted):
        a.check()
    other.check()
    cap.end(run_dir)
    assert a.spent == 2  # its own 1 on the base; the notes are gone
    assert isinstance(a.shared, LiveSpend)


def test_workers_default_to_the_cores_this_process_may_use(monkeypatch, tmp_path):
    monkeypatch.delenv("ATLAS_DATA_WORKERS", raising=False)
    assert default_workers() == available_cores() >= 1
    assert available_cores() <= len(os.sched_getaffinity(0))
    plan = RunPlan.resolve(RunConfig(n=200, shard_size=8, out=str(tmp_path)))
    assert workers_for(plan) == min(available_cores(), 25)
    small = RunPlan.resolve(RunConfig(n=5, out=str(tmp_path)))
    assert workers_for(small) == 1  # one shard: no cluster for it
    monkeypatch.setenv("ATLAS_DATA_WORKERS", "3")
    assert default_workers() == 3
    with pytest.raises(ValueError, match="workers must be at least 1"):
        RunConfig(workers=0)


@pytest.mark.parametrize(
    ("files", "cores"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 4.0),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_cgroup_quota_is_read_in_both_versions(tmp_path, files, cores):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert cgroup_cpus(Path(tmp_path)) == cores


def test_object_store_writes_are_staged_and_committed_whole(s3, tmp_path):
    """A shard's data object appears only whole, and only committed records count."""
    from atlas_data.store.manifest import ShardRecord
    from atlas_data.store.run import RunDir

    run_dir = RunDir(f"s3://{BUCKET}/unit/run")
    writer = run_dir.shard_writer(0, ["sft"])
    writer.add("sft", {"id": "x"})
    writer.abort()  # a failed shard: nothing reached the store
    assert not run_dir.loc.exists("sft/part-00000.parquet")
    writer = run_dir.shard_writer(0, ["sft"])
    writer.add("sft", {"id": "x"})
    record = writer.commit(ShardRecord(shard=0, samples=1))
    assert record.files == {"sft": "sft/part-00000.parquet"} and run_dir.is_done(0)
    # an object a killed writer left without its record is not data
    run_dir.loc.write_bytes("sft/part-00001.parquet", b"not a parquet file")
    assert run_dir.committed_files() == ["sft/part-00000.parquet"]
    with open_run(run_dir.url) as r:
        assert r.sql("SELECT count(*) FROM sft")[1] == [(1,)]
