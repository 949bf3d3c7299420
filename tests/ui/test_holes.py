"""Hole bookkeeping: overlap rules, edits before/inside/after holes, and the edit-region diff."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvasedit.engine import Hole
from canvasedit.engine.canvas import validate_holes
from canvasedit.ui.holes import LENGTH_LADDER, HoleMark, HoleSet, edit_region, longer, shorter


def marks(holes: HoleSet) -> list[tuple[int, int]]:
    return [(m.start, m.end) for m in holes]


def test_holes_stay_in_document_order() -> None:
    holes = HoleSet()
    holes.add(HoleMark(30, 40))
    holes.add(HoleMark(5, 5, length=8))
    holes.add(HoleMark(20, 20, length=4))
    assert marks(holes) == [(5, 5), (20, 20), (30, 40)]
    assert holes.to_engine() == [Hole(5, 5, 8), Hole(20, 20, 4), Hole(30, 40)]


@pytest.mark.parametrize(
    ("existing", "new", "overlaps"),
    [
        ((10, 20), (15, 25), True),
        ((10, 20), (12, 12), True),  # insertion point strictly inside a range
        ((10, 20), (20, 20), False),  # insertion at the range's end
        ((10, 20), (10, 10), False),  # insertion at its start
        ((10, 20), (20, 30), False),  # ranges that only touch
        ((7, 7), (7, 7), True),  # two insertions at one point
        ((7, 7), (8, 8), False),
    ],
)
def test_overlap_matches_what_the_engine_accepts(existing, new, overlaps) -> None:
    a, b = HoleMark(*existing), HoleMark(*new)
    assert a.overlaps(b) is overlaps
    assert b.overlaps(a) is overlaps
    text = "x" * 40
    if overlaps:
        with pytest.raises(ValueError):
            validate_holes(text, [a, b])
    else:
        validate_holes(text, [a, b])


def test_adding_an_overlapping_hole_replaces_the_old_one() -> None:
    holes = HoleSet()
    holes.add(HoleMark(10, 20))
    holes.add(HoleMark(30, 30, length=4))
    removed = holes.add(HoleMark(15, 35))
    assert [(m.start, m.end) for m in removed] == [(10, 20), (30, 30)]
    assert marks(holes) == [(15, 35)]


def test_at_prefers_an_insertion_point_over_an_enclosing_range_end() -> None:
    holes = HoleSet()
    holes.add(HoleMark(10, 20))
    holes.add(HoleMark(20, 20, length=4))
    assert holes.at(20) == HoleMark(20, 20, length=4)
    assert holes.at(15) == HoleMark(10, 20)
    assert holes.at(25) is None


def test_typing_before_a_hole_shifts_it_and_typing_after_leaves_it() -> None:
    holes = HoleSet()
    holes.add(HoleMark(10, 20))
    holes.add(HoleMark(30, 30, length=8))
    assert holes.track_edit(2, 2, 5) == []  # three characters typed at offset 2
    assert marks(holes) == [(13, 23), (33, 33)]
    assert holes.track_edit(40, 40, 41) == []
    assert marks(holes) == [(13, 23), (33, 33)]


def test_typing_at_an_insertion_point_keeps_the_hole_before_the_new_text() -> None:
    holes = HoleSet()
    holes.add(HoleMark(10, 10, length=8))
    holes.track_edit(10, 10, 14)
    assert marks(holes) == [(10, 10)]


def test_an_edit_inside_a_range_removes_that_hole_only() -> None:
    holes = HoleSet()
    holes.add(HoleMark(10, 20))
    holes.add(HoleMark(30, 40))
    assert len(holes.track_edit(15, 16, 15)) == 1  # one character deleted inside the first hole
    assert marks(holes) == [(29, 39)]


def test_deleting_up_to_an_insertion_point_moves_it_back() -> None:
    holes = HoleSet()
    holes.add(HoleMark(10, 10, length=8))
    holes.track_edit(4, 10, 4)
    assert marks(holes) == [(4, 4)]


def test_length_ladder_steps_both_ways_and_stops_at_the_ends() -> None:
    assert longer(32) == 48
    assert shorter(32) == 24
    assert longer(33) == 48 and shorter(33) == 32  # off-ladder values snap to the neighbours
    assert shorter(1) == 1
    assert longer(LENGTH_LADDER[-1]) == LENGTH_LADDER[-1]


@given(st.text(alphabet="ab\n", max_size=30), st.text(alphabet="ab\n", max_size=30))
def test_edit_region_is_the_smallest_region_that_explains_the_change(before: str, after: str) -> None:
    start, old_end, new_end = edit_region(before, after)
    assert before[:start] == after[:start]
    assert before[old_end:] == after[new_end:]
    assert 0 <= start <= old_end <= len(before) and start <= new_end <= len(after)
    # minimal: the characters at both ends of the region differ (when both sides have any)
    if start < old_end and start < new_end:
        assert before[start] != after[start]
        assert before[old_end - 1] != after[new_end - 1]


def test_edit_region_of_a_typed_character() -> None:
    assert edit_region("hello world", "hello, world") == (5, 5, 6)
    assert edit_region("aaa", "aa") == (2, 3, 2)
    assert edit_region("same", "same") == (4, 4, 4)
