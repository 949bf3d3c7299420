"""A modal dialog that asks for a file path (open, save as) and dismisses with it, or None.

    app.push_screen(PathScreen("Open file", initial=str(Path.cwd()) + "/"), open_path)

Enter submits, Esc cancels. ``~`` is expanded; a relative path is taken from the current folder.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class PathScreen(ModalScreen[Path | None]):
    """Ask for a path."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, initial: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        """What the path is for, such as ``Save as``."""
        self.initial = initial
        """The path shown when the dialog opens."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.title_text, classes="dialog-question")
            yield Input(self.initial, id="path", select_on_focus=False)
            yield Label("Enter to confirm · Esc to cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        field = self.query_one("#path", Input)
        field.cursor_blink = False
        field.focus()
        field.cursor_position = len(field.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(Path(value).expanduser().absolute() if value else None)

    def action_cancel(self) -> None:
        """Dismiss without a path."""
        self.dismiss(None)
