"""A real OpenAI-compatible HTTP server on 127.0.0.1: a stand-in model for tests and benchmarks.

It speaks ``GET /v1/models`` and ``POST /v1/chat/completions`` over real HTTP (FastAPI +
uvicorn), validates requests the way the real API does (model exists, roles, content
parts, base64 image data URLs that decode, ``response_format``), and records what it
received. It is a mock only at the model's edge:

* a *teaching* request (``response_format`` json_schema ``atlas_reasoning``, or a system
  prompt asking for the reasoning JSON) gets well-formed reasoning built from the hints the
  prompt carries (the correct answer, what each operation revealed);
* a *grounding* request (a system prompt asking where the evidence is) gets the box of the
  smallest line of text rapidocr finds in the image, in the pixels of the image it was
  sent, or ``{"box": null}`` when there is none: a stand-in that grounds small text;
* a *pointing* request (points to count, boxes to compare, an anchor and a target) is
  answered from the things :func:`atlas_data.ops.blobs.blobs` finds in the image, picked
  by the colour the question names;
* any other question is answered *from the pixels*: it runs rapidocr on the last image and
  answers with the most confident line tall enough to be legible (``min_line_px``), so a
  zoom on small text really flips its answer;
* faults can be injected per request (a plan consumed in order, then a default mode):
  ``429`` (with Retry-After), ``500``, ``slow`` (past the client's timeout), ``malformed``,
  ``refusal``, ``refusal_text``, ``truncated``, ``offformat``, ``fenced``;
* the teacher's habits are a setting (``teach_style``, see :data:`TEACH_STYLES`): ``honest``
  (the default), ``respell`` (the right answer in another spelling: "3.0" for "3", "(B)" for
  "B", the option letter for an option's text) and ``slip`` (the preamble states the
  answer before the first operation, as a teacher told the answer does).

Run it alone: ``python -m tests.openai_server --port 8000 --latency 0.2``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import email.message
import email.parser
import io
import json
import math
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

MODES = (
    "ok",
    "429",
    "500",
    "slow",
    "malformed",
    "refusal",
    "refusal_text",
    "truncated",
    "offformat",
    "fenced",
)
TEACH_STYLES = ("honest", "respell", "slip")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_DATA_URL = re.compile(r"^data:image/(png|jpeg|jpg|webp|gif);base64,(.+)$", re.DOTALL)
ROLES = ("system", "user", "assistant", "tool", "developer")


@dataclass
class StandIn:
    """The server's state; tests set faults and read ``records``."""

    models: list[str] = field(default_factory=lambda: ["stand-in-vlm", "stand-in-judge"])
    latency: float = 0.0
    default_mode: str = "ok"
    plan: deque[str] = field(default_factory=deque)
    slow_seconds: float = 10.0
    retry_after: str = "1"
    min_line_px: float = 20.0
    teach_style: str = "honest"  # one of TEACH_STYLES
    records: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # the Files and Batches endpoints
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch_plan: deque[str] = field(default_factory=deque)  # per created batch, then ok
    batch_seconds: float = 0.2  # how long a batch stays in progress
    executed: Counter[str] = field(default_factory=Counter)  # custom_id -> times run

    def next_batch_mode(self) -> str:
        with self.lock:
            return self.batch_plan.popleft() if self.batch_plan else "ok"

    def next_mode(self) -> str:
        with self.lock:
            return self.plan.popleft() if self.plan else self.default_mode

    def chat_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.records if r["path"] == "/v1/chat/completions"]

    def reset(self) -> None:
        with self.lock:
            self.records.clear()
            self.plan.clear()
            self.default_mode = "ok"
            self.teach_style = "honest"


def _validate(body: dict[str, Any], models: list[str]) -> tuple[list[Image.Image], str]:
    """Raise ValueError like the real API would; return the images and the user text."""
    if not isinstance(body.get("model"), str):
        raise ValueError("'model' is required and must be a string")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty array")
    images: list[Image.Image] = []
    texts: list[str] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise ValueError(f"messages[{i}].role must be one of {ROLES}")
        content = m.get("content")
        if isinstance(content, str):
            texts.append(content)
            continue
        if not isinstance(content, list):
            raise ValueError(f"messages[{i}].content must be a string or an array of parts")
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "image_url":
                url = (part.get("image_url") or {}).get("url")
                match = _DATA_URL.match(url or "")
                if not match:
                    raise ValueError(f"messages[{i}].content[{j}]: invalid image data URL")
                try:
                    img = Image.open(io.BytesIO(base64.b64decode(match.group(2), validate=True)))
                except (binascii.Error, OSError) as exc:
                    raise ValueError(f"messages[{i}].content[{j}]: undecodable image") from exc
                images.append(img)
            else:
                raise ValueError(f"messages[{i}].content[{j}]: unknown content part {kind!r}")
    rf = body.get("response_format")
    if rf is not None:
        if rf.get("type") not in ("text", "json_object", "json_schema"):
            raise ValueError("response_format.type must be text, json_object or json_schema")
        if rf["type"] == "json_schema":
            js = rf.get("json_schema") or {}
            if not isinstance(js.get("name"), str) or not isinstance(js.get("schema"), dict):
                raise ValueError("response_format.json_schema needs a name and a schema")
    return images, "\n".join(texts)


def _teaching(body: dict[str, Any], text: str) -> bool:
    rf = body.get("response_format") or {}
    if rf.get("type") == "json_schema":
        return True
    return '"preamble"' in text


def respell(answer: str, text: str) -> str:
    """The right answer as a model may well write it: an integer as "3.0", a decimal with
    one more zero, a letter as "(B)", an option's text as its letter "(C)"."""
    options = re.search(r"^Options: (.*)$", text, re.MULTILINE)
    choices = [c.strip() for c in options.group(1).split(";")] if options else []
    if answer in choices:
        return f"({chr(65 + choices.index(answer))})"
    if re.fullmatch(r"\d+", answer):
        return f"{answer}.0"
    if re.fullmatch(r"\d+\.\d+", answer):
        return f"{answer}0"
    if re.fullmatch(r"[A-Z]", answer):
        return f"({answer})"
    return answer


def teach_answer(text: str, style: str = "honest") -> str:
    """Reasoning JSON from the hints in the prompt: the stand-in 'model' uses what it is told
    (and, by ``style``, spells the answer its own way or lets it slip into the preamble)."""
    m = re.search(r"The correct answer is: (.*)", text)
    answer = m.group(1).strip() if m else "unknown"
    preamble = "The detail the question asks about is hard to make out at this size."
    if style == "slip":
        preamble = f"It reads {answer}; let me check that. {preamble}"
    elif style == "respell":
        answer = respell(answer, text)
    counted = re.search(r"Number of operations: (\d+)", text)
    n = int(counted.group(1)) if counted else 1
    steps = []
    for k in range(1, n + 1):
        op = re.search(
            rf"Operation {k}: (.*?)\.(?: A checker noted that its result shows: (.*)\.)?$",
            text,
            re.MULTILINE,
        )
        what = op.group(1) if op else "look more closely"
        seen = op.group(2) if op and op.group(2) else "the detail is clear"
        steps.append(
            {
                "intent": f"To see this better, I will {what}.",
                "observation": f"In the result, {seen}.",
            }
        )
    return json.dumps(
        {
            "preamble": preamble,
            "steps": steps,
            "conclusion": "That answers the question.",
            "answer": answer,
        }
    )


_OCR_LOCK = threading.Lock()
_OCR: Any = None


def _read(img: Image.Image) -> list[Any]:
    global _OCR
    from atlas_data.explore.text import OcrEngine

    with _OCR_LOCK:
        if _OCR is None:
            _OCR = OcrEngine()
    return _OCR.read(img.convert("RGB"))


def ground(img: Image.Image) -> str:
    """Where the evidence is, as the stand-in sees it: the smallest line of text."""
    lines = [ln for ln in _read(img) if ln.text.strip()]
    if not lines:
        return json.dumps({"box": None})
    small = min(lines, key=lambda ln: ln.box[3] - ln.box[1])
    return json.dumps({"box": [round(v) for v in small.box]})


COLOUR_WORDS = {"red": (210, 40, 40), "blue": (40, 70, 210), "yellow": (240, 210, 40)}


def point(img: Image.Image, text: str) -> str:
    """What the stand-in points at: things found in the pixels, those of the colour the
    question names first (the anchor of a relation, the objects of a count)."""
    from atlas_data.ops.blobs import blobs
    from atlas_data.ops.geometry import area, centre

    rgb = img.convert("RGB")
    found = blobs(rgb)
    words = [w for w in re.findall(r"[a-z]+", text.lower().split("\n")[-1]) if w in COLOUR_WORDS]

    def coloured(b: list[float]) -> bool:
        if not words:
            return True
        cx, cy = centre(b)
        c = rgb.getpixel((int(cx), int(cy)))
        assert isinstance(c, tuple)
        return math.dist(c, COLOUR_WORDS[words[0]]) < 90

    def rounded(b: list[float]) -> list[int]:
        return [round(v) for v in b]

    if '"points"' in text:
        return json.dumps({"points": [centre(b) for b in found if coloured(b)]})
    if '"boxes"' in text:
        biggest = sorted(found, key=area)[-2:]  # the larger one last: the answer to "bigger"
        return json.dumps({"boxes": [rounded(b) for b in biggest]})
    anchors = [b for b in found if coloured(b)]
    if not anchors or len(found) < 2:
        return json.dumps({"anchor": None, "target": None})
    anchor = anchors[0]
    target = min((b for b in found if b is not anchor),
                 key=lambda b: math.dist(centre(b), centre(anchor)))  # fmt: skip
    return json.dumps({"anchor": rounded(anchor), "target": rounded(target)})


def read_answer(img: Image.Image, min_line_px: float) -> str:
    """Answer from the pixels: the most confident legible line, else 'unknown'."""
    lines = [ln for ln in _read(img) if ln.box[3] - ln.box[1] >= min_line_px]
    if not lines:
        return "unknown"
    return max(lines, key=lambda ln: ln.score).text


def _tokens(text: str) -> int:
    """Tokens as the stand-in bills them: words and punctuation marks (not bytes/4)."""
    return len(_TOKEN.findall(text))


def image_tokens(model: str, img: Image.Image) -> int:
    """The bill for an image, by the published rule of the model the stand-in serves under
    that name (OpenAI's tiles or patches for ``gpt-*``; Qwen2-VL's 28 px patches for the
    others). The rules are checked against their publishers' worked examples in
    ``tests/test_costs.py``; the stand-in's text tokens are its own (words, not bytes/4)."""
    from atlas_data.llm.count import image_tokens as published_rule

    return published_rule(model, img.width, img.height)


def _completion(
    model: str,
    content: str | None,
    finish: str,
    refusal: str | None = None,
    prompt_tokens: int = 0,
) -> dict[str, Any]:
    completion_tokens = _tokens(content or refusal or "")
    return {
        "id": f"chatcmpl-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


async def respond(state: StandIn, raw: bytes, rec: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One chat completion: (HTTP status, JSON body), faults included; ``rec`` is filled in
    with what was asked (live requests and batch lines alike)."""
    try:
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        images, text = _validate(body, state.models)
    except ValueError as exc:
        rec.update(status=400, error=str(exc))
        return 400, _error_body(str(exc), "invalid_request_error")
    model = body["model"]
    if model not in state.models:
        rec.update(status=404, model=model)
        message = f"The model `{model}` does not exist"
        return 404, _error_body(message, "invalid_request_error", "model_not_found")
    mode = state.next_mode()
    rec.update(
        model=model,
        mode=mode,
        images=[(im.format, im.size) for im in images],
        text=text,
        body_bytes=len(raw),
        response_format=(body.get("response_format") or {}).get("type"),
        max_tokens=body.get("max_tokens"),
    )
    if state.latency:
        await asyncio.sleep(state.latency)
    if mode == "429":
        rec["status"] = 429
        return 429, _error_body(
            "Rate limit reached, retry later", "requests", "rate_limit_exceeded"
        )
    if mode == "500":
        rec["status"] = 500
        return 500, _error_body("The server had an error", "server_error")
    if mode == "slow":
        await asyncio.sleep(state.slow_seconds)
    teaching = _teaching(body, text)
    content: str | None
    if teaching:
        content = teach_answer(text, state.teach_style)
    elif images and text.startswith("You locate evidence"):
        content = await asyncio.to_thread(ground, images[-1])
    elif images and text.startswith("You point at"):
        content = await asyncio.to_thread(point, images[-1], text)
    elif images:  # the first image that reads (a question over several images: any of them)
        content = "unknown"
        for img in images:
            content = await asyncio.to_thread(read_answer, img, state.min_line_px)
            if content != "unknown":
                break
    else:
        content = "unknown"
    finish, refusal = "stop", None
    assert content is not None
    if mode == "malformed":
        content = content[: len(content) // 2] + ' "oops": ,}'
    elif mode == "refusal":
        content, refusal = None, "I'm sorry, I can't help with that request."
    elif mode == "refusal_text":
        content = "I'm sorry, but I can't help with identifying that."
    elif mode == "truncated":
        content, finish = content[: len(content) // 3], "length"
    elif mode == "offformat":
        content = json.dumps({"reasoning": "it is the answer", "final": "x"})
    elif mode == "fenced":
        content = f"Here is the reasoning:\n```json\n{content}\n```\nHope this helps!"
    rec["status"] = 200
    rec["teaching"] = teaching
    prompt = sum(3 + _tokens(t) for t in _message_texts(body)) + 3
    prompt += sum(image_tokens(model, im) for im in images)
    return 200, _completion(model, content, finish, refusal, prompt)


def _message_texts(body: dict[str, Any]) -> list[str]:
    """The text of each message (its parts joined), as the stand-in's tokenizer bills it."""
    out = []
    for m in body["messages"]:
        c = m.get("content")
        if isinstance(c, list):
            c = "\n".join(p.get("text", "") for p in c if p.get("type") == "text")
        out.append(c or "")
    return out


def _error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def build_app(state: StandIn) -> FastAPI:
    app = FastAPI()

    def record(request: Request, **extra: Any) -> dict[str, Any]:
        rec = {
            "path": request.url.path,
            "time": time.monotonic(),
            "auth": request.headers.get("authorization", ""),
            **extra,
        }
        with state.lock:
            state.records.append(rec)
        return rec

    @app.get("/v1/models")
    async def models(request: Request) -> JSONResponse:
        record(request)
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "atlas-tests"}
                    for m in state.models
                ],
            }
        )

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        raw = await request.body()
        status, payload = await respond(state, raw, record(request))
        resp = JSONResponse(payload, status)
        if status == 429:
            resp.headers["Retry-After"] = state.retry_after
        return resp

    batches_api(app, state, record)
    return app


BATCH_MODES = ("ok", "expire", "errors", "short", "fail")


def _multipart(raw: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (filename, bytes)."""
    msg = email.parser.BytesParser().parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    out: dict[str, tuple[str | None, bytes]] = {}
    parts = msg.get_payload() if msg.is_multipart() else []
    for part in parts if isinstance(parts, list) else []:
        assert isinstance(part, email.message.Message)
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        out[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return out


def _new_id(prefix: str) -> str:
    return f"{prefix}-{time.time_ns():x}"


def batches_api(app: FastAPI, state: StandIn, record: Any) -> None:
    """``/v1/files`` and ``/v1/batches`` as the Batch API serves them. A batch's lines are
    run (through :func:`respond`) once it has been in progress ``batch_seconds``; a plan
    mode per batch injects the API's faults: ``expire`` (half run, the rest in the error
    file as batch_expired), ``errors`` (every other line a 500 in the error file), ``short``
    (the last line missing from every file), ``fail`` (refused at validation)."""

    def add_file(content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": _new_id("file"),
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        with state.lock:
            state.files[meta["id"]] = {**meta, "content": content}
        return meta

    @app.post("/v1/files")
    async def upload(request: Request) -> JSONResponse:
        fields = _multipart(await request.body(), request.headers.get("content-type", ""))
        record(request)
        filename, content = fields.get("file", (None, b""))
        purpose = fields.get("purpose", (None, b""))[1].decode()
        if purpose != "batch" or not content:
            return JSONResponse(_error_body("a file and purpose=batch are required", "x"), 400)
        return JSONResponse(add_file(content, filename or "upload.jsonl", purpose))

    @app.get("/v1/files/{file_id}/content")
    async def content(file_id: str) -> Response:
        found = state.files.get(file_id)
        if found is None:
            return JSONResponse(_error_body(f"no file {file_id}", "invalid_request_error"), 404)
        return Response(found["content"], media_type="application/octet-stream")

    def public(b: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in b.items() if not k.startswith("_")}

    @app.post("/v1/batches")
    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        record(request, body=body)
        source = state.files.get(body.get("input_file_id", ""))
        if source is None or body.get("completion_window") != "24h":
            return JSONResponse(_error_body("bad input_file_id or window", "x"), 400)
        now = int(time.time())
        batch = {
            "id": _new_id("batch"),
            "object": "batch",
            "endpoint": body.get("endpoint"),
            "errors": None,
            "input_file_id": source["id"],
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "expires_at": now + 86400,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
            "_mode": state.next_batch_mode(),
            "_started": time.monotonic(),
        }
        with state.lock:
            state.batches[batch["id"]] = batch
        return JSONResponse(public(batch))

    @app.get("/v1/batches")
    async def listing(limit: int = 20, after: str | None = None) -> JSONResponse:
        ordered = sorted(state.batches.values(), key=lambda b: b["_started"], reverse=True)
        if after is not None:
            ids = [b["id"] for b in ordered]
            ordered = ordered[ids.index(after) + 1 :] if after in ids else []
        page = ordered[:limit]
        return JSONResponse(
            {
                "object": "list",
                "data": [public(b) for b in page],
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(ordered) > limit,
            }
        )

    @app.get("/v1/batches/{batch_id}")
    async def retrieve(batch_id: str) -> JSONResponse:
        batch = state.batches.get(batch_id)
        if batch is None:
            return JSONResponse(_error_body(f"no batch {batch_id}", "invalid_request_error"), 404)
        if batch["status"] == "validating":
            await validate(batch)
        elif (
            batch["status"] == "in_progress"
            and time.monotonic() - batch["_started"] >= state.batch_seconds
        ):
            await run_batch(batch)
        return JSONResponse(public(batch))

    @app.post("/v1/batches/{batch_id}/cancel")
    async def cancel(batch_id: str) -> JSONResponse:
        batch = state.batches[batch_id]
        if batch["status"] in ("validating", "in_progress"):
            batch["_mode"] = "cancel"
            await run_batch(batch)
        return JSONResponse(public(batch))

    async def validate(batch: dict[str, Any]) -> None:
        lines = state.files[batch["input_file_id"]]["content"].decode().splitlines()
        problems = []
        ids: set[str] = set()
        for n, raw in enumerate(lines, start=1):
            try:
                line = json.loads(raw)
                assert line["method"] == "POST" and line["url"] == batch["endpoint"]
                assert isinstance(line["body"], dict) and line["custom_id"] not in ids
                ids.add(line["custom_id"])
            except (json.JSONDecodeError, KeyError, AssertionError, TypeError):
                problems.append({"code": "invalid_request", "message": "bad line", "line": n})
        if batch["_mode"] == "fail" and not problems:
            problems.append(
                {"code": "model_not_found", "message": "the model does not exist", "line": 1}
            )
        if problems:
            batch.update(status="failed", failed_at=int(time.time()))
            batch["errors"] = {"object": "list", "data": problems}
            return
        batch["request_counts"]["total"] = len(lines)
        batch.update(status="in_progress", in_progress_at=int(time.time()))
        batch["_started"] = time.monotonic()

    async def run_batch(batch: dict[str, Any]) -> None:
        lines = [json.loads(x) for x in state.files[batch["input_file_id"]]["content"].splitlines()]
        mode = batch["_mode"]
        batch["status"] = "finalizing"  # once: a concurrent retrieve does not run it again
        out: list[dict[str, Any]] = []
        err: list[dict[str, Any]] = []
        run_upto = len(lines) // 2 if mode in ("expire", "cancel") else len(lines)
        for i, line in enumerate(lines):
            key = line["custom_id"]
            if i >= run_upto:
                code = "batch_expired" if mode == "expire" else "batch_cancelled"
                err.append(
                    {
                        "id": _new_id("batch_req"),
                        "custom_id": key,
                        "response": None,
                        "error": {"code": code, "message": "not run before the window"},
                    }
                )
                continue
            if mode == "short" and i == len(lines) - 1:
                continue
            if mode == "errors" and i % 2 == 0:
                err.append(
                    {
                        "id": _new_id("batch_req"),
                        "custom_id": key,
                        "error": None,
                        "response": {
                            "status_code": 500,
                            "request_id": _new_id("req"),
                            "body": _error_body("The server had an error", "server_error"),
                        },
                    }
                )
                continue
            rec = {"path": "batch-line", "time": time.monotonic(), "custom_id": key}
            status, payload = await respond(state, json.dumps(line["body"]).encode(), rec)
            with state.lock:
                state.executed[key] += 1
            entry = {
                "id": _new_id("batch_req"),
                "custom_id": key,
                "error": None,
                "response": {"status_code": status, "request_id": _new_id("req"), "body": payload},
            }
            (out if status == 200 else err).append(entry)
        counts = batch["request_counts"]
        counts.update(completed=len(out), failed=len(err))
        if out:
            blob = "".join(json.dumps(x) + "\n" for x in out).encode()
            batch["output_file_id"] = add_file(blob, "output.jsonl", "batch_output")["id"]
        if err:
            blob = "".join(json.dumps(x) + "\n" for x in err).encode()
            batch["error_file_id"] = add_file(blob, "errors.jsonl", "batch_output")["id"]
        final = {"expire": "expired", "cancel": "cancelled"}.get(mode, "completed")
        batch.update(status=final, completed_at=int(time.time()))


class ServerThread:
    """uvicorn in a background thread on 127.0.0.1 (port 0: a free one); ``stop()`` ends it."""

    def __init__(self, state: StandIn | None = None, port: int = 0) -> None:
        self.state = state or StandIn()
        self.config = uvicorn.Config(
            build_app(self.state),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            backlog=2048,
            timeout_graceful_shutdown=1,
            access_log=False,
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="openai-stand-in", daemon=True)
        self.port = 0

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the stand-in OpenAI server did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each reply")
    parser.add_argument("--mode", default="ok", choices=MODES, help="default behaviour")
    parser.add_argument(
        "--teach-style", default="honest", choices=TEACH_STYLES, help="the teacher's habits"
    )
    args = parser.parse_args()
    state = StandIn(latency=args.latency, default_mode=args.mode, teach_style=args.teach_style)
    config = uvicorn.Config(
        build_app(state),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        lifespan="off",
        backlog=2048,
        access_log=False,
    )
    print(f"stand-in OpenAI server on http://127.0.0.1:{args.port}/v1", flush=True)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
