"""Benchmark 5: DuckDB over the shards against the same aggregate through datasets/pandas.

Builds a 100k-row SFT run from a real small run (its rows repeated under new ids, split
into 64-row shards like the pipeline writes them), then answers "kept trajectories per
task and token" three ways and checks they agree:

- DuckDB straight over ``sft/*.parquet``;
- pandas: ``read_parquet`` of the two columns, ``explode``, ``groupby``;
- datasets: ``load_dataset("parquet", columns=...)`` then the pandas aggregate (the cache
  directory is fresh, so the Arrow conversion is paid as a new user pays it).

Prints each time and, last, the ratio ``pandas / duckdb`` (how many times faster DuckDB is).

    python -m benchmarks.query [--rows 100000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from atlas_data.config import RunConfig
from atlas_data.run.driver import run
from atlas_data.store.manifest import ShardRecord
from atlas_data.store.run import RunDir
from benchmarks.common import header, ratio_line, timed

SQL = """
select task, token, count(*) as n
from (select task, unnest(tokens) as token from '{glob}')
group by all order by task, token
"""


def build_run(root: Path, rows: int) -> Path:
    seed_run = run(
        RunConfig(split="sft", n=64, out=str(root / "seed"), source_options={"size": [400, 400]})
    )
    seed_dir = root / "seed" / seed_run.run_id
    base = pq.read_table(seed_dir / "sft").to_pylist()
    target = root / "big"
    shard: list[dict[str, Any]] = []
    index = 0
    for i in range(rows):
        row = dict(base[i % len(base)])
        row["id"] = f"{row['id']}-{i}"
        shard.append(row)
        if len(shard) == 64 or i == rows - 1:
            writer = RunDir(target).shard_writer(index, ["sft"])
            for r in shard:
                writer.add("sft", r)
            writer.commit(ShardRecord(index))
            shard, index = [], index + 1
    return target


def as_counts(df: pd.DataFrame) -> list[tuple[str, str, int]]:
    return [(str(t), str(k), int(n)) for t, k, n in df.itertuples(index=False)]


def pandas_counts(frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    exploded = frame.explode("tokens").rename(columns={"tokens": "token"})
    grouped = exploded.groupby(["task", "token"]).size().reset_index(name="n")
    return as_counts(grouped.sort_values(["task", "token"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    header("query: DuckDB vs pandas vs datasets", "duckdb", "pandas", "datasets", "pyarrow")
    import datasets

    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory(prefix="atlas-bench-query-") as tmp:
        with timed() as elapsed:
            big = build_run(Path(tmp), args.rows)
        size = sum(p.stat().st_size for p in big.glob("sft/*.parquet")) / 2**20
        print(f"run: {args.rows} rows, {size:.0f} MiB of shards, built in {elapsed():.1f} s")
        glob = str(big / "sft" / "*.parquet")

        with timed() as t_duck:
            duck = as_counts(duckdb.execute(SQL.format(glob=glob)).df())
        with timed() as t_pandas:
            files = sorted(big.glob("sft/*.parquet"))
            frame = pd.concat(pd.read_parquet(f, columns=["task", "tokens"]) for f in files)
            pand = pandas_counts(frame)
        with timed() as t_ds:
            ds = datasets.load_dataset(
                "parquet",
                data_files=glob,
                split="train",
                columns=["task", "tokens"],
                cache_dir=str(Path(tmp) / "hf-cache"),
            )
            hf = pandas_counts(ds.to_pandas())
        assert duck == pand == hf, "the three answers differ"
        assert sum(n for _, _, n in duck) >= args.rows
        print(f"duckdb    {t_duck():7.3f} s")
        print(f"pandas    {t_pandas():7.3f} s  ({t_pandas() / t_duck():.1f}x duckdb)")
        print(f"datasets  {t_ds():7.3f} s  ({t_ds() / t_duck():.1f}x duckdb)")
        ratio_line("pandas / duckdb wall time", t_pandas() / t_duck(), "> 1: DuckDB faster")


if __name__ == "__main__":
    main()
