"""Moving around the document: go to line, document start and end, find as you type, find and mask.

``NavCommands`` is mixed into ``EditorScreen``. Finding is smart-case (a query with a capital
letter matches case; one without does not) and plain text, never a regular expression, so any
snippet pasted from the file finds itself. ``FindBar.MaskAll`` turns every match into a hole in
one go — the way to ask the model to rewrite every use of a name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from canvasedit.document import BadPosition, parse_position
from canvasedit.ui.holes import MARKED, HoleMark
from canvasedit.ui.screens.prompt import PromptScreen
from canvasedit.ui.widgets.find import FindBar

if TYPE_CHECKING:
    from canvasedit.ui.widgets import CanvasArea

MAX_COUNTED = 20_000
"""Selections up to this many characters show their size in tokens; longer ones only in characters."""


def find_all(text: str, query: str) -> list[tuple[int, int]]:
    """Every match of ``query`` in ``text`` as ``(start, end)`` offsets, smart case, not overlapping."""
    if not query:
        return []
    flags = 0 if any(c.isupper() for c in query) else re.IGNORECASE
    return [m.span() for m in re.finditer(re.escape(query), text, flags)]


class NavCommands:
    """Navigation actions for the editor screen."""

    if TYPE_CHECKING:
        canvas: CanvasArea

        def notify(self, message: str, *, severity: str = "information", **kwargs: object) -> None: ...
        def query_one(self, selector: object, expect_type: object = None) -> object: ...
        def set_summary(self, text: str) -> None: ...
        @property
        def app(self) -> object: ...

    _find_anchor = 0

    @property
    def find_bar(self) -> FindBar:
        return self.query_one(FindBar)  # type: ignore[return-value]

    # ------------------------------------------------------------------ go to

    def action_goto_line(self) -> None:
        """Ask for LINE or LINE:COL and put the cursor there."""
        row, column = self.canvas.cursor_location
        lines = self.canvas.document.line_count

        def check(value: str) -> str | None:
            try:
                line, _ = parse_position(value)
            except BadPosition as exc:
                return str(exc)
            return None if line <= lines else f"the file has {lines} lines"

        self.app.push_screen(  # type: ignore[attr-defined]
            PromptScreen(f"Go to line (1-{lines})", placeholder=f"LINE or LINE:COL, now {row + 1}:{column + 1}", check=check),
            self.goto,
        )

    def goto(self, value: str | None) -> None:
        """Move the cursor to ``LINE[:COL]`` (1-based; a column past the end goes to the end), centred."""
        if not value:
            return
        line, column = parse_position(value)
        row = min(line, self.canvas.document.line_count) - 1
        column = min(column - 1, len(self.canvas.document[row]))
        self.canvas.move_cursor((row, column), center=True)

    def action_document_start(self, select: bool = False) -> None:
        """Go to the start of the document (extending the selection with ``select``)."""
        self.canvas.move_cursor((0, 0), select=select)

    def action_document_end(self, select: bool = False) -> None:
        """Go to the end of the document (extending the selection with ``select``)."""
        self.canvas.move_cursor(self.canvas.document.end, select=select)

    # ------------------------------------------------------------------ find

    def action_find(self) -> None:
        """Open the find bar; a one-line selection becomes the query."""
        selected = self.canvas.selected_text
        self._find_anchor = self.canvas.selection_offsets()[0]
        self.find_bar.open(selected if selected and "\n" not in selected else None)
        self._show_match(self.find_bar.query_text, 0, quiet=True)

    def close_find(self) -> None:
        """Hide the find bar; the match found stays selected."""
        self.find_bar.close()
        self.canvas.focus()

    def action_find_next(self) -> None:
        """Select the next match of the last query."""
        self._show_match(self.find_bar.query_text, 1)

    def action_find_previous(self) -> None:
        """Select the previous match of the last query."""
        self._show_match(self.find_bar.query_text, -1)

    def on_find_bar_query_changed(self, message: FindBar.QueryChanged) -> None:
        self._show_match(message.query, 0)

    def on_find_bar_step(self, message: FindBar.Step) -> None:
        self._show_match(message.query, message.direction)

    def _show_match(self, query: str, direction: int, quiet: bool = False) -> None:
        """Select the match at the anchor (0), or the next / previous one, and say where it is."""
        matches = find_all(self.canvas.text, query)
        bar = self.find_bar
        if not matches:
            bar.set_info("" if not query or quiet else "no match")
            return
        start = self.canvas.selection_offsets()[0]
        if direction > 0:
            index = next((i for i, (a, _) in enumerate(matches) if a > start), 0)
        elif direction < 0:
            index = next((i for i in range(len(matches) - 1, -1, -1) if matches[i][0] < start), len(matches) - 1)
        else:
            index = next((i for i, (a, _) in enumerate(matches) if a >= self._find_anchor), 0)
        a, b = matches[index]
        self.canvas.select_offsets(a, b)
        self.canvas.scroll_cursor_visible(center=True)
        if direction:
            self._find_anchor = a
        bar.set_info(f"{index + 1}/{len(matches)}")

    def on_find_bar_mask_all(self, message: FindBar.MaskAll) -> None:
        matches = find_all(self.canvas.text, message.query)
        added = skipped = 0
        for a, b in matches:
            mark = HoleMark(a, b)
            if any(slot.state != MARKED for slot in self.canvas.holes.overlapping(mark)):
                skipped += 1  # a hole being filled, or a result waiting: left alone
                continue
            self.canvas.add_hole(mark)
            added += 1
        self.close_find()
        if matches:
            self.canvas.move_cursor(self.canvas.location_of(matches[0][1]))
        note = f" ({skipped} inside holes busy with a fill were skipped)" if skipped else ""
        self.set_summary(f"masked {added} match{'es' if added != 1 else ''} of {message.query!r}{note}")

    # ------------------------------------------------------------------ selection size

    def selection_size(self) -> str:
        """``12 chars · 4 tok`` for a selection (tokens of the loaded model), or ""."""
        if self.canvas.selection.is_empty:
            return ""
        start, end = self.canvas.selection_offsets()
        if start == end:
            return ""
        size = f"{end - start} chars"
        counter = self.canvas.token_counter
        if counter is not None and end - start <= MAX_COUNTED:
            size += f" · {counter(self.canvas.text[start:end])} tok"
        return size
