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

FIELDS = ("image", "question", "answer", "choices", "bbox", "objects", "task")
REQUIRED = ("image", "question", "answer")

# Column names tried, in order, when a field is not mapped explicitly.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "image": ("image", "img", "images", "image_path", "image_file", "file_name", "path"),
    "question": ("question", "query", "prompt", "problem", "instruction"),
    "answer": ("answer", "label", "gt_answer", "solution", "answers", "target"),
    "choices": ("choices", "options", "candidates"),
    "bbox": ("bbox", "box", "boxes", "bboxes", "target_box", "target_bbox"),
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

BBOX_FORMATS = ("xyxy", "xywh", "xyxy_norm", "xywh_norm", "cxcywh_norm")
BBOX_OPS = ("zoom", "box")

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


RECORD_OPTIONS = ("map", "layout", "bbox_format", "bbox_op", "task", "name")


@dataclass(frozen=True)
class RecordOptions:
    """What every record source (local, hf) is told about its records: the column map
    and layout, box format and operation, task, label and image policy."""

    columns: dict[str, str] = field(default_factory=dict)
    layout: str = "auto"
    bbox_format: str = "xyxy"
    bbox_op: str = "zoom"
    task: str | None = None
    label: str | None = None
    policy: ImagePolicy = field(default_factory=ImagePolicy)

    def adapter(self, names: Sequence[str], source: str, read_image: ImageReader) -> RecordAdapter:
        """The adapter for records with these column ``names``, named ``source``."""
        return RecordAdapter(
            columns=resolve_columns(list(names), self.columns, self.layout),
            source=source,
            read_image=read_image,
            policy=self.policy,
            bbox_format=self.bbox_format,
            bbox_op=self.bbox_op,
            task=self.task,
        )

    def describe(self, adapter: RecordAdapter) -> dict[str, Any]:
        return {
            "columns": adapter.columns,
            "layout": self.layout,
            "bbox_format": self.bbox_format,
            "bbox_op": self.bbox_op,
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
    shared = RecordOptions(
        columns=parse_map(opts.get("map")),
        layout=str(opts.get("layout", "auto")),
        bbox_format=str(opts.get("bbox_format", "xyxy")),
        bbox_op=str(opts.get("bbox_op", "zoom")),
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


def resolve_answer(answer: Any, choices: list[str] | None) -> str:
    """The answer as text; for multiple choice, the text of the right option."""
    if isinstance(answer, (list, tuple)):  # e.g. VQA lists of annotator answers
        answer = answer[0] if answer else ""
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
    policy: ImagePolicy = field(default_factory=ImagePolicy)
    bbox_format: str = "xyxy"
    bbox_op: str = "zoom"
    task: str | None = None

    def __post_init__(self) -> None:
        _choice(self.bbox_format, "bbox_format", BBOX_FORMATS)
        _choice(self.bbox_op, "bbox_op", BBOX_OPS)

    def item(self, record: Mapping[str, Any], index: int) -> SourceItem:
        """Never raises on bad data: a record becomes a sample or a rejection."""
        question = str(record.get(self.columns["question"]) or "").strip()
        data = b""
        try:
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
        answer = resolve_answer(record.get(self.columns["answer"]), choices)
        needs, objects, boxes = self._annotations(record, data, answer)
        return SourceSample(
            id=content_id(hashlib.sha256(data).hexdigest(), question),
            image=data,
            question=question,
            answer=answer,
            task=self._task(record, choices),
            source=self.source,
            choices=choices,
            annotations={"boxes": boxes} if boxes else {},
            needs=needs,
            objects=objects,
        )

    def _annotations(
        self, record: Mapping[str, Any], data: bytes, answer: str
    ) -> tuple[list[Need], list[dict[str, Any]], list[list[int]]]:
        """Needs from the record's boxes, distractor objects, and the boxes in pixels."""
        boxes = box_list(record.get(self.columns["bbox"])) if "bbox" in self.columns else []
        others = box_list(record.get(self.columns["objects"])) if "objects" in self.columns else []
        size = image_size(data) if boxes or others else None
        if size is None:  # nothing to read, or undecodable: the decoder gives the reason
            return [], [], []
        if len(boxes) > MAX_NEEDS:
            raise Rejection("too_many_boxes", f"{len(boxes)} boxes; at most {MAX_NEEDS} per sample")
        px = [to_xyxy(b, self.bbox_format, size) for b in boxes]
        # Several boxes are one region to look at (a chain would put the second box in
        # the first zoom's frame); the source knows where, not what the region shows.
        needs = []
        if px:
            whole = [min(b[0] for b in px), min(b[1] for b in px)]
            whole += [max(b[2] for b in px), max(b[3] for b in px)]
            needs = [
                Need("zoom", {}, evidence=[float(v) for v in whole])
                if self.bbox_op == "zoom"
                else Need("box", {"box": whole})
            ]
        objects = [
            {"label": f"region {k}", "box": to_xyxy(b, self.bbox_format, size)}
            for k, b in enumerate(others)
        ]
        return needs, objects, px
