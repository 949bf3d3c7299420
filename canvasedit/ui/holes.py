"""The holes a user has marked in the document, kept in step with edits. No Textual imports.

    holes = HoleSet()
    holes.add(HoleMark(120, 120, length=32))        # an insertion point: 32 tokens to write
    holes.add(HoleMark(200, 260))                   # a range to rewrite (length: its own token count)
    holes.track_edit(10, 10, 15)                    # 5 characters typed at offset 10: both shift by 5
    engine_holes = holes.to_engine()                # [Hole(125, 125, 32), Hole(205, 265)]

Offsets are character offsets into the editor's text, like the engine's ``Hole``. An edit that
touches a hole's range removes the hole (its text is no longer what was marked); an edit before a
hole shifts it; text typed exactly at an insertion point goes after the hole, so a user can mark
a hole and keep typing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from canvasedit.engine import Hole

LENGTH_LADDER = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
"""Hole lengths in tokens that the longer/shorter keys step through."""


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


class HoleSet:
    """The document's holes in document order, at most one per point and never overlapping."""

    def __init__(self) -> None:
        self._marks: list[HoleMark] = []

    def __len__(self) -> int:
        return len(self._marks)

    def __iter__(self) -> Iterator[HoleMark]:
        return iter(self._marks)

    def __getitem__(self, index: int) -> HoleMark:
        return self._marks[index]

    def add(self, mark: HoleMark) -> list[HoleMark]:
        """Add ``mark``, removing and returning the holes it overlaps."""
        removed = [m for m in self._marks if m.overlaps(mark)]
        self._marks = sorted([m for m in self._marks if m not in removed] + [mark], key=_order)
        return removed

    def at(self, offset: int) -> HoleMark | None:
        """The hole a cursor at ``offset`` is on, preferring an insertion point exactly there."""
        candidates = [m for m in self._marks if m.contains(offset)]
        return min(candidates, key=lambda m: (m.end - m.start, m.start)) if candidates else None

    def remove(self, mark: HoleMark) -> None:
        """Forget ``mark``."""
        self._marks.remove(mark)

    def swap(self, old: HoleMark, new: HoleMark) -> None:
        """Put ``new`` in the place of ``old`` (same range, another length)."""
        self._marks[self._marks.index(old)] = new
        self._marks.sort(key=_order)

    def clear(self) -> None:
        """Forget every hole."""
        self._marks.clear()

    def to_engine(self) -> list[Hole]:
        """The engine's holes, in document order."""
        return list(self._marks)

    def track_edit(self, start: int, old_end: int, new_end: int) -> int:
        """Follow an edit that replaced ``[start, old_end)`` with text now at ``[start, new_end)``.

        Holes before the edit stay, holes after it shift, holes the edit touches are removed.
        Returns how many were removed.
        """
        delta = new_end - old_end
        kept: list[HoleMark] = []
        for mark in self._marks:
            if mark.end <= start:  # before the edit, or an insertion point the edit starts at
                kept.append(mark)
            elif mark.start >= old_end:
                kept.append(replace(mark, start=mark.start + delta, end=mark.end + delta))
        removed = len(self._marks) - len(kept)
        self._marks = kept
        return removed


def _order(mark: HoleMark) -> tuple[int, int]:
    # The engine sorts holes the same way, so pieces in its events line up with this order.
    return mark.start, mark.end
