"""``grounding``: the model behind the teacher's endpoint is asked where the evidence is (a
box in JSON, validated and clamped), DeepEyes-style. A malformed or missing box proposes
nothing."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from PIL import Image

from atlas_data.config import DEFAULT_BUDGET_SIDE, RunConfig
from atlas_data.explore.proposers import ProposerEntry, zooms_around
from atlas_data.llm import Endpoint, EndpointConfig, Prompt, Usage
from atlas_data.ops import Operation
from atlas_data.sources.base import SourceSample

GROUNDING_SYSTEM = (
    "You locate evidence in images. Given a question about the image, reply with JSON only: "
    '{"box": [x0, y0, x1, y1]}, the region that holds what answers it, in pixels of the '
    'image as shown to you. If nothing in particular does, reply {"box": null}.'
)
_JSON = re.compile(r"\{.*\}", re.DOTALL)


class Grounding:
    """Asks the teacher's model where the evidence is; its box, validated and clamped to the
    canvas, becomes two zooms (with a margin, and with context). A malformed or missing box
    proposes nothing."""

    name = "grounding"

    def __init__(self, endpoint: EndpointConfig, max_side: int = DEFAULT_BUDGET_SIDE) -> None:
        self.endpoint = Endpoint(endpoint)
        self.max_side = max_side
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
        return cls(endpoint, config.budget_side)

    @property
    def usage(self) -> Usage:
        return self.endpoint.usage

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]:
        prompt = Prompt(messages=[], max_side=self.max_side)
        part = prompt.add_image(canvas)
        prompt.messages = [
            {"role": "system", "content": GROUNDING_SYSTEM},
            {"role": "user", "content": [part, {"type": "text", "text": sample.question}]},
        ]
        reply = self.endpoint.complete_sync(prompt, self.params, Usage()).text
        box = parse_box(reply)
        if box is None:
            return []
        shown = min(1.0, self.max_side / max(canvas.size))  # the model saw the budget view
        x0, y0, x1, y1 = (v / shown for v in box)
        w, h = canvas.size
        x0, x1 = sorted((min(max(x0, 0.0), w), min(max(x1, 0.0), w)))
        y0, y1 = sorted((min(max(y0, 0.0), h), min(max(y1, 0.0), h)))
        bw, bh = x1 - x0, y1 - y0
        spans = [(bw + bh, 2 * bh), (2 * bw, 4 * bh)]
        return zooms_around((x0, y0, x1, y1), spans, canvas.size, self.max_side)

    def close(self) -> None:
        self.endpoint.close_sync()


def parse_box(reply: str) -> list[float] | None:
    """``[x0, y0, x1, y1]`` of finite numbers from a reply, or ``None``."""
    m = _JSON.search(reply or "")
    if not m:
        return None
    try:
        box = json.loads(m.group(0)).get("box")
    except (json.JSONDecodeError, AttributeError):
        return None
    if not isinstance(box, list) or len(box) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box):
        return None
    if not all(math.isfinite(v) for v in box):
        return None
    return [float(v) for v in box]


PROPOSER = ProposerEntry(
    "grounding",
    "the teacher's model asked where the evidence is (a box it names, DeepEyes-style)",
    Grounding.of_run,
    default_for=frozenset({"local", "hf"}),
    needs_model=True,
)
