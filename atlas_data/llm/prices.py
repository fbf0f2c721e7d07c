"""Dollars per token, and what a run spent.

Prices come from ``genai-prices`` (a maintained, offline price table: OpenAI, Anthropic,
Google and others, with the Batch API's prices as their own variant), or from
``--price-in``/``--price-out`` (USD per million input/output tokens), which override it
for every model, local ones included. Usage is billed per ``model@mode``:

- ``live``: a request sent to the endpoint now, at the list price;
- ``batch``: a request run by the OpenAI Batch API, at the batch price (the library's
  batch variant, or :data:`BATCH_DISCOUNT` times an overriding price);
- ``offline``: a request run by ``vllm run-batch`` on the user's GPUs, at the overriding
  price only (no library knows what a local GPU hour costs).

A model with no known price is reported by name with ``usd: null``, never as a zero.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

BATCH_DISCOUNT = Decimal("0.5")  # the OpenAI Batch API: half the list price
MODES = ("live", "batch", "offline")
PER = Decimal(1_000_000)


def billing_key(model: str, mode: str) -> str:
    return f"{model}@{mode}"


def split_key(key: str) -> tuple[str, str]:
    model, _, mode = key.rpartition("@")
    return model, mode


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens, and where that figure comes from."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    source: str

    def usd(self, input_tokens: int, output_tokens: int) -> Decimal:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / PER


def _library_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


class PriceBook:
    """Prices by model and mode: the user's override, else the library, else unknown."""

    def __init__(self, price_in: float | None = None, price_out: float | None = None) -> None:
        if (price_in is None) != (price_out is None):
            raise ValueError("give both --price-in and --price-out (USD per million tokens)")
        for name, value in (("price_in", price_in), ("price_out", price_out)):
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        self.override = (
            None if price_in is None else (Decimal(str(price_in)), Decimal(str(price_out)))
        )
        self._known: dict[tuple[str, str], Price | None] = {}
        self._lock = threading.Lock()

    def price(self, model: str, mode: str) -> Price | None:
        """The price that applies to ``model`` run in ``mode``, or ``None`` when unknown."""
        key = (model, mode)
        with self._lock:
            if key not in self._known:
                self._known[key] = self._lookup(model, mode)
            return self._known[key]

    def _lookup(self, model: str, mode: str) -> Price | None:
        if self.override is not None:
            pin, pout = self.override
            if mode == "batch":
                return Price(
                    pin * BATCH_DISCOUNT,
                    pout * BATCH_DISCOUNT,
                    f"--price-in/--price-out x {BATCH_DISCOUNT} (Batch API)",
                )
            return Price(pin, pout, "--price-in/--price-out")
        if mode == "offline":
            return None  # your GPUs: only you know their price (--price-in/--price-out)
        from genai_prices import Usage, calc_price

        context: Any = {"processing": "batch"} if mode == "batch" else None
        try:
            calc = calc_price(
                Usage(input_tokens=1_000_000, output_tokens=1_000_000),
                model,
                price_context=context,
            )
        except LookupError:
            return None
        variant = " batch" if mode == "batch" else ""
        return Price(
            Decimal(calc.input_price),
            Decimal(calc.output_price),
            f"genai-prices {_library_version()}: {calc.provider.id}/{calc.model.id}{variant}",
        )


@dataclass
class Spent:
    """Tokens billed for one ``model@mode`` and what they cost (``None``: no known price)."""

    model: str
    mode: str
    requests: int
    input_tokens: int
    output_tokens: int
    price: Price | None

    @property
    def usd(self) -> Decimal | None:
        return None if self.price is None else self.price.usd(self.input_tokens, self.output_tokens)

    def to_json(self) -> dict[str, Any]:
        p = self.price
        return {
            "model": self.model,
            "mode": self.mode,
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "input_per_mtok": None if p is None else float(p.input_per_mtok),
            "output_per_mtok": None if p is None else float(p.output_per_mtok),
            "usd": None if self.usd is None else round(float(self.usd), 6),
            "source": "unknown: pass --price-in and --price-out" if p is None else p.source,
        }


def spent(billed: dict[str, dict[str, int]], book: PriceBook) -> list[Spent]:
    """Each ``model@mode`` of ``billed`` ({key: {requests, input_tokens, output_tokens}})."""
    out = []
    for key, tally in sorted(billed.items()):
        model, mode = split_key(key)
        out.append(
            Spent(
                model,
                mode,
                int(tally.get("requests", 0)),
                int(tally.get("input_tokens", 0)),
                int(tally.get("output_tokens", 0)),
                book.price(model, mode),
            )
        )
    return out


def total_usd(parts: list[Spent]) -> Decimal | None:
    """The sum, or ``None`` when any part that billed tokens has no known price."""
    total = Decimal(0)
    for p in parts:
        if p.usd is None:
            if p.input_tokens or p.output_tokens:
                return None
            continue
        total += p.usd
    return total


def add_billed(
    into: dict[str, dict[str, int]], key: str, input_tokens: int, output_tokens: int, n: int = 1
) -> None:
    tally = into.setdefault(key, {"requests": 0, "input_tokens": 0, "output_tokens": 0})
    tally["requests"] += n
    tally["input_tokens"] += input_tokens
    tally["output_tokens"] += output_tokens


def merge_billed(into: dict[str, dict[str, int]], other: dict[str, dict[str, int]]) -> None:
    for key, t in other.items():
        add_billed(into, key, t.get("input_tokens", 0), t.get("output_tokens", 0), t["requests"])


class SharedSpend(Protocol):
    """What the other processes of a run have spent (a run on several workers)."""

    def publish(self, own: Decimal) -> None: ...

    def others(self) -> Decimal: ...


class Meter:
    """Dollars spent by the run so far, against ``--max-cost``.

    It starts from what the run's records already hold (earlier invocations, finished
    shards, batches) and adds each request this process pays for; with ``shared``, also
    what the run's other worker processes have paid for in this invocation. Once the cap is
    reached, no new request is sent (those in flight finish: one concurrency window per
    process)."""

    def __init__(
        self,
        cap: float,
        book: PriceBook,
        spent: Decimal = Decimal(0),
        shared: SharedSpend | None = None,
    ) -> None:
        self.cap = Decimal(str(cap))
        self.book = book
        self.base, self.own, self.shared = spent, Decimal(0), shared
        self._lock = threading.Lock()

    @property
    def spent(self) -> Decimal:
        others = self.shared.others() if self.shared is not None else Decimal(0)
        return self.base + self.own + others

    def charge(self, key: str, input_tokens: int, output_tokens: int) -> None:
        price = self.book.price(*split_key(key))
        if price is None:
            return  # refused before the run (RunPlan): a capped run prices every model
        with self._lock:
            self.own += price.usd(input_tokens, output_tokens)
            if self.shared is not None:
                self.shared.publish(self.own)

    def check(self) -> None:
        from atlas_data.llm.stops import BudgetExhausted

        spent = self.spent
        if spent >= self.cap:
            raise BudgetExhausted(
                f"--max-cost reached: ${spent:.4f} spent of ${self.cap}. What is finished "
                "is kept; rerun the same command with a higher --max-cost to go on"
            )


_METER: Meter | None = None


def meter() -> Meter | None:
    """The meter of the run in progress in this process, if it has a cap."""
    return _METER


@contextmanager
def metering(m: Meter | None) -> Iterator[None]:
    global _METER
    previous, _METER = _METER, m
    try:
        yield
    finally:
        _METER = previous
