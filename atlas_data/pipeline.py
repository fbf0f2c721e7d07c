"""The pipeline: source -> explore -> teach -> tokenize -> verify -> write, one shard at a time.

A run is a deterministic function of its :class:`RunConfig`: the run id is a hash of the
config, sample ``i`` is the same on every run, and shard ``k`` always covers the same
samples. That is what makes a rerun resume (finished shards are skipped, a shard cut short
is redone under the same file names) and lets an orchestrator run shards anywhere.
This module never imports Prefect; ``flows/`` calls :func:`process_shard` and
:func:`finalize`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from PIL import Image

from atlas_data import __version__
from atlas_data.explore import Judge, explore
from atlas_data.explore.annotation import AnnotationJudge
from atlas_data.explore.base import ChosenStep
from atlas_data.formats import DEFAULT_PRESET, get_preset
from atlas_data.ops.image_io import (
    DEFAULT_MAX_PIXELS,
    STORABLE_FORMATS,
    ImageRejected,
    encode_png,
    load_image,
)
from atlas_data.sources.base import Source, SourceItem, SourceRejection, SourceSample
from atlas_data.store.schemas import ROW_SCHEMAS, SCHEMA_VERSION, schema_hash
from atlas_data.store.writer import RunDir
from atlas_data.teacher.base import (
    ChatError,
    Teacher,
    TeacherUnavailable,
    TeachRequest,
    TeachResult,
    Usage,
)
from atlas_data.tokens import DEFAULT_VOCABULARY, Vocabulary
from atlas_data.trajectory import Step, Trajectory, agentic_messages, user_prompt
from atlas_data.verify import Candidate, dedup_key, verify

SPLITS = ("sft", "rl", "both")
MAX_QUESTION_CHARS = 4000  # longer "questions" are documents or garbage, not prompts
# Teacher options that change how fast or where, not what: not part of the run identity.
OPERATIONAL_TEACHER_OPTIONS = frozenset(
    {"concurrency", "cache_dir", "timeout", "max_retries", "backoff", "probe"}
)

SECRET_WORDS = frozenset(
    {"key", "apikey", "token", "secret", "password", "auth", "authorization", "credential"}
)


def is_secret(option: str) -> bool:
    """Whether an option name holds a secret (``api_key``, ``auth_token``; not ``max_tokens``).

    The one rule for everything written down: run-id hash, manifest, dataset card.
    """
    return any(w in SECRET_WORDS for w in re.split(r"[^a-z0-9]+", option.lower()))


@dataclass
class RunConfig:
    """Everything that defines a run. Equal configs give equal run ids and equal rows."""

    split: str = "sft"
    source: str = "synthetic"
    source_options: dict[str, Any] = field(default_factory=dict)
    n: int = 200
    seed: int = 0
    teacher: str = "template"
    teacher_options: dict[str, Any] = field(default_factory=dict)
    judges: list[str] = field(default_factory=lambda: ["annotation"])
    judge_max_side: int = 1024
    preset: str = DEFAULT_PRESET
    vocab_path: str | None = None
    out: str = "data/runs"
    run_id: str | None = None
    shard_size: int = 64
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        if self.shard_size < 1:
            raise ValueError(f"shard_size must be at least 1, got {self.shard_size}")
        get_preset(self.preset)

    def identity(self) -> dict[str, Any]:
        """The fields that change the rows; secrets and output location are not part of it."""
        ident = asdict(self)
        for key in ("out", "run_id"):
            ident.pop(key)
        ident["source_options"] = {k: v for k, v in self.source_options.items() if not is_secret(k)}
        ident["teacher_options"] = {
            k: v
            for k, v in self.teacher_options.items()
            if not is_secret(k) and k not in OPERATIONAL_TEACHER_OPTIONS
        }
        # What the teacher says it is (model, endpoint, prompt version...; never a key): a
        # new prompt version is a new run, not a resumed one with mixed prompts.
        ident["teacher_identity"] = build_teacher(self).describe()
        ident["vocab_hash"] = load_vocabulary(self).hash
        ident.pop("vocab_path")
        return ident

    def resolved_run_id(self) -> str:
        if self.run_id:
            return self.run_id
        blob = json.dumps(self.identity(), sort_keys=True, default=str)
        return f"{self.source}-{self.split}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"

    def run_dir(self) -> RunDir:
        return RunDir(Path(self.out) / self.resolved_run_id())

    def shard_count(self) -> int:
        return math.ceil(self.n / self.shard_size)

    def kinds(self) -> tuple[str, ...]:
        return ("sft", "rl") if self.split == "both" else (self.split,)


# ---------------------------------------------------------------- components (registries)


def load_vocabulary(config: RunConfig) -> Vocabulary:
    return Vocabulary.load(config.vocab_path) if config.vocab_path else DEFAULT_VOCABULARY


def build_source(config: RunConfig) -> Source:
    if config.source == "synthetic":
        from atlas_data.sources.synthetic import SyntheticSource

        unknown = sorted(set(config.source_options) - {"families", "size"})
        if unknown:
            raise ValueError(f"unknown synthetic source option(s) {unknown}; known: families, size")
        return SyntheticSource(n=config.n, seed=config.seed, **config.source_options)
    if config.source in ("hf", "local"):
        from atlas_data.sources.hf import HFSource
        from atlas_data.sources.local import LocalSource

        cls = HFSource if config.source == "hf" else LocalSource
        return cls.from_options(config.source_options)  # pixels are checked at load
    raise ValueError(f"unknown source {config.source!r}; available: synthetic, hf, local")


def build_teacher(config: RunConfig) -> Teacher:
    if config.teacher == "template":
        from atlas_data.teacher.template import TemplateTeacher

        return TemplateTeacher()
    if config.teacher == "openai":
        from atlas_data.teacher.openai import OpenAITeacher

        return OpenAITeacher.from_options(config.teacher_options)
    raise ValueError(f"unknown teacher {config.teacher!r}; available: template, openai")


def build_judges(config: RunConfig) -> list[Judge]:
    judges: list[Judge] = []
    for name in config.judges:
        if name == "annotation":
            judges.append(AnnotationJudge(max_side=config.judge_max_side))
        elif name == "ocr":
            from atlas_data.explore.ocr import OCRJudge

            judges.append(OCRJudge(max_side=config.judge_max_side))
        elif name == "flip":
            from atlas_data.explore.flip import AnswerFlipJudge

            judges.append(
                AnswerFlipJudge.from_options(config.teacher_options, config.judge_max_side)
            )
        else:
            raise ValueError(f"unknown judge {name!r}; available: annotation, ocr, flip")
    return judges


def source_slice(source: Source, start: int, stop: int) -> Iterator[SourceItem]:
    """Items ``start..stop-1``: random access when the source has it, else a skip."""
    sample = getattr(source, "sample", None)
    if callable(sample):
        size = getattr(source, "__len__", None)
        if callable(size):  # a dataset shorter than --n: later shards are empty
            stop = max(start, min(stop, size()))
        return (sample(i) for i in range(start, stop))
    return islice(iter(source), start, stop)


# ---------------------------------------------------------------- rows


def _image_struct(data: bytes, path: str) -> dict[str, Any]:
    return {"bytes": data, "path": path}


def _op_struct(step: ChosenStep, vocab: Vocabulary) -> dict[str, Any]:
    j = step.judgement
    return {
        "name": step.operation.name,
        "token": vocab.token_for(step.operation.name),
        "params": step.operation.params_json(),
        "judge": j.judge,
        "helpful": j.helpful,
        "score": j.score,
        "evidence": json.dumps(j.evidence, sort_keys=True, default=str),
    }


def _reject(
    run_id: str,
    item: SourceSample | SourceRejection,
    stage: str,
    reason: str,
    detail: str,
    raw: str = "",
    ops: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": item.id,
        "run_id": run_id,
        "task": item.task,
        "source": item.source,
        "stage": stage,
        "reason": reason,
        "detail": detail[:2000],
        "question": item.question[:2000],
        "raw": raw[:20000],
        "operations": ops or [],
    }


@dataclass
class ShardOutput:
    parts: dict[str, list[dict[str, Any]]]
    reasons: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    keys: list[str] = field(default_factory=list)


class ShardProcessor:
    """Turns the items of one shard into rows. CPU work runs in threads, teacher calls async."""

    def __init__(self, config: RunConfig, seen: Iterable[str] = ()) -> None:
        self.config = config
        self.run_id = config.resolved_run_id()
        self.vocab = load_vocabulary(config)
        self.judges = build_judges(config)
        self.seen = set(seen)

    def prepare(self, item: SourceItem) -> Prepared:
        """Load + explore (CPU). Raises _Rejected with the stage and reason."""
        if isinstance(item, SourceRejection):
            raise _Rejected("load", item.reason, item.detail)
        if not item.question.strip():
            raise _Rejected("load", "empty_question", "the question is empty")
        if not item.answer.strip():
            raise _Rejected("load", "empty_answer", "the ground-truth answer is empty")
        if len(item.question) > MAX_QUESTION_CHARS:
            raise _Rejected(
                "load",
                "question_too_long",
                f"the question has {len(item.question)} characters; at most "
                f"{MAX_QUESTION_CHARS} fit a training prompt",
            )
        original: tuple[bytes, str] | None = None
        if isinstance(item.image, Image.Image):
            image, sha = item.image.convert("RGB"), item.id
        else:
            try:
                loaded = load_image(item.image, max_pixels=self.config.max_pixels)
            except ImageRejected as exc:
                raise _Rejected("load", exc.reason, exc.detail) from exc
            image, sha = loaded.image, loaded.sha256
            if loaded.original is not None and loaded.original_format:
                original = (loaded.original, STORABLE_FORMATS[loaded.original_format])
        try:
            found = explore(item, image, self.judges, self.vocab, seed=self.config.seed)
        except ChatError as exc:  # a model judge's request failed for good
            raise _Rejected("explore", exc.reason, exc.detail) from exc
        if found.reason:
            raise _Rejected("explore", found.reason, found.detail)
        return Prepared(item, image, found.steps, sha, original)

    def finish(self, prepared: Prepared, result: TeachResult, out: ShardOutput) -> None:
        """Tokenize, verify and build rows for one taught sample (CPU)."""
        sample, image, steps, sha = prepared.sample, prepared.image, prepared.steps, prepared.sha
        ops = [_op_struct(s, self.vocab) for s in steps]
        if result.reasoning is None:
            out.parts["rejects"].append(
                _reject(self.run_id, sample, "teach", result.reason, result.detail, result.raw, ops)
            )
            out.reasons[result.reason] += 1
            return
        r = result.reasoning
        if len(r.steps) != len(steps):
            detail = f"teacher wrote {len(r.steps)} steps for {len(steps)} operations"
            out.parts["rejects"].append(
                _reject(
                    self.run_id, sample, "teach", "teacher_step_mismatch", detail, result.raw, ops
                )
            )
            out.reasons["teacher_step_mismatch"] += 1
            return
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
        functional = traj.functional(self.vocab, preset)
        agentic = traj.agentic(preset)
        key = dedup_key(sha, sample.question)
        failure = verify(
            Candidate(
                traj, functional.text, agentic, sample.answer, self.vocab, preset, key, self.seen
            )
        )
        if failure is not None:
            reason, detail = failure
            out.parts["rejects"].append(
                _reject(self.run_id, sample, "verify", reason, detail, functional.text, ops)
            )
            out.reasons[reason] += 1
            return
        self.seen.add(key)
        out.keys.append(key)
        out.tasks[sample.task] += 1
        tokens = [s.token for s in functional.spans]
        out.tokens.update(tokens)
        out.operations.update(s.operation.name for s in steps)
        prompt = user_prompt(sample.question, sample.choices, preset)
        spans = [asdict(s) for s in functional.spans]
        data, ext = prepared.original or (encode_png(image), "png")
        source_image = [_image_struct(data, f"{sample.id}.{ext}")]
        common = {
            "id": sample.id,
            "run_id": self.run_id,
            "task": sample.task,
            "source": sample.source,
            "question": sample.question,
            "answer": sample.answer,
            "choices": sample.choices,
            "preset": preset,
            "vocab_hash": self.vocab.hash,
            "images": source_image,
            "operations": ops,
            "tokens": tokens,
        }
        if "sft" in out.parts:
            out.parts["sft"].append(
                {
                    **common,
                    "observations": [
                        _image_struct(encode_png(s.result), f"{sample.id}-op{k}.png")
                        for k, s in enumerate(steps)
                    ],
                    "messages": [
                        {"role": "user", "content": prompt},
                        {"role": "assistant", "content": functional.text},
                    ],
                    "agentic_messages": agentic_messages(traj, prompt, preset),
                    "text": functional.text,
                    "agentic_text": agentic,
                    "token_spans": spans,
                    "teacher": build_teacher_name(self.config),
                }
            )
        if "rl" in out.parts:
            out.parts["rl"].append(
                {
                    **common,
                    "data_source": f"atlas-data/{sample.source}",
                    "ability": sample.task,
                    "prompt": [{"role": "user", "content": prompt}],
                    "reference": functional.text,
                    "reference_token_spans": spans,
                }
            )

    async def process(
        self, items: list[SourceItem], teacher: Teacher, on_item: Callable[[], None] | None = None
    ) -> ShardOutput:
        out = ShardOutput(parts={k: [] for k in (*self.config.kinds(), "rejects")})
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)))
        # Results are collected by position, then finished in source order: rows, dedup
        # decisions and file contents do not depend on which teacher call returned first.
        results: list[Any] = [None] * len(items)

        async def handle(i: int, item: SourceItem) -> None:
            try:
                prepared = await loop.run_in_executor(pool, self.prepare, item)
            except _Rejected as rej:
                results[i] = rej
                if on_item:
                    on_item()
                return
            sample = prepared.sample
            request = TeachRequest(
                sample_id=sample.id,
                task=sample.task,
                question=sample.question,
                answer=sample.answer,
                choices=sample.choices,
                image=prepared.image,
                steps=prepared.steps,
                preset=self.config.preset,
            )
            try:
                taught = await teacher.teach(request)
            except TeacherUnavailable:
                raise  # wrong URL or model: stop the run with the clear message
            except Exception as exc:  # noqa: BLE001 - a teacher bug must not lose the shard
                taught = TeachResult(None, "teacher_error", f"{type(exc).__name__}: {exc}")
            results[i] = (prepared, taught)
            if on_item:
                on_item()

        try:
            await asyncio.gather(*(handle(i, item) for i, item in enumerate(items)))
            for item, res in zip(items, results, strict=True):
                if isinstance(res, _Rejected):
                    out.parts["rejects"].append(
                        _reject(self.run_id, item, res.stage, res.reason, res.detail)
                    )
                    out.reasons[res.reason] += 1
                else:
                    prepared, taught = res
                    out.usage.add(taught.usage)
                    await loop.run_in_executor(pool, self.finish, prepared, taught, out)
        finally:
            pool.shutdown(wait=True)
            for judge in self.judges:  # model judges hold connections: one pool per shard
                close = getattr(judge, "close", None)
                if callable(close):
                    close()
        for judge in self.judges:  # model-based judges (flip) spend requests too
            spent = getattr(judge, "usage", None)
            if isinstance(spent, Usage):
                out.usage.add(spent)
        return out


@dataclass
class Prepared:
    """A loaded, explored sample waiting for its teacher."""

    sample: SourceSample
    image: Image.Image  # upright 8-bit RGB: the coordinates every operation refers to
    steps: list[ChosenStep]
    sha: str
    original: tuple[bytes, str] | None  # input bytes + extension, when storable as they are


class _Rejected(Exception):
    def __init__(self, stage: str, reason: str, detail: str) -> None:
        super().__init__(f"{stage}/{reason}: {detail}")
        self.stage, self.reason, self.detail = stage, reason, detail


def build_teacher_name(config: RunConfig) -> str:
    model = config.teacher_options.get("model")
    return f"{config.teacher}:{model}" if model else config.teacher


# ---------------------------------------------------------------- shards and runs


def shard_bounds(config: RunConfig, index: int) -> tuple[int, int]:
    start = index * config.shard_size
    return start, min(config.n, start + config.shard_size)


def process_shard(
    config: RunConfig,
    index: int,
    seen: Iterable[str] = (),
    on_item: Callable[[], None] | None = None,
    teacher: Teacher | None = None,
    source: Source | None = None,
) -> dict[str, Any]:
    """Produce and commit one shard; returns its completion record. Idempotent."""
    run = config.run_dir()
    start, stop = shard_bounds(config, index)
    t0 = time.perf_counter()
    items = list(source_slice(source or build_source(config), start, stop))
    own_teacher = teacher is None
    teacher = teacher or build_teacher(config)

    async def go() -> ShardOutput:
        try:
            return await ShardProcessor(config, seen).process(items, teacher, on_item)
        finally:
            if own_teacher:
                await teacher.aclose()

    out = asyncio.run(go())
    kept = len(out.keys)
    record = {
        "samples": len(items),
        "first": start,
        "kept": kept,
        "rejected": sum(out.reasons.values()),
        "reasons": dict(out.reasons),
        "tokens": dict(out.tokens),
        "operations": dict(out.operations),
        "tasks": dict(out.tasks),
        "usage": out.usage.to_json(),
        "seconds": round(time.perf_counter() - t0, 3),
        "keys": out.keys,
    }
    return run.write_shard(index, out.parts, record)


def finalize(
    config: RunConfig, wall_seconds: float | None = None, samples_this_run: int = 0
) -> dict[str, Any]:
    """Aggregate completion records into the manifest (written last, atomically).

    ``samples_this_run`` (the samples of the shards the caller processed, not resumed) over
    ``wall_seconds`` is the throughput reported: resumed shards took no time now.
    """
    run = config.run_dir()
    records = run.records()
    done = {r["shard"] for r in records}
    missing = sorted(set(range(config.shard_count())) - done)
    totals: dict[str, Counter[str]] = {
        k: Counter() for k in ("reasons", "tokens", "operations", "tasks")
    }
    usage = Usage()
    for r in records:
        for k in totals:
            totals[k].update(r.get(k, {}))
        usage.add(Usage(**r.get("usage", {})))
    samples = sum(r["samples"] for r in records)
    kept = sum(r["kept"] for r in records)
    work_seconds = sum(r["seconds"] for r in records)
    vocab = load_vocabulary(config)
    manifest = {
        "run_id": config.resolved_run_id(),
        "atlas_data_version": __version__,
        "complete": not missing,
        "missing_shards": missing,
        "config": {
            **asdict(config),
            **{k: config.identity()[k] for k in ("source_options", "teacher_options")},
        },
        "preset": config.preset,
        "teacher": config.identity()["teacher_identity"],
        "vocabulary": vocab.to_json(),
        "vocab_hash": vocab.hash,
        "schema_version": SCHEMA_VERSION,
        "schemas": {k: schema_hash(s) for k, s in ROW_SCHEMAS.items()},
        "counts": {
            "samples": samples,
            "kept": kept,
            "rejected": samples - kept,
            "kept_fraction": round(kept / samples, 4) if samples else 0.0,
            "rejected_by_reason": dict(sorted(totals["reasons"].items())),
            "tokens": dict(totals["tokens"]),
            "operations": dict(totals["operations"]),
            "tasks": dict(sorted(totals["tasks"].items())),
        },
        "teacher_usage": usage.to_json(),
        "timing": {
            "shard_seconds": round(work_seconds, 3),
            "wall_seconds": round(wall_seconds, 3) if wall_seconds is not None else None,
            "samples_this_run": samples_this_run,
            "samples_per_second": round(samples_this_run / wall_seconds, 3)
            if wall_seconds and samples_this_run
            else None,
        },
        "files": sorted(str(p.relative_to(run.root)) for p in run.parquet_files()),
    }
    run.write_manifest(manifest)
    return manifest


def predecessor_keys(records: Iterable[dict[str, Any]], index: int) -> set[str]:
    """Dedup keys kept by finished shards before ``index``: the ``seen`` to give shard ``index``.

    Only earlier shards count, so processing shards concurrently can keep a cross-shard
    duplicate too often (when a predecessor was not finished yet) but never too rarely.
    :func:`shards_to_redo` finds and repairs the first case.
    """
    return {k for r in records if r["shard"] < index for k in r.get("keys", [])}


def shards_to_redo(records: Iterable[dict[str, Any]]) -> list[int]:
    """Shards that kept a key an earlier shard also kept: redo them with all predecessors done.

    A shard's kept keys are its own first occurrences minus its ``seen`` (the duplicate
    check is the last verifier), so the union of the keys of shards ``< k`` equals the
    library path's ``seen`` for shard ``k`` whatever order shards finished in, and redoing
    only these shards with :func:`predecessor_keys` (in any order, in parallel) gives
    exactly the rows of the sequential :func:`run`.
    """
    earlier: set[str] = set()
    redo: list[int] = []
    for r in sorted(records, key=lambda r: r["shard"]):
        keys = set(r.get("keys", []))
        if keys & earlier:
            redo.append(r["shard"])
        earlier |= keys
    return redo


def run(
    config: RunConfig,
    on_item: Callable[[], None] | None = None,
    on_shard: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) every shard in order, then write the manifest. Returns it."""
    run_dir = config.run_dir()
    run_dir.root.mkdir(parents=True, exist_ok=True)
    run_dir.clean_temporaries()
    t0 = time.perf_counter()
    records = run_dir.records()
    source = build_source(config)  # once: a questions file or dataset is opened once per run
    processed = 0
    for index in range(config.shard_count()):
        start, stop = shard_bounds(config, index)
        if run_dir.is_done(index):
            if on_item:
                for _ in range(stop - start):
                    on_item()
            continue
        # Only earlier shards count as seen, as in the flow: a run resumed here after a
        # flow run (or the reverse) keeps exactly the same rows.
        seen = predecessor_keys(records, index)
        record = process_shard(config, index, seen, on_item, source=source)
        records.append(record)
        processed += record["samples"]
        if on_shard:
            on_shard(record)
    for index in shards_to_redo(records):  # only after a concurrent (flow) run was cut short
        record = process_shard(config, index, predecessor_keys(records, index), source=source)
        records = [r for r in records if r["shard"] != index] + [record]
    return finalize(config, time.perf_counter() - t0, processed)
