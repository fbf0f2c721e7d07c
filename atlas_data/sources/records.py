"""Turning one record of a real dataset (HF row, JSONL line, CSV row) into a source item.

Both real-data adapters (``hf`` and ``local``) read records of the same shape: an image,
a question, an answer, optional choices, boxes and points. :class:`RecordAdapter` reads
one record with what the rest of this package knows: the options (:mod:`.options`), the
column map (:mod:`.columns`), the file checks (:mod:`.files`), box and point conventions
(:mod:`.coords`), answers and choices (:mod:`.choices`) and the needs built from boxes
(:mod:`.needs`). Every problem becomes a :class:`SourceRejection` with a stable reason;
nothing here raises on bad data.

The image is handed on as the source gave it (file bytes, or an image a dataset already
decoded), probed once for the file checks and the size its annotations are read against;
the run decodes it (:func:`atlas_data.ops.image_io.load_image`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from atlas_data.ops.image_io import Probe, pixels_digest
from atlas_data.ops.spec import MAX_IMAGES, Need
from atlas_data.rejections import Rejection
from atlas_data.sources.base import (
    SourceItem,
    SourceRejection,
    SourceSample,
    content_id,
    images_digest,
)
from atlas_data.sources.choices import consensus, normalize_choices, resolve_answer
from atlas_data.sources.columns import CANDIDATES, FIELDS, resolve_columns
from atlas_data.sources.coords import (
    BBOX_FORMATS,
    BBOX_OPS,
    POINT_FORMATS,
    placed_boxes,
    point_list,
    points_by_image,
    to_xyxy,
)
from atlas_data.sources.files import check_image
from atlas_data.sources.intent import intent_of
from atlas_data.sources.needs import Annotations, sample_chains
from atlas_data.sources.options import ImagePolicy, RecordOptions, one_of

__all__ = ["CANDIDATES", "MAX_NEEDS", "ImageReader", "RecordAdapter", "image_digest"]

MAX_NEEDS = 4

# Reads a record's image cell: the file's bytes, or an image a dataset already decoded,
# and the file's name ("" when there is none) for the extension check.
ImageReader = Callable[[Any], tuple[bytes | Image.Image, str]]


def image_digest(image: bytes | Image.Image) -> str:
    """What a sample's id is made from: the file's bytes, or a decoded image's pixels."""
    if isinstance(image, Image.Image):
        return pixels_digest(image)
    return hashlib.sha256(image).hexdigest()


def _held(columns: str | Sequence[str]) -> tuple[str, ...]:
    """A preset's image column, or its several (BLINK's ``image_1`` … ``image_4``)."""
    return (columns,) if isinstance(columns, str) else tuple(columns)


@dataclass
class RecordAdapter:
    """Reads records with a fixed column mapping; one instance per source."""

    columns: dict[str, str]
    source: str
    read_image: ImageReader
    options: RecordOptions = field(default_factory=RecordOptions)

    def __post_init__(self) -> None:
        one_of(self.options.bbox_format, "bbox_format", BBOX_FORMATS)
        one_of(self.options.bbox_op, "bbox_op", BBOX_OPS)
        one_of(self.options.point_format, "point_format", tuple(POINT_FORMATS))

    @classmethod
    def build(
        cls, options: RecordOptions, names: Sequence[str], source: str, read_image: ImageReader
    ) -> RecordAdapter:
        """The adapter for records with these column ``names``, named ``source``. A preset
        turns each row into the record fields itself: its names need no resolving."""
        chosen = options.preset
        columns = (
            {f: f for f in FIELDS}
            if chosen
            else resolve_columns(list(names), options.columns, options.layout)
        )
        missing = [c for c in _held(chosen.image_column) if c not in names] if chosen else []
        if chosen and missing:
            raise ValueError(
                f"preset {chosen.name} reads images from {missing}, which the data lacks "
                f"(columns: {sorted(names)}): is it {chosen.dataset}?"
            )
        return cls(columns=columns, source=source, read_image=read_image, options=options)

    @property
    def policy(self) -> ImagePolicy:
        return self.options.policy

    @property
    def image_columns(self) -> tuple[str, ...]:
        """The dataset's own columns that hold the images (a preset may read several)."""
        preset = self.options.preset
        return _held(preset.image_column) if preset else (self.columns["image"],)

    def describe(self) -> dict[str, Any]:
        o = self.options
        return {
            "columns": self.columns,
            "layout": o.layout,
            "preset": o.preset.name if o.preset else None,
            "bbox_format": o.bbox_format,
            "bbox_op": o.bbox_op,
            "point_format": o.point_format,
            "policy": vars(o.policy),
        }

    def item(self, record: Mapping[str, Any], index: int) -> SourceItem:
        """Never raises on bad data: a record becomes a sample or a rejection."""
        images: list[tuple[bytes | Image.Image, str]] = []
        question = ""
        try:
            if self.options.preset is not None:
                record = self._adapted(record)
            question = str(record.get(self.columns["question"]) or "").strip()
            images = self.read_images(record.get(self.columns["image"]))
            return self._sample(record, question, images)
        except Rejection as exc:
            have = [img for img, _ in images if isinstance(img, Image.Image) or img]
            digest = (
                images_digest([image_digest(img) for img in have])
                if have
                else f"{self.source}#{index}"
            )
            return SourceRejection(
                id=content_id(digest, question),
                rejection=exc.at("load"),
                task=self._task(record, None),
                source=self.source,
                question=question,
            )

    def read_images(self, value: Any) -> list[tuple[bytes | Image.Image, str]]:
        """A record's image cell: one image, or a list of 1 to 8 (read in order)."""
        if not isinstance(value, (list, tuple)):
            return [self.read_image(value)]
        if not value:
            raise Rejection("missing_image", "the image list is empty")
        if len(value) > MAX_IMAGES:
            detail = f"{len(value)} images; a sample shows at most {MAX_IMAGES}"
            raise Rejection("too_many_images", detail)
        return [self.read_image(v) for v in value]

    def _adapted(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The row in the record fields, by the preset; a row it cannot read is refused."""
        chosen = self.options.preset
        assert chosen is not None
        try:
            return chosen.adapt(record)
        except Rejection:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            detail = f"a {chosen.name} row must look like {chosen.dataset}'s: {exc!r}"
            raise Rejection("bad_record", detail[:500]) from exc

    def _task(self, record: Mapping[str, Any], choices: list[str] | None) -> str:
        if self.options.task:
            return self.options.task
        col = self.columns.get("task")
        if col and record.get(col):
            return str(record[col])
        return "mc" if choices else "vqa"

    def _sample(
        self,
        record: Mapping[str, Any],
        question: str,
        images: list[tuple[bytes | Image.Image, str]],
    ) -> SourceSample:
        probed = [check_image(image, name, self.policy) for image, name in images]  # one parse
        choices = (
            normalize_choices(record.get(self.columns["choices"]))
            if "choices" in self.columns
            else None
        )
        raw_answer = record.get(self.columns["answer"])
        answer = resolve_answer(raw_answer, choices)
        accepted = consensus(raw_answer)[1] if isinstance(raw_answer, (list, tuple)) else []
        chains, objects, marked = self._annotations(record, probed, question, answer)
        data = [image for image, _ in images]
        return SourceSample(
            id=content_id(images_digest([image_digest(d) for d in data]), question),
            image=data[0],
            more_images=data[1:],
            question=question,
            answer=answer,
            task=self._task(record, choices),
            source=self.source,
            choices=choices,
            annotations=marked,
            accepted=[a for a in accepted if a != answer],
            needs=chains[0] if chains else [],
            alternatives=chains[1:],
            objects=objects,
        )

    def _annotations(
        self,
        record: Mapping[str, Any],
        probed: list[Probe | None],
        question: str,
        answer: str,
    ) -> tuple[list[list[Need]], list[dict[str, Any]], dict[str, Any]]:
        """The chains of needs from the record's boxes and points (in the order the
        question's intent gives), the distractor objects, and the annotations in source
        pixels (kept on the sample). Each annotation is read in the pixels of the image it
        names; an image's size as displayed is asked of its probe only when there is
        something to read against it."""
        o, n = self.options, len(probed)

        def column(name: str) -> Any:
            return record.get(self.columns[name]) if name in self.columns else None

        boxes = placed_boxes(column("bbox"), n)
        others = placed_boxes(column("objects"), n)
        raw_points = points_by_image(column("points"), n)
        if len(boxes) > MAX_NEEDS:
            raise Rejection("too_many_boxes", f"{len(boxes)} boxes; at most {MAX_NEEDS} per sample")
        per_image: list[Annotations | None] = []
        objects: list[dict[str, Any]] = []
        kept: dict[str, Any] = {}
        for k, probe in enumerate(probed):
            mine = [b for j, b in boxes if j == k]
            listed_raw = [b for j, b in others if j == k]
            wanted = mine or listed_raw or raw_points[k]
            size = probe.upright_size() if probe is not None and wanted else None
            if size is None:  # nothing to read, or undecodable: the decoder gives the reason
                per_image.append(None)
                continue
            px = [to_xyxy(b, o.bbox_format, size) for b in mine]
            points = point_list(raw_points[k], o.point_format, size)
            listed = [to_xyxy(b, o.bbox_format, size) for b in listed_raw]
            on = {"image": k} if n > 1 else {}
            objects += [
                {"label": f"region {len(objects) + i}", "box": b, **on}
                for i, b in enumerate(listed)
            ]
            per_image.append(
                Annotations(
                    size,
                    [[float(v) for v in b] for b in px],
                    points,
                    [[float(v) for v in b] for b in listed] or None,  # none: found in pixels
                    answer,
                    n,
                )
            )
            if px:
                kept.setdefault("boxes", []).extend([{"box": b, **on} if on else b for b in px])
            if points:
                kept.setdefault("points", []).extend(
                    {"x": p.x, "y": p.y, "label": p.label, **on} for p in points
                )
        chains = sample_chains(per_image, intent_of(question), o.bbox_op)
        return chains, objects, kept
