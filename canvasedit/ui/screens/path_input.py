"""A modal dialog that asks for a file path (open, save as) and dismisses with it, or None.

    app.push_screen(PathScreen("Open file", initial=str(Path.cwd()) + "/"), open_path)

Tab completes the path as a shell does: the one match in full (a folder with its ``/``), or
the longest prefix several matches share, which are listed under the field. Enter submits, Esc
cancels. ``~`` is expanded; a relative path is taken from the current folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

MAX_LISTED = 12
"""Matches listed under the field; more are summed up as a count."""


def complete_path(typed: str) -> tuple[str, list[str]]:
    """``(completed, matches)`` for what is typed: the completed text and the names it could become.

    Hidden files are offered only when the typed name starts with a dot. Folders end with ``/``.
    """
    expanded = os.path.expanduser(typed) if typed.startswith("~") else typed
    folder, sep, stem = expanded.rpartition(os.sep)
    base = Path(folder + sep) if sep else Path(".")
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return typed, []
    names = [
        e.name + ("/" if e.is_dir() else "")
        for e in entries
        if e.name.startswith(stem) and (stem.startswith(".") or not e.name.startswith("."))
    ]
    if not names:
        return typed, []
    common = os.path.commonprefix(names)
    prefix = typed[: len(typed) - len(stem)]
    return prefix + (common if len(common) >= len(stem) else stem), names


class PathScreen(ModalScreen[Path | None]):
    """Ask for a path."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("tab", "complete", "Complete", show=False, priority=True),
    ]

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
            yield Label("", id="path-matches", classes="dialog-hint")
            yield Label("Tab completes · Enter to confirm · Esc to cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        field = self.query_one("#path", Input)
        field.cursor_blink = False
        field.focus()
        field.cursor_position = len(field.value)

    def action_complete(self) -> None:
        """Complete the path in the field; list the names when several match."""
        field = self.query_one("#path", Input)
        completed, matches = complete_path(field.value)
        field.value = completed
        field.cursor_position = len(completed)
        listing = self.query_one("#path-matches", Label)
        if len(matches) > 1:
            shown = "  ".join(matches[:MAX_LISTED])
            more = f"  … {len(matches) - MAX_LISTED} more" if len(matches) > MAX_LISTED else ""
            listing.update(shown + more)
        else:
            listing.update("" if matches else "no match")

    def on_input_changed(self) -> None:
        self.query_one("#path-matches", Label).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(Path(value).expanduser().absolute() if value else None)

    def action_cancel(self) -> None:
        """Dismiss without a path."""
        self.dismiss(None)
