"""``make bench``: every benchmark at its default size, one after the other (~30 min on 2 cores).

Each prints its own figures and a ``RATIO`` line; this prints those lines again at the end.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    ["explore_vs_io"],
    ["explore_search"],
    ["families"],
    ["png_encode"],
    ["teacher_throughput", "--concurrency", "8"],
    ["teacher_throughput", "--concurrency", "32"],
    ["teacher_throughput", "--concurrency", "128"],
    ["orchestration"],
    ["memory"],
    ["query"],
    ["prefect_overhead"],
    ["ocr_judge_time"],
    ["drawing_needs"],
    ["dedup_lookup"],
    ["estimate_accuracy"],
    ["batch_explore"],
    ["multi_image"],
    ["image_format"],
    ["profile_run"],
    ["profile_run", "--", "--image-format", "png"],
)


def main() -> None:
    summary = []
    for name, *args in BENCHMARKS:
        cmd = [sys.executable, "-m", f"benchmarks.{name}", *args]
        print(f"\n$ {' '.join(cmd[1:])}", flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True)
        print(done.stdout, done.stderr[-2000:] if done.returncode else "", sep="", flush=True)
        ratios = [line for line in done.stdout.splitlines() if line.startswith("RATIO")]
        last = (done.stdout.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        summary.append(f"{name} {' '.join(args)}: {ratios[-1] if ratios else last}")
    print("\n== summary")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
