"""Benchmark 4: peak memory does not grow with the run — the pipeline streams.

Runs the library pipeline (synthetic source, template teacher, SFT split) twice, each in a
fresh process, at N=1,000 and N=20,000, and prints the peak resident set size of each and
their ratio (target <= 1.3). Images are 400x400 so the large run fits in a few minutes on
2 cores; memory per sample in flight does not depend on N, which is what is measured.

    python -m benchmarks.memory [--small 1000] [--large 20000] [--side 400]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from benchmarks.common import header, peak_rss_mib, ratio_line


def child(n: int, side: int, out: str) -> None:
    """One run in this process; prints a JSON line with its peak RSS."""
    from atlas_data.config import RunConfig
    from atlas_data.driver import run

    config = RunConfig(split="sft", n=n, out=out, source_options={"size": [side, side]})
    manifest = run(config)
    print(
        json.dumps(
            {
                "n": n,
                "kept": manifest["counts"]["kept"],
                "seconds": manifest["timing"]["wall_seconds"],
                "peak_rss_mib": round(peak_rss_mib(), 1),
            }
        )
    )


def measure(n: int, side: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="atlas-bench-mem-") as out:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", "--child", str(n), "--side", str(side)]
            + ["--out", out],
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--side", type=int, default=400, help="synthetic image side in px")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.side, args.out)
        return
    header("peak RSS vs run size (library path, one process per run)", "pyarrow")
    rows = [measure(n, args.side) for n in (args.small, args.large)]
    for r in rows:
        print(
            f"N={r['n']:>6}: kept {r['kept']:>6}, {r['seconds']:7.1f} s, "
            f"{r['n'] / r['seconds']:6.1f} samples/s, peak RSS {r['peak_rss_mib']:7.1f} MiB"
        )
    ratio_line(
        f"peak RSS N={args.large} / N={args.small}",
        rows[1]["peak_rss_mib"] / rows[0]["peak_rss_mib"],
        "<= 1.3",
    )


if __name__ == "__main__":
    main()
