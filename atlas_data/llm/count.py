"""Input tokens of a chat request, counted before it is sent (``--estimate``).

Text: about four bytes a token (OpenAI's published rule of thumb; no tokenizer file can be
fetched offline) plus a few tokens of framing per message. Images: the model's published
rule, from the size of the image as it is sent:

- *tile* models (gpt-4o, gpt-4.1, gpt-5, o1/o3; ``detail: high``): fit in 2048x2048, then
  shortest side to 768, then ``base + per_tile x`` the 512 px tiles covering it;
- *patch* models (gpt-4.1-mini/nano, o4-mini, gpt-5-mini/nano): 32 px patches, at most
  1536, times a per-model multiplier;
- any other model (Qwen2-VL and Qwen2.5-VL behind vLLM, and most open VLMs): 28 px patches
  (14 px ViT patches merged 2x2), between 4 and 16384 of them, plus the two vision markers
  (``smart_resize``, which :mod:`atlas_data.store.limits` also fits exports to).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
from typing import Any

from PIL import Image

BYTES_PER_TOKEN = 4
MESSAGE_TOKENS = 3  # role and separators around each message
REPLY_TOKENS = 3  # the assistant turn's priming

# model prefix -> (base, per tile); the longest matching prefix wins
TILE_RULES = {
    "gpt-4o-mini": (2833, 5667),
    "gpt-4o": (85, 170),
    "chatgpt-4o": (85, 170),
    "gpt-4.1": (85, 170),
    "gpt-4.5": (85, 170),
    "gpt-5": (70, 140),
    "o1": (75, 150),
    "o3": (75, 150),
}
# model prefix -> multiplier of the 32 px patch count
PATCH_RULES = {
    "gpt-4.1-mini": 1.62,
    "gpt-4.1-nano": 2.46,
    "o4-mini": 1.72,
    "gpt-5-mini": 1.62,
    "gpt-5-nano": 2.46,
}


def _prefix(model: str, rules: dict[str, Any]) -> str:
    name = model.lower().rsplit("/", 1)[-1]
    return max((p for p in rules if name.startswith(p)), key=len, default="")


def image_tokens(model: str, width: int, height: int) -> int:
    """Tokens an image of ``width`` x ``height`` costs ``model``: the rule of the longest
    matching model prefix (``gpt-4.1-mini`` is a patch model, ``gpt-4.1`` a tile one)."""
    patch, tile = _prefix(model, PATCH_RULES), _prefix(model, TILE_RULES)
    if patch and len(patch) >= len(tile):
        return patch_tokens(width, height, PATCH_RULES[patch])
    if tile:
        return tile_tokens(width, height, *TILE_RULES[tile])
    return qwen_tokens(width, height)


def tile_tokens(width: int, height: int, base: int, per_tile: int) -> int:
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return base + per_tile * math.ceil(w / 512) * math.ceil(h / 512)


def patch_tokens(width: int, height: int, multiplier: float) -> int:
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches > 1536:
        r = math.sqrt(32 * 32 * 1536 / (width * height))
        # then shrink until a whole number of patches fits each side (the published rule)
        r *= min(
            math.floor(width * r / 32) / (width * r / 32),
            math.floor(height * r / 32) / (height * r / 32),
        )
        patches = math.ceil(width * r / 32) * math.ceil(height * r / 32)
    return math.ceil(min(patches, 1536) * multiplier)


PIXELS_PER_TOKEN = 28  # Qwen2/2.5-VL: 14-px patches merged 2 x 2
QWEN_MIN_PIXELS = 56 * 56
QWEN_MAX_PIXELS = 14 * 14 * 4 * 16384  # the processor's default (12,845,056)


def smart_resize(
    height: int, width: int, max_pixels: int = QWEN_MAX_PIXELS, min_pixels: int = QWEN_MIN_PIXELS
) -> tuple[int, int]:
    """Qwen2-VL's resize rule (as qwen-vl-utils and the HF processor apply it)."""
    f = PIXELS_PER_TOKEN
    h, w = max(f, round(height / f) * f), max(f, round(width / f) * f)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h, w = max(f, math.floor(height / beta / f) * f), max(f, math.floor(width / beta / f) * f)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h, w = math.ceil(height * beta / f) * f, math.ceil(width * beta / f) * f
    return h, w


def qwen_patches(width: int, height: int) -> int:
    """Qwen2-VL's image tokens: one per 28 px patch after :func:`smart_resize`."""
    h, w = smart_resize(height, width)
    return (h // PIXELS_PER_TOKEN) * (w // PIXELS_PER_TOKEN)


def qwen_tokens(width: int, height: int) -> int:
    """Qwen2-VL's rule plus the vision start and end markers."""
    return qwen_patches(width, height) + 2


def data_url_size(url: str) -> tuple[int, int] | None:
    """Width and height of a base64 image data URL (only its header is decoded)."""
    head, _, data = url.partition(",")
    if not head.startswith("data:image/") or ";base64" not in head:
        return None
    try:
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            return img.size
    except (binascii.Error, OSError, ValueError):
        return None


def text_tokens(text: str) -> int:
    return math.ceil(len(text.encode()) / BYTES_PER_TOKEN)


def request_tokens(body: dict[str, Any]) -> int:
    """Input tokens of one ``/v1/chat/completions`` body (text, images, framing)."""
    model = str(body.get("model", ""))
    total = REPLY_TOKENS
    for message in body.get("messages", []):
        total += MESSAGE_TOKENS
        content = message.get("content")
        if isinstance(content, str):
            total += text_tokens(content)
            continue
        for part in content or []:
            if part.get("type") == "text":
                total += text_tokens(str(part.get("text", "")))
            elif part.get("type") == "image_url":
                size = data_url_size(str(part.get("image_url", {}).get("url", "")))
                if size is not None:
                    total += image_tokens(model, *size)
    schema = (body.get("response_format") or {}).get("json_schema")
    if schema:
        total += text_tokens(json.dumps(schema, separators=(",", ":")))
    return total
