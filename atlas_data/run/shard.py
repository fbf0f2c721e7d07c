"""One shard's assembly line: its items through the stages (:mod:`atlas_data.run.stages`)
into the shard's writer, then the commit.

Memory is bounded by a window, not by the shard: at most ``window`` items are in flight
(fetched, decoded, explored, waiting on the teacher or on an earlier item), decoded
pixels live only inside :meth:`Stages.prepare` (a worker thread), and what waits on the
teacher is encoded bytes plus images at the teacher's own size. Samples leave in source
order, so files and dedup decisions do not depend on which call returned first.

A batch pass explores each sample once: what ``prepare`` made of a shard's items is kept
in the run's ``_batches/explored/`` when the teacher deferred any of them, and the next
pass (with the batch's answers in the cache) starts from there, not from the source.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from atlas_data import __version__
from atlas_data.atomic import atomic_write_bytes
from atlas_data.dedup.kept import Kept
from atlas_data.llm import Usage
from atlas_data.llm.batch import BatchState, Spool
from atlas_data.llm.stops import BudgetExhausted
from atlas_data.rejections import Rejection
from atlas_data.run.ledger import record_spent
from atlas_data.run.plan import RunPlan
from atlas_data.run.stages import DeferredSample, Sample, Stages
from atlas_data.sources import source_items
from atlas_data.sources.base import SourceItem, SourceSample
from atlas_data.store.manifest import ShardRecord
from atlas_data.store.writer import ShardWriter
from atlas_data.teacher import build_teacher
from atlas_data.teacher.base import Teacher

WORKERS = max(1, min(4, os.cpu_count() or 1))

# An item after ``prepare``: the record (its image dropped) and what became of it.
Explored = tuple[SourceItem, Sample | Rejection]


def _stripped(item: SourceItem) -> SourceItem:
    return replace(item, image=b"") if isinstance(item, SourceSample) else item


class ShardLine:
    """Turns a shard's items into rows. CPU stages run in threads, the teacher async."""

    def __init__(
        self,
        stages: Stages,
        teacher: Teacher,
        writer: ShardWriter,
        on_item: Callable[[], None] | None = None,
        keep_explored: bool = False,
    ) -> None:
        self.stages, self.teacher, self.writer, self.on_item = stages, teacher, writer, on_item
        # a batch pass: what prepare made of each item, pickled as it comes, so the next
        # pass need not explore again
        self.explored: dict[int, bytes] | None = {} if keep_explored else None

    def usage(self, teacher: bool = True) -> Usage:
        """What the shard's model judges and proposers (and its teacher) spent."""
        total = Usage()
        parts = (self.teacher,) if teacher else ()
        for part in (*parts, *self.stages.judges, *self.stages.proposers):
            spent = getattr(part, "usage", None)
            if isinstance(spent, Usage):
                total.add(spent)
        return total

    def _prepare(self, i: int, entry: SourceItem, item: SourceItem) -> Sample | Rejection:
        out = self.stages.prepare(entry, self.teacher.budget)
        if self.explored is not None:  # before the teacher touches it
            self.explored[i] = pickle.dumps((item, out))
        return out

    async def process(self, entries: Iterator[SourceItem | Explored]) -> ShardRecord:
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=WORKERS)
        stages, record = self.stages, ShardRecord(shard=-1)
        # Items in flight: enough to keep the workers and the teacher busy, few enough
        # that memory does not grow with the shard.
        window = asyncio.Semaphore(max(2 * WORKERS, getattr(self.teacher, "concurrency", 0) or 0))
        done: dict[int, Explored | None] = {}  # None: deferred to a batch
        next_out = 0

        async def handle(i: int, entry: SourceItem | Explored) -> Explored | None:
            if isinstance(entry, tuple):
                item, out = entry
            else:
                item = _stripped(entry)
                out = await loop.run_in_executor(pool, self._prepare, i, entry, item)
            if isinstance(out, Rejection) or out.rejection is not None:
                return item, out
            try:
                await stages.teach(out, self.teacher)
            except DeferredSample:
                return None
            verdict = await loop.run_in_executor(pool, stages.verify, out)
            if isinstance(verdict, Rejection):
                out.rejection = verdict
            return item, out

        async def one(i: int, entry: SourceItem | Explored) -> None:
            nonlocal next_out
            done[i] = await handle(i, entry)
            if self.on_item:
                self.on_item()
            while next_out in done:
                finished = done.pop(next_out)
                if finished is None:
                    record.deferred += 1
                else:
                    stages.write(finished[1], finished[0], self.writer, record)
                next_out += 1
                window.release()

        end = object()
        try:
            async with asyncio.TaskGroup() as group:
                for i in range(1 << 62):
                    await window.acquire()
                    entry = await loop.run_in_executor(pool, next, entries, end)
                    if entry is end:
                        break
                    group.create_task(one(i, entry))  # type: ignore[arg-type]
        except BaseExceptionGroup as failed:  # the first failure, as itself (and its message)
            raise failed.exceptions[0] from None
        finally:
            pool.shutdown(wait=True)
            stages.close()
        record.usage.add(self.usage(teacher=False))  # model judges, grounding (the
        # teacher's spend was added per sample as it left)
        return record


class ExploredStore:
    """``_batches/explored/part-NNNNN.pkl``: a deferred shard's explored items, so the pass
    after the batch explores nothing again. Written whole or not at all; read only by the
    same atlas-data version (a pickle is not a format to keep across releases)."""

    def __init__(self, root: Path) -> None:
        self.root = root / "_batches" / "explored"

    def path(self, index: int) -> Path:
        return self.root / f"part-{index:05d}.pkl"

    def save(self, index: int, explored: dict[int, bytes]) -> None:
        blob = pickle.dumps((__version__, [explored[i] for i in sorted(explored)]))
        atomic_write_bytes(self.path(index), blob)

    def load(self, index: int) -> list[Explored] | None:
        path = self.path(index)
        if not path.exists():
            return None
        version, entries = pickle.loads(path.read_bytes())  # noqa: S301 - the run's own file
        if version != __version__:
            return None
        return [pickle.loads(e) for e in entries]  # noqa: S301

    def drop(self, index: int) -> None:
        self.path(index).unlink(missing_ok=True)


def spool_folder(plan: RunPlan) -> Path:
    root = plan.run_dir.root
    return root / "_estimate" if plan.estimating else root / "_batches" / "pending"


def process_shard(
    plan: RunPlan,
    index: int,
    seen: Kept | Iterable[str] = (),
    on_item: Callable[[], None] | None = None,
    teacher: Teacher | None = None,
) -> ShardRecord:
    """Produce and commit one shard; returns its completion record. Idempotent.

    ``seen``: what earlier shards kept (or just their keys); ``teacher``: one to use
    instead of the config's (kept open: the caller owns it)."""
    config = plan.config
    start, stop = plan.bounds(index)
    t0 = time.perf_counter()
    history = seen if isinstance(seen, Kept) else Kept(set(seen), bits=config.dedup_bits)
    stages = Stages(config, plan.run_id, plan.vocab, history, plan.filters)
    own = teacher is None or plan.deferring  # a batch pass spools into a teacher of its own
    teach = (
        teacher
        if teacher is not None and not own
        else build_teacher(config.teacher, config.teacher_options, config.budget())
    )
    batching = plan.deferring and not plan.estimating
    store = ExploredStore(plan.run_dir.root) if batching else None
    saved = store.load(index) if store is not None else None
    entries: Iterator[Any] = (
        iter(saved) if saved is not None else source_items(plan.source, start, stop)
    )
    if plan.deferring:
        teach.defer(BatchState.load(plan.run_dir.root / "_batches" / "state.json").failed)
    writer = plan.run_dir.shard_writer(index, (*config.kinds(), "rejects"))
    line = ShardLine(stages, teach, writer, on_item, keep_explored=batching and saved is None)

    async def go() -> ShardRecord:
        try:
            return await line.process(entries)
        finally:
            if own:
                await teach.aclose()

    try:
        record = asyncio.run(go())
    except BaseException as exc:
        writer.abort()
        if isinstance(exc, BudgetExhausted):  # what the cut shard paid for still counts
            record_spent(plan.run_dir, index, line.usage())
        raise
    if plan.deferring and (record.deferred or plan.estimating):
        writer.abort()  # redone in the next pass, with the batch's answers in the cache
        if line.explored is not None and store is not None:
            store.save(index, line.explored)
        Spool(spool_folder(plan)).write(index, teach.deferred)
        return ShardRecord(shard=index, deferred=record.deferred)
    record.first, record.seconds = start, round(time.perf_counter() - t0, 3)
    committed = writer.commit(record)
    if store is not None:
        store.drop(index)
    return committed


def run_shard(
    plan: RunPlan, index: int, redo: bool = False, on_item: Callable[[], None] | None = None
) -> ShardRecord:
    """Shard ``index`` with the keys of the finished shards before it, or its record when
    it is done on disk and not to be redone (the flow's task and the library alike)."""
    if not redo and plan.run_dir.is_done(index):
        return plan.run_dir.record(index)
    history = Kept.of_records(plan.run_dir.records(), index, plan.config.dedup_bits)
    return process_shard(plan, index, history, on_item)
