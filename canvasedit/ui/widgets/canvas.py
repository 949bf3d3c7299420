"""The canvas: a code-editor TextArea that also draws holes, the passes of a running fill and proposals.

    canvas = CanvasArea(text, language="python", syntax_language="python")
    canvas.add_hole_at_cursor(32)             # an insertion point, drawn with its length "⟨32⟩"
    canvas.show_pass(pass_view, slot_ids)     # masked glyphs, this pass's tokens, low confidence dimmed
    canvas.write_proposals(writes, fill_id)   # a finished fill's text, in the document, one undo step

Editing never stops: while a fill runs the user keeps typing, and the holes (``holes.HoleSet``)
follow every edit. Passes are drawn as an overlay: TextArea asks ``get_line`` for each visible
row, and this class answers with the row as it would read with the holes' current text spliced
in (``overlay.layout_rows``), then clears TextArea's line cache. Streaming into the document
instead would re-highlight the whole file and add an undo step on every pass. A finished fill is
written into the document (``hole_edits.HoleEditing``), so what waits for accept looks exactly
like what accepting keeps, line breaks and syntax colours included.

Two private TextArea attributes are used, as its own docs suggest for extra styling:
``_line_cache`` (rendered rows, keyed without our state) and ``_highlights`` (per-row syntax spans,
which would land on the wrong columns of a row whose text the overlay changed).
"""

from __future__ import annotations

import bisect
import itertools
import operator
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.document._document import Document, EditResult, _utf8_encode
from textual.document._syntax_aware_document import SyntaxAwareDocument
from textual.document._wrapped_document import WrappedDocument
from textual.geometry import Offset, Size
from textual.reactive import Reactive, reactive
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from canvasedit.engine.view import PassView
from canvasedit.syntax import SelectionStack, SyntaxTree, Utf8Offsets, syntax_tree_for
from canvasedit.ui.highlight import PygmentsHighlighter
from canvasedit.ui.holes import FILLING, MARKED, PENDING, HoleMark, Slot
from canvasedit.ui.overlay import Seg, VirtualSpan, layout_rows, piece_state
from canvasedit.ui.vim import VimLayer
from canvasedit.ui.widgets.hole_edits import HoleEditing

if TYPE_CHECKING:
    from tree_sitter import Tree

HOLE_COLOURS = 6
"""Distinct hole backgrounds (``canvas--hole-0`` … ``canvas--hole-5``), reused in document order."""
HOLE_BACKGROUNDS = ("#005f87", "#5f5faf", "#005f5f", "#875f00", "#87005f", "#5f8700")
"""Colours of the xterm 256-colour cube (24, 61, 23, 94, 89, 64), so a terminal without true colour
shows each exactly and no two holes share a colour; white text reads on all of them."""
MODIFIERS = ("alt+", "ctrl+", "meta+", "super+", "hyper+")
"""Key prefixes that never type text: a terminal sends alt+x as ESC x, which Textual delivers as
key ``alt+x`` with character ``x``; TextArea would insert the x before any binding could run."""
FULL_HIGHLIGHT_LINES = 2_000
"""Up to this many lines the whole file is highlighted after each edit, as TextArea does; longer
files highlight only the rows within ``HIGHLIGHT_MARGIN`` of the view."""
HIGHLIGHT_MARGIN = 150
PARSE_DELAY = 0.25
"""Seconds of no typing after which a big file's syntax tree is brought up to date."""
PREFETCH_DELAY = 0.005
PREFETCH_CHUNK = 8
"""After a scroll, the next and previous page are drawn ahead into the row cache this many rows
at a time, ``PREFETCH_DELAY`` seconds apart, so a key that arrives meanwhile waits for a few rows
at most."""

Location = tuple[int, int]


class _WrappedDocument(WrappedDocument):
    """TextArea's wrapped document with its height in O(1).

    TextArea asks for the height on every row it draws, and the base class sums it over every
    line: 10,000 additions per row of a 10,000-line file. The row table it keeps has exactly one
    entry per wrapped row already.
    """

    @property
    def height(self) -> int:
        return len(self._offset_to_line_info)


class _SizedDocument(Document):
    """TextArea's document, keeping each line's width so its size costs no pass over every line.

    TextArea asks for the document's size after every edit, and the base class measures every
    line to find the widest. Here the widths of the lines an edit touched are measured again
    and the rest are kept.
    """

    _widths: list[int] | None = None
    _tab_width = -1

    def get_size(self, tab_width: int) -> Size:
        if self._widths is None or tab_width != self._tab_width:
            self._widths = [cell_len(line.expandtabs(tab_width)) for line in self._lines]
            self._tab_width = tab_width
        return Size(max(self._widths, default=0), len(self._lines))

    def _rewidth(self, top: int, old_bottom: int, new_bottom: int) -> None:
        if self._widths is not None:
            tab = self._tab_width
            self._widths[top : old_bottom + 1] = [
                cell_len(line.expandtabs(tab)) for line in self._lines[top : new_bottom + 1]
            ]

    def replace_range(self, start: Location, end: Location, text: str) -> EditResult:
        top, bottom = sorted((start, end))
        result = super().replace_range(start, end, text)
        self._rewidth(top[0], bottom[0], result.end_location[0])
        return result


class _SyntaxDocument(SyntaxAwareDocument):
    """TextArea's tree-sitter document, re-parsed from one bytes object, and later on big files.

    The base class hands tree-sitter a Python callback that returns one line per call, and finds
    byte offsets by summing every line above the edit in Python: on a 10,000-line file that is
    some 14,000 calls per keystroke. Joining and encoding the text is done in C. Even so, an
    incremental parse of a 10,000-line Python file takes tens of milliseconds, so with
    ``defer_parse`` an edit only moves the tree's nodes (``Tree.edit``, which keeps the colours
    of everything else in place) and ``reparse()`` runs when typing pauses.
    """

    _widths: list[int] | None = None
    _tab_width = -1
    defer_parse = False
    """Leave the re-parse to ``reparse()`` (the canvas calls it once typing pauses)."""
    stale = False
    """Whether edits were made since the last parse."""
    edits: list[tuple[int, int, int]] | None = None
    """``(top, old_bottom, new_bottom)`` rows of the edits since the highlights were last built."""

    get_size = _SizedDocument.get_size
    _rewidth = _SizedDocument._rewidth

    def _location_to_byte_offset(self, location: Location) -> int:
        row, column = location
        lines = self._lines
        above = len(self.newline.join(lines[:row]).encode("utf-8")) + (len(self.newline) if row else 0)
        return above + (len(_utf8_encode(lines[row][:column])) if row < len(lines) else 0)

    def replace_range(self, start: Location, end: Location, text: str) -> EditResult:
        # SyntaxAwareDocument.replace_range, with the text handed to the parser in one piece.
        top, bottom = sorted((start, end))
        start_byte, start_point = self._location_to_byte_offset(top), self._location_to_point(top)
        old_end_byte, old_end_point = self._location_to_byte_offset(bottom), self._location_to_point(bottom)
        result = Document.replace_range(self, start, end, text)
        self._rewidth(top[0], bottom[0], result.end_location[0])
        self._syntax_tree.edit(
            start_byte=start_byte,
            old_end_byte=old_end_byte,
            new_end_byte=start_byte + len(_utf8_encode(text)),
            start_point=start_point,
            old_end_point=old_end_point,
            new_end_point=self._location_to_point(result.end_location),
        )
        self.stale = True
        if self.edits is not None:
            self.edits.append((top[0], bottom[0], result.end_location[0]))
        if not self.defer_parse:
            self.reparse()
        return result

    def current_tree(self) -> Tree:
        """A tree of the text as it is now, for the caller to keep: the highlighter's own, copied
        (later edits move its nodes in place), or parsed incrementally from it while edits wait
        for ``reparse()`` (~5 ms on a 10,000-line file where a fresh parse takes ~30). The
        highlighter's tree and colours are left to ``reparse()``."""
        return self._parse() if self.stale else self._syntax_tree.copy()

    def _parse(self) -> Tree:
        """The text parsed incrementally from the highlighter's tree (which already holds the edits)."""
        return self._parser.parse(self.text.encode("utf-8"), self._syntax_tree)

    def reparse(self) -> bool:
        """Bring the tree up to date with the text; False when it already was."""
        if not self.stale:
            return False
        self._syntax_tree = self._parse()
        self.stale = False
        return True


class CanvasArea(HoleEditing, TextArea):
    """A TextArea with holes, a pass overlay, proposals and selection growing along the syntax tree."""

    DEFAULT_CSS = "\n".join(
        f"CanvasArea > .canvas--hole-{i} {{ background: {colour}; }}" for i, colour in enumerate(HOLE_BACKGROUNDS)
    ) + """
    CanvasArea > .canvas--label { color: #ffffff; text-style: bold; }
    CanvasArea > .canvas--masked { color: #a8a8a8; }
    CanvasArea > .canvas--new { color: #ffffff; background: #af0000; text-style: bold; }
    CanvasArea > .canvas--done { color: #eeeeee; }
    CanvasArea > .canvas--low { color: #8a8a8a; text-style: italic; }
    CanvasArea > .canvas--kept { color: #d0d0d0; }
    CanvasArea > .canvas--pending { text-style: underline; }
    CanvasArea > .canvas--warning { color: #ffd75f; text-style: bold; }
    """

    COMPONENT_CLASSES = {f"canvas--hole-{i}" for i in range(HOLE_COLOURS)} | {
        "canvas--label",
        "canvas--masked",
        "canvas--new",
        "canvas--done",
        "canvas--low",
        "canvas--kept",
        "canvas--pending",
        "canvas--warning",
    }

    selection: Reactive[Selection] = reactive(Selection(), init=False, always_update=True, repaint=False)
    """As TextArea's, but a move repaints only the rows it touches (``_watch_selection``), not the
    whole widget: on a 40-row view that is most of the cost of a keystroke."""

    BINDINGS = [
        Binding("ctrl+z,super+z", "undo", "Undo", show=False, id="undo"),
        Binding("ctrl+y,super+y", "redo", "Redo", show=False, id="redo"),
    ]

    def __init__(
        self,
        text: str = "",
        *,
        language: str | None = None,
        syntax_language: str | None = None,
        pygments_lexer: str | None = None,
        **kwargs: Any,
    ) -> None:
        # TextArea's constructor already highlights (and so calls our overrides): state first.
        self._overlay: dict[int, list[Seg]] | None = None
        self._hidden_highlights: dict[int, list[tuple[int, int | None, str]]] = {}
        self._decor: tuple[dict[int, list[tuple[int, int, str]]], dict[int, list[tuple[str, str]]]] | None = None
        self._styles: dict[str, Style] = {}
        self._version = 0
        self._text_cache: tuple[int, str] | None = None
        self._highlight_window: tuple[int, int] | None = None
        self._pass: tuple[PassView, tuple[int, ...]] | None = None
        self._shading: Callable[[Text, int], None] | None = None
        self.on_cursor_moved: Callable[[], None] | None = None
        """Called whenever the selection changes (the status bar's position)."""
        self._reparse_timer: Any = None
        self._prefetch_timer: Any = None
        self._prefetch_rows: Iterator[int] | None = None
        self._prefetch_direction = 1
        self._init_holes()
        kwargs.setdefault("tab_behavior", "indent")
        kwargs.setdefault("show_line_numbers", True)
        super().__init__(text, language=language, **kwargs)
        self.syntax_language = syntax_language
        """Language of the tree-sitter grammar used to grow selections (None: no grammar)."""
        self.selection_stack = SelectionStack()
        self.token_counter: Callable[[str], int] | None = None
        """Counts a range's tokens for its label; set once a model is loaded."""
        self._starts: tuple[int, list[int]] | None = None
        self._tree: tuple[int, SyntaxTree | None] | None = None
        self._pygments: PygmentsHighlighter | None = None
        self.set_pygments(pygments_lexer)
        self.vim: VimLayer | None = None
        """The modal layer when ``[editor] vim`` is on."""
        self.wrapped_document.__class__ = _WrappedDocument

    # ------------------------------------------------------------------ offsets

    @property
    def text(self) -> str:
        """The whole text (cached until the next edit: TextArea asks for it on every row it draws)."""
        cached = self._text_cache
        if cached is None or cached[0] != self._version:
            cached = self._text_cache = (self._version, self.document.text)
        return cached[1]

    @text.setter
    def text(self, value: str) -> None:
        self.load_text(value)

    @property
    def version(self) -> int:
        """Counts changes of the text; caches keyed on it stay valid until the next edit."""
        return self._version

    def _line_starts(self) -> list[int]:
        if self._starts is None or self._starts[0] != self._version:
            newline = len(self.document.newline)
            lines = self.document.lines
            # All in C iterators: a 10,000-line file takes a fraction of a millisecond.
            lengths = map(operator.add, map(len, itertools.islice(lines, len(lines) - 1)), itertools.repeat(newline))
            self._starts = (self._version, list(itertools.accumulate(lengths, initial=0)))
        return self._starts[1]

    def offset_of(self, location: Location) -> int:
        """The character offset in ``text`` of a ``(row, column)`` location."""
        row, column = location
        return self._line_starts()[row] + column

    def location_of(self, offset: int) -> Location:
        """The ``(row, column)`` of a character offset in ``text``."""
        starts = self._line_starts()
        row = bisect.bisect_right(starts, offset) - 1
        return row, min(offset - starts[row], len(self.document[row]))

    def selection_offsets(self) -> tuple[int, int]:
        """The selection as sorted ``(start, end)`` offsets."""
        start, end = sorted(self.selection)
        return self.offset_of(start), self.offset_of(end)

    def select_offsets(self, start: int, end: int) -> None:
        """Select ``[start, end)``, cursor at the end."""
        self.move_cursor(self.location_of(start))
        self.move_cursor(self.location_of(end), select=True)

    # ------------------------------------------------------------------ keys and text

    def _set_document(self, text: str, language: str | None) -> None:
        super()._set_document(text, language)  # type: ignore[misc]
        self.wrapped_document.__class__ = _WrappedDocument
        if type(self.document) is SyntaxAwareDocument:
            self.document.__class__ = _SyntaxDocument
            self.document.defer_parse = self.document.line_count > FULL_HIGHLIGHT_LINES
        elif type(self.document) is Document:
            self.document.__class__ = _SizedDocument

    def _watch_selection(self, previous: Selection, selection: Selection) -> None:
        bracket = self._matching_bracket_location
        super()._watch_selection(previous, selection)
        rows = [*previous, *selection]
        rows += [loc for loc in (bracket, self._matching_bracket_location) if loc is not None]
        self._refresh_rows(min(r for r, _ in rows), max(r for r, _ in rows))
        if self.on_cursor_moved is not None:
            self.on_cursor_moved()  # now, so the status bar is drawn in the same frame as the rows

    def _refresh_rows(self, first: int, last: int) -> None:
        """Repaint document rows ``first`` … ``last`` (with their wrapped continuations)."""
        if not self.is_mounted:
            return
        try:
            wrapped = self.wrapped_document
            top = wrapped.location_to_offset((first, 0)).y
            bottom = wrapped.location_to_offset((last, len(self.document[last]))).y
        except (IndexError, ValueError):
            self.refresh()
            return
        self.refresh_lines(top, bottom - top + 1)

    async def _on_key(self, event: events.Key) -> None:
        if self.vim is not None and self.vim.consumes_text and self.vim.key(event.key, event.character):
            event.stop()
            event.prevent_default()
            return
        if event.key.startswith(MODIFIERS) and event.key != event.character:
            # Not text: keep TextArea from inserting the character, and let the key bubble up
            # to the bindings (prevent_default only stops the handlers of base classes).
            event.prevent_default()

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        # Textual drops the screen's bindings for keys the focused widget says it may type.
        # Tab accepts the results waiting, so it is not ours while there are any.
        if key == "tab" and self.holes.in_state(PENDING):
            return False
        return super().check_consume_key(key, character)

    def vim_escape(self) -> bool:
        """Esc in vim insert or visual mode goes back to normal mode (True); False otherwise."""
        return self.vim.escape() if self.vim is not None else False

    def set_vim(self, layer: VimLayer | None) -> None:
        """Turn the vim layer on (a ``VimLayer`` on this canvas) or off (None)."""
        self.vim = layer
        if layer is not None:
            layer.set_mode(layer.mode)

    def load_text(self, text: str) -> None:
        """Replace the whole text (new file): forgets holes, overlay and undo history."""
        self.holes.clear()
        self._records = []
        self._pass = None
        self._overlay = None
        self._hidden_highlights = {}
        self._text_changed()
        super().load_text(text)
        self._text_changed()
        self._holes_changed()

    def _text_changed(self) -> None:
        self._version += 1
        self._decor = None

    # ------------------------------------------------------------------ holes

    def add_hole_at_cursor(self, length: int) -> HoleMark:
        """Mask the selection, or insert a hole of ``length`` tokens at the cursor."""
        start, end = self.selection_offsets()
        mark = HoleMark(start, end, length=length if start == end else None)
        self.add_hole(mark)
        self.move_cursor(self.selection.end)  # drop the selection so the hole's colour shows
        return mark

    def hole_at_cursor(self, state: str | None = None) -> HoleMark | None:
        """The hole the cursor is on (an insertion point exactly there, or inside a range)."""
        return self.holes.at(self.offset_of(self.cursor_location), state)

    def slot_at_cursor(self, state: str | None = None) -> Slot | None:
        """The slot the cursor is on, optionally only one in ``state``."""
        return self.holes.slot_at(self.offset_of(self.cursor_location), state)

    def hole_label(self, slot: Slot | HoleMark) -> str:
        """``⟨32⟩`` for 32 tokens, ``⟨~12⟩`` for a range's own token count, ``⟨revise 30%⟩``; for a
        proposal, what to know before accepting it (``⟨⚠ does not parse⟩``, a revision's changes)."""
        if isinstance(slot, Slot) and slot.state == PENDING and slot.proposal is not None:
            proposal = slot.proposal
            notes = []
            if proposal.changes is not None:
                n = len(proposal.changes)
                notes.append("no change" if n == 0 else "1 change" if n == 1 else f"{n} changes")
            if slot.start == slot.end:
                notes.append("empty")
            if proposal.parse_error:
                notes.append("⚠ does not parse")
            return f"⟨{' · '.join(notes)}⟩" if notes else ""
        mark = slot.mark if isinstance(slot, Slot) else slot
        if mark.revise is not None:
            return f"⟨revise {mark.revise:.0%}⟩"
        if mark.length is not None:
            return f"⟨{mark.length}⟩"
        if self.token_counter is None:
            return "⟨~?⟩"
        text = self.text[mark.start : mark.end]
        return f"⟨~{self.token_counter(text)}⟩"

    def refresh_holes(self) -> None:
        """Redraw the hole marks (their labels changed, e.g. a model that counts tokens arrived)."""
        self._decor = None
        self._repaint()

    def _holes_redrawn(self, rows: tuple[int, int] | None = None) -> None:
        """Draw the holes again: all of them, or after an edit within one row only that row."""
        self._decor = None
        if rows is not None and rows[0] == rows[1]:
            # An edit inside one row moved no hole to another row: the row itself (and, while a
            # fill streams, the rows its passes cover) is all that changed on screen.
            overlay = set(self._overlay or ())
            if self._pass is not None:
                self._layout_pass()
                overlay |= set(self._overlay or ())
            self._repaint_rows(overlay | {rows[0]})
            return
        if self._pass is not None:
            self._layout_pass()
        # TextArea paints the cursor row's background over whatever get_line returns, which would
        # hide a hole on that row; the hole colours matter more while there are holes.
        self.highlight_cursor_line = not self.holes
        self._refresh_size()
        self._repaint()

    # ------------------------------------------------------------------ selection growing

    def syntax_tree(self) -> SyntaxTree | None:
        """The parse of the current text (cached until the next edit); None without a grammar."""
        if self._tree is None or self._tree[0] != self._version:
            document = self.document
            parsed = None
            if isinstance(document, _SyntaxDocument) and self.language == self.syntax_language:
                parsed = document.current_tree()
            self._tree = (self._version, syntax_tree_for(self.text, self.syntax_language, parsed))
        return self._tree[1]

    def grow_selection(self) -> bool:
        """Select the enclosing syntax node; False when there is no grammar for this file."""
        tree = self.syntax_tree()
        if tree is None:
            return False
        self.select_offsets(*self.selection_stack.grow(tree, *self.selection_offsets()))
        return True

    def shrink_selection(self) -> None:
        """Return to the selection before the last grow."""
        self.select_offsets(*self.selection_stack.shrink(self.selection_offsets()))

    # ------------------------------------------------------------------ the overlay

    @property
    def overlay_active(self) -> bool:
        """Whether the passes of a running fill are drawn over its holes."""
        return self._overlay is not None

    def show_pass(self, shown: PassView, slot_ids: tuple[int, ...]) -> None:
        """Draw one pass of the running fill over its holes (``slot_ids``: the fill's holes in order).

        ``shown`` is the pass folded whole (``view.FillView.apply``): every hole's pieces after the step.
        """
        before = set(self._overlay or ())
        self._pass = (shown, slot_ids)
        self._layout_pass()
        self._decor = None
        self._refresh_size()
        self._repaint_rows(before | set(self._overlay or ()))

    def _layout_pass(self) -> None:
        assert self._pass is not None
        shown, slot_ids = self._pass
        spans = []
        for slot_id, pieces in zip(slot_ids, shown.pieces):
            slot = self.holes.by_id(slot_id)
            if slot is None or slot.state != FILLING:
                continue  # edited away while the fill ran
            colour = f"hole-{self.holes.index(slot) % HOLE_COLOURS}"
            parts: list[tuple[str, str]] = []
            for piece in pieces:
                style = f"{colour} {piece_state(piece)}"
                if parts and parts[-1][1] == style:
                    parts[-1] = (parts[-1][0] + piece.text, style)
                else:
                    parts.append((piece.text, style))
            spans.append(VirtualSpan(self.location_of(slot.start), self.location_of(slot.end), tuple(parts)))
        self._set_overlay(spans, repaint=False)

    def clear_overlay(self) -> None:
        """Stop drawing passes: the holes show as marks again."""
        self._pass = None
        self._decor = None
        self._set_overlay(None)

    def _set_overlay(self, spans: list[VirtualSpan] | None, repaint: bool = True) -> None:
        before = set(self._overlay or ())
        for row, saved in self._hidden_highlights.items():
            self._highlights[row] = saved
        self._hidden_highlights = {}
        self._overlay = layout_rows(self.document.lines, spans) if spans else None
        self._hide_overlay_highlights()
        if repaint:
            self._refresh_size()
            self._repaint_rows(before | set(self._overlay or ()))

    def _repaint_rows(self, rows: set[int]) -> None:
        """Draw these document rows again (a pass changed them), not the whole view.

        Overlay rows never come from TextArea's line cache (``render_line``), so refreshing them is
        enough; with soft wrap, rows and screen lines differ, and everything is drawn again.
        """
        if self.soft_wrap:
            self._repaint()
            return
        ordered = sorted(rows)
        start = previous = None
        for row in ordered:
            if start is None:
                start = previous = row
            elif row == previous + 1:
                previous = row
            else:
                self._refresh_rows(start, previous)
                start = previous = row
        if start is not None:
            self._refresh_rows(start, previous)

    def render_line(self, y: int) -> Strip:
        # TextArea caches rendered rows by position only; a row the overlay changes is drawn
        # fresh each time instead, so a new pass needs no cache-wide clear.
        if self._overlay is not None and not self.soft_wrap and int(self.scroll_y) + y in self._overlay:
            return self._render_line(y)
        return super().render_line(y)

    def _hide_overlay_highlights(self) -> None:
        # TextArea applies a row's syntax spans after get_line, by column; on a row whose text the
        # overlay changed they would colour the wrong characters, so get_line applies them itself.
        for row in self._overlay or ():
            self._hidden_highlights[row] = self._highlights.get(row, [])
            self._highlights[row] = []

    def _build_highlight_map(self) -> None:
        document = self.document
        big = document.line_count > FULL_HIGHLIGHT_LINES
        if isinstance(document, _SyntaxDocument):
            document.defer_parse = big
            if document.stale and not big:
                document.reparse()
        if not big:
            super()._build_highlight_map()
            self._highlight_window = None
        else:
            self._build_window_highlights()
        if self._overlay is not None:
            self._hidden_highlights = {}
            self._hide_overlay_highlights()
        if isinstance(document, _SyntaxDocument) and document.stale and self.is_mounted:
            if self._reparse_timer is not None:
                self._reparse_timer.stop()
            self._reparse_timer = self.set_timer(PARSE_DELAY, self._reparse)

    def _reparse(self) -> None:
        """Typing paused: parse the big file's text again and re-colour the rows near the view."""
        self._reparse_timer = None
        document = self.document
        if isinstance(document, _SyntaxDocument) and document.reparse():
            self._build_highlight_map()
            self.refresh()

    def _build_window_highlights(self) -> None:
        # TextArea queries the whole tree on every edit (~0.3 s per keystroke at 10,000 lines).
        # Query only rows near the view instead; scrolling out of them queries again.
        self._line_cache.clear()
        highlights = self._highlights
        document = self.document
        edits = getattr(document, "edits", None)
        if isinstance(document, _SyntaxDocument):
            document.edits = []
        if self._highlight_window is not None and edits is not None and len(edits) == 1 and document.stale:
            self._patch_highlights(*edits[0])  # one keystroke on a tree not re-parsed yet
            return
        highlights.clear()
        self._highlight_window = None
        if not self._highlight_query:
            return
        first = self._first_visible_row()
        top = max(0, first - HIGHLIGHT_MARGIN)
        bottom = min(self.document.line_count, first + self.size.height + HIGHLIGHT_MARGIN)
        highlights.update(self._query_rows(top, bottom))
        self._highlight_window = (top, bottom)

    def _patch_highlights(self, top: int, old_bottom: int, new_bottom: int) -> None:
        """After one edit of rows ``top…old_bottom`` (now ``top…new_bottom``): shift the rows below
        it and query only the edited rows again, instead of the whole window."""
        assert self._highlight_window is not None
        delta = new_bottom - old_bottom
        kept = {
            (row if row < top else row + delta): spans
            for row, spans in self._highlights.items()
            if row < top or row > old_bottom
        }
        self._highlights.clear()
        self._highlights.update(kept)
        self._highlights.update(self._query_rows(top, new_bottom + 1))
        window_top, window_bottom = self._highlight_window
        self._highlight_window = (window_top, max(window_top, min(self.document.line_count, window_bottom + delta)))

    def _query_rows(self, top: int, bottom: int) -> dict[int, list[tuple[int, int | None, str]]]:
        """Syntax spans of rows ``top…bottom - 1``, as TextArea keeps them (byte columns)."""
        rows: dict[int, list[tuple[int, int | None, str]]] = defaultdict(list)
        if not self._highlight_query:
            return rows
        captures = self.document.query_syntax_tree(self._highlight_query, start_point=(top, 0), end_point=(bottom, 0))
        # The loop below follows TextArea._build_highlight_map, limited to the rows asked for.
        for name, nodes in captures.items():
            for node in nodes:
                (start_row, start_column), (end_row, end_column) = node.start_point, node.end_point
                if start_row == end_row:
                    if top <= start_row < bottom:
                        rows[start_row].append((start_column, end_column, name))
                    continue
                if top <= start_row < bottom:
                    rows[start_row].append((start_column, None, name))
                for row in range(max(start_row + 1, top), min(end_row, bottom)):
                    rows[row].append((0, None, name))
                if top <= end_row < bottom:
                    rows[end_row].append((0, end_column, name))
        return rows

    def _first_visible_row(self) -> int:
        y = int(self.scroll_y)
        if not self.soft_wrap:
            return y
        try:
            return self.wrapped_document.offset_to_location(Offset(0, y))[0]
        except (IndexError, ValueError):
            return 0

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        window = self._highlight_window
        if window is not None:
            first = self._first_visible_row()
            top, bottom = window
            if first < top or first + self.size.height > bottom:  # the view left the coloured rows
                self._extend_highlight_window(first)
        self._schedule_prefetch(1 if new_value >= old_value else -1)

    def _extend_highlight_window(self, first: int) -> None:
        """Colour the rows within ``HIGHLIGHT_MARGIN`` of a view starting at row ``first``, querying
        only the rows the window lacks (a page scrolled in costs a page, not the window); a jump
        away from the window starts a new one. Rows far behind the view are dropped again."""
        assert self._highlight_window is not None
        top, bottom = self._highlight_window
        height = self.size.height
        want_top = max(0, first - HIGHLIGHT_MARGIN)
        want_bottom = min(self.document.line_count, first + height + HIGHLIGHT_MARGIN)
        if want_bottom <= top or want_top >= bottom:
            self._build_highlight_map()
            self.refresh()
            return
        highlights = self._highlights
        if want_top < top:
            highlights.update(self._query_rows(want_top, top))
            top = want_top
        if want_bottom > bottom:
            highlights.update(self._query_rows(bottom, want_bottom))
            bottom = want_bottom
        if bottom - top > 2 * (want_bottom - want_top):
            top, bottom = want_top, want_bottom
            for row in [row for row in highlights if row < top or row >= bottom]:
                del highlights[row]
        self._highlight_window = (top, bottom)

    def _schedule_prefetch(self, direction: int) -> None:
        if not self.is_mounted:
            return
        if self._prefetch_timer is not None:
            self._prefetch_timer.stop()
        self._prefetch_rows = None
        self._prefetch_direction = direction
        self._prefetch_timer = self.set_timer(PREFETCH_DELAY, self._prefetch)

    def _prefetch(self) -> None:
        """While no key is waiting, draw the page after the view (in the direction it last moved)
        and the page before it into TextArea's row cache, ``PREFETCH_CHUNK`` rows per turn of the
        event loop, so the next page down or up only composes rows already drawn."""
        self._prefetch_timer = None
        if self._prefetch_rows is None:
            if self.soft_wrap:
                return  # screen rows are wrapped sections there; the window is kept in document rows
            if self._highlight_window is not None:
                self._extend_highlight_window(self._first_visible_row())
            height = self.size.height
            ahead, behind = range(height, 2 * height), range(-height, 0)
            forward = self._prefetch_direction > 0
            self._prefetch_rows = iter([*ahead, *reversed(behind)] if forward else [*reversed(behind), *ahead])
        scroll_y = int(self.scroll_y)
        last = self.wrapped_document.height
        overlay = self._overlay or {}
        drawn = 0
        for y in self._prefetch_rows:
            row = scroll_y + y
            if 0 <= row < last and row not in overlay:
                self.render_line(y)
                drawn += 1
                if drawn == PREFETCH_CHUNK:
                    self._prefetch_timer = self.set_timer(PREFETCH_DELAY, self._prefetch)
                    return
        self._prefetch_rows = None

    def set_pygments(self, lexer: str | None) -> None:
        """Colour with this Pygments lexer while ``language`` is None (no tree-sitter grammar)."""
        self._pygments = PygmentsHighlighter(lexer) if lexer else None
        self._repaint()

    def _refresh_size(self) -> None:
        if self.soft_wrap or not hasattr(self, "_overlay"):
            super()._refresh_size()
            return
        # TextArea's own, with the width widened at once: labels and overlay text make some rows
        # wider than the document says, and TextArea crops every row to its virtual width. Setting
        # the document's width first and the wider one after would flip the horizontal scrollbar
        # off and on, two layouts of the whole screen on every pass of a fill.
        width, height = self.document.get_size(self.indent_width)
        width = max(width, self._widest_virtual_row())
        self.virtual_size = Size(width + self.gutter_width + 1, height)
        self._refresh_scrollbars()

    def _widest_virtual_row(self) -> int:
        widths = [0]
        if self._overlay is not None:
            widths += (
                cell_len("".join(seg.text for seg in segs).expandtabs(self.indent_width))
                for segs in self._overlay.values()
            )
        if self.holes:
            _, labels = self._decorations()
            widths += (
                cell_len(self.document[row].expandtabs(self.indent_width)) + 1 + sum(cell_len(t) for t, _ in items)
                for row, items in labels.items()
            )
        return max(widths)

    def _repaint(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    # ------------------------------------------------------------------ drawing

    def get_line(self, line_index: int) -> Text:
        """The row to draw: the overlay's version on rows a fill's passes cover, else the text with hole marks."""
        if self._overlay is not None and line_index in self._overlay:
            return self._overlay_line(self._overlay[line_index])
        line = self._document_line(line_index)
        if self.holes:
            self._decorate(line, line_index)
        if self._shading is not None:
            self._shading(line, line_index)
        return line

    def set_shading(self, shade: Callable[[Text, int], None] | None) -> None:
        """Draw a second overlay over document rows: ``shade(line, row)`` styles the row's text in place
        (the heatmap); None stops it. Rows the pass overlay draws are left to it."""
        self._shading = shade
        self._repaint()

    def _document_line(self, row: int) -> Text:
        line = Text(self.document.get_line(row), end="", no_wrap=True)
        if self._pygments is not None and self.language is None and self._theme is not None:
            styles = self._theme.syntax_styles
            for start, end, name in self._pygments.line(line.plain):
                if (style := styles.get(name)) is not None:
                    line.stylize(style, start, end)
        return line

    def _decorate(self, line: Text, row: int) -> None:
        ranges, labels = self._decorations()
        plain_length = len(line)
        eol_style = None
        for start, end, name in ranges.get(row, ()):
            if start >= plain_length:
                eol_style = name  # an insertion point at the end of the row: colour the cell after it
            line.stylize(self._style(name), start, end)
        if row in labels:
            line.append(" ", self._style(eol_style) if eol_style else None)
            for label, name in labels[row]:
                line.append(label, self._style(f"{name.split()[0]} label {' '.join(name.split()[1:])}".strip()))

    def _decorations(self) -> tuple[dict[int, list[tuple[int, int, str]]], dict[int, list[tuple[str, str]]]]:
        if self._decor is None:
            ranges: dict[int, list[tuple[int, int, str]]] = {}
            labels: dict[int, list[tuple[str, str]]] = {}
            drawn_by_pass = set(self._pass[1]) if self._pass is not None else set()
            for i, slot in enumerate(self.holes.slots):
                if slot.state == FILLING and slot.id in drawn_by_pass:
                    continue  # the overlay draws it
                name = f"hole-{i % HOLE_COLOURS}"
                if slot.state == PENDING:
                    changes = slot.proposal.changes if slot.proposal is not None else None
                    spans = [(slot.start, slot.end)] if changes is None else [
                        (slot.start + a, slot.start + b) for a, b in changes
                    ]
                    style = f"{name} pending"
                else:
                    spans, style = [(slot.start, slot.end)], name
                for a, b in spans:
                    self._add_range(ranges, a, b, style, point=slot.state == MARKED or slot.state == FILLING)
                label = self.hole_label(slot)
                if label:
                    row = self.location_of(slot.end)[0]
                    warn = slot.proposal is not None and slot.proposal.parse_error
                    labels.setdefault(row, []).append((label, f"{name} warning" if warn else name))
            self._decor = (ranges, labels)
        return self._decor

    def _add_range(self, ranges: dict[int, list[tuple[int, int, str]]], a: int, b: int, style: str, point: bool) -> None:
        (r0, c0), (r1, c1) = self.location_of(a), self.location_of(b)
        if a == b and point:
            ranges.setdefault(r0, []).append((c0, c0 + 1, style))
        for row in range(r0, r1 + 1):
            start = c0 if row == r0 else 0
            end = c1 if row == r1 else len(self.document[row])
            if end > start:
                ranges.setdefault(row, []).append((start, end, style))

    def _overlay_line(self, segs: list[Seg]) -> Text:
        line = Text(end="", no_wrap=True)
        syntax = self._theme.syntax_styles if self._theme is not None else {}
        for seg in segs:
            at = len(line)
            line.append(seg.text, self._style(seg.style) if seg.style else None)
            if seg.style is None:
                for start, end, name in self._row_spans(seg.row):
                    start, end = max(start, seg.col), min(end, seg.col + len(seg.text))
                    if start < end and (style := syntax.get(name)) is not None:
                        line.stylize(style, at + start - seg.col, at + end - seg.col)
        # Tabs are expanded here, not by TextArea: its soft-wrap path expects the document's tabs.
        line.expand_tabs(self.indent_width)
        return line

    def _row_spans(self, row: int) -> list[tuple[int, int, str]]:
        """Syntax spans of a document row in character columns."""
        if self._pygments is not None and self.language is None:
            return list(self._pygments.line(self.document[row]))
        text = self.document[row]
        offsets = Utf8Offsets(text)  # TextArea's highlight columns are UTF-8 byte offsets
        return [(offsets.to_char(s), len(text) if e is None else offsets.to_char(e), name)
                for s, e, name in self._hidden_highlights.get(row, [])]

    def _style(self, names: str) -> Style:
        """The rich style of space-separated names (``hole-2 new``), later names on top."""
        style = self._styles.get(names)
        if style is None:
            style = self.get_component_rich_style(*(f"canvas--{n}" for n in names.split()), partial=True)
            self._styles[names] = style
        return style
