"""Outlines that expand: every item of an outline gets a body, and all bodies are filled jointly.

An outline is Markdown bullet points (and headings with nothing under them) or Python function
signatures with docstrings and no body yet. ``outline_items`` finds the items; ``expand`` turns
each item's body into a hole and fills them all in one canvas, so each body is written seeing the
others. The result is one pending change whose holes are the bodies, each with its range in the
original document, so it can be accepted or rejected as a whole or body by body::

    items = outline_items(text, "markdown")          # or "python"; None reads Markdown-style bullets
    run = expand(text, backend, params, language="python")
    for shown in passes(run):                        # engine/view.py: every body as it reads
        draw(shown.holes)
    run.result.text                                  # the document with every body written
    run.result.holes[i]                              # body i: its text (with the line break and
                                                     # indentation that lead into it) and its ranges

Which items get a body:

* a Markdown bullet (``-``, ``*``, ``+``, ``1.``) with no deeper bullets under it and no text of
  its own on the lines below — its body is a paragraph indented under the bullet;
* a Markdown heading whose section is empty up to the next heading of its level or higher;
* a Python ``def`` whose body is only a docstring and / or a placeholder (``...``, ``pass``,
  ``raise NotImplementedError``) — the placeholder is replaced, or the body is inserted after
  the docstring, at the body's indentation.

Fenced code blocks in Markdown are skipped.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from canvasedit.engine.backends import Backend
from canvasedit.engine.canvas import DEFAULT_HOLE_TOKENS, Hole
from canvasedit.engine.errors import EngineError
from canvasedit.engine.fill import FilledHole, FillResult, FillRun, FillStart, StepEvent
from canvasedit.params import SamplerParams

_BULLET = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+]|\d{1,9}[.)])(?P<gap>[ \t]+)(?P<text>\S.*?)[ \t]*$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>\S.*?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
OUTLINE_LANGUAGES = ("markdown", "python")
NOTHING_TO_EXPAND = "nothing to expand: no bullet, empty heading or body-less function with a docstring"


class NoOutline(EngineError, ValueError):
    """The text has no outline item to expand, or is in a language outlines are not read from."""


@dataclass(frozen=True)
class OutlineItem:
    kind: str
    """"bullet", "heading" or "function"."""
    title: str
    """The bullet's or heading's text, or the function's name."""
    start: int
    """Character range of the original text the body replaces (empty: the body is inserted here)."""
    end: int
    prefix: str
    """Text written before the body (the line break and indentation that lead into it)."""
    suffix: str = ""
    length: int = DEFAULT_HOLE_TOKENS
    """Tokens of room for the body; it may end early."""


def outline_items(text: str, language: str | None, length: int = DEFAULT_HOLE_TOKENS) -> list[OutlineItem]:
    """The items of ``text``'s outline that have no body yet, in document order."""
    if language == "python":
        items = _python_items(text)
    elif language in (None, "markdown", "text"):
        items = _markdown_items(text)
    else:
        raise NoOutline(f"outlines are read from Markdown bullets or Python signatures with docstrings, "
                        f"not from {language}")
    return [replace(item, length=length) for item in items]


class Expansion:
    """The fill of an outline's bodies: iterate it for ``StepEvent``s, then read ``result``.

    ``result.holes[i]`` is item i's body with the text that leads into it; its ``original_start`` /
    ``original_end`` are the item's range in the original text, so each body can be applied alone.
    """

    def __init__(self, text: str, items: Sequence[OutlineItem], backend: Backend, params: SamplerParams) -> None:
        if not items:
            raise NoOutline(NOTHING_TO_EXPAND)
        self.original = text
        self.items = tuple(sorted(items, key=lambda i: i.start))
        parts, holes, cursor, shift = [], [], 0, 0
        for item in self.items:
            parts.append(text[cursor : item.start])
            at = item.start + shift + len(item.prefix)
            parts.append(item.prefix + item.suffix)
            holes.append(Hole(at, at, length=item.length))
            shift += len(item.prefix) + len(item.suffix) - (item.end - item.start)
            cursor = item.end
        parts.append(text[cursor:])
        self.scaffold = "".join(parts)
        """The text with every item's range replaced by its prefix and suffix; the holes sit between them."""
        self.fill_run = FillRun(self.scaffold, holes, backend, params)
        self.backend = backend
        self.result: FillResult | None = None

    @property
    def cancelled(self) -> bool:
        return self.fill_run.cancelled

    @property
    def start(self) -> FillStart | None:
        """The bodies before the first step (``view.FillView`` folds the events onto it)."""
        return self.fill_run.start

    def cancel(self) -> None:
        self.fill_run.cancel()

    def run(self) -> FillResult:
        for _ in self:
            pass
        if self.result is None:
            raise RuntimeError("the expansion was cancelled before it finished")
        return self.result

    def __iter__(self) -> Iterator[StepEvent]:
        yield from self.fill_run
        if self.fill_run.result is not None:
            self.result = self._in_original(self.fill_run.result)

    def _in_original(self, result: FillResult) -> FillResult:
        holes = []
        for item, hole in zip(self.items, result.holes):
            text = item.prefix + hole.text + item.suffix
            start = hole.start - len(item.prefix)
            holes.append(FilledHole(hole.index, "insert" if item.start == item.end else "replace", text, start,
                                    start + len(text), item.start, item.end, hole.tokens))
        return replace(result, holes=tuple(holes))


def expand(
    text: str,
    backend: Backend,
    params: SamplerParams | None = None,
    language: str | None = None,
    length: int = DEFAULT_HOLE_TOKENS,
    items: Sequence[OutlineItem] | None = None,
) -> Expansion:
    """Fill a body for every item of ``text``'s outline (or the ``items`` given), all in one canvas."""
    chosen = outline_items(text, language, length) if items is None else items
    return Expansion(text, chosen, backend, params or SamplerParams.layered(backend.recipe))


# -- Markdown ------------------------------------------------------------------------------------------------


def _lines(text: str) -> list[tuple[int, str, int]]:
    """``(start, line without its break, end before the break)`` for every line."""
    out = []
    start = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        out.append((start, body, start + len(body)))
        start += len(line)
    return out


def _markdown_items(text: str) -> list[OutlineItem]:
    lines = _lines(text)
    fenced = False
    kinds: list[tuple[str, re.Match[str]] | None] = []
    for _, body, _ in lines:
        if _FENCE.match(body):
            fenced = not fenced
            kinds.append(None)
            continue
        if fenced:
            kinds.append(None)
            continue
        heading = _HEADING.match(body)
        bullet = _BULLET.match(body) if heading is None else None
        kinds.append(("heading", heading) if heading else ("bullet", bullet) if bullet else
                     ("text", None) if body.strip() else None)  # type: ignore[arg-type]
    items = []
    for i, (start, body, end) in enumerate(lines):
        kind = kinds[i]
        if kind is None or kind[0] == "text":
            continue
        following = next((j for j in range(i + 1, len(lines)) if lines[j][1].strip()), None)
        if kind[0] == "bullet":
            m = kind[1]
            width = len(m.group("indent").expandtabs(4))
            if following is not None:
                nxt = lines[following][1]
                nxt_width = len(nxt) - len(nxt.lstrip(" \t"))
                nxt_kind = kinds[following]
                if nxt_kind is not None and nxt_kind[0] == "bullet" and nxt_width > width:
                    continue  # it has sub-items: they are its outline
                if nxt_kind is not None and nxt_kind[0] == "text" and nxt_width > width and following == i + 1:
                    continue  # its body is already written
            lead = " " * len((m.group("indent") + m.group("marker") + m.group("gap")).expandtabs(4))
            items.append(OutlineItem("bullet", m.group("text"), end, end, "\n\n" + lead))
        else:
            level = len(kind[1].group("hashes"))
            nxt = kinds[following] if following is not None else None
            if nxt is not None and not (nxt[0] == "heading" and len(nxt[1].group("hashes")) <= level):
                continue  # the section has content (text, bullets or deeper headings)
            items.append(OutlineItem("heading", kind[1].group("text"), end, end, "\n\n"))
    return items


# -- Python --------------------------------------------------------------------------------------------------


def _python_items(text: str) -> list[OutlineItem]:
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise NoOutline(f"the Python outline does not parse (line {exc.lineno}: {exc.msg}); fix it first") from None
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, col: int) -> int:  # ast columns count UTF-8 bytes
        line = lines[lineno - 1]
        return starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    items = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = list(node.body)
        doc = body[0] if body and _is_docstring(body[0]) else None
        rest = body[1:] if doc is not None else body
        if len(rest) > 1 or (rest and not _is_placeholder(rest[0])):
            continue
        if doc is None and not rest:
            continue
        def_line = lines[node.lineno - 1]
        def_indent = def_line[: len(def_line) - len(def_line.lstrip(" \t"))]
        if rest:
            stmt = rest[0]
            a = offset(stmt.lineno, stmt.col_offset)
            b = offset(stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
            prefix = ""
            if stmt.lineno == node.lineno:  # `def f(x): ...`: the body goes on lines of its own, after the colon
                a = text.rindex(":", starts[node.lineno - 1], a) + 1
                prefix = "\n" + def_indent + "    "
            items.append(OutlineItem("function", node.name, a, b, prefix))
        else:
            assert doc is not None
            doc_line = lines[doc.lineno - 1]
            if doc.lineno == node.lineno:
                indent = def_indent + "    "
            else:
                indent = doc_line[: len(doc_line) - len(doc_line.lstrip(" \t"))]
            at = offset(doc.end_lineno or doc.lineno, doc.end_col_offset or 0)
            items.append(OutlineItem("function", node.name, at, at, "\n" + indent))
    return sorted(items, key=lambda i: i.start)


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _is_placeholder(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis:
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False
