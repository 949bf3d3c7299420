"""The canvas: a code-editor TextArea that also draws holes and the passes of a running fill.

    canvas = CanvasArea(text, language="python", syntax_language="python")
    canvas.add_hole_at_cursor(32)        # an insertion point, drawn with its length "⟨32⟩"
    canvas.locked = True                 # while a fill runs: no edits, no cursor
    canvas.show_pass(step_event)         # masked glyphs, this pass's tokens, low confidence dimmed
    canvas.show_result(fill_result)      # the pending change
    canvas.apply_result(fill_result)     # one replace() = one undo step

Nothing here writes the document until ``apply_result``. Passes are drawn as an overlay: TextArea
asks ``get_line`` for each visible row, and this class answers with the row as it would read
with the holes' current text spliced in (``overlay.layout_rows``), then clears TextArea's line
cache. Streaming into the document instead would re-highlight the whole file and add an undo step
on every pass. Two private TextArea attributes are used, as its own docs suggest for extra
styling: ``_line_cache`` (rendered rows, keyed without our state) and ``_highlights`` (per-row
syntax spans, which would land on the wrong columns of a row whose text the overlay changed).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Offset, Size
from textual.reactive import reactive
from textual.widgets import TextArea
from textual.widgets.text_area import Edit, EditResult

from canvasedit.engine import FillResult, StepEvent
from canvasedit.syntax import SelectionStack, SyntaxTree, Utf8Offsets, syntax_tree_for
from canvasedit.ui.highlight import PygmentsHighlighter
from canvasedit.ui.holes import HoleMark, HoleSet, edit_region
from canvasedit.ui.messages import HolesChanged
from canvasedit.ui.overlay import Seg, VirtualSpan, layout_rows, piece_state

HOLE_COLOURS = 6
"""Distinct hole backgrounds (``canvas--hole-0`` … ``canvas--hole-5``), reused in document order."""
FULL_HIGHLIGHT_LINES = 2_000
"""Up to this many lines the whole file is highlighted after each edit, as TextArea does; longer
files highlight only the rows within ``HIGHLIGHT_MARGIN`` of the view."""
HIGHLIGHT_MARGIN = 150

Location = tuple[int, int]


class CanvasArea(TextArea):
    """A TextArea with holes, a pass overlay and selection growing along the syntax tree."""

    DEFAULT_CSS = """
    CanvasArea > .canvas--hole-0 { background: #3d5a80; }
    CanvasArea > .canvas--hole-1 { background: #6a4c93; }
    CanvasArea > .canvas--hole-2 { background: #2a7f62; }
    CanvasArea > .canvas--hole-3 { background: #8c5a2b; }
    CanvasArea > .canvas--hole-4 { background: #7a3b57; }
    CanvasArea > .canvas--hole-5 { background: #4f6d2f; }
    CanvasArea > .canvas--label { color: #ffffff; text-style: bold; }
    CanvasArea > .canvas--masked { color: #9a9a9a; }
    CanvasArea > .canvas--new { color: #ffffff; background: #c0392b; text-style: bold; }
    CanvasArea > .canvas--done { color: #f0f0f0; }
    CanvasArea > .canvas--low { color: #8a8a8a; text-style: italic; }
    CanvasArea > .canvas--kept { color: #d0d0d0; }
    CanvasArea > .canvas--pending { color: #ffffff; text-style: underline; }
    """

    COMPONENT_CLASSES = {f"canvas--hole-{i}" for i in range(HOLE_COLOURS)} | {
        "canvas--label",
        "canvas--masked",
        "canvas--new",
        "canvas--done",
        "canvas--low",
        "canvas--kept",
        "canvas--pending",
    }

    BINDINGS = [
        Binding("ctrl+z,super+z", "undo", "Undo", show=False, id="undo"),
        Binding("ctrl+y,super+y", "redo", "Redo", show=False, id="redo"),
    ]

    locked: reactive[bool] = reactive(False, init=False)
    """True while a fill runs or waits for accept/reject: the document cannot change."""

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
        self._highlight_window: tuple[int, int] | None = None
        self.holes = HoleSet()
        """The holes, in document order."""
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

    # ------------------------------------------------------------------ offsets

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

    # ------------------------------------------------------------------ edits

    def edit(self, edit: Edit) -> EditResult:
        """Perform an edit and move, keep or drop the holes it affects."""
        if not self.holes:
            result = super().edit(edit)
            self._text_changed()
            return result
        top, bottom = sorted((edit.from_location, edit.to_location))
        start, old_end = self.offset_of(top), self.offset_of(bottom)
        result = super().edit(edit)
        self._text_changed()
        removed = self.holes.track_edit(start, old_end, self.offset_of(result.end_location))
        self._holes_changed(removed)
        return result

    def undo(self) -> None:
        """Undo the last batch of edits, unless a fill is running or pending."""
        if not self.locked:
            self._through_history(super().undo)

    def redo(self) -> None:
        """Redo the last undone batch of edits, unless a fill is running or pending."""
        if not self.locked:
            self._through_history(super().redo)

    def _through_history(self, step: Callable[[], None]) -> None:
        # TextArea replays history without calling edit(), so find what changed by comparison.
        before = self.text if self.holes else None
        step()
        self._text_changed()
        if before is not None:
            after = self.text
            if after != before:
                removed = self.holes.track_edit(*edit_region(before, after))
                self._holes_changed(removed)

    def load_text(self, text: str) -> None:
        """Replace the whole text (new file): forgets holes, overlay and undo history."""
        self.holes.clear()
        self._overlay = None
        self._hidden_highlights = {}
        super().load_text(text)
        self._text_changed()
        self._holes_changed()

    def _text_changed(self) -> None:
        self._version += 1
        self._decor = None

    # ------------------------------------------------------------------ holes

    def add_hole(self, mark: HoleMark) -> list[HoleMark]:
        """Add a hole, replacing the holes it overlaps (returned)."""
        removed = self.holes.add(mark)
        self._holes_changed()
        return removed

    def add_hole_at_cursor(self, length: int) -> HoleMark:
        """Mask the selection, or insert a hole of ``length`` tokens at the cursor."""
        start, end = self.selection_offsets()
        mark = HoleMark(start, end, length=length if start == end else None)
        self.add_hole(mark)
        self.move_cursor(self.selection.end)  # drop the selection so the hole's colour shows
        return mark

    def hole_at_cursor(self) -> HoleMark | None:
        """The hole the cursor is on (an insertion point exactly there, or inside a range)."""
        return self.holes.at(self.offset_of(self.cursor_location))

    def resize_hole(self, mark: HoleMark, length: int) -> HoleMark:
        """Give ``mark`` an explicit length in tokens."""
        new = HoleMark(mark.start, mark.end, length=length, revise=mark.revise)
        self.holes.swap(mark, new)
        self._holes_changed()
        return new

    def remove_hole(self, mark: HoleMark) -> None:
        """Forget one hole; the text is untouched."""
        self.holes.remove(mark)
        self._holes_changed()

    def clear_holes(self) -> None:
        """Forget every hole; the text is untouched."""
        self.holes.clear()
        self._holes_changed()

    def hole_label(self, mark: HoleMark) -> str:
        """``⟨32⟩`` for 32 tokens, ``⟨~12⟩`` for a range's own token count, ``⟨revise 30%⟩``."""
        if mark.revise is not None:
            return f"⟨revise {mark.revise:.0%}⟩"
        if mark.length is not None:
            return f"⟨{mark.length}⟩"
        if self.token_counter is None:
            return "⟨~?⟩"
        text = self.get_text_range(self.location_of(mark.start), self.location_of(mark.end))
        return f"⟨~{self.token_counter(text)}⟩"

    def refresh_holes(self) -> None:
        """Redraw the hole marks (their labels changed, e.g. a model that counts tokens arrived)."""
        self._decor = None
        self._repaint()

    def _holes_changed(self, removed_by_edit: int = 0) -> None:
        self._decor = None
        # TextArea paints the cursor row's background over whatever get_line returns, which would
        # hide a hole on that row; the hole colours matter more while there are holes.
        self.highlight_cursor_line = not self.holes
        self._refresh_size()
        self._repaint()
        self.post_message(HolesChanged(len(self.holes), removed_by_edit))

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

    def watch_locked(self, locked: bool) -> None:
        if locked:
            self.move_cursor(self.selection.end)
        self.read_only = locked
        self.show_cursor = not locked
        self.set_class(locked, "-locked")

    @property
    def overlay_active(self) -> bool:
        """Whether passes or a pending result are drawn over the holes."""
        return self._overlay is not None

    def show_pass(self, event: StepEvent) -> None:
        """Draw one pass of the running fill over the holes."""
        spans = []
        for i, (mark, pieces) in enumerate(zip(self.holes, event.pieces)):
            parts: list[tuple[str, str]] = []
            for piece in pieces:
                style = f"hole-{i % HOLE_COLOURS} {piece_state(piece)}"
                if parts and parts[-1][1] == style:
                    parts[-1] = (parts[-1][0] + piece.text, style)
                else:
                    parts.append((piece.text, style))
            spans.append(VirtualSpan(self.location_of(mark.start), self.location_of(mark.end), tuple(parts)))
        self._set_overlay(spans)

    def show_result(self, result: FillResult) -> None:
        """Draw a finished fill's text in place of the holes, waiting for accept or reject."""
        spans = [
            VirtualSpan(
                self.location_of(hole.original_start),
                self.location_of(hole.original_end),
                ((hole.text, f"hole-{i % HOLE_COLOURS} pending"),),
            )
            for i, hole in enumerate(result.holes)
        ]
        self._set_overlay(spans)

    def clear_overlay(self) -> None:
        """Show the document as it is again."""
        self._set_overlay(None)

    def apply_result(self, result: FillResult) -> None:
        """Write a fill into the document as one ``replace()``, which is one undo step.

        The replaced range runs from the first hole to the last; everything between them comes
        back byte for byte from the engine, so the edit is exact.
        """
        start = min(h.original_start for h in result.holes)
        end = max(h.original_end for h in result.holes)
        current = self.text
        new_end = end + len(result.text) - len(current)
        if result.text[:start] != current[:start] or result.text[new_end:] != current[end:]:
            raise ValueError("the document changed while the fill ran; fill again")
        self.holes.clear()  # the fill consumed them; an insertion point at `start` would survive the edit
        self.history.checkpoint()
        edit = self.replace(
            result.text[start:new_end], self.location_of(start), self.location_of(end), maintain_selection_offset=False
        )
        self.history.checkpoint()
        self.move_cursor(edit.end_location)
        self._holes_changed()

    def _set_overlay(self, spans: list[VirtualSpan] | None) -> None:
        for row, saved in self._hidden_highlights.items():
            self._highlights[row] = saved
        self._hidden_highlights = {}
        self._overlay = layout_rows(self.document.lines, spans) if spans is not None else None
        self._hide_overlay_highlights()
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
        if self._overlay is not None:
            rows = (
                cell_len("".join(seg.text for seg in segs).expandtabs(self.indent_width))
                for segs in self._overlay.values()
            )
        elif self.holes:
            _, labels = self._decorations()
            rows = (
                cell_len(self.document[row].expandtabs(self.indent_width)) + 1 + sum(cell_len(t) for t, _ in items)
                for row, items in labels.items()
            )
        else:
            return 0
        return max(rows, default=0)

    def _repaint(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    # ------------------------------------------------------------------ drawing

    def get_line(self, line_index: int) -> Text:
        """The row to draw: the overlay's version while a fill shows, else the text with hole marks."""
        if self._overlay is not None and line_index in self._overlay:
            return self._overlay_line(self._overlay[line_index])
        line = self._document_line(line_index)
        if self.holes and self._overlay is None:
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
                line.append(label, self._style(f"{name} label"))

    def _decorations(self) -> tuple[dict[int, list[tuple[int, int, str]]], dict[int, list[tuple[str, str]]]]:
        if self._decor is None:
            ranges: dict[int, list[tuple[int, int, str]]] = {}
            labels: dict[int, list[tuple[str, str]]] = {}
            for i, mark in enumerate(self.holes):
                name = f"hole-{i % HOLE_COLOURS}"
                (r0, c0), (r1, c1) = self.location_of(mark.start), self.location_of(mark.end)
                if mark.start == mark.end:
                    ranges.setdefault(r0, []).append((c0, c0 + 1, name))
                for row in range(r0, r1 + 1):
                    start = c0 if row == r0 else 0
                    end = c1 if row == r1 else len(self.document[row])
                    if end > start:
                        ranges.setdefault(row, []).append((start, end, name))
                labels.setdefault(r1, []).append((self.hole_label(mark), name))
            self._decor = (ranges, labels)
        return self._decor

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
