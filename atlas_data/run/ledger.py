"""What a run has spent, read from its own folder: the one ledger behind ``--max-cost``,
the manifest's ``cost`` and ``--estimate``'s starting point.

Spend is recorded where the work is committed: a shard's completion record carries what
its requests billed, a shard cut short by the cap leaves a ``_spent/`` note (its answers
are cached, so a rerun does not pay again), and the batches' state holds what each batch
billed. Summing the three gives every token paid for, whichever invocation paid it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from atlas_data.llm import Usage
from atlas_data.llm.batch import BatchState
from atlas_data.llm.prices import PriceBook, merge_billed, spent, total_usd
from atlas_data.store.manifest import Cost
from atlas_data.store.run import RunDir


def record_spent(root: Path, index: int, usage: Usage) -> None:
    """What a shard cut short by ``--max-cost`` paid for, counted here once."""
    if usage.billed:
        folder = root / "_spent"
        folder.mkdir(parents=True, exist_ok=True)
        doc = {"shard": index, "billed": usage.billed}
        (folder / f"shard-{index:05d}-{uuid.uuid4().hex[:8]}.json").write_text(json.dumps(doc))


def run_billed(run_dir: RunDir) -> dict[str, dict[str, int]]:
    """Every token the run paid for, per ``model@mode``: its shards' live requests, the
    shards cut short by the cap, and its batches."""
    billed: dict[str, dict[str, int]] = {}
    for r in run_dir.records():
        merge_billed(billed, r.usage.billed)
    for p in sorted((run_dir.root / "_spent").glob("*.json")):
        merge_billed(billed, json.loads(p.read_text())["billed"])
    merge_billed(billed, BatchState.load(run_dir.root / "_batches" / "state.json").billed())
    return billed


def cost_of(run_dir: RunDir, book: PriceBook) -> Cost:
    """The run's cost: every token it paid for (:func:`run_billed`) at its model's price."""
    parts = spent(run_billed(run_dir), book)
    usd = total_usd(parts)
    billed = [p for p in parts if p.input_tokens or p.output_tokens]
    unknown = sorted({p.model for p in billed if p.price is None})
    if unknown:
        note = (
            f"unknown: no price for {', '.join(unknown)} (pass --price-in and --price-out); "
            "the tokens are counted"
        )
    elif not billed:
        note = "nothing billed: no model request was sent (offline teacher or all cached)"
    else:
        note = "; ".join(f"{p.model} {p.mode}: ${float(p.usd or 0):.4f}" for p in billed)
    return Cost(
        usd=None if usd is None else round(float(usd), 6),
        input_tokens=sum(p.input_tokens for p in parts),
        output_tokens=sum(p.output_tokens for p in parts),
        requests=sum(p.requests for p in parts),
        batch=any(p.mode == "batch" for p in billed),
        models=[p.to_json() for p in parts],
        note=note,
    )
