"""CanvasEdit's own ``POST /v1/fill``: a document with several holes and revisions, filled jointly.

Request::

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
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from canvasedit.engine.canvas import DEFAULT_HOLE_TOKENS, Hole
from canvasedit.engine.fill import MASK_GLYPH
from canvasedit.engine.service import FillHandle, event_json, pieces_json, result_json, start_json
from canvasedit.server.app import ServerState, state_of
from canvasedit.server.errors import BadRequest, api_error, endpoint
from canvasedit.server.runner import Fields, read_json, sse, start_fill


def parse_holes(text: str, specs: list[Any]) -> list[Hole]:
    """The request's holes as engine holes; a malformed one is a ``BadRequest`` naming it."""
    from canvasedit.document import BadPosition, LineIndex, parse_range

    if not specs:
        raise BadRequest("holes must be a non-empty array: give at least one hole to fill")
    index = None
    holes = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise BadRequest(f"holes[{i}] must be an object with start/end or range")
        f = Fields(spec, f"holes[{i}].")
        if spec.get("range") is not None:
            index = index or LineIndex(text)
            try:
                (l1, c1), (l2, c2) = parse_range(f.text("range") or "")
                start, end = index.offset(l1, c1), index.offset(l2, c2)
            except (BadPosition, ValueError) as exc:
                raise BadRequest(f"holes[{i}].range: {exc}") from None
        else:
            start = f.integer("start")
            if start is None:
                raise BadRequest(f"holes[{i}] needs start (a character offset) or range (LINE:COL-LINE:COL)")
            end = f.integer("end", start)
        revise = f.number("revise")
        holes.append(Hole(start, end, length=f.integer("length", None, minimum=1),
                          revise=None if revise is None else float(revise)))
    return holes


def _tokens_asked(holes: list[Hole]) -> int:
    """Tokens the holes will write: their lengths, 32 for a bare insertion; a range's own count is
    bounded by the body size, so it is not counted here."""
    return sum(h.length if h.length is not None else DEFAULT_HOLE_TOKENS if h.start == h.end else 0
               for h in holes)


def _start(state: ServerState, handle: FillHandle) -> dict[str, Any]:
    backend = handle.backend
    canvas = handle.run.canvas
    start = handle.start
    return {
        "id": handle.id, "model": backend.model_name, "backend": backend.name, "device": backend.device,
        "sees_suffix": backend.layout.sees_suffix, "mask": MASK_GLYPH,
        "stop_ids": list(backend.stop_ids), "end_ids": list(backend.end_ids),
        "holes": [{"index": i, "kind": span.hole.kind, "start": span.hole.start, "end": span.hole.end,
                   "tokens": span.length} for i, span in enumerate(canvas.spans)],
        "start": start_json(start) if start is not None else None,
    }


@endpoint
async def fill(request: Request) -> Response:
    state = state_of(request)
    data = await read_json(request, state.options.max_body_bytes)
    f = Fields(data)
    state.check_model(f.text("model"))
    text = f.text("text")
    if text is None:
        raise BadRequest("text is required: the whole document, holes included")
    holes = parse_holes(text, f.array("holes"))
    state.check_tokens(_tokens_asked(holes))
    layer = f.sampler({})
    with_trace = f.flag("trace")
    job = await start_fill(request, state.options.queue_timeout,
                           lambda: state.service.fill(text, holes, state.options.sampler, layer))
    backend = state.service.require()

    if not f.flag("stream"):
        result = await job.result(request)
        return JSONResponse({"id": job.handle.id, **result_json(result, backend, with_trace=with_trace)})

    async def body() -> AsyncIterator[str]:
        yield sse(_start(state, job.handle), "start")
        first = True
        async for kind, value in job.items():
            if kind == "step":
                step = event_json(value.event, value.holes)
                if first:
                    step["pieces"] = pieces_json(value)
                    first = False
                yield sse(step, "step")
            elif kind == "done":
                yield sse({"id": job.handle.id, **result_json(value, backend, with_trace=with_trace)}, "result")
            elif kind == "error":
                yield sse(api_error(value).body(), "error")

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
