"""The HTTP application: routes, the API key, request logs and JSON errors around the engine service.

    service = EngineService(); service.load(None)
    app = build_app(service, ServerOptions(api_key="secret"))     # an ASGI app (Starlette)
    uvicorn.run(app, host="127.0.0.1", port=8765)                # what `canvasedit serve` does

Routes (every one answers JSON, errors included, with the status code that fits):

    GET  /health  /v1/engine                       liveness; the served model, its device and context
    GET  /v1/models  /v1/models/{id}               OpenAI's model list
    POST /v1/completions  /v1/chat/completions     OpenAI (prompt + suffix is fill in the middle), SSE streams,
                                                   ``diffusing: true`` streams every intermediate state (Mercury)
    POST /infill                                   llama.cpp server's infill (llama.vim, llama.vscode)
    POST /api/generate  GET /api/tags  /api/version  POST /api/show     Ollama's, ``suffix`` fills the middle
    POST /v1/fill                                  CanvasEdit's own: several holes and revisions, step deltas as SSE
    POST /v1/instruct  /v1/expand  /v1/lengths     the editor's instructions, outlines and length search, as /v1/fill
    POST /v1/score                                 every token's probability in place (the suspicion heatmap)

With an API key every request needs ``Authorization: Bearer KEY`` (or ``X-API-Key: KEY``).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canvasedit.engine.service import EngineService
from canvasedit.server.errors import ApiError, BadRequest, NotFound, Unauthorized, endpoint, error_response

log = logging.getLogger("canvasedit.server")


@dataclass(frozen=True)
class ServerOptions:
    """What ``canvasedit serve``'s flags set."""

    api_key: str | None = None
    """Required on every request when set (``Authorization: Bearer KEY``)."""
    max_body_bytes: int = 4_000_000
    """Larger request bodies are refused with 413."""
    max_tokens: int = 2048
    """The most tokens one request may ask for, all its holes together (400 above it)."""
    default_tokens: int = 32
    """Tokens of a completion or an insertion hole that does not say how many."""
    queue_timeout: float = 60.0
    """Seconds a request waits for the model behind other fills before it is answered 429."""
    sampler: Mapping[str, Any] = field(default_factory=dict)
    """config.toml's ``[sampler]``: over the model family's recipe, under each request's own settings."""


class ServerState:
    """The service and options every handler reads (``request.app.state.canvas``)."""

    def __init__(self, service: EngineService, options: ServerOptions) -> None:
        self.service = service
        self.options = options
        self.started = time.time()

    @property
    def model_id(self) -> str:
        return self.service.require().model_name

    def check_model(self, requested: str | None) -> None:
        """A request naming another model than the one served is a 404 that names the served one."""
        if not requested:
            return
        served = self.model_id
        if requested in (served, f"{served}:latest"):
            return
        raise NotFound(f"model {requested!r} is not served here; this server serves {served!r} (GET /v1/models)",
                       kind="model_not_found")

    def check_tokens(self, tokens: int) -> None:
        if tokens > self.options.max_tokens:
            raise BadRequest(f"the request asks for {tokens} tokens; this server fills at most "
                             f"{self.options.max_tokens} per request (canvasedit serve --max-tokens)")


def state_of(request: Request) -> ServerState:
    return request.app.state.canvas


# -- routes that describe the server ------------------------------------------------------------------------


def model_card(state: ServerState) -> dict[str, Any]:
    return {"id": state.model_id, "object": "model", "created": int(state.started), "owned_by": "canvasedit"}


@endpoint
async def models(request: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [model_card(state_of(request))]})


@endpoint
async def model(request: Request) -> JSONResponse:
    state = state_of(request)
    state.check_model(request.path_params["name"])
    return JSONResponse(model_card(state))


@endpoint
async def engine_info(request: Request) -> JSONResponse:
    """What a remote CanvasEdit needs to know about this engine (``canvasedit.engine.remote``)."""
    from canvasedit.runtime import version

    backend = state_of(request).service.require()
    return JSONResponse({
        "engine": "canvasedit", "version": version(), "model": backend.model_name, "backend": backend.name,
        "device": backend.device, "max_length": backend.max_length, "sees_suffix": backend.layout.sees_suffix,
        "recipe": dict(backend.recipe), "chat_template": chat_template(backend),
    })


def chat_template(backend: Any) -> str | None:
    """The model's own chat template, where it has one: a remote client offers instructions on it exactly
    where this server can follow them (``engine.instruct.has_chat_template`` reads it there)."""
    tokenizer = getattr(backend, "tokenizer", None)
    template = getattr(tokenizer if tokenizer is not None else backend, "chat_template", None)
    return template if isinstance(template, str) and template.strip() else None


@endpoint
async def health(request: Request) -> JSONResponse:
    backend = state_of(request).service.backend
    return JSONResponse({"status": "ok" if backend is not None else "no model",
                         "model": backend.model_name if backend is not None else None})


# -- around every request -----------------------------------------------------------------------------------


class Guard:
    """ASGI middleware: the API key on every request, and one log line per request once it has ended."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        path = scope.get("path", "")
        try:
            if self.api_key is not None and not self._authorized(scope):
                await error_response(Unauthorized(
                    "this server needs an API key: send Authorization: Bearer KEY"), path)(scope, receive, sending)
                return
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client") or ("-", 0)
            log.info("%s %s %s %.3fs", scope.get("method"), path, status or "closed", time.perf_counter() - start,
                     extra={"fields": {"method": scope.get("method"), "path": path, "status": status,
                                       "client": client[0], "seconds": round(time.perf_counter() - start, 4)}})

    def _authorized(self, scope: Scope) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-api-key", "")
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        assert self.api_key is not None
        return hmac.compare_digest(given.encode(), self.api_key.encode())


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = {404: f"no such endpoint: {request.method} {request.url.path}",
               405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
    return error_response(ApiError(message, status=exc.status_code,
                                   kind="not_found_error" if exc.status_code == 404 else "invalid_request_error",
                                   headers=dict(exc.headers or {})), request.url.path)


def build_app(service: EngineService, options: ServerOptions | None = None) -> Starlette:
    """The ASGI app serving ``service``'s model (it must be loaded)."""
    from canvasedit.server import compat, fill_api, openai_api

    options = options or ServerOptions()
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/v1/engine", engine_info, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{name:path}", model, methods=["GET"]),
        Route("/v1/completions", openai_api.completions, methods=["POST"]),
        Route("/v1/chat/completions", openai_api.chat_completions, methods=["POST"]),
        Route("/v1/fill", fill_api.fill, methods=["POST"]),
        Route("/v1/instruct", fill_api.instruct, methods=["POST"]),
        Route("/v1/expand", fill_api.expand, methods=["POST"]),
        Route("/v1/score", fill_api.score, methods=["POST"]),
        Route("/v1/lengths", fill_api.lengths, methods=["POST"]),
        Route("/infill", compat.infill, methods=["POST"]),
        Route("/api/generate", compat.generate, methods=["POST"]),
        Route("/api/tags", compat.tags, methods=["GET"]),
        Route("/api/show", compat.show, methods=["POST"]),
        Route("/api/version", compat.ollama_version, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _on_http_error})
    app.state.canvas = ServerState(service, options)
    app.add_middleware(Guard, api_key=options.api_key)
    return app
