"""The end-of-run summary, once: rows of (what, value) that the CLI prints as a table, the
flow publishes as a markdown artifact and ``make run`` shows after the DuckDB query."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def summary_rows(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Kept, rejected by reason, tokens and tasks, teacher usage, quality, throughput, output."""
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
    rows += quality_rows(manifest.get("quality") or {})
    sps = manifest["timing"].get("samples_per_second")
    rows.append(("samples/s", f"{sps:.2f}" if sps else "- (every shard was already done)"))
    rows.append(("complete", str(manifest["complete"])))
    rows.append(("output", str(Path(manifest["config"]["out"]) / manifest["run_id"])))
    return rows


def quality_rows(quality: dict[str, Any]) -> list[tuple[str, str]]:
    """The manifest's quality section in words: chain lengths, direct answers, what each
    proposer put forward and had chosen, what each judge said, evidence containment."""
    if not quality:
        return []
    chains = quality.get("operations_per_trajectory", {})
    rows = [
        (
            "operations per trajectory",
            " · ".join(f"{n}: {c}" for n, c in chains.items())
            + f" (mean {quality.get('mean_operations', 0)})",
        ),
        ("chains (2+ operations)", f"{quality.get('multi_operation_share', 0):.1%}"),
        ("direct answers", f"{quality.get('direct', 0)} ({quality.get('direct_share', 0):.1%})"),
    ]
    for name, c in quality.get("proposers", {}).items():
        rows.append((f"  proposer {name}", f"{c['chosen']} chosen of {c['proposed']}"))
    for name, c in quality.get("judges", {}).items():
        verdicts = f"{c['accept']} accept · {c['reject']} reject · {c['abstain']} abstain"
        rows.append((f"  judge {name}", verdicts))
    held = quality.get("evidence_containment", {})
    if held.get("zooms_with_known_evidence"):
        rows.append(
            (
                "zooms holding the known evidence",
                f"{held['zooms_containing_it']} of {held['zooms_with_known_evidence']} "
                f"({held['share']:.0%})",
            )
        )
    return rows
