"""The find bar: one row above the status bar to find text as you type, step through matches, mask them all.

    bar = FindBar()
    bar.open("width")           # shown, focused, query filled in and selected
    bar.set_info("3/17")        # where the canvas selection is among the matches

It only edits the query and says what the user asked for, with messages the editor screen
handles (``FindBar.QueryChanged``, ``FindBar.Step``, ``FindBar.MaskAll``); finding and masking
are the screen's job (``editor_nav.NavCommands``). Enter or ↓ goes to the next match, ↑ to the
previous one, ctrl+b masks every match, Esc closes the bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


class FindBar(Horizontal):
    """Find as you type."""

    DEFAULT_CSS = """
    FindBar { height: 1; display: none; background: $boost; }
    FindBar.-open { display: block; }
    FindBar > Label { padding: 0 1; }
    FindBar > Input { width: 1fr; }
    FindBar > #find-info { color: $text-muted; }
    """

    BINDINGS = [
        Binding("down", "step(1)", "Next match", show=False),
        Binding("up", "step(-1)", "Previous match", show=False),
        Binding("ctrl+b", "mask_all", "Mask every match", show=False),
    ]

    @dataclass
    class QueryChanged(Message):
        """The query was edited: find its first match from where the search started."""

        query: str

    @dataclass
    class Step(Message):
        """Go to the next (+1) or previous (-1) match."""

        query: str
        direction: int

    @dataclass
    class MaskAll(Message):
        """Turn every match into a hole."""

        query: str

    def compose(self) -> ComposeResult:
        yield Label("Find", id="find-label")
        yield Input(id="find-input", compact=True, select_on_focus=True, placeholder="text (smart case)")
        yield Label("", id="find-info")

    @property
    def query_text(self) -> str:
        """What is typed in the bar."""
        return self.query_one(Input).value

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, query: str | None = None) -> None:
        """Show the bar and focus it; ``query`` replaces what was typed before."""
        field = self.query_one(Input)
        field.cursor_blink = False
        if query is not None:
            with field.prevent(Input.Changed):
                field.value = query
        self.add_class("-open")
        field.focus()
        field.select_all()

    def close(self) -> None:
        """Hide the bar (the query is kept for next time)."""
        self.remove_class("-open")

    def set_info(self, text: str) -> None:
        """``3/17``, ``no match``…"""
        self.query_one("#find-info", Label).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.QueryChanged(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Step(event.value, 1))

    def action_step(self, direction: int) -> None:
        """Ask for the next or previous match."""
        self.post_message(self.Step(self.query_text, direction))

    def action_mask_all(self) -> None:
        """Ask for every match to become a hole."""
        self.post_message(self.MaskAll(self.query_text))
