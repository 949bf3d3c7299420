"""Errors of the HTTP server: each one an HTTP status, an error type and a one-line message.

Every error leaves the server as a JSON body; ``body()`` gives the OpenAI envelope that the
OpenAI-compatible routes, llama.cpp's ``/infill`` and CanvasEdit's own ``/v1/fill`` share::

    {"error": {"message": "hole 3-9 lies outside the document (0-5 characters)", "type": "invalid_request_error",
               "code": 400}}

Ollama's routes answer ``{"error": "…"}`` as Ollama's clients expect (``body(ollama=True)``).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from canvasedit.config import ConfigError
from canvasedit.document import DocumentError
from canvasedit.engine.errors import BackendUnavailable, EngineError, NonFiniteLogits
from canvasedit.engine.service import ServiceBusy
from canvasedit.models.errors import ModelError, ModelNotFound
from canvasedit.params import ParamsError


class ServerError(Exception):
    """Base class of the server's own errors."""


class ApiError(ServerError):
    """A request that cannot be answered: its HTTP status, an error type and what to do about it."""

    status = 500
    kind = "server_error"

    def __init__(self, message: str, status: int | None = None, kind: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if kind is not None:
            self.kind = kind
        self.headers = dict(headers or {})

    def body(self, ollama: bool = False) -> dict[str, Any]:
        if ollama:
            return {"error": self.message}
        return {"error": {"message": self.message, "type": self.kind, "code": self.status}}


class BadRequest(ApiError):
    status, kind = 400, "invalid_request_error"


class Unauthorized(ApiError):
    status, kind = 401, "authentication_error"


class NotFound(ApiError):
    status, kind = 404, "not_found_error"


class TooLarge(ApiError):
    status, kind = 413, "request_too_large"


class Busy(ApiError):
    status, kind = 429, "rate_limit_error"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


class Unavailable(ApiError):
    status, kind = 503, "service_unavailable"


class ClientGone(ServerError):
    """The client closed the connection before its answer was ready; its fill was cancelled."""


CLIENT_CLOSED = 499
"""The status logged for a request whose client left first (nothing reaches the client)."""


def api_error(exc: BaseException) -> ApiError:
    """The HTTP answer for an exception raised while serving a request (an ``ApiError`` stays itself)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ServiceBusy):
        return Busy(str(exc), exc.retry_after)
    if isinstance(exc, (BackendUnavailable,)):
        return Unavailable(str(exc))
    if isinstance(exc, NonFiniteLogits):
        return ApiError(str(exc))
    if isinstance(exc, ModelNotFound):
        return NotFound(str(exc))
    if isinstance(exc, (EngineError, ParamsError, ModelError, DocumentError, ConfigError)):
        return BadRequest(str(exc))
    return ApiError(f"internal error: {type(exc).__name__}: {exc}")


def is_ollama(path: str) -> bool:
    return path.startswith("/api/")


def error_response(exc: ApiError, path: str) -> JSONResponse:
    return JSONResponse(exc.body(ollama=is_ollama(path)), status_code=exc.status, headers=exc.headers)


Handler = Callable[[Request], Awaitable[Response]]


def endpoint(handler: Handler) -> Handler:
    """A route handler whose every failure is a JSON error body (unexpected ones logged with a traceback)."""

    @functools.wraps(handler)
    async def answer(request: Request) -> Response:
        try:
            return await handler(request)
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED)
        except Exception as exc:  # every error is an answer, never a dropped connection
            error = api_error(exc)
            if error.status >= 500:
                logging.getLogger("canvasedit.server").error(
                    "%s %s failed: %s", request.method, request.url.path, error.message, exc_info=exc)
            return error_response(error, request.url.path)

    return answer
