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
  and revisions fill jointly. What only a diffusion editor does runs there too, with
  ``EngineService``'s calls and answers: ``instruct`` (``/v1/instruct``), ``expand`` (``/v1/expand``),
  ``search_lengths`` (``/v1/lengths``, its handle's ``run`` the search) and ``score`` (``/v1/score``).
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
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from canvasedit.engine.canvas import DEFAULT_HOLE_TOKENS, Hole, validate_holes
from canvasedit.engine.errors import BackendUnavailable, BadHole, EngineError
from canvasedit.engine.fill import MASK_GLYPH, Commit, FilledHole, FillResult, FillStart, StepEvent
from canvasedit.engine.lengths import Candidate, CandidateStep
from canvasedit.engine.score import ScoreResult, TokenScore
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
    chat_template: str | None = None
    """The served model's chat template (a CanvasEdit server's): instructions are offered where it has one."""

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
                                    int(info.get("max_length") or 0), chat_template=info.get("chat_template") or None)
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
        layer = self._layer(backend, layers, params)
        if backend.kind != "canvasedit":
            revised = [h for h in ordered if h.revise is not None]
            if revised:
                raise BadHole(f"revising {revised[0].start}-{revised[0].end} needs a canvasedit serve engine; "
                              f"{backend.kind} servers only fill holes")
        return RemoteHandle(self, backend, text, ordered, layer, self._next_id())

    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    @staticmethod
    def _layer(backend: RemoteBackend, layers: Sequence[Mapping[str, Any] | None],
               params: SamplerParams | None) -> dict[str, Any]:
        """The layers as one (or ``params`` whole); a bad setting fails here, not on the server."""
        layer: dict[str, Any] = {}
        for each in layers:
            layer.update({k: v for k, v in (each or {}).items() if v is not None})
        if params is not None:
            layer = params.layer()
        SamplerParams.layered(backend.recipe, layer)
        return layer

    # -- what only a diffusion editor does: on a CanvasEdit server, as EngineService does them ---------------

    def _diffusion(self, what: str) -> RemoteBackend:
        backend = self.require()
        if backend.kind != "canvasedit":
            raise RemoteError(f"{what} needs a canvasedit serve engine; {backend.kind} servers only fill holes")
        return backend

    def _request(self, backend: RemoteBackend, text: str, layer: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return {"text": text, "model": backend.model_name, "stream": True, "sampler": layer, **fields}

    def instruct(self, text: str, start: int, end: int, instruction: str, *layers: Mapping[str, Any] | None,
                 params: SamplerParams | None = None, length: int | None = None) -> RemoteHandle:
        """A handle for rewriting ``text[start:end]`` as ``instruction`` asks (``POST /v1/instruct``)."""
        from canvasedit.engine.instruct import check_request

        backend = self._diffusion("following an instruction")
        check_request(text, start, end, instruction, length)
        layer = self._layer(backend, layers, params)
        body = self._request(backend, text, layer, start=start, end=end, instruction=instruction, length=length)
        return RemoteHandle(self, backend, text, [Hole(start, end, length)], layer, self._next_id(),
                            ("/v1/instruct", body))

    def expand(self, text: str, language: str | None, *layers: Mapping[str, Any] | None,
               params: SamplerParams | None = None, length: int | None = None,
               items: Sequence[Any] | None = None) -> RemoteHandle:
        """A handle for every outline item's body (``POST /v1/expand``); ``handle.items`` are the items filled."""
        from canvasedit.engine.outline import NOTHING_TO_EXPAND, NoOutline, outline_items

        backend = self._diffusion("expanding an outline")
        found = outline_items(text, language, length or DEFAULT_HOLE_TOKENS) if items is None else list(items)
        if not found:
            raise NoOutline(NOTHING_TO_EXPAND)
        layer = self._layer(backend, layers, params)
        body = self._request(backend, text, layer, language=language, items=[asdict(i) for i in found])
        handle = RemoteHandle(self, backend, text, [], layer, self._next_id(), ("/v1/expand", body))
        handle.items = tuple(sorted(found, key=lambda i: i.start))
        return handle

    def search_lengths(self, text: str, holes: Sequence[Hole], *layers: Mapping[str, Any] | None,
                       params: SamplerParams | None = None) -> RemoteSearchHandle:
        """A handle for a length search (``POST /v1/lengths``): ``events()`` are ``CandidateStep``s, ``result``
        the best candidate's fill, ``handle.run`` the search (``plans``, ``requested``, ``candidates``, ``best``)."""
        backend = self._diffusion("a length search")
        ordered = validate_holes(text, holes)
        for hole in ordered:
            if hole.revise is not None:
                raise BadHole(f"hole {hole.start}-{hole.end}: a length search needs insertions or replacements, "
                              f"not a partial revision")
        layer = self._layer(backend, layers, params)
        body = self._request(backend, text, layer, holes=_holes_json(ordered))
        return RemoteSearchHandle(self, backend, text, ordered, layer, self._next_id(), ("/v1/lengths", body))

    def score(self, text: str, start: int = 0, end: int | None = None, timeout: float | None = None,
              **options: Any) -> ScoreResult:
        """Every token's probability in place (``POST /v1/score``); ``timeout`` is the server's (its queue)."""
        backend = self._diffusion("scoring text in place")
        end = len(text) if end is None else end
        if not 0 <= start <= end <= len(text):
            raise BadHole(f"range {start}-{end} lies outside the document (0-{len(text)} characters)")
        unknown = set(options) - {"passes", "window", "extend"}
        if unknown:
            raise TypeError(f"score() got unexpected options: {', '.join(sorted(unknown))}")
        data = self._http.json("POST", "/v1/score", {"text": text, "model": backend.model_name, "start": start,
                                                     "end": end, **options})
        tokens = tuple(TokenScore(int(t["index"]), int(t["start"]), int(t["end"]), int(t["token"]), str(t["text"]),
                                  float(t["probability"]), int(t["best"]), str(t["best_text"]),
                                  float(t["best_probability"])) for t in data["tokens"])
        return ScoreResult(tokens, int(data["start"]), int(data["end"]), int(data["passes"]), int(data["windows"]),
                           float(data["elapsed_s"]))


class RemoteHandle:
    """One fill on the server: iterate ``events()`` once, ``cancel()`` from any thread, then read ``result``."""

    def __init__(self, engine: RemoteEngine, backend: RemoteBackend, text: str, holes: list[Hole],
                 layer: dict[str, Any], fill_id: int, request: tuple[str, dict[str, Any]] | None = None) -> None:
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
        self.items: tuple[Any, ...] = ()
        """An outline expansion's items (``outline.OutlineItem``), in document order: ``result.holes[i]`` is item i's body."""
        self.request = request or ("/v1/fill", {"text": text, "model": backend.model_name, "stream": True,
                                                "sampler": layer, "holes": _holes_json(holes)})
        """The CanvasEdit server's endpoint and the JSON body asked of it."""
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
        response = self._open(*self.request)
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
                raise self._failed(message)
            if self._cancel.is_set():
                return

    def _failed(self, message: Mapping[str, Any]) -> RemoteError:
        error = message.get("error", {})
        return RemoteError(f"the engine at {self.engine.url} failed: {error.get('message', error)}")

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


class RemoteSearch:
    """A length search on the server, as ``lengths.LengthSearch`` reads to the editor: the lengths asked
    (``requested``), every candidate's (``plans``, the last the free one), each candidate's fill so far
    (``runs[k].start`` once its first step is out), then ``candidates``, ``best`` and ``result``."""

    def __init__(self) -> None:
        self.requested: tuple[int, ...] = ()
        self.plans: tuple[tuple[int, ...], ...] = ()
        self.runs: tuple[_CandidateRun, ...] = ()
        self.candidates: tuple[Candidate, ...] = ()
        self.best: Candidate | None = None
        self.result: FillResult | None = None
        self.backend_calls = 0
        self.scoring_passes = 0

    def finish(self, search: Mapping[str, Any]) -> None:
        """The server's ``search`` JSON: every candidate's result, its trace the steps streamed here."""
        def score(value: Any) -> float:
            return float("-inf") if value is None else float(value)

        candidates = []
        for c in search["candidates"]:
            k = int(c["index"])
            run = self.runs[k]
            run.result = _result(c["result"], run.trace, run.start)
            candidates.append(Candidate(k, tuple(c["lengths"]), bool(c["free"]), run.result, score(c["score"]),
                                        tuple(score(s) for s in c["hole_scores"])))
        self.candidates = tuple(candidates)
        self.best = self.candidates[int(search["best"])]
        self.result = self.best.result
        self.backend_calls = int(search.get("backend_calls", 0))
        self.scoring_passes = int(search.get("scoring_passes", 0))


@dataclass
class _CandidateRun:
    """One candidate of a remote length search: its start, the steps seen so far and its result."""

    start: FillStart | None = None
    trace: list[StepEvent] = field(default_factory=list)
    result: FillResult | None = None


class RemoteSearchHandle(RemoteHandle):
    """A length search on a CanvasEdit server: ``events()`` are ``CandidateStep``s, ``run`` the search."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.run = RemoteSearch()

    def _canvasedit(self) -> Iterator[CandidateStep]:  # type: ignore[override]
        search = self.run
        top: Mapping[str, Any] = {}
        for kind, data in _sse(self._open(*self.request)):
            message = json.loads(data)
            if kind == "start":
                top = message
                self.server_id = message.get("id")
                search.requested = tuple(int(n) for n in message["requested"])
                search.plans = tuple(tuple(int(n) for n in plan) for plan in message["plans"])
                search.runs = tuple(_CandidateRun() for _ in search.plans)
            elif kind == "step":
                k = int(message["candidate"])
                run = search.runs[k]
                if "start" in message:
                    run.start = _start({**top, "start": message["start"]})
                if run.start is None:
                    raise RemoteError(f"the engine at {self.engine.url} sent candidate {k}'s step before its start")
                event = _step(message)
                run.trace.append(event)
                yield CandidateStep(k, search.plans[k], event)
            elif kind == "result":
                search.finish(message["search"])
                self.result = search.result
            elif kind == "error":
                raise self._failed(message)
            if self._cancel.is_set():
                return


def _holes_json(holes: Sequence[Hole]) -> list[dict[str, Any]]:
    return [{"start": h.start, "end": h.end, "length": h.length, "revise": h.revise} for h in holes]


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
