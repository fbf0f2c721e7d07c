"""What an export must tell a trainer: image pixels and sequence lengths it will meet.

Trainers fail on our rows at their defaults for two reasons: an image larger than the
processor's budget becomes more image tokens than ``max_length`` allows (TRL: "Mismatch in
image token count"), and a prompt longer than ``max_prompt_length`` is filtered out (verl
kept 0 of 120 rows at its default 512). So an export fits every image to a pixel budget
and measures, row by row, upper bounds on the tokens each trainer will see. The bounds
hold for any tokenizer that makes at most one token per UTF-8 byte (byte-level BPE, or
SentencePiece with byte fallback: every Qwen, Llama and Mistral tokenizer); image tokens
follow Qwen2/2.5-VL's rule (one token per 28 × 28 pixels after ``smart_resize``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Qwen2-VL's rule, one implementation, shared with the cost estimate
from atlas_data.llm.count import qwen_patches as image_tokens
from atlas_data.llm.count import smart_resize
from atlas_data.ops.image_io import EXTENSIONS, fit

TEMPLATE_SLACK = 64  # system prompt, role markers, vision start/end: Qwen2-VL uses ~25
ROUND_TO = 64


def fit_image(
    image: dict[str, Any], max_side: int, max_pixels: int | None, policy: str = "auto"
) -> tuple[dict[str, Any], tuple[int, int]]:
    """The image struct fitted to the budget (bytes untouched when it already fits; a
    resized one encoded as the image home's rule says under the run's ``policy``:
    :func:`atlas_data.ops.image_io.fit`)."""
    fitted = fit(image["bytes"], max_side, max_pixels, policy)
    if fitted.data is None:
        return image, fitted.size
    stem = (image.get("path") or "image").rsplit(".", 1)[0]
    path = f"{stem}.{EXTENSIONS[fitted.fmt]}"
    return {"bytes": fitted.data, "path": path}, fitted.size


def _round_up(n: int) -> int:
    return -(-n // ROUND_TO) * ROUND_TO


@dataclass
class Limits:
    """What an export measures over its rows (running maxima), fitting each image to the
    run's budget side and ``max_pixels`` on the way, encoded under the run's
    ``--image-format`` (``policy``)."""

    max_side: int
    max_pixels: int | None
    policy: str = "auto"
    rows: int = 0
    resized: int = 0
    image_pixels: int = 0  # the largest exported image, w * h
    processor_pixels: int = 0  # the largest image after Qwen's rounding
    image_tokens: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    sequence_tokens: int = 0

    def fit(self, images: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """Fit a row's images; returns them and their image-token count."""
        out, tokens = [], 0
        for image in images:
            fitted, (w, h) = fit_image(image, self.max_side, self.max_pixels, self.policy)
            self.resized += fitted is not image
            hh, ww = smart_resize(h, w)
            self.image_pixels = max(self.image_pixels, w * h)
            self.processor_pixels = max(self.processor_pixels, hh * ww)
            n = image_tokens(w, h)
            self.image_tokens = max(self.image_tokens, n)
            tokens += n
            out.append(fitted)
        return out, tokens

    def add(self, prompt_text: str, image_token_count: int, completion: str) -> None:
        """One row: prompt text (placeholders included), its image tokens, the completion."""
        prompt = image_token_count + len(prompt_text.encode()) + TEMPLATE_SLACK
        completion_n = len(completion.encode()) + 2  # + end-of-turn and newline
        self.rows += 1
        self.prompt_tokens = max(self.prompt_tokens, prompt)
        self.completion_tokens = max(self.completion_tokens, completion_n)
        self.sequence_tokens = max(self.sequence_tokens, prompt + completion_n)

    def to_json(self) -> dict[str, Any]:
        """The measured bounds and the settings derived from them."""
        pixels = max(self.image_pixels, self.processor_pixels)
        return {
            "rows": self.rows,
            "images_resized": self.resized,
            "image_max_side": self.max_side,
            "image_max_pixels": pixels,
            "image_tokens_max": self.image_tokens,
            "prompt_tokens_max": _round_up(self.prompt_tokens),
            "completion_tokens_max": _round_up(self.completion_tokens),
            "sequence_tokens_max": _round_up(self.sequence_tokens),
            "bound": (
                "upper bounds: at most one token per UTF-8 byte of text, Qwen2/2.5-VL image "
                f"tokens (28 px), {TEMPLATE_SLACK} tokens of chat template, rounded up to "
                f"{ROUND_TO}"
            ),
        }
