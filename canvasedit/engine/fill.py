"""Fill the holes of a document: the engine's public entry point.

``fill`` validates the holes and builds the canvas at once (bad input raises before any work),
then returns a ``FillRun``: iterate it for one ``StepEvent`` per denoising step, then read
``run.result``. Cancelling (``run.cancel()`` or just stopping the iteration) leaves
``run.result`` as None; the caller's text was never touched, since strings are immutable and the
result is a new string.

    run = fill(text, [Hole(120, 120, length=16), Hole(300, 340)], backend, SamplerParams(steps=16))
    view = None
    for event in run:                     # what this step changed: commits, re-masks, resizes
        view = view or FillView(run.start)    # engine/view.py: folds the deltas into every hole's text
        draw(view.apply(event).holes)     # current text of every hole, masks as "░"
    document = run.result.text            # or run.run() to skip the stream

An event carries only what its step changed, so the result's trace (``result.start`` and every
event) grows with the tokens committed, not with steps × tokens; ``view.replay`` draws any pass again.

All holes are denoised jointly in one canvas, each conditioned on the others and on the context.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from canvasedit.engine.backends import Backend
from canvasedit.engine.canvas import Canvas, Hole, build_canvas
from canvasedit.engine.denoise import StepRecord, Work, denoise, open_session, planned_steps
from canvasedit.engine.sampling import Remasking, SamplerParams
from canvasedit.engine.session import Session

MASK_GLYPH = "░"
# Passes that score a revised range: every G-th token is masked in pass g, so each token is judged
# by the model with its neighbours visible, at G forward passes instead of one per token.
REVISE_SCORING_PASSES = 4


@dataclass(frozen=True, slots=True)
class Piece:
    """One token of a hole as the editor draws it."""

    text: str
    state: str
    """"masked" (still a mask), "new" (committed this step), "done" (committed earlier), "kept" (original token)."""
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Commit:
    hole: int
    """Index of the hole (in document order)."""
    offset: int
    """Token index inside the hole."""
    token: int
    text: str
    confidence: float


@dataclass(frozen=True, slots=True)
class StepEvent:
    """What one denoising step changed; ``view.FillView`` folds these into every hole's text."""

    step: int
    total_steps: int
    """Steps the schedule plans; a threshold can finish in fewer, a revision can take more."""
    committed: tuple[Commit, ...]
    remasked: tuple[tuple[int, int], ...]
    """(hole, offset) of tokens masked again this step."""
    resized: tuple[tuple[int, int, int], ...]
    """(hole, offset, +1 | −1): a growing hole's expand token became two masks at offset, or its end
    token there was deleted (DreamOn), applied in this order after the commits."""
    nfe: int
    """Forward passes so far, scoring passes of revised ranges included."""
    elapsed: float
    """Seconds since the fill started."""
    texts: tuple[tuple[int, str, bool], ...] = ()
    """``(hole, text, whole)`` from an engine that sends text rather than tokens (an OpenAI-style
    server): ``text`` is appended to the hole (its masks dropped), or is its whole text when ``whole``."""


@dataclass(frozen=True)
class FillStart:
    """Every hole's tokens before the first step, from which ``view.FillView`` folds the steps."""

    holes: tuple[tuple[tuple[int | None, str], ...], ...]
    """Per hole, per token: ``(token id, text)`` of a revision's kept token, ``(None, MASK_GLYPH)`` of a mask."""
    stop_ids: frozenset[int] = frozenset()
    """End / pad tokens, drawn as nothing."""
    end_ids: frozenset[int] = frozenset()
    """End-of-turn tokens: nothing after one is drawn."""

    @classmethod
    def masks(cls, sizes: Sequence[int], stop_ids: Sequence[int] = (), end_ids: Sequence[int] = ()) -> FillStart:
        """Holes of ``sizes`` masks each."""
        return cls(tuple(((None, MASK_GLYPH),) * n for n in sizes), frozenset(stop_ids), frozenset(end_ids))


@dataclass(frozen=True)
class FilledHole:
    index: int
    kind: str
    text: str
    start: int
    """Character offset of the filled text in the *new* document."""
    end: int
    original_start: int
    """The hole's range in the document as it was."""
    original_end: int
    tokens: tuple[int, ...]


@dataclass(frozen=True)
class FillResult:
    text: str
    """The whole new document."""
    holes: tuple[FilledHole, ...]
    nfe: int
    steps: int
    elapsed: float
    tokens_committed: int
    trace: tuple[StepEvent, ...]
    """Every step's deltas; ``view.replay(result.start, result.trace)`` draws each pass again."""
    params: SamplerParams
    rows_computed: int = 0
    """Canvas positions the model ran over during the denoising steps (exact: canvas × steps)."""
    start: FillStart | None = None
    """The holes before the first step (None: a result built without its passes)."""

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_committed / self.elapsed if self.elapsed > 0 else 0.0


class FillRun:
    """One fill in progress: an iterator of ``StepEvent`` that ends with ``result`` set."""

    def __init__(self, text: str, holes: Sequence[Hole], backend: Backend, params: SamplerParams,
                 canvas: Canvas | None = None) -> None:
        """``canvas``: one the caller built (an instruction's chat prompt before the answer's masks), whose
        segments and spans stand for ``text`` and ``holes``; by default the holes' canvas in ``text``."""
        self.params = params
        self.backend = backend
        self.original = text
        self.canvas: Canvas = canvas if canvas is not None else build_canvas(
            text, holes, backend.encode, backend.max_length, backend.mask_id, layout=backend.layout,
            context=params.context,
        )
        self.result: FillResult | None = None
        self.start: FillStart | None = None
        """The holes before the first step (a revision's kept tokens among the masks); set before the first event."""
        self.cancelled = False
        self._cancel = threading.Event()
        self._started = False
        self._spans = [[span.start, span.stop] for span in self.canvas.spans]
        """Each hole's canvas positions now; they move when a variable-length hole grows or shrinks."""
        self._hole_of = self._holes_of(len(self.canvas.ids))

    def _holes_of(self, length: int) -> torch.Tensor:
        hole_of = torch.full((length,), -1, dtype=torch.long)
        for i, (start, stop) in enumerate(self._spans):
            hole_of[start:stop] = i
        return hole_of

    def cancel(self) -> None:
        """Stop before the next step; safe to call from another thread."""
        self._cancel.set()

    def run(self) -> FillResult:
        for _ in self:
            pass
        if self.result is None:
            raise RuntimeError("the fill was cancelled before it finished")
        return self.result

    def __iter__(self) -> Iterator[StepEvent]:
        if self._started:
            raise RuntimeError("a FillRun can be iterated only once")
        self._started = True
        start = time.perf_counter()
        backend, params = self.backend, self.params
        generator = torch.Generator(device=torch.device(backend.device)).manual_seed(params.seed)
        ids = self.canvas.ids.clone()
        kept = torch.zeros(len(ids), dtype=torch.bool)
        stage_of = self._stages(ids)
        work = Work(ids, stage_of)
        session = open_session(backend, work, params)  # revision scoring and denoising share it
        nfe = self._mask_revisions(ids, kept, session)
        total = planned_steps(stage_of, params, ids == backend.mask_id)
        # A threshold commits extra tokens, so the schedule can end early. Each step commits at least
        # one mask (the top-k rule's one, unless the origin order draws none), so the total shown
        # shrinks to the steps that can still run and ends equal to the last step.
        shrinks = (params.threshold > 0 and params.algorithm is not Remasking.ORIGIN and not params.revise_below
                   and getattr(backend, "expand_id", None) is None)
        trace: list[StepEvent] = []
        self.start = self._start(ids, kept)
        committed_total = 0
        rows_computed = 0
        try:
            for record in denoise(backend, work, params, generator, session):
                if self._cancel.is_set():
                    break
                committed_total += len(record.positions)
                rows_computed = record.rows_computed
                if shrinks:  # every later step commits at least one of the masks left
                    left = int(((work.stage_of >= 0) & (work.ids == backend.mask_id)).sum())
                    total = max(record.step, min(total, record.step + left))
                event = self._event(record, nfe, total, time.perf_counter() - start)
                trace.append(event)
                yield event
                if self._cancel.is_set():  # before the next forward pass, not after it
                    break
        except GeneratorExit:  # the consumer closed the stream: that is a cancel too
            self.cancelled = True
            raise
        if self._cancel.is_set():
            self.cancelled = True
            return
        total_nfe = trace[-1].nfe if trace else nfe
        self.result = self._result(work.ids, total_nfe, trace, committed_total, time.perf_counter() - start,
                                   rows_computed)

    # ------------------------------------------------------------ pieces

    def _mask_revisions(self, ids: torch.Tensor, kept: torch.Tensor, session: Session) -> int:
        """Mask the least likely tokens of every revised range; returns the forward passes spent."""
        spans = [s for s in self.canvas.spans if s.hole.revise is not None]
        if not spans:
            return 0
        mask_id = self.backend.mask_id
        groups = min(REVISE_SCORING_PASSES, max(s.length for s in spans))
        scores = torch.zeros(len(ids))
        for g in range(groups):
            probe = ids.clone()
            rows = torch.tensor([p for s in spans for p in range(s.start, s.stop) if (p - s.start) % groups == g])
            if len(rows) == 0:
                continue
            probe[rows] = mask_id
            probs = session.logits(probe, rows).softmax(-1).cpu()  # (R, V)
            scores[rows] = probs.gather(-1, ids[rows][:, None]).squeeze(-1)
        for span in spans:
            n = max(1, round(span.hole.revise * span.length))
            positions = torch.arange(span.start, span.stop)
            order = torch.argsort(scores[positions], stable=True)
            kept[positions] = True
            chosen = positions[order[:n]]
            ids[chosen] = mask_id
            kept[chosen] = False
        return groups

    def _stages(self, ids: torch.Tensor) -> torch.Tensor:
        """Each hole position's semi-autoregressive stage: stage b of every hole is filled before b + 1.

        Bidirectional models count blocks of ``block_length`` from each hole's start. Block-causal
        models count them on the canvas, inside the model's attention blocks (whose text before a hole
        is in the same block), and a shifted one (Fast-dLLM v2) first decides each block's first
        position alone, from the previous block's last row, as its authors' sampler does.
        """
        stage_of = torch.full((len(ids),), -1, dtype=torch.long)
        L = self.params.block_length
        block = self.backend.layout.block_size
        if not block:
            for span in self.canvas.spans:
                offsets = torch.arange(span.length)
                stage_of[span.start : span.stop] = offsets // L if L > 0 else 0
            return stage_of
        sub = L if 0 < L <= block and block % L == 0 else block
        positions = torch.cat([torch.arange(s.start, s.stop) for s in self.canvas.spans])
        counted = positions + self.backend.layout.block_offset(self.canvas.spans[0].start)
        inner = counted % block
        part = inner // sub + 1
        if self.backend.layout.shifted:
            part = torch.where(inner == 0, 0, part)
        key = (counted // block) * (block // sub + 1) + part
        stage_of[positions] = torch.unique(key, return_inverse=True)[1]
        return stage_of

    def _start(self, ids: torch.Tensor, kept: torch.Tensor) -> FillStart:
        token_text = self.backend.token_text
        holes = tuple(
            tuple((int(ids[p]), token_text(int(ids[p]))) if kept[p] else (None, MASK_GLYPH) for p in range(start, stop))
            for start, stop in self._spans
        )
        return FillStart(holes, frozenset(self.backend.stop_ids), frozenset(self.backend.end_ids))

    def _event(self, record: StepRecord, nfe_before: int, total: int, elapsed: float) -> StepEvent:
        """The step's record in hole coordinates: (hole, offset) instead of canvas positions."""
        commits = []
        for p, token, c in zip(record.positions, record.tokens, record.confidences):
            hole = int(self._hole_of[p])
            commits.append(Commit(hole, p - self._spans[hole][0], token, self.backend.token_text(token), c))
        remasked = []
        for p in record.remasked:
            hole = int(self._hole_of[p])
            remasked.append((hole, p - self._spans[hole][0]))
        resized = []
        for p, delta in record.resized:
            hole = int(self._hole_of[p])
            resized.append((hole, p - self._spans[hole][0], delta))
            self._spans[hole][1] += delta
            for later in self._spans[hole + 1 :]:
                later[0] += delta
                later[1] += delta
            self._hole_of = self._holes_of(self._hole_of.numel() + delta)
        return StepEvent(
            step=record.step,
            total_steps=total,
            committed=tuple(commits),
            remasked=tuple(remasked),
            resized=tuple(resized),
            nfe=nfe_before + record.nfe,
            elapsed=elapsed,
        )

    def _result(
        self, ids: torch.Tensor, nfe: int, trace: list[StepEvent], committed: int, elapsed: float, rows: int
    ) -> FillResult:
        parts = [self.canvas.segments[0]]
        cursor = len(self.canvas.segments[0])
        filled = []
        for i, (span, (start, stop)) in enumerate(zip(self.canvas.spans, self._spans)):
            tokens = hole_tokens(
                ids[start:stop].tolist(), self.backend.stop_ids, self.backend.end_ids, self.backend.mask_id
            )
            text = self.backend.decode(tokens)
            filled.append(
                FilledHole(i, span.hole.kind, text, cursor, cursor + len(text), span.hole.start, span.hole.end, tokens)
            )
            parts.append(text)
            parts.append(self.canvas.segments[i + 1])
            cursor += len(text) + len(self.canvas.segments[i + 1])
        return FillResult(
            text="".join(parts),
            holes=tuple(filled),
            nfe=nfe,
            steps=len(trace),
            elapsed=elapsed,
            tokens_committed=committed,
            trace=tuple(trace),
            params=self.params,
            rows_computed=rows,
            start=self.start,
        )


def hole_tokens(tokens: Sequence[int], stop_ids: Sequence[int], end_ids: Sequence[int], mask_id: int) -> tuple[int, ...]:
    """A filled hole's tokens as they become text.

    End / pad tokens (``stop_ids``) are dropped wherever they stand, so a hole may come out shorter
    than its mask run; an end-of-turn token (``end_ids``, e.g. ``<|eot_id|>``) closes the hole, and
    what follows it is not written (dllm's ``infill_trim`` cuts at the first EOT the same way).
    """
    out = []
    for token in tokens:
        if token in end_ids:
            break
        if token not in stop_ids and token != mask_id:
            out.append(int(token))
    return tuple(out)


def fill(text: str, holes: Sequence[Hole], backend: Backend, params: SamplerParams | None = None) -> FillRun:
    """Start a fill of ``holes`` in ``text``; raises ``EngineError`` subclasses for bad input at once."""
    return FillRun(text, holes, backend, params or SamplerParams())

