"""One engine service for every front end: the model's lifecycle, fills with handles, one JSON schema.

The editor's worker, the CLI and the HTTP server all go through ``EngineService``; none of them
loads a backend or runs a ``FillRun`` by itself. The service owns the loaded backend (load, switch,
close — a failed load leaves the previous model active), runs one fill at a time per model with a
bounded queue (``ServiceBusy`` when it is full), and hands out a ``FillHandle`` per fill: iterate its
``events()`` (in the caller's thread) for each step's deltas, or ``passes()`` for each step folded
into every hole's text (``view.FillView``), ``cancel()`` from anywhere, then read ``result``.
``result_json`` / ``event_json`` are the one wire format of a fill (CLI ``--json``, the server,
the remote engine)::

    service = EngineService()
    service.load(None)                                   # the bundled model (or a name, folder, .gguf)
    handle = service.fill(text, [Hole(10, 10, 8)], config_layer, flag_layer)
    for shown in handle.passes():                        # or handle.events(): the deltas alone
        draw(shown.pieces)
    print(result_json(handle.result, service.backend))
    answer = service.chat([{"role": "user", "content": "hi"}], 64).wait().text   # instruct models
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from canvasedit.engine.backends import Backend, open_backend
from canvasedit.engine.canvas import Canvas, Hole, HoleSpan
from canvasedit.engine.errors import BackendUnavailable, BadHole, ContextTooLong, EngineError
from canvasedit.engine.fill import FillResult, FillRun, FillStart, StepEvent, fill
from canvasedit.engine.view import PassView, passes, replay
from canvasedit.params import SamplerParams

Opener = Callable[[Any, str], Backend]
"""``(model: name | folder | .gguf | None, device) -> Backend``; slow (it reads weights)."""


class ServiceBusy(EngineError, RuntimeError):
    """Every slot of the fill queue is taken; try again in ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def open_model(model: Any, device: str = "auto") -> Backend:
    """A catalog name, model folder or ``.gguf`` file (None: the bundled default) as a backend."""
    from canvasedit.models.catalog import resolve_model

    return open_backend(resolve_model(model), device=device)


class EngineService:
    """The loaded model and the fills that run on it; safe to use from several threads."""

    def __init__(self, opener: Opener = open_model, max_waiting: int = 4, backend: Backend | None = None) -> None:
        self._opener = opener
        self._backend: Backend | None = backend
        self._model_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self.max_waiting = max_waiting
        """Fills allowed to wait for the running one; one more is refused with ``ServiceBusy``."""
        self._ids = itertools.count(1)
        self.record_measurements = True
        """Remember each finished fill's speed and the process's peak memory for ``canvasedit models list``."""

    # -- the model -----------------------------------------------------------------------------------------

    @property
    def backend(self) -> Backend | None:
        return self._backend

    def require(self) -> Backend:
        if self._backend is None:
            raise BackendUnavailable("no model is loaded")
        return self._backend

    def load(self, model: Any, device: str = "auto") -> Backend:
        """Load ``model`` and make it the active one; on any failure the previous model stays active."""
        with self._model_lock:
            new = self._opener(model, device)
            with self._run_lock:  # never swap the model under a running fill
                old, self._backend = self._backend, new
            if old is not None and old is not new:
                _close(old)
            return new

    def close(self) -> None:
        with self._model_lock, self._run_lock:
            if self._backend is not None:
                _close(self._backend)
                self._backend = None

    # -- fills ---------------------------------------------------------------------------------------------

    def params(self, *layers: Mapping[str, Any] | None) -> SamplerParams:
        """The active family's recipe overridden by each layer in turn (config.toml, then flags or a request)."""
        return SamplerParams.layered(self.require().recipe, *layers)

    def fill(self, text: str, holes: Sequence[Hole], *layers: Mapping[str, Any] | None,
             params: SamplerParams | None = None) -> FillHandle:
        """A handle for a fill of ``holes``; bad holes or settings raise here, before any work."""
        backend = self.require()
        run = fill(text, holes, backend, params or self.params(*layers))
        return FillHandle(self, run, next(self._ids))

    def chat(self, messages: Sequence[Mapping[str, str]], max_tokens: int, *layers: Mapping[str, Any] | None,
             params: SamplerParams | None = None) -> FillHandle:
        """A fill of the answer to ``messages``: the model's chat template, then ``max_tokens`` masks.

        The result's text is the answer alone (its one hole). Raises ``NotInstructModel`` for a model
        without a chat template, ``ContextTooLong`` when the prompt and answer do not fit.
        """
        from canvasedit.engine.instruct import chat_prompt_ids

        backend = self.require()
        if max_tokens < 1:
            raise BadHole(f"the answer needs room for at least 1 token, got {max_tokens}")
        prompt = chat_prompt_ids(backend, messages)
        if len(prompt) + max_tokens > backend.max_length:
            raise ContextTooLong(f"the chat's prompt ({len(prompt)} tokens) and its answer ({max_tokens} tokens) do "
                                 f"not fit in the {backend.max_length} tokens the model reads")
        hole = Hole(0, 0, max_tokens)
        ids = torch.tensor(prompt + [backend.mask_id] * max_tokens, dtype=torch.long)
        canvas = Canvas(ids, (HoleSpan(hole, len(prompt), len(ids), ()),), ("", ""), (len(prompt), 0), lead=0)
        run = FillRun("", [hole], backend, params or self.params(*layers), canvas=canvas)
        return FillHandle(self, run, next(self._ids))

    # -- what only a diffusion editor does (engine/instruct.py, lengths.py, outline.py, score.py) ----------

    def instruct(self, text: str, start: int, end: int, instruction: str, *layers: Mapping[str, Any] | None,
                 params: SamplerParams | None = None, length: int | None = None) -> FillHandle:
        """A handle for rewriting ``text[start:end]`` as ``instruction`` asks (instruct models); its one hole
        is the answer, which replaces the selection."""
        from canvasedit.engine.instruct import instruct

        run = instruct(text, start, end, instruction, self.require(), params or self.params(*layers), length=length)
        return FillHandle(self, run, next(self._ids))  # type: ignore[arg-type]

    def search_lengths(self, text: str, holes: Sequence[Hole], *layers: Mapping[str, Any] | None,
                       params: SamplerParams | None = None) -> FillHandle:
        """A handle for a length search; its ``events()`` are ``CandidateStep``s (candidate, lengths, event),
        its ``result`` the best candidate's fill, ``handle.run.candidates`` every candidate with its score."""
        from canvasedit.engine.lengths import search_lengths

        run = search_lengths(text, holes, self.require(), params or self.params(*layers))
        return FillHandle(self, run, next(self._ids))  # type: ignore[arg-type]

    def expand(self, text: str, language: str | None, *layers: Mapping[str, Any] | None,
               params: SamplerParams | None = None, length: int | None = None,
               items: Sequence[Any] | None = None) -> FillHandle:
        """A handle for writing every outline item's body jointly; ``result.holes[i]`` is item i's body with
        its range in ``text`` (``handle.run.items``), so each can be accepted alone. ``items``: the outline's
        items already found (``outline.outline_items``)."""
        from canvasedit.engine.canvas import DEFAULT_HOLE_TOKENS
        from canvasedit.engine.outline import expand

        run = expand(text, self.require(), params or self.params(*layers), language=language,
                     length=length or DEFAULT_HOLE_TOKENS, items=items)
        return FillHandle(self, run, next(self._ids))  # type: ignore[arg-type]

    def score(self, text: str, start: int = 0, end: int | None = None, timeout: float | None = None,
              **options: Any) -> Any:
        """Every token's probability in place (``engine.score.score``), run while holding the model like a fill."""
        from canvasedit.engine.score import score

        backend = self.require()
        with self._slot(timeout):
            return score(text, backend, start, end, **options)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no fill holds the model: True, or False when ``timeout`` seconds passed first."""
        if not self._run_lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        self._run_lock.release()
        return True

    @contextmanager
    def _slot(self, timeout: float | None) -> Iterator[None]:
        if not self._run_lock.acquire(blocking=False):  # a free model is taken at once, queue or no queue
            with self._waiting_lock:
                if self._waiting >= self.max_waiting:
                    raise ServiceBusy(f"{self._waiting} fills are already waiting for the model; try again shortly")
                self._waiting += 1
            try:
                acquired = self._run_lock.acquire(timeout=-1 if timeout is None else timeout)
            finally:
                with self._waiting_lock:
                    self._waiting -= 1
            if not acquired:
                raise ServiceBusy("the model is busy with another fill; try again shortly")
        try:
            yield
        finally:
            self._run_lock.release()


class FillHandle:
    """One fill: iterate ``events()`` once, ``cancel()`` from any thread, then read ``result``."""

    def __init__(self, service: EngineService, run: FillRun, fill_id: int) -> None:
        self.service = service
        self.run = run
        self.id = fill_id
        self.backend = run.backend
        self._cancelled = threading.Event()

    @property
    def result(self) -> FillResult | None:
        return self.run.result

    @property
    def cancelled(self) -> bool:
        return self.run.cancelled or (self._cancelled.is_set() and self.run.result is None)

    @property
    def start(self) -> FillStart | None:
        """The holes before the first step; set once the first event is out."""
        return getattr(self.run, "start", None)

    def cancel(self) -> None:
        self._cancelled.set()
        self.run.cancel()

    def events(self, timeout: float | None = None) -> Iterator[StepEvent]:
        """The fill's steps as they happen; waits (up to ``timeout``) while another fill holds the model.

        A fill cancelled while it waited never runs: not even its first forward pass.
        """
        with self.service._slot(timeout):
            if self._cancelled.is_set():
                return
            yield from self.run
        if self.run.result is not None and self.service.record_measurements:
            _record(self.backend, self.run.result)

    def passes(self, timeout: float | None = None) -> Iterator[PassView]:
        """``events()`` folded: every hole as it reads after each step."""
        return passes(EventSource(self, timeout))

    def wait(self, timeout: float | None = None) -> FillResult:
        for _ in self.events(timeout):
            pass
        if self.run.result is None:
            raise EngineError("the fill was cancelled before it finished")
        return self.run.result


class EventSource:
    """A handle's ``events()`` as an iterable with the handle's ``start`` (what ``view.passes`` reads)."""

    def __init__(self, handle: Any, timeout: float | None) -> None:
        self.handle = handle
        self.timeout = timeout

    @property
    def start(self) -> FillStart | None:
        return self.handle.start

    def __iter__(self) -> Iterator[StepEvent]:
        return self.handle.events(self.timeout)


def _record(backend: Backend, result: FillResult) -> None:
    """The model's peak memory and speed on this machine, kept for ``models list`` and the models screen."""
    from canvasedit.models.errors import ModelError
    from canvasedit.models.store import record_measurement

    if result.tokens_committed == 0:
        return
    try:
        record_measurement(backend.model_name, peak_memory(backend.device), result.tokens_per_second,
                           backend.device, backend.name)
    except ModelError:
        pass  # an unwritable state folder must not turn a finished fill into a failed one; the fill stands


def peak_memory(device: str) -> int:
    """Bytes at the process's peak: CUDA's allocations on a GPU, else the resident set."""
    import resource

    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def _close(backend: Backend) -> None:
    close = getattr(backend, "close", None)
    if close is not None:
        close()


# -- the wire format -------------------------------------------------------------------------------------------


def event_json(event: StepEvent, holes: Sequence[str] | None = None) -> dict[str, Any]:
    """One step as the wire carries it: what changed (commits, re-masks, resizes), and with ``holes``
    (a ``PassView``'s) every hole's text after it."""
    out: dict[str, Any] = {
        "step": event.step, "total_steps": event.total_steps, "nfe": event.nfe, "elapsed_s": round(event.elapsed, 4),
        "committed": [{"hole": c.hole, "offset": c.offset, "token": c.token, "text": c.text,
                       "confidence": round(c.confidence, 4)} for c in event.committed],
        "remasked": [list(r) for r in event.remasked],
        "resized": [list(r) for r in event.resized],
    }
    if holes is not None:
        out["holes"] = list(holes)
    return out


def pieces_json(shown: PassView) -> list[list[list[Any]]]:
    """Every hole's tokens as ``[text, state, confidence]``: the state a stream of deltas starts from."""
    return [[[p.text, p.state, None if p.confidence is None else round(p.confidence, 4)] for p in hole]
            for hole in shown.pieces]


def start_json(start: FillStart) -> list[list[list[Any]]]:
    """The holes before the first step as ``[text, token id]`` per token (a mask: ``[glyph, null]``)."""
    return [[[text, token] for token, text in hole] for hole in start.holes]


def result_json(result: FillResult, backend: Backend, with_trace: bool = False) -> dict[str, Any]:
    """A finished fill: the new document, each hole's text and range (character offsets and LINE:COL)."""
    from canvasedit.document import LineIndex

    index = LineIndex(result.text)
    holes = []
    for h in result.holes:
        (l1, c1), (l2, c2) = index.position(h.start), index.position(h.end)
        holes.append({
            "index": h.index, "kind": h.kind, "text": h.text, "start": h.start, "end": h.end,
            "original_start": h.original_start, "original_end": h.original_end,
            "range": f"{l1}:{c1}-{l2}:{c2}", "tokens": len(h.tokens), "ids": list(h.tokens),
        })
    out: dict[str, Any] = {
        "model": backend.model_name, "backend": backend.name, "device": backend.device,
        "holes": holes, "nfe": result.nfe, "steps": result.steps,
        "elapsed_s": round(result.elapsed, 4), "tokens_per_s": round(result.tokens_per_second, 2),
        "sees_suffix": backend.layout.sees_suffix, "params": result.params.layer(), "text": result.text,
    }
    if with_trace:
        if result.start is not None:
            out["trace"] = [event_json(shown.event, shown.holes) for shown in replay(result.start, result.trace)]
        else:
            out["trace"] = [event_json(e) for e in result.trace]
    return out
