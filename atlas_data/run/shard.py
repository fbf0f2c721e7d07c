"""One shard's assembly line: source item -> load -> explore -> teach -> tokenize -> verify
-> rows, streamed into the shard's writer.

Memory is bounded by a window, not by the shard: at most ``window`` items are in flight
(fetched, decoded, explored, waiting on the teacher or on an earlier item), decoded
pixels live only inside :meth:`ShardProcessor.prepare` (a worker thread), and what waits
on the teacher is encoded bytes plus images at the teacher's own size. Rows leave in
source order, so files and dedup decisions do not depend on which call returned first.
This module never imports Prefect; :mod:`atlas_data.run.driver` drives shards through it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.dedup.benchmarks import Decontamination
from atlas_data.dedup.fingerprint import Fingerprint, fingerprint
from atlas_data.dedup.kept import Kept
from atlas_data.explore import build_judges, build_proposers, explore
from atlas_data.llm import RunStopped, Usage
from atlas_data.llm.batch import Deferred
from atlas_data.ops.image_io import STORABLE_FORMATS, Storage, downscale_to, load_image
from atlas_data.rejections import Rejection
from atlas_data.run.outcome import Outcome, ShardStats
from atlas_data.sources.base import (
    SourceItem,
    SourceRejection,
    SourceSample,
    check_text,
    normalize_question,
)
from atlas_data.store.rows import (
    image_struct,
    kept_rows,
    operation_struct,
    reject_row,
    teacher_label,
)
from atlas_data.store.writer import ShardWriter
from atlas_data.teacher.base import Teacher, TeachRequest, TeachResult
from atlas_data.tokens import Vocabulary
from atlas_data.trajectory.model import Step, Trajectory, user_prompt
from atlas_data.trajectory.verify import Candidate, check_duplicate, dedup_key, verify

WORKERS = max(1, min(4, os.cpu_count() or 1))


@dataclass
class Prepared:
    """A loaded, explored sample waiting for its teacher: bytes, not pixels."""

    sample: SourceSample  # its image dropped
    request: TeachRequest  # images at the teacher's size
    sha: str
    fingerprint: Fingerprint  # of the source image: near-duplicates are found by it
    source_image: dict[str, Any]  # the row's image struct (input bytes, or encoded once)
    observations: list[dict[str, Any]]  # one encoded result per step
    no_help: str = ""  # for a direct candidate: why no operation helped
    trail: list[dict[str, Any]] = field(default_factory=list)  # and what was tried


class ShardProcessor:
    """Turns a shard's items into rows. CPU work runs in threads, teacher calls async."""

    def __init__(
        self,
        config: RunConfig,
        run_id: str,
        vocab: Vocabulary,
        seen: Kept | Iterable[str] = (),
        filters: Decontamination | None = None,
    ) -> None:
        self.config, self.run_id, self.vocab = config, run_id, vocab
        self.kinds = config.kinds()
        self.budget = config.budget()
        self.judges = build_judges(config)
        self.proposers = build_proposers(config)
        self.explored: Counter[str] = Counter()
        self.contaminated: Counter[str] = Counter()  # by benchmark
        self._lock = threading.Lock()
        # what earlier samples kept, in source order (exact keys, fingerprints)
        self.kept = seen if isinstance(seen, Kept) else Kept(set(seen), bits=config.dedup_bits)
        self.filters = filters
        self.teacher_label = teacher_label(config.teacher, config.teacher_options)

    def _load(self, item: SourceItem) -> tuple[SourceSample, Image.Image, str, Any]:
        if isinstance(item, SourceRejection):
            raise item.rejection
        check_text(item)
        if isinstance(item.image, Image.Image):
            # a scene: stored as its camera wrote it, unless every image is to be a PNG
            lossless = self.config.image_format == "png"
            kept = (item.encoded, item.encoded_as) if item.encoded and not lossless else None
            return item, item.image.convert("RGB"), item.id, kept
        loaded = load_image(item.image, max_pixels=self.config.max_pixels)
        original = None
        if loaded.original is not None and loaded.original_format:
            original = (loaded.original, STORABLE_FORMATS[loaded.original_format])
        return item, loaded.image, loaded.sha256, original

    def prepare(self, item: SourceItem, image_side: int) -> Prepared:
        """Load, filter, explore and encode (CPU, in a worker). Raises :class:`Rejection`."""
        sample, image, sha, original = self._load(item)
        fp = fingerprint(image)
        hit = self.filters.contaminated(fp, sample.question) if self.filters else None
        if hit is not None:  # before any work: a benchmark's sample costs nothing more
            benchmark, why = hit
            with self._lock:
                self.contaminated[benchmark] += 1
            raise Rejection("contaminated", f"a near-duplicate of {why}", "filter")
        try:
            found = explore(
                sample,
                image,
                self.judges,
                self.vocab,
                self.config.seed,
                self.proposers,
                self.budget,
            )
        except Rejection as exc:  # a model judge's request failed for good
            raise exc.at("explore") from exc
        with self._lock:
            self.explored.update(found.counts)
        refused = found.rejection
        trail = []
        if refused is not None:
            trail = [
                {**t, "token": self.vocab.token_for(t["name"]), "frame": ""} for t in refused.trail
            ]
            if found.direct is None:
                raise refused.with_trail(trail)
        # One measure per sample: the source and its operations' results are stored alike.
        storage = Storage.measure(image, self.config.image_format, original and original[1])
        data, ext = original or (storage.encode(image), storage.extension)
        observations = [
            image_struct(storage.encode(s.result), f"{sample.id}-op{k}.{storage.extension}")
            for k, s in enumerate(found.steps)
        ]

        def view(img: Image.Image) -> Image.Image:
            return downscale_to(img, image_side) if image_side else img

        steps = [replace(s, result=view(s.result)) for s in found.steps]
        request = TeachRequest(
            sample_id=sample.id,
            task=sample.task,
            question=sample.question,
            answer=sample.answer,
            choices=sample.choices,
            image=view(image) if image_side else None,
            steps=steps,
            preset=self.config.preset,
            direct=found.direct,
        )
        return Prepared(
            replace(sample, image=b""),
            request,
            sha,
            fp,
            image_struct(data, f"{sample.id}.{ext}"),
            observations,
            refused.detail if refused is not None and found.direct else "",
            trail if found.direct else [],
        )

    def finish(self, p: Prepared, result: TeachResult) -> Outcome:
        """Tokenize, verify and build rows for one taught sample (CPU, in a worker)."""
        sample, steps = p.sample, p.request.steps
        ops = [operation_struct(s, self.vocab) for s in steps]
        usage = result.usage

        def rejected(rejection: Rejection) -> Outcome:
            row = reject_row(self.run_id, sample, rejection.with_trail(ops))
            return Outcome(reject=row, usage=usage)

        r = result.reasoning
        if r is None:
            assert result.rejection is not None
            return rejected(result.rejection)
        if len(r.steps) != len(steps):
            detail = f"teacher wrote {len(r.steps)} steps for {len(steps)} operations"
            return rejected(Rejection("teacher_step_mismatch", detail, "teach"))
        traj = Trajectory(
            question=sample.question,
            preamble=r.preamble,
            steps=[
                Step(t.intent, s.operation, t.observation, s.judgement)
                for t, s in zip(r.steps, steps, strict=True)
            ],
            conclusion=r.conclusion,
            answer=r.answer,
        )
        preset = self.config.preset
        functional, agentic = traj.functional(self.vocab, preset), traj.agentic(preset)
        key = dedup_key(p.sha, sample.question)
        direct = p.request.direct is not None
        candidate = Candidate(
            traj,
            functional.text,
            agentic,
            sample.answer,
            self.vocab,
            preset,
            key,
            set(),
            direct,
            tuple(sample.accepted),
        )
        failure = verify(candidate)
        if failure is not None:
            return rejected(failure)
        rows = kept_rows(
            self.run_id,
            sample,
            self.kinds,
            trajectory=traj,
            functional=functional,
            agentic=agentic,
            prompt=user_prompt(sample.question, sample.choices, preset),
            preset=preset,
            vocab=self.vocab,
            ops=ops,
            source_image=p.source_image,
            observations=p.observations,
            teacher=self.teacher_label,
        )
        detail = check_duplicate(replace(candidate, seen={key})) or ""
        duplicate = reject_row(
            self.run_id,
            sample,
            Rejection("duplicate", detail, "verify", ops, raw=functional.text),
        )
        over_quota, proof = None, p.request.direct or {}
        if direct:
            detail = (
                f"{p.no_help}; the {proof.get('judge')} judge verified the answer with no "
                f"operation ({proof.get('seen') or 'no clause'}), but direct answers already "
                f"make up --direct-share {self.config.direct_share} of the shard"
            )
            over_quota = reject_row(
                self.run_id, sample, Rejection("no_helpful_operation", detail, "explore", p.trail)
            )
        return Outcome(
            rows,
            None,
            key,
            duplicate,
            usage,
            over_quota,
            # the same question and answer: a near-identical picture with another answer is
            # another sample (a fingerprint does not see a small changed detail)
            f"{normalize_question(sample.question)}\x00{normalize_question(sample.answer)}",
            p.fingerprint,
        )

    def _emit(self, outcome: Outcome, writer: ShardWriter, stats: ShardStats) -> None:
        """Write one outcome (in source order: dedup and the direct share are decided here)."""
        if outcome.deferred:
            stats.deferred += 1
            return
        stats.samples += 1
        stats.usage.add(outcome.usage)
        reject = outcome.reject
        if reject is None and outcome.key in self.kept.keys:
            reject = outcome.duplicate
        first_seen = self.kept.near_duplicate_of(outcome.question, outcome.fingerprint)
        if reject is None and first_seen is not None and outcome.duplicate is not None:
            detail = f"a near-duplicate of sample {first_seen}, kept earlier with this question"
            reject = {**outcome.duplicate, "reason": "near_duplicate", "detail": detail}
        kept = len(stats.keys)
        if reject is None and outcome.over_quota is not None:
            if stats.direct + 1 > self.config.direct_share * (kept + 1):
                reject = outcome.over_quota
            else:
                stats.direct += 1
        if reject is not None:
            writer.add("rejects", reject)
            stats.reasons[reject["reason"]] += 1
            return
        first = next(iter(outcome.rows.values()))
        self.kept.add(outcome.key, outcome.question, outcome.fingerprint, first["id"])
        stats.keys.append(outcome.key)
        if outcome.fingerprint is not None:
            stats.near.append(Kept.entry(outcome.question, outcome.fingerprint, first["id"]))
        stats.tasks[first["task"]] += 1
        stats.tokens.update(first["tokens"])
        by_source = stats.sources[first["source"]]
        by_source.update(kept=1, direct=int(first["direct"]))
        by_source.update(first["tokens"])
        stats.operations.update(op["name"] for op in first["operations"])
        stats.chain_lengths[str(len(first["operations"]))] += 1
        for kind, row in outcome.rows.items():
            writer.add(kind, row)

    def usage(self, *more: object) -> Usage:
        """What the shard's model judges and proposers (and ``more``: its teacher) spent."""
        total = Usage()
        for part in (*more, *self.judges, *self.proposers):
            spent = getattr(part, "usage", None)
            if isinstance(spent, Usage):
                total.add(spent)
        return total

    async def process(
        self,
        items: Iterator[SourceItem],
        teacher: Teacher,
        writer: ShardWriter,
        on_item: Callable[[], None] | None = None,
    ) -> ShardStats:
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=WORKERS)
        stats = ShardStats()
        # Items in flight: enough to keep the workers and the teacher busy, few enough
        # that memory does not grow with the shard.
        window = asyncio.Semaphore(max(2 * WORKERS, getattr(teacher, "concurrency", 0) or 0))
        done: dict[int, Outcome] = {}
        next_out = 0

        async def handle(item: SourceItem) -> Outcome:
            try:
                prepared = await loop.run_in_executor(pool, self.prepare, item, teacher.image_side)
            except Rejection as rej:
                return Outcome(reject=reject_row(self.run_id, item, rej))
            try:
                taught = await teacher.teach(prepared.request)
            except Deferred:
                return Outcome(deferred=True)  # answered by a batch; this pass writes nothing
            except RunStopped:
                raise  # wrong URL or model, the cost cap: stop the run with the clear message
            except Exception as exc:  # noqa: BLE001 - a teacher bug must not lose the shard
                taught = TeachResult.refused("teacher_error", f"{type(exc).__name__}: {exc}")
            return await loop.run_in_executor(pool, self.finish, prepared, taught)

        async def one(i: int, item: SourceItem) -> None:
            nonlocal next_out
            done[i] = await handle(item)
            if on_item:
                on_item()
            while next_out in done:
                self._emit(done.pop(next_out), writer, stats)
                next_out += 1
                window.release()

        end = object()
        try:
            async with asyncio.TaskGroup() as group:
                for i in range(1 << 62):
                    await window.acquire()
                    item = await loop.run_in_executor(pool, next, items, end)
                    if item is end:
                        break
                    group.create_task(one(i, item))  # type: ignore[arg-type]
        except BaseExceptionGroup as failed:  # the first failure, as itself (and its message)
            raise failed.exceptions[0] from None
        finally:
            pool.shutdown(wait=True)
            for part in (*self.judges, *self.proposers):  # model clients: one pool per shard
                close = getattr(part, "close", None)
                if callable(close):
                    close()
        stats.usage.add(self.usage())  # model judges, grounding spend requests
        stats.explored = self.explored
        stats.contaminated = self.contaminated
        return stats
