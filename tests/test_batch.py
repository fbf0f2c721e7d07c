"""Teacher requests as batches: the Batch API and the offline vLLM file, against the real
HTTP stand-in (``tests/openai_server.py``: its Files and Batches endpoints run each line
through the same stand-in model, and count how many times each request was run).

What is checked: a batch run writes exactly the rows of a live run; a ``kill -9`` at any
step (upload, create, poll, half-ingested) then a rerun pays for no request twice; an
expired batch has its missing half resubmitted; error lines are retried, then rejected
with their error; a failed batch stops naming its cause; a batch short of a line never
loses it; a cached run sends nothing; the offline file round-trips through a
``vllm run-batch``-format results file, inline errors included.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from atlas_data.config import RunConfig
from atlas_data.llm.batch import BatchState, pack
from atlas_data.llm.stops import AwaitingResults, BatchFailed
from atlas_data.run.driver import run
from tests.openai_server import ServerThread
from tests.runs import run_folder
from tests.teacher_runs import N, config, standin

ROOT = Path(__file__).resolve().parent.parent
MODEL = "stand-in-vlm"


@pytest.fixture
def server(monkeypatch):
    with standin(monkeypatch) as s:
        yield s


def rows(cfg: RunConfig, kind: str = "sft") -> list[tuple[Any, ...]]:
    root = run_folder(cfg)
    return duckdb.sql(f"select * from '{root}/{kind}/*.parquet' order by id").fetchall()


def rejects(cfg: RunConfig) -> list[tuple[str, str]]:
    root = run_folder(cfg)
    if not list(root.glob("rejects/*.parquet")):
        return []
    return duckdb.sql(f"select reason, detail from '{root}/rejects/*.parquet'").fetchall()


def teaching(server: ServerThread) -> int:
    return sum(1 for r in server.state.chat_records() if r.get("teaching"))


def created(server: ServerThread) -> list[dict[str, Any]]:
    return list(server.state.batches.values())


def test_a_batch_run_writes_the_live_rows_and_sends_no_live_request(server, tmp_path):
    live = config(server, tmp_path, "live")
    run(live)
    live_requests = teaching(server)
    assert live_requests > 0
    server.state.reset()
    batch = config(server, tmp_path, "batch", teacher_batch="api")
    manifest = run(batch)
    assert manifest.complete and rows(batch) == rows(live)
    assert teaching(server) == 0  # every teacher answer came from the batch
    assert len(created(server)) == 1
    executed = server.state.executed
    assert len(executed) == live_requests and set(executed.values()) == {1}
    state = BatchState.load(run_folder(batch) / "_batches" / "state.json")
    assert [b.status for b in state.batches] == ["completed"] and state.batches[0].ingested
    assert manifest.cost.batch and manifest.cost.requests == live_requests


KILL_POINTS = [("upload", 1), ("create", 1), ("poll", 2), ("ingest", 3)]


@pytest.mark.parametrize(("point", "k"), KILL_POINTS)
def test_kill_9_at_any_step_then_a_rerun_pays_for_no_request_twice(server, tmp_path, point, k):
    reference = config(server, tmp_path, "ref")
    run(reference)
    server.state.reset()
    server.state.executed.clear()
    server.state.batch_seconds = 0.5  # in progress across a few polls
    cfg = config(server, tmp_path, "killed", teacher_batch="api")
    spec = json.dumps({**cfg.public(), "teacher_options": cfg.teacher_options})
    child = subprocess.run(
        [sys.executable, "-m", "tests.crash_child", point, str(k), spec],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -9, child.stderr[-2000:]
    assert not (run_folder(cfg) / "manifest.json").exists()
    manifest = run(cfg)
    assert manifest.complete and rows(cfg) == rows(reference)
    executed = server.state.executed
    assert executed and set(executed.values()) == {1}, executed  # no request paid twice
    state = BatchState.load(run_folder(cfg) / "_batches" / "state.json")
    # every batch the API holds is one the run knows (a kill after create is adopted)
    assert {b["id"] for b in created(server)} == {b.batch_id for b in state.batches}
    assert teaching(server) == 0


def test_an_expired_batch_has_only_its_missing_half_resubmitted(server, tmp_path):
    reference = config(server, tmp_path, "ref")
    run(reference)
    server.state.reset()
    server.state.batch_plan.append("expire")
    cfg = config(server, tmp_path, "expired", teacher_batch="api")
    manifest = run(cfg)
    assert manifest.complete and rows(cfg) == rows(reference)
    first, second = created(server)
    assert first["status"] == "expired" and second["status"] == "completed"
    done_first = first["request_counts"]["completed"]
    assert 0 < done_first < first["request_counts"]["total"]
    assert second["request_counts"]["total"] == first["request_counts"]["total"] - done_first
    assert set(server.state.executed.values()) == {1}
    # what the expired batch finished was billed once, with the resubmitted rest
    assert manifest.cost.requests == first["request_counts"]["total"]


def test_error_lines_are_retried_then_rejected_with_their_error(server, tmp_path):
    server.state.batch_plan.extend(["errors"] * 10)  # every other line of each batch: a 500
    cfg = config(server, tmp_path, "errors", teacher_batch="api", teacher={"batch_retries": 1})
    manifest = run(cfg)
    assert manifest.complete
    failed = [d for r, d in rejects(cfg) if r == "teacher_batch_failed"]
    assert failed and all("server had an error" in d for d in failed)
    assert manifest.counts.kept > 0  # the lines that came back were used
    # each request was put in at most 1 + batch_retries batches
    asked: dict[str, int] = {}
    for b in created(server):
        content = server.state.files[b["input_file_id"]]["content"].decode()
        for line in content.splitlines():
            key = json.loads(line)["custom_id"]
            asked[key] = asked.get(key, 0) + 1
    assert max(asked.values()) == 2
    state = BatchState.load(run_folder(cfg) / "_batches" / "state.json")
    assert len(state.failed) == len(failed)


def test_a_batch_short_of_a_line_never_loses_it(server, tmp_path):
    server.state.batch_plan.append("short")
    cfg = config(server, tmp_path, "short", teacher_batch="api")
    manifest = run(cfg)
    assert manifest.complete and manifest.counts.samples == N
    first, second = created(server)
    assert second["request_counts"]["total"] == 1  # the missing line, asked again
    assert "teacher_batch_failed" not in {r for r, _ in rejects(cfg)}


def test_a_failed_batch_stops_naming_its_cause_and_a_rerun_goes_on(server, tmp_path):
    server.state.batch_plan.append("fail")
    cfg = config(server, tmp_path, "failed", teacher_batch="api")
    with pytest.raises(BatchFailed, match="model_not_found"):
        run(cfg)
    assert not server.state.executed
    manifest = run(cfg)  # the cause is gone (the plan is used up): the same command goes on
    assert manifest.complete and manifest.counts.kept > 0
    assert set(server.state.executed.values()) == {1}


def test_a_run_on_cached_results_sends_nothing(server, tmp_path):
    first = config(server, tmp_path, "first", teacher_batch="api")
    run(first)
    server.state.reset()
    before_batches, before_files = len(server.state.batches), len(server.state.files)
    again = config(server, tmp_path, "first", teacher_batch="api")
    again = RunConfig.from_params({**again.public(), "out": str(tmp_path / "elsewhere")})
    again = RunConfig.from_params(
        {**again.public(), "teacher_options": first.teacher_options}  # the same cache
    )
    manifest = run(again)
    assert manifest.complete and rows(again) == rows(first)
    assert len(server.state.batches) == before_batches
    assert len(server.state.files) == before_files
    assert not server.state.chat_records()
    assert manifest.cost.requests == 0 and manifest.cost.usd == 0


def test_pack_splits_by_count_bytes_and_model(tmp_path):
    def line(i: int, model: str, size: int = 10) -> dict[str, Any]:
        body = {"model": model, "messages": [{"role": "user", "content": "x" * size}]}
        return {"custom_id": f"{i:04d}", "body": body, "expect_output": 3}

    lines = [line(i, "a") for i in range(7)] + [line(100 + i, "b") for i in range(2)]
    batches = pack(lines, tmp_path, 0, max_requests=3, max_bytes=10_000)
    assert [(b.model, b.requests) for b in batches] == [("a", 3), ("a", 3), ("a", 1), ("b", 2)]
    big = [line(i, "a", 400) for i in range(4)]
    one = len(json.dumps({"custom_id": "0000", "method": "POST"}))  # a lower bound
    batches = pack(big, tmp_path / "big", 0, max_requests=50, max_bytes=1000)
    assert all(b.bytes <= 1000 for b in batches) and sum(b.requests for b in batches) == 4
    assert len(batches) >= 2 and one < 1000
    for b in batches:  # request lines only: the estimate's field never reaches the API
        for raw in (tmp_path / "big" / b.input).read_text().splitlines():
            assert set(json.loads(raw)) == {"custom_id", "method", "url", "body"}


# ---------------------------------------------------------------- the offline file


def vllm_run_batch(server: ServerThread, requests: Path, results: Path, fail: int = 0) -> None:
    """What ``vllm run-batch -i requests -o results`` does, against the stand-in server:
    each line's body POSTed, the answer written in vLLM's result format (in input order);
    the first ``fail`` lines come back as inline engine errors, as vLLM writes them."""
    out = []
    for n, raw in enumerate(requests.read_text().splitlines()):
        line = json.loads(raw)
        if n < fail:
            out.append(
                {
                    "id": f"vllm-{n}",
                    "custom_id": line["custom_id"],
                    "response": {"status_code": 400, "request_id": f"vllm-batch-{n}"},
                    "error": {"error": {"message": "engine error", "type": "BadRequestError"}},
                }
            )
            continue
        got = httpx.post(f"{server.base_url}/chat/completions", json=line["body"], timeout=60)
        out.append(
            {
                "id": f"vllm-{n}",
                "custom_id": line["custom_id"],
                "response": {
                    "status_code": got.status_code,
                    "request_id": f"vllm-batch-{n}",
                    "body": got.json(),
                },
                "error": None,
            }
        )
    results.write_text("".join(json.dumps(x) + "\n" for x in out))


def test_the_offline_file_round_trips_through_vllm_run_batch(server, tmp_path):
    reference = config(server, tmp_path, "ref")
    run(reference)
    asked_live = teaching(server)
    server.state.reset()
    cfg = config(server, tmp_path, "offline", teacher_batch="file", price_in=0.1, price_out=0.4)
    with pytest.raises(AwaitingResults, match="vllm run-batch -i .*requests.jsonl") as stop:
        run(cfg)
    assert stop.value.exit_code == 3 and not server.state.chat_records()
    folder = run_folder(cfg) / "_batches"
    requests = folder / "requests.jsonl"
    assert len(requests.read_text().splitlines()) == asked_live
    with pytest.raises(AwaitingResults, match="waiting for the results"):
        run(cfg)  # no results yet: the same stop, the same file, nothing sent
    vllm_run_batch(server, requests, folder / "results.jsonl", fail=1)
    with pytest.raises(AwaitingResults, match="wrote 1 teacher requests"):
        run(cfg)  # the engine error is retried in a file of its own
    assert len(requests.read_text().splitlines()) == 1
    vllm_run_batch(server, requests, folder / "results.jsonl")
    server.state.reset()
    manifest = run(cfg)
    assert manifest.complete and rows(cfg) == rows(reference)
    assert not server.state.chat_records()  # the run itself sent nothing
    (offline,) = manifest.cost.models
    assert offline["mode"] == "offline" and offline["requests"] == asked_live
    assert offline["source"] == "--price-in/--price-out"  # your GPUs: no batch discount


def ocr_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A counter of the OCR engine's reads (detection or recognition), in every thread."""
    from atlas_data.explore.text import OcrEngine

    calls = [0]
    real = OcrEngine._call

    def counted(self: OcrEngine, *args: Any, **kw: Any) -> Any:
        calls[0] += 1
        return real(self, *args, **kw)

    monkeypatch.setattr(OcrEngine, "_call", counted)
    return calls


def test_a_batch_run_explores_each_sample_once(server, tmp_path, monkeypatch):
    """The pass after the batch starts from what the first pass explored: as many OCR reads
    as a live run, not twice as many, and the same rows."""
    calls = ocr_calls(monkeypatch)
    text = {"source_options": {"families": "small_text,receipt,sign,table"}}
    live = config(server, tmp_path, "live", **text)
    run(live)
    live_reads = calls[0]
    assert live_reads > 0
    calls[0] = 0
    batch = config(server, tmp_path, "batch", teacher_batch="api", **text)
    run(batch)
    assert calls[0] == live_reads
    assert rows(batch) == rows(live) and rejects(batch) == rejects(live)
    assert not list((run_folder(batch) / "_batches" / "explored").glob("*.pkl"))
