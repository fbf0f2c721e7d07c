"""One sample through explicit stages: load -> filter -> explore -> teach -> verify ->
dedup -> write.

A :class:`Sample` is the one record that flows: each stage takes it and returns it,
enriched, or a :class:`~atlas_data.rejections.Rejection` from the catalogue. Its pixels
are decoded once (``load``) and dropped once its images are encoded (``explore``), so
what waits on the teacher is bytes and images at the teacher's budget. ``dedup`` and
``write`` run in source order (:mod:`atlas_data.run.shard` sees to it): exact and near
duplicates, and the direct-answer share, never depend on which teacher call returned
first. The shard's tallies are read from samples here, never from row dicts.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image

from atlas_data.answers import in_truth_spelling
from atlas_data.config import Budget, RunConfig
from atlas_data.dedup.benchmarks import Decontamination
from atlas_data.dedup.fingerprint import Fingerprint, fingerprint
from atlas_data.dedup.kept import Kept
from atlas_data.explore import build_judges, build_proposers, explore
from atlas_data.llm import Deferred, RunStopped
from atlas_data.ops.image_io import STORABLE_FORMATS, Storage, downscale_to, load_image
from atlas_data.rejections import Rejection
from atlas_data.sources.base import (
    SourceItem,
    SourceSample,
    check_text,
    images_digest,
    normalize_question,
)
from atlas_data.store.manifest import ShardRecord
from atlas_data.store.rows import image_struct, kept_rows, operation_struct, reject_row
from atlas_data.store.rows import teacher_label as label_of
from atlas_data.store.writer import ShardWriter
from atlas_data.teacher.base import Teacher, TeachRequest, TeachResult
from atlas_data.tokens import Vocabulary
from atlas_data.trajectory.judgement import ChosenStep
from atlas_data.trajectory.model import Rendered, Step, Trajectory, user_prompt
from atlas_data.trajectory.verify import Candidate, verify


class DeferredSample(Exception):  # noqa: N818 - a signal, not an error
    """A batch pass: the sample's teacher request was spooled; the sample waits for it."""

    def __init__(self, sample: Sample) -> None:
        super().__init__(sample.item.id)
        self.sample = sample


@dataclass
class Sample:
    """One source record on its way to rows (or to one rejection row). A sample shows one
    image or several; every per-image field is a list in the sample's image order."""

    item: SourceSample  # what the source gave; its images are dropped once decoded
    pixels: list[Image.Image] = field(default_factory=list)  # decoded once; dropped by explore
    sha: str = ""  # of the input bytes (or the generated pixels): the exact-duplicate key
    # each input's own bytes, stored as given (``None``: encoded by the run)
    original: list[tuple[bytes, str] | None] = field(default_factory=list)
    fingerprints: list[Fingerprint] = field(default_factory=list)  # near-duplicates, per image
    # explore
    steps: list[ChosenStep] = field(default_factory=list)  # results at the teacher's size
    direct: dict[str, Any] | None = None  # a judge's proof that no operation is needed
    no_help: str = ""  # for a direct answer: why no operation helped
    trail: list[dict[str, Any]] = field(default_factory=list)  # and what was tried
    explored: Counter[str] = field(default_factory=Counter)  # proposer:/judge: tallies
    images: list[dict[str, Any]] = field(default_factory=list)  # the row's image structs
    observations: list[dict[str, Any]] = field(default_factory=list)  # one per step
    operations: list[dict[str, Any]] = field(default_factory=list)  # as rows hold them
    teacher_images: list[Image.Image] = field(default_factory=list)  # at the teacher's budget
    benchmark: str = ""  # the benchmark whose image it is (``filter``)
    # teach
    taught: TeachResult | None = None
    # verify
    trajectory: Trajectory | None = None
    functional: Rendered | None = None
    agentic: Rendered | None = None
    # the stage that refused it, if one did: the rest of the record says what it got to
    rejection: Rejection | None = None

    @property
    def key(self) -> str:
        """Exact duplicates: the same input bytes and the same question."""
        return Kept.key(self.sha, self.item.question)

    @property
    def near_keys(self) -> list[str]:
        """Near duplicates are looked for under the same question and answer (a
        near-identical picture with another answer is another sample), image by image."""
        item = self.item
        key = f"{normalize_question(item.question)}\x00{normalize_question(item.answer)}"
        n = len(self.fingerprints)
        return [key] if n == 1 else [f"{key}\x00{k}/{n}" for k in range(n)]

    def request(self, preset: str) -> TeachRequest:
        item = self.item
        return TeachRequest(
            sample_id=item.id,
            task=item.task,
            question=item.question,
            answer=item.answer,
            choices=item.choices,
            images=self.teacher_images,
            steps=self.steps,
            preset=preset,
            direct=self.direct,
        )


class Stages:
    """The stages of one run's samples, with what they share: the config, the budget, the
    judges and proposers (one set per shard: model clients hold connection pools), the
    benchmarks kept out, and what earlier samples kept."""

    def __init__(
        self,
        config: RunConfig,
        run_id: str,
        vocab: Vocabulary,
        kept: Kept,
        filters: Decontamination | None = None,
    ) -> None:
        self.config, self.run_id, self.vocab = config, run_id, vocab
        self.kinds = config.kinds()
        self.budget = config.budget()
        self.judges = build_judges(config)
        self.proposers = build_proposers(config)
        self.kept = kept
        self.filters = filters
        self.teacher_label = label_of(config.teacher, config.teacher_options)

    # -- load -> filter -> explore: CPU, in a worker thread

    def load(self, item: SourceItem) -> Sample | Rejection:
        """Decode every input once (its own bytes kept when they can be stored as given)."""
        if not isinstance(item, SourceSample):
            return item.rejection
        try:
            check_text(item)
            loaded = [load_image(img, max_pixels=self.config.max_pixels) for img in item.images]
        except Rejection as rejection:
            return rejection.at("load")
        bare = replace(item, image=b"", more_images=[])
        if isinstance(item.image, Image.Image):
            # decoded by its source (a scene, a dataset's image): its id is its digest, and
            # a scene is stored as its camera wrote it, unless every image is to be a PNG
            lossless = self.config.image_format == "png"
            own = (item.encoded, item.encoded_as) if item.encoded and not lossless else None
            if len(loaded) == 1:
                return Sample(bare, [loaded[0].image], item.id, [own])
        originals: list[tuple[bytes, str] | None] = [
            (got.original, STORABLE_FORMATS[got.original_format])
            if got.original is not None and got.original_format
            else None
            for got in loaded
        ]
        if isinstance(item.image, Image.Image):
            originals[0] = own  # Image 1 as its camera wrote it; the others encoded by the run
        sha = images_digest([got.sha256 for got in loaded])
        return Sample(bare, [got.image for got in loaded], sha, originals)

    def filter(self, s: Sample) -> Sample | Rejection:
        """A benchmark's image (any one of the sample's) or question is refused before any
        work is spent on it."""
        s.fingerprints = [fingerprint(img) for img in s.pixels]
        if self.filters is None:
            return s
        for fp in s.fingerprints:
            hit = self.filters.contaminated(fp, s.item.question)
            if hit is not None:
                s.benchmark, why = hit
                return Rejection("contaminated", f"a near-duplicate of {why}", "filter")
        return s

    def explore(self, s: Sample, teacher: Budget | None) -> Sample | Rejection:
        """Find the operations that help (or a judge's proof that none is needed), then
        encode the inputs and the results once and drop the full-size pixels."""
        assert s.pixels
        try:
            found = explore(
                s.item,
                s.pixels,
                self.judges,
                self.vocab,
                self.config.seed,
                self.proposers,
                self.budget,
            )
        except Rejection as exc:  # a model judge's request failed for good
            return exc.at("explore")
        s.explored.update(found.counts)
        refused = found.rejection
        if refused is not None:
            trail = [
                {**t, "token": self.vocab.token_for(t["name"]), "frame": ""} for t in refused.trail
            ]
            if found.direct is None:
                return refused.with_trail(trail)
            s.no_help, s.trail, s.direct = refused.detail, trail, found.direct
        # One measure per image: an input and its operations' results are stored alike.
        several = len(s.pixels) > 1
        stores = []
        for k, (image, own) in enumerate(zip(s.pixels, s.original, strict=True)):
            storage = Storage.measure(image, self.config.image_format, own and own[1])
            data, ext = own or (storage.encode(image), storage.extension)
            name = f"{s.item.id}-{k}.{ext}" if several else f"{s.item.id}.{ext}"
            s.images.append(image_struct(data, name))
            stores.append(storage)
        for k, step in enumerate(found.steps):
            j = step.operation.index
            storage = stores[j]
            on = f"-image{j}" if several else ""
            name = f"{s.item.id}-op{k}{on}.{storage.extension}"
            s.observations.append(image_struct(storage.encode(step.result), name))

        def view(img: Image.Image) -> Image.Image:
            return downscale_to(img, teacher.side) if teacher else img

        s.steps = [replace(step, result=view(step.result)) for step in found.steps]
        s.operations = [operation_struct(step, self.vocab) for step in s.steps]
        s.teacher_images = [view(img) for img in s.pixels] if teacher else []
        s.pixels, s.original = [], []  # the bytes live in ``images`` now
        return s

    def prepare(self, item: SourceItem, teacher: Budget | None) -> Sample | Rejection:
        """load -> filter -> explore, the CPU part before the teacher. A sample refused
        after loading comes back with its :attr:`Sample.rejection` (and what it got to)."""
        s = self.load(item)
        if isinstance(s, Rejection):
            return s
        out = self.filter(s)
        if isinstance(out, Sample):
            out = self.explore(out, teacher)
        if isinstance(out, Rejection):
            s.rejection = out
        return s

    # -- teach: async, on the teacher's connection pool

    async def teach(self, s: Sample, teacher: Teacher) -> Sample:
        """Ask the teacher; a failure is a rejection in :attr:`Sample.taught`, never an
        exception (but a stop of the whole run, or a batch pass deferring the request)."""
        try:
            s.taught = await teacher.teach(s.request(self.config.preset))
        except Deferred:
            raise DeferredSample(s) from None  # answered by a batch; this pass writes nothing
        except RunStopped:
            raise  # wrong URL or model, the cost cap: stop the run with the clear message
        except Exception as exc:  # noqa: BLE001 - a teacher bug must not lose the shard
            s.taught = TeachResult.refused("teacher_error", f"{type(exc).__name__}: {exc}")
        return s

    # -- verify: CPU, in a worker thread

    def verify(self, s: Sample) -> Sample | Rejection:
        """Tokenize the taught trajectory and run every verifier on it."""
        assert s.taught is not None
        r = s.taught.reasoning
        if r is None:
            assert s.taught.rejection is not None
            return s.taught.rejection.with_trail(s.operations)
        if len(r.steps) != len(s.steps):
            detail = f"teacher wrote {len(r.steps)} steps for {len(s.steps)} operations"
            return Rejection("teacher_step_mismatch", detail, "teach", s.operations)
        traj = Trajectory(
            question=s.item.question,
            preamble=r.preamble,
            steps=[
                Step(t.intent, c.operation, t.observation, c.judgement)
                for t, c in zip(r.steps, s.steps, strict=True)
            ],
            conclusion=r.conclusion,
            answer=r.answer,
        )
        item = s.item
        # a right answer is kept in the ground truth's own spelling ("3.0" -> "3", "(B)" -> "B")
        spelled = in_truth_spelling(r.answer, item.answer, item.choices, item.accepted)
        if spelled is not None:
            traj = traj.with_answer(spelled)
        preset = self.config.preset
        functional, agentic = traj.functional(self.vocab, preset), traj.agentic(preset)
        candidate = Candidate(
            traj,
            functional.text,
            agentic.text,
            item.answer,
            self.vocab,
            preset,
            s.direct is not None,
            tuple(item.accepted),
            tuple(item.choices or ()),
        )
        failure = verify(candidate)
        if failure is not None:
            return failure.with_trail(s.operations)
        s.trajectory, s.functional, s.agentic = traj, functional, agentic
        return s

    # -- dedup -> write: in source order

    def dedup(self, s: Sample) -> Sample | Rejection:
        """The same input and question, or the same picture under the same question and
        answer, enters the run once: the first in source order is kept."""
        raw = s.functional.text if s.functional else ""
        if s.key in self.kept.keys:
            detail = "same image and question already kept in this run"
            return Rejection("duplicate", detail, "dedup", s.operations, raw=raw)
        near = [self.kept.near_duplicate_of(k, fp) for k, fp in self._near(s)]
        first = near[0] if near and all(near) else None  # every image the same picture
        if first is not None:
            detail = f"a near-duplicate of sample {first}, kept earlier with this question"
            return Rejection("near_duplicate", detail, "dedup", s.operations, raw=raw)
        return s

    @staticmethod
    def _near(s: Sample) -> list[tuple[str, Fingerprint]]:
        return list(zip(s.near_keys, s.fingerprints, strict=True))

    def over_quota(self, s: Sample, record: ShardRecord) -> Rejection | None:
        """A direct answer past ``--direct-share`` of the shard's kept rows, rounded up: the
        first one in a shard is let in, so a shard does not spend its start refusing them."""
        allowed = math.ceil(self.config.direct_share * (record.kept + 1) - 1e-9)
        if s.direct is None or record.direct + 1 <= allowed:
            return None
        proof = s.direct
        detail = (
            f"{s.no_help}; the {proof.get('judge')} judge verified the answer with no "
            f"operation ({proof.get('seen') or 'no clause'}), but direct answers already "
            f"make up --direct-share {self.config.direct_share} of the shard"
        )
        return Rejection("no_helpful_operation", detail, "explore", s.trail)

    def write(
        self, out: Sample | Rejection, item: SourceItem, writer: ShardWriter, record: ShardRecord
    ) -> None:
        """Dedup, the direct share, then the sample's rows (or its one rejection row), with
        the shard's tallies read from the sample."""
        rejection = out if isinstance(out, Rejection) else out.rejection
        if isinstance(out, Sample):
            record.explored.update(out.explored)
            if out.benchmark:
                record.contaminated[out.benchmark] += 1
            if out.taught is not None:
                record.usage.add(out.taught.usage)
            if rejection is None:
                verdict = self.dedup(out)
                rejection = verdict if isinstance(verdict, Rejection) else None
            if rejection is None:
                rejection = self.over_quota(out, record)
        if rejection is not None:
            writer.add("rejects", reject_row(self.run_id, item, rejection))
            record.reject(rejection.reason)
            return
        assert isinstance(out, Sample)
        self._write_kept(out, writer, record)

    def _write_kept(self, s: Sample, writer: ShardWriter, record: ShardRecord) -> None:
        assert s.trajectory is not None and s.functional is not None and s.images
        assert s.agentic is not None
        item = s.item
        rows = kept_rows(
            self.run_id,
            item,
            self.kinds,
            trajectory=s.trajectory,
            functional=s.functional,
            agentic=s.agentic,
            prompt=user_prompt(item.question, item.choices, self.config.preset, len(s.images)),
            preset=self.config.preset,
            vocab=self.vocab,
            ops=s.operations,
            source_images=s.images,
            observations=s.observations,
            teacher=self.teacher_label,
        )
        for kind, row in rows.items():
            writer.add(kind, row)
        self.kept.add(s.key, self._near(s), item.id)
        record.keys.append(s.key)
        record.near += [Kept.entry(key, fp, item.id) for key, fp in self._near(s)]
        tokens = [span.token for span in s.functional.spans]
        names = [step.operation.name for step in s.trajectory.steps]
        record.keep(item.task, item.source, tokens, names, s.direct is not None)

    def close(self) -> None:
        """Model judges' and proposers' clients: one pool per shard."""
        for part in (*self.judges, *self.proposers):
            close = getattr(part, "close", None)
            if callable(close):
                close()
