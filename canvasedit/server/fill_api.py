"""CanvasEdit's own endpoints: ``POST /v1/fill`` (several holes and revisions, filled jointly) and what
only a diffusion editor asks of its engine — instructions, outlines, suspicion scores and hole lengths.

``/v1/fill`` request::

    {"text": "def add(a, b):\\n    return \\n", "holes": [{"start": 26, "length": 8}, {"range": "1:5-1:8"},
     {"start": 0, "end": 14, "revise": 0.3}], "sampler": {"steps": 8}, "stream": true, "trace": false}

A hole is ``start``/``end`` character offsets (``end`` defaults to ``start``: an insertion) or a
``range`` ``"LINE:COL-LINE:COL"`` (1-based, in characters), with an optional ``length`` in tokens
or ``revise``, the fraction of a range's tokens to refill. Holes are numbered in document order.

Without ``stream`` the answer is the engine's result JSON (``canvasedit.engine.service.result_json``:
the new text, each hole's text and range, NFE, timings, with ``trace`` every step). With it,
server-sent events::

    event: start    {"id", "model", "holes": [{"index", "kind", "start", "end", "tokens"}], "stop_ids", "end_ids",
                     "start": every hole's tokens before the first step as [text, token id] (a mask: [glyph, null]), …}
    event: step     the step's deltas (``event_json``: committed, remasked, resized, nfe, …) and ``holes``,
                    every hole's text after it; the first step also carries ``pieces``, every hole's
                    tokens as [text, state, confidence]
    event: result   the result JSON
    event: error    {"error": {"message", "type", "code"}} — and the stream ends

A client folds the deltas onto the start (``canvasedit.engine.remote``, with ``view.FillView``) or
onto the first step's pieces (the Neovim plugin) to draw every pass. Closing the stream cancels the fill.

The others take ``text``, ``model`` and ``sampler`` as ``/v1/fill`` does, and those that fill answer
as it does (``stream``, ``trace``; the same events)::

    POST /v1/instruct  {"start", "end" | "range", "instruction", "length"?}    the selection rewritten through the
                       model's chat template (``EngineService.instruct``): one hole, the answer
    POST /v1/expand    {"language"?, "length"?, "items"?: [{"kind", "title", "start", "end", "prefix", "suffix",
                       "length"}]}  a body for every outline item, jointly (``EngineService.expand``); the start
                       and the result carry the ``items`` filled, in document order
    POST /v1/score     {"start"?, "end"? | "range"?, "passes"?, "window"?, "extend"?}  not streamed: every token's
                       probability in place (``engine.score``), as ``{"tokens": [{"index", "start", "end",
                       "token", "text", "probability", "best", "best_text", "best_probability"}], "passes", …}``
    POST /v1/lengths   {"holes"}  a length search (``EngineService.search_lengths``): each step carries its
                       ``candidate`` and ``lengths`` (a candidate's first step also its ``start``), the start
                       event ``requested`` and ``plans``, the result the best candidate's result JSON with
                       ``search``: every candidate's lengths, score (null for −inf) and result JSON
"""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from canvasedit.engine.canvas import DEFAULT_HOLE_TOKENS, Canvas, Hole
from canvasedit.engine.fill import MASK_GLYPH, FillStart
from canvasedit.engine.outline import OutlineItem
from canvasedit.engine.score import ScoreResult
from canvasedit.engine.service import FillHandle, event_json, pieces_json, result_json, start_json
from canvasedit.engine.view import FillView, PassView
from canvasedit.server.app import ServerState, state_of
from canvasedit.server.errors import BadRequest, api_error, endpoint
from canvasedit.server.runner import Fields, read_json, sse, start_fill


def parse_span(text: str, f: Fields, index: Any = None) -> tuple[int, int]:
    """``start``/``end`` character offsets (``end`` defaults to ``start``) or a ``range`` ``"LINE:COL-LINE:COL"``."""
    from canvasedit.document import BadPosition, LineIndex, parse_range

    if f.data.get("range") is not None:
        index = index or LineIndex(text)
        try:
            (l1, c1), (l2, c2) = parse_range(f.text("range") or "")
            return index.offset(l1, c1), index.offset(l2, c2)
        except (BadPosition, ValueError) as exc:
            raise BadRequest(f"{f.where}range: {exc}") from None
    start = f.integer("start")
    if start is None:
        where = f.where.rstrip(".") or "the request"
        raise BadRequest(f"{where} needs start (a character offset) or range (LINE:COL-LINE:COL)")
    return start, f.integer("end", start)  # type: ignore[return-value]


def parse_holes(text: str, specs: list[Any]) -> list[Hole]:
    """The request's holes as engine holes; a malformed one is a ``BadRequest`` naming it."""
    from canvasedit.document import LineIndex

    if not specs:
        raise BadRequest("holes must be a non-empty array: give at least one hole to fill")
    index = LineIndex(text) if any(isinstance(s, dict) and s.get("range") is not None for s in specs) else None
    holes = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise BadRequest(f"holes[{i}] must be an object with start/end or range")
        f = Fields(spec, f"holes[{i}].")
        start, end = parse_span(text, f, index)
        revise = f.number("revise")
        holes.append(Hole(start, end, length=f.integer("length", None, minimum=1),
                          revise=None if revise is None else float(revise)))
    return holes


def _tokens_asked(holes: list[Hole]) -> int:
    """Tokens the holes will write: their lengths, 32 for a bare insertion; a range's own count is
    bounded by the body size, so it is not counted here."""
    return sum(h.length if h.length is not None else DEFAULT_HOLE_TOKENS if h.start == h.end else 0
               for h in holes)


def _canvas(run: Any) -> Canvas:
    """The canvas a run fills (an outline's expansion fills its scaffold's)."""
    inner = getattr(run, "fill_run", None)
    return inner.canvas if inner is not None else run.canvas


def _within(state: ServerState, handle: FillHandle) -> FillHandle:
    """``handle``, once the tokens its canvas leaves to write are known to be within the server's limit."""
    state.check_tokens(sum(span.length for span in _canvas(handle.run).spans))
    return handle


def _start(state: ServerState, handle: FillHandle) -> dict[str, Any]:
    backend = handle.backend
    canvas = _canvas(handle.run)
    start = handle.start
    return {
        "id": handle.id, "model": backend.model_name, "backend": backend.name, "device": backend.device,
        "sees_suffix": backend.layout.sees_suffix, "mask": MASK_GLYPH,
        "stop_ids": list(backend.stop_ids), "end_ids": list(backend.end_ids),
        "holes": [{"index": i, "kind": span.hole.kind, "start": span.hole.start, "end": span.hole.end,
                   "tokens": span.length} for i, span in enumerate(canvas.spans)],
        "start": start_json(start) if start is not None else None,
    }


def _document(f: Fields) -> str:
    text = f.text("text")
    if text is None:
        raise BadRequest("text is required: the whole document")
    return text


Described = Callable[[Any], dict[str, Any]]
"""What an endpoint adds to its start event and its result about the handle (an outline's items)."""


def _nothing(handle: Any) -> dict[str, Any]:
    return {}


async def _answer(request: Request, state: ServerState, f: Fields, make: Callable[[], FillHandle],
                  described: Described = _nothing) -> Response:
    """Run the fill ``make`` returns and answer as ``/v1/fill`` does: its result JSON, or with ``stream`` its
    start, every step's deltas and its result as server-sent events."""
    with_trace = f.flag("trace")
    stream = f.flag("stream")
    job = await start_fill(request, state.options.queue_timeout, make)
    backend = state.service.require()
    extra = described(job.handle)

    if not stream:
        result = await job.result(request)
        return JSONResponse({"id": job.handle.id, **result_json(result, backend, with_trace=with_trace), **extra})

    async def body() -> AsyncIterator[str]:
        yield sse({**_start(state, job.handle), **extra}, "start")
        first = True
        async for kind, value in job.items():
            if kind == "step":
                step = event_json(value.event, value.holes)
                if first:
                    step["pieces"] = pieces_json(value)
                    first = False
                yield sse(step, "step")
            elif kind == "done":
                yield sse({"id": job.handle.id, **result_json(value, backend, with_trace=with_trace), **extra},
                          "result")
            elif kind == "error":
                yield sse(api_error(value).body(), "error")

    return _event_stream(body())


def _event_stream(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def _request(request: Request) -> tuple[ServerState, Fields]:
    state = state_of(request)
    f = Fields(await read_json(request, state.options.max_body_bytes))
    state.check_model(f.text("model"))
    return state, f


@endpoint
async def fill(request: Request) -> Response:
    state, f = await _request(request)
    text = _document(f)
    holes = parse_holes(text, f.array("holes"))
    state.check_tokens(_tokens_asked(holes))
    layer = f.sampler({})
    return await _answer(request, state, f, lambda: state.service.fill(text, holes, state.options.sampler, layer))


# -- what only a diffusion editor does: instructions, outlines, suspicion scores, hole lengths ---------------


@endpoint
async def instruct(request: Request) -> Response:
    """``POST /v1/instruct``: the selection ``start``-``end`` (or ``range``) rewritten as ``instruction`` says."""
    state, f = await _request(request)
    text = _document(f)
    start, end = parse_span(text, f)
    instruction = f.text("instruction")
    if instruction is None or not instruction.strip():
        raise BadRequest("instruction is required: say what to do with the selection")
    length = f.integer("length", None, minimum=1)
    state.check_tokens(length or 0)
    layer = f.sampler({})
    return await _answer(request, state, f, lambda: _within(state, state.service.instruct(
        text, start, end, instruction, state.options.sampler, layer, length=length)))


def parse_items(text: str, specs: list[Any]) -> list[OutlineItem]:
    """An outline's items as the request gives them (``outline.OutlineItem``'s fields), in range and apart."""
    if not specs:
        raise BadRequest("items must be a non-empty array of outline items, or left out to find them in the text")
    items = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise BadRequest(f"items[{i}] must be an object with kind, title, start, end and prefix")
        f = Fields(spec, f"items[{i}].")
        start, end = parse_span(text, f)
        if not 0 <= start <= end <= len(text):
            raise BadRequest(f"items[{i}]: range {start}-{end} lies outside the document (0-{len(text)} characters)")
        items.append(OutlineItem(f.text("kind", "bullet") or "bullet", f.text("title", "") or "", start, end,
                                 f.text("prefix", "") or "", f.text("suffix", "") or "",
                                 f.integer("length", DEFAULT_HOLE_TOKENS, minimum=1) or DEFAULT_HOLE_TOKENS))
    ordered = sorted(items, key=lambda item: (item.start, item.end))
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise BadRequest(f"outline items {a.start}-{a.end} and {b.start}-{b.end} overlap")
    return items


def _items(handle: Any) -> dict[str, Any]:
    return {"items": [asdict(item) for item in handle.run.items]}


@endpoint
async def expand(request: Request) -> Response:
    """``POST /v1/expand``: a body for every outline item of ``text`` (or the ``items`` given), filled jointly."""
    state, f = await _request(request)
    text = _document(f)
    language = f.text("language")
    length = f.integer("length", None, minimum=1)
    items = parse_items(text, f.array("items")) if f.data.get("items") is not None else None
    layer = f.sampler({})
    return await _answer(request, state, f, lambda: _within(state, state.service.expand(
        text, language, state.options.sampler, layer, length=length, items=items)), _items)


def score_json(result: ScoreResult) -> dict[str, Any]:
    """A scoring as the wire carries it: every token with its probability in place, unrounded."""
    return {
        "tokens": [{"index": t.index, "start": t.start, "end": t.end, "token": t.token, "text": t.text,
                    "probability": t.probability, "best": t.best, "best_text": t.best_text,
                    "best_probability": t.best_probability} for t in result.tokens],
        "start": result.start, "end": result.end, "passes": result.passes, "windows": result.windows,
        "elapsed_s": round(result.elapsed, 4),
    }


@endpoint
async def score(request: Request) -> Response:
    """``POST /v1/score``: how likely the model finds each token of ``text`` (or of ``start``-``end``) in place."""
    state, f = await _request(request)
    text = _document(f)
    start, end = parse_span(text, f) if ("start" in f.data or "range" in f.data) else (0, len(text))
    options = {key: value for key in ("passes", "window", "extend")
               if (value := f.integer(key, None, minimum=0 if key != "passes" else 1)) is not None}
    result = await run_in_threadpool(state.service.score, text, start, end, state.options.queue_timeout, **options)
    return JSONResponse({"model": state.model_id, **score_json(result)})


@dataclass(frozen=True)
class CandidatePass:
    """One step of one candidate of a length search, folded onto that candidate's start."""

    candidate: int
    lengths: tuple[int, ...]
    shown: PassView
    start: FillStart | None
    """The candidate's start, on its first step only."""


class _SearchStream:
    """A length search's handle as a ``FillJob`` runs one: its passes are every candidate's steps, each
    folded onto its own candidate's start."""

    def __init__(self, handle: FillHandle) -> None:
        self.handle = handle
        self.id = handle.id
        self.run = handle.run
        self.backend = handle.backend

    @property
    def result(self) -> Any:
        return self.handle.result

    def cancel(self) -> None:
        self.handle.cancel()

    def passes(self, timeout: float | None = None) -> Iterator[CandidatePass]:
        views: dict[int, FillView] = {}
        for step in self.handle.events(timeout):
            start = None
            if step.candidate not in views:
                start = self.run.runs[step.candidate].start
                views[step.candidate] = FillView(start)
            yield CandidatePass(step.candidate, step.lengths, views[step.candidate].apply(step.event), start)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def search_json(search: Any, backend: Any) -> dict[str, Any]:
    """Every candidate of a finished length search with its score and result (a score of −inf is null)."""
    assert search.best is not None
    return {
        "requested": list(search.requested), "plans": [list(p) for p in search.plans], "best": search.best.index,
        "candidates": [{"index": c.index, "lengths": list(c.lengths), "free": c.free, "score": _finite(c.score),
                        "hole_scores": [_finite(s) for s in c.hole_scores], "result": result_json(c.result, backend)}
                       for c in search.candidates],
        "backend_calls": search.backend_calls, "scoring_passes": search.scoring_passes,
    }


@endpoint
async def lengths(request: Request) -> Response:
    """``POST /v1/lengths``: ``/v1/fill``'s holes filled at several lengths; the fill the model scores best wins."""
    state, f = await _request(request)
    text = _document(f)
    holes = parse_holes(text, f.array("holes"))
    layer = f.sampler({})
    with_trace = f.flag("trace")
    stream = f.flag("stream")

    def make() -> _SearchStream:
        handle = state.service.search_lengths(text, holes, state.options.sampler, layer)
        state.check_tokens(sum(handle.run.plans[-1]))  # the free candidate's budgets: the most any one writes
        return _SearchStream(handle)

    job = await start_fill(request, state.options.queue_timeout, make)  # type: ignore[arg-type,return-value]
    backend = state.service.require()
    search = job.handle.run

    if not stream:
        result = await job.result(request)
        return JSONResponse({"id": job.handle.id, **result_json(result, backend, with_trace=with_trace),
                             "search": search_json(search, backend)})

    async def body() -> AsyncIterator[str]:
        yield sse({"id": job.handle.id, "model": backend.model_name, "backend": backend.name,
                   "device": backend.device, "sees_suffix": backend.layout.sees_suffix, "mask": MASK_GLYPH,
                   "stop_ids": list(backend.stop_ids), "end_ids": list(backend.end_ids),
                   "requested": list(search.requested), "plans": [list(p) for p in search.plans]}, "start")
        async for kind, value in job.items():
            if kind == "step":
                step = {"candidate": value.candidate, "lengths": list(value.lengths),
                        **event_json(value.shown.event, value.shown.holes)}
                if value.start is not None:
                    step["start"] = start_json(value.start)
                yield sse(step, "step")
            elif kind == "done":
                yield sse({"id": job.handle.id, **result_json(value, backend, with_trace=with_trace),
                           "search": search_json(search, backend)}, "result")
            elif kind == "error":
                yield sse(api_error(value).body(), "error")

    return _event_stream(body())
