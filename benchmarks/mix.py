"""The default's mix over a finished run: families, images per sample, tokens, chains,
direct answers, and each family's kept rows against its fair share.

What issue 30 asks of a 2000-sample default run: at least 40 families, at least 8 of them
with several images; every paper token at least 8 % of tokens; chains (2+ operations) at
least 30 % of kept rows; direct answers 10-20 %; no family under half its fair share of
kept rows. Each check prints its figure and PASS or FAIL; the exit code is the number of
failures.

    atlas-data run --n 2000 --out data/runs   # then
    python -m benchmarks.mix data/runs/<run-id>
"""

from __future__ import annotations

import argparse
from collections import Counter

from atlas_data.sources.synthetic import FAMILIES
from atlas_data.store.run import open_run
from atlas_data.tokens import DEFAULT_VOCABULARY
from benchmarks.common import ratio_line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="a finished run folder or URL")
    args = ap.parse_args()
    with open_run(args.run) as run:
        manifest = run.finished()
        kept = run.sql("SELECT task, len(operations), tokens, len(images) FROM kept")[1]
        taken = dict(run.sql("SELECT task, count(*) FROM (SELECT task FROM kept UNION ALL "
                             "SELECT task FROM rejects) GROUP BY 1")[1])  # fmt: skip
    per_family = Counter(task for task, *_ in kept)
    images = {task: n for task, _, _, n in kept}
    tokens = Counter(t for _, _, toks, _ in kept for t in toks)
    total_tokens = sum(tokens.values()) or 1
    chains = sum(1 for _, ops, _, _ in kept if ops >= 2)
    direct = sum(1 for _, ops, _, _ in kept if ops == 0)
    fair = len(kept) / max(1, len(taken))
    checks: list[tuple[str, str, bool]] = []
    multi = sorted(t for t, n in images.items() if n > 1)
    checks.append(("families kept", f"{len(per_family)} of {len(FAMILIES)}", len(per_family) >= 40))
    checks.append(("families with several images", f"{len(multi)}: {', '.join(multi)}",
                   len(multi) >= 8))  # fmt: skip
    for token in DEFAULT_VOCABULARY.tokens:
        share = tokens[token] / total_tokens
        checks.append((f"token {token}", f"{share:.1%} of {total_tokens}", share >= 0.08))
    checks.append(("chains (2+ operations)", f"{chains / len(kept):.1%} of {len(kept)} kept",
                   chains / len(kept) >= 0.30))  # fmt: skip
    checks.append(("direct answers", f"{direct / len(kept):.1%}",
                   0.10 <= direct / len(kept) <= 0.20))  # fmt: skip
    low = {f: n for f, n in per_family.items() if n < fair / 2}
    low |= {f: 0 for f in taken if f not in per_family}
    checks.append((f"families under half the fair share ({fair / 2:.1f} kept rows)",
                   ", ".join(f"{f} {n}" for f, n in sorted(low.items())) or "none",
                   not low))  # fmt: skip
    print(f"run {manifest.run_id}: {manifest.counts.samples} samples, {len(kept)} kept")
    for name, figure, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {figure}")
    print("kept per family: " + ", ".join(f"{f} {n}" for f, n in sorted(per_family.items())))
    worst = min(per_family.values()) / fair if per_family else 0.0
    ratio_line("smallest family's kept rows / fair share", worst, ">= 0.5")
    raise SystemExit(sum(1 for *_, ok in checks if not ok))


if __name__ == "__main__":
    main()
