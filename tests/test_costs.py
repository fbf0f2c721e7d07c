"""Dollars before and after a run: token rules, prices, the manifest's cost, ``--estimate``
and ``--max-cost``, against the real HTTP stand-in (which bills text with its own
tokenizer, not the estimate's bytes/4, and images by a Qwen2-VL server's rule)."""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest
from typer.testing import CliRunner

from atlas_data.cli import app
from atlas_data.config import RunConfig
from atlas_data.llm.count import image_tokens, qwen_tokens, request_tokens
from atlas_data.llm.prices import BATCH_DISCOUNT, PriceBook
from atlas_data.llm.stops import BudgetExhausted
from atlas_data.run.driver import run
from atlas_data.run.estimate import estimate
from atlas_data.run.ledger import cost_of
from atlas_data.run.plan import RunPlan
from tests.openai_server import ServerThread
from tests.runs import run_folder
from tests.teacher_runs import config, standin


@pytest.fixture
def server(monkeypatch):
    with standin(monkeypatch, "gpt-4o-mini") as s:  # a model the price table knows
        yield s


def billed_by_server(server: ServerThread) -> tuple[int, int]:
    """The tokens the stand-in reported for what it ran: live answers and batch lines."""
    tokens_in = tokens_out = 0
    for f in server.state.files.values():
        if f["purpose"] != "batch_output":
            continue
        for raw in f["content"].decode().splitlines():
            body = (json.loads(raw).get("response") or {}).get("body") or {}
            usage = body.get("usage") or {}
            tokens_in += usage.get("prompt_tokens", 0)
            tokens_out += usage.get("completion_tokens", 0)
    return tokens_in, tokens_out


# ---------------------------------------------------------------- token rules


def test_image_token_rules_match_the_published_worked_examples():
    # OpenAI's vision guide: tile models at detail high
    assert image_tokens("gpt-4o", 1024, 1024) == 765  # 768x768: 4 tiles, 85 + 4 x 170
    assert image_tokens("gpt-4o-2024-08-06", 2048, 4096) == 1105  # 768x1536: 6 tiles
    assert image_tokens("gpt-4o-mini", 1024, 1024) == 2833 + 4 * 5667
    # patch models: 32 px patches, capped at 1536, times the model's multiplier
    assert image_tokens("gpt-4.1-mini", 1024, 1024) == 1659  # 1024 patches x 1.62
    assert image_tokens("gpt-4.1-mini", 1800, 2400) == 2353  # scaled to 1452 patches
    # Qwen2-VL's smart_resize: sides to multiples of 28, then 4..16384 patches (+2 markers)
    assert qwen_tokens(1024, 768) == 37 * 27 + 2
    assert qwen_tokens(20, 20) == 2 * 2 + 2  # lifted to min_pixels
    assert qwen_tokens(8000, 8000) <= 16384 + 2  # capped at max_pixels
    assert image_tokens("Qwen/Qwen2.5-VL-7B-Instruct", 1024, 768) == qwen_tokens(1024, 768)


def test_request_tokens_count_text_images_and_framing():
    from PIL import Image

    from atlas_data.llm.client import encode_data_url

    url = encode_data_url(Image.new("RGB", (1024, 768), (200, 30, 30)), 1024)
    text = "x" * 400
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": text},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": text},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            },
        ],
    }
    # 100 + 100 text tokens, 3 per message, 3 for the reply, and 768x576: 2x2 tiles
    assert request_tokens(body) == 200 + 6 + 3 + 85 + 4 * 170


# ---------------------------------------------------------------- prices


def test_prices_come_from_the_table_and_overrides_and_unknown_is_none():
    book = PriceBook()
    live, batch = book.price("gpt-4o-mini", "live"), book.price("gpt-4o-mini", "batch")
    assert live and batch
    assert (live.input_per_mtok, live.output_per_mtok) == (Decimal("0.15"), Decimal("0.6"))
    assert batch.input_per_mtok == live.input_per_mtok * BATCH_DISCOUNT
    assert batch.output_per_mtok == live.output_per_mtok * BATCH_DISCOUNT
    assert "genai-prices" in live.source and "batch" in batch.source
    assert book.price("my-local-qwen", "live") is None
    assert book.price("gpt-4o-mini", "offline") is None  # your GPUs: only you know
    own = PriceBook(2.0, 8.0)
    assert own.price("my-local-qwen", "offline").input_per_mtok == Decimal("2.0")
    assert own.price("gpt-4o", "batch").output_per_mtok == Decimal("4.0")
    with pytest.raises(ValueError, match="both --price-in and --price-out"):
        PriceBook(1.0, None)


# ---------------------------------------------------------------- the manifest's cost


def test_a_batch_runs_cost_is_its_billed_tokens_at_the_batch_price_to_the_cent(server, tmp_path):
    cfg = config(server, tmp_path, "priced", model="gpt-4o-mini", teacher_batch="api")
    manifest = run(cfg)
    tokens_in, tokens_out = billed_by_server(server)
    assert tokens_in > 0 and tokens_out > 0
    cost = manifest.cost
    assert (cost.input_tokens, cost.output_tokens) == (tokens_in, tokens_out)
    expected = (tokens_in * 0.15 + tokens_out * 0.6) / 1e6 * 0.5
    assert cost.usd == pytest.approx(expected, abs=0.005) and cost.batch
    assert abs(cost.usd - expected) < 1e-6  # to the cent, and well below
    (part,) = cost.models
    assert part["mode"] == "batch" and part["input_per_mtok"] == 0.075


def test_a_live_run_with_overrides_and_an_unknown_model(server, tmp_path):
    priced = config(server, tmp_path, "own", price_in=3.0, price_out=12.0)
    manifest = run(priced)
    usage = manifest.teacher_usage
    expected = (usage.prompt_tokens * 3.0 + usage.completion_tokens * 12.0) / 1e6
    assert manifest.cost.usd == pytest.approx(expected, abs=1e-6) and not manifest.cost.batch
    unknown = config(server, tmp_path, "unknown")
    manifest = run(unknown)
    assert manifest.cost.usd is None and manifest.cost.input_tokens > 0
    assert "no price for stand-in-vlm" in manifest.cost.note
    from atlas_data.inspect.summary import summary_rows

    shown = dict(summary_rows(manifest))
    assert shown["cost"].startswith("unknown")


# ---------------------------------------------------------------- --estimate


@pytest.mark.parametrize("mode", ["off", "api"])
def test_the_estimate_sends_nothing_and_is_within_10_percent(server, tmp_path, mode):
    cfg = config(
        server, tmp_path, f"est-{mode}", n=16, price_in=2.5, price_out=10.0, teacher_batch=mode
    )
    est = estimate(RunPlan.resolve(cfg))
    assert not server.state.records or all(r["path"] == "/v1/models" for r in server.state.records)
    assert not server.state.batches and not server.state.files
    assert not list(run_folder(cfg).glob("*/*.parquet"))  # nothing written as data
    manifest = run(cfg)
    assert est.requests == manifest.cost.requests
    assert est.usd == pytest.approx(manifest.cost.usd, rel=0.10)
    assert est.input_tokens == pytest.approx(manifest.cost.input_tokens, rel=0.10)


def test_the_cli_estimate_prints_the_projection(server, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--n",
            "4",
            "--teacher",
            "openai",
            "--model",
            "gpt-4o-mini",
            "--base-url",
            server.base_url,
            "--cache-dir",
            str(tmp_path / "c"),
            "--out",
            str(tmp_path / "runs"),
            "--teacher-batch",
            "api",
            "--estimate",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "nothing was sent" in result.output and "genai-prices" in result.output
    assert not server.state.chat_records() and not server.state.batches
    saved = json.loads(next((tmp_path / "runs").rglob("estimate.json")).read_text())
    assert saved["requests"] > 0 and saved["mode"] == "batch"


def test_an_estimate_refuses_a_judge_that_would_send_requests(server, tmp_path):
    cfg = config(server, tmp_path, "flip", judges=["flip"], judge_model="stand-in-judge")
    with pytest.raises(ValueError, match="flip asks the model while exploring"):
        estimate(RunPlan.resolve(cfg))


# ---------------------------------------------------------------- --max-cost


def test_max_cost_stops_within_one_concurrency_window_and_a_higher_cap_resumes(server, tmp_path):
    reference = config(server, tmp_path, "ref", n=12)
    run(reference)
    asked = sum(1 for r in server.state.chat_records() if r.get("teaching"))
    server.state.reset()
    # ~3,000 input tokens a request at $1,000 per million: about $3 a request
    prices = {"price_in": 1000.0, "price_out": 1000.0}
    cap = 10.0
    concurrency = 2
    cfg = config(
        server,
        tmp_path,
        "capped",
        n=12,
        max_cost=cap,
        teacher={"concurrency": concurrency},
        **prices,
    )
    with pytest.raises(BudgetExhausted, match="--max-cost reached"):
        run(cfg)
    plan = RunPlan.resolve(cfg)
    spent = cost_of(plan.run_dir, plan.price_book())
    sent = [r for r in server.state.chat_records() if r.get("teaching")]
    per_request = spent.usd / spent.requests
    assert spent.requests == len(sent) < asked  # every request sent is counted, none lost
    assert cap <= spent.usd <= cap + concurrency * per_request * 1.5
    with pytest.raises(BudgetExhausted):  # the same cap: nothing more is sent
        run(cfg)
    assert len([r for r in server.state.chat_records() if r.get("teaching")]) == len(sent)
    higher = RunConfig.from_params(
        {**cfg.public(), "teacher_options": cfg.teacher_options, "max_cost": 1000.0}
    )
    manifest = run(higher)
    assert manifest.complete
    total = [r for r in server.state.chat_records() if r.get("teaching")]
    assert len(total) == asked  # what the capped run paid for was not asked again
    ours = duckdb.sql(f"select * from '{run_folder(higher)}/sft/*.parquet' order by id").fetchall()
    theirs = duckdb.sql(
        f"select * from '{run_folder(reference)}/sft/*.parquet' order by id"
    ).fetchall()
    assert ours == theirs
    assert manifest.cost.requests == asked  # the cut shards' spend is in the total


def test_max_cost_needs_a_price(server, tmp_path):
    with pytest.raises(ValueError, match="--max-cost needs a price for stand-in-vlm"):
        RunPlan.resolve(config(server, tmp_path, "x", max_cost=5.0))
