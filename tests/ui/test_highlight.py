"""The Pygments fallback for languages without a tree-sitter grammar."""

from __future__ import annotations

import pytest

from canvasedit.syntax import language_for_path, pygments_lexer_for_path
from canvasedit.ui.highlight import PygmentsHighlighter


def test_typescript_has_no_grammar_but_gets_pygments_colours() -> None:
    assert language_for_path("app.ts") is None
    lexer = pygments_lexer_for_path("app.ts")
    assert lexer is not None
    line = 'const answer: number = 42; // the answer'
    spans = PygmentsHighlighter(lexer).line(line)
    by_text = {line[start:end]: name for start, end, name in spans}
    assert by_text["const"] == "keyword"
    assert by_text["42"] == "number"
    assert by_text["// the answer"] == "comment"


def test_unknown_lexer_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no lexer"):
        PygmentsHighlighter("no-such-language")
