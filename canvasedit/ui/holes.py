"""The holes a user has marked, and the results waiting in them, kept in step with edits. No Textual imports.

    holes = HoleSet()
    holes.add(HoleMark(120, 120, length=32))        # an insertion point: 32 tokens to write
    holes.add(HoleMark(200, 260))                   # a range to rewrite (length: its own token count)
    holes.track_edit(10, 10, 15)                    # 5 characters typed at offset 10: both shift by 5
    engine_holes = holes.to_engine()                # [Hole(125, 125, 32), Hole(205, 265)]

Each hole is a ``Slot`` with a stable ``id`` and a state:

* ``marked`` — waiting to be filled;
* ``filling`` — a fill is running on it; the passes are drawn over its range;
* ``pending`` — the fill's text is in the document, in the hole's range, waiting for accept or
  reject; ``Slot.proposal`` remembers what reject puts back.

Offsets are character offsets into the editor's text, like the engine's ``Hole``. An edit that
touches a hole's range removes the hole (its text is no longer what was marked, or — for a
pending hole — the user has taken the proposal over); an edit before a hole shifts it; text typed
exactly at an insertion point goes after the hole, so a user can mark a hole and keep typing.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from canvasedit.engine import Hole

LENGTH_LADDER = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
"""Hole lengths in tokens that the longer/shorter keys step through."""

MARKED, FILLING, PENDING = "marked", "filling", "pending"


def longer(n: int) -> int:
    """The next hole length above ``n`` on ``LENGTH_LADDER`` (``n`` itself at the top)."""
    return next((step for step in LENGTH_LADDER if step > n), n)


def shorter(n: int) -> int:
    """The next hole length below ``n`` on ``LENGTH_LADDER`` (never below 1)."""
    return next((step for step in reversed(LENGTH_LADDER) if step < n), 1)


HoleMark = Hole
"""A hole as the editor holds it is the engine's own ``Hole`` (character offsets, length, revise)."""


def edit_region(before: str, after: str) -> tuple[int, int, int]:
    """``(start, old_end, new_end)``: the one region where ``before`` became ``after``.

    ``before[:start] == after[:start]``, ``before[old_end:] == after[new_end:]`` and the region is
    as small as possible. Comparing slices keeps the work in C, so a 10,000-line text takes well
    under a millisecond; used after undo and redo, whose edits TextArea does not report.
    """
    limit = min(len(before), len(after))
    lo, hi = 0, limit  # the common prefix length lies in [lo, hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if before[:mid] == after[:mid]:
            lo = mid
        else:
            hi = mid - 1
    start = lo
    lo, hi = 0, limit - start  # the common suffix may not reach into the common prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if before[len(before) - mid :] == after[len(after) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return start, len(before) - lo, len(after) - lo


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def changed_ranges(old: str, new: str) -> tuple[tuple[int, int], ...]:
    """Character ranges of ``new`` that differ from ``old``, compared word by word.

    A revision keeps most of its tokens; showing only what really changed (a renamed variable,
    one operator) is what lets the user judge it. An insertion where ``new`` only lost text
    shows as an empty range at that point.
    """
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    starts = [0]
    for token in b:
        starts.append(starts[-1] + len(token))
    out = []
    for op, _, _, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            out.append((starts[j1], starts[j2]))
    return tuple(out)


@dataclass(frozen=True)
class Proposal:
    """A fill's text for one hole, written into the document and waiting for accept or reject."""

    original: str
    """The text the result stands in place of: what reject puts back ("" for an insertion)."""
    mark: HoleMark
    """The hole as it was marked; reject marks it again (at the range's current place)."""
    fill_id: int
    """The fill that wrote it."""
    index: int
    """Its hole's index in that fill (document order), for the passes panel and messages."""
    parse_error: bool = False
    """Whether the text around it no longer parses (tree-sitter) although it did before."""
    changes: tuple[tuple[int, int], ...] | None = None
    """For a revision: the changed character ranges, relative to the hole's start (None: all new)."""
    partial: bool = False
    """Whether part of it was accepted already (reject then removes only the rest)."""


@dataclass
class Slot:
    """One hole: its current range, its state and, once filled, its proposal."""

    id: int
    """Stable across edits, so a running fill can find its holes again."""
    mark: HoleMark
    state: str = MARKED
    proposal: Proposal | None = None

    @property
    def start(self) -> int:
        return self.mark.start

    @property
    def end(self) -> int:
        return self.mark.end

    def contains(self, offset: int) -> bool:
        """Whether a cursor at ``offset`` is on this hole (its ends included)."""
        return self.mark.contains(offset)


class HoleSet:
    """The document's holes in document order, at most one per point and never overlapping."""

    def __init__(self) -> None:
        self._slots: list[Slot] = []
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._slots)

    def __iter__(self) -> Iterator[HoleMark]:
        return (slot.mark for slot in self._slots)

    def __getitem__(self, index: int) -> HoleMark:
        return self._slots[index].mark

    @property
    def slots(self) -> list[Slot]:
        """Every slot, in document order (a copy: safe to change the set while iterating it)."""
        return list(self._slots)

    def in_state(self, state: str) -> list[Slot]:
        """The slots in one state, in document order."""
        return [slot for slot in self._slots if slot.state == state]

    def by_id(self, slot_id: int) -> Slot | None:
        """The slot with this id, or None once it is gone."""
        return next((slot for slot in self._slots if slot.id == slot_id), None)

    def index(self, slot: Slot) -> int:
        """The slot's position in document order (it picks the hole's colour)."""
        return self._slots.index(slot)

    def add(self, mark: HoleMark, state: str = MARKED, proposal: Proposal | None = None) -> list[HoleMark]:
        """Add ``mark``, removing and returning the holes it overlaps."""
        _, removed = self.insert(mark, state, proposal)
        return [slot.mark for slot in removed]

    def insert(
        self, mark: HoleMark, state: str = MARKED, proposal: Proposal | None = None
    ) -> tuple[Slot, list[Slot]]:
        """Add ``mark`` as a new slot; returns it and the slots it overlapped (now removed)."""
        slot = Slot(next(self._ids), mark, state, proposal)
        removed = self.overlapping(mark)
        self._slots = sorted([s for s in self._slots if s not in removed] + [slot], key=_order)
        return slot, removed

    def overlapping(self, mark: HoleMark) -> list[Slot]:
        """The slots ``mark`` would replace if it were added."""
        return [slot for slot in self._slots if slot.mark.overlaps(mark)]

    def at(self, offset: int, state: str | None = None) -> HoleMark | None:
        """The hole a cursor at ``offset`` is on, preferring an insertion point exactly there."""
        slot = self.slot_at(offset, state)
        return slot.mark if slot is not None else None

    def slot_at(self, offset: int, state: str | None = None) -> Slot | None:
        """The slot a cursor at ``offset`` is on (optionally only in ``state``)."""
        candidates = [s for s in self._slots if s.contains(offset) and (state is None or s.state == state)]
        return min(candidates, key=lambda s: (s.end - s.start, s.start)) if candidates else None

    def remove(self, mark: HoleMark | Slot) -> None:
        """Forget one hole."""
        self._slots = [s for s in self._slots if s is not mark and s.mark is not mark]

    def swap(self, old: HoleMark, new: HoleMark) -> None:
        """Put ``new`` in the place of ``old`` (same range, another length)."""
        for slot in self._slots:
            if slot.mark is old or slot.mark == old:
                slot.mark = new
                break
        self._slots.sort(key=_order)

    def move(self, slot: Slot, start: int, end: int) -> None:
        """Give ``slot`` a new range (after part of a proposal was accepted, or it was put back)."""
        slot.mark = replace(slot.mark, start=start, end=end)
        self._slots.sort(key=_order)

    def clear(self) -> None:
        """Forget every hole."""
        self._slots.clear()

    def to_engine(self, state: str | None = MARKED) -> list[Hole]:
        """The engine's holes in document order (those in ``state``; None: all)."""
        return [slot.mark for slot in self._slots if state is None or slot.state == state]

    def track_edit(self, start: int, old_end: int, new_end: int) -> list[Slot]:
        """Follow an edit that replaced ``[start, old_end)`` with text now at ``[start, new_end)``.

        Holes before the edit stay, holes after it shift, holes the edit touches are removed.
        Returns the removed slots.
        """
        delta = new_end - old_end
        kept: list[Slot] = []
        removed: list[Slot] = []
        for slot in self._slots:
            mark = slot.mark
            if mark.end <= start:  # before the edit, or an insertion point the edit starts at
                kept.append(slot)
            elif mark.start >= old_end:
                if delta:
                    slot.mark = replace(mark, start=mark.start + delta, end=mark.end + delta)
                kept.append(slot)
            else:
                removed.append(slot)
        self._slots = kept
        return removed


def _order(slot: Slot) -> tuple[int, int]:
    # The engine sorts holes the same way, so pieces in its events line up with this order.
    return slot.mark.start, slot.mark.end
