"""The editor's hole and result keys: mask, grow/shrink, resize, remove, fill, revise, accept, reject.

``HoleCommands`` is mixed into ``EditorScreen`` next to ``FillControl`` (which owns the fill
cycle); each ``action_*`` here is one key of the table in the README. None of them waits for a
running fill: marking, resizing and removing holes go on while one runs, except on the holes
that fill is writing, and the results of a finished fill are accepted or rejected hole by hole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from canvasedit.ui.filetypes import file_type
from canvasedit.ui.holes import FILLING, MARKED, PENDING, HoleMark, longer, shorter
from canvasedit.ui.screens.editor_fill import FillControl, plural

if TYPE_CHECKING:
    from canvasedit.document import Document


class HoleCommands(FillControl):
    """Hole and result actions for the editor screen."""

    if TYPE_CHECKING:
        hole_length: int
        model_error: str | None
        document: Document

        def _show_holes(self) -> None: ...

    def _busy(self, mark: HoleMark) -> bool:
        """Whether ``mark`` would overlap a hole a fill is writing or a result waiting (and say so)."""
        busy = [s for s in self.canvas.holes.overlapping(mark) if s.state != MARKED]
        if not busy:
            return False
        if busy[0].state == FILLING:
            self.notify(f"That hole is being filled: wait, or {self.key_for('reject')} cancels.", severity="warning", timeout=3)
        else:
            self.notify(
                f"A result waits there: {self.key_for('accept_hole')} accepts it, {self.key_for('reject_hole')} rejects it.",
                severity="warning",
                timeout=3,
            )
        return True

    def action_mask(self) -> None:
        """Mask the selection, or insert a hole of ``hole_length`` tokens at the cursor."""
        start, end = self.canvas.selection_offsets()
        if not self._busy(HoleMark(start, end)):
            self.canvas.add_hole_at_cursor(self.hole_length)

    def action_grow(self) -> None:
        """Select the enclosing syntax node."""
        if not self.canvas.grow_selection():
            self.notify(f"No syntax tree for {file_type(self.document.path).label} files.", severity="warning", timeout=3)

    def action_shrink(self) -> None:
        """Undo the last grow of the selection."""
        self.canvas.shrink_selection()

    def _resize(self, step: Callable[[int], int]) -> None:
        slot = self.canvas.slot_at_cursor()
        if slot is None or slot.mark.revise is not None:
            self.hole_length = step(self.hole_length)
        elif slot.state != MARKED:
            self.notify("Only a hole waiting to be filled can be resized.", severity="warning", timeout=3)
            return
        else:
            mark = slot.mark
            current = mark.length
            if current is None:
                counter = self.canvas.token_counter
                current = counter(self.canvas.text[mark.start : mark.end]) if counter else self.hole_length
            self.canvas.resize_hole(mark, step(current))
        self._show_holes()

    def action_hole_longer(self) -> None:
        """Lengthen the hole under the cursor, or the next new hole."""
        self._resize(longer)

    def action_hole_shorter(self) -> None:
        """Shorten the hole under the cursor, or the next new hole."""
        self._resize(shorter)

    def action_remove_hole(self) -> None:
        """Remove the hole under the cursor (the text stays); a hole being filled leaves the fill."""
        slot = self.canvas.slot_at_cursor()
        if slot is None:
            self.notify("The cursor is not on a hole.", severity="warning", timeout=3)
        elif slot.state == PENDING:
            self.notify(
                f"That hole holds a result: {self.key_for('accept_hole')} keeps it, "
                f"{self.key_for('reject_hole')} puts the old text back.",
                severity="warning",
                timeout=3,
            )
        else:
            self.canvas.remove_hole(slot)
            if slot.state == FILLING and not self.canvas.holes.in_state(FILLING):
                self.cancel_fill("its last hole was removed; fill stopped")

    def action_clear_holes(self) -> None:
        """Remove every hole waiting or being filled (the text stays); results waiting are kept."""
        gone = self.canvas.clear_holes((MARKED, FILLING))
        if any(slot.state == FILLING for slot in gone):
            self.cancel_fill("holes cleared; fill stopped")
        left = len(self.canvas.holes.in_state(PENDING))
        if left:
            self.set_summary(f"{plural(left, 'result')} still waiting: {self.key_for('accept')} or {self.key_for('reject')}")

    # ------------------------------------------------------------------ fill keys

    def _model_available(self, verb: str) -> bool:
        if self.backend is None:
            self.notify(f"Cannot {verb}: {self.model_error or 'the model is still loading'}", severity="warning")
        return self.backend is not None

    def _can_start(self) -> bool:
        if self._active_fill is not None:
            self.notify(f"A fill is running: {self.key_for('reject')} cancels it.", severity="warning", timeout=3)
            return False
        return True

    def action_fill(self) -> None:
        """Fill the marked holes; with none, fill the selection or an insertion point at the cursor."""
        if not self._can_start() or not self._model_available("fill"):
            return
        if not self.canvas.holes.in_state(MARKED):
            start, end = self.canvas.selection_offsets()
            if self._busy(HoleMark(start, end)):
                return
            self.canvas.add_hole_at_cursor(self.hole_length)
        self.start_fill()

    def action_revise(self) -> None:
        """Re-mask the least likely tokens of the selection and let the model rewrite them."""
        if not self._can_start():
            return
        start, end = self.canvas.selection_offsets()
        if start == end:
            self.notify("Select the text to revise first.", severity="warning", timeout=3)
            return
        if self._busy(HoleMark(start, end)) or not self._model_available("revise"):
            return
        self.canvas.add_hole(HoleMark(start, end, revise=self.settings.editor.revise_fraction))
        self.start_fill()

    def action_accept(self) -> None:
        """Accept every result waiting."""
        self.accept_fill()

    def action_accept_hole(self) -> None:
        """Accept the result under the cursor (else the next one)."""
        slot = self._pending_slot()
        if slot is None:
            self.notify("No result is waiting.", severity="warning", timeout=3)
        else:
            self.accept_fill([slot])

    def action_reject_hole(self) -> None:
        """Reject the result under the cursor (else the next one): its old text comes back."""
        slot = self._pending_slot()
        if slot is None:
            self.notify("No result is waiting.", severity="warning", timeout=3)
        else:
            self.reject_fill([slot])

    def action_accept_word(self) -> None:
        """Accept the next word of the result under (or after) the cursor."""
        self.accept_part("word")

    def action_accept_line(self) -> None:
        """Accept the next line of the result under (or after) the cursor."""
        self.accept_part("line")

    def action_regenerate(self) -> None:
        """Fill again with the next seed: the result under the cursor, else all results, else the holes."""
        if not self._model_available("fill again"):
            return
        if not self.regenerate_fill():
            self.notify(f"Nothing to fill again: mark a hole first ({self.key_for('mask')}).", severity="warning", timeout=3)

    def action_recall(self) -> None:
        """Bring back the last rejected result as a proposal."""
        if not self.recall_rejected():
            self.notify("No rejected result to bring back (or its holes changed since).", severity="warning", timeout=3)
