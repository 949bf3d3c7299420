"""The status bar: model and device, holes, fill progress, cursor position, file and dirty marker.

    bar = StatusBar()
    bar.model_state = "ready"            # "loading" | "ready" | "error": shown as CSS classes
    bar.set_model("canvasedit-tiny · native/cpu")
    bar.set_progress("step 3/8 · NFE 3 · 120 tok/s")

Each part is a ``Label`` with its own id, so ``canvasedit.tcss`` can style them; state changes go
through reactives that toggle classes (``-loading``, ``-model-error``, ``-filling``, ``-pending``,
``-dirty``) rather than poking styles.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Label


class StatusBar(Horizontal):
    """One row of editor state under the text."""

    DEFAULT_CSS = """
    StatusBar { height: 1; }
    StatusBar > Label { padding: 0 0 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    StatusBar > #status-progress { width: 1fr; }
    """

    model_state: reactive[str] = reactive("loading")
    """``loading``, ``ready`` or ``error``."""
    fill_state: reactive[str] = reactive("idle")
    """``idle``, ``filling`` or ``pending``."""
    dirty: reactive[bool] = reactive(False)
    """Whether the document has unsaved changes."""

    def compose(self) -> ComposeResult:
        yield Label("loading model…", id="status-model")
        yield Label("", id="status-holes")
        yield Label("", id="status-progress")
        yield Label("", id="status-position")
        yield Label("", id="status-file")
        yield Label("", id="status-dirty")

    def watch_model_state(self, state: str) -> None:
        self.set_class(state == "loading", "-loading")
        self.set_class(state == "error", "-model-error")

    def watch_fill_state(self, state: str) -> None:
        self.set_class(state == "filling", "-filling")
        self.set_class(state == "pending", "-pending")

    def watch_dirty(self, dirty: bool) -> None:
        self.set_class(dirty, "-dirty")
        self.query_one("#status-dirty", Label).update("● modified " if dirty else "")

    def _set(self, part: str, text: str) -> None:
        self.query_one(f"#status-{part}", Label).update(text)

    def set_model(self, text: str) -> None:
        """Model name and where it runs, ``loading model…``, or the load error."""
        self._set("model", text)

    def set_holes(self, text: str) -> None:
        """Hole count and the length of the next insertion hole."""
        self._set("holes", text)

    def set_progress(self, text: str) -> None:
        """Step, NFE and speed of the running or last fill, or what the keys do now."""
        self._set("progress", text)

    def set_position(self, text: str) -> None:
        """Cursor line and column."""
        self._set("position", text)

    def set_file(self, text: str) -> None:
        """Language, encoding and line ending."""
        self._set("file", text)

    def part(self, name: str) -> str:
        """The text shown in one part (``model``, ``holes``, ``progress`` …), for tests."""
        return str(self.query_one(f"#status-{name}", Label).content)
