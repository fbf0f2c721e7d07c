"""``make run``: the real deployment path on one machine, no account, no network.

Starts a Prefect server on 127.0.0.1 (a free port, SQLite under ``--home``, telemetry
off), serves the deployments (``python -m flows.serve``), runs
``prefect deployment run synth/<split>-split --watch`` exactly as a user would, prints
where the shards landed and a DuckDB query over them, and stops everything it started,
also on Ctrl-C or failure. Users with their own server skip the first step:
docs/prefect.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from atlas_data.config import DEFAULT_OUT, RunConfig
from atlas_data.inspect.summary import summary_rows
from atlas_data.run.plan import RunPlan
from atlas_data.store.run import open_run
from flows.serve import DEPLOYMENTS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefect_env(home: Path, port: int) -> dict[str, str]:
    """Environment for every process we start: a private, offline Prefect on ``port``.

    A user's profile, Cloud key or database URL must not leak in, so they are overridden.
    """
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_KEY"}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_PROFILES_PATH=str(home / "profiles.toml"),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
        PREFECT_CLI_COLORS=env.get("PREFECT_CLI_COLORS", "true"),
        DO_NOT_TRACK="1",
        # Stream the flow's log lines to `prefect deployment run --watch`, not only events.
        PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED="true",
        PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED="true",
        # The served runner looks for new runs every second, not every 10 (the default).
        PREFECT_RUNNER_POLL_FREQUENCY=env.get("PREFECT_RUNNER_POLL_FREQUENCY", "1"),
    )
    return env


def _stop(proc: subprocess.Popen[bytes], name: str, timeout: float = 15.0) -> None:
    """Stop a process we started and everything it spawned (its own process group)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            print(f"  {name} did not stop on {sig.name}", flush=True)


@contextmanager
def background(
    cmd: list[str], env: dict[str, str], log: Path, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` in its own session with output to ``log``; stop it on exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            _stop(proc, name)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until(
    check: Any, proc: subprocess.Popen[bytes], log: Path, what: str, timeout: float
) -> None:
    """Poll ``check()`` until true; fail early (with the log tail) if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}\n{_tail(log)}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s\n{_tail(log)}")


@contextmanager
def prefect_server(env: dict[str, str], log: Path, timeout: float) -> Iterator[None]:
    """``prefect server start`` with ``env`` (from :func:`prefect_env`), up until exit."""
    api = env["PREFECT_API_URL"]
    cmd = [sys.executable, "-m", "prefect", "server", "start"]
    with background(cmd, env, log, "prefect server") as proc:
        wait_until(
            lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200,
            proc,
            log,
            "prefect server",
            timeout,
        )
        yield


def parse_param(pair: str) -> tuple[str, Any]:
    """``k=v`` with ``v`` read as JSON when it parses (as ``prefect ... --param`` does)."""
    if "=" not in pair:
        raise argparse.ArgumentTypeError(f"--param {pair!r} must look like key=value")
    key, value = pair.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def show_output(params: dict[str, Any]) -> None:
    """Where the shards landed, a DuckDB query over them, and the run summary."""
    plan = RunPlan.resolve(RunConfig.from_params(params))
    with open_run(plan.run_dir.root) as run:
        manifest = run.finished()
        print(f"\nshards landed in {run.root}")
        for kind, files in run.files.items():
            size = sum(Path(f).stat().st_size for f in files)
            print(f"  {kind}/: {len(files)} shard(s), {size} bytes")
        glob = f"{run.root}/{plan.config.kinds()[0]}/*.parquet"
        query = (
            f"select task, count(*) as rows, count(distinct id) as ids, "
            f"list_distinct(flatten(list(tokens))) as tokens from '{glob}' "
            "group by task order by task"
        )
        print(f"\nduckdb> {query}")
        columns, rows = run.sql(query)
        print("  " + " | ".join(columns))
        for row in rows:
            print("  " + " | ".join(str(v) for v in row))
    for what, value in summary_rows(manifest):
        print(f"  {what:<40} {value}")


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.local_run",
        description="Run synth/<split>-split through a local Prefect server, then query it.",
    )
    parser.add_argument(
        "--n", type=int, default=None, help="Samples to take (default: the source's default)."
    )
    parser.add_argument("--split", choices=sorted(DEPLOYMENTS_BY_SPLIT), default="sft")
    parser.add_argument(
        "--param",
        type=parse_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Any other flow parameter, e.g. --param seed=3 (repeatable).",
    )
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help="Run folders.")
    parser.add_argument(
        "--home",
        type=Path,
        default=Path("data/.prefect"),
        help="PREFECT_HOME of the local server: its SQLite database, result cache and logs.",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="Startup timeout (s).")
    args = parser.parse_args(argv)

    params: dict[str, Any] = {"out": str(args.out.resolve()), **dict(args.param)}
    if args.n is not None:
        params["n"] = args.n
    params.setdefault("split", args.split)
    deployment = f"synth/{DEPLOYMENTS_BY_SPLIT[args.split]}"
    try:  # a bad parameter fails here, before any server
        RunPlan.resolve(RunConfig.from_params(params))
    except (TypeError, ValueError) as exc:
        print(f"error: bad parameters {params}: {exc}", file=sys.stderr)
        return 2
    # SIGTERM (e.g. from a CI runner) must unwind like Ctrl-C, so the servers are stopped.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = prefect_env(home, port)
    api = env["PREFECT_API_URL"]
    logs = home / "logs"
    t0 = time.perf_counter()
    with ExitStack() as stack:
        try:
            print(f"[1/4] starting a Prefect server on {api} (home {home})", flush=True)
            stack.enter_context(prefect_server(env, logs / "server.log", args.timeout))
            print(f"      ready in {time.perf_counter() - t0:.1f} s; UI: {api[:-4]}", flush=True)
            print("[2/4] serving synth/sft-split and synth/rl-split (python -m flows.serve)")
            serve_log = logs / "serve.log"
            served = stack.enter_context(
                background([sys.executable, "-m", "flows.serve"], env, serve_log, "flows.serve")
            )
            wait_until(
                lambda: (
                    httpx.get(f"{api}/deployments/name/{deployment}", timeout=2).status_code == 200
                ),
                served,
                serve_log,
                "flows.serve",
                args.timeout,
            )
            cmd = ["prefect", "deployment", "run", deployment, "--watch"]
            for k, v in params.items():
                if k != "split" or v != args.split:
                    cmd += ["--param", f"{k}={v if isinstance(v, str) else json.dumps(v)}"]
            print(f"[3/4] {' '.join(cmd)}", flush=True)
            rc = subprocess.call([sys.executable, "-m", "prefect", *cmd[1:]], env=env)
            if rc != 0:
                print(f"\nerror: the flow run failed (exit {rc}); logs in {logs}", file=sys.stderr)
                print(_tail(serve_log), file=sys.stderr)
                return rc
            print("[4/4] output", flush=True)
            show_output(params)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the server and the served deployments", flush=True)
            return 130
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            print(f"stopping what was started (logs in {logs})", flush=True)
    print(f"done in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


DEPLOYMENTS_BY_SPLIT = {split: name for name, split in DEPLOYMENTS.items()}

if __name__ == "__main__":
    sys.exit(main())
