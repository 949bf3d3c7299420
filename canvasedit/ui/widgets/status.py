"""The status bar: model and device, holes, fill progress, cursor and selection, file, dirty marker, vim mode.

    bar = StatusBar()
    bar.model_state = "ready"            # "loading" | "ready" | "error": shown as CSS classes
    bar.set_model(model_label(backend, demo=True))   # "canvasedit-tiny (demo) · native/cpu"
    bar.set_progress("step 3/8 · NFE 3 · 120 tok/s")

One widget drawing one row: changing a part repaints the row and nothing else. (A row of
``Label`` widgets asks for a layout of the whole screen on every update, and the position part
changes on every keystroke.) Each part has a component class (``status--model`` …) that
``DEFAULT_CSS`` styles; state changes go through reactives that toggle classes (``-loading``,
``-model-error``, ``-filling``, ``-pending``, ``-dirty``) rather than poking styles. The progress
part takes the room left and is cut with an ellipsis; while a fill runs or waits, position and
file make way for it.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

PARTS = ("mode", "model", "holes", "progress", "position", "file", "dirty")
NO_SUFFIX = "does not see the text after the hole"
"""Said of a block-diffusion model (SDAR, Fast-dLLM v2): it reads only what comes before a hole."""


def model_label(backend: Any, demo: bool = False) -> str:
    """The model part: name and where it runs (``remote: URL · name`` for a remote engine), and a block-diffusion
    model's blind spot."""
    if backend.name == "remote":
        label = f"remote: {backend.url} · {backend.model_name}"
    else:
        label = f"{backend.model_name}{' (demo)' if demo else ''} · {backend.name}/{backend.device}"
    layout = getattr(backend, "layout", None)  # a backend that declares no layout sees the whole canvas
    if layout is not None and not layout.sees_suffix:
        label += f" · {NO_SUFFIX}"
    return label


class StatusBar(Widget):
    """One row of editor state under the text."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; }
    StatusBar > .status--mode { color: $text; background: $accent 40%; text-style: bold; }
    StatusBar > .status--model { color: $text-primary; }
    StatusBar.-loading > .status--model { color: $text-warning; text-style: italic; }
    StatusBar.-model-error > .status--model { color: $text-error; text-style: bold; }
    StatusBar > .status--holes { color: $text-accent; }
    StatusBar > .status--progress { color: $text-muted; }
    StatusBar.-filling > .status--progress { color: $text-accent; text-style: bold; }
    StatusBar.-pending > .status--progress { color: $text-success; text-style: bold; }
    StatusBar > .status--position { color: $text; }
    StatusBar > .status--file { color: $text; }
    StatusBar > .status--dirty { color: $text-muted; }
    StatusBar.-dirty > .status--dirty { color: $text-warning; text-style: bold; }
    """
    COMPONENT_CLASSES = {f"status--{part}" for part in PARTS}

    model_state: reactive[str] = reactive("loading")
    """``loading``, ``ready`` or ``error``."""
    fill_state: reactive[str] = reactive("idle")
    """``idle``, ``filling`` or ``pending``."""
    dirty: reactive[bool] = reactive(False)
    """Whether the document has unsaved changes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._parts = dict.fromkeys(PARTS, "")
        self._parts["model"] = "loading model…"

    def watch_model_state(self, state: str) -> None:
        self.set_class(state == "loading", "-loading")
        self.set_class(state == "error", "-model-error")

    def watch_fill_state(self, state: str) -> None:
        self.set_class(state == "filling", "-filling")
        self.set_class(state == "pending", "-pending")

    def watch_dirty(self, dirty: bool) -> None:
        self.set_class(dirty, "-dirty")
        self._set("dirty", "● modified" if dirty else "")

    def _set(self, part: str, text: str) -> None:
        if self._parts[part] != text:
            self._parts[part] = text
            self.refresh()

    def set_mode(self, text: str) -> None:
        """The vim mode (``NORMAL``, ``INSERT``, ``VISUAL``), or "" without the vim layer."""
        self._set("mode", text)

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
        """Cursor line and column, and the selection's size."""
        self._set("position", text)

    def set_file(self, text: str) -> None:
        """Language, encoding and line ending."""
        self._set("file", text)

    def part(self, name: str) -> str:
        """The text of one part (``model``, ``holes``, ``progress`` …), for tests."""
        return self._parts[name]

    def render(self) -> Text:
        width = self.size.width
        busy = self.fill_state != "idle"
        left = [p for p in ("mode", "model", "holes") if self._parts[p]]
        right = [p for p in ("position", "file", "dirty") if self._parts[p] and not (busy and p in ("position", "file"))]
        used = sum(cell_len(self._parts[p]) + 2 for p in left + right) + 1
        room = max(0, width - used - 1)
        progress = self._parts["progress"]
        if cell_len(progress) > room:
            progress = progress[: max(0, room - 1)] + "…" if room else ""
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        for part in left:
            line.append(" ")
            line.append(f"{self._parts[part]}" if part != "mode" else f" {self._parts[part]} ", self._style(part))
            line.append(" ")
        line.append(" ")
        line.append(progress, self._style("progress"))
        gap = width - cell_len(line.plain) - sum(cell_len(self._parts[p]) + 2 for p in right)
        line.append(" " * max(1, gap))
        for part in right:
            line.append(self._parts[part], self._style(part))
            line.append("  ")
        return line

    def _style(self, part: str):
        return self.get_component_rich_style(f"status--{part}", partial=True)
