"""Benchmark 3: the same run through ``prefect deployment run synth/sft-split`` vs the library.

Both sides are one command a user types, timed from start to exit:

- library: ``atlas-data run --split sft --n N ...``;
- deployment: ``prefect deployment run synth/sft-split --param n=N ... --watch`` against a
  local Prefect server with ``python -m flows.serve`` already serving (started first, not
  timed; their start-up is printed separately, as a user pays it once, not per run).

Same config on both sides (synthetic source, template teacher, 640x480 images so N=2,000
fits in a few minutes); the two runs must produce the same rows. Prints both wall times
and, last, ``deployment / library`` (target <= 1.15).

    python -m benchmarks.orchestration [--n 2000] [--side 640]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import duckdb
import httpx

from benchmarks.common import header, ratio_line
from flows.local_run import background, free_port, prefect_env, wait_until


def timed_command(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def rows(run_dir: Path) -> list[tuple[str, str]]:
    return duckdb.execute(f"select id, text from '{run_dir}/sft/*.parquet' order by id").fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--side", type=int, default=640, help="synthetic image width in px")
    args = parser.parse_args()
    header("orchestration: Prefect deployment vs library call", "prefect", "fastapi")
    size = [args.side, args.side * 3 // 4]
    bin_dir = Path(sys.executable).parent

    with tempfile.TemporaryDirectory(prefix="atlas-bench-orch-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        library = timed_command(
            [str(bin_dir / "atlas-data"), "run", "--split", "sft", "--n", str(args.n)]
            + ["--source-opt", f"size={json.dumps(size)}", "--out", str(root / "lib")]
            + ["--run-id", "same"]
        )
        print(f"library     atlas-data run                         {library:7.1f} s")

        port = free_port()
        env = prefect_env(root / "prefect", port)
        api = env["PREFECT_API_URL"]
        t0 = time.perf_counter()
        log = root / "server.log"
        server = stack.enter_context(
            background([sys.executable, "-m", "prefect", "server", "start"], env, log, "server")
        )
        wait_until(
            lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200,
            server,
            log,
            "prefect server",
            180,
        )
        log = root / "serve.log"
        served = stack.enter_context(
            background([sys.executable, "-m", "flows.serve"], env, log, "flows.serve")
        )
        wait_until(
            lambda: httpx.get(f"{api}/deployments/name/synth/sft-split").status_code == 200,
            served,
            log,
            "flows.serve",
            180,
        )
        print(
            f"start-up    prefect server + flows.serve (once)    {time.perf_counter() - t0:7.1f} s"
        )
        deployment = timed_command(
            [sys.executable, "-m", "prefect", "deployment", "run", "synth/sft-split", "--watch"]
            + ["--param", f"n={args.n}", "--param", f"out={root / 'flow'}"]
            + ["--param", "run_id=same"]
            + ["--param", f"source_options={json.dumps({'size': size})}"],
            env=env,
        )
        print(f"deployment  prefect deployment run --watch         {deployment:7.1f} s")
        same = rows(root / "lib" / "same") == rows(root / "flow" / "same")
        print(f"rows identical on both paths: {same}")
        if not same:
            raise SystemExit("the deployment and the library produced different rows")
        ratio_line("deployment / library wall time", deployment / library, "<= 1.15")


if __name__ == "__main__":
    main()
