"""Re-read a finished run's zoom results with OCR: are the kept zooms really legible?

An independent check on the judges: for every kept row of one task, OCR reads the first
operation's stored result image at the trainee's budget and looks for the answer. The
ratio is rows read over rows checked.

    python -m benchmarks.ocr_recheck data/runs/<run-id> [--task small_text]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import duckdb
from PIL import Image

from benchmarks.common import header, ratio_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run folder")
    parser.add_argument("--task", default="small_text")
    parser.add_argument("--max-side", type=int, default=1024, help="the trainee's budget")
    args = parser.parse_args()
    from atlas_data.explore.text import find_answer, shared_engine
    from atlas_data.ops.image_io import downscale_to

    header(f"OCR re-reads the kept zoom results of task {args.task}", "rapidocr")
    query = (
        "select id, answer, observations[1].bytes from read_parquet(?) "
        "where task = ? and len(observations) > 0"
    )
    rows = duckdb.execute(query, [str(args.run / "sft" / "*.parquet"), args.task]).fetchall()
    engine, unread = shared_engine(), []
    for rid, answer, data in rows:
        seen = downscale_to(Image.open(io.BytesIO(data)).convert("RGB"), args.max_side)
        if not find_answer(engine.read(seen), answer):
            unread.append(f"{rid} ({answer})")
    read = len(rows) - len(unread)
    print(f"{read} of {len(rows)} zoom results read; not read: {', '.join(unread) or 'none'}")
    ratio_line("zoom results OCR reads / kept", read / max(1, len(rows)), "report")


if __name__ == "__main__":
    main()
