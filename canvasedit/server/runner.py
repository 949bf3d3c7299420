"""What every endpoint shares: the request's JSON read within limits, its fields checked, and a
fill of the engine service run in a worker thread with its steps handed to the event loop.

    data = await read_json(request, state.options.max_body_bytes)
    fields = Fields(data)
    job = await start_fill(state, request, lambda: state.service.fill(text, holes, state.sampler, layer))
    kind, value = job.first                  # ("step", PassView) | ("done", FillResult) — errors raised
    result = await job.result(request)       # or: async for kind, value in job.items(): …

A fill waits for the model in the engine service's bounded queue; the endpoint answers only once
the fill has started, so a full queue is a 429 and never a stream that fails. A client that goes
away cancels its fill: while the answer is being computed the connection is polled, and a stream
cancels the fill when the server stops sending it (``finally`` in the stream's generator).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from canvasedit.engine.fill import FillResult
from canvasedit.engine.service import FillHandle
from canvasedit.params import ParamsError, check_layer
from canvasedit.server.errors import BadRequest, ClientGone, TooLarge, api_error

POLL_S = 0.2
"""How often a fill that is computing an answer checks whether its client is still there."""


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object; ``TooLarge`` past ``limit`` bytes, ``BadRequest`` if not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body is {int(declared)} bytes; this server takes at most {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"the request body is over {limit} bytes, the most this server takes")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the request body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


class Fields:
    """Typed access to a request's fields; a wrong type is a ``BadRequest`` naming the field."""

    def __init__(self, data: Mapping[str, Any], where: str = "") -> None:
        self.data = data
        self.where = where

    def _name(self, key: str) -> str:
        return f"{self.where}{key}"

    def get(self, key: str, kinds: tuple[type, ...], default: Any, expected: str) -> Any:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise BadRequest(f"{self._name(key)} must be {expected}, found {json.dumps(value)[:60]}")
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        return self.get(key, (str,), default, "a string")

    def flag(self, key: str, default: bool = False) -> bool:
        return self.get(key, (bool,), default, "true or false")

    def integer(self, key: str, default: int | None = None, minimum: int | None = None) -> int | None:
        value = self.get(key, (int,), default, "an integer")
        if value is not None and minimum is not None and value < minimum:
            raise BadRequest(f"{self._name(key)} must be at least {minimum}, found {value}")
        return value

    def number(self, key: str) -> float | None:
        return self.get(key, (int, float), None, "a number")

    def array(self, key: str) -> list[Any]:
        return self.get(key, (list,), [], "an array")

    def table(self, key: str) -> dict[str, Any]:
        return self.get(key, (dict,), {}, "an object")

    def stops(self, key: str = "stop") -> list[str]:
        """A stop string or a list of them (OpenAI's ``stop``)."""
        value = self.data.get(key)
        if value is None:
            return []
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise BadRequest(f"{self._name(key)} must be a string or an array of strings")
        return [v for v in values if v]

    def sampler(self, mapped: Mapping[str, str], extra: str | None = "sampler") -> dict[str, Any]:
        """The request's sampler layer: the API's own names (``temperature`` …) and CanvasEdit's ``sampler`` object."""
        layer = {ours: self.data[theirs] for theirs, ours in mapped.items() if self.data.get(theirs) is not None}
        if extra is not None:
            layer.update(self.table(extra))
        try:
            return check_layer(layer)
        except ParamsError as exc:
            raise BadRequest(f"sampler setting {exc}") from None


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event; ``data`` is JSON unless it is already a string (``[DONE]``)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"


class FillJob:
    """A fill of the engine service running in its own thread; its items arrive on the event loop.

    Items are ``("step", PassView)`` (the step's deltas and every hole after it, folded in the fill's
    thread), then ``("done", FillResult)``; or ``("error", exception)``, or ``("cancelled", None)``
    when the fill was cancelled before it finished.
    """

    def __init__(self, handle: FillHandle, queue_timeout: float | None) -> None:
        self.handle = handle
        self.first: tuple[str, Any] | None = None
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._timeout = queue_timeout
        self._thread = threading.Thread(target=self._work, name=f"canvasedit-fill-{handle.id}", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            for shown in self.handle.passes(self._timeout):
                self._put(("step", shown))
            result = self.handle.result
            self._put(("done", result) if result is not None else ("cancelled", None))
        except Exception as exc:  # noqa: BLE001  every failure goes to the client as an error body
            self._put(("error", exc))

    def _put(self, item: tuple[str, Any]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone: the server is shutting down
            self.handle.cancel()

    def cancel(self) -> None:
        self.handle.cancel()

    async def next(self, request: Request | None = None) -> tuple[str, Any]:
        """The next item; with ``request``, a client that has gone away cancels the fill (``ClientGone``)."""
        while True:
            # checked before every item too: a fill whose steps come faster than POLL_S never times out
            if request is not None and await request.is_disconnected():
                self.cancel()
                raise ClientGone("the client closed the connection; its fill was cancelled")
            try:
                return await asyncio.wait_for(self._queue.get(), POLL_S)
            except TimeoutError:
                pass

    async def items(self) -> AsyncIterator[tuple[str, Any]]:
        """Every item from the first to the last; stopping early (the client left) cancels the fill."""
        try:
            item = self.first
            while item is not None:
                yield item
                if item[0] != "step":
                    return
                item = await self.next()
        finally:
            self.cancel()  # no effect on a finished fill

    async def result(self, request: Request) -> FillResult:
        """Wait for the result, cancelling the fill if the client goes away; errors are raised."""
        try:
            item = self.first
            while item is not None and item[0] == "step":
                item = await self.next(request)
        except BaseException:
            self.cancel()
            raise
        assert item is not None
        return _value(item)


def _value(item: tuple[str, Any]) -> Any:
    kind, value = item
    if kind == "error":
        raise api_error(value)
    if kind == "cancelled":
        raise ClientGone("the fill was cancelled")
    return value


async def start_fill(request: Request, queue_timeout: float | None, make: Callable[[], FillHandle]) -> FillJob:
    """Start the fill ``make`` returns (tokenizing in a worker thread) and wait until it has begun.

    Raises the ``ApiError`` for bad input or a full queue before any answer is sent.
    """
    try:
        handle = await run_in_threadpool(make)
    except Exception as exc:  # bad holes, settings or messages: the client's error
        raise api_error(exc) from exc
    job = FillJob(handle, queue_timeout)
    first = await job.next(request)
    if first[0] in ("error", "cancelled"):
        _value(first)
    job.first = first
    return job


def usage(handle: FillHandle, result: FillResult) -> dict[str, int]:
    """OpenAI's token counts: the document's tokens the model read, and the tokens written into the holes."""
    canvas = handle.run.canvas
    masked = sum(span.length for span in canvas.spans)
    completion = sum(len(h.tokens) for h in result.holes)
    prompt = max(0, len(canvas.ids) - masked)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
