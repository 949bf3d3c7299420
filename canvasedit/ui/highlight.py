"""Syntax colours from Pygments for files that have no tree-sitter grammar (TypeScript, C, Ruby …).

    highlighter = PygmentsHighlighter("typescript")
    highlighter.line("const x = 1;")   # [(0, 5, "keyword"), (10, 11, "number"), …]

Each line is lexed on its own and cached by its text, so only the rows on screen cost anything
and an edit re-lexes one line, not the file. The price is that constructs spanning lines (block
comments, multi-line strings) are coloured line by line. Names are the capture names TextArea
themes already style (``keyword``, ``string`` …). No Textual imports.
"""

from __future__ import annotations

import functools

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, _TokenType
from pygments.util import ClassNotFound

# Most specific first: the first ancestor of a token type found here names its style.
_CAPTURES: tuple[tuple[_TokenType, str], ...] = (
    (String.Doc, "string.documentation"),
    (String, "string"),
    (Number, "number"),
    (Comment, "comment"),
    (Keyword.Constant, "constant.builtin"),
    (Keyword.Type, "type.builtin"),
    (Keyword, "keyword"),
    (Name.Builtin, "type.builtin"),
    (Name.Function, "function"),
    (Name.Class, "class"),
    (Name.Decorator, "function"),
    (Name.Tag, "tag"),
    (Name.Exception, "exception"),
    (Operator.Word, "keyword.operator"),
    (Operator, "operator"),
    (Punctuation, "punctuation.delimiter"),
)


def capture_name(token: _TokenType) -> str | None:
    """The theme style name for a Pygments token type, or None to leave it uncoloured."""
    for parent, name in _CAPTURES:
        if token in parent:
            return name
    return None


class PygmentsHighlighter:
    """Colours lines with one Pygments lexer."""

    def __init__(self, lexer_name: str) -> None:
        try:
            self._lexer: Lexer = get_lexer_by_name(lexer_name, stripnl=False, ensurenl=False)
        except ClassNotFound as exc:
            raise ValueError(f"Pygments has no lexer named {lexer_name!r}") from exc
        self.name = lexer_name
        """The lexer alias, such as ``typescript``."""
        self.line = functools.lru_cache(maxsize=4096)(self._line)

    def _line(self, text: str) -> tuple[tuple[int, int, str], ...]:
        spans = []
        column = 0
        for token, value in self._lexer.get_tokens(text):
            name = capture_name(token)
            if name is not None and value.strip():
                spans.append((column, column + len(value), name))
            column += len(value)
        return tuple(spans)
