"""Holes of the right length: fill each hole at several lengths and keep the fill the model scores best.

The length of a masked span dominates infilling quality (Open-dCoder's HumanEval-Infilling: 32.5
pass@1 with the benchmark's fixed lengths, 77.4 with the true ones), and a fixed-length model can
only end a hole early, never grow it. A length search fills the holes once per candidate length
around the requested one — ``LENGTH_FACTORS`` times it — plus one *free* candidate with a longer
budget that ends wherever the model writes end tokens, then scores every finished document and
keeps the best::

    search = search_lengths(text, [Hole(40, 40, length=12)], backend, params)
    for step in search:                       # CandidateStep: which candidate, and its StepEvent
        draw(step.candidate, step.event)
    search.result                             # the best candidate's FillResult
    search.best.score, search.best.lengths    # its score and the lengths it was given

**Score.** Each candidate's filled document is scored in place (``engine.score``): every token
of a filled hole and ``JUNCTION_TOKENS`` document tokens on either side of it is masked in turn
(``SCORING_PASSES`` passes) and its log-probability read; a candidate's score is the mean over all
those tokens of all its holes. The junction tokens are what tells a span that does not meet its
suffix from one that does; the mean keeps long and short fills on one scale.

**One batch.** Candidates of a fixed-length model share one canvas shape: every hole is laid out
at the free candidate's budget, and a candidate of length L has the positions after its first L
pre-filled with the family's pad token — exactly what a fill that ended early leaves behind. The
candidates' denoising loops then run in lockstep, one thread each, and every step's forward
passes go to the backend as one ``(B, T)`` batch. Families whose sessions keep state (block
diffusion, the dual cache) run the candidates one after another. Variable-length families (DreamOn)
grow and shrink each candidate's holes themselves, so their canvases are not padded; candidates
whose canvases have the same length at a step still share a batch.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import torch

from canvasedit.engine.backends import Backend
from canvasedit.engine.canvas import DEFAULT_HOLE_TOKENS, Canvas, Hole, build_canvas, validate_holes
from canvasedit.engine.errors import BadHole
from canvasedit.engine.fill import FillResult, FillRun, StepEvent
from canvasedit.engine.score import LOGITS_BYTES, SCORING_PASSES, score
from canvasedit.params import Cache, SamplerParams

LENGTH_FACTORS = (0.5, 0.75, 1.0, 1.25, 1.5)
"""Candidate lengths as multiples of each hole's requested length."""
BUDGET_FACTOR = 2.0
"""The free candidate's room, as a multiple of the requested length; it ends where the model ends it."""
JUNCTION_TOKENS = 4
"""Document tokens scored on each side of a filled hole, with the hole's own tokens."""


@dataclass(frozen=True)
class Candidate:
    index: int
    lengths: tuple[int, ...]
    """Tokens each hole was allowed (the free candidate: its budget)."""
    free: bool
    """The longer-budget candidate whose holes end where the model puts end tokens."""
    result: FillResult
    score: float
    """Mean log-probability of the filled tokens and their junctions (higher is better)."""
    hole_scores: tuple[float, ...]
    """The same mean for each hole alone."""


@dataclass(frozen=True)
class CandidateStep:
    """One denoising step of one candidate, as the stream reports it."""

    candidate: int
    lengths: tuple[int, ...]
    event: StepEvent


def candidate_lengths(requested: int, factors: Sequence[float] = LENGTH_FACTORS) -> list[int]:
    """The distinct lengths tried around ``requested`` tokens."""
    return sorted({max(1, round(requested * f)) for f in factors})


def budget_length(requested: int, lengths: Sequence[int], factor: float = BUDGET_FACTOR) -> int:
    """The free candidate's room: ``factor`` times the request, and always more than every fixed candidate."""
    return max(max(lengths) + 1, math.ceil(requested * factor))


def requested_lengths(text: str, holes: Sequence[Hole], backend: Backend) -> list[int]:
    """Each hole's length as a plain fill would use it (its own, or the default for its kind)."""
    out = []
    for hole in holes:
        if hole.revise is not None:
            raise BadHole(f"hole {hole.start}-{hole.end}: a length search needs insertions or replacements, "
                          f"not a partial revision")
        if hole.length is not None:
            out.append(hole.length)
        else:
            out.append(len(backend.encode(text[hole.start : hole.end])) or DEFAULT_HOLE_TOKENS)
    return out


class LengthSearch:
    """A length search in progress: iterate it for ``CandidateStep``s; then ``result`` and ``candidates``."""

    def __init__(
        self,
        text: str,
        holes: Sequence[Hole],
        backend: Backend,
        params: SamplerParams,
        factors: Sequence[float] = LENGTH_FACTORS,
        budget_factor: float = BUDGET_FACTOR,
        junction: int = JUNCTION_TOKENS,
        passes: int = SCORING_PASSES,
        lockstep: bool = True,
    ) -> None:
        """``lockstep=False`` runs the candidates one after another even where they could share batches."""
        self.backend = backend
        self.params = params
        self.original = text
        self.junction = junction
        self.passes = passes
        ordered = validate_holes(text, holes)
        requested = requested_lengths(text, ordered, backend)
        per_hole = [candidate_lengths(n, factors) for n in requested]
        budgets = [budget_length(n, ls, budget_factor) for n, ls in zip(requested, per_hole)]
        self.requested = tuple(requested)
        # One factor for every hole at once: the holes are filled jointly, so they are judged together.
        plans = list(dict.fromkeys(tuple(max(1, round(n * f)) for n in requested) for f in sorted(factors)))
        self.plans: tuple[tuple[int, ...], ...] = (*plans, tuple(budgets))
        """Each candidate's hole lengths; the last is the free candidate's budgets."""
        self.variable = getattr(backend, "expand_id", None) is not None
        # "auto" keeps lockstep: its batched exact passes serve several candidates per call.
        self.lockstep = lockstep and backend.layout.block_size == 0 and params.cache is not Cache.DUAL
        pad = _pad_id(backend)
        self._batcher = _Lockstep(backend, len(self.plans)) if self.lockstep and len(self.plans) > 1 else None
        self._runs: list[FillRun] = []
        for k, plan in enumerate(self.plans):
            free = k == len(self.plans) - 1
            if self.variable or pad is None:  # each candidate its own canvas, holes of its lengths
                sized = [replace(h, length=n) for h, n in zip(ordered, plan)]
                canvas = None
            else:
                sized = [replace(h, length=b) for h, b in zip(ordered, budgets)]
                canvas = None if free else _padded(text, sized, plan, backend, params, pad)
            # A fixed candidate writes exactly its length: the end tokens that would end it early are
            # banned inside it (its padding, if any, comes after). The free one ends where the model says.
            exact = not free and not self.variable
            view = _View(backend, self._batcher, k, banned=_with_stops(backend) if exact else None)
            self._runs.append(FillRun(text, sized, view, params, canvas=canvas))
        self.candidates: tuple[Candidate, ...] = ()
        self.best: Candidate | None = None
        self.result: FillResult | None = None
        self.cancelled = False
        self.backend_calls = 0
        """Calls to the backend's ``logits`` while denoising (in lockstep, one call answers every candidate's step)."""
        self.scoring_passes = 0
        """Forward passes spent scoring the finished candidates."""
        self.elapsed = 0.0
        self._cancel = threading.Event()
        self._started = False

    def cancel(self) -> None:
        """Stop every candidate before its next step; safe from another thread."""
        self._cancel.set()
        for run in self._runs:
            run.cancel()

    def run(self) -> FillResult:
        for _ in self:
            pass
        if self.result is None:
            raise RuntimeError("the length search was cancelled before it finished")
        return self.result

    def __iter__(self) -> Iterator[CandidateStep]:
        if self._started:
            raise RuntimeError("a LengthSearch can be iterated only once")
        self._started = True
        begun = time.perf_counter()
        if self._batcher is not None:
            yield from self._in_lockstep(self._batcher)
        else:
            yield from self._in_turn()
        if self._cancel.is_set() or any(run.result is None for run in self._runs):
            self.cancelled = True
            return
        if self._batcher is None:
            self.backend_calls = self.forward_passes
        self.candidates = tuple(self._judge(k, run.result) for k, run in enumerate(self._runs))  # type: ignore[arg-type]
        self.best = max(self.candidates, key=lambda c: (c.score, -c.index))
        self.result = self.best.result
        self.elapsed = time.perf_counter() - begun

    @property
    def runs(self) -> tuple[FillRun, ...]:
        """Each candidate's fill, in ``plans`` order (its ``canvas`` shows how it was laid out)."""
        return tuple(self._runs)

    @property
    def forward_passes(self) -> int:
        """Denoising passes over all candidates (a batch of b canvases counts b)."""
        return sum(run.result.nfe for run in self._runs if run.result is not None)

    def _in_turn(self) -> Iterator[CandidateStep]:
        for k, run in enumerate(self._runs):
            if self._cancel.is_set():
                return
            for event in run:
                yield CandidateStep(k, self.plans[k], event)

    def _in_lockstep(self, batcher: _Lockstep) -> Iterator[CandidateStep]:
        out: queue.Queue = queue.Queue()
        threads = []
        for k, run in enumerate(self._runs):
            thread = threading.Thread(target=_drive, args=(k, run, out, batcher), daemon=True,
                                      name=f"canvasedit-length-{k}")
            threads.append(thread)
        running = len(threads)
        try:
            for thread in threads:
                thread.start()
            while running:
                k, item = out.get()
                if item is _DONE:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield CandidateStep(k, self.plans[k], item)
        finally:
            if running:  # stopped early (an error, the consumer left, ctrl+c): stop the others too
                self.cancel()
            for thread in threads:
                if thread.is_alive():
                    thread.join()
            self.backend_calls = batcher.calls

    def _judge(self, k: int, result: FillResult) -> Candidate:
        tokens = []
        per_hole = []
        for hole in result.holes:
            scored = score(result.text, self.backend, hole.start, hole.end, passes=self.passes, extend=self.junction)
            self.scoring_passes += scored.passes
            logps = [t.logprob for t in scored.tokens]
            tokens += logps
            per_hole.append(sum(logps) / len(logps) if logps else float("-inf"))
        mean = sum(tokens) / len(tokens) if tokens else float("-inf")
        return Candidate(k, self.plans[k], k == len(self.plans) - 1, result, mean, tuple(per_hole))


def search_lengths(
    text: str,
    holes: Sequence[Hole],
    backend: Backend,
    params: SamplerParams | None = None,
    factors: Sequence[float] = LENGTH_FACTORS,
    budget_factor: float = BUDGET_FACTOR,
    lockstep: bool = True,
) -> LengthSearch:
    """Start a length search over ``holes``; bad holes (or a budget past the context) raise at once."""
    return LengthSearch(text, holes, backend, params or SamplerParams.layered(backend.recipe), factors, budget_factor,
                        lockstep=lockstep)


# -- canvases ------------------------------------------------------------------------------------------------


def _pad_id(backend: Backend) -> int | None:
    """The token a hole that ended early is padded with: the tokenizer's pad, else an end token."""
    stops = tuple(backend.stop_ids)
    tokenizer = getattr(backend, "tokenizer", None)
    pad = getattr(tokenizer, "pad_token_id", None) if tokenizer is not None else None
    if pad in stops:
        return int(pad)  # type: ignore[arg-type]
    plain = [t for t in stops if t not in backend.end_ids]
    return plain[0] if plain else (stops[0] if stops else None)


def _padded(text: str, holes: Sequence[Hole], lengths: Sequence[int], backend: Backend, params: SamplerParams,
            pad: int) -> Canvas:
    """The budget canvas with hole i cut to its first ``lengths[i]`` positions and the rest pre-filled with ``pad``."""
    canvas = build_canvas(text, holes, backend.encode, backend.max_length, backend.mask_id, layout=backend.layout,
                          context=params.context)
    ids = canvas.ids.clone()
    spans = []
    for span, n in zip(canvas.spans, lengths):
        ids[span.start + n : span.stop] = pad
        spans.append(replace(span, hole=replace(span.hole, length=n), stop=span.start + n))
    return replace(canvas, ids=ids, spans=tuple(spans))


# -- running the candidates together -------------------------------------------------------------------------

_DONE = object()


def _drive(k: int, run: FillRun, out: queue.Queue, batcher: _Lockstep) -> None:
    """One candidate's thread: its steps into ``out``, then ``_DONE`` (or the exception that stopped it)."""
    with batcher.turn:  # let go only while waiting for a batch: one candidate thread runs at a time
        try:
            for event in run:
                out.put((k, event))
        except BaseException as exc:  # noqa: BLE001  handed to the consumer's thread, which raises it
            out.put((k, exc))
        finally:
            batcher.leave(k)
            out.put((k, _DONE))


class _Lockstep:
    """Collects one forward pass from every running candidate and answers them with batched calls.

    A candidate that asks waits until every other running candidate has asked too (or finished);
    the last one to arrive runs the batch, grouped by canvas length, while the rest wait. The
    candidates' threads take ``turn`` to run at all, so their sampling steps never overlap: kernels
    (and Triton's interpreter) are launched from one thread at a time, and the CPU is not oversubscribed.
    """

    def __init__(self, backend: Backend, members: int) -> None:
        self.backend = backend
        self.active = members
        self.calls = 0
        self.turn = threading.RLock()
        self._cond = threading.Condition(self.turn)
        self._asked: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._answers: dict[int, torch.Tensor | BaseException] = {}

    def logits(self, who: int, ids: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        with self._cond:
            self._asked[who] = (ids, rows)
            self._run_if_ready()
            while who not in self._answers:
                self._cond.wait()
            answer = self._answers.pop(who)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def leave(self, who: int) -> None:
        with self._cond:
            self.active -= 1
            self._asked.pop(who, None)
            self._run_if_ready()

    def _run_if_ready(self) -> None:
        if not self._asked or len(self._asked) < self.active:
            return
        asked, self._asked = self._asked, {}
        try:
            self._answers.update(self._batched(asked))
        except BaseException as exc:  # noqa: BLE001  every waiting candidate raises it in its own thread
            self._answers.update({who: exc for who in asked})
        self._cond.notify_all()

    def _batched(self, asked: dict[int, tuple[torch.Tensor, torch.Tensor]]) -> dict[int, torch.Tensor]:
        by_length: dict[int, list[int]] = {}
        for who, (ids, _) in asked.items():
            by_length.setdefault(len(ids), []).append(who)
        V = int(self.backend.banned.shape[0])
        answers = {}
        for group in by_length.values():
            chunk: list[int] = []
            for who in group:  # as many canvases per call as keep the logits under the memory bound
                union = torch.unique(torch.cat([asked[w][1] for w in [*chunk, who]]))
                if chunk and (len(chunk) + 1) * len(union) * V * 4 > LOGITS_BYTES:
                    answers.update(self._call(asked, chunk))
                    chunk = []
                chunk.append(who)
            answers.update(self._call(asked, chunk))
        return answers

    def _call(self, asked: dict[int, tuple[torch.Tensor, torch.Tensor]], members: list[int]) -> dict[int, torch.Tensor]:
        union = torch.unique(torch.cat([asked[w][1] for w in members]))  # sorted
        ids = torch.stack([asked[w][0] for w in members])  # (b, T)
        out = self.backend.logits(ids, union)  # (b, R_union, V)
        self.calls += 1
        answers = {}
        for k, who in enumerate(members):
            rows = asked[who][1]
            answers[who] = out[k, torch.searchsorted(union, rows.cpu()).to(out.device)]
        return answers


def _with_stops(backend: Backend) -> torch.Tensor:
    """``backend.banned`` with every end / pad token banned too."""
    banned = backend.banned.clone()
    banned[list(backend.stop_ids)] = True
    return banned


class _View:
    """A candidate's view of the backend: its own banned tokens, and in lockstep its forward passes
    going through the batcher; everything else is the backend's."""

    def __init__(self, backend: Backend, batcher: _Lockstep | None, who: int, banned: torch.Tensor | None) -> None:
        self._backend = backend
        self._batcher = batcher
        self._who = who
        self.banned = backend.banned if banned is None else banned

    def __getattr__(self, name: str):
        if name == "open_session" and self._batcher is not None:
            raise AttributeError(name)  # in lockstep every pass is exact and batched: no session of the backend's
        return getattr(self._backend, name)

    def logits(self, ids: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        if self._batcher is None:
            return self._backend.logits(ids, rows)
        if rows is None:
            rows = torch.arange(ids.shape[-1])
        return self._batcher.logits(self._who, ids[0], rows)[None]
