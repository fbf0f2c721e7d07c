"""One OpenAI-compatible chat endpoint, below both the teacher and the model judges.

Everything that talks HTTP lives here: image encoding into data URLs (off the event loop),
the response cache, retries with backoff, jitter and ``Retry-After``, a per-request
timeout, the first-call probe of ``/v1/models`` that turns a wrong URL or model name into
one clear error, and usage accounting. The API key comes from the environment only and is
never part of a description, a cache key, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import os
import random
import threading
import time
import typing
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self, TypeVar

import openai
from openai.types.chat import ChatCompletion
from PIL import Image

from atlas_data.config import check_keys
from atlas_data.llm.cache import DEFAULT_CACHE_DIR, ResponseCache, cache_key
from atlas_data.llm.prices import add_billed, billing_key, merge_billed, meter
from atlas_data.llm.stops import TeacherUnavailable
from atlas_data.llm.wire import (
    Completion,
    Deferred,
    cache_record,
    chat_body,
    completion_of,
    request_line,
    spent_tokens,
)
from atlas_data.ops.image_io import REQUEST_JPEG_QUALITY, data_url
from atlas_data.rejections import Rejection

T = TypeVar("T")


@dataclass
class Usage:
    """Requests, tokens, cache hits and retries spent; summed per sample, shard and run.
    ``billed``: the tokens paid for, per ``model@mode`` (what the cost is computed from)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    retries: int = 0
    billed: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, other: Usage) -> None:
        for f in fields(self):
            if f.name == "billed":
                merge_billed(self.billed, other.billed)
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.__dict__)
        doc["billed"] = {k: dict(v) for k, v in self.billed.items()}
        return doc


DEFAULT_BASE_URL = "https://api.openai.com/v1"
JPEG_QUALITY = REQUEST_JPEG_QUALITY  # of textured images sent: part of the cache key
MAX_RETRY_AFTER = 60.0

_PROBED: set[tuple[str, str]] = set()
_PROBE_LOCK = threading.Lock()


# ---------------------------------------------------------------- images


def image_digest(img: Image.Image, max_side: int) -> str:
    """Hash of the decoded pixels plus how they will be sent: the image's part of a cache key."""
    h = hashlib.sha256(f"{img.mode}{img.size}:{max_side}:{JPEG_QUALITY}".encode())
    h.update(img.tobytes())
    return h.hexdigest()


def encode_data_url(img: Image.Image, max_side: int) -> str:
    """``img`` as a base64 data URL, at most ``max_side`` on its longest side: the image
    home's :func:`~atlas_data.ops.image_io.data_url` (flat content as PNG, textured as JPEG
    q90, by the rule that decides stored images)."""
    return data_url(img, max_side)


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


@dataclass
class Prompt:
    """Messages whose images are named by digest; the real data URLs are made only on a miss."""

    messages: list[dict[str, Any]]
    max_side: int  # the run's budget: images are sent at most this large
    images: dict[str, Image.Image] = field(default_factory=dict)

    def add_image(self, img: Image.Image) -> dict[str, Any]:
        digest = image_digest(img, self.max_side)
        self.images[digest] = img
        return image_part(f"sha256:{digest}")

    def add_images(self, images: Sequence[Image.Image]) -> list[dict[str, Any]]:
        """Content parts for a sample's images: one as it is; several labelled "Image 1:"
        … "Image N:", in order, the way the teacher and the trainee see them."""
        if len(images) == 1:
            return [self.add_image(images[0])]
        parts: list[dict[str, Any]] = []
        for k, img in enumerate(images, start=1):
            parts += [{"type": "text", "text": f"Image {k}:"}, self.add_image(img)]
        return parts

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


# ---------------------------------------------------------------- retries


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


_OPERATIONAL = {"operational": True}  # how fast or where, never what the model answers


@dataclass(frozen=True)
class EndpointConfig:
    """One model behind an OpenAI-compatible URL, and how to talk to it.

    The teacher's options extend this (``teacher/openai.py``) and the flip judge uses it as
    it is: each option is declared once, here or there. Fields marked operational are not
    part of what :meth:`describe` (and so the run id) records.
    """

    model: str = ""
    base_url: str = ""
    concurrency: int = field(default=16, metadata=_OPERATIONAL)  # one vLLM server's worth
    timeout: float = field(default=120.0, metadata=_OPERATIONAL)
    max_retries: int = field(default=4, metadata=_OPERATIONAL)
    # seconds before the first retry; doubles each time, with jitter
    backoff: float = field(default=1.0, metadata=_OPERATIONAL)
    cache_dir: str | None = field(default=DEFAULT_CACHE_DIR, metadata=_OPERATIONAL)
    probe: bool = field(default=True, metadata=_OPERATIONAL)
    # --teacher-batch: a failed request's retries, and seconds between polls of a batch
    batch_retries: int = field(default=2, metadata=_OPERATIONAL)
    batch_poll: float = field(default=30.0, metadata=_OPERATIONAL)

    BACKOFF_CAP: ClassVar[float] = 30.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any], what: str = "teacher option") -> Self:
        """Built from user options (CLI ``--teacher-opt``, a deployment's dict): unknown
        keys name the known ones; values are coerced to the declared types."""
        names = [f.name for f in fields(cls)]
        check_keys(options, names, what)
        hints = typing.get_type_hints(cls)
        return cls(**{k: _coerce(v, hints[k], k) for k, v in options.items()})

    @classmethod
    def of_teacher(cls, teacher_options: Mapping[str, Any]) -> Self:
        """The teacher's endpoint (URL, model, cache, retries) for a model judge or proposer
        on the same server; the teacher's own prompt options are left out."""
        names = {f.name for f in fields(cls)}
        return cls.from_options({k: v for k, v in teacher_options.items() if k in names})

    def resolved_base_url(self) -> str:
        return (self.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")

    def describe(self) -> dict[str, Any]:
        """What identifies the model's answers (manifest, run id): never a key or a speed."""
        doc = {
            f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("operational")
        }
        doc["base_url"] = self.resolved_base_url()
        return doc


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """``--teacher-opt timeout=30`` arrives as a number or a string: make it the declared type."""
    kinds = [t for t in typing.get_args(hint) or (hint,) if t is not type(None)]
    if value is None or any(isinstance(value, t) and not isinstance(value, bool) for t in kinds):
        return value
    kind = kinds[0]
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                return str(value).lower() in ("1", "true", "yes", "on")
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {kind.__name__}, got {value!r}") from None


def api_key() -> str:
    # Local servers (vLLM, SGLang, Ollama) accept any key; the SDK insists on a non-empty one.
    return os.environ.get("OPENAI_API_KEY") or "EMPTY"


class Endpoint:
    """Cached, retried chat completions against one model.

    One async core (:meth:`complete`); :meth:`complete_sync` is a thin wrapper for callers
    in worker threads (judges): it runs the same coroutine on the endpoint's own event loop
    in a background thread, so both paths share one client, probe and retry policy.
    """

    def __init__(self, config: EndpointConfig) -> None:
        if not config.model:
            raise ValueError(
                "an OpenAI-compatible teacher needs a model: pass --model NAME "
                "(e.g. gpt-4o-mini, or the name your vLLM/Ollama server serves)"
            )
        self.config = config
        self.base_url = config.resolved_base_url()
        self.cache = ResponseCache(config.cache_dir) if config.cache_dir else None
        self.concurrency = max(1, int(config.concurrency))
        self.usage = Usage()
        self._usage_lock = threading.Lock()
        self._async: openai.AsyncOpenAI | None = None
        self._sem: asyncio.Semaphore | None = None
        self._probe_lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the sync wrapper's loop
        self._loop_lock = threading.Lock()
        self.deferring = False  # a batch pass: misses are spooled, not sent (:meth:`defer`)
        self.failed: Mapping[str, str] = {}
        self.deferred: list[dict[str, Any]] = []

    # -- the client (built lazily: a fully cached run never opens a connection)

    def _client(self) -> openai.AsyncOpenAI:
        if self._async is None:
            self._async = openai.AsyncOpenAI(
                api_key=api_key(),
                base_url=self.base_url,
                timeout=self.config.timeout,
                max_retries=0,  # retries are ours: counted, jittered, Retry-After honoured
                # The SDK's aiohttp transport: a fraction of the default transport's CPU per
                # request, which is what bounds throughput at high concurrency (BENCHMARKS.md).
                http_client=openai.DefaultAioHttpClient(timeout=self.config.timeout),
            )
        return self._async

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

    async def probe(self) -> None:
        key = (self.base_url, self.config.model)
        if not self.config.probe or key in _PROBED:
            return
        if self._probe_lock is None:
            self._probe_lock = asyncio.Lock()
        async with self._probe_lock:
            if key in _PROBED:
                return
            try:
                ids = [m.id async for m in self._client().models.list()]
            except openai.OpenAIError as exc:
                self._probe_failed(exc)
                ids = []
            self._check_models(ids)
            with _PROBE_LOCK:
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
        base = min(self.config.BACKOFF_CAP, self.config.backoff * 2**attempt)
        return base * random.uniform(0.5, 1.5)

    def _record(self, response: Any, retries: int, usage: Usage) -> Completion:
        pt, ct = spent_tokens(response.usage)
        key = billing_key(self.config.model, "live")
        with self._usage_lock:
            for u in (usage, self.usage):
                u.requests += 1
                u.retries += retries
                u.prompt_tokens += pt
                u.completion_tokens += ct
                add_billed(u.billed, key, pt, ct)
        capped = meter()
        if capped is not None:
            capped.charge(key, pt, ct)
        return completion_of(response)

    def _prepare(
        self, prompt: Prompt, params: dict[str, Any], usage: Usage
    ) -> tuple[str, Completion | None, list[dict[str, Any]]]:
        key = self.key(prompt, params)
        hit = self._hit(key, usage)
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
        return Completion.of_record(hit)

    def _store(self, key: str, c: Completion) -> None:
        if self.cache is not None:
            self.cache.put(key, cache_record(c))

    def _give_up(self, exc: BaseException, attempts: int, usage: Usage) -> Rejection:
        reason, _ = classify(exc)
        with self._usage_lock:
            usage.retries += attempts - 1
            self.usage.retries += attempts - 1
        status = getattr(exc, "status_code", None)
        what = f"HTTP {status}" if status else type(exc).__name__
        return Rejection(
            reason, f"{what} from {self.base_url} after {attempts} attempt(s): {str(exc)[:300]}"
        )

    def defer(self, failed: Mapping[str, str]) -> None:
        """Batch pass: a cache miss is spooled in :attr:`deferred` (and raises
        :class:`Deferred`) instead of sent; one of ``failed`` (retried to the end in a
        batch) is a ``teacher_batch_failed`` rejection with its error."""
        if self.cache is None:
            raise ValueError(
                "--teacher-batch keeps the batch's answers in the response cache: "
                "do not turn the cache off (cache_dir)"
            )
        self.deferring, self.failed = True, failed

    async def complete(
        self, prompt: Prompt, params: dict[str, Any], usage: Usage, expect_output: int = 0
    ) -> Completion:
        """One chat completion, from the cache or the endpoint. Raises :class:`Rejection`
        (and, in a batch pass, :class:`Deferred`; ``expect_output``: the output tokens an
        estimate projects for it)."""
        # Hashing the prompt, reading the cache and encoding the images are CPU and disk
        # work: off the loop, in one hop, and before the semaphore, so a concurrency slot
        # is held only while a request is on the wire.
        key, hit, messages = await asyncio.to_thread(self._prepare, prompt, params, usage)
        if hit is not None:
            return hit
        if self.deferring:
            if key in self.failed:
                raise Rejection("teacher_batch_failed", self.failed[key])
            body = chat_body(self.config.model, messages, params)
            self.deferred.append({**request_line(key, body), "expect_output": expect_output})
            raise Deferred(key)
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        async with self._sem:
            capped = meter()
            if capped is not None:
                capped.check()  # past the cap no new request leaves; those in flight finish
            await self.probe()
            attempt = 0
            while True:
                try:
                    response = await self._client().post(
                        "/chat/completions",
                        body=chat_body(self.config.model, messages, params),
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

    # -- the sync wrapper

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="llm-endpoint", daemon=True).start()
                self._loop = loop
            return self._loop

    def _run(self, coro: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._background_loop()).result()  # type: ignore[arg-type]

    def complete_sync(self, prompt: Prompt, params: dict[str, Any], usage: Usage) -> Completion:
        """:meth:`complete` for callers in worker threads (judges); blocks until done."""
        return self._run(self.complete(prompt, params, usage))

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.close()
            self._async = None

    def close_sync(self) -> None:
        """Close the client and stop the background loop, if the sync path started one."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
