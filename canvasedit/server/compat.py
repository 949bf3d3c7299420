"""The local-model APIs editors already speak: llama.cpp server's ``/infill`` and Ollama's ``/api/…``.

``POST /infill`` (llama.vim, llama.vscode): the document is ``input_extra`` chunks' text, then
``input_prefix`` + ``prompt`` (the typed start of the line), the hole, then ``input_suffix``;
``n_predict`` tokens long (``0`` answers at once: llama.vim sends such requests to hand over
context). The answer has llama.cpp's fields (``content``, ``stop``, ``timings`` …); with
``response_fields`` only those, keyed by their path (``"timings/predicted_ms"``). Streams are SSE
of ``{"content", "stop"}`` objects. ``cache_prompt``, ``samplers``, ``t_max_*`` and ``n_indent``
are accepted and have no effect: a diffusion fill has no prompt cache and no token-by-token budget.

``POST /api/generate`` (Ollama): ``prompt`` + ``suffix`` with ``options.num_predict`` tokens;
streams newline-delimited JSON by default, as Ollama does (``"stream": false`` for one object).
``system``, ``template``, ``raw`` and ``context`` are ignored: the model fills the text as given.
``GET /api/tags``, ``POST /api/show`` and ``GET /api/version`` describe the served model.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from canvasedit.engine.canvas import Hole
from canvasedit.engine.fill import FillResult
from canvasedit.server.app import ServerState, state_of
from canvasedit.server.errors import BadRequest, api_error, endpoint
from canvasedit.server.runner import Fields, FillJob, cut_at_stop, read_json, sse, start_fill, usage

LLAMA_SAMPLER = {"temperature": "temperature", "top_k": "top_k", "top_p": "top_p", "seed": "seed"}


def _tokens(state: ServerState, n: int | None) -> int:
    tokens = state.options.default_tokens if n is None or n < 0 else n
    state.check_tokens(tokens)
    return tokens


# -- llama.cpp --------------------------------------------------------------------------------------------


def _extra(f: Fields) -> str:
    out = []
    for i, chunk in enumerate(f.array("input_extra")):
        text = chunk.get("text") if isinstance(chunk, dict) else None
        if not isinstance(text, str):
            raise BadRequest(f"input_extra[{i}] must be an object with a string text")
        out.append(text)
    return "".join(out)


def _llama_answer(content: str, result: FillResult | None, job: FillJob | None, n_predict: int,
                  stopped: bool, model: str, elapsed: float) -> dict[str, Any]:
    counts = usage(job.handle, result) if job is not None and result is not None else \
        {"prompt_tokens": 0, "completion_tokens": 0}
    predicted = counts["completion_tokens"]
    ms = elapsed * 1000
    return {
        "content": content, "stop": True, "model": model, "tokens_predicted": predicted,
        "tokens_evaluated": counts["prompt_tokens"], "tokens_cached": 0, "truncated": False,
        "stop_type": "word" if stopped else "limit" if predicted >= n_predict > 0 else "eos",
        "timings": {
            "prompt_n": counts["prompt_tokens"], "prompt_ms": 0.0, "prompt_per_token_ms": 0.0,
            "prompt_per_second": 0.0, "predicted_n": predicted, "predicted_ms": round(ms, 3),
            "predicted_per_token_ms": round(ms / predicted, 3) if predicted else 0.0,
            "predicted_per_second": round(predicted / elapsed, 3) if elapsed > 0 else 0.0,
        },
    }


def _fields(answer: dict[str, Any], wanted: list[Any]) -> dict[str, Any]:
    """llama.cpp's ``response_fields``: the named values only, nested ones keyed by their ``a/b`` path."""
    out = {}
    for path in wanted:
        if not isinstance(path, str):
            raise BadRequest("response_fields must be an array of strings")
        value: Any = answer
        for part in path.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            out[path] = value
    return out


@endpoint
async def infill(request: Request) -> Response:
    state = state_of(request)
    data = await read_json(request, state.options.max_body_bytes)
    f = Fields(data)
    state.check_model(f.text("model"))
    before = _extra(f) + (f.text("input_prefix", "") or "") + (f.text("prompt", "") or "")
    after = f.text("input_suffix", "") or ""
    n_predict = _tokens(state, f.integer("n_predict"))
    stops = f.stops("stop")
    layer = f.sampler(LLAMA_SAMPLER)
    wanted = f.array("response_fields")
    stream = f.flag("stream")
    start = time.perf_counter()

    def answer(content: str, result: FillResult | None, job: FillJob | None, stopped: bool) -> dict[str, Any]:
        full = _llama_answer(content, result, job, n_predict, stopped, state.model_id, time.perf_counter() - start)
        return _fields(full, wanted) if wanted else full

    if n_predict == 0:  # context hand-over: nothing to fill
        return JSONResponse(answer("", None, None, False))
    job = await start_fill(request, state.options.queue_timeout, lambda: state.service.fill(
        before + after, [Hole(len(before), len(before), n_predict)], state.options.sampler, layer))
    if not stream:
        result = await job.result(request)
        content, stopped = cut_at_stop(result.holes[0].text, stops)
        return JSONResponse(answer(content, result, job, stopped))

    async def body() -> AsyncIterator[str]:
        async for kind, value in job.items():
            if kind == "error":
                yield sse(api_error(value).body())
            elif kind == "done":
                content, stopped = cut_at_stop(value.holes[0].text, stops)
                yield sse({"content": content, "stop": False})
                yield sse(answer("", value, job, stopped))

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


# -- Ollama ------------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@endpoint
async def generate(request: Request) -> Response:
    state = state_of(request)
    data = await read_json(request, state.options.max_body_bytes)
    f = Fields(data)
    state.check_model(f.text("model"))
    options = Fields(f.table("options"), "options.")
    prompt = f.text("prompt", "") or ""
    suffix = f.text("suffix", "") or ""
    n = _tokens(state, options.integer("num_predict"))
    stops = options.stops("stop")
    layer = {**options.sampler(LLAMA_SAMPLER, extra=None), **f.sampler({})}
    stream = f.flag("stream", True)
    model = state.model_id
    start = time.perf_counter()

    def final(result: FillResult | None, job: FillJob | None, response: str, reason: str) -> dict[str, Any]:
        counts = usage(job.handle, result) if job is not None and result is not None else \
            {"prompt_tokens": 0, "completion_tokens": 0}
        ns = int((time.perf_counter() - start) * 1e9)
        return {"model": model, "created_at": _now(), "response": response, "done": True, "done_reason": reason,
                "total_duration": ns, "load_duration": 0, "prompt_eval_count": counts["prompt_tokens"],
                "prompt_eval_duration": 0, "eval_count": counts["completion_tokens"], "eval_duration": ns}

    if not prompt and not suffix:  # Ollama's way to load a model: nothing to fill
        return JSONResponse(final(None, None, "", "load"))
    job = await start_fill(request, state.options.queue_timeout, lambda: state.service.fill(
        prompt + suffix, [Hole(len(prompt), len(prompt), n)], state.options.sampler, layer))

    def reason(result: FillResult, stopped: bool) -> str:
        return "stop" if stopped or len(result.holes[0].tokens) < n else "length"

    if not stream:
        result = await job.result(request)
        text, stopped = cut_at_stop(result.holes[0].text, stops)
        return JSONResponse(final(result, job, text, reason(result, stopped)))

    async def body() -> AsyncIterator[str]:
        async for kind, value in job.items():
            if kind == "error":
                yield json.dumps(api_error(value).body(ollama=True)) + "\n"
            elif kind == "done":
                text, stopped = cut_at_stop(value.holes[0].text, stops)
                yield json.dumps({"model": model, "created_at": _now(), "response": text, "done": False}) + "\n"
                yield json.dumps(final(value, job, "", reason(value, stopped))) + "\n"

    return StreamingResponse(body(), media_type="application/x-ndjson")


def _ollama_model(state: ServerState) -> dict[str, Any]:
    backend = state.service.require()
    return {"name": backend.model_name, "model": backend.model_name,
            "modified_at": datetime.fromtimestamp(state.started, UTC).isoformat().replace("+00:00", "Z"),
            "size": 0, "digest": "",
            "details": {"format": "gguf" if backend.name == "gguf" else "safetensors", "family": backend.name,
                        "families": [backend.name], "parameter_size": "", "quantization_level": ""}}


@endpoint
async def tags(request: Request) -> Response:
    return JSONResponse({"models": [_ollama_model(state_of(request))]})


@endpoint
async def show(request: Request) -> Response:
    state = state_of(request)
    data = await read_json(request, state.options.max_body_bytes)
    f = Fields(data)
    state.check_model(f.text("model") or f.text("name"))
    card = _ollama_model(state)
    return JSONResponse({"details": card["details"], "model_info": {"context_length": state.service.require().max_length},
                         "capabilities": ["completion", "insert"], "modified_at": card["modified_at"],
                         "template": "", "parameters": ""})


@endpoint
async def ollama_version(request: Request) -> Response:
    from canvasedit.runtime import version

    return JSONResponse({"version": version()})
