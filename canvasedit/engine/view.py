"""Every hole as it reads after each step: the step events' deltas folded onto the fill's start.

A ``StepEvent`` says only what its step changed (tokens committed, re-masked, holes resized). The
front ends draw whole holes, so they fold the events in order onto ``FillStart`` (the holes
before the first step) with a ``FillView``; each ``apply`` returns a ``PassView``, the complete
state after that step, which a slow front end may draw or drop::

    view = FillView(handle.start)             # once the first event has arrived
    for event in handle.events():
        shown = view.apply(event)             # PassView: .pieces, .holes, .step, .nfe, .committed …
        draw(shown.pieces)
    for shown in replay(result.start, result.trace):   # a finished fill's passes, drawn again
        ...

The rules are the engine's: a step's "new" tokens become "done" at the next step; commits, then
re-masks, then resizes apply in that order; end / pad tokens are drawn as nothing, and nothing
is drawn after an end-of-turn token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from canvasedit.engine.fill import MASK_GLYPH, Commit, FillStart, Piece, StepEvent


@dataclass(frozen=True)
class PassView:
    """One pass as drawn: the step's event and every hole's tokens after it."""

    event: StepEvent
    pieces: tuple[tuple[Piece, ...], ...]
    """Per hole, its tokens with their state ("masked", "new", "done", "kept")."""
    holes: tuple[str, ...]
    """Every hole's text, still-masked tokens shown as ``MASK_GLYPH``."""

    @property
    def step(self) -> int:
        return self.event.step

    @property
    def total_steps(self) -> int:
        return self.event.total_steps

    @property
    def nfe(self) -> int:
        return self.event.nfe

    @property
    def elapsed(self) -> float:
        return self.event.elapsed

    @property
    def committed(self) -> tuple[Commit, ...]:
        return self.event.committed

    @property
    def remasked(self) -> tuple[tuple[int, int], ...]:
        return self.event.remasked

    @property
    def resized(self) -> tuple[tuple[int, int, int], ...]:
        return self.event.resized

    @property
    def written(self) -> int:
        """Tokens the model has written so far (a revision's kept tokens excluded)."""
        return sum(1 for hole in self.pieces for piece in hole if piece.state in ("new", "done"))


class FillView:
    """Folds one fill's step events, in order, onto its start."""

    def __init__(self, start: FillStart, mask: str = MASK_GLYPH) -> None:
        # Per hole, per token: [token id or None, text, state, confidence].
        self._holes: list[list[list[Any]]] = [
            [[token, mask, "masked", None] if token is None else [token, text, "kept", None] for token, text in hole]
            for hole in start.holes
        ]
        self._stop_ids = start.stop_ids
        self._end_ids = start.end_ids
        self.mask = mask
        self.committed = 0
        """Tokens committed over every step so far."""

    def apply(self, event: StepEvent) -> PassView:
        """Fold one step; returns every hole as it reads after it."""
        holes, mask = self._holes, self.mask
        for hole in holes:
            for entry in hole:
                if entry[2] == "new":
                    entry[2] = "done"
        for c in event.committed:
            holes[c.hole][c.offset] = [c.token, c.text, "new", c.confidence]
        self.committed += len(event.committed)
        for hole, offset in event.remasked:
            holes[hole][offset] = [None, mask, "masked", None]
        for hole, offset, delta in event.resized:
            if delta > 0:  # an expand token became two masks
                holes[hole][offset : offset + 1] = [[None, mask, "masked", None], [None, mask, "masked", None]]
            else:  # an end token was deleted
                del holes[hole][offset]
        for hole, text, whole in event.texts:
            if whole:
                holes[hole][:] = [[None, text, "new", None]]
            else:
                holes[hole][:] = [entry for entry in holes[hole] if entry[2] != "masked"] + [[None, text, "new", None]]
        pieces = tuple(self._pieces(hole) for hole in holes)
        return PassView(event, pieces, tuple("".join(p.text for p in hole) for hole in pieces))

    def _pieces(self, hole: list[list[Any]]) -> tuple[Piece, ...]:
        out = []
        ended = False
        for token, text, state, conf in hole:
            if state == "masked":
                out.append(Piece(self.mask, state, conf))
                continue
            if token in self._end_ids:
                ended = True
            out.append(Piece("" if ended or token in self._stop_ids else text, state, conf))
        return tuple(out)


def replay(start: FillStart, trace: Iterable[StepEvent]) -> Iterator[PassView]:
    """Every pass of a finished fill, drawn again from its deltas."""
    view = FillView(start)
    for event in trace:
        yield view.apply(event)


def passes(run: Any) -> Iterator[PassView]:
    """Iterate a fill (a ``FillRun``, or a handle's ``events()``'s owner) and see each pass whole.

    ``run`` is anything iterable of ``StepEvent`` whose ``start`` is set once the first event is out.
    """
    view: FillView | None = None
    for event in run:
        if view is None:
            view = FillView(run.start)
        yield view.apply(event)
