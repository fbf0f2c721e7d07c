"""Teacher throughput against the stand-in server: requests/s as a fraction of C / latency.

The server runs in its own process (``python -m tests.openai_server``) with a fixed
latency, so the client's event loop, semaphore, retries and image encoding are what is
measured. Ideal throughput is ``concurrency / latency``; the last line printed is the ratio.

    python -m benchmarks.teacher_throughput --concurrency 32 --latency 0.2 --requests 640
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from atlas_data.config import RunConfig
from atlas_data.ops import Operation
from atlas_data.sources.synthetic import SyntheticSource
from atlas_data.teacher.base import TeachRequest
from atlas_data.teacher.openai import OpenAITeacher
from atlas_data.trajectory.judgement import ChosenStep, Judgement
from benchmarks.common import header, ratio_line, synthetic_image
from flows.local_run import free_port

ROOT = Path(__file__).resolve().parent.parent


def proc_cpu(pid: int) -> float:
    """User+system CPU seconds of a process (Linux /proc), 0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def requests_for(n: int, side: int) -> list[TeachRequest]:
    """``n`` distinct teaching requests (distinct images, so nothing is shared or cached)."""
    base = SyntheticSource(n=1, seed=0, families=["small_text"]).sample(0)
    need = base.needs[0]
    image = synthetic_image(base)
    img = image.resize((side, side * 3 // 4)) if side != image.width else image
    out = []
    for i in range(n):
        variant = img.copy()
        variant.putpixel(
            (i % variant.width, (i // variant.width) % variant.height), (i % 256, 0, 0)
        )
        op = Operation("zoom", need.params)
        result = op.apply(image)
        judgement = Judgement(True, 1.0, "annotation", {"reveals": need.reveals})
        out.append(
            TeachRequest(
                sample_id=f"bench-{i}",
                task=base.task,
                question=base.question,
                answer=base.answer,
                choices=None,
                images=[variant],
                steps=[ChosenStep(op, result, judgement)],
                preset="atlas",
            )
        )
    return out


async def drive(teacher: OpenAITeacher, reqs: list[TeachRequest]) -> tuple[float, int]:
    await teacher.teach(reqs[0])  # warm-up: probe + connection
    t0 = time.perf_counter()
    results = await asyncio.gather(*(teacher.teach(r) for r in reqs[1:]))
    elapsed = time.perf_counter() - t0
    await teacher.aclose()
    return elapsed, sum(r.reasoning is not None for r in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--requests", type=int, default=640)
    ap.add_argument("--image-side", type=int, default=320, help="width of the original image")
    args = ap.parse_args()
    header("teacher-bound throughput against the local stand-in server", "openai", "aiohttp")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.openai_server", "--port", str(port)]
        + ["--latency", str(args.latency)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
        teacher = OpenAITeacher.from_options(
            {
                "model": "stand-in-vlm",
                "base_url": url,
                "concurrency": args.concurrency,
                "cache_dir": None,
            },
            RunConfig(budget_side=args.image_side).budget(),
        )
        reqs = requests_for(args.requests + 1, args.image_side)
        cpu0, srv0 = time.process_time(), proc_cpu(server.pid)
        elapsed, ok = asyncio.run(drive(teacher, reqs))
        cpu, srv = time.process_time() - cpu0, proc_cpu(server.pid) - srv0
    finally:
        server.terminate()
        server.wait(timeout=10)
    n = args.requests
    rate = n / elapsed
    ideal = args.concurrency / args.latency
    print(f"requests={n} ok={ok} image={args.image_side}px concurrency={args.concurrency}")
    print(f"latency={args.latency}s elapsed={elapsed:.2f}s rate={rate:.1f} req/s ideal={ideal:.1f}")
    print(f"cpu: client={cpu:.2f}s server={srv:.2f}s load={os.getloadavg()[0]:.1f}")
    ratio_line(
        f"achieved / ideal requests/s at C={args.concurrency}", rate / ideal, ">= 0.85 at C=32"
    )


if __name__ == "__main__":
    main()
