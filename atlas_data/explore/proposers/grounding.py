"""``grounding``: the model behind the teacher's endpoint is asked where to look, DeepEyes-
style, and, when a record has no annotations, to point: at the objects a count counts, at
the regions a comparison compares, at the anchor and the target of a relation.

Every reply is JSON, validated (finite numbers, ordered boxes), scaled from the budget view
the model was shown back to the canvas, and clamped to it. A box becomes two zooms; what
the model points at becomes needs built exactly as a record's annotations would be
(:mod:`atlas_data.sources.needs`), which the annotation judge then proves or refuses with
each drawing's help rule. A malformed or empty reply proposes nothing.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from PIL import Image

from atlas_data.config import Budget, RunConfig
from atlas_data.explore.proposers import ProposerEntry, zooms_around
from atlas_data.llm import Endpoint, EndpointConfig, Prompt, Usage
from atlas_data.ops import Operation
from atlas_data.ops.point_mark import MAX_POINTS
from atlas_data.ops.spec import Need
from atlas_data.rejections import Rejection
from atlas_data.sources.base import SourceSample
from atlas_data.sources.intent import Intent, intent_of
from atlas_data.sources.needs import Annotations, Mark, annotated_needs

_COORDS = "in pixels of the image as shown to you"
GROUNDING_SYSTEM = (
    "You locate evidence in images. Given a question about the image, reply with JSON only: "
    f'{{"box": [x0, y0, x1, y1]}}, the region that holds what answers it, {_COORDS}. '
    'If nothing in particular does, reply {"box": null}.'
)
# What to ask a model to point at, by the question's intent.
POINTING_SYSTEM = {
    "count": "You point at objects in images. Given a question that asks how many there "
    'are of something, reply with JSON only: {"points": [[x, y], ...]}, the centre of '
    f'every object it counts, {_COORDS}. If there are none, reply {{"points": []}}.',
    "compare": "You point at regions in images. Given a question that compares regions, "
    'reply with JSON only: {"boxes": [[x0, y0, x1, y1], ...]}, one box around each region '
    f"compared, the one the answer names last, {_COORDS}.",
    "relate": "You point at things in images. Given a question about what stands in a "
    "relation to something (nearest to it, left of it...), reply with JSON only: "
    '{"anchor": [x0, y0, x1, y1], "target": [x0, y0, x1, y1]}: the thing the question '
    f"starts from and the thing it asks about, {_COORDS}.",
}
_JSON = re.compile(r"\{.*\}", re.DOTALL)


class Grounding:
    """Asks the teacher's model where the evidence is (a box: two zooms), and, for a record
    with no annotations, to point at what a drawing needs (:meth:`annotate`)."""

    name = "grounding"

    def __init__(self, endpoint: EndpointConfig, budget: Budget) -> None:
        self.endpoint = Endpoint(endpoint)
        self.budget = budget
        self.params: dict[str, Any] = {"temperature": 0.0, "max_tokens": 64}

    @classmethod
    def of_run(cls, config: RunConfig) -> Grounding:
        """On the teacher's endpoint and model, shown the canvas at the run's budget."""
        endpoint = EndpointConfig.of_teacher(config.teacher_options)
        if not endpoint.model:
            raise ValueError(
                "the grounding proposer asks a model: pass --teacher openai --model NAME "
                "--base-url URL (an OpenAI-compatible endpoint)"
            )
        return cls(endpoint, config.budget())

    @property
    def usage(self) -> Usage:
        return self.endpoint.usage

    def ask(self, system: str, sample: SourceSample, canvas: Image.Image, tokens: int) -> Any:
        """The model's JSON reply about ``canvas`` (shown at the budget), or ``None``."""
        prompt = Prompt(messages=[], max_side=self.budget.side)
        text = sample.question
        shown = [img for img in sample.images if isinstance(img, Image.Image)]
        if sample.more_images and any(img is canvas for img in shown):
            # several images: the model sees every one and answers about this canvas
            k = next(i for i, img in enumerate(shown) if img is canvas)
            parts = prompt.add_images(shown)
            text += f"\nReply about Image {k + 1} only, in its pixels."
        else:
            parts = [prompt.add_image(canvas)]
        prompt.messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": [*parts, {"type": "text", "text": text}]},
        ]
        params = {**self.params, "max_tokens": tokens}
        return parse_json(self.endpoint.complete_sync(prompt, params, Usage()).text)

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]:
        reply = self.ask(GROUNDING_SYSTEM, sample, canvas, 64)
        box = self.to_canvas(reply.get("box") if isinstance(reply, dict) else None, canvas)
        if box is None:
            return []
        bw, bh = box[2] - box[0], box[3] - box[1]
        spans = [(bw + bh, 2 * bh), (2 * bw, 4 * bh)]
        return zooms_around(box, spans, canvas.size, self.budget)

    def annotate(self, sample: SourceSample, canvas: Image.Image) -> list[Need]:
        """Needs from the model's pointing, for a count, a comparison or a relation; none
        when the question is none of these or the reply does not hold up."""
        intent = intent_of(sample.question)
        kind = next((k for k in intent.kinds if k in POINTING_SYSTEM), None)
        if kind is None:
            return []
        reply = self.ask(POINTING_SYSTEM[kind], sample, canvas, 1024 if kind == "count" else 96)
        if not isinstance(reply, dict):
            return []
        points: list[Mark] = []
        boxes: list[list[float]] = []
        if kind == "count":
            raw = reply.get("points")
            if not isinstance(raw, list) or not 0 < len(raw) <= MAX_POINTS:
                return []
            for p in raw:
                spot = [*p, *p] if isinstance(p, list) and len(p) == 2 else None
                xy = self.to_canvas(spot, canvas, min_side=0)
                if xy is None:
                    return []
                points.append(Mark(xy[0], xy[1]))
        else:
            pair = [reply.get("anchor"), reply.get("target")]
            raw_boxes = reply.get("boxes") if kind == "compare" else pair
            if not isinstance(raw_boxes, list) or len(raw_boxes) < 2:
                return []
            for b in raw_boxes:
                box = self.to_canvas(b, canvas)
                if box is None:
                    return []
                boxes.append(box)
        marked = Annotations(canvas.size, boxes, points, None, sample.answer)
        try:
            return annotated_needs(marked, Intent((kind,), intent.labels, intent.axis))
        except Rejection:  # the model's pointing contradicts the record (a wrong count)
            return []

    def to_canvas(self, box: Any, canvas: Image.Image, min_side: float = 2.0) -> list[float] | None:
        """A box the model gave on the budget view, in the canvas's pixels, clamped; or
        ``None`` when it is not four finite numbers or has no area left."""
        numbers = finite_box(box)
        if numbers is None:
            return None
        shown = self.budget.scale(canvas.size)  # the model saw the budget view
        x0, y0, x1, y1 = (v / shown for v in numbers)
        w, h = canvas.size
        x0, x1 = sorted((min(max(x0, 0.0), w), min(max(x1, 0.0), w)))
        y0, y1 = sorted((min(max(y0, 0.0), h), min(max(y1, 0.0), h)))
        if min_side and (x1 - x0 < min_side or y1 - y0 < min_side):
            return None
        return [x0, y0, x1, y1]

    def close(self) -> None:
        self.endpoint.close_sync()


def parse_json(reply: str) -> Any:
    """The JSON object in a reply, or ``None``."""
    m = _JSON.search(reply or "")
    if not m:
        return None
    try:
        return json.loads(m.group(0))
    except json.JSONDecodeError:
        return None


def finite_box(box: Any) -> list[float] | None:
    """``[x0, y0, x1, y1]`` when ``box`` is four finite numbers, else ``None``."""
    if not isinstance(box, list) or len(box) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box):
        return None
    return [float(v) for v in box] if all(math.isfinite(v) for v in box) else None


def parse_box(reply: str) -> list[float] | None:
    """``[x0, y0, x1, y1]`` of finite numbers from a reply, or ``None``."""
    obj = parse_json(reply)
    return finite_box(obj.get("box") if isinstance(obj, dict) else None)


PROPOSER = ProposerEntry(
    "grounding",
    "the teacher's model asked where the evidence is (a box it names, DeepEyes-style) and, "
    "for a record with no annotations, to point at what to count, compare or relate",
    Grounding.of_run,
    default_for=frozenset({"local", "hf"}),
    needs_model=True,
)
