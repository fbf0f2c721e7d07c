"""One OpenAI-compatible chat endpoint, as the teacher and the answer-flip judge use it.

Everything that talks HTTP lives here: image encoding into data URLs (off the event loop),
the response cache, retries with backoff, jitter and ``Retry-After``, a per-request
timeout, the first-call probe of ``/v1/models`` that turns a wrong URL or model name into
one clear error, and usage accounting. The API key comes from the environment only and is
never part of a description, a cache key, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import io
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from PIL import Image

from atlas_data.ops.image_io import downscale_to
from atlas_data.teacher.base import ChatError, TeacherUnavailable, Usage
from atlas_data.teacher.cache import DEFAULT_CACHE_DIR, ResponseCache, cache_key

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_IMAGE_MAX_SIDE = 1024
JPEG_QUALITY = 90
FLAT_COLOURS = 256  # at most this many colours in a thumbnail: a flat image, sent as PNG
MAX_RETRY_AFTER = 60.0

_PROBED: set[tuple[str, str]] = set()
_PROBE_LOCK = threading.Lock()


# ---------------------------------------------------------------- images


def image_digest(img: Image.Image, max_side: int) -> str:
    """Hash of the decoded pixels plus how they will be sent: the image's part of a cache key."""
    h = hashlib.sha256(f"{img.mode}{img.size}:{max_side}:{JPEG_QUALITY}".encode())
    h.update(img.tobytes())
    return h.hexdigest()


def is_flat(img: Image.Image) -> bool:
    """Few distinct colours (charts, diagrams, renders): PNG is smaller and lossless there."""
    thumb = img.convert("RGB").resize((64, 64), Image.Resampling.NEAREST)
    colours = thumb.getcolors(maxcolors=FLAT_COLOURS)
    return colours is not None


def encode_data_url(img: Image.Image, max_side: int) -> str:
    """Downscale to ``max_side`` and encode as a base64 data URL (JPEG photo / PNG flat)."""
    img = downscale_to(img.convert("RGB"), max_side, Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    if is_flat(img):
        img.save(buf, format="PNG", optimize=False)
        mime = "image/png"
    else:
        img.save(buf, format="JPEG", quality=JPEG_QUALITY)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode()}"


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


@dataclass
class Prompt:
    """Messages whose images are named by digest; the real data URLs are made only on a miss."""

    messages: list[dict[str, Any]]
    images: dict[str, Image.Image] = field(default_factory=dict)
    max_side: int = DEFAULT_IMAGE_MAX_SIDE

    def add_image(self, img: Image.Image) -> dict[str, Any]:
        digest = image_digest(img, self.max_side)
        self.images[digest] = img
        return image_part(f"sha256:{digest}")

    def materialize(self) -> list[dict[str, Any]]:
        """The messages with each ``sha256:`` placeholder replaced by its data URL (CPU work)."""
        urls = {d: encode_data_url(img, self.max_side) for d, img in self.images.items()}
        out = []
        for m in self.messages:
            content = m["content"]
            if isinstance(content, list):
                content = [
                    image_part(urls[p["image_url"]["url"].removeprefix("sha256:")])
                    if p.get("type") == "image_url"
                    else p
                    for p in content
                ]
            out.append({**m, "content": content})
        return out


# ---------------------------------------------------------------- completions


@dataclass
class Completion:
    text: str
    finish_reason: str
    refusal: str = ""
    cached: bool = False


def retry_after_seconds(exc: BaseException) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms`` of an error response."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def classify(exc: BaseException) -> tuple[str, bool]:
    """(rejection reason, retryable) of an exception raised by the ``openai`` client."""
    if isinstance(exc, openai.APITimeoutError):
        return "teacher_timeout", True
    if isinstance(exc, openai.APIConnectionError):
        return "teacher_connection_error", True
    if isinstance(exc, openai.RateLimitError):
        return "teacher_rate_limited", True
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        if code in (408, 409) or code >= 500:
            return "teacher_server_error", True
        return "teacher_bad_request", False
    return "teacher_error", False


@dataclass
class EndpointConfig:
    model: str
    base_url: str = ""
    timeout: float = 120.0
    max_retries: int = 4
    backoff: float = 1.0  # seconds before the first retry; doubles each time, with jitter
    backoff_cap: float = 30.0
    cache_dir: str | None = DEFAULT_CACHE_DIR  # None: no cache
    probe: bool = True

    def resolved_base_url(self) -> str:
        return (self.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def _api_key() -> str:
    # Local servers (vLLM, SGLang, Ollama) accept any key; the SDK insists on a non-empty one.
    return os.environ.get("OPENAI_API_KEY") or "EMPTY"


class Endpoint:
    """Cached, retried chat completions against one model; async and sync entry points."""

    def __init__(self, config: EndpointConfig, concurrency: int = 16) -> None:
        if not config.model:
            raise ValueError(
                "an OpenAI-compatible teacher needs a model: pass --model NAME "
                "(e.g. gpt-4o-mini, or the name your vLLM/Ollama server serves)"
            )
        self.config = config
        self.base_url = config.resolved_base_url()
        self.cache = ResponseCache(config.cache_dir) if config.cache_dir else None
        self.concurrency = max(1, int(concurrency))
        self.usage = Usage()
        self._usage_lock = threading.Lock()
        self._async: openai.AsyncOpenAI | None = None
        self._sync: openai.OpenAI | None = None
        self._sem: asyncio.Semaphore | None = None
        self._probe_lock: asyncio.Lock | None = None

    # -- clients (built lazily: a fully cached run never opens a connection)

    def _async_client(self) -> openai.AsyncOpenAI:
        if self._async is None:
            self._async = openai.AsyncOpenAI(
                api_key=_api_key(),
                base_url=self.base_url,
                timeout=self.config.timeout,
                max_retries=0,  # retries are ours: counted, jittered, Retry-After honoured
                # The SDK's aiohttp transport: a fraction of the default transport's CPU per
                # request, which is what bounds throughput at high concurrency (BENCHMARKS.md).
                http_client=openai.DefaultAioHttpClient(timeout=self.config.timeout),
            )
        return self._async

    def _sync_client(self) -> openai.OpenAI:
        if self._sync is None:
            self._sync = openai.OpenAI(
                api_key=_api_key(),
                base_url=self.base_url,
                timeout=self.config.timeout,
                max_retries=0,
            )
        return self._sync

    # -- the probe

    def _check_models(self, ids: list[str]) -> None:
        if ids and self.config.model not in ids:
            shown = ", ".join(sorted(ids)[:20])
            raise TeacherUnavailable(
                f"model {self.config.model!r} is not served by {self.base_url} "
                f"(it serves: {shown}); pass --model with one of those names"
            )

    def _probe_failed(self, exc: BaseException) -> None:
        if isinstance(exc, openai.APIConnectionError):
            raise TeacherUnavailable(
                f"cannot reach the teacher endpoint {self.base_url} ({type(exc).__name__}); "
                "is the server running? check --base-url / OPENAI_BASE_URL"
            ) from None
        if isinstance(exc, openai.AuthenticationError):
            raise TeacherUnavailable(
                f"the teacher endpoint {self.base_url} rejected the API key (401); "
                "set OPENAI_API_KEY"
            ) from None
        # Other statuses (404: no /models route, …) do not prove the endpoint wrong: go on.

    def probe_sync(self) -> None:
        key = (self.base_url, self.config.model)
        if not self.config.probe or key in _PROBED:
            return
        with _PROBE_LOCK:
            if key in _PROBED:
                return
            try:
                ids = [m.id for m in self._sync_client().models.list()]
            except openai.OpenAIError as exc:
                self._probe_failed(exc)
                ids = []
            self._check_models(ids)
            _PROBED.add(key)

    async def probe(self) -> None:
        key = (self.base_url, self.config.model)
        if not self.config.probe or key in _PROBED:
            return
        if self._probe_lock is None:
            self._probe_lock = asyncio.Lock()
        async with self._probe_lock:
            if key not in _PROBED:
                await self._probe_once(key)

    async def _probe_once(self, key: tuple[str, str]) -> None:
        try:
            ids = [m.id async for m in self._async_client().models.list()]
        except openai.OpenAIError as exc:
            self._probe_failed(exc)
            ids = []
        self._check_models(ids)
        _PROBED.add(key)

    # -- requests
    # The body goes through the client's plain ``post``: ``chat.completions.create`` first
    # walks every message part through its TypedDict transform, ~20 ms a request with
    # images, which alone would cap one event loop near 50 requests/s.

    def key(self, prompt: Prompt, params: dict[str, Any]) -> str:
        return cache_key({"model": self.config.model, "messages": prompt.messages, **params})

    def _delay(self, exc: BaseException, attempt: int) -> float:
        after = retry_after_seconds(exc)
        if after is not None:
            return min(after, MAX_RETRY_AFTER) + random.uniform(0, 0.1)
        base = min(self.config.backoff_cap, self.config.backoff * 2**attempt)
        return base * random.uniform(0.5, 1.5)

    def _record(self, response: Any, retries: int, usage: Usage) -> Completion:
        with self._usage_lock:
            for u in (usage, self.usage):
                u.requests += 1
                u.retries += retries
                if response.usage is not None:
                    u.prompt_tokens += response.usage.prompt_tokens or 0
                    u.completion_tokens += response.usage.completion_tokens or 0
        if not response.choices:
            return Completion("", "empty")
        choice = response.choices[0]
        msg = choice.message
        return Completion(
            text=msg.content or "",
            finish_reason=choice.finish_reason or "",
            refusal=getattr(msg, "refusal", None) or "",
        )

    def _lookup(
        self, prompt: Prompt, params: dict[str, Any], usage: Usage
    ) -> tuple[str, Completion | None]:
        key = self.key(prompt, params)
        return key, self._hit(key, usage)

    def _prepare(
        self, prompt: Prompt, params: dict[str, Any], usage: Usage
    ) -> tuple[str, Completion | None, list[dict[str, Any]]]:
        key, hit = self._lookup(prompt, params, usage)
        return key, hit, [] if hit is not None else prompt.materialize()

    def _hit(self, key: str, usage: Usage) -> Completion | None:
        if self.cache is None:
            return None
        hit = self.cache.get(key)
        if hit is None:
            return None
        with self._usage_lock:
            usage.cache_hits += 1
            self.usage.cache_hits += 1
        return Completion(hit["text"], hit["finish_reason"], hit.get("refusal", ""), cached=True)

    def _store(self, key: str, c: Completion) -> None:
        if self.cache is not None:
            self.cache.put(
                key, {"text": c.text, "finish_reason": c.finish_reason, "refusal": c.refusal}
            )

    def _give_up(self, exc: BaseException, attempts: int, usage: Usage) -> ChatError:
        reason, _ = classify(exc)
        with self._usage_lock:
            usage.retries += attempts - 1
            self.usage.retries += attempts - 1
        status = getattr(exc, "status_code", None)
        what = f"HTTP {status}" if status else type(exc).__name__
        return ChatError(
            reason,
            f"{what} from {self.base_url} after {attempts} attempt(s): {str(exc)[:300]}",
        )

    async def complete(self, prompt: Prompt, params: dict[str, Any], usage: Usage) -> Completion:
        """One chat completion, from the cache or the endpoint. Raises :class:`ChatError`."""
        # Hashing the prompt, reading the cache and encoding the images are CPU and disk
        # work: off the loop, in one hop, and before the semaphore, so a concurrency slot
        # is held only while a request is on the wire.
        key, hit, messages = await asyncio.to_thread(self._prepare, prompt, params, usage)
        if hit is not None:
            return hit
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        async with self._sem:
            await self.probe()
            attempt = 0
            while True:
                try:
                    response = await self._async_client().post(
                        "/chat/completions",
                        body={"model": self.config.model, "messages": messages, **params},
                        cast_to=ChatCompletion,
                    )
                    break
                except openai.OpenAIError as exc:
                    _, retryable = classify(exc)
                    if not retryable or attempt >= self.config.max_retries:
                        raise self._give_up(exc, attempt + 1, usage) from None
                    await asyncio.sleep(self._delay(exc, attempt))
                    attempt += 1
        completion = self._record(response, attempt, usage)
        if self.cache is not None:
            await asyncio.to_thread(self._store, key, completion)
        return completion

    def complete_sync(self, prompt: Prompt, params: dict[str, Any], usage: Usage) -> Completion:
        """The same as :meth:`complete`, blocking: for judges, which run in worker threads."""
        key = self.key(prompt, params)
        hit = self._hit(key, usage)
        if hit is not None:
            return hit
        self.probe_sync()
        messages = prompt.materialize()
        attempt = 0
        while True:
            try:
                response = self._sync_client().post(
                    "/chat/completions",
                    body={"model": self.config.model, "messages": messages, **params},
                    cast_to=ChatCompletion,
                )
                break
            except openai.OpenAIError as exc:
                _, retryable = classify(exc)
                if not retryable or attempt >= self.config.max_retries:
                    raise self._give_up(exc, attempt + 1, usage) from None
                time.sleep(self._delay(exc, attempt))
                attempt += 1
        completion = self._record(response, attempt, usage)
        self._store(key, completion)
        return completion

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.close()
            self._async = None
        self.close_sync()

    def close_sync(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None


def describe_endpoint(config: EndpointConfig) -> dict[str, Any]:
    """What identifies the endpoint in a manifest: never the key."""
    return {"model": config.model, "base_url": config.resolved_base_url()}
