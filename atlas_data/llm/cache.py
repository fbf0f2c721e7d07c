"""A content-addressed on-disk cache of model responses: a rerun costs no requests.

The key is the SHA-256 of everything that determines a response: the model, the full
messages (each image replaced by a hash of its pixels and encoding), the sampling
parameters and the response schema. The endpoint URL and the API key are not part of it:
the same model behind another server gives the same answer, and secrets never touch disk.
Writes go to a temporary file and are renamed, so a crash never leaves half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_CACHE_DIR = "data/cache/teacher"


def cache_key(material: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``material`` (sorted keys, no whitespace)."""
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """``get``/``put`` of JSON responses under ``root/<2 hex>/<key>.json``."""

    def __init__(self, root: str | Path = DEFAULT_CACHE_DIR) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None  # a damaged entry is a miss; the next put replaces it
        return data if isinstance(data, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(value, fh, sort_keys=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.exists() else 0
