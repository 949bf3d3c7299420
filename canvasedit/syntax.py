"""Syntax trees for "grow selection to the enclosing node" and "shrink it back".

    language = language_for_path("app.py")              # "python", or None without a grammar
    tree = syntax_tree_for(text, language)              # None when no grammar is installed
    stack = SelectionStack()
    start, end = stack.grow(tree, cursor, cursor)       # expression → statement → block → …
    start, end = stack.shrink((start, end))             # exactly the previous selection

Offsets are character offsets into the Python ``str``, like everywhere else in CanvasEdit;
tree-sitter works in UTF-8 bytes, and ``SyntaxTree`` converts at its edges. Grammars come from
the ``tree-sitter-<lang>`` wheels that ``textual[syntax]`` installs and are imported lazily, so
opening a Python file never loads the Rust grammar. Language names are the ones Textual's
``TextArea`` uses. For files with no bundled grammar (TypeScript, C, Ruby …),
``pygments_lexer_for_path`` names a Pygments lexer the UI can use to highlight instead.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import os
from dataclasses import dataclass
from pathlib import PurePath

try:
    import tree_sitter
except ImportError:  # Textual without its [syntax] extra: no trees, so grow/shrink is unavailable
    tree_sitter = None

Range = tuple[int, int]
"""A selection as ``(start, end)`` character offsets, ``start <= end``."""

_EXTENSIONS: dict[str, str] = {
    **dict.fromkeys([".py", ".pyi", ".pyw"], "python"),
    **dict.fromkeys([".js", ".mjs", ".cjs", ".jsx"], "javascript"),
    ".rs": "rust",
    ".go": "go",
    **dict.fromkeys([".json", ".geojson", ".ipynb"], "json"),
    ".toml": "toml",
    **dict.fromkeys([".yaml", ".yml"], "yaml"),
    **dict.fromkeys([".md", ".markdown"], "markdown"),
    **dict.fromkeys([".html", ".htm"], "html"),
    ".css": "css",
    **dict.fromkeys([".sh", ".bash"], "bash"),
    ".sql": "sql",
    ".java": "java",
    **dict.fromkeys([".xml", ".svg", ".xsd", ".xsl", ".xslt"], "xml"),
}
"""File extension → language; ``regex`` has a grammar but is never a file, so it has no row."""
_FILENAMES = {".bashrc": "bash", ".bash_profile": "bash", ".profile": "bash", "Cargo.lock": "toml"}

_PLAIN_GRAMMARS = (
    "python", "javascript", "rust", "go", "json", "toml", "yaml", "html", "css", "bash", "sql", "java", "regex",
)
_GRAMMARS: dict[str, tuple[str, str]] = {
    **{name: (f"tree_sitter_{name}", "language") for name in _PLAIN_GRAMMARS},
    "markdown": ("tree_sitter_markdown", "language"),  # the block grammar; inline_language() is separate
    "xml": ("tree_sitter_xml", "language_xml"),  # the wheel also has language_dtd()
}
"""Language → (grammar module, function returning the language pointer)."""

_CHECKPOINT = 4096
"""Characters between stored (char offset, byte offset) pairs; a conversion encodes at most this many."""


def language_for_path(path: str | os.PathLike[str]) -> str | None:
    """The tree-sitter / TextArea language for a file name, or None when none is bundled."""
    name = PurePath(path).name
    return _FILENAMES.get(name) or _EXTENSIONS.get(PurePath(name).suffix.lower())


def pygments_lexer_for_path(path: str | os.PathLike[str]) -> str | None:
    """A Pygments lexer alias for a file name (``.ts`` → ``typescript``), or None when unknown."""
    from pygments.lexers import get_lexer_for_filename  # imports a large table: only on demand
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_for_filename(PurePath(path).name)
    except ClassNotFound:
        return None
    return lexer.aliases[0] if lexer.aliases else lexer.name


@functools.cache
def _language(name: str) -> tree_sitter.Language | None:
    if tree_sitter is None or name not in _GRAMMARS:
        return None
    module_name, function = _GRAMMARS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:  # each grammar wheel is optional; the file just gets no syntax tree
        return None
    try:
        return tree_sitter.Language(getattr(module, function)())
    except ValueError:  # a grammar built for another tree-sitter ABI; treated like a missing wheel
        return None


def has_grammar(language: str | None) -> bool:
    """Whether ``syntax_tree_for`` can parse ``language`` in this environment."""
    return language is not None and _language(language) is not None


def syntax_tree_for(text: str, language: str | None, parsed: tree_sitter.Tree | None = None) -> SyntaxTree | None:
    """A parsed ``SyntaxTree``, or None when ``language`` is None or has no installed grammar.

    ``parsed``: a tree of exactly ``text`` in ``language`` that is already at hand (not parsed again).
    """
    grammar = _language(language) if language else None
    return SyntaxTree(text, grammar, language, parsed) if grammar is not None else None


@dataclass(frozen=True)
class Span:
    """A syntax node as seen from the editor."""

    start: int
    """Character offset of the node's first character."""
    end: int
    """Character offset just past the node's last character."""
    kind: str
    """The grammar's node type, such as ``function_definition``."""

    @property
    def range(self) -> Range:
        """``(start, end)``."""
        return self.start, self.end


class Utf8Offsets:
    """Converts between character offsets in a str and byte offsets in its UTF-8 encoding.

    Stores one (char, byte) checkpoint every ``_CHECKPOINT`` characters plus one at the end, so
    a conversion encodes at most ``_CHECKPOINT`` characters whatever the size of the text.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.ascii = text.isascii()
        self.step = _CHECKPOINT
        self.chars = [*range(0, len(text), self.step), len(text)]
        self.bytes_ = [0]
        for start, end in zip(self.chars, self.chars[1:]):
            self.bytes_.append(self.bytes_[-1] + len(_encode(text[start:end])))

    def to_byte(self, char: int) -> int:
        if self.ascii:
            return char
        block = min(char // self.step, len(self.chars) - 1)
        return self.bytes_[block] + len(_encode(self.text[self.chars[block] : char]))

    def to_char(self, byte: int) -> int:
        if self.ascii:
            return byte
        block = bisect.bisect_right(self.bytes_, byte) - 1
        start = self.chars[block]
        prefix = _encode(self.text[start : start + self.step])[: byte - self.bytes_[block]]
        # Node boundaries fall on character boundaries, so decoding this prefix is exact.
        return start + len(prefix.decode("utf-8", "surrogatepass"))


def _encode(text: str) -> bytes:
    # surrogatepass: a lone surrogate (possible in an edited buffer) must not stop parsing.
    return text.encode("utf-8", "surrogatepass")


def _point(text: str, offset: int) -> tuple[int, int]:
    """tree-sitter's (row, byte column) of character ``offset``."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset), len(_encode(text[line_start:offset]))


class SyntaxTree:
    """A parsed text in one language; build it with ``syntax_tree_for``.

    The tree is a snapshot: rebuild it after the text changes (parsing is fast, and grow/shrink
    only needs it when the user asks). ``parsed`` is a tree already parsed from exactly ``text``
    (an editor's incrementally kept one, copied): it is used instead of parsing again.
    """

    def __init__(
        self,
        text: str,
        grammar: tree_sitter.Language,
        language: str | None = None,
        parsed: tree_sitter.Tree | None = None,
    ) -> None:
        self.text = text
        """The text that was parsed."""
        self.language = language
        """The language name, such as ``python``."""
        self._grammar = grammar
        self._offsets = Utf8Offsets(text)
        self._tree = parsed if parsed is not None else tree_sitter.Parser(grammar).parse(_encode(text))

    def edited(self, start: int, end: int, text: str) -> SyntaxTree:
        """The tree of this text with ``[start, end)`` replaced by ``text``, parsed incrementally from
        this one (a few ms on a 10,000-line file, where a fresh parse takes tens). This tree is unchanged."""
        start, end = self._clamp(start, end)
        new_text = self.text[:start] + text + self.text[end:]
        start_byte, old_end_byte = self._offsets.to_byte(start), self._offsets.to_byte(end)
        tree = self._tree.copy()
        tree.edit(
            start_byte=start_byte,
            old_end_byte=old_end_byte,
            new_end_byte=start_byte + len(_encode(text)),
            start_point=_point(self.text, start),
            old_end_point=_point(self.text, end),
            new_end_point=_point(new_text, start + len(text)),
        )
        parsed = tree_sitter.Parser(self._grammar).parse(_encode(new_text), tree)
        return SyntaxTree(new_text, self._grammar, self.language, parsed)

    @property
    def has_errors(self) -> bool:
        """Whether the parser had to recover from syntax errors (the tree is still usable)."""
        return self._tree.root_node.has_error

    def error_ranges(self) -> list[Range]:
        """Character ranges of the nodes the parser could not place (ERROR) or had to invent (MISSING)."""
        out: list[Range] = []
        stack = [self._tree.root_node]
        while stack:
            node = stack.pop()
            if node.is_error or node.is_missing:
                out.append(self._span(node).range)
            elif node.has_error:  # only subtrees that hold an error are worth descending into
                stack.extend(reversed(node.children))
        return sorted(out)

    def has_error_in(self, start: int, end: int) -> bool:
        """Whether an error node overlaps or touches ``[start, end]``."""
        return any(a <= end and start <= b for a, b in self.error_ranges())

    def _span(self, node: tree_sitter.Node) -> Span:
        return Span(self._offsets.to_char(node.start_byte), self._offsets.to_char(node.end_byte), node.type)

    def enclosing(self, start: int, end: int) -> list[Span]:
        """The named nodes containing ``[start, end)``, innermost first, root last.

        A node "contains" a range when it starts at or before ``start`` and ends at or after
        ``end``. An empty range (a cursor) is contained by nodes that touch it on either side;
        tree-sitter prefers the one to the right of the cursor.
        """
        start, end = self._clamp(start, end)
        node: tree_sitter.Node | None = self._tree.root_node.named_descendant_for_byte_range(
            self._offsets.to_byte(start), self._offsets.to_byte(end)
        )
        spans: list[Span] = []
        while node is not None:
            if node.is_named:
                span = self._span(node)
                if span.start <= start and end <= span.end:
                    spans.append(span)
            node = node.parent
        return spans

    def grow_node(self, start: int, end: int) -> Span | None:
        """The smallest named node strictly larger than the selection ``[start, end)``.

        Nodes whose range equals the selection are skipped, so each call climbs at least one
        level: identifier → call → expression → statement → block → function → class → module.
        When the root node does not cover the whole text (leading blank lines, trailing
        whitespace), the last step selects everything. None when nothing larger exists.
        """
        start, end = self._clamp(start, end)
        for span in self.enclosing(start, end):
            if span.range != (start, end):
                return span
        if (start, end) != (0, len(self.text)):
            return Span(0, len(self.text), "document")
        return None

    def grow(self, start: int, end: int) -> Range:
        """The range of ``grow_node``, or the (clamped) selection itself when nothing is larger."""
        span = self.grow_node(start, end)
        return span.range if span is not None else self._clamp(start, end)

    def _clamp(self, start: int, end: int) -> Range:
        start, end = sorted((start, end))
        return max(0, min(start, len(self.text))), max(0, min(end, len(self.text)))


class SelectionStack:
    """Remembers grow steps so that shrink returns exactly the selection before each grow.

    The stack belongs to one cursor: once the selection changes by any other means (typing,
    moving, clicking), the next ``grow`` or ``shrink`` sees a selection it did not produce and
    starts over.
    """

    def __init__(self) -> None:
        self._steps: list[tuple[Range, Range]] = []

    def __len__(self) -> int:
        return len(self._steps)

    def clear(self) -> None:
        """Forget every recorded step."""
        self._steps.clear()

    def push(self, before: Range, after: Range) -> None:
        """Record that a grow turned ``before`` into ``after``; a no-op grow is not recorded."""
        if self._steps and self._steps[-1][1] != before:
            self.clear()
        if after != before:
            self._steps.append((before, after))

    def grow(self, tree: SyntaxTree, start: int, end: int) -> Range:
        """Grow ``[start, end)`` with ``tree`` and record the step; returns the new selection."""
        after = tree.grow(start, end)
        self.push((start, end), after)
        return after

    def shrink(self, current: Range) -> Range:
        """The selection before the last grow, or ``current`` when it was not produced by a grow."""
        if not self._steps or self._steps[-1][1] != current:
            self.clear()
            return current
        before, _ = self._steps.pop()
        return before
