"""What a run has spent, read from its own folder: the one ledger behind ``--max-cost``,
the manifest's ``cost`` and ``--estimate``'s starting point.

Spend is recorded where the work is committed: a shard's completion record carries what
its requests billed, a shard cut short by the cap leaves a ``_spent/`` note (its answers
are cached, so a rerun does not pay again), and the batches' state holds what each batch
billed. Summing the three gives every token paid for, whichever invocation paid it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from atlas_data.llm import Usage
from atlas_data.llm.batch import BatchState
from atlas_data.llm.prices import Meter, PriceBook, merge_billed, spent, total_usd
from atlas_data.store.manifest import Cost
from atlas_data.store.run import RunDir

SPENT = "_spent"  # what shards cut short by the cap paid for


def record_spent(run_dir: RunDir, index: int, usage: Usage) -> None:
    """What a shard cut short by ``--max-cost`` paid for, counted here once."""
    if usage.billed:
        doc = {"shard": index, "billed": usage.billed}
        run_dir.loc.write_json(f"{SPENT}/shard-{index:05d}-{uuid.uuid4().hex[:8]}.json", doc)


def run_billed(run_dir: RunDir) -> dict[str, dict[str, int]]:
    """Every token the run paid for, per ``model@mode``: its shards' live requests, the
    shards cut short by the cap, and its batches."""
    billed: dict[str, dict[str, int]] = {}
    for r in run_dir.records():
        merge_billed(billed, r.usage.billed)
    for name in run_dir.loc.listdir(SPENT, ".json"):
        merge_billed(billed, run_dir.loc.read_json(f"{SPENT}/{name}")["billed"])
    local = run_dir.loc.local_root  # batches run on local disk only (RunPlan says so)
    if local is not None:
        merge_billed(billed, BatchState.load(local / "_batches" / "state.json").billed())
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


class LiveSpend:
    """What each process of one invocation has spent so far, in the run's own storage:
    ``_spent/live/<session>/<process>.json``, rewritten whole after every billed request.

    Every worker reads the others' notes before it sends a request, so with N workers the
    cap is passed by at most the requests already in flight, on a shared disk or in an
    object store alike. The notes are meters, not the ledger: what was paid is counted
    once, by the shard records and ``_spent/`` notes :func:`run_billed` reads."""

    def __init__(self, run_dir: RunDir, session: str) -> None:
        self.loc, self.folder = run_dir.loc, f"{SPENT}/live/{session}"
        self.name = f"{uuid.uuid4().hex}.json"

    def publish(self, own: Decimal) -> None:
        self.loc.write_json(f"{self.folder}/{self.name}", {"usd": str(own)})

    def others(self) -> Decimal:
        total = Decimal(0)
        for name in self.loc.listdir(self.folder, ".json"):
            if name != self.name:
                try:
                    total += Decimal(self.loc.read_json(f"{self.folder}/{name}")["usd"])
                except (FileNotFoundError, ValueError, KeyError):  # being rewritten
                    continue
        return total

    def close(self) -> None:
        self.loc.remove_tree(self.folder)


@dataclass(frozen=True)
class SpendCap:
    """One invocation's ``--max-cost``, as every worker process meters it: the cap, what
    the run had spent when the invocation began, and the invocation's ``session``."""

    cap: float
    base: str  # USD, a Decimal's text
    session: str

    @classmethod
    def start(cls, run_dir: RunDir, cap: float, book: PriceBook) -> SpendCap:
        so_far = total_usd(spent(run_billed(run_dir), book)) or Decimal(0)
        return cls(cap, str(so_far), uuid.uuid4().hex[:12])

    def meter(self, run_dir: RunDir, book: PriceBook) -> Meter:
        return Meter(self.cap, book, Decimal(self.base), LiveSpend(run_dir, self.session))

    def end(self, run_dir: RunDir) -> None:
        LiveSpend(run_dir, self.session).close()
