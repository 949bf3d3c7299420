"""OpenAI's ``/v1/completions`` and ``/v1/chat/completions`` on the engine service.

A completion is a fill of one hole between ``prompt`` and ``suffix`` (fill in the middle; no
suffix: the hole ends the document), ``max_tokens`` long. A chat completion fills the answer
after the model's chat template applied to ``messages`` (instruct models; 400 for a model without
a template). With ``stream: true`` the answer comes as server-sent events, ending ``data: [DONE]``:

* by default one chunk carries the finished text (a diffusion model has no settled prefix to send
  before its last step), then a chunk with ``finish_reason``;
* with ``diffusing: true`` (as Inception's Mercury API takes it) a chunk per denoising step carries
  the whole current text, still-masked positions as ``░``; each chunk replaces the one before, and
  the last one is the answer.

Sampler settings: ``temperature``, ``top_p`` and ``seed`` map to CanvasEdit's; any other goes in
a ``sampler`` object (``{"steps": 16, "algorithm": "margin"}``), over the server's config.toml.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from canvasedit.engine.canvas import Hole
from canvasedit.engine.fill import FillResult
from canvasedit.engine.view import PassView
from canvasedit.server.app import ServerState, state_of
from canvasedit.server.errors import BadRequest, api_error, endpoint
from canvasedit.server.runner import Fields, FillJob, cut_at_stop, read_json, sse, start_fill, usage

SAMPLER_NAMES = {"temperature": "temperature", "top_p": "top_p", "seed": "seed"}


class Asked:
    """What both endpoints read from a request, checked."""

    def __init__(self, state: ServerState, data: dict[str, Any], chat: bool) -> None:
        f = Fields(data)
        state.check_model(f.text("model"))
        limit = f.integer("max_completion_tokens", None, minimum=1) if chat else None
        self.max_tokens = limit or f.integer("max_tokens", state.options.default_tokens, minimum=1)
        state.check_tokens(self.max_tokens)
        if f.integer("n", 1) != 1:
            raise BadRequest("n must be 1: one fill answers one request")
        self.stream = f.flag("stream")
        self.diffusing = f.flag("diffusing")
        self.include_usage = bool(Fields(f.table("stream_options"), "stream_options.").flag("include_usage"))
        self.stops = f.stops("stop")
        self.layer = f.sampler(SAMPLER_NAMES)
        self.echo = f.flag("echo") and not chat
        self.created = int(time.time())
        self.id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
        self.model = state.model_id


def _prompt(f: Fields) -> str:
    value = f.data.get("prompt")
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    if value is None:
        raise BadRequest("prompt is required (the text before the completion)")
    if not isinstance(value, str):
        raise BadRequest("prompt must be a string (or an array of one string): one fill answers one request")
    return value


def _messages(f: Fields) -> list[dict[str, str]]:
    messages = f.array("messages")
    if not messages:
        raise BadRequest("messages must be a non-empty array of {role, content} objects")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise BadRequest(f"messages[{i}] must be an object with a string role")
        content = m.get("content")
        if isinstance(content, list):  # content parts: only text can reach a text model
            if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                       for p in content):
                raise BadRequest(f"messages[{i}].content may hold only text parts for this model")
            content = "".join(p["text"] for p in content)
        if not isinstance(content, str):
            raise BadRequest(f"messages[{i}].content must be a string or an array of text parts")
        out.append({"role": m["role"], "content": content})
    return out


def _answer(req: Asked, result: FillResult) -> tuple[str, str]:
    """The hole's text cut at a stop string, and OpenAI's finish_reason."""
    text, stopped = cut_at_stop(result.holes[0].text, req.stops)
    short = len(result.holes[0].tokens) < req.max_tokens
    return text, "stop" if stopped or short else "length"


@endpoint
async def completions(request: Request) -> Response:
    state = state_of(request)
    data = await read_json(request, state.options.max_body_bytes)
    f = Fields(data)
    req = Asked(state, data, chat=False)
    prompt = _prompt(f)
    suffix = f.text("suffix", "") or ""
    text = prompt + suffix
    job = await start_fill(request, state.options.queue_timeout, lambda: state.service.fill(
        text, [Hole(len(prompt), len(prompt), req.max_tokens)], state.options.sampler, req.layer))
    echo = prompt if req.echo else ""

    def chunk(text: str, finish: str | None) -> dict[str, Any]:
        return {"id": req.id, "object": "text_completion", "created": req.created, "model": req.model,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}]}

    if not req.stream:
        result = await job.result(request)
        answer, finish = _answer(req, result)
        body = chunk(echo + answer, finish)
        body["usage"] = usage(job.handle, result)
        return JSONResponse(body)

    def frames(kind: str, value: Any) -> Iterator[dict[str, Any]]:
        if kind == "step" and req.diffusing:
            yield chunk(echo + _state(value), None)
        elif kind == "done":
            answer, finish = _answer(req, value)
            yield chunk(echo + answer, None)
            yield chunk("", finish)

    return _stream(job, req, frames)


@endpoint
async def chat_completions(request: Request) -> Response:
    state = state_of(request)
    data = await read_json(request, state.options.max_body_bytes)
    f = Fields(data)
    req = Asked(state, data, chat=True)
    messages = _messages(f)
    job = await start_fill(request, state.options.queue_timeout, lambda: state.service.chat(
        messages, req.max_tokens, state.options.sampler, req.layer))

    if not req.stream:
        result = await job.result(request)
        answer, finish = _answer(req, result)
        return JSONResponse({
            "id": req.id, "object": "chat.completion", "created": req.created, "model": req.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": finish}],
            "usage": usage(job.handle, result),
        })

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"id": req.id, "object": "chat.completion.chunk", "created": req.created, "model": req.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    first = True

    def frames(kind: str, value: Any) -> Iterator[dict[str, Any]]:
        nonlocal first
        if first:
            first = False
            yield chunk({"role": "assistant", "content": ""}, None)
        if kind == "step" and req.diffusing:
            yield chunk({"content": _state(value)}, None)
        elif kind == "done":
            answer, finish = _answer(req, value)
            yield chunk({"content": answer}, None)
            yield chunk({}, finish)

    return _stream(job, req, frames)


def _state(shown: PassView) -> str:
    """The hole's text at this step, masks as ``░``."""
    return shown.holes[0]


def _stream(job: FillJob, req: Asked, frames) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        result: FillResult | None = None
        async for kind, value in job.items():
            if kind == "error":
                yield sse(api_error(value).body())
                return
            if kind == "cancelled":
                return
            if kind == "done":
                result = value
            for frame in frames(kind, value):
                yield sse(frame)
        if result is not None and req.include_usage:
            yield sse({"id": req.id, "object": "chat.completion.chunk" if req.id.startswith("chat") else
                       "text_completion", "created": req.created, "model": req.model, "choices": [],
                       "usage": usage(job.handle, result)})
        yield sse("[DONE]")

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
