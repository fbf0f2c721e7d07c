"""Run the pipeline in this process and SIGKILL it at a chosen point (for the fault tests).

    python -m tests.crash_child POINT K CONFIG_JSON

POINT says where the K-th event kills the process, with no cleanup of any kind:

- ``teacher``: inside the K-th teacher call (other calls of the shard are in flight);
- ``parquet``: during the K-th Parquet write, after half of the file reached the disk;
- ``rename``: right after the K-th atomic rename (a part or a completion record is in
  place, what should follow it is not);
- ``manifest``: just before the manifest is written (every shard is done);
- ``upload`` / ``create``: right after the K-th batch input file is uploaded / the K-th
  batch is created (the API has it; the run's state does not yet);
- ``poll``: at the K-th poll of a batch in progress;
- ``ingest``: after the K-th batch answer is written into the response cache (a batch's
  results half in);
- ``none``: no crash; the run finishes.

The hooks wrap library functions from the outside; the library has no crash switches.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
from typing import Any

from atlas_data.config import RunConfig
from atlas_data.llm.cache import ResponseCache
from atlas_data.run.driver import run
from atlas_data.store import writer
from atlas_data.store.run import RunDir
from atlas_data.teacher.template import TemplateTeacher


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Countdown:
    def __init__(self, k: int) -> None:
        self.left = k

    def hit(self) -> bool:
        self.left -= 1
        return self.left == 0


def install(point: str, k: int) -> None:
    countdown = Countdown(k)
    if point == "teacher":
        original_teach = TemplateTeacher.teach

        async def teach(self: TemplateTeacher, request: Any) -> Any:
            if countdown.hit():
                die()
            return await original_teach(self, request)

        TemplateTeacher.teach = teach  # type: ignore[method-assign]
    elif point == "parquet":
        original_write = writer.pq.ParquetWriter.write_table

        def write_table(self: Any, table: Any, *args: Any, **kwargs: Any) -> None:
            original_write(self, table, *args, **kwargs)
            if countdown.hit():  # a row group is out; half of the file reaches the disk
                if self.file_handle:
                    self.file_handle.flush()
                size = os.path.getsize(self.where)
                with open(self.where, "r+b") as fh:
                    fh.truncate(size // 2)
                die()

        writer.pq.ParquetWriter.write_table = write_table  # type: ignore[method-assign]
    elif point == "rename":
        original_replace = os.replace

        def replace(src: Any, dst: Any) -> None:
            original_replace(src, dst)
            if countdown.hit():
                die()

        os.replace = replace  # every commit's rename: parts and records alike
    elif point == "manifest":

        def write_manifest(self: RunDir, manifest: Any) -> Any:
            die()

        RunDir.write_manifest = write_manifest  # type: ignore[method-assign]
    elif point in ("upload", "create", "poll"):
        from openai.resources import batches, files

        cls, name = {
            "upload": (files.Files, "create"),
            "create": (batches.Batches, "create"),
            "poll": (batches.Batches, "retrieve"),
        }[point]
        original = getattr(cls, name)

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            out = original(self, *args, **kwargs)
            if countdown.hit():
                die()
            return out

        setattr(cls, name, call)
    elif point == "ingest":
        original_put = ResponseCache.put

        def put(self: ResponseCache, key: str, value: Any) -> None:
            original_put(self, key, value)
            if countdown.hit():
                die()

        ResponseCache.put = put  # type: ignore[method-assign]
    elif point != "none":
        raise SystemExit(f"unknown crash point {point!r}")


def main() -> None:
    point, k, config = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    install(point, k)
    manifest = run(RunConfig(**config))
    print(json.dumps(dataclasses.asdict(manifest.counts)))


if __name__ == "__main__":
    main()
