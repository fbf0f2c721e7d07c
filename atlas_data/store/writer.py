"""Crash-safe writing of one shard's files. The layout is :class:`~atlas_data.store.run.RunDir`'s,
which says where each file goes (:meth:`~atlas_data.store.run.RunDir.shard_writer`).

Every file is written on local disk first (:meth:`Location.staging`: a dot-prefixed
temporary beside its target, or a scratch file for an object store), then committed whole
(a rename, or one upload): a crash leaves at most a ``.tmp`` file that no ``*.parquet``
glob reads, or an object no commit record names. A shard counts as done only once its
completion record exists, so a rerun redoes any shard that was cut short and overwrites
its parts under the same names: no loss, no duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from atlas_data.store.location import Location
from atlas_data.store.manifest import ShardRecord
from atlas_data.store.schemas import ROW_SCHEMAS, with_hf_metadata

# A row group is written once it holds this many rows or this many bytes of images,
# whichever comes first: what a shard buffers (and Parquet encodes at once) stays small
# for 12 MP photos, and small synthetic rows still share row groups.
ROW_GROUP_ROWS = 16
ROW_GROUP_IMAGE_BYTES = 8 << 20


def image_bytes(row: dict[str, Any]) -> int:
    """Bytes of the encoded images a row carries (``{"bytes": ...}`` items of its lists)."""
    return sum(
        len(item.get("bytes") or b"")
        for value in row.values()
        if isinstance(value, list)
        for item in value
        if isinstance(item, dict)
    )


class ShardWriter:
    """Streams one shard's rows into temporary Parquet files, a row group at a time, and
    commits them (rename, then the completion record) only when the shard is whole.

    Rows are encoded as they arrive, so a shard never holds all its images at once. A
    split with no rows in this shard gets no file: ``datasets`` cannot read an empty
    Parquet file, and every glob over the run must load.

    ``parts``: each split's file and ``done`` the completion record, relative to the run's
    ``loc`` (:meth:`~atlas_data.store.run.RunDir.shard_writer`).
    """

    def __init__(self, index: int, parts: Mapping[str, str], done: str, loc: Location) -> None:
        self.index, self.parts, self.done, self.loc = index, dict(parts), done, loc
        self.kinds = tuple(parts)
        self._buffers: dict[str, list[dict[str, Any]]] = {k: [] for k in self.kinds}
        self._buffered_bytes: dict[str, int] = dict.fromkeys(self.kinds, 0)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._staged: dict[str, Path] = {}  # each open part's file on local disk
        self.counts: dict[str, int] = dict.fromkeys(self.kinds, 0)

    def add(self, kind: str, row: dict[str, Any]) -> None:
        self._buffers[kind].append(row)
        self.counts[kind] += 1
        self._buffered_bytes[kind] += image_bytes(row)
        if (
            len(self._buffers[kind]) >= ROW_GROUP_ROWS
            or self._buffered_bytes[kind] >= ROW_GROUP_IMAGE_BYTES
        ):
            self._flush(kind)

    def _flush(self, kind: str) -> None:
        rows, self._buffers[kind] = self._buffers[kind], []
        self._buffered_bytes[kind] = 0
        if not rows:
            return
        schema = with_hf_metadata(ROW_SCHEMAS[kind])
        if kind not in self._writers:
            staged = self._staged[kind] = self.loc.staging(self.parts[kind])
            self._writers[kind] = pq.ParquetWriter(staged, schema, compression="zstd")
        self._writers[kind].write_table(pa.Table.from_pylist(rows, schema=schema))

    def commit(self, record: ShardRecord) -> ShardRecord:
        """Close and commit every part, then write the completion record (the commit point)."""
        files = {}
        for kind in self.kinds:
            self._flush(kind)
            rel = self.parts[kind]
            writer = self._writers.pop(kind, None)
            if writer is not None:
                writer.close()
                self.loc.commit_file(self._staged.pop(kind), rel)
                files[kind] = rel
            elif self.loc.exists(rel):  # a previous attempt wrote rows this one does not have
                self.loc.delete(rel)
        record = replace(record, shard=self.index, files=files)
        self.loc.write_json(self.done, record.to_json())
        return record

    def abort(self) -> None:
        """Drop what was written (an exception stopped the shard): no temporary survives."""
        for kind, writer in self._writers.items():
            writer.close()
            self._staged.pop(kind).unlink(missing_ok=True)
        self._writers.clear()
