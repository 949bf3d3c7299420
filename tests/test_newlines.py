"""Tests for canvasedit.newlines: the file's style, adapted insertions, and the editor's view of lines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.document._document import Document as TextualDocument

from canvasedit.document import LineIndex
from canvasedit.newlines import STAND_INS, adapt_newlines, detect_newline, from_editor, to_editor

MIXED = "crlf\r\nlf\ncr\rform\ffeed\vtab\x1cfs\x85nel\u2028ls\u2029ps\r\n\r\nend"


@pytest.mark.parametrize(
    ("text", "style"),
    [("a\r\nb\r\nc\n", "\r\n"), ("a\nb\r\nc\r\n", "\r\n"), ("a\nb\r\n", "\n"), ("a\rb\n", "\r"), ("x", "\n"), ("", "\n")],
)
def test_the_style_is_the_most_common_break_and_a_tie_goes_to_the_first(text: str, style: str) -> None:
    assert detect_newline(text) == style


def test_adapt_newlines_gives_inserted_text_the_documents_style() -> None:
    assert adapt_newlines("a\nb\r\nc\rd", "\r\n") == "a\r\nb\r\nc\r\nd"
    assert adapt_newlines("no break", "\r\n") == "no break"


def test_a_textarea_given_the_editor_view_keeps_it_exactly() -> None:
    # What goes wrong without the view: Textual splits at \f, \v, \x85, U+2028… and joins with one break.
    assert TextualDocument(MIXED).text != MIXED
    shown, line_map = to_editor(MIXED)
    assert TextualDocument(shown).text == shown
    assert from_editor(TextualDocument(shown).text, line_map) == MIXED


def test_the_editor_view_has_the_documents_lines_and_columns() -> None:
    shown, _ = to_editor(MIXED)
    index = LineIndex(MIXED)
    lines = shown.split("\n")
    assert len(lines) == index.line_count
    for n, line in enumerate(lines, start=1):
        assert len(line) == index.ends[n - 1] - index.starts[n - 1]
    assert "\u240c" in shown and "\f" not in shown and "\r" not in shown


def test_unedited_lines_keep_their_bytes_and_new_lines_take_the_style() -> None:
    text = "one\r\ntwo\nthree\rfour\r\n"  # most common: CRLF
    shown, line_map = to_editor(text)
    lines = shown.split("\n")
    lines.insert(1, "added")
    lines[3] = "THREE"
    assert from_editor("\n".join(lines), line_map) == "one\r\nadded\r\ntwo\nTHREE\rfour\r\n"


def test_an_edited_line_turns_stand_ins_back_into_their_characters() -> None:
    shown, line_map = to_editor("page one\fpage two\n")
    edited = shown.replace("page two", "page 2")
    assert from_editor(edited, line_map) == "page one\fpage 2\n"


def test_a_stand_in_the_file_already_had_stays_as_typed() -> None:
    text = "a literal \u240c sign\n"
    shown, line_map = to_editor(text)
    assert from_editor(shown.replace("sign", "symbol"), line_map) == "a literal \u240c symbol\n"


def test_deleting_lines_and_the_last_line() -> None:
    _, line_map = to_editor("a\r\nb\nc")
    assert from_editor("a\nc", line_map) == "a\r\nc"
    assert from_editor("a\nb", line_map) == "a\r\nb"  # b is now the last line: no break after it
    assert from_editor("a\nb\nc\nd", line_map) == "a\r\nb\nc\r\nd"
    assert from_editor("", line_map) == ""


def test_a_big_file_with_one_edit_is_cheap_and_exact() -> None:
    text = "".join(f"line {i}" + ("\r\n" if i % 3 else "\n") for i in range(200_000))
    shown, line_map = to_editor(text)
    edited = shown.replace("line 100000\n", "line one hundred thousand\n", 1)
    out = from_editor(edited, line_map)
    assert out == text.replace("line 100000", "line one hundred thousand", 1)


breaks = st.sampled_from(["\n", "\r\n", "\r", *STAND_INS, "a", "b", " ", "\u240c", "é"])
texts = st.lists(breaks, max_size=30).map("".join)


@settings(max_examples=1000, deadline=None)
@given(texts)
def test_round_trip_through_the_editor_view_is_exact(text: str) -> None:
    shown, line_map = to_editor(text)
    assert TextualDocument(shown).text == shown
    assert from_editor(shown, line_map) == text


@settings(max_examples=1000, deadline=None)
@given(texts, st.data())
def test_lines_the_editor_did_not_touch_keep_their_bytes(text: str, data: st.DataObject) -> None:
    shown, line_map = to_editor(text)
    lines = shown.split("\n")
    i = data.draw(st.integers(0, len(lines) - 1))
    lines[i] = "EDITED"
    out = from_editor("\n".join(lines), line_map)
    original_lines = LineIndex(text)
    out_index = LineIndex(out)
    assert out_index.line_count == original_lines.line_count
    for n in range(original_lines.line_count):
        if n == i:
            continue
        a = text[original_lines.starts[n] : (original_lines.starts[n + 1] if n + 1 < original_lines.line_count
                                                else len(text))]
        b = out[out_index.starts[n] : (out_index.starts[n + 1] if n + 1 < out_index.line_count else len(out))]
        assert a == b
