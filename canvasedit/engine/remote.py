"""A remote engine: fills run on a server; the document and its holes go over the wire, passes come back.

``RemoteEngine`` has the face of ``EngineService`` where the editor and the CLI use it — ``load``,
``backend``, ``params``, ``fill(text, holes, *layers) -> handle`` with ``events()``, ``cancel()``,
``wait()`` and ``result`` — so a front end runs fills the same way on a local model or a far one::

    engine = RemoteEngine("http://gpu-box:8765", api_key=None)   # or connect(settings.engine)
    backend = engine.load(None)                                  # asks the server what it serves
    handle = engine.fill(text, [Hole(10, 10, 8)], settings.sampler, flags)
    for shown in handle.passes():                                # as a local fill's passes (view.PassView)
        draw(shown.pieces)
    document = handle.result.text

The server is one of (``kind``; ``auto`` asks ``GET /v1/engine`` and falls back to OpenAI's API):

* ``canvasedit`` — another ``canvasedit serve`` (a GPU box): ``POST /v1/fill`` streams every step's
  deltas, passed on as the server's ``StepEvent``s with the start it sends, so every pass is drawn
  locally (``view.FillView``) and the result is the server's, token ids included. Several holes
  and revisions fill jointly.
* ``openai`` — any OpenAI-compatible server (vLLM, SGLang …): ``POST /v1/completions`` with
  ``prompt`` + ``suffix`` (fill in the middle), streamed; the text arrives as appended deltas
  (events with ``texts``) and is drawn as it comes. Holes are filled one after another, each seeing the ones before it filled.
* ``mercury`` — Inception's Mercury API (chosen for ``*.inceptionlabs.ai``): ``POST /v1/fim/completions``
  with ``diffusing: true``; each chunk carries the whole current draft, drawn as a pass.

OpenAI-style servers take no token length for a replaced range: it is asked for as one token per
three characters of the range. Partial revision needs a CanvasEdit server. Closing a stream (``cancel()``)
cancels the server's fill; errors come back as the server's one-line message.
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from canvasedit.engine.canvas import DEFAULT_HOLE_TOKENS, Hole, validate_holes
from canvasedit.engine.errors import BackendUnavailable, BadHole, EngineError
from canvasedit.engine.fill import MASK_GLYPH, Commit, FilledHole, FillResult, FillStart, StepEvent
from canvasedit.engine.service import EventSource, ServiceBusy
from canvasedit.engine.view import PassView, passes
from canvasedit.params import SamplerParams

KINDS = ("auto", "canvasedit", "openai", "mercury")
CHARS_PER_TOKEN = 3
"""A replaced range's length asked of a server that cannot count its tokens: one per this many characters."""


class RemoteError(EngineError, RuntimeError):
    """The remote engine answered with an error (its message is passed on)."""


class RemoteUnavailable(BackendUnavailable):
    """The remote engine cannot be reached (wrong URL, server down, network)."""


@dataclass(frozen=True)
class RemoteLayout:
    sees_suffix: bool = True


@dataclass
class RemoteBackend:
    """What the front ends read of a backend, for a model served elsewhere (it computes nothing here)."""

    url: str
    kind: str
    model_name: str
    device: str = "remote"
    """The server's device (``cuda:0``) when it says, else ``remote``."""
    layout: RemoteLayout = field(default_factory=RemoteLayout)
    recipe: dict[str, Any] = field(default_factory=dict)
    max_length: int = 0
    name: str = "remote"

    def describe(self) -> str:
        """One line for a status bar: ``canvasedit-tiny · remote cuda:0 @ gpu-box:8765``."""
        where = urlsplit(self.url).netloc or self.url
        device = f" {self.device}" if self.device != "remote" else ""
        return f"{self.model_name} · remote{device} @ {where}"

    def close(self) -> None:
        """Nothing to free here: the model lives on the server."""


class _Http:
    """JSON and event-stream requests to one server, each on its own connection (so each can be closed)."""

    def __init__(self, base: str, api_key: str | None, timeout: float) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteUnavailable(f"engine URL {base!r} must look like http://HOST:PORT or https://HOST")
        self.base = base
        self.parts = parts
        self.prefix = parts.path.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def open(self, method: str, path: str, body: Any = None,
             accept: str = "application/json") -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        cls = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.parts.hostname, self.parts.port, timeout=self.timeout)
        headers = {"Accept": accept, "User-Agent": "canvasedit"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            conn.request(method, self.prefix + path, body=payload, headers=headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise RemoteUnavailable(f"cannot reach the engine at {self.base}: {exc}") from None
        if response.status >= 400:
            try:
                raise self._error(response)
            finally:
                conn.close()
        return conn, response

    def json(self, method: str, path: str, body: Any = None) -> Any:
        conn, response = self.open(method, path, body)
        try:
            return json.loads(response.read())
        except ValueError as exc:
            raise RemoteError(f"the engine at {self.base} answered {path} with something that is not JSON") from exc
        finally:
            conn.close()

    def _error(self, response: http.client.HTTPResponse) -> EngineError:
        raw = response.read(65536)
        try:
            data = json.loads(raw)
            error = data.get("error", data) if isinstance(data, dict) else data
            message = error.get("message", json.dumps(error)) if isinstance(error, dict) else str(error)
        except ValueError:
            message = raw.decode("utf-8", "replace").strip()[:200] or response.reason
        if response.status == 429:
            retry = response.getheader("Retry-After", "1")
            return ServiceBusy(f"the engine at {self.base} is busy: {message}",
                               float(retry) if retry.replace(".", "", 1).isdigit() else 1.0)
        if response.status in (401, 403):
            return RemoteError(f"the engine at {self.base} refused the request ({response.status}: {message}); "
                               "set [engine] api_key in config.toml")
        return RemoteError(f"the engine at {self.base} answered {response.status}: {message}")


def _sse(response: http.client.HTTPResponse) -> Iterator[tuple[str, str]]:
    """``(event, data)`` for every server-sent event (event ``message`` when unnamed)."""
    event, data = "message", []
    while True:
        line = response.readline()
        if not line:
            return
        text = line.decode("utf-8").rstrip("\r\n")
        if not text:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif text.startswith("data:"):
            data.append(text[5:].removeprefix(" "))
        elif text.startswith("event:"):
            event = text[6:].strip()


class RemoteEngine:
    """A fill engine on a server; the same calls as ``EngineService`` where the front ends use it."""

    def __init__(self, url: str, api_key: str | None = None, kind: str = "auto", model: str | None = None,
                 timeout: float = 600.0) -> None:
        if kind not in KINDS:
            raise RemoteUnavailable(f"unknown engine kind {kind!r}; expected one of {', '.join(KINDS)}")
        base = url.strip().rstrip("/")
        base = base.removesuffix("/v1")
        self.url = base
        self.kind = kind
        self.model = model or None
        self._http = _Http(base, api_key or None, timeout)
        self._backend: RemoteBackend | None = None
        self._ids = 0
        self._lock = threading.Lock()

    @property
    def backend(self) -> RemoteBackend | None:
        return self._backend

    def require(self) -> RemoteBackend:
        return self._backend or self.load(None)

    def load(self, model: Any = None, device: str | None = None) -> RemoteBackend:
        """Ask the server what it serves; ``model`` is the name to fill with (default: the server's first)."""
        model = model or self.model
        kind = self.kind
        info: dict[str, Any] | None = None
        if kind in ("auto", "canvasedit"):
            try:
                data = self._http.json("GET", "/v1/engine")
                info = data if isinstance(data, dict) and data.get("engine") == "canvasedit" else None
            except RemoteError:
                info = None  # not a CanvasEdit server: an OpenAI-compatible one, perhaps
            if info is None and kind == "canvasedit":
                raise RemoteError(f"{self.url} is not a canvasedit serve (GET /v1/engine did not answer as one)")
        if info is not None:
            backend = RemoteBackend(self.url, "canvasedit", str(model or info["model"]), str(info.get("device", "remote")),
                                    RemoteLayout(bool(info.get("sees_suffix", True))), dict(info.get("recipe") or {}),
                                    int(info.get("max_length") or 0))
        else:
            if kind == "auto":
                kind = "mercury" if (self._http.parts.hostname or "").endswith("inceptionlabs.ai") else "openai"
            backend = RemoteBackend(self.url, kind, str(model or self._first_model()))
        self._backend = backend
        return backend

    def _first_model(self) -> str:
        data = self._http.json("GET", "/v1/models")
        models = data.get("data") if isinstance(data, dict) else None
        if not models or not isinstance(models[0], dict) or "id" not in models[0]:
            raise RemoteError(f"the engine at {self.url} lists no models (GET /v1/models); set [engine] model")
        return str(models[0]["id"])

    def close(self) -> None:
        self._backend = None

    def params(self, *layers: Mapping[str, Any] | None) -> SamplerParams:
        """The served family's recipe overridden by each layer, as the server will layer them."""
        return SamplerParams.layered(self.require().recipe, *layers)

    def fill(self, text: str, holes: Sequence[Hole], *layers: Mapping[str, Any] | None,
             params: SamplerParams | None = None) -> RemoteHandle:
        """A handle for a fill on the server; bad holes or settings raise here, before any request."""
        backend = self.require()
        ordered = validate_holes(text, holes)
        layer: dict[str, Any] = {}
        for each in layers:
            layer.update({k: v for k, v in (each or {}).items() if v is not None})
        if params is not None:
            layer = params.layer()
        SamplerParams.layered(backend.recipe, layer)  # a bad setting fails here, not on the server
        if backend.kind != "canvasedit":
            revised = [h for h in ordered if h.revise is not None]
            if revised:
                raise BadHole(f"revising {revised[0].start}-{revised[0].end} needs a canvasedit serve engine; "
                              f"{backend.kind} servers only fill holes")
        with self._lock:
            self._ids += 1
            fill_id = self._ids
        return RemoteHandle(self, backend, text, ordered, layer, fill_id)


class RemoteHandle:
    """One fill on the server: iterate ``events()`` once, ``cancel()`` from any thread, then read ``result``."""

    def __init__(self, engine: RemoteEngine, backend: RemoteBackend, text: str, holes: list[Hole],
                 layer: dict[str, Any], fill_id: int) -> None:
        self.engine = engine
        self.backend = backend
        self.text = text
        self.holes = holes
        self.layer = layer
        self.id = fill_id
        self.result: FillResult | None = None
        self.server_id: Any = None
        """The fill's id on a CanvasEdit server."""
        self.start: FillStart | None = None
        """The holes before the first step; set once the first event is out."""
        self._cancel = threading.Event()
        self._conn: http.client.HTTPConnection | None = None
        self._started = False

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set() and self.result is None

    def cancel(self) -> None:
        """Stop the fill: the stream is closed, and the server cancels its fill."""
        self._cancel.set()
        conn = self._conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)  # wakes the reading thread at once
            except OSError:
                pass

    def events(self, timeout: float | None = None) -> Iterator[StepEvent]:
        """The passes as the server streams them (``timeout`` is the server's to keep: its queue)."""
        if self._started:
            raise RuntimeError("a fill's events can be iterated only once")
        self._started = True
        if self._cancel.is_set():
            return
        steps = self._canvasedit() if self.backend.kind == "canvasedit" else self._openai()
        try:
            yield from steps
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if not self._cancel.is_set():
                raise RemoteUnavailable(f"the stream from {self.engine.url} broke off: {exc}") from None
        finally:
            if self._conn is not None:
                self._conn.close()

    def __iter__(self) -> Iterator[StepEvent]:
        """Iterating the handle is iterating its events, as a local ``FillRun`` is iterated."""
        return self.events()

    def passes(self, timeout: float | None = None) -> Iterator[PassView]:
        """``events()`` folded: every hole as it reads after each step."""
        return passes(EventSource(self, timeout))

    def wait(self, timeout: float | None = None) -> FillResult:
        for _ in self.events(timeout):
            pass
        if self.result is None:
            raise EngineError("the fill was cancelled before it finished")
        return self.result

    def _open(self, path: str, body: dict[str, Any]) -> http.client.HTTPResponse:
        conn, response = self.engine._http.open("POST", path, body, accept="text/event-stream")
        self._conn = conn
        if self._cancel.is_set():  # cancelled while connecting
            self.cancel()
        return response

    # -- a CanvasEdit server: its start and step deltas, as a local fill yields them -------------------

    def _canvasedit(self) -> Iterator[StepEvent]:
        body = {"text": self.text, "model": self.backend.model_name, "stream": True, "sampler": self.layer,
                "holes": [{"start": h.start, "end": h.end, "length": h.length, "revise": h.revise}
                          for h in self.holes]}
        response = self._open("/v1/fill", body)
        trace: list[StepEvent] = []
        for kind, data in _sse(response):
            message = json.loads(data)
            if kind == "start":
                self.start = _start(message)
                self.server_id = message.get("id")
            elif kind == "step":
                if self.start is None:
                    raise RemoteError(f"the engine at {self.engine.url} sent a step before its start")
                event = _step(message)
                trace.append(event)
                yield event
            elif kind == "result":
                self.result = _result(message, trace, self.start)
            elif kind == "error":
                error = message.get("error", {})
                raise RemoteError(f"the engine at {self.engine.url} failed: {error.get('message', error)}")
            if self._cancel.is_set():
                return

    # -- an OpenAI-compatible server: one hole after another ----------------------------------------------

    def _openai(self) -> Iterator[StepEvent]:
        start = time.perf_counter()
        mercury = self.backend.kind == "mercury"
        path = "/v1/fim/completions" if mercury else "/v1/completions"
        self.start = FillStart.masks([_asked(self.text, h) for h in self.holes])
        filled: list[FilledHole] = []
        trace: list[StepEvent] = []
        doc = self.text
        shift = 0
        tokens = 0
        for i, hole in enumerate(self.holes):
            a, b = hole.start + shift, hole.end + shift
            body: dict[str, Any] = {"model": self.backend.model_name, "prompt": doc[:a], "suffix": doc[b:],
                                    "max_tokens": _asked(self.text, hole), "stream": True,
                                    "stream_options": {"include_usage": True}}
            body.update({k: self.layer[k] for k in ("temperature", "top_p", "seed") if k in self.layer})
            if mercury:
                body["diffusing"] = True
            response = self._open(path, body)
            current = ""
            for _, data in _sse(response):
                if data.strip() == "[DONE]":
                    break
                chunk = json.loads(data)
                if chunk.get("error"):
                    error = chunk["error"]
                    raise RemoteError(f"the engine at {self.engine.url} failed: "
                                      f"{error.get('message', error) if isinstance(error, dict) else error}")
                if chunk.get("usage"):
                    tokens += int(chunk["usage"].get("completion_tokens") or 0)
                choices = chunk.get("choices") or []
                new = choices[0].get("text") if choices else None
                if not new:
                    continue
                current = new if mercury else current + new  # Mercury's drafts replace, OpenAI's deltas append
                step = len(trace) + 1
                event = StepEvent(step=step, total_steps=0, committed=(), remasked=(), resized=(), nfe=step,
                                  elapsed=time.perf_counter() - start, texts=((i, new, mercury),))
                trace.append(event)
                yield event
                if self._cancel.is_set():
                    return
            if self._cancel.is_set():
                return
            if self._conn is not None:
                self._conn.close()
            filled.append(FilledHole(i, hole.kind, current, a, a + len(current), hole.start, hole.end, ()))
            doc = doc[:a] + current + doc[b:]
            shift += len(current) - (hole.end - hole.start)
        self.result = FillResult(text=doc, holes=tuple(filled), nfe=len(trace), steps=len(trace),
                                 elapsed=time.perf_counter() - start, tokens_committed=tokens, trace=tuple(trace),
                                 params=SamplerParams.layered(self.layer), start=self.start)


def _asked(text: str, hole: Hole) -> int:
    if hole.length is not None:
        return hole.length
    if hole.start == hole.end:
        return DEFAULT_HOLE_TOKENS
    return max(1, math.ceil((hole.end - hole.start) / CHARS_PER_TOKEN))


def _start(message: Mapping[str, Any]) -> FillStart:
    """The holes before the first step, from a CanvasEdit server's ``start`` event."""
    stop_ids, end_ids = message.get("stop_ids", ()), message.get("end_ids", ())
    start = message.get("start")
    if start is None:  # every hole all masks
        return FillStart.masks([int(h["tokens"]) for h in message["holes"]], stop_ids, end_ids)
    holes = tuple(tuple((None, MASK_GLYPH) if token is None else (int(token), str(text)) for text, token in hole)
                  for hole in start)
    return FillStart(holes, frozenset(stop_ids), frozenset(end_ids))


def _step(message: Mapping[str, Any]) -> StepEvent:
    """A step's deltas as the wire carries them (``service.event_json``), as a ``StepEvent``."""
    return StepEvent(
        step=int(message["step"]), total_steps=int(message.get("total_steps", 0)),
        committed=tuple(Commit(int(c["hole"]), int(c["offset"]), int(c["token"]), str(c["text"]),
                               float(c["confidence"])) for c in message.get("committed", ())),
        remasked=tuple((int(h), int(o)) for h, o in message.get("remasked", ())),
        resized=tuple((int(h), int(o), int(d)) for h, o, d in message.get("resized", ())),
        nfe=int(message.get("nfe", 0)), elapsed=float(message.get("elapsed_s", 0.0)),
    )


def _result(message: Mapping[str, Any], trace: list[StepEvent], start: FillStart | None) -> FillResult:
    holes = tuple(FilledHole(int(h["index"]), h["kind"], h["text"], int(h["start"]), int(h["end"]),
                             int(h["original_start"]), int(h["original_end"]), tuple(h.get("ids", ())))
                  for h in message["holes"])
    return FillResult(
        text=message["text"], holes=holes, nfe=int(message["nfe"]), steps=int(message["steps"]),
        elapsed=float(message["elapsed_s"]), tokens_committed=sum(len(e.committed) for e in trace),
        trace=tuple(trace), params=SamplerParams.layered(message.get("params") or {}), start=start,
    )


def connect(url: str, api_key: str | None = None, kind: str = "auto", model: str | None = None) -> RemoteEngine:
    """A remote engine for ``url``, loaded: the server is asked what it serves (``RemoteUnavailable`` if unreachable)."""
    engine = RemoteEngine(url, api_key=api_key, kind=kind, model=model)
    engine.load(model)
    return engine


def connect_for(url: str, settings: Any, model: str | None = None) -> RemoteEngine:
    """``connect`` with config.toml's ``[engine]`` settings (``config.EngineSettings``): key, kind, model."""
    return connect(url, settings.api_key or None, settings.kind, model or settings.model or None)
