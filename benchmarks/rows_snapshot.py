"""The rows a change must not move: the default run and a local run of photos with points
and boxes, reduced to ids and texts, written to JSON; ``--compare`` lists what differs.

A refactor that claims "the same rows as before" runs this on the old commit and on the
new one (each from its own checkout) and compares:

    python -m benchmarks.rows_snapshot --out /tmp/before.json     # on the old commit
    python -m benchmarks.rows_snapshot --out /tmp/after.json      # on the new one
    python -m benchmarks.rows_snapshot --compare /tmp/before.json /tmp/after.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from atlas_data.config import RunConfig
from atlas_data.run.driver import run

# what identifies a row and what a trainer reads of it
COLUMNS = {
    "sft": "id, task, text, agentic_text, answer",
    "rl": "id, task, reference, answer",
    "rejects": "id, reason, detail",
}


def rows_of(out: Path) -> dict[str, list[dict[str, Any]]]:
    (folder,) = [p for p in out.iterdir() if (p / "manifest.json").exists()]
    found: dict[str, list[dict[str, Any]]] = {}
    for kind, columns in COLUMNS.items():
        files = sorted((folder / kind).glob("*.parquet"))
        if not files:
            found[kind] = []
            continue
        paths = ", ".join(f"'{f}'" for f in files)
        con = duckdb.connect()
        cur = con.execute(f"select {columns} from read_parquet([{paths}]) order by id")
        names = [d[0] for d in cur.description or []]
        found[kind] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return found


def snapshot(n: int) -> dict[str, Any]:
    from tests import grounded_corpus, photo_corpus

    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="atlas-rows-") as tmp:
        base = Path(tmp)
        run(RunConfig(split="both", n=n, out=str(base / "default")))
        result["default"] = rows_of(base / "default")
        photos = base / "photos"
        photo_corpus.write(photos / "points", seed=7)
        grounded_corpus.write(photos / "boxes", per_kind=4, seed=3)
        for name in ("points", "boxes"):
            options = {"root": str(photos / name), "questions": "questions.jsonl"}
            out = base / f"local-{name}"
            run(RunConfig(source="local", source_options=options, split="both", out=str(out)))
            result[f"local-{name}"] = rows_of(out)
    return result


def compare(before: dict[str, Any], after: dict[str, Any]) -> int:
    """Print every row that differs; the number of differences."""
    differences = 0
    for run_name in sorted(set(before) | set(after)):
        for kind in COLUMNS:
            old = {r["id"]: r for r in before.get(run_name, {}).get(kind, [])}
            new = {r["id"]: r for r in after.get(run_name, {}).get(kind, [])}
            for row_id in sorted(set(old) | set(new)):
                if old.get(row_id) == new.get(row_id):
                    continue
                differences += 1
                print(f"{run_name}/{kind} {row_id}:")
                for key in sorted(set(old.get(row_id, {})) | set(new.get(row_id, {}))):
                    a, b = old.get(row_id, {}).get(key), new.get(row_id, {}).get(key)
                    if a != b:
                        print(f"  {key}: {a!r}\n  {' ' * len(key)}  -> {b!r}")
            print(f"{run_name}/{kind}: {len(old)} rows before, {len(new)} after")
    print(f"{differences} rows differ")
    return differences


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the snapshot here")
    ap.add_argument("--n", type=int, default=200, help="samples of the default run")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        sys.exit(1 if compare(before, after) else 0)
    if args.out is None:
        ap.error("give --out FILE or --compare BEFORE AFTER")
    args.out.write_text(json.dumps(snapshot(args.n), indent=1, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
