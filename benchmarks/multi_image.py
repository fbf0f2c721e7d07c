"""What a second image costs: a run of 2-image samples against a run of 1-image samples of
the same content (a photo with a small printed tag; the 2-image sample adds the same scene
taken again), both through ``atlas-data run --source local`` with the defaults.

A second image is decoded, fingerprinted, checked against benchmarks and stored, and the
proposers search it; the operation still runs on the one image that holds the tag. So the
ratio should be about 2x in the per-image work and less over the whole sample: more than
2x would mean work that grows faster than the images.

    python -m benchmarks.multi_image [--n 24] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path

from PIL import ImageDraw

from atlas_data.config import RunConfig
from atlas_data.run.driver import run
from benchmarks.common import header, ratio_line
from tests.multi_corpus import retaken, scene_pair
from tests.photo_corpus import letter


def write(root: Path, n: int, images: int) -> None:
    """``n`` records of a tagged photo (and, for 2, the scene taken again), seed-fixed so
    both runs hold the same first images."""
    rng = random.Random(7)
    root.mkdir(parents=True)
    lines = []
    for k in range(n):
        img, _ = scene_pair(rng)
        d = ImageDraw.Draw(img)
        x, y = rng.uniform(350, 1250), rng.uniform(250, 950)
        code = f"K{k:02d}{rng.choice('ABCDEFGH')}"
        d.rectangle((x - 40, y - 20, x + 40, y + 20), fill=(250, 250, 250))
        box = letter(d, x, y, code, 15)
        names = [f"{k}-0.jpg"]
        img.save(root / names[0], quality=92)
        if images == 2:
            names.append(f"{k}-1.jpg")
            retaken(img, rng).save(root / names[1], quality=92)
        record = {
            "images": names,
            "question": "What code is printed on the small tag?",
            "answer": code,
            "bbox": [{"box": box, "image": 0}],
        }
        lines.append(json.dumps(record))
    (root / "questions.jsonl").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    header("a 2-image sample vs a 1-image sample of the same content", "rapidocr")
    seconds = {1: 0.0, 2: 0.0}  # wall
    cpu = {1: 0.0, 2: 0.0}  # user + sys of the process (all threads): steadier on a busy machine
    kept = {1: 0, 2: 0}
    with tempfile.TemporaryDirectory() as tmp:
        for images in (1, 2):
            write(Path(tmp) / f"data-{images}", args.n, images)
        for r in range(args.rounds):  # interleaved: a slow spell of the machine hits both
            for images in (1, 2) if r % 2 == 0 else (2, 1):
                options = {
                    "root": str(Path(tmp) / f"data-{images}"),
                    "questions": "questions.jsonl",
                }
                config = RunConfig(
                    source="local", source_options=options, out=str(Path(tmp) / f"r{r}-{images}")
                )
                t0, c0 = time.perf_counter(), _cpu()
                manifest = run(config)
                seconds[images] += time.perf_counter() - t0
                cpu[images] += _cpu() - c0
                kept[images] += manifest.counts.kept
    for images in (1, 2):
        per = seconds[images] / (args.n * args.rounds)
        busy = cpu[images] / (args.n * args.rounds)
        print(
            f"{images} image(s): {per * 1000:.0f} ms/sample wall, {busy * 1000:.0f} ms/sample "
            f"CPU, {kept[images]} of {args.n * args.rounds} kept"
        )
    print(f"wall ratio {seconds[2] / seconds[1]:.3f}")
    ratio_line("2-image / 1-image CPU time per sample", cpu[2] / cpu[1], "about 2, not more")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
