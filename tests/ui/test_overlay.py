"""Overlay layout: where hole text lands on the document's rows."""

from __future__ import annotations

from canvasedit.ui.overlay import NEWLINE_GLYPH, Seg, VirtualSpan, layout_rows, visible

LINES = ["def f(x):", "    return x + 1", "", "print(f(2))"]


def row_text(segs: list[Seg]) -> str:
    return "".join(seg.text for seg in segs)


def test_insertion_point_splices_text_into_its_row() -> None:
    spans = [VirtualSpan((1, 10), (1, 10), (("░░", "masked"), ("foo", "new")))]
    rows = layout_rows(LINES, spans)
    assert list(rows) == [1]
    assert row_text(rows[1]) == "    return░░foo x + 1"
    # document pieces keep their origin so syntax colours can follow them
    assert rows[1][0] == Seg("    return", None, 1, 0)
    assert rows[1][-1] == Seg(" x + 1", None, 1, 10)


def test_newlines_of_an_insertion_are_drawn_as_glyphs() -> None:
    rows = layout_rows(LINES, [VirtualSpan((2, 0), (2, 0), (("a\nb", "done"),))])
    assert row_text(rows[2]) == f"a{NEWLINE_GLYPH}b"


def test_multi_line_range_reuses_its_rows_and_keeps_the_suffix_on_the_last_one() -> None:
    # Replace "(x):\n    return x" — one line break available.
    spans = [VirtualSpan((0, 5), (1, 12), (("(y):\nreturn y\n+2", "done"),))]
    rows = layout_rows(LINES, spans)
    assert sorted(rows) == [0, 1]
    assert row_text(rows[0]) == "def f(y):"
    assert row_text(rows[1]) == f"return y{NEWLINE_GLYPH}+2 + 1"


def test_short_text_in_a_long_range_leaves_empty_rows() -> None:
    spans = [VirtualSpan((0, 0), (3, 0), (("x", "new"),))]
    rows = layout_rows(LINES, spans)
    assert [row_text(rows[r]) for r in range(4)] == ["x", "", "", "print(f(2))"]


def test_two_holes_on_one_row_are_laid_out_together() -> None:
    spans = [
        VirtualSpan((1, 4), (1, 10), (("yield", "done"),)),
        VirtualSpan((1, 15), (1, 16), (("2", "new"),)),
    ]
    rows = layout_rows(LINES, spans)
    assert row_text(rows[1]) == "    yield x + 2"
    assert [seg.style for seg in rows[1]] == [None, "done", None, "new"]


def test_control_characters_are_made_visible() -> None:
    assert visible("a\x1bb\tc\nd\x7f") == "a\u241bb\tc\nd\u2421"
    rows = layout_rows(LINES, [VirtualSpan((2, 0), (2, 0), (("\x15", "new"),))])
    assert row_text(rows[2]) == "\u2415"
