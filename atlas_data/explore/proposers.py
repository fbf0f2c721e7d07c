"""Proposers: where to look. Each turns a sample and the current canvas into candidate
operations; they compose (``--proposer``, repeatable), and every proposal competes with
every other, so distractors come for free.

- ``boxes``: the source's own annotations (``needs``) and the variants each operation's
  spec proposes around them (a loose zoom, the reversed arrow...).
- ``scan``: overlapping tiles at several sizes over the whole canvas: needs nothing.
- ``text``: text lines found by the OCR *detector* (detection only: cheap), each zoomed
  tightly and with context.
- ``salient``: the regions densest in edges (OpenCV Canny on a small copy).
- ``grounding``: the model behind the teacher's endpoint is asked where the evidence is
  (a box in JSON, validated and clamped): DeepEyes-style.

Free proposers (all but ``boxes``) propose zooms: the operation that finds evidence.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
from PIL import Image

from atlas_data.config import DEFAULT_BUDGET_SIDE
from atlas_data.judgement import Frame
from atlas_data.llm import Endpoint, EndpointConfig, Prompt, Usage
from atlas_data.ops import Operation, specs
from atlas_data.ops.params import MAX_OUTPUT_SIDE
from atlas_data.ops.spec import Need, ProposeContext
from atlas_data.ops.zoom import clamp_box, factor_for
from atlas_data.sources.base import SourceSample

PROPOSERS = ("boxes", "scan", "text", "salient", "grounding")


@dataclass(frozen=True)
class Proposal:
    op: Operation
    proposer: str


class Proposer(Protocol):
    name: str

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]: ...


def fill_zoom(box: Sequence[float], max_side: int) -> Operation | None:
    """A zoom on ``box`` (made integral, at least 8 px a side) magnified to fill the budget."""
    b = [math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3])]
    if b[2] - b[0] < 8 or b[3] - b[1] < 8:
        return None
    longest = max(b[2] - b[0], b[3] - b[1])
    factor = factor_for(b, min(max_side, MAX_OUTPUT_SIDE) / longest)
    return Operation("zoom", {"box": b, "factor": round(factor, 3)})


def need_proposals(need: Need, frame: Frame, sample: SourceSample, seed: int) -> list[Operation]:
    """The needed operation (already in ``frame``'s pixels) and its spec's variants (``boxes``)."""
    spec = specs().get(need.op)
    objects = [frame.to_canvas(o["box"]) for o in sample.objects] if frame.exact else []
    ctx = ProposeContext(frame.size, objects, random.Random(f"{sample.id}:{seed}:{need.op}"))
    ops = [Operation(need.op, dict(need.params))]
    if spec is not None:
        ops += [Operation(need.op, p) for p in spec.variants(dict(need.params), ctx)]
    return ops


@dataclass
class Scan:
    """Half-overlapping tiles at 1/2, 1/3, 1/4 and 1/6 of the canvas, each filling the budget."""

    max_side: int = DEFAULT_BUDGET_SIDE
    divisions: tuple[int, ...] = (2, 3, 4, 6)
    name: str = "scan"

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]:
        w, h = canvas.size
        out = []
        for d in self.divisions:
            tw, th = w / d, h / d
            steps = 2 * d - 1
            for r in range(steps):
                for c in range(steps):
                    b = clamp_box((c + 1) * tw / 2, (r + 1) * th / 2, tw, th, canvas.size)
                    op = fill_zoom(b, self.max_side)
                    if op is not None:
                        out.append(op)
        return out


@dataclass
class TextRegions:
    """A tight zoom and a zoom with context on every line the OCR detector finds."""

    max_side: int = DEFAULT_BUDGET_SIDE
    name: str = "text"

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]:
        from atlas_data.explore.ocr import shared_engine, text_lines

        out = []
        for x0, y0, x1, y1 in (ln.box for ln in text_lines(shared_engine(), canvas, self.max_side)):
            cx, cy, bw, bh = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
            for grow_w, grow_h in ((bw + 2 * bh, 3 * bh), (3 * bw, 8 * bh)):
                op = fill_zoom(clamp_box(cx, cy, grow_w, grow_h, canvas.size), self.max_side)
                if op is not None:
                    out.append(op)
        return out


@dataclass
class Salient:
    """Zooms on the windows densest in edges (Canny on a 512 px copy), after suppressing
    overlapping windows."""

    max_side: int = DEFAULT_BUDGET_SIDE
    top: int = 6
    name: str = "salient"

    def propose(self, sample: SourceSample, canvas: Image.Image) -> list[Operation]:
        import cv2

        small = canvas.copy()
        small.thumbnail((512, 512))
        s = canvas.width / small.width
        edges = cv2.Canny(np.asarray(small.convert("L")), 80, 160) > 0
        integral = np.pad(edges.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        h, w = edges.shape
        scored: list[tuple[float, list[float]]] = []
        for frac in (4, 8):
            ww, wh = max(8, w // frac), max(8, h // frac)
            for y in range(0, h - wh + 1, max(1, wh // 2)):
                for x in range(0, w - ww + 1, max(1, ww // 2)):
                    total = integral[y + wh, x + ww] - integral[y, x + ww] - integral[y + wh, x]
                    total += integral[y, x]
                    scored.append((total / (ww * wh), [x, y, x + ww, y + wh]))
        scored.sort(key=lambda t: -t[0])
        kept: list[list[float]] = []
        for density, box in scored:
            if density <= 0 or len(kept) >= self.top:
                break
            if all(_iou(box, k) < 0.3 for k in kept):
                kept.append(box)
        ops = [fill_zoom([v * s for v in b], self.max_side) for b in kept]
        return [op for op in ops if op is not None]


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


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
    def from_options(cls, teacher_options: dict[str, Any], max_side: int) -> Grounding:
        endpoint = EndpointConfig.of_teacher(teacher_options)
        if not endpoint.model:
            raise ValueError(
                "the grounding proposer asks a model: pass --teacher openai --model NAME "
                "--base-url URL (an OpenAI-compatible endpoint)"
            )
        return cls(replace(endpoint), max_side)

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
        # a model's box is rarely exact: its box with a margin, and with context around it
        cx, cy, bw, bh = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
        ops = [
            fill_zoom(clamp_box(cx, cy, grow_w, grow_h, canvas.size), self.max_side)
            for grow_w, grow_h in ((bw + bh, 2 * bh), (2 * bw, 4 * bh))
        ]
        return [op for op in ops if op is not None]

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
