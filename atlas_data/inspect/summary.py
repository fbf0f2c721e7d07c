"""The end-of-run summary, once: rows of (what, value) that the CLI prints as a table, the
flow publishes as a markdown artifact and ``make run`` shows after the DuckDB query."""

from __future__ import annotations

from atlas_data.store.manifest import Manifest, Quality


def summary_rows(manifest: Manifest) -> list[tuple[str, str]]:
    """Kept, rejected by reason, tokens and tasks, teacher usage, quality, throughput, output."""
    c = manifest.counts
    rows = [
        ("source", manifest.source.summary or "-"),
        ("samples", str(c.samples)),
        ("kept", f"{c.kept} ({c.kept_fraction:.1%})"),
        ("rejected", str(c.rejected)),
        *((f"  rejected: {r}", str(n)) for r, n in c.rejected_by_reason.items()),
        *((f"  token {t}", str(n)) for t, n in c.tokens.items()),
        *((f"  task {t}", str(n)) for t, n in c.tasks.items()),
    ]
    usage = manifest.teacher_usage
    if usage.requests or usage.cache_hits:
        rows.append(("live model requests / cache hits", f"{usage.requests} / {usage.cache_hits}"))
        rows.append(
            (
                "teacher tokens (prompt / completion)",
                f"{usage.prompt_tokens} / {usage.completion_tokens}",
            )
        )
    rows += cost_rows(manifest)
    rows += quality_rows(manifest.quality)
    rows += filter_rows(manifest)
    sps = manifest.timing.samples_per_second
    rows.append(("samples/s", f"{sps:.2f}" if sps else "- (every shard was already done)"))
    rows.append(("complete", str(manifest.complete)))
    rows.append(("output", str(manifest.folder)))
    return rows


def cost_rows(manifest: Manifest) -> list[tuple[str, str]]:
    """What the run's model requests cost, per model and mode, and where the prices came from."""
    cost = manifest.cost
    if not cost.requests:
        return [("cost", f"$0 ({cost.note or 'no model request'})")]
    total = "unknown (no price: see below)" if cost.usd is None else f"${cost.usd:.4f}"
    rows = [
        ("cost", f"{total}{' (Batch API prices)' if cost.batch else ''}"),
        ("  tokens billed (input / output)", f"{cost.input_tokens} / {cost.output_tokens}"),
    ]
    for m in cost.models:
        usd = "unknown" if m["usd"] is None else f"${m['usd']:.4f}"
        rows.append(
            (f"  {m['model']} ({m['mode']}, {m['requests']} requests)", f"{usd}: {m['source']}")
        )
    return rows


def filter_rows(manifest: Manifest) -> list[tuple[str, str]]:
    """What was kept out: the benchmarks and what each removed, and the near-duplicates."""
    f = manifest.filters
    rows = [
        (
            f"  decontaminated against {b['path']}",
            f"{f.contaminated.get(b['path'], 0)} removed ({b['images']} images, "
            f"{b['questions']} questions indexed)",
        )
        for b in f.benchmarks
    ]
    rows.append(("near-duplicates removed", f"{f.near_duplicates} (within {f.dedup_bits} bits)"))
    return rows


def quality_rows(quality: Quality) -> list[tuple[str, str]]:
    """The manifest's quality section in words: chain lengths, direct answers, what each
    proposer put forward and had chosen, what each judge said, evidence containment."""
    chains = quality.operations_per_trajectory
    rows = [
        (
            "operations per trajectory",
            " · ".join(f"{n}: {c}" for n, c in chains.items())
            + f" (mean {quality.mean_operations})",
        ),
        ("chains (2+ operations)", f"{quality.multi_operation_share:.1%}"),
        ("direct answers", f"{quality.direct} ({quality.direct_share:.1%})"),
    ]
    for name, c in quality.proposers.items():
        rows.append((f"  proposer {name}", f"{c['chosen']} chosen of {c['proposed']}"))
    for name, c in quality.judges.items():
        verdicts = f"{c['accept']} accept · {c['reject']} reject · {c['abstain']} abstain"
        rows.append((f"  judge {name}", verdicts))
    for name, c in quality.sources.items():
        tokens = " · ".join(f"{t} {n}" for t, n in c.items() if t not in ("kept", "direct"))
        what = f"{c.get('kept', 0)} kept, {c.get('direct', 0)} direct"
        rows.append((f"  source {name}", f"{what}; {tokens or 'no token'}"))
    held = quality.evidence_containment
    if held.get("zooms_with_known_evidence"):
        rows.append(
            (
                "zooms holding the known evidence",
                f"{held['zooms_containing_it']} of {held['zooms_with_known_evidence']} "
                f"({held['share']:.0%})",
            )
        )
    return rows
