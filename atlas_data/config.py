"""Every run option, declared once: its default, its help text and its role.

The CLI's ``run`` options (:mod:`atlas_data.cli`) and the Prefect flow's parameters
(``flows/synth.py``) are generated from :class:`RunConfig`'s fields, and the manifest
records :meth:`RunConfig.public` — so an option added here exists everywhere, and one
cannot be added anywhere else. A role says what an option changes:

- ``rows``: the rows a run writes. Part of the run's identity (its id hash): a rerun with
  a different value is a different run, not a resumed one.
- ``where``: only where the output goes or how it is named. Not part of the identity.

Secrets are never written down: an option *key* inside ``source_options`` or
``teacher_options`` whose name holds a secret word (``api_key``, ``auth_token``, not
``max_tokens``) is dropped from the identity, the manifest and the dataset card alike.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

Role = Literal["rows", "where"]

SPLITS = ("sft", "rl", "both")
TEACHER_BATCH = ("off", "api", "file")
IMAGE_FORMATS = ("auto", "png", "jpeg", "webp")
# The output format presets by name (atlas_data.trajectory.formats implements each one and
# checks, when imported, that it implements exactly these): --preset is checked here.
PRESET_NAMES = ("atlas", "think-answer")
DEFAULT_BUDGET_SIDE = 1024  # the trainee's view: longest side in px (Qwen2.5-VL-like budget)
# Glyph height (px, at the budget) below which the trainee cannot read text or make out a
# detail: Qwen2-VL-style encoders see 14 px patches; text under ~10 px is guesswork there.
DEFAULT_READING_PX = 10.0
DEFAULT_MAX_PIXELS = 64_000_000  # ~8000x8000: past this an image is refused, not decoded
DEFAULT_SHARD_SIZE = 64  # a shard is seconds of work; orchestration per shard is ~50 ms
DEFAULT_OUT = "data/runs"

SECRET_WORDS = frozenset(
    {"key", "apikey", "token", "secret", "password", "auth", "authorization", "credential"}
)


def is_secret(option: str) -> bool:
    """Whether an option name holds a secret (``api_key``, ``auth_token``; not ``max_tokens``)."""
    return any(w in SECRET_WORDS for w in re.split(r"[^a-z0-9]+", option.lower()))


def without_secrets(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if not is_secret(k)}


def check_keys(given: Mapping[str, Any], known: list[str] | tuple[str, ...], what: str) -> None:
    """Unknown keys are an error that names the known ones (a misspelling never goes unseen)."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; known: {', '.join(known)}")


# A zoom must show the evidence at least this much larger at the budget than the canvas
# did: a zoom that crosses the reading size by a hair is a coin toss, not a reading aid.
ZOOM_GAIN = 1.25


@dataclass(frozen=True)
class Legibility:
    """The one legibility rule's verdict on a piece of evidence (glyphs, a detail): how tall
    it is at the budget on the canvas (``before``) and in a zoom's result (``after``; equal
    to ``before`` when no zoom is asked about), both in budget pixels."""

    before: float
    after: float
    reading_px: float

    @property
    def legible(self) -> bool:
        """Legible as it is: at least the reading size at the budget. A zoom gains nothing."""
        return self.before >= self.reading_px

    @property
    def lifted(self) -> bool:
        """The zoom makes it legible: from below the reading size to at least it, and at
        least :data:`ZOOM_GAIN` times larger than before."""
        return (
            not self.legible
            and self.after >= self.reading_px
            and self.after >= self.before * ZOOM_GAIN
        )


@dataclass(frozen=True)
class Budget:
    """The trainee's view, the one number the method rests on: an image is seen with its
    longest side at ``side`` px, and glyphs under ``reading_px`` (at that size) are not
    read. Judges, proposers, the zoom factors of every source, the teacher's and model
    judges' images and the exports' default image fit all follow it. It is built once, by
    :meth:`RunConfig.budget`, and passed: no consumer has a default of its own."""

    side: int
    reading_px: float

    def scale(self, size: tuple[int, int]) -> float:
        """How much an image of ``size`` shrinks when shown within the budget."""
        return min(1.0, self.side / max(size))

    def legibility(
        self, px: float, size: tuple[int, int], zoomed: float | None = None
    ) -> Legibility:
        """The legibility rule for evidence ``px`` pixels tall on a canvas of ``size``, and,
        given ``zoomed`` (budget pixels per canvas pixel in a zoom's result:
        :func:`atlas_data.ops.zoom.zoom_scale`), whether that zoom makes it legible. The
        zoom's ``match`` and the OCR judge both rule with it."""
        before = px * self.scale(size)
        return Legibility(before, before if zoomed is None else px * zoomed, self.reading_px)


def option(
    default: Any,
    help: str,
    role: Role = "rows",
    *,
    flag: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Any:
    """A :class:`RunConfig` field with its help text, role, (optional) CLI flag name and old
    spellings still accepted (``aliases``)."""
    meta = {"help": help, "role": role, "flag": flag, "aliases": aliases}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run. Equal configs give equal run ids and equal rows."""

    split: str = option("sft", "Which split to write: sft, rl or both.")
    source: str = option("synthetic", "Source adapter: synthetic (embedded default), local or hf.")
    source_options: dict[str, Any] = option(
        {}, "Source option key=value (repeatable), e.g. families=small_text.", flag="source-opt"
    )
    n: int | None = option(
        None,
        "Samples to take. Default: every record of a local or hf source; 200 synthetic ones.",
    )
    seed: int = option(0, "Seed for the synthetic source and the proposals.")
    teacher: str = option(
        "template", "Teacher: template (offline) or openai (any compatible endpoint)."
    )
    teacher_options: dict[str, Any] = option(
        {}, "Teacher option key=value (repeatable), e.g. temperature=0.2.", flag="teacher-opt"
    )
    judges: list[str] | None = option(
        None,
        "Judge (repeatable; all that speak must agree). `atlas-data judges` lists them and "
        "the defaults.",
        flag="judge",
    )
    proposers: list[str] | None = option(
        None,
        "Proposer: where to look (repeatable). `atlas-data judges` lists them and the "
        "defaults of each source.",
        flag="proposer",
    )
    reading_px: float = option(
        DEFAULT_READING_PX,
        "Glyph height (px, at the budget) the trainee reads: a zoom helps only when it lifts "
        "the evidence from below this to above it.",
    )
    decontaminate: list[str] = option(
        [],
        "A benchmark to keep out of the data (repeatable): a folder of its images, or "
        "Parquet/CSV/TSV/JSONL or a saved or hub dataset with an image (and question) "
        "column. A sample whose image is a near-duplicate of one is rejected: contaminated.",
        flag="decontaminate",
    )
    decontaminate_questions: bool = option(
        False, "Also reject a sample whose question is a benchmark's (its word trigrams)."
    )
    dedup_bits: int = option(
        12,
        "Near-duplicate threshold: two images are the same picture when their perceptual "
        "hashes differ by at most this many of 64 bits (measured: BENCHMARKS.md).",
    )
    direct_share: float = option(
        0.15,
        "Share of kept trajectories that may be direct answers (no token) when no operation "
        "helps and a judge verified the answer without one.",
    )
    judge_model: str | None = option(
        None, "Model the flip judge asks (default: the teacher's --model, same endpoint)."
    )
    budget_side: int = option(
        DEFAULT_BUDGET_SIDE,
        "The trainee's pixel budget: the longest side at which judges, the teacher and model "
        "judges see images, at which sources size their zooms, and to which exports fit "
        "images. (Old spelling: --judge-max-side.)",
        aliases=("judge_max_side",),
    )
    teacher_batch: str = option(
        "off",
        "How teacher requests are sent: off (live), api (the OpenAI Batch API: half price, "
        "within 24 h; the run waits, and a rerun resumes its batches) or file (one "
        "requests.jsonl for `vllm run-batch`; the run stops, and finishes once its "
        "results.jsonl is there). docs/teachers.md.",
        "where",
    )
    price_in: float | None = option(
        None,
        "USD per million input tokens, for every model (default: the genai-prices table; "
        "needed for local models). The Batch API's discount is applied on top.",
        "where",
    )
    price_out: float | None = option(
        None, "USD per million output tokens (with --price-in).", "where"
    )
    max_cost: float | None = option(
        None,
        "Stop cleanly once the run has spent this many USD (requests in flight finish); "
        "a rerun with a higher cap resumes.",
        "where",
    )
    preset: str = option("atlas", "Output format preset: atlas or think-answer.")
    vocab_path: str | None = option(
        None, "A vocabulary JSON file (default: the paper's five tokens).", flag="vocab"
    )
    image_format: str = option(
        "auto",
        "How stored images are encoded: auto (measured per image: textured or photographic "
        "content, and results on a JPEG source, as JPEG q95; flat charts and diagrams as "
        "PNG), png (all lossless: slower and larger), jpeg or webp. A source image that "
        "already is an upright JPEG, PNG or WebP is stored as given.",
    )
    max_pixels: int = option(
        DEFAULT_MAX_PIXELS, "Refuse (as a rejection row) images with more pixels than this."
    )
    shard_size: int = option(DEFAULT_SHARD_SIZE, "Samples per Parquet shard.")
    out: str = option(
        DEFAULT_OUT,
        "Folder that holds run folders, or an object-store URL: s3://bucket/runs, gs://..., "
        "az://..., file://... (credentials: the store's own, e.g. the AWS_* variables).",
        "where",
    )
    storage_options: dict[str, Any] = option(
        {},
        "Option key=value for --out's fsspec filesystem (repeatable), e.g. anon=false.",
        "where",
        flag="storage-opt",
    )
    workers: int | None = option(
        None,
        "Worker processes the shards run on (a local Dask cluster; each has its own OCR "
        "engine). Default: every core this process may use, cgroup limits included. 1: "
        "in this process. Rows do not depend on it.",
        "where",
    )
    run_id: str | None = option(
        None, "Run folder name (default: source, split and a hash of the config).", "where"
    )

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.n is not None and self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        if not 0 <= self.dedup_bits <= 32:
            raise ValueError(f"dedup_bits must be in [0, 32], got {self.dedup_bits}")
        for name in ("shard_size", "budget_side", "max_pixels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.judges is not None and not self.judges:
            raise ValueError("at least one judge is needed: --judge annotation, ocr or flip")
        if not 0.0 <= self.direct_share <= 1.0:
            raise ValueError(f"direct_share must be in [0, 1], got {self.direct_share}")
        if self.reading_px <= 0:
            raise ValueError(f"reading_px must be positive, got {self.reading_px}")
        if self.preset not in PRESET_NAMES:
            raise ValueError(
                f"unknown format preset {self.preset!r}; choose one of {list(PRESET_NAMES)}"
            )
        if self.image_format not in IMAGE_FORMATS:
            raise ValueError(f"image_format must be one of {IMAGE_FORMATS}: {self.image_format!r}")
        if self.teacher_batch not in TEACHER_BATCH:
            raise ValueError(
                f"teacher_batch must be one of {TEACHER_BATCH}: {self.teacher_batch!r}"
            )
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.max_cost is not None and self.max_cost <= 0:
            raise ValueError(f"max_cost must be positive, got {self.max_cost}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RunConfig:
        """A config from a parameter mapping (a deployment's, a manifest's); unknown keys are
        an error that names the known ones, so a misspelt ``--param`` never goes unseen."""
        given = dict(params)
        for name, old in ((o.name, a) for o in options() for a in o.aliases):
            if old in given:
                value = given.pop(old)
                if given.setdefault(name, value) != value:
                    raise ValueError(f"{old} is the old spelling of {name}: give one of them")
        check_keys(given, option_names(), "run option")
        return cls(**given)

    def budget(self) -> Budget:
        """The trainee's view, as every stage reads it."""
        return Budget(self.budget_side, self.reading_px)

    def rows_identity(self) -> dict[str, Any]:
        """The options that change the rows, secrets removed (the run id hashes these plus
        what the teacher and vocabulary say they are)."""
        ident = {f.name: getattr(self, f.name) for f in fields(self) if role(f.name) == "rows"}
        ident["source_options"] = without_secrets(self.source_options)
        # The teacher's own description stands for its options (RunPlan adds it): speed
        # and cache settings change no row, so changing them resumes the same run.
        del ident["teacher_options"]
        return ident

    def public(self) -> dict[str, Any]:
        """Every option as the manifest records it: no secret ever."""
        doc = asdict(self)
        doc["source_options"] = without_secrets(self.source_options)
        doc["teacher_options"] = without_secrets(self.teacher_options)
        doc["storage_options"] = without_secrets(self.storage_options)
        return json.loads(json.dumps(doc, default=str))

    def kinds(self) -> tuple[str, ...]:
        return ("sft", "rl") if self.split == "both" else (self.split,)


def option_names() -> list[str]:
    return [f.name for f in fields(RunConfig)]


def role(name: str) -> Role:
    role: Role = RunConfig.__dataclass_fields__[name].metadata["role"]
    return role


@dataclass(frozen=True)
class OptionInfo:
    """What a front end (CLI, flow) needs to expose one option."""

    name: str
    default: Any
    annotation: Any
    help: str
    flag: str
    aliases: tuple[str, ...] = ()


def options() -> list[OptionInfo]:
    """Every :class:`RunConfig` option, in declaration order."""
    hints = typing.get_type_hints(RunConfig)
    out = []
    for f in fields(RunConfig):
        default = f.default_factory() if callable(f.default_factory) else f.default
        flag = f.metadata["flag"] or f.name.replace("_", "-")
        info = OptionInfo(f.name, default, hints[f.name], f.metadata["help"], flag)
        out.append(replace(info, aliases=f.metadata["aliases"]))
    return out


@dataclass(frozen=True)
class Shortcut:
    """A CLI convenience flag that sets one key of ``source_options`` or ``teacher_options``."""

    flag: str
    into: Literal["source_options", "teacher_options"]
    key: str
    help: str


SHORTCUTS = (
    Shortcut("dataset", "source_options", "dataset", "--source hf: hub name, folder or Parquet."),
    Shortcut("hf-split", "source_options", "split", "--source hf: dataset split."),
    Shortcut("hf-config", "source_options", "config", "--source hf: dataset config."),
    Shortcut("map", "source_options", "map", "Column map, e.g. image=img,question=query,bbox=box."),
    Shortcut(
        "data-preset",
        "source_options",
        "preset",
        "A public dataset's schema instead of a --map (`atlas-data presets` lists them).",
    ),
    Shortcut("root", "source_options", "root", "--source local: the image folder."),
    Shortcut("questions", "source_options", "questions", "--source local: JSONL/CSV/Parquet."),
    Shortcut("model", "teacher_options", "model", "Teacher model name (--teacher openai)."),
    Shortcut("base-url", "teacher_options", "base_url", "OpenAI-compatible base URL (…/v1)."),
    Shortcut(
        "teacher-concurrency", "teacher_options", "concurrency", "Concurrent teacher requests."
    ),
    Shortcut("cache-dir", "teacher_options", "cache_dir", "Teacher response cache folder."),
)
