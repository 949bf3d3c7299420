"""The help screen: every key binding of the editor, as currently mapped (user keymap included).

    app.push_screen(HelpScreen([("ctrl+s", "Save", "Write the file")]))

The rows come from the bindings themselves (see ``EditorScreen.key_rows``), so the table cannot
drift from what the keys do. Esc, F1 or q closes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

INTRO = (
    "Mark holes (a selection, or an insertion point of N tokens), then fill them: the model "
    "denoises all holes together and every pass is drawn in place. The result waits for you: "
    "accept it as one undoable edit, reject it, or roll again."
)


class HelpScreen(ModalScreen[None]):
    """A table of keys and what they do."""

    BINDINGS = [Binding("escape,f1,q", "close", "Close", show=False)]

    def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
        super().__init__(classes="dialog")
        self.rows = list(rows)
        """``(keys, action, explanation)`` per binding."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog-box help-box"):
            yield Label("CanvasEdit keys", classes="dialog-question")
            yield Static(INTRO, classes="dialog-hint")
            with Grid(id="help-table"):
                for cell in ("Keys", "Action", "What it does"):
                    yield Label(cell, classes="help-heading")
                for keys, action, explanation in self.rows:
                    yield Label(keys, classes="help-keys")
                    yield Label(action)
                    yield Label(explanation)
            yield Label("Esc / F1 closes · ctrl+p lists every action", classes="dialog-hint")

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)
