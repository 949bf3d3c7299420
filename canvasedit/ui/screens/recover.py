"""The recovery offer: a journal of unsaved changes outlived its editor; show the diff, recover or discard.

    app.push_screen(RecoverScreen("notes.md", diff_text, note), decide)   # decide("recover" | "discard" | None)

``r`` or the Recover button answers "recover", ``d`` or Discard answers "discard" (the journal
is deleted), Esc decides later: the file opens as it is on disk and the journal stays.
"""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class RecoverScreen(ModalScreen[str | None]):
    """Offer a buffer's unsaved changes back."""

    BINDINGS = [
        Binding("r", "answer('recover')", "Recover", show=False),
        Binding("d", "answer('discard')", "Discard", show=False),
        Binding("escape", "answer(None)", "Later", show=False),
    ]

    def __init__(self, name: str, diff: str, note: str = "") -> None:
        super().__init__(classes="dialog")
        self.name_shown = name
        """The file's name."""
        self.diff = diff
        """Unified diff from the file on disk to the journalled text."""
        self.note = note
        """When the journal was written; whether the file changed on disk since."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box recover-box"):
            yield Label(f"Unsaved changes to {self.name_shown} survived the last session", classes="dialog-question")
            if self.note:
                yield Label(self.note, classes="dialog-hint")
            with VerticalScroll(id="recover-diff"):
                yield Static(Syntax(self.diff or "(no difference)", "diff", theme="ansi_dark", word_wrap=False))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Recover (r)", id="recover", variant="primary")
                yield Button("Discard (d)", id="discard", variant="error")
                yield Button("Later (esc)", id="later")

    def on_mount(self) -> None:
        self.query_one("#recover", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "later" else event.button.id)

    def action_answer(self, answer: str | None) -> None:
        """Dismiss with ``answer``."""
        self.dismiss(answer)
