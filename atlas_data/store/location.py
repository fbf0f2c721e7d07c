"""Where a run's files live: a folder on local disk, or an fsspec URL (``s3://``, ``gs://``,
``az://``, ``file://``). Everything a run writes goes through one :class:`Location`.

The two kinds commit differently, and the difference is the point of this module:

- **Local disk** has an atomic rename: a file is written under a dot-prefixed temporary
  name in its own folder, fsynced, then renamed (:mod:`atlas_data.atomic`).
- **Object stores** have no rename (s3fs's ``mv`` is a copy then a delete), and Arrow's S3
  output stream creates its object even when the writer fails. So nothing is streamed
  there: a file is written whole on local disk first, then uploaded in one request (a
  single PUT, or a multipart upload that S3 shows only once it completes). A shard's data
  objects are uploaded before its commit record, and readers trust the commit records,
  never a listing: an object a killed run left without one is never read as data, and
  the rerun overwrites it under the same name.

Credentials are the store's own: for S3 and S3-compatible stores the AWS environment
variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ...);
``--storage-opt key=value`` passes anything else to the fsspec filesystem.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from atlas_data.atomic import atomic_write_bytes, fsync_dir, temporary


def is_url(where: str | Path) -> bool:
    """Whether ``where`` names an object store (``file://`` is local disk)."""
    text = str(where)
    return "://" in text and not text.startswith("file://")


def local_path(where: str | Path) -> Path:
    return Path(str(where).removeprefix("file://")).expanduser()


def storage_filesystem(url: str, options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path inside it; a clear error when the
    store's package is missing."""
    import fsspec

    protocol = url.split("://", 1)[0]
    try:
        fs, path = fsspec.core.url_to_fs(url, **dict(options or {}))
    except (ImportError, ValueError) as exc:
        extra = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure"}
        hint = f"pip install 'atlas-data[{extra[protocol]}]'" if protocol in extra else ""
        raise ValueError(
            f"cannot use {url!r}: no fsspec filesystem for {protocol}:// ({exc}). {hint}".strip()
        ) from exc
    return fs, str(path).rstrip("/")


class Location:
    """One folder of a run, on local disk or in an object store; paths are relative to it."""

    def __init__(self, where: str | Path, options: Mapping[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        if is_url(where):
            self.fs, self.base = storage_filesystem(str(where), self.options)
            self.url = self.fs.unstrip_protocol(self.base)
        else:
            self.fs, self.base = None, str(local_path(where))
            self.url = self.base

    @property
    def remote(self) -> bool:
        return self.fs is not None

    @property
    def local_root(self) -> Path | None:
        """The folder on local disk (None in an object store)."""
        return None if self.fs is not None else Path(self.base)

    def child(self, name: str) -> Location:
        out = Location.__new__(Location)
        out.options, out.fs = self.options, self.fs
        out.base = posixpath.join(self.base, name)
        out.url = self.fs.unstrip_protocol(out.base) if self.fs is not None else out.base
        return out

    def path(self, rel: str) -> str:
        """``rel`` as the filesystem names it (a local path, or the store's key)."""
        return posixpath.join(self.base, rel) if rel else self.base

    def url_of(self, rel: str) -> str:
        """``rel`` as a reader opens it: a local path or a full URL."""
        return self.fs.unstrip_protocol(self.path(rel)) if self.fs is not None else self.path(rel)

    def exists(self, rel: str) -> bool:
        if self.fs is None:
            return os.path.exists(self.path(rel))
        return bool(self.fs.exists(self.path(rel)))

    def read_bytes(self, rel: str) -> bytes:
        if self.fs is None:
            return Path(self.path(rel)).read_bytes()
        data: bytes = self.fs.cat_file(self.path(rel))
        return data

    def read_json(self, rel: str) -> Any:
        return json.loads(self.read_bytes(rel))

    def write_bytes(self, rel: str, data: bytes) -> None:
        """The whole new content or the old one: an atomic rename on disk, one PUT in a store."""
        if self.fs is None:
            atomic_write_bytes(Path(self.path(rel)), data)
        else:
            self.fs.pipe_file(self.path(rel), data)

    def write_json(self, rel: str, doc: Any) -> None:
        self.write_bytes(rel, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())

    def staging(self, rel: str) -> Path:
        """Where a file that becomes ``rel`` is written first, on local disk: beside it
        (dot-prefixed, never globbed as data) or in this process's scratch folder."""
        if self.fs is None:
            target = Path(self.path(rel))
            target.parent.mkdir(parents=True, exist_ok=True)
            return temporary(target)
        key = hashlib.sha256(self.url.encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / "atlas-data-staging" / key / f"{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / rel.replace("/", "__")

    def commit_file(self, staged: Path, rel: str) -> None:
        """Make the staged file ``rel``: fsync and rename on disk; upload whole, then drop
        the local copy, in a store."""
        if self.fs is None:
            with open(staged, "rb+") as fh:
                os.fsync(fh.fileno())
            target = Path(self.path(rel))
            os.replace(staged, target)
            fsync_dir(target.parent)
            return
        try:
            self.fs.put_file(str(staged), self.path(rel))
        finally:
            staged.unlink(missing_ok=True)

    def delete(self, rel: str) -> None:
        if self.fs is None:
            Path(self.path(rel)).unlink(missing_ok=True)
        elif self.fs.exists(self.path(rel)):
            self.fs.rm_file(self.path(rel))

    def listdir(self, rel: str, suffix: str = "") -> list[str]:
        """The names (not paths) of the files in folder ``rel`` ending in ``suffix``, sorted;
        dot-prefixed temporaries never."""
        if self.fs is None:
            folder = Path(self.path(rel))
            names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        else:
            self.fs.invalidate_cache(self.path(rel))
            try:
                names = [posixpath.basename(p) for p in self.fs.ls(self.path(rel), detail=False)]
            except FileNotFoundError:
                names = []
        return sorted(n for n in names if n.endswith(suffix) and not n.startswith("."))

    def makedirs(self) -> None:
        if self.fs is None:
            Path(self.base).mkdir(parents=True, exist_ok=True)

    def remove_tree(self, rel: str) -> None:
        if self.fs is None:
            shutil.rmtree(self.path(rel), ignore_errors=True)
        elif self.fs.exists(self.path(rel)):
            self.fs.rm(self.path(rel), recursive=True)
