"""Where a run's time goes: a sampling profile of ``atlas-data run``, all threads, by stage.

It runs the command under ``py-spy record`` (``pip install -r benchmarks/requirements.txt``;
it samples every Python thread of the process, 100 times a second, without slowing it)
and sorts each sample into the first stage its stack matches: PIL's ``Image.save`` (every
format, wherever it is called), the flat-PNG encoder of ``--image-format auto``, the OCR
judge's detection and recognition, scene generation, decoding, fingerprints,
exploration, the teacher, rows and verification, Parquet.

    python -m benchmarks.profile_run [--n 300] [-- extra atlas-data run options]
    python -m benchmarks.profile_run --n 300 -- --image-format png

RATIO is the share of samples in ``Image.save``; the encoding line adds our own encoder.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.common import header, ratio_line

# (stage, substrings of a stack): the first stage any frame of a sample's stack matches
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PIL Image.save (all formats)", ("save (PIL/Image.py",)),
    ("our flat PNG encoder (numpy + ISA-L)", ("encode_flat_png",)),
    ("storage format measure", ("texture_bits",)),
    ("OCR judge: detect", ("ch_ppocr_det",)),
    ("OCR judge: recognise", ("ch_ppocr_rec",)),
    ("OCR judge: other", ("rapidocr", "explore/text.py")),
    ("scene generation", ("sources/scenes/", "sources/synthetic.py")),
    ("image decode and load", ("load_image", "PIL/ImageFile.py", "PIL/JpegImagePlugin.py")),
    ("fingerprints (dedup)", ("dedup/",)),
    ("explore: proposers, judges, operations", ("explore/", "ops/")),
    ("teacher", ("teacher/", "llm/")),
    ("rows, tokens, verification", ("trajectory/", "store/rows.py", "run/shard.py", "tokens.py")),
    ("Parquet", ("pyarrow", "store/writer.py")),
)


def stage_of(stack: str) -> str:
    for stage, marks in STAGES:
        if any(m in stack for m in marks):
            return stage
    return "everything else (start-up, event loop, threads)"


def shares(raw: Path) -> tuple[Counter[str], int]:
    """Samples per stage from py-spy's raw (collapsed) output: ``frame;frame;... count``."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[stage_of(stack)] += int(n)
    return counts, sum(counts.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rate", type=int, default=100, help="samples per second")
    ap.add_argument("extra", nargs="*", help="more `atlas-data run` options (after --)")
    args = ap.parse_args()
    header(f"profile of atlas-data run --split sft --n {args.n} {' '.join(args.extra)}", "py-spy")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: pip install -r benchmarks/requirements.txt")
    with tempfile.TemporaryDirectory(prefix="atlas-profile-") as tmp:
        raw = Path(tmp) / "profile.txt"
        run = [
            sys.executable, "-m", "atlas_data.cli", "run", "--split", "sft",
            "--n", str(args.n), "--out", str(Path(tmp) / "runs"), *args.extra,
        ]  # fmt: skip
        subprocess.run(
            [spy, "record", "--format", "raw", "--rate", str(args.rate), "--output", str(raw),
             "--nonblocking", "--", *run],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        counts, total = shares(raw)
    print(f"{total} samples (all threads, active only)")
    for stage, n in counts.most_common():
        print(f"  {stage:<42} {n / total:6.1%}")
    encoding = sum(counts[s] for s, _ in STAGES[:3])
    print(f"  {'(all image encoding, with the measure)':<42} {encoding / total:6.1%}")
    ratio_line("image_save_share", counts[STAGES[0][0]] / total, "<= 0.15")


if __name__ == "__main__":
    main()
