"""``--estimate``: what the unfinished part of a run will ask and cost, sending nothing.

Every unfinished shard is explored with the teacher deferring its requests (as in a batch
pass) and nothing is committed; the deferred requests are counted
(:mod:`atlas_data.llm.count`) and priced (:mod:`atlas_data.llm.prices`), then deleted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from atlas_data.dedup.kept import Kept
from atlas_data.explore import judge_names, proposer_names
from atlas_data.llm.batch import Spool
from atlas_data.llm.count import request_tokens
from atlas_data.run.plan import RunPlan
from atlas_data.run.shard import process_shard, spool_folder


def estimate(plan: RunPlan) -> Estimate:
    """Explore every unfinished shard and prepare its teacher requests, without sending or
    committing anything; count their tokens and price them (``--estimate``)."""
    config = plan.config
    talking = [n for n in judge_names(config) if n == "flip"]
    talking += [n for n in proposer_names(config) if n == "grounding"]
    if talking:
        raise ValueError(
            f"--estimate counts the teacher's requests, but {', '.join(talking)} asks the "
            "model while exploring (it would send requests). Estimate without it, or run a "
            "pilot: --n 200 --max-cost 2, then scale manifest.json's cost"
        )
    plan = dataclasses.replace(plan, estimating=True)
    spool = Spool(spool_folder(plan))
    spool.clear()
    count = plan.shard_count()
    if count is None:
        raise ValueError("--estimate needs a source of known size: pass --n")
    samples = 0
    for index in range(count):
        if not plan.run_dir.is_done(index):
            start, stop = plan.bounds(index)
            samples += stop - start
            history = Kept.of_records(plan.run_dir.records(), index, config.dedup_bits)
            process_shard(plan, index, history)
    try:
        return Estimate.of(plan, spool.lines(), samples)
    finally:
        spool.clear()
        spool.root.rmdir()


@dataclass
class Estimate:
    """What the unfinished part of a run will ask and cost (``--estimate``)."""

    samples: int
    requests: int
    input_tokens: int
    output_tokens: int
    model: str
    mode: str
    usd: float | None
    price_source: str

    @classmethod
    def of(cls, plan: RunPlan, lines: Iterable[dict[str, Any]], samples: int) -> Estimate:
        models = plan.models()
        model, mode = models[0] if models else ("", "live")
        requests = tokens_in = tokens_out = 0
        for x in lines:  # streamed: a large run's requests never sit in memory
            requests += 1
            tokens_in += request_tokens(x["body"])
            tokens_out += int(x.get("expect_output", 0))
        price = plan.price_book().price(model, mode) if model else None
        usd = float(price.usd(tokens_in, tokens_out)) if price else (0.0 if not model else None)
        source = price.source if price else ("no model" if not model else "unknown")
        return cls(samples, requests, tokens_in, tokens_out, model, mode, usd, source)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)
