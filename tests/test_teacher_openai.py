"""The OpenAI-compatible teacher against a real local HTTP server, driven by the real client."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import duckdb
import pytest
from rich.console import Console
from typer.testing import CliRunner

from atlas_data.cli import app, summary_table
from atlas_data.config import RunConfig
from atlas_data.llm import TeacherUnavailable
from atlas_data.llm.client import Completion, Prompt, encode_data_url
from atlas_data.run.driver import run
from atlas_data.run.plan import RunPlan
from atlas_data.store.run import open_run
from atlas_data.teacher.openai import extract_json, parse_reasoning
from tests.openai_server import ServerThread
from tests.runs import run_folder

KEY = "sk-test-SECRET-never-written-7f3a"
MODEL = "stand-in-vlm"


@pytest.fixture(scope="module")
def server():
    with ServerThread() as s:
        yield s


@pytest.fixture(autouse=True)
def _env(monkeypatch, server):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    server.state.reset()
    server.state.slow_seconds = 10.0


def config(server, tmp_path: Path, n: int = 5, out: str = "runs", **opts) -> RunConfig:
    options = {
        "model": MODEL,
        "base_url": server.base_url,
        "cache_dir": str(tmp_path / "cache"),
        "backoff": 0.05,
        "timeout": 10,
        **opts,
    }
    return RunConfig(
        split="both",
        n=n,
        seed=3,
        shard_size=n,
        teacher="openai",
        teacher_options=options,
        out=str(tmp_path / out),
    )


def rejects(cfg: RunConfig) -> list[tuple[str, str, str, str]]:
    root = run_folder(cfg)
    if not list(root.glob("rejects/*.parquet")):
        return []
    return duckdb.sql(
        f"select id, reason, detail, raw from '{root}/rejects/*.parquet' order by id"
    ).fetchall()


def test_full_run_keeps_rows_and_a_rerun_costs_no_requests(server, tmp_path):
    cfg = config(server, tmp_path)
    manifest = run(cfg)
    chats = server.state.chat_records()
    assert manifest.counts.kept == cfg.n
    assert len(chats) == cfg.n  # one request per sample that reached the teacher
    usage = manifest.teacher_usage
    assert usage.requests == cfg.n and usage.cache_hits == 0
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    for rec in chats:
        assert rec["status"] == 200 and rec["response_format"] == "json_schema"
        assert rec["auth"] == f"Bearer {KEY}"
        # the original plus one result per operation, each within the image budget
        assert len(rec["images"]) >= 2
        assert all(fmt in ("JPEG", "PNG") and max(size) <= 1024 for fmt, size in rec["images"])
    root = run_folder(cfg)
    rows = duckdb.sql(f"select teacher, text, answer from '{root}/sft/*.parquet'").fetchall()
    assert len(rows) == cfg.n
    assert all(t == f"openai:{MODEL}" and f"\\boxed{{{a}}}" in text for t, text, a in rows)
    console = Console(file=io.StringIO(), width=120)
    console.print(summary_table(manifest))
    assert f"{cfg.n} / 0" in console.file.getvalue()  # teacher requests / cache hits

    server.state.reset()
    again = run(config(server, tmp_path, out="runs2"))  # a new run dir, the same cache
    assert server.state.records == []  # not even the /v1/models probe
    assert again.teacher_usage.requests == 0
    assert again.teacher_usage.cache_hits == cfg.n
    assert again.counts.kept == cfg.n


def test_a_changed_prompt_misses_the_cache(server, tmp_path):
    run(config(server, tmp_path, n=2))
    first = len(server.state.chat_records())
    run(config(server, tmp_path, n=2, out="other", max_tokens=777))
    recs = server.state.chat_records()
    assert len(recs) == 2 * first and recs[-1]["max_tokens"] == 777


def test_cache_key_follows_the_prompt_and_images():
    from PIL import Image

    from atlas_data.llm.client import Endpoint, EndpointConfig

    ep = Endpoint(EndpointConfig(model="m", cache_dir=None))
    a = Prompt(messages=[], max_side=1024)
    a.messages = [{"role": "user", "content": [a.add_image(Image.new("RGB", (9, 9), "red"))]}]
    b = Prompt(messages=[], max_side=1024)
    b.messages = [{"role": "user", "content": [b.add_image(Image.new("RGB", (9, 9), "blue"))]}]
    assert ep.key(a, {}) != ep.key(b, {})
    assert ep.key(a, {}) == ep.key(a, {}) != ep.key(a, {"temperature": 0.5})
    assert "data:image/" not in json.dumps(a.messages)  # placeholders until a miss
    assert a.materialize()[0]["content"][0]["image_url"]["url"].startswith("data:image/png")


def test_image_format_follows_content():
    import numpy as np
    from PIL import Image

    flat = Image.new("RGB", (2000, 1000), "white")
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 800, 3), np.uint8))
    assert encode_data_url(flat, 1024).startswith("data:image/png")
    assert encode_data_url(noisy, 1024).startswith("data:image/jpeg")


def test_429_with_retry_after_and_500_are_retried(server, tmp_path):
    server.state.plan.extend(["429", "500"])
    manifest = run(config(server, tmp_path, n=1, concurrency=1))
    chats = server.state.chat_records()
    assert [r["status"] for r in chats] == [429, 500, 200]
    assert chats[1]["time"] - chats[0]["time"] >= 0.9  # Retry-After: 1 was honoured
    assert manifest.counts.kept == 1
    assert manifest.teacher_usage.retries == 2
    assert manifest.teacher_usage.requests == 1


def test_timeouts_become_a_rejection_after_retries(server, tmp_path):
    server.state.default_mode = "slow"
    server.state.slow_seconds = 3.0
    cfg = config(server, tmp_path, n=1, timeout=0.3, max_retries=1)
    manifest = run(cfg)
    assert manifest.counts.rejected == 1
    ((_, reason, detail, _),) = rejects(cfg)
    assert reason == "teacher_timeout" and "2 attempt(s)" in detail
    assert server.base_url in detail
    assert len(server.state.chat_records()) == 2


@pytest.mark.parametrize(
    "mode, reason",
    [
        ("malformed", "teacher_malformed"),
        ("refusal", "teacher_refused"),
        ("refusal_text", "teacher_refused"),
        ("truncated", "teacher_truncated"),
        ("offformat", "teacher_off_format"),
    ],
)
def test_bad_answers_become_rejection_rows_with_the_raw_text(server, tmp_path, mode, reason):
    server.state.default_mode = mode
    cfg = config(server, tmp_path, n=2)
    manifest = run(cfg)
    assert manifest.counts.kept == 0 and manifest.counts.rejected == 2
    rows = rejects(cfg)
    assert [r[1] for r in rows] == [reason, reason]
    for _, _, detail, raw in rows:
        assert raw or "sorry" in detail.lower()  # an API refusal has no content, only its text
        if mode != "refusal":
            assert raw.strip()


def test_a_fenced_answer_with_trailing_prose_is_parsed(server, tmp_path):
    server.state.default_mode = "fenced"
    assert run(config(server, tmp_path, n=2)).counts.kept == 2


def test_tolerant_parser():
    obj = {"preamble": "p", "steps": [], "conclusion": "c", "answer": "a"}
    text = f"Sure!\n```json\n{json.dumps(obj)}\n```\nAnything else?"
    assert extract_json(text) == obj
    assert extract_json("{not json} then " + json.dumps(obj) + " bye") == obj
    step = {"intent": "i", "observation": "o"}
    cut = json.dumps({**obj, "steps": [step]}).split(', "conclusion"')[0]
    broken = cut + ', "oops": ,}'  # an answer broken after its steps: the step parses alone
    assert isinstance(extract_json(broken), dict)
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json(broken, ("preamble", "steps", "answer"))
    assert parse_reasoning(Completion(json.dumps(obj), "stop")).reasoning is not None
    bad = parse_reasoning(Completion(json.dumps({**obj, "steps": [{"intent": 3}]}), "stop"))
    assert bad.rejection and bad.rejection.reason == "teacher_off_format" and bad.rejection.raw


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint_fails_fast_naming_the_url(tmp_path, monkeypatch):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    cfg = RunConfig(
        n=2,
        teacher="openai",
        teacher_options={"model": MODEL, "base_url": url, "cache_dir": str(tmp_path / "c")},
        out=str(tmp_path / "runs"),
    )
    with pytest.raises(TeacherUnavailable, match=url.replace(".", r"\.")):
        run(cfg)
    result = CliRunner().invoke(
        app,
        ["run", "--n", "2", "--teacher", "openai", "--model", MODEL, "--base-url", url]
        + ["--out", str(tmp_path / "cli"), "--cache-dir", str(tmp_path / "c")],
    )
    assert result.exit_code == 2
    assert url in result.output and "Traceback" not in result.output


def test_unknown_model_is_named_with_the_served_ones(server, tmp_path):
    cfg = config(server, tmp_path, n=1, model="no-such-model")
    with pytest.raises(TeacherUnavailable, match="no-such-model.*stand-in-vlm"):
        run(cfg)


def test_cli_run_and_the_key_never_lands_on_disk(server, tmp_path):
    out, cache = tmp_path / "cli-runs", tmp_path / "cli-cache"
    result = CliRunner().invoke(
        app,
        ["run", "--n", "3", "--split", "both", "--teacher", "openai", "--model", MODEL]
        + ["--base-url", server.base_url, "--out", str(out), "--cache-dir", str(cache)]
        + ["--teacher-concurrency", "4", "--teacher-opt", "backoff=0.05"],
    )
    assert result.exit_code == 0, result.output
    assert "model requests" in result.output and KEY not in result.output
    assert server.state.chat_records() and all(
        r["auth"] == f"Bearer {KEY}" for r in server.state.chat_records()
    )
    files = [p for p in [*out.rglob("*"), *cache.rglob("*")] if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files) and any(
        p.parent.parent == cache for p in files
    )
    for p in files:
        assert KEY.encode() not in p.read_bytes(), p
    manifest = open_run(next(out.rglob("manifest.json")).parent).finished()
    assert manifest.config.teacher_options["model"] == MODEL
    assert "concurrency" not in manifest.teacher  # speed is not part of the identity


def test_a_flaky_teacher_at_30_percent_faults_loses_nothing(server, tmp_path):
    """429s, 500s, timeouts, truncated and malformed bodies on 30 % of requests."""
    import random as _random

    rng = _random.Random(7)
    faults = ["429", "500", "slow", "truncated", "malformed"]
    plan = [rng.choice(faults) if rng.random() < 0.3 else "ok" for _ in range(400)]
    server.state.plan.extend(plan)
    server.state.retry_after = "0"
    server.state.slow_seconds = 2.0
    n = 40
    cfg = config(server, tmp_path, n=n, timeout=0.4, max_retries=3, backoff=0.01)
    manifest = run(cfg)

    counts = manifest.counts
    assert manifest.complete and counts.kept + counts.rejected == n
    rows = rejects(cfg)
    assert len(rows) == counts.rejected and all(reason and detail for _, reason, detail, _ in rows)
    allowed = {"teacher_truncated", "teacher_malformed", "teacher_timeout"}
    allowed |= {"teacher_server_error", "teacher_rate_limited"}  # if every retry failed too
    allowed |= {"no_helpful_operation"}  # explore's own refusals, before any request
    assert {r[1] for r in rows} <= allowed, {r[1] for r in rows}
    assert {"teacher_truncated", "teacher_malformed"} & {r[1] for r in rows}
    kept = duckdb.sql(f"select count(*) from '{run_folder(cfg)}/sft/*.parquet'").fetchall()
    assert kept[0][0] == counts.kept > 0
    # every explored sample was asked once plus once per retry, and each retry was counted
    attempts = len(server.state.chat_records())
    # a direct answer past --direct-share was taught before the share was decided (in source
    # order, after the teacher): only explore's own refusals were never asked
    never_asked = [r for r in rows if r[1] == "no_helpful_operation" and "direct-share" not in r[2]]
    asked = n - len(never_asked)
    assert manifest.teacher_usage.retries == attempts - asked > 0


def test_the_teachers_own_identity_is_in_the_run_id_and_manifest(server, tmp_path, monkeypatch):
    import atlas_data.teacher.openai as teacher_module

    cfg = config(server, tmp_path, n=1)
    manifest = run(cfg)
    assert manifest.run_id == RunPlan.resolve(cfg).run_id
    assert manifest.teacher["model"] == MODEL
    assert manifest.teacher["prompt_version"] == teacher_module.PROMPT_VERSION
    assert KEY not in json.dumps(manifest.to_json())
    monkeypatch.setattr(teacher_module, "PROMPT_VERSION", teacher_module.PROMPT_VERSION + 1)
    assert RunPlan.resolve(config(server, tmp_path, n=1)).run_id != manifest.run_id


def test_one_budget_sizes_what_every_model_sees_and_every_zoom(server, tmp_path):
    """``--judge-max-side 768`` (the old spelling of ``--budget-side``): no image sent to the
    teacher, the flip judge or the grounding proposer is larger than 768 px, and the source's
    zooms are sized to fill 768 px, not the default 1024."""
    out = tmp_path / "budget"
    result = CliRunner().invoke(
        app,
        ["run", "--n", "4", "--teacher", "openai", "--model", MODEL]
        + ["--base-url", server.base_url, "--out", str(out), "--cache-dir", str(tmp_path / "c")]
        + ["--judge", "annotation", "--judge", "flip", "--judge-model", "stand-in-judge"]
        + ["--proposer", "boxes", "--proposer", "grounding", "--judge-max-side", "768"]
        + ["--source-opt", "families=small_text,receipt", "--teacher-opt", "backoff=0.05"],
    )
    assert result.exit_code == 0, result.output
    chats = server.state.chat_records()
    asked = {r["model"] for r in chats}
    assert asked == {MODEL, "stand-in-judge"}  # the teacher, grounding and the flip judge
    sizes = [size for r in chats for _, size in r["images"]]
    assert sizes and max(max(s) for s in sizes) <= 768
    assert max(max(s) for s in sizes) > 700  # the budget view itself, not something smaller
    with open_run(next(out.rglob("manifest.json")).parent) as done:
        assert done.finished().budget_side == 768
        _, rows = done.sql("SELECT o.params FROM (SELECT unnest(operations) o FROM kept)")
        _, judged = done.sql("SELECT o.evidence FROM (SELECT unnest(operations) o FROM kept)")

    def sides(ev: object) -> list[object]:  # every "max_side" a judge recorded, nested or not
        if isinstance(ev, dict):
            return [v for k, v in ev.items() if k == "max_side"] + [
                s for v in ev.values() for s in sides(v)
            ]
        return []

    seen = [s for (e,) in judged for s in sides(json.loads(e or "{}"))]
    assert seen and set(seen) == {768}  # the flip judge looked at the run's budget
    zooms = [json.loads(p) for (p,) in rows if "box" in json.loads(p)]
    assert zooms
    for z in zooms:  # magnified to fill the 768 px view (or to the factor cap)
        b = z["box"]
        shown = max(b[2] - b[0], b[3] - b[1]) * z["factor"]
        assert z["factor"] == 8 or abs(shown - 768) <= 8, z
