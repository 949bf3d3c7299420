"""Every message the editor's workers and widgets post, in one place.

Workers run in threads and never touch widgets: they post these messages (``post_message`` is
thread-safe) to the editor screen, whose handlers (``on_fill_step`` …) draw; they do not bubble
further. Each fill carries a
``fill_id`` so that messages from a fill the user has already cancelled or replaced are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from canvasedit.engine import FillResult
from canvasedit.engine.view import PassView


@dataclass
class ModelLoaded(Message, bubble=False):
    """The model finished loading in the background; fills are possible from now on."""

    backend: Any
    """The opened ``canvasedit.engine.Backend``."""
    seconds: float
    """How long loading took."""


@dataclass
class ModelFailed(Message, bubble=False):
    """The model could not be loaded; the editor keeps working without fills."""

    error: str
    """One line saying what was wrong and how to fix it."""


@dataclass
class FillStep(Message, bubble=False):
    """One denoising pass of a running fill, to draw over the holes.

    Passes can arrive faster than a slow terminal draws them. The worker folds the engine's step
    deltas into the full current state of every hole (``view.PassView``), so an undrawn pass is
    safely replaced by the next one of the same fill (``can_replace``); the complete trace of
    deltas stays in the ``FillResult``.
    """

    fill_id: int
    """Which fill this pass belongs to."""
    event: PassView
    """The pass: the step's event, pieces of every hole, NFE, elapsed time."""

    def can_replace(self, message: Message) -> bool:
        """A pending pass is dropped when a newer pass of the same fill is already queued."""
        return isinstance(message, FillStep) and message.fill_id == self.fill_id


@dataclass
class FillFinished(Message, bubble=False):
    """A fill ran to its end; its result waits to be accepted or rejected."""

    fill_id: int
    result: FillResult
    """The whole new document, each hole's text and the trace of every pass."""


@dataclass
class FillCancelled(Message, bubble=False):
    """A fill stopped between two passes because the user cancelled it; nothing changed."""

    fill_id: int


@dataclass
class FillFailed(Message, bubble=False):
    """A fill stopped with an error; the document is unchanged."""

    fill_id: int
    error: str
    """One line for the notification."""


@dataclass
class HolesChanged(Message):
    """The canvas's holes were added, removed, resized, moved by an edit, filled or taken back."""

    count: int
    """How many holes there are now."""
    removed: tuple[str, ...] = ()
    """The states (``marked``, ``filling``, ``pending``) of the holes an edit just removed."""
    reason: str = ""
    """``undo`` / ``redo`` of a batch that changed holes; ``undo-fill`` when a fill's text was undone."""

    @property
    def removed_by_edit(self) -> int:
        """How many marked holes an edit of their text just removed."""
        return self.removed.count("marked")


@dataclass
class ScoreFinished(Message, bubble=False):
    """The heatmap's scoring ran to its end: every token of the range with its probability in place."""

    score_id: int
    """Which scoring this is (a cancelled or replaced one is ignored)."""
    tokens: tuple[Any, ...]
    """``canvasedit.engine.score.TokenScore`` of each scored token, in document order."""
    passes: int
    """Forward passes it took."""
    seconds: float


@dataclass
class ScoreFailed(Message, bubble=False):
    """Scoring stopped with an error; nothing is shaded."""

    score_id: int
    error: str
    """One line for the notification."""
