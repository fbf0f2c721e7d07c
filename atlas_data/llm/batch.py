"""Teacher requests run as batches: the OpenAI Batch API, or a file for ``vllm run-batch``.

A batch run is a loop of passes (:func:`atlas_data.run.driver.drive`): each pass runs
every unfinished shard with the teacher *deferring* its cache misses (each becomes a
request line, named by its cache key, in ``_batches/pending/``); a shard that needed
nothing is committed, the others are not. The lines are packed into input files (one
model a file, at most 50,000 lines and 200 MB), sent, and their results written into the
response cache, so the next pass finds every answer there. Nothing is kept in memory
that a ``kill -9`` could lose:

- ``_batches/state.json`` (rewritten atomically after every transition) holds each
  batch's file, its uploaded file id, its batch id and status, whether its results are
  in the cache, what it billed, and the retries and failures of single requests;
- a batch is created with ``metadata.atlas_input`` (a hash of its file): a rerun that
  finds a batch with that tag which the state does not know (a kill between the create
  call and the write) adopts it instead of paying for it twice.

Faults: an ``expired`` or ``cancelled`` batch keeps what it finished, and the rest is
deferred again by the next pass (so resubmitted); lines of the error file, non-200 lines
and lines missing from a completed batch count as attempts, retried up to
``batch_retries`` times, then the sample becomes a ``teacher_batch_failed`` rejection with
the error; a ``failed`` batch (its file did not validate) stops the run naming the cause.

Offline (``--teacher-batch file``): the pass writes every line to ``requests.jsonl``, in
the format ``vllm run-batch -i requests.jsonl -o results.jsonl --model M`` reads, and
the run stops saying so; the same command, rerun once ``results.jsonl`` is there, reads
it (inline error lines count as attempts, as above) and finishes without a request sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas_data.atomic import atomic_write_bytes
from atlas_data.llm.cache import ResponseCache
from atlas_data.llm.prices import add_billed, billing_key, meter
from atlas_data.llm.stops import BatchFailed
from atlas_data.llm.wire import ENDPOINT, completion_record, request_line, spent_tokens

MAX_REQUESTS = 50_000  # per input file (the Batch API's limit)
MAX_BYTES = 200 * 1000 * 1000  # per input file (200 MB)
TERMINAL = ("completed", "expired", "cancelled", "failed")
REQUESTS_FILE = "requests.jsonl"
RESULTS_FILE = "results.jsonl"

Progress = Callable[[int, int], None]  # (requests done, requests submitted)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The lines of a JSONL file; a torn or non-JSON line is skipped (it is not a result)."""
    with path.open("rb") as fh:
        for raw in fh:
            try:
                line = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(line, dict):
                yield line


# ---------------------------------------------------------------- the spool


class Spool:
    """``_batches/pending/shard-NNNNN.jsonl``: the requests one pass deferred, per shard.

    A line is a batch request line plus ``expect_output`` (the output tokens ``--estimate``
    projects); a shard's file is written whole or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def clear(self) -> None:
        if self.root.exists():
            for p in self.root.iterdir():
                p.unlink()

    def write(self, shard: int, lines: list[dict[str, Any]]) -> None:
        ordered = sorted(lines, key=lambda x: x["custom_id"])  # not the order answers came in
        blob = "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in ordered)
        atomic_write_bytes(self.root / f"shard-{shard:05d}.jsonl", blob.encode())

    def lines(self) -> Iterator[dict[str, Any]]:
        """Every deferred line once (the same prompt in two shards is one request)."""
        seen: set[str] = set()
        for path in sorted(self.root.glob("shard-*.jsonl")) if self.root.exists() else []:
            for line in read_jsonl(path):
                if line.get("custom_id") not in seen:
                    seen.add(line["custom_id"])
                    yield line


# ---------------------------------------------------------------- the state


@dataclass
class Batch:
    """One input file and what became of it."""

    name: str
    model: str
    requests: int
    bytes: int
    digest: str  # of the input file: the batch's metadata tag
    file_id: str | None = None
    batch_id: str | None = None
    status: str = "packed"  # then the API's: validating, in_progress, ..., completed
    ingested: bool = False
    done: int = 0  # requests finished (the API's request_counts)
    errors: str = ""  # why a batch failed as a whole
    billed: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def input(self) -> str:
        return f"input-{self.name}.jsonl"

    @property
    def ids(self) -> str:
        return f"input-{self.name}.ids"


@dataclass
class BatchState:
    """``_batches/state.json``: every batch, and the retries and failures of single requests."""

    mode: str = "api"
    batches: list[Batch] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)  # custom_id -> failed attempts
    failed: dict[str, str] = field(default_factory=dict)  # custom_id -> last error (final)

    @classmethod
    def load(cls, path: Path) -> BatchState:
        if not path.exists():
            return cls()
        doc = json.loads(path.read_text())
        return cls(
            doc.get("mode", "api"),
            [Batch(**b) for b in doc.get("batches", [])],
            doc.get("attempts", {}),
            doc.get("failed", {}),
        )

    def save(self, path: Path) -> None:
        doc = {
            "mode": self.mode,
            "batches": [b.__dict__ for b in self.batches],
            "attempts": self.attempts,
            "failed": self.failed,
        }
        atomic_write_bytes(path, json.dumps(doc, indent=1, sort_keys=True).encode())

    def billed(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for b in self.batches:
            for key, t in b.billed.items():
                add_billed(out, key, t["input_tokens"], t["output_tokens"], t["requests"])
        return out


# ---------------------------------------------------------------- results


def _error_text(line: dict[str, Any]) -> str:
    """What went wrong with one result line (Batch API error file, vLLM inline error)."""
    error = line.get("error")
    response = line.get("response") or {}
    if isinstance(error, dict):
        inner = error.get("error", error)
        if isinstance(inner, dict):
            code = inner.get("code") or inner.get("type") or ""
            return f"{code}: {inner.get('message', '')}".strip(": ")
    if isinstance(error, str) and error:
        return error
    body = response.get("body") or {}
    inner = body.get("error") if isinstance(body, dict) else None
    status = response.get("status_code")
    if isinstance(inner, dict):
        return f"HTTP {status}: {inner.get('message', '')}"
    return f"HTTP {status}: no completion in the result"


def _is_expiry(line: dict[str, Any]) -> bool:
    error = line.get("error")
    return isinstance(error, dict) and error.get("code") in ("batch_expired", "batch_cancelled")


def result_of(line: dict[str, Any]) -> dict[str, Any] | None:
    """The chat completion of a result line when it succeeded (HTTP 200 with choices)."""
    response = line.get("response") or {}
    body = response.get("body")
    if response.get("status_code") == 200 and isinstance(body, dict) and body.get("choices"):
        return body
    return None


@dataclass
class Ingested:
    answered: int = 0
    errors: int = 0
    expired: int = 0
    missing: int = 0


def ingest(
    lines: Iterable[dict[str, Any]],
    asked: set[str],
    state: BatchState,
    batch: Batch,
    cache: ResponseCache,
    mode: str,
    retries: int,
    complete: bool,
) -> Ingested:
    """Write a batch's answers into the cache and count its failures (see the module doc).

    ``complete``: the batch ran to its end, so an asked request with no line is an error
    (a batch never silently returns fewer rows than were asked)."""
    out = Ingested()
    billed: dict[str, dict[str, int]] = {}
    seen: set[str] = set()
    for line in lines:
        key = line.get("custom_id")
        if key not in asked or key in seen:
            continue
        seen.add(key)
        body = result_of(line)
        if body is not None:
            cache.put(key, completion_record(body))
            model = str(body.get("model") or batch.model)
            key_billed = billing_key(batch.model if mode == "batch" else model, mode)
            add_billed(billed, key_billed, *spent_tokens(body.get("usage")))
            state.failed.pop(key, None)
            out.answered += 1
        elif _is_expiry(line):
            seen.discard(key)  # not the request's fault: deferred again, not an attempt
            out.expired += 1
        else:
            _attempt(state, key, _error_text(line), retries)
            out.errors += 1
    if complete:
        for key in sorted(asked - seen):
            _attempt(state, key, "missing from the batch's results", retries)
            out.missing += 1
    batch.billed = billed
    batch.ingested = True
    capped = meter()
    for key, t in billed.items():
        if capped is not None:
            capped.charge(key, t["input_tokens"], t["output_tokens"])
    return out


def _attempt(state: BatchState, key: str, error: str, retries: int) -> None:
    state.attempts[key] = state.attempts.get(key, 0) + 1
    if state.attempts[key] > retries:
        state.failed[key] = error[:500]


# ---------------------------------------------------------------- packing


def pack(
    lines: Iterable[dict[str, Any]],
    folder: Path,
    first: int,
    max_requests: int = MAX_REQUESTS,
    max_bytes: int = MAX_BYTES,
) -> list[Batch]:
    """Input files of at most ``max_requests`` lines and ``max_bytes``, one model each,
    written as the lines stream in (a 100K-sample run's requests never sit in memory)."""
    filling: dict[str, _Input] = {}
    batches: list[Batch] = []
    names = iter(range(first, 1 << 30))
    for line in lines:
        blob = json.dumps(request_line(line["custom_id"], line["body"]), separators=(",", ":"))
        data = blob.encode() + b"\n"
        if len(data) > max_bytes:
            raise ValueError(
                f"one request is {len(data)} bytes, over the {max_bytes}-byte batch file limit"
            )
        model = str(line["body"].get("model", ""))
        current = filling.get(model)
        if current and (current.count >= max_requests or current.size + len(data) > max_bytes):
            batches.append(current.close())
            current = None
        if current is None:
            current = filling[model] = _Input(folder, f"{next(names):04d}", model)
        current.add(line["custom_id"], data)
    batches += [f.close() for f in filling.values() if f.count and not f.closed]
    return sorted(batches, key=lambda b: b.name)


class _Input:
    """One input file being written: a temporary name until it is whole."""

    def __init__(self, folder: Path, name: str, model: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.batch = Batch(name, model, 0, 0, "")
        self.path = folder / self.batch.input
        self.tmp = folder / f".{self.batch.input}.tmp-{os.getpid()}"
        self.fh = self.tmp.open("wb")
        self.ids: list[str] = []
        self.hash = hashlib.sha256()
        self.size = 0
        self.closed = False

    @property
    def count(self) -> int:
        return len(self.ids)

    def add(self, key: str, data: bytes) -> None:
        self.fh.write(data)
        self.hash.update(data)
        self.ids.append(key)
        self.size += len(data)

    def close(self) -> Batch:
        self.fh.close()
        self.closed = True
        os.replace(self.tmp, self.path)
        atomic_write_bytes(
            self.path.with_suffix(".ids"), "".join(k + "\n" for k in self.ids).encode()
        )
        b = self.batch
        b.requests, b.bytes, b.digest = self.count, self.size, self.hash.hexdigest()[:16]
        return b


# ---------------------------------------------------------------- the manager


class Batches:
    """A run's batches: packing, sending (API) or writing (file), waiting and ingesting."""

    def __init__(
        self,
        folder: Path,
        cache: ResponseCache,
        mode: str,
        run_id: str,
        retries: int = 2,
        poll: float = 30.0,
        client: Any = None,
        limits: tuple[int, int] = (MAX_REQUESTS, MAX_BYTES),
    ) -> None:
        if mode not in ("api", "file"):
            raise ValueError(f"teacher_batch must be off, api or file, got {mode!r}")
        self.folder, self.cache, self.mode, self.run_id = folder, cache, mode, run_id
        self.retries, self.poll, self.client, self.limits = retries, poll, client, limits
        self.path = folder / "state.json"
        self.state = BatchState.load(self.path)
        self.state.mode = mode
        self.spool = Spool(folder / "pending")

    def save(self) -> None:
        self.state.save(self.path)

    def _asked(self, batch: Batch) -> set[str]:
        return set((self.folder / batch.ids).read_text().split())

    def open_ids(self) -> set[str]:
        """Requests in a batch whose results are not in yet: never deferred twice."""
        out: set[str] = set()
        for b in self.state.batches:
            if not b.ingested and b.status != "failed":
                out |= self._asked(b)
        return out

    def to_send(self) -> Iterator[dict[str, Any]]:
        """The spooled lines still needing an answer: not cached, failed or in flight."""
        busy = self.open_ids()
        for x in self.spool.lines():
            key = x["custom_id"]
            if key not in busy and key not in self.state.failed and self.cache.get(key) is None:
                yield x

    # -- the Batch API

    def submit(self, lines: Iterable[dict[str, Any]]) -> list[Batch]:
        """Pack ``lines`` into input files and create their batches (state saved each step)."""
        new = pack(lines, self.folder, len(self.state.batches), *self.limits)
        self.state.batches.extend(new)
        self.save()
        for batch in new:
            self._create(batch)
        return new

    def _adopt(self, batch: Batch) -> bool:
        """A batch with this input's tag that the state never recorded (a kill right after
        the create call): take it over instead of creating (and paying for) another."""
        known = {b.batch_id for b in self.state.batches}
        after = None
        while True:
            page = self.client.batches.list(limit=100, **({"after": after} if after else {}))
            for remote in page.data:
                meta = remote.metadata or {}
                if (
                    meta.get("atlas_run") == self.run_id
                    and meta.get("atlas_input") == batch.digest
                    and remote.id not in known
                    and remote.status != "failed"  # refused: this file is sent anew
                ):
                    batch.batch_id, batch.status = remote.id, remote.status
                    batch.file_id = remote.input_file_id
                    return True
            if not page.has_more or not page.data:
                return False
            after = page.data[-1].id

    def _create(self, batch: Batch) -> None:
        # Only a file uploaded by an earlier process can have a batch the state lost (the
        # kill window is between the create call and the save that follows it).
        if batch.batch_id or (batch.file_id and self._adopt(batch)):
            self.save()
            return
        if not batch.file_id:
            with (self.folder / batch.input).open("rb") as fh:
                uploaded = self.client.files.create(
                    file=(batch.input, fh.read(), "application/jsonl"), purpose="batch"
                )
            batch.file_id = uploaded.id
            self.save()
        created = self.client.batches.create(
            input_file_id=batch.file_id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={"atlas_run": self.run_id, "atlas_input": batch.digest},
        )
        batch.batch_id, batch.status = created.id, created.status
        self.save()

    def settle(self, on_progress: Progress | None = None) -> None:
        """Wait for every batch not ingested yet and write its results into the cache.

        Raises :class:`BatchFailed` (after ingesting the others) when one failed as a whole."""
        pending = [b for b in self.state.batches if not b.ingested and b.status != "failed"]
        for b in pending:
            if not b.batch_id:  # packed (and maybe uploaded) before a kill: send it now
                self._create(b)
        while pending:
            for b in list(pending):
                remote = self.client.batches.retrieve(b.batch_id)
                counts = remote.request_counts
                done = (counts.completed + counts.failed) if counts else 0
                if remote.status != b.status or done != b.done:
                    b.status, b.done = remote.status, done
                    self.save()
                if remote.status in TERMINAL:
                    pending.remove(b)
                    self._finish(b, remote)
            if on_progress:
                on_progress(*self.progress())
            if pending:
                time.sleep(self.poll)
        failed = [b for b in self.state.batches if b.status == "failed" and not b.ingested]
        if failed:
            for b in failed:
                b.ingested = True  # told once; a rerun packs its requests again
            self.save()
            causes = "; ".join(f"{b.batch_id}: {b.errors}" for b in failed)
            raise BatchFailed(
                f"the Batch API refused {len(failed)} batch(es) as a whole: {causes}. Fix the "
                "cause and rerun the same command: finished batches are not sent again"
            )

    def _finish(self, batch: Batch, remote: Any) -> None:
        if remote.status == "failed":
            errors = getattr(remote, "errors", None)
            data = getattr(errors, "data", None) or []
            batch.errors = (
                "; ".join(f"line {e.line}: {e.code}: {e.message}" for e in data[:5])
                or "no reason given"
            )
            self.save()
            return
        lines: list[dict[str, Any]] = []
        for file_id in (remote.output_file_id, remote.error_file_id):
            if file_id:
                text = self.client.files.content(file_id).text
                lines.extend(_parse_lines(text))
        ingest(
            lines,
            self._asked(batch),
            self.state,
            batch,
            self.cache,
            "batch",
            self.retries,
            complete=remote.status == "completed",
        )
        self.save()
        (self.folder / batch.input).unlink(missing_ok=True)  # its answers are in the cache

    def progress(self) -> tuple[int, int]:
        """(requests done, requests submitted) over every batch of the run."""
        live = [b for b in self.state.batches if b.status != "failed"]
        done = sum(b.requests if b.ingested else b.done for b in live)
        return done, sum(b.requests for b in live)

    # -- the offline file

    def write_requests(self, lines: Iterable[dict[str, Any]]) -> Batch | None:
        """Every line in one ``requests.jsonl`` (for ``vllm run-batch``), and a batch entry
        waiting for its ``results.jsonl``; ``None`` when there is nothing to ask."""
        packed = pack(lines, self.folder, len(self.state.batches), 1 << 62, 1 << 62)
        if not packed:
            return None
        if len(packed) > 1:
            raise ValueError(
                "an offline batch file holds one model's requests: "
                + ", ".join(b.model for b in packed)
            )
        (batch,) = packed
        os.replace(self.folder / batch.input, self.folder / REQUESTS_FILE)
        batch.status = "written"
        self.state.batches.append(batch)
        self.save()
        return batch

    def apply_results(self) -> Ingested | None:
        """Read ``results.jsonl`` into the cache for the batch waiting on it (file mode)."""
        waiting = [b for b in self.state.batches if not b.ingested and b.status == "written"]
        results = self.folder / RESULTS_FILE
        if not waiting or not results.exists():
            return None
        got = Ingested()
        for batch in waiting:
            part = ingest(
                read_jsonl(results),
                self._asked(batch),
                self.state,
                batch,
                self.cache,
                "offline",
                self.retries,
                complete=True,
            )
            batch.status = "completed"
            for k in got.__dict__:
                setattr(got, k, getattr(got, k) + getattr(part, k))
        self.save()
        results.rename(self.folder / f"results-{waiting[-1].name}.jsonl")
        return got

    def awaiting(self) -> Batch | None:
        return next((b for b in self.state.batches if b.status == "written"), None)


def _parse_lines(text: str) -> Iterator[dict[str, Any]]:
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(line, dict):
            yield line


def vllm_command(folder: Path, model: str) -> str:
    return f"vllm run-batch -i {folder / REQUESTS_FILE} -o {folder / RESULTS_FILE} --model {model}"
