"""The end-of-run summary, once: rows of (what, value) that the CLI prints as a table, the
flow publishes as a markdown artifact and ``make run`` shows after the DuckDB query."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def summary_rows(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Kept, rejected by reason, tokens and tasks, teacher usage, throughput, output."""
    c = manifest["counts"]
    rows = [
        ("source", str(manifest.get("source", {}).get("summary", "-"))),
        ("samples", str(c["samples"])),
        ("kept", f"{c['kept']} ({c['kept_fraction']:.1%})"),
        ("rejected", str(c["rejected"])),
        *((f"  rejected: {r}", str(n)) for r, n in c["rejected_by_reason"].items()),
        *((f"  token {t}", str(n)) for t, n in c["tokens"].items()),
        *((f"  task {t}", str(n)) for t, n in c["tasks"].items()),
    ]
    usage = manifest.get("teacher_usage", {})
    if usage.get("requests") or usage.get("cache_hits"):
        rows.append(
            ("teacher requests / cache hits", f"{usage['requests']} / {usage['cache_hits']}")
        )
        rows.append(
            (
                "teacher tokens (prompt / completion)",
                f"{usage['prompt_tokens']} / {usage['completion_tokens']}",
            )
        )
    sps = manifest["timing"].get("samples_per_second")
    rows.append(("samples/s", f"{sps:.2f}" if sps else "- (every shard was already done)"))
    rows.append(("complete", str(manifest["complete"])))
    rows.append(("output", str(Path(manifest["config"]["out"]) / manifest["run_id"])))
    return rows
