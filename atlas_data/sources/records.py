"""Turning one record of a real dataset (HF row, JSONL line, CSV row) into a source item.

Both real-data adapters (``hf`` and ``local``) read records of the same shape: an image,
a question, an answer, optional choices and optional boxes. This module holds what they
share: column mapping and presets, box conventions, multiple-choice normalisation,
annotation ``needs`` built from boxes, and the checks on image *files* that the decoder in
:mod:`atlas_data.ops.image_io` does not make (animation, a lying extension, policy on
CMYK and 16-bit). Every problem becomes a :class:`SourceRejection` with a stable reason;
nothing here raises on bad data.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from atlas_data.config import check_keys
from atlas_data.ops.image_io import EXIF_ORIENTATION
from atlas_data.ops.spec import Need
from atlas_data.rejections import Rejection
from atlas_data.sources.base import SourceItem, SourceRejection, SourceSample, content_id
from atlas_data.sources.intent import intent_of
from atlas_data.sources.needs import Annotations, Mark, annotated_needs
from atlas_data.sources.presets import Preset, preset

FIELDS = ("image", "question", "answer", "choices", "bbox", "points", "objects", "task")
REQUIRED = ("image", "question", "answer")

# Column names tried, in order, when a field is not mapped explicitly.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "image": ("image", "img", "images", "image_path", "image_file", "file_name", "path"),
    "question": ("question", "query", "prompt", "problem", "instruction"),
    "answer": ("answer", "label", "gt_answer", "solution", "answers", "target"),
    "choices": ("choices", "options", "candidates"),
    "bbox": ("bbox", "box", "boxes", "bboxes", "target_box", "target_bbox"),
    "points": ("points", "point", "keypoints", "coords", "coordinates"),
    "objects": ("objects", "distractors"),
    "task": ("task", "category", "type"),
}

# Layout presets: the fields a layout must have, on top of auto-detected column names.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "auto": (),
    "vqa": ("image", "question", "answer"),
    "mc": ("image", "question", "answer", "choices"),
    "grounded": ("image", "question", "answer", "bbox"),
}

# xyxy_square_norm: 0-1 on the image padded (centred) to a square, as LLaVA-style sets do
BBOX_FORMATS = ("xyxy", "xywh", "xyxy_norm", "xywh_norm", "cxcywh_norm", "xyxy_square_norm")
BBOX_OPS = ("zoom", "box")
# Points in source pixels (default), normalised to [0, 1], or in percent of width and
# height (PixMo-Points).
POINT_FORMATS = {"xy": 1.0, "xy_norm": 1.0, "xy_percent": 100.0}
MAX_POINTS = 256  # point_mark's own limit

# What an extension promises. MPO is how PIL names many phone JPEGs (a JPEG + preview).
EXTENSION_FORMATS: dict[str, frozenset[str]] = {
    ".jpg": frozenset({"JPEG", "MPO"}),
    ".jpeg": frozenset({"JPEG", "MPO"}),
    ".jpe": frozenset({"JPEG", "MPO"}),
    ".jfif": frozenset({"JPEG", "MPO"}),
    ".png": frozenset({"PNG"}),
    ".gif": frozenset({"GIF"}),
    ".webp": frozenset({"WEBP"}),
    ".bmp": frozenset({"BMP", "DIB"}),
    ".tif": frozenset({"TIFF"}),
    ".tiff": frozenset({"TIFF"}),
    ".ppm": frozenset({"PPM"}),
    ".pgm": frozenset({"PPM"}),
    ".pbm": frozenset({"PPM"}),
    ".pnm": frozenset({"PPM"}),
}
HIGH_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_NEEDS = 4
_LETTER_PREFIX = re.compile(r"^\s*\(?([A-Za-z])\s*[.):]\s*")


def _choice(value: Any, name: str, allowed: Sequence[str]) -> str:
    v = str(value)
    if v not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return v


def flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class ImagePolicy:
    """What to do with image files that decode but are unusual. Defaults are documented in
    docs/sources-and-exports.md: refuse what needs a guess (which frame? which format?),
    convert what has one right answer (CMYK, 16-bit → 8-bit RGB)."""

    animated: str = "reject"  # reject | first_frame
    wrong_extension: str = "reject"  # reject | accept
    cmyk: str = "convert"  # convert | reject
    high_bit_depth: str = "convert"  # convert | reject
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> ImagePolicy:
        return cls(
            animated=_choice(opts.pop("animated", "reject"), "animated", ("reject", "first_frame")),
            wrong_extension=_choice(
                opts.pop("wrong_extension", "reject"), "wrong_extension", ("reject", "accept")
            ),
            cmyk=_choice(opts.pop("cmyk", "convert"), "cmyk", ("convert", "reject")),
            high_bit_depth=_choice(
                opts.pop("high_bit_depth", "convert"), "high_bit_depth", ("convert", "reject")
            ),
            max_file_bytes=int(opts.pop("max_file_bytes", DEFAULT_MAX_FILE_BYTES)),
        )


RECORD_OPTIONS = (
    "map", "layout", "preset", "bbox_format", "bbox_op", "point_format", "task", "name",
)  # fmt: skip


@dataclass(frozen=True)
class RecordOptions:
    """What every record source (local, hf) is told about its records: the column map
    and layout, box format and operation, task, label and image policy."""

    columns: dict[str, str] = field(default_factory=dict)
    layout: str = "auto"
    preset: Preset | None = None
    bbox_format: str = "xyxy"
    bbox_op: str = "zoom"
    point_format: str = "xy"
    task: str | None = None
    label: str | None = None
    policy: ImagePolicy = field(default_factory=ImagePolicy)

    def adapter(self, names: Sequence[str], source: str, read_image: ImageReader) -> RecordAdapter:
        """The adapter for records with these column ``names``, named ``source``. A preset
        turns each row into the record fields itself: its names need no resolving."""
        columns = (
            {f: f for f in FIELDS}
            if self.preset
            else resolve_columns(list(names), self.columns, self.layout)
        )
        if self.preset and self.preset.image_column not in names:
            raise ValueError(
                f"preset {self.preset.name} reads the image from {self.preset.image_column!r}, "
                f"which the data lacks (columns: {sorted(names)}): is it {self.preset.dataset}?"
            )
        return RecordAdapter(
            columns=columns,
            preset=self.preset,
            source=source,
            read_image=read_image,
            policy=self.policy,
            bbox_format=self.bbox_format,
            bbox_op=self.bbox_op,
            point_format=self.point_format,
            task=self.task,
        )

    def image_column(self, adapter: RecordAdapter) -> str:
        """The dataset's own column that holds the image."""
        return self.preset.image_column if self.preset else adapter.columns["image"]

    def describe(self, adapter: RecordAdapter) -> dict[str, Any]:
        return {
            "columns": adapter.columns,
            "layout": self.layout,
            "preset": self.preset.name if self.preset else None,
            "bbox_format": self.bbox_format,
            "bbox_op": self.bbox_op,
            "point_format": self.point_format,
            "policy": vars(self.policy),
        }


def record_options(
    options: Mapping[str, Any], own: Sequence[str], what: str
) -> tuple[dict[str, Any], RecordOptions]:
    """A record source's options split into its own and the shared ones. Unknown keys are
    an error that names the known ones."""
    opts = dict(options)
    policy = ImagePolicy.from_options(opts)
    check_keys(opts, (*own, *RECORD_OPTIONS), f"{what} source option")
    chosen = preset(str(opts["preset"])) if opts.get("preset") else None
    if chosen and opts.get("map"):
        raise ValueError(f"preset {chosen.name} maps the columns itself: drop --map")
    shared = RecordOptions(
        columns=parse_map(opts.get("map")),
        layout=str(opts.get("layout", "auto")),
        preset=chosen,
        bbox_format=str(opts.get("bbox_format") or (chosen.bbox_format if chosen else "xyxy")),
        bbox_op=str(opts.get("bbox_op", "zoom")),
        point_format=str(opts.get("point_format") or (chosen.point_format if chosen else "xy")),
        task=str(opts["task"]) if opts.get("task") else None,
        label=str(opts["name"]) if opts.get("name") else None,
        policy=policy,
    )
    return {k: opts[k] for k in own if k in opts}, shared


def probe_image(data: bytes, name: str, policy: ImagePolicy) -> Rejection | None:
    """File-level checks before decoding. ``None`` also when the header does not parse:
    the pipeline's decoder then names the precise problem (corrupt, not an image, bomb)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
            fmt, mode = img.format or "", img.mode
            frames = int(getattr(img, "n_frames", 1))
    except Exception:  # noqa: BLE001 - the decoder reports it with a specific reason
        return None
    ext = Path(name).suffix.lower() if name else ""
    if ext and policy.wrong_extension == "reject" and fmt not in EXTENSION_FORMATS.get(ext, ()):
        return Rejection("wrong_extension", f"{name!r} holds a {fmt or 'unknown'} image")
    if frames > 1 and fmt != "MPO" and policy.animated == "reject":
        return Rejection(
            "animated_image",
            f"{fmt} with {frames} frames; pass animated=first_frame to use the first frame",
        )
    if mode == "CMYK" and policy.cmyk == "reject":
        return Rejection("cmyk_image", "CMYK image refused by cmyk=reject")
    if mode in HIGH_BIT_MODES and policy.high_bit_depth == "reject":
        return Rejection("high_bit_depth", f"{mode} image refused by high_bit_depth=reject")
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """The size as displayed: boxes are drawn on the upright image, after EXIF rotation."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if img.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):  # quarter turns
                w, h = h, w
    except Exception:  # noqa: BLE001 - the decoder reports it
        return None
    return (w, h) if w > 0 and h > 0 else None


# ------------------------------------------------------------------ columns


def parse_map(value: Any) -> dict[str, str]:
    """``image=img,question=query`` (or a dict) → ``{"image": "img", ...}``."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        pairs = []
        for part in str(value).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ValueError(f"map entry {part!r} must look like field=column")
            k, v = part.split("=", 1)
            pairs.append((k.strip(), v.strip()))
    unknown = [k for k, _ in pairs if k not in FIELDS]
    if unknown:
        raise ValueError(f"map names unknown field(s) {unknown}; fields are {list(FIELDS)}")
    return dict(pairs)


def resolve_columns(
    available: Sequence[str], explicit: dict[str, str], layout: str
) -> dict[str, str]:
    """Field → column: explicit map first, then the first candidate name present."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}")
    cols = set(available)
    missing_mapped = {f: c for f, c in explicit.items() if c not in cols}
    if missing_mapped:
        raise ValueError(
            f"mapped column(s) {missing_mapped} not in the data; columns are {sorted(cols)}"
        )
    out = dict(explicit)
    for f in FIELDS:
        if f not in out:
            found = next((c for c in CANDIDATES[f] if c in cols and c not in out.values()), None)
            if found:
                out[f] = found
    need = set(REQUIRED) | set(LAYOUTS[layout])
    lacking = sorted(need - set(out))
    if lacking:
        raise ValueError(
            f"no column for {lacking}; columns are {sorted(cols)}. "
            f"Map them, e.g. map={','.join(f'{f}=COLUMN' for f in lacking)}"
        )
    return out


# ------------------------------------------------------------------ values


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _numbers(value: Any) -> list[float]:
    value = _maybe_json(value)
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value.strip()) if v]
    if isinstance(value, Mapping):
        raise Rejection("bad_bbox", f"a box must be 4 numbers, got an object {value!r}")
    try:
        nums = [float(v) for v in value]
    except (TypeError, ValueError) as exc:
        raise Rejection("bad_bbox", f"a box must be 4 numbers, got {value!r}") from exc
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        raise Rejection("bad_bbox", f"a box must be 4 finite numbers, got {value!r}")
    return nums


def box_list(value: Any) -> list[list[float]]:
    """One box or a list of boxes → list of 4-number lists (empty when absent)."""
    value = _maybe_json(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if (
        isinstance(value, (list, tuple))
        and value
        and isinstance(_maybe_json(value[0]), (list, tuple))
    ):
        return [_numbers(v) for v in value]
    if isinstance(value, (list, tuple)) and not value:
        return []
    return [_numbers(value)]


def to_xyxy(b: Sequence[float], fmt: str, size: tuple[int, int]) -> list[int]:
    """Convert a box to integer source-pixel ``[x0, y0, x1, y1]``, clamped to the image."""
    w, h = size
    if fmt.endswith("_norm") and max(abs(v) for v in b) > 1.0 + 1e-6:
        raise Rejection(
            "bad_bbox", f"box {list(b)} is not normalised to [0, 1]; is bbox_format right?"
        )
    if fmt == "xyxy":
        x0, y0, x1, y1 = b
    elif fmt == "xywh":
        x0, y0, x1, y1 = b[0], b[1], b[0] + b[2], b[1] + b[3]
    elif fmt == "xyxy_norm":
        x0, y0, x1, y1 = b[0] * w, b[1] * h, b[2] * w, b[3] * h
    elif fmt == "xywh_norm":
        x0, y0, x1, y1 = b[0] * w, b[1] * h, (b[0] + b[2]) * w, (b[1] + b[3]) * h
    elif fmt == "xyxy_square_norm":  # the shorter side was padded by half the difference
        side = max(w, h)
        dx, dy = (h - w) // 2 if h > w else 0, (w - h) // 2 if w > h else 0
        x0, y0, x1, y1 = b[0] * side - dx, b[1] * side - dy, b[2] * side - dx, b[3] * side - dy
    else:  # cxcywh_norm (YOLO)
        x0, y0 = (b[0] - b[2] / 2) * w, (b[1] - b[3] / 2) * h
        x1, y1 = (b[0] + b[2] / 2) * w, (b[1] + b[3] / 2) * h
    if x1 <= x0 or y1 <= y0:
        raise Rejection("bad_bbox", f"box {list(b)} ({fmt}) has no area; is bbox_format right?")
    box = [
        round(min(max(x0, 0), w)),
        round(min(max(y0, 0), h)),
        round(min(max(x1, 0), w)),
        round(min(max(y1, 0), h)),
    ]
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        raise Rejection("bad_bbox", f"box {list(b)} ({fmt}) lies outside the {w}x{h} image")
    return box


def _point(value: Any, scale: float, size: tuple[int, int], k: int) -> Mark:
    """One point: ``[x, y]``, ``[x, y, label]`` or ``{"x", "y", "label"}``, in pixels after
    dividing by ``scale`` (1, or 100 for percent) and multiplying normalised ones out."""
    label: Any = ""
    if isinstance(value, Mapping):
        x, y, label = value.get("x"), value.get("y"), value.get("label") or ""
    elif isinstance(value, (list, tuple)) and len(value) in (2, 3):
        x, y = value[0], value[1]
        label = value[2] if len(value) == 3 else ""
    else:
        raise Rejection("bad_points", f"point {k} must be [x, y] or {{x, y}}, got {value!r}")
    try:
        fx, fy = float(x), float(y)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise Rejection("bad_points", f"point {k} has no numeric x and y: {value!r}") from exc
    if not (math.isfinite(fx) and math.isfinite(fy)):
        raise Rejection("bad_points", f"point {k} is not finite: {value!r}")
    return Mark(fx / scale, fy / scale, str(label))


def point_list(value: Any, fmt: str, size: tuple[int, int]) -> list[Mark]:
    """A record's points in source pixels: a list of points, or ``{label: [x, y]}``; a
    malformed, non-finite or off-image point refuses the record (``bad_points``)."""
    value = _maybe_json(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, Mapping) and not {"x", "y"} <= set(value):
        value = [
            [*v[:2], k] if isinstance(v, (list, tuple)) else {**v, "label": k}
            for k, v in value.items()
        ]
    elif isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise Rejection("bad_points", f"points must be a list of [x, y], got {value!r}")
    if len(value) > MAX_POINTS:
        raise Rejection("bad_points", f"{len(value)} points; at most {MAX_POINTS} per sample")
    w, h = size
    pixels = fmt == "xy"
    out = []
    for k, v in enumerate(value):
        p = _point(_maybe_json(v), POINT_FORMATS[fmt], size, k)
        if not pixels:  # normalised, or percent already divided by 100
            if not (-1e-6 <= p.x <= 1 + 1e-6 and -1e-6 <= p.y <= 1 + 1e-6):
                raise Rejection("bad_points", f"point {k} {v!r} is not within [0, 1] ({fmt})")
            p = Mark(p.x * w, p.y * h, p.label)
        if not (0 <= p.x <= w and 0 <= p.y <= h):
            where = f"lies outside the {w}x{h} image; is point_format right?"
            raise Rejection("bad_points", f"point {k} {v!r} {where}")
        out.append(p)
    return out


def normalize_choices(value: Any) -> list[str] | None:
    """A list, a JSON list, ``a|b|c`` or ``{"A": ..}`` → list of option texts."""
    value = _maybe_json(value)
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = [value[k] for k in sorted(value)]
    elif isinstance(value, str):
        sep = "|" if "|" in value else "\n"
        value = [v for v in value.split(sep) if v.strip()]
    elif not isinstance(value, list | tuple):
        raise Rejection("bad_choices", f"choices must be a list, a mapping or a|b|c, got {value!r}")
    choices = [str(v).strip() for v in value]
    if not choices:
        return None
    letters = [_LETTER_PREFIX.match(c) for c in choices]
    if all(letters) and [m.group(1).upper() for m in letters if m] == [
        chr(65 + i) for i in range(len(choices))
    ]:
        choices = [_LETTER_PREFIX.sub("", c, count=1).strip() for c in choices]
    return choices


AGREEING = 3  # annotators who must give an answer for it to count (VQA accuracy's rule)


def consensus(answers: Sequence[Any]) -> tuple[str, list[str]]:
    """Annotator answers (VQA's ten): the most common (ties: the first given), and every
    answer given by at least :data:`AGREEING` annotators (or by the most, if none is)."""
    given = [str(a).strip() for a in answers if str(a or "").strip()]
    if not given:
        return "", []
    tally = Counter(a.lower() for a in given)
    top = max(tally.values())
    first = {a.lower(): a for a in reversed(given)}  # the first spelling of each
    best = next(a for a in given if tally[a.lower()] == top)
    accepted = [first[a] for a, n in tally.items() if n >= min(AGREEING, top)]
    return best, accepted


def resolve_answer(answer: Any, choices: list[str] | None) -> str:
    """The answer as text; for multiple choice, the text of the right option; for a list of
    annotator answers, their consensus."""
    if isinstance(answer, (list, tuple)):  # e.g. VQA lists of annotator answers
        answer = consensus(answer)[0]
    if not choices:
        return "" if answer is None else str(answer).strip()
    if isinstance(answer, int) and not isinstance(answer, bool):
        if 0 <= answer < len(choices):
            return choices[answer]
        raise Rejection("answer_not_in_choices", f"index {answer} with {len(choices)} choices")
    text = "" if answer is None else str(answer).strip()
    lowered = [c.lower() for c in choices]
    if text.lower() in lowered:
        return choices[lowered.index(text.lower())]
    m = re.fullmatch(r"\(?([A-Za-z])\)?\.?", text)
    if m and ord(m.group(1).upper()) - 65 < len(choices):
        return choices[ord(m.group(1).upper()) - 65]
    if text.isdigit() and int(text) < len(choices):
        return choices[int(text)]
    rest = _LETTER_PREFIX.sub("", text, count=1).strip().lower()  # "(C) text" / "C. text"
    if rest != text.lower() and rest in lowered:
        return choices[lowered.index(rest)]
    raise Rejection("answer_not_in_choices", f"answer {text!r} is none of {choices}")


# ------------------------------------------------------------------ records → items


ImageReader = Callable[[Any], tuple[bytes, str]]


@dataclass
class RecordAdapter:
    """Reads records with a fixed column mapping; one instance per source."""

    columns: dict[str, str]
    source: str
    read_image: ImageReader
    preset: Preset | None = None
    policy: ImagePolicy = field(default_factory=ImagePolicy)
    bbox_format: str = "xyxy"
    bbox_op: str = "zoom"
    point_format: str = "xy"
    task: str | None = None

    def __post_init__(self) -> None:
        _choice(self.bbox_format, "bbox_format", BBOX_FORMATS)
        _choice(self.bbox_op, "bbox_op", BBOX_OPS)
        _choice(self.point_format, "point_format", tuple(POINT_FORMATS))

    def item(self, record: Mapping[str, Any], index: int) -> SourceItem:
        """Never raises on bad data: a record becomes a sample or a rejection."""
        data = b""
        question = ""
        try:
            if self.preset is not None:
                record = self._adapted(record)
            question = str(record.get(self.columns["question"]) or "").strip()
            data, name = self.read_image(record.get(self.columns["image"]))
            return self._sample(record, question, data, name)
        except Rejection as exc:
            digest = hashlib.sha256(data).hexdigest() if data else f"{self.source}#{index}"
            return SourceRejection(
                id=content_id(digest, question),
                rejection=exc.at("load"),
                task=self._task(record, None),
                source=self.source,
                question=question,
            )

    def _adapted(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The row in the record fields, by the preset; a row it cannot read is refused."""
        assert self.preset is not None
        try:
            return self.preset.adapt(record)
        except Rejection:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            detail = f"a {self.preset.name} row must look like {self.preset.dataset}'s: {exc!r}"
            raise Rejection("bad_record", detail[:500]) from exc

    def _task(self, record: Mapping[str, Any], choices: list[str] | None) -> str:
        if self.task:
            return self.task
        col = self.columns.get("task")
        if col and record.get(col):
            return str(record[col])
        return "mc" if choices else "vqa"

    def _sample(
        self, record: Mapping[str, Any], question: str, data: bytes, name: str
    ) -> SourceSample:
        if len(data) > self.policy.max_file_bytes:
            raise Rejection(
                "file_too_large", f"{len(data)} bytes > max_file_bytes={self.policy.max_file_bytes}"
            )
        problem = probe_image(data, name, self.policy)
        if problem:
            raise problem
        choices = (
            normalize_choices(record.get(self.columns["choices"]))
            if "choices" in self.columns
            else None
        )
        raw_answer = record.get(self.columns["answer"])
        answer = resolve_answer(raw_answer, choices)
        accepted = consensus(raw_answer)[1] if isinstance(raw_answer, (list, tuple)) else []
        needs, objects, marked = self._annotations(record, data, question, answer)
        return SourceSample(
            id=content_id(hashlib.sha256(data).hexdigest(), question),
            image=data,
            question=question,
            answer=answer,
            task=self._task(record, choices),
            source=self.source,
            choices=choices,
            annotations=marked,
            accepted=[a for a in accepted if a != answer],
            needs=needs,
            objects=objects,
        )

    def _annotations(
        self, record: Mapping[str, Any], data: bytes, question: str, answer: str
    ) -> tuple[list[Need], list[dict[str, Any]], dict[str, Any]]:
        """Needs from the record's boxes and points and the question's intent, the
        distractor objects, and the annotations in source pixels (kept on the sample)."""
        boxes = box_list(record.get(self.columns["bbox"])) if "bbox" in self.columns else []
        others = box_list(record.get(self.columns["objects"])) if "objects" in self.columns else []
        raw_points = record.get(self.columns["points"]) if "points" in self.columns else None
        size = image_size(data) if boxes or others or raw_points is not None else None
        if size is None:  # nothing to read, or undecodable: the decoder gives the reason
            return [], [], {}
        if len(boxes) > MAX_NEEDS:
            raise Rejection("too_many_boxes", f"{len(boxes)} boxes; at most {MAX_NEEDS} per sample")
        px = [to_xyxy(b, self.bbox_format, size) for b in boxes]
        points = point_list(raw_points, self.point_format, size)
        listed = [to_xyxy(b, self.bbox_format, size) for b in others]
        objects = [{"label": f"region {k}", "box": b} for k, b in enumerate(listed)]
        marked = Annotations(
            size,
            [[float(v) for v in b] for b in px],
            points,
            [[float(v) for v in b] for b in listed] or None,  # none: rivals found in pixels
            answer,
        )
        needs = annotated_needs(marked, intent_of(question), self.bbox_op)
        kept: dict[str, Any] = {"boxes": px} if px else {}
        if points:
            kept["points"] = [{"x": p.x, "y": p.y, "label": p.label} for p in points]
        return needs, objects, kept
