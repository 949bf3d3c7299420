"""A modal dialog that asks for one line of text and dismisses with it, or None.

    app.push_screen(PromptScreen("Go to line", placeholder="LINE or LINE:COL"), go)

Enter submits, Esc cancels. ``check`` may refuse a value with a one-line reason, shown under the
field while the dialog stays open.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class PromptScreen(ModalScreen[str | None]):
    """Ask for a value."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(
        self, title: str, initial: str = "", placeholder: str = "", check: Callable[[str], str | None] | None = None
    ) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        """What the value is for."""
        self.initial = initial
        self.placeholder = placeholder
        self.check = check
        """Returns why a value is refused, or None to accept it."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box prompt-box"):
            yield Label(self.title_text, classes="dialog-question")
            yield Input(self.initial, placeholder=self.placeholder, id="prompt")
            yield Label("", id="prompt-error", classes="dialog-error")
            yield Label("Enter to confirm · Esc to cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        field = self.query_one("#prompt", Input)
        field.cursor_blink = False
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        problem = self.check(value) if self.check is not None and value else None
        if problem:
            self.query_one("#prompt-error", Label).update(problem)
            return
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        """Dismiss without a value."""
        self.dismiss(None)
