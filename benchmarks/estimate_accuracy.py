"""``--estimate`` against the cost the run then records, on the stand-in OpenAI server.

For each way of sending (live, the Batch API, the offline file priced by the user), one
command estimates the run (nothing sent), then runs it and reads ``manifest.json``'s
``cost``. The stand-in bills text with its own word tokenizer (not the estimate's
bytes/4) and writes its own reasoning (not the template teacher's, which the estimate
projects output tokens from), so the two are independent counts of the same requests.
RATIO is the estimate over the recorded cost, the worst of the Batch API runs (the
target: within 10 %).

    python -m benchmarks.estimate_accuracy [--n 64]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from atlas_data.config import RunConfig
from atlas_data.llm.stops import AwaitingResults
from atlas_data.run.driver import run
from atlas_data.run.estimate import estimate
from atlas_data.run.plan import RunPlan
from benchmarks.common import header, ratio_line
from tests.openai_server import ServerThread


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument(
        "--model",
        action="append",
        help="a model the price table knows (repeatable; default gpt-4o and gpt-4o-mini: "
        "images are a small and a large share of their bills)",
    )
    args = ap.parse_args()
    models = args.model or ["gpt-4o", "gpt-4o-mini"]
    header("--estimate vs the recorded cost (stand-in server)", "genai-prices", "openai")
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    ratios = {}
    with ServerThread() as server, tempfile.TemporaryDirectory() as tmp:
        server.state.models.extend(models)
        server.state.batch_seconds = 0.05
        for model, mode in ((m, mode) for m in models for mode in ("off", "api")):
            config = RunConfig(
                n=args.n,
                seed=1,
                teacher="openai",
                teacher_options={
                    "model": model,
                    "base_url": server.base_url,
                    "cache_dir": str(Path(tmp) / f"cache-{model}-{mode}"),
                    "batch_poll": 0.05,
                },
                teacher_batch=mode,
                out=str(Path(tmp) / f"runs-{model}-{mode}"),
            )
            est = estimate(RunPlan.resolve(config))
            try:
                cost = run(config).cost
            except AwaitingResults:  # pragma: no cover - file mode is not timed here
                continue
            assert est.usd is not None and cost.usd
            ratios[model, mode] = est.usd / cost.usd
            print(
                f"{model} {mode:>3}: estimate {est.requests} requests, {est.input_tokens} in / "
                f"{est.output_tokens} out, ${est.usd:.4f} | recorded {cost.requests} requests, "
                f"{cost.input_tokens} in / {cost.output_tokens} out, ${cost.usd:.4f} | "
                f"ratio {ratios[model, mode]:.3f}"
            )
    worst = max((abs(r - 1), r) for (m, mode), r in ratios.items() if mode == "api")[1]
    ratio_line("estimate_over_recorded_batch_worst", worst, "0.90-1.10")


if __name__ == "__main__":
    main()
