"""The canvas's hole and proposal editing: holes that follow edits, results written as one undo step.

``HoleEditing`` is mixed into ``CanvasArea`` (before ``TextArea`` in its bases). It keeps
``self.holes`` in step with every change of the text — typing, undo, redo, a fill's result —
and turns the fill cycle into edits:

    slots = canvas.holes.in_state("marked")
    canvas.write_proposals([(slot, "new text", proposal)], fill_id=3)   # one undo step; slots "pending"
    canvas.accept_proposals(canvas.holes.in_state("pending"))          # the text stays; no new undo step
    canvas.reject_proposals([slot])                                    # originals back; holes marked again
    canvas.accept_part(slot, "word")                                   # the proposal's next word only

Undo and redo know which history batches wrote or took back proposals (``_records``): undoing an
accepted fill restores the holes it filled, and undoing a fill that is still pending is a reject.
TextArea's ``EditHistory`` keeps batches in ``_undo_stack`` / ``_redo_stack``; the few places that
reach into them say why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from textual.widgets.text_area import Edit, EditResult

from canvasedit.ui.holes import MARKED, PENDING, HoleMark, HoleSet, Proposal, Slot, edit_region
from canvasedit.ui.messages import HolesChanged

if TYPE_CHECKING:
    Location = tuple[int, int]

_NEXT_WORD = re.compile(r"\s*(?:\w+|[^\w\s]+)")


@dataclass
class BatchRecord:
    """What one history batch did to the holes, so undo and redo can do the same to them."""

    before: list[HoleMark] = field(default_factory=list)
    """Marked holes in the text before the batch (offsets in that text): undo marks them again."""
    after: list[HoleMark] = field(default_factory=list)
    """Marked holes in the text after it: undo removes them, redo marks them again."""
    fill_id: int | None = None
    """The fill whose proposals the batch wrote: undoing it drops those still pending."""


class HoleEditing:
    """Holes, proposals and history for a TextArea subclass (``CanvasArea``)."""

    if TYPE_CHECKING:  # provided by CanvasArea / TextArea
        history: object
        text: str

        def offset_of(self, location: Location) -> int: ...
        def location_of(self, offset: int) -> Location: ...
        def replace(self, insert: str, start: Location, end: Location, *, maintain_selection_offset: bool = True) -> EditResult: ...
        def post_message(self, message: object) -> bool: ...
        def _text_changed(self) -> None: ...
        def _holes_redrawn(self, rows: tuple[int, int] | None = None) -> None: ...

    def _init_holes(self) -> None:
        self.holes = HoleSet()
        """The holes, in document order."""
        self._tracking = True
        self._records: list[tuple[list[Edit], BatchRecord]] = []
        self._batches_made: list[list[Edit]] | None = None

    # ------------------------------------------------------------------ edits

    def edit(self, edit: Edit) -> EditResult:
        """Perform an edit and move, keep or drop the holes it affects."""
        if not self.holes or not self._tracking:
            self._text_changed()
            result = super().edit(edit)  # type: ignore[misc]
            self._text_changed()
            return result
        top, bottom = sorted((edit.from_location, edit.to_location))
        start, old_end = self.offset_of(top), self.offset_of(bottom)
        self._text_changed()
        result = super().edit(edit)  # type: ignore[misc]
        self._text_changed()
        removed = self.holes.track_edit(start, old_end, self.offset_of(result.end_location))
        # Only the edited rows need drawing again: the holes on other rows kept their places there.
        self._holes_changed(removed, rows=None if removed else (top[0], result.end_location[0]))
        return result

    def undo(self) -> None:
        """Undo the last batch of edits; holes filled or rejected by it come back."""
        self._undo("")

    def _undo(self, reason: str) -> None:
        stack = self.history._undo_stack  # type: ignore[attr-defined]
        record = self._record_of(stack[-1]) if stack else None
        self._through_history(super().undo, record, undo=True, reason=reason)  # type: ignore[misc]

    def redo(self) -> None:
        """Redo the last undone batch of edits, with what it did to the holes."""
        stack = self.history._redo_stack  # type: ignore[attr-defined]
        record = self._record_of(stack[-1]) if stack else None
        self._through_history(super().redo, record, undo=False)  # type: ignore[misc]

    def _through_history(self, step: Callable[[], None], record: BatchRecord | None, undo: bool, reason: str = "") -> None:
        # Marks the batch made (or took away) are dropped first, while their offsets still
        # match the text; TextArea replays history without calling edit(), so what else
        # changed is found by comparison.
        if record is not None:
            self._drop_marks(record.after if undo else record.before)
        before = self.text if self.holes else None
        self._text_changed()
        step()
        self._text_changed()
        if record is not None:  # a batch of edits far apart: rewrap every row, not a guessed range
            self.wrapped_document.wrap(self.wrap_width, self.indent_width)  # type: ignore[attr-defined]
        removed: list[Slot] = []
        if before is not None:
            after = self.text
            if after != before:
                removed = self.holes.track_edit(*edit_region(before, after))
        if record is not None:
            if undo and record.fill_id is not None:
                left = [s for s in self.holes.slots if s.proposal and s.proposal.fill_id == record.fill_id]
                for slot in left:
                    self.holes.remove(slot)
                removed += left
            for mark in record.before if undo else record.after:
                self.holes.add(mark)
            if not reason:
                reason = "undo-fill" if undo and record.fill_id is not None else "undo" if undo else "redo"
        self._holes_changed(removed, reason)

    def _drop_marks(self, marks: Iterable[HoleMark]) -> None:
        wanted = set(marks)
        for slot in self.holes.slots:
            if slot.state == MARKED and slot.mark in wanted:
                self.holes.remove(slot)

    def _record_of(self, batch: list[Edit]) -> BatchRecord | None:
        return next((record for b, record in self._records if b is batch), None)

    def _remember(self, batch: list[Edit] | None, record: BatchRecord) -> None:
        if batch is None:
            return
        history = self.history
        live = [*history._undo_stack, *history._redo_stack]  # type: ignore[attr-defined]
        # Batches that fell off the bounded undo stack no longer need a record.
        self._records = [(b, r) for b, r in self._records if any(b is x for x in live)]
        self._records.append((batch, record))

    @contextmanager
    def _one_batch(self) -> Iterator[list[list[Edit]]]:
        """Group the edits made inside into one history batch (one undo step).

        TextArea gives every multi-character edit a batch of its own; the batches made inside
        are taken off the top of the undo stack and put back as one. Yields a list that holds
        the merged batch afterwards (empty when nothing was recorded).
        """
        history = self.history
        stack = history._undo_stack  # type: ignore[attr-defined]
        made: list[list[Edit]] = []
        out: list[list[Edit]] = []
        self._batches_made = made
        try:
            yield out
        finally:
            self._batches_made = None
            for _ in made:
                stack.pop()
            if made:
                merged = [edit for batch in made for edit in batch]
                stack.append(merged)
                out.append(merged)
            history.checkpoint()  # type: ignore[attr-defined]

    def _replace_range(self, start: int, end: int, text: str) -> int:
        """Replace ``[start, end)`` without the hole tracking (the caller moves the holes); returns the new end."""
        history = self.history
        stack = history._undo_stack  # type: ignore[attr-defined]
        top = stack[-1] if stack else None
        history.checkpoint()  # type: ignore[attr-defined]
        self._tracking = False
        try:
            result = self.replace(text, self.location_of(start), self.location_of(end))
        finally:
            self._tracking = True
        made = self._batches_made
        if made is not None and stack and stack[-1] is not top:
            made.append(stack[-1])
        # The document's line breaks win over the text's (TextArea splits at every kind), so
        # measure where the new text ends rather than trusting len(text).
        return self.offset_of(result.end_location)

    def _replace_slot(self, slot: Slot, text: str) -> None:
        """Put ``text`` in ``slot``'s range; the slot covers it afterwards and later holes shift."""
        start, end = slot.start, slot.end
        new_end = self._replace_range(start, end, text)
        delta = new_end - end
        for other in self.holes.slots:
            if other is not slot and other.start >= end and delta:
                self.holes.move(other, other.start + delta, other.end + delta)
        self.holes.move(slot, start, new_end)

    # ------------------------------------------------------------------ proposals

    def write_proposals(self, writes: list[tuple[Slot, str, Proposal]], fill_id: int) -> None:
        """Write each slot's text into its range, all as one undo step; the slots become pending."""
        before = [slot.mark for slot, _, _ in writes]
        with self._one_batch() as batch:
            # In document order, as typing would make them: TextArea's undo rewraps the rows
            # between the batch's first and last edit, which only holds for edits in that order.
            for slot, text, proposal in sorted(writes, key=lambda w: w[0].start):
                self._replace_slot(slot, text)
                slot.state, slot.proposal = PENDING, proposal
        self._remember(batch[0] if batch else None, BatchRecord(before=before, fill_id=fill_id))
        self._holes_changed()

    def committed_text(self) -> str:
        """The text without the results waiting: each proposal's range holds what it stands in place of."""
        pending = self.holes.in_state(PENDING)
        if not pending:
            return self.text
        text, parts, position = self.text, [], 0
        for slot in pending:
            assert slot.proposal is not None
            parts += [text[position : slot.start], slot.proposal.original]
            position = slot.end
        parts.append(text[position:])
        return "".join(parts)

    def committed_marks(self) -> list[HoleMark]:
        """Every hole as a mark in ``committed_text()`` (a result's hole where its original text is)."""
        marks, delta = [], 0
        for slot in self.holes.slots:
            if slot.state == PENDING and slot.proposal is not None:
                start = slot.start + delta
                original = slot.proposal.original
                marks.append(replace(slot.proposal.mark, start=start, end=start + len(original)))
                delta += len(original) - (slot.end - slot.start)
            else:
                marks.append(replace(slot.mark, start=slot.start + delta, end=slot.end + delta))
        return marks

    def set_proposal(self, slot: Slot, proposal: Proposal) -> None:
        """Replace a pending slot's proposal (e.g. with the result of a parse check)."""
        slot.proposal = proposal
        self._holes_changed()

    def accept_proposals(self, slots: Iterable[Slot]) -> None:
        """Keep the proposals' text as the document's; their holes are done."""
        for slot in slots:
            self.holes.remove(slot)
        self._holes_changed()

    def reject_proposals(self, slots: Iterable[Slot], keep_holes: bool = True) -> list[Slot]:
        """Put the original text back, as one undo step; the holes are marked again (or dropped)."""
        slots = [s for s in slots if s.state == PENDING and s.proposal is not None]
        if not slots:
            return []
        after = []
        with self._one_batch() as batch:
            for slot in sorted(slots, key=lambda s: s.start):
                proposal = slot.proposal
                assert proposal is not None
                self._replace_slot(slot, proposal.original)
                if keep_holes:
                    mark = replace(proposal.mark, start=slot.start, end=slot.end)
                    if mark.start == mark.end and mark.revise is not None:
                        mark = replace(mark, revise=None)  # nothing left to revise: an insertion
                    if mark.start == mark.end and mark.length is None:
                        mark = replace(mark, length=proposal.mark.length or 32)
                    slot.mark, slot.state, slot.proposal = mark, MARKED, None
                    after.append(mark)
                else:
                    self.holes.remove(slot)
        self._remember(batch[0] if batch else None, BatchRecord(after=after))
        self._holes_changed()
        return slots

    def take_back_fill(self, fill_id: int) -> bool:
        """Reject a fill's proposals by undoing the batch that wrote them, when nothing came after it.

        That leaves the history as if the fill had never been written (no redo either). False,
        with nothing done, when other edits followed or a proposal was partly accepted.
        """
        history = self.history
        stack = history._undo_stack  # type: ignore[attr-defined]
        record = self._record_of(stack[-1]) if stack else None
        pending = self.holes.in_state(PENDING)
        if record is None or record.fill_id != fill_id or len(pending) != len(record.before):
            return False
        if any(s.proposal is None or s.proposal.fill_id != fill_id or s.proposal.mark not in record.before for s in pending):
            return False
        if any(s.proposal.partial for s in pending):  # type: ignore[union-attr]
            return False
        self._undo("reject")
        history._redo_stack.pop()  # type: ignore[attr-defined]
        return True

    def accept_part(self, slot: Slot, unit: str) -> str:
        """Accept the proposal's next ``word`` or ``line``; returns the text accepted.

        The rest stays pending. What reject puts back afterwards is nothing: part of the new
        text is the user's now, so the original can no longer return as a whole.
        """
        proposal = slot.proposal
        if slot.state != PENDING or proposal is None:
            return ""
        rest = self.text[slot.start : slot.end]
        if unit == "line":
            newline = rest.find("\n")
            size = len(rest) if newline < 0 else newline + 1
        else:
            match = _NEXT_WORD.match(rest)
            size = match.end() if match else len(rest)
        if size >= len(rest):
            self.accept_proposals([slot])
            return rest
        self.holes.move(slot, slot.start + size, slot.end)
        slot.proposal = replace(proposal, original="", partial=True, changes=None)
        self._holes_changed()
        return rest[:size]

    # ------------------------------------------------------------------ holes

    def add_hole(self, mark: HoleMark) -> list[HoleMark]:
        """Add a hole, replacing the holes it overlaps (returned)."""
        removed = self.holes.add(mark)
        self._holes_changed()
        return removed

    def remove_hole(self, mark: HoleMark | Slot) -> None:
        """Forget one hole; the text is untouched."""
        self.holes.remove(mark)
        self._holes_changed()

    def resize_hole(self, mark: HoleMark, length: int) -> HoleMark:
        """Give ``mark`` an explicit length in tokens."""
        new = HoleMark(mark.start, mark.end, length=length, revise=mark.revise)
        self.holes.swap(mark, new)
        self._holes_changed()
        return new

    def clear_holes(self, states: tuple[str, ...] | None = None) -> list[Slot]:
        """Forget every hole (or those in ``states``); the text is untouched. Returns the forgotten."""
        gone = [s for s in self.holes.slots if states is None or s.state in states]
        for slot in gone:
            self.holes.remove(slot)
        self._holes_changed()
        return gone

    def set_state(self, slots: Iterable[Slot], state: str) -> None:
        """Move slots to another state (``marked`` → ``filling`` and back)."""
        for slot in slots:
            slot.state = state
        self._holes_changed()

    def _holes_changed(
        self, removed: list[Slot] | None = None, reason: str = "", rows: tuple[int, int] | None = None
    ) -> None:
        self._holes_redrawn(rows)
        self.post_message(HolesChanged(len(self.holes), tuple(s.state for s in removed or ()), reason))
