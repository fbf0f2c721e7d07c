"""Benchmark 4: peak memory does not grow with the run, nor with the shard's pixels.

Two measurements, each run in a fresh process:

1. *Run size*: the library pipeline (synthetic source, template teacher, SFT split) at
   N=1,000 and N=20,000 on 400x400 images; prints both peak RSS figures and their ratio
   (target <= 1.3). Memory per sample in flight does not depend on N.
2. *Phone photos*: one default shard (64 samples) of 12 MP JPEGs (4000x3000, the size a
   phone takes) through ``atlas-data run --source local``. The baseline, measured in the
   same command, is what any pipeline that holds a shard's decoded images at once must
   pay: the 64 images decoded into one list. Target: the run's peak RSS <= 1.2 GB.

    python -m benchmarks.memory [--small 1000] [--large 20000] [--side 400] [--photos 64]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import header, peak_rss_mib, ratio_line

PHOTO_SIZE = (4000, 3000)


def child(n: int, side: int, out: str) -> None:
    """One run in this process; prints a JSON line with its peak RSS."""
    from atlas_data.config import RunConfig
    from atlas_data.run.driver import run

    config = RunConfig(split="sft", n=n, out=out, source_options={"size": [side, side]})
    manifest = run(config)
    print(
        json.dumps(
            {
                "n": n,
                "kept": manifest.counts.kept,
                "seconds": manifest.timing.wall_seconds,
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


def make_photos(root: Path, count: int) -> Path:
    """``count`` photo-like 12 MP JPEGs (gradient, grain, shapes, a small sign) and a
    questions file whose box is the sign: every sample has a zoom that helps."""
    import numpy as np
    from PIL import Image, ImageDraw

    from atlas_data.ops.params import font

    w, h = PHOTO_SIZE
    rng = np.random.default_rng(0)
    records = []
    for i in range(count):
        ramp = np.linspace(60, 200, w, dtype=np.float32)[None, :, None]
        tint = rng.uniform(0.7, 1.2, size=(1, 1, 3)).astype(np.float32)
        grain = rng.normal(0, 12, size=(h // 4, w // 4, 1)).astype(np.float32)
        grain = np.repeat(np.repeat(grain, 4, axis=0), 4, axis=1)
        arr = np.clip(ramp * tint + grain, 0, 255).astype(np.uint8)
        img = Image.fromarray(np.ascontiguousarray(np.broadcast_to(arr, (h, w, 3))), "RGB")
        d = ImageDraw.Draw(img)
        for _ in range(12):
            x, y = int(rng.integers(0, w - 400)), int(rng.integers(0, h - 400))
            d.ellipse((x, y, x + 300, y + 300), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        code = f"LOT {i:03d}"
        x, y = int(rng.integers(100, w - 300)), int(rng.integers(100, h - 100))
        d.rectangle((x - 6, y - 6, x + 110, y + 26), fill=(250, 250, 240))
        d.text((x, y), code, fill=(20, 20, 20), font=font(18))
        name = f"photo-{i:03d}.jpg"
        img.save(root / name, quality=90)
        records.append(
            {"image": name, "question": "What is written on the small sign?", "answer": code,
             "bbox": [x - 6, y - 6, x + 110, y + 26]}
        )  # fmt: skip
    questions = root / "questions.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in records))
    return questions


def held(root: Path) -> None:
    """Baseline child: decode every photo and hold them all, as a whole-shard pipeline does."""
    from atlas_data.ops.image_io import load_image

    images = [load_image(p.read_bytes()).image for p in sorted(root.glob("*.jpg"))]
    print(json.dumps({"images": len(images), "peak_rss_mib": round(peak_rss_mib(), 1)}))


def photos(count: int) -> tuple[float, float, dict[str, object]]:
    """(baseline peak MiB, pipeline peak MiB, the run's counts)."""
    from atlas_data.store.run import open_run

    with tempfile.TemporaryDirectory(prefix="atlas-bench-photos-") as tmp:
        root = Path(tmp) / "photos"
        root.mkdir()
        questions = make_photos(root, count)
        base = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", "--held", str(root)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        baseline = json.loads(base.stdout.strip().splitlines()[-1])["peak_rss_mib"]
        code = (
            "import resource, sys; from atlas_data.cli import app\n"
            "try:\n    app()\nexcept SystemExit as e:\n    rc = e.code\n"
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
            "sys.exit(rc)\n"
        )
        cmd = [sys.executable, "-c", code, "run", "--source", "local", "--root", str(root)]
        cmd += ["--questions", str(questions), "--out", str(Path(tmp) / "runs")]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"the run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        peak = float(next(x for x in done.stdout.splitlines() if x.startswith("PEAK")).split()[1])
        folder = next((Path(tmp) / "runs").rglob("manifest.json")).parent
        return baseline, peak, dataclasses.asdict(open_run(folder).finished().counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--side", type=int, default=400, help="synthetic image side in px")
    parser.add_argument("--photos", type=int, default=64, help="12 MP photos (0: skip)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--held", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.side, args.out)
        return
    if args.held:
        held(Path(args.held))
        return
    header("peak RSS vs run size and vs a shard of 12 MP photos", "pyarrow")
    if args.photos:
        baseline, peak, counts = photos(args.photos)
        print(f"{args.photos} photos of {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}: {counts}")
        print(f"held   (all decoded at once):     peak RSS {baseline:8.1f} MiB")
        print(f"atlas-data run --source local:    peak RSS {peak:8.1f} MiB (target <= 1200 MB)")
        ratio_line("peak RSS pipeline / held", peak / baseline, "< 1")
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
