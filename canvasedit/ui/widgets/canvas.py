"""The canvas: a code-editor TextArea that also draws holes, the passes of a running fill and proposals.

    canvas = CanvasArea(text, language="python", syntax_language="python")
    canvas.add_hole_at_cursor(32)             # an insertion point, drawn with its length "⟨32⟩"
    canvas.show_pass(step_event, slot_ids)    # masked glyphs, this pass's tokens, low confidence dimmed
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
from collections.abc import Callable
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Offset, Size
from textual.widgets import TextArea

from canvasedit.engine import StepEvent
from canvasedit.syntax import SelectionStack, SyntaxTree, Utf8Offsets, syntax_tree_for
from canvasedit.ui.highlight import PygmentsHighlighter
from canvasedit.ui.holes import FILLING, MARKED, PENDING, HoleMark, Slot
from canvasedit.ui.overlay import Seg, VirtualSpan, layout_rows, piece_state
from canvasedit.ui.vim import VimLayer
from canvasedit.ui.widgets.hole_edits import HoleEditing

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

Location = tuple[int, int]


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
        self._pass: tuple[StepEvent, tuple[int, ...]] | None = None
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
            lengths = (len(line) + newline for line in self.document.lines[:-1])
            self._starts = (self._version, [0, *itertools.accumulate(lengths)])
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

    def _holes_redrawn(self) -> None:
        self._decor = None
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
            self._tree = (self._version, syntax_tree_for(self.text, self.syntax_language))
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

    def show_pass(self, event: StepEvent, slot_ids: tuple[int, ...]) -> None:
        """Draw one pass of the running fill over its holes (``slot_ids``: the fill's holes in order)."""
        self._pass = (event, slot_ids)
        self._layout_pass()
        self._decor = None
        self._refresh_size()
        self._repaint()

    def _layout_pass(self) -> None:
        assert self._pass is not None
        event, slot_ids = self._pass
        spans = []
        for slot_id, pieces in zip(slot_ids, event.pieces):
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
        self._set_overlay(None)
        self._decor = None

    def _set_overlay(self, spans: list[VirtualSpan] | None, repaint: bool = True) -> None:
        for row, saved in self._hidden_highlights.items():
            self._highlights[row] = saved
        self._hidden_highlights = {}
        self._overlay = layout_rows(self.document.lines, spans) if spans else None
        self._hide_overlay_highlights()
        if repaint:
            self._refresh_size()
            self._repaint()

    def _hide_overlay_highlights(self) -> None:
        # TextArea applies a row's syntax spans after get_line, by column; on a row whose text the
        # overlay changed they would colour the wrong characters, so get_line applies them itself.
        for row in self._overlay or ():
            self._hidden_highlights[row] = self._highlights.get(row, [])
            self._highlights[row] = []

    def _build_highlight_map(self) -> None:
        if self.document.line_count <= FULL_HIGHLIGHT_LINES:
            super()._build_highlight_map()
            self._highlight_window = None
        else:
            self._build_window_highlights()
        if self._overlay is not None:
            self._hidden_highlights = {}
            self._hide_overlay_highlights()

    def _build_window_highlights(self) -> None:
        # TextArea queries the whole tree on every edit (~0.3 s per keystroke at 10,000 lines).
        # Query only rows near the view instead; scrolling out of them queries again.
        self._line_cache.clear()
        highlights = self._highlights
        highlights.clear()
        self._highlight_window = None
        if not self._highlight_query:
            return
        first = self._first_visible_row()
        top = max(0, first - HIGHLIGHT_MARGIN)
        bottom = min(self.document.line_count, first + self.size.height + HIGHLIGHT_MARGIN)
        captures = self.document.query_syntax_tree(self._highlight_query, start_point=(top, 0), end_point=(bottom, 0))
        # The loop below follows TextArea._build_highlight_map, limited to the window's rows.
        for name, nodes in captures.items():
            for node in nodes:
                (start_row, start_column), (end_row, end_column) = node.start_point, node.end_point
                if start_row == end_row:
                    highlights[start_row].append((start_column, end_column, name))
                    continue
                if start_row >= top:
                    highlights[start_row].append((start_column, None, name))
                for row in range(max(start_row + 1, top), min(end_row, bottom)):
                    highlights[row].append((0, None, name))
                if end_row < bottom:
                    highlights[end_row].append((0, end_column, name))
        self._highlight_window = (top, bottom)

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
            if (first < top + HIGHLIGHT_MARGIN // 2 and top > 0) or first + self.size.height > bottom - HIGHLIGHT_MARGIN // 2:
                self._build_highlight_map()
                self.refresh()

    def set_pygments(self, lexer: str | None) -> None:
        """Colour with this Pygments lexer while ``language`` is None (no tree-sitter grammar)."""
        self._pygments = PygmentsHighlighter(lexer) if lexer else None
        self._repaint()

    def _refresh_size(self) -> None:
        super()._refresh_size()
        if self.soft_wrap or not hasattr(self, "_overlay"):
            return
        # Labels and overlay text make some rows wider than the document says; TextArea crops
        # every row to its virtual width, so widen it to fit them.
        widest = self._widest_virtual_row()
        if widest + self.gutter_width + 1 > self.virtual_size.width:
            self.virtual_size = Size(widest + self.gutter_width + 1, self.virtual_size.height)

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
        return line

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
