"""The source contract: every adapter yields :class:`SourceSample` or :class:`SourceRejection`
(a record that cannot become a sample, with its :class:`~atlas_data.rejections.Rejection`).

``needs``: the operations that genuinely help, in order (:class:`~atlas_data.ops.spec.Need`:
operation, parameters, what the result reveals). The annotation judge matches candidates
against these; a real-data source fills them from its boxes, a synthetic one from its scene.

``objects``: other salient regions ``{"label": str, "box": [x0,y0,x1,y1]}``, used to
propose plausible distractor operations. ``annotations``: anything else a source knows
(JSON-able), e.g. what a synthetic family's tests check the pixels against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image

from atlas_data.ops.image_io import pixels_digest as pixels_digest  # scene ids
from atlas_data.ops.spec import Need
from atlas_data.rejections import Rejection


def content_id(image_digest: str, question: str) -> str:
    """Stable sample id from content: the same image (or images, by one digest of their
    digests: :func:`images_digest`) and question give the same id."""
    h = hashlib.sha256(f"{image_digest}\x00{normalize_question(question)}".encode())
    return h.hexdigest()[:20]


def images_digest(digests: list[str]) -> str:
    """One digest for several images, in order; one image's digest is its own."""
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\x00".join(digests).encode()).hexdigest()


def normalize_question(question: str) -> str:
    return " ".join(question.lower().split())


@dataclass
class SourceSample:
    id: str
    # The input as the source holds it: file bytes (decoded once, by the run) or an image
    # already decoded (a generated scene, or a dataset's decoded image).
    image: Image.Image | bytes
    question: str
    answer: str
    task: str
    source: str
    choices: list[str] | None = None
    annotations: dict[str, Any] = field(default_factory=dict)
    needs: list[Need] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # other answers annotators agreed on
    # The bytes ``image`` (pixels) was decoded from, when it has them (a scene that went
    # through a camera's JPEG): stored as they are, never encoded a second time.
    encoded: bytes | None = None
    encoded_as: str = "jpg"  # their extension
    # Images 2..N of a sample that shows several (as ``image``: bytes or decoded), in order.
    more_images: list[Image.Image | bytes] = field(default_factory=list)
    # Other chains of needs the annotations allow, tried in turn when ``needs`` finds no
    # help (the question's intent put ``needs`` first; the help rules decide).
    alternatives: list[list[Need]] = field(default_factory=list)

    @property
    def images(self) -> list[Image.Image | bytes]:
        """Every input image, in order: Image 1 is ``image``."""
        return [self.image, *self.more_images]


@dataclass(frozen=True)
class SourceRejection:
    """A record a source could not turn into a sample (unreadable file, empty question…):
    what identifies it, and the rejection (stage ``load``) saying why."""

    id: str
    rejection: Rejection
    task: str = ""
    source: str = ""
    question: str = ""


SourceItem = SourceSample | SourceRejection
MAX_QUESTION_CHARS = 4000  # longer "questions" are documents or garbage, not prompts


def check_text(sample: SourceSample) -> None:
    """Refuse (stage ``load``) a sample whose question or answer cannot make a prompt."""
    if not sample.question.strip():
        raise Rejection("empty_question", "the question is empty", "load")
    if not sample.answer.strip():
        raise Rejection("empty_answer", "the ground-truth answer is empty", "load")
    if len(sample.question) > MAX_QUESTION_CHARS:
        detail = f"the question has {len(sample.question)} characters; at most "
        raise Rejection("question_too_long", f"{detail}{MAX_QUESTION_CHARS} fit a prompt", "load")


class Source(Protocol):
    """An ordered, deterministic stream: item ``i`` is the same on every run."""

    name: str

    def __iter__(self) -> Iterator[SourceItem]: ...

    def describe(self) -> dict[str, Any]:
        """JSON-able identity of the source, recorded in the manifest and run-id hash."""
        ...
