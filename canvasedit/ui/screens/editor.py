"""The editor screen: one document in a canvas, its holes, the model, and the keys that drive them.

    app.push_screen(EditorScreen(load_document("example.py")))

File commands (open, save, save as), hole commands (mask, grow/shrink to a syntax node, resize,
remove) and dialogs live here; running a fill and its accept/reject cycle live in
``editor_fill.FillControl``. The model is loaded in a thread worker when the screen mounts
unless the app already holds one; until then, and if loading fails, the editor edits normally
and fill commands explain why they cannot run.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, TextArea
from textual.widgets.text_area import LanguageDoesNotExist, ThemeDoesNotExist

from canvasedit.config import ConfigError, Settings, save_settings
from canvasedit.document import Document, DocumentError, load_document, save_document
from canvasedit.engine import EngineError
from canvasedit.models.errors import ModelError
from canvasedit.syntax import has_grammar
from canvasedit.ui.filetypes import file_type
from canvasedit.ui.holes import HoleMark, longer, shorter
from canvasedit.ui.messages import HolesChanged, ModelFailed, ModelLoaded
from canvasedit.ui.screens.confirm import ConfirmScreen
from canvasedit.ui.screens.editor_fill import FillControl
from canvasedit.ui.screens.help import HelpScreen
from canvasedit.ui.screens.path_input import PathScreen
from canvasedit.ui.screens.settings import SettingsScreen
from canvasedit.ui.widgets import CanvasArea, PassesPanel, StatusBar

if TYPE_CHECKING:
    from canvasedit.ui.app import CanvasEditApp

_LINE_SEPARATORS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"
"""Characters TextArea splits lines at besides \\r and \\n (str.splitlines)."""


# Explanations for the help screen and the command palette, by binding id.
EXPLANATIONS = {
    "save": "Write the file (atomically; encoding and line endings kept)",
    "save_as": "Write the buffer to another path",
    "open": "Open another file",
    "quit": "Quit; asks first when there are unsaved changes",
    "undo": "Undo the last edit (an accepted fill is one step)",
    "redo": "Redo",
    "mask": "Turn the selection into a hole, or insert a hole of N tokens at the cursor",
    "grow": "Grow the selection to the enclosing syntax node",
    "shrink": "Shrink the selection back to what it was before the last grow",
    "hole_longer": "Make the hole under the cursor (or the next new hole) longer",
    "hole_shorter": "Make the hole under the cursor (or the next new hole) shorter",
    "remove_hole": "Remove the hole under the cursor (the text stays)",
    "clear_holes": "Remove every hole (the text stays)",
    "fill": "Fill all holes together (with no holes: the selection, or N tokens at the cursor)",
    "revise": "Let the model rewrite its least likely tokens of the selection",
    "accept": "Accept the pending fill: one edit, one undo step (Tab indents otherwise)",
    "reject": "Cancel the running fill, or reject the pending one (text unchanged); in the passes panel: back to the text",
    "regenerate": "Fill the same holes again with the next seed",
    "passes": "Show or hide the passes panel (←/→ step through the passes)",
    "help": "This help",
    "settings": "Sampler, hole length, theme and model",
}


class EditorScreen(FillControl, Screen[None]):
    """Edit one document and fill its holes."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="save"),
        Binding("alt+s,f12", "save_as", "Save as", show=False, id="save_as"),
        Binding("ctrl+o", "open", "Open", show=False, id="open"),
        Binding("ctrl+b,f4", "mask", "Mask", id="mask"),
        Binding("alt+up", "grow", "Grow selection", show=False, id="grow"),
        Binding("alt+down", "shrink", "Shrink selection", show=False, id="shrink"),
        Binding("ctrl+up", "hole_longer", "Longer hole", show=False, id="hole_longer"),
        Binding("ctrl+down", "hole_shorter", "Shorter hole", show=False, id="hole_shorter"),
        Binding("alt+x", "remove_hole", "Remove hole", show=False, id="remove_hole"),
        Binding("alt+c", "clear_holes", "Clear holes", show=False, id="clear_holes"),
        Binding("ctrl+g,f5", "fill", "Fill", id="fill"),
        Binding("ctrl+t,f8", "revise", "Revise", id="revise"),
        Binding("tab", "accept", "Accept", priority=True, id="accept"),
        Binding("escape", "escape", "Cancel/reject", priority=True, show=False, id="reject"),
        Binding("ctrl+r", "regenerate", "Again", id="regenerate"),
        Binding("f3", "toggle_passes", "Passes", id="passes"),
        Binding("f2", "settings", "Settings", id="settings"),
        Binding("f1", "help", "Help", id="help"),
    ]

    fill_state: reactive[str] = reactive("idle", init=False)
    """``idle``, ``filling`` or ``pending``; see ``FillControl``."""
    dirty: reactive[bool] = reactive(False, init=False)
    """Whether the text differs from the file on disk."""
    show_passes: reactive[bool] = reactive(False, init=False)
    """Whether the passes panel is visible."""

    def __init__(self, document: Document, backend: Any = None) -> None:
        super().__init__()
        self.document = document
        """The file as last loaded or saved (its ``text`` is what is on disk)."""
        self.backend = backend
        """The loaded model backend, or None while loading or after a failure."""
        self.model_error: str | None = None
        """Why the model is not available, when it is not."""
        self.hole_length = 32
        """Tokens in the next insertion hole."""
        self._init_fill()

    @property
    def canvasedit_app(self) -> CanvasEditApp:
        """``self.app``, typed."""
        return self.app  # type: ignore[return-value]

    @property
    def settings(self) -> Settings:
        """The app's current settings."""
        return self.canvasedit_app.settings

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with Horizontal(id="editor-main"):
            yield CanvasArea(self.document.text, id="canvas", soft_wrap=False)
            yield PassesPanel(id="passes")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.canvas = self.query_one(CanvasArea)
        self.passes = self.query_one(PassesPanel)
        self.status = self.query_one(StatusBar)
        self.canvas.cursor_blink = self.canvasedit_app.cursor_blink
        self.hole_length = self.settings.editor.hole_length
        self._apply_theme()
        self._configure_canvas()
        self._warn_line_separators(self.document.text)
        self._show_file_state()
        self._show_holes()
        self._show_position()
        self.canvas.focus()
        if self.backend is not None:
            self._model_ready(self.backend)
        else:
            self.load_model()

    def _configure_canvas(self) -> None:
        kind = file_type(self.document.path)
        canvas = self.canvas
        canvas.syntax_language = kind.language if has_grammar(kind.language) else None
        canvas.set_pygments(kind.pygments)
        try:
            canvas.language = kind.language
        except LanguageDoesNotExist:
            canvas.language = None
        canvas.soft_wrap = kind.prose and self.settings.editor.soft_wrap_prose

    def _apply_theme(self) -> None:
        try:
            self.canvas.theme = self.settings.editor.theme
        except ThemeDoesNotExist:
            self.canvas.theme = "css"
            self.notify(f"unknown theme {self.settings.editor.theme!r}; using the app's colours", severity="warning")

    def _warn_line_separators(self, text: str) -> None:
        found = sorted({repr(c) for c in text if c in _LINE_SEPARATORS})
        if found:
            self.notify(
                f"this file contains {', '.join(found)}, which the editor shows as line breaks; "
                "saving will write them as line breaks",
                severity="warning",
                timeout=10,
            )

    # ------------------------------------------------------------------ status

    def _show_file_state(self) -> None:
        name = self.document.path.name if self.document.path else "untitled"
        self.sub_title = f"{name} ●" if self.dirty else name
        kind = file_type(self.document.path)
        self.status.set_file(f"{kind.label} · {self.document.encoding_label} · {self.document.newline_label}")
        self.status.dirty = self.dirty

    def _show_holes(self) -> None:
        count = len(self.canvas.holes)
        holes = "no holes" if count == 0 else "1 hole" if count == 1 else f"{count} holes"
        self.status.set_holes(f"{holes} · next ⟨{self.hole_length}⟩")

    def _show_position(self) -> None:
        row, column = self.canvas.cursor_location
        self.status.set_position(f"Ln {row + 1}, Col {column + 1}")

    def watch_dirty(self) -> None:
        self._show_file_state()

    def watch_show_passes(self, show: bool) -> None:
        self.set_class(show, "-show-passes")

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.dirty = self.canvas.text != self.document.text

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        self._show_position()

    def on_holes_changed(self, message: HolesChanged) -> None:
        self._show_holes()
        if message.removed_by_edit:
            self.status.set_progress(f"an edit changed the text of {message.removed_by_edit} hole(s); removed")

    # ------------------------------------------------------------------ the model

    def load_model(self) -> None:
        """(Re)load the model from the settings in a thread; fills wait until it is ready."""
        self.backend = None
        self.canvas.token_counter = None
        self.status.model_state = "loading"
        self.status.set_model("loading model…")
        self._model_worker()

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def _model_worker(self) -> None:
        start = time.perf_counter()
        try:
            backend = self.canvasedit_app.open_model()
        except (ModelError, EngineError) as exc:
            self.post_message(ModelFailed(str(exc)))
        except (OSError, ValueError, RuntimeError, ImportError) as exc:  # e.g. a torch or tokenizer failure
            self.post_message(ModelFailed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(ModelLoaded(backend, time.perf_counter() - start))

    def on_model_loaded(self, message: ModelLoaded) -> None:
        self._model_ready(message.backend)

    def on_model_failed(self, message: ModelFailed) -> None:
        self.model_error = message.error
        self.status.model_state = "error"
        self.status.set_model("no model")
        self.notify(f"{message.error}\nEditing works; filling needs a model.", title="Model not loaded", severity="error")

    def _model_ready(self, backend: Any) -> None:
        self.backend = backend
        self.model_error = None
        self.canvas.token_counter = lambda text: len(backend.encode(text))
        self.canvas.refresh_holes()
        self.status.model_state = "ready"
        self.status.set_model(f"{backend.model_name} · {backend.name}/{backend.device}")

    # ------------------------------------------------------------------ keys

    def key_for(self, binding_id: str) -> str:
        """The key that currently triggers a binding (after the user's keymap), for messages."""
        keys = self.settings.keys.get(binding_id)
        if keys is None:
            binding = next((b for b in self._all_bindings() if b.id == binding_id), None)
            keys = binding.key if binding else binding_id
        return keys.split(",")[0].strip()

    def _all_bindings(self) -> list[Binding]:
        bindings = [*self.app.BINDINGS, *self.BINDINGS, *CanvasArea.BINDINGS]
        return [b for b in bindings if isinstance(b, Binding) and b.id]

    def key_rows(self) -> list[tuple[str, str, str]]:
        """``(keys, action, explanation)`` for the help screen, in the keymap in force."""
        rows = []
        for binding in self._all_bindings():
            keys = self.settings.keys.get(binding.id or "", binding.key)
            rows.append((keys.replace(",", " / "), binding.description, EXPLANATIONS.get(binding.id or "", "")))
        rows += [
            ("shift+arrows", "Select", "Extend the selection"),
            ("f6 / f7", "Select line / all", "Select the cursor's line, or everything"),
            ("ctrl+c / ctrl+x / ctrl+v", "Copy / cut / paste", "Clipboard (through the terminal)"),
            ("ctrl+p", "Commands", "Search every action by name"),
        ]
        return rows

    def system_commands(self) -> list[SystemCommand]:
        """One command-palette entry per editor binding."""
        commands = []
        for binding in self._all_bindings():
            if binding.id == "quit":
                continue  # the app's own Quit command is already listed
            target = self.canvas if binding in CanvasArea.BINDINGS else self
            help_text = f"{EXPLANATIONS.get(binding.id or '', '')} ({self.key_for(binding.id or '')})"
            commands.append(SystemCommand(binding.description, help_text, partial(target.run_action, binding.action)))
        return commands

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "accept":
            return self.fill_state == "pending"  # otherwise Tab reaches the canvas and indents
        if action == "regenerate":
            return True if self.fill_state == "pending" else None
        return True

    # ------------------------------------------------------------------ files

    def action_save(self) -> None:
        """Save to the document's path, or ask for one."""
        if self.document.path is None:
            self.action_save_as()
        else:
            self.save_to(self.document.path)

    def action_save_as(self) -> None:
        """Ask for a path and save there."""
        path = self.document.path or Path.cwd() / "untitled.txt"
        self.app.push_screen(PathScreen("Save as", str(path)), self._save_as_path)

    def _save_as_path(self, path: Path | None) -> None:
        if path is None:
            return
        if path.exists() and path != self.document.path:
            self.app.push_screen(
                ConfirmScreen(f"{path.name} exists. Replace it?", yes="Replace", no="Cancel"),
                lambda replace_it: self.save_to(path) if replace_it else None,
            )
        else:
            self.save_to(path)

    def save_to(self, path: Path) -> bool:
        """Write the text to ``path`` atomically; errors become notifications."""
        document = replace(self.document, text=self.canvas.text, path=path)
        try:
            save_document(document)
        except DocumentError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return False
        renamed = path != self.document.path
        self.document = document
        self.dirty = False
        if renamed:
            self._configure_canvas()
        self._show_file_state()
        self.notify(f"saved {path.name}", timeout=2)
        return True

    def action_open(self) -> None:
        """Ask for a file to open (first asking to discard unsaved changes)."""
        self.cancel_fill() or self.reject_fill()
        ask = partial(self.app.push_screen, PathScreen("Open file", f"{Path.cwd()}/"), self.open_path)
        if self.dirty:
            self.app.push_screen(
                ConfirmScreen("Discard the unsaved changes?", yes="Discard", no="Keep editing"),
                lambda discard: ask() if discard else None,
            )
        else:
            ask()

    def open_path(self, path: Path | None) -> None:
        """Load ``path`` into the editor; a file that cannot be opened leaves the current one."""
        if path is None:
            return
        try:
            document = load_document(path, max_bytes=self.settings.editor.max_file_bytes)
        except DocumentError as exc:
            self.notify(str(exc), title="Cannot open", severity="error")
            return
        self.open_document(document)

    def open_document(self, document: Document) -> None:
        """Show ``document`` (holes, overlay and undo history start empty)."""
        self.cancel_fill() or self.reject_fill()
        self.document = document
        self.canvas.load_text(document.text)
        self._configure_canvas()
        self.canvas.move_cursor((0, 0))
        self.passes.start([])
        self.dirty = False
        self._show_file_state()
        self._warn_line_separators(document.text)

    # ------------------------------------------------------------------ holes

    def _idle(self) -> bool:
        if self.fill_state == "idle":
            return True
        what = "A fill is running" if self.fill_state == "filling" else "A fill is waiting"
        keys = self.key_for("reject") if self.fill_state == "filling" else f"{self.key_for('accept')} / {self.key_for('reject')}"
        self.notify(f"{what}: {keys} first.", severity="warning", timeout=3)
        return False

    def action_mask(self) -> None:
        """Mask the selection, or insert a hole of ``hole_length`` tokens at the cursor."""
        if self._idle():
            self.canvas.add_hole_at_cursor(self.hole_length)

    def action_grow(self) -> None:
        """Select the enclosing syntax node."""
        if not self.canvas.grow_selection():
            self.notify(f"No syntax tree for {file_type(self.document.path).label} files.", severity="warning", timeout=3)

    def action_shrink(self) -> None:
        """Undo the last grow of the selection."""
        self.canvas.shrink_selection()

    def _resize(self, step: Any) -> None:
        if not self._idle():
            return
        mark = self.canvas.hole_at_cursor()
        if mark is None or mark.revise is not None:
            self.hole_length = step(self.hole_length)
        else:
            current = mark.length
            if current is None:
                counter = self.canvas.token_counter
                current = counter(self.canvas.text[mark.start : mark.end]) if counter else self.hole_length
            self.canvas.resize_hole(mark, step(current))
        self._show_holes()

    def action_hole_longer(self) -> None:
        """Lengthen the hole under the cursor, or the next new hole."""
        self._resize(longer)

    def action_hole_shorter(self) -> None:
        """Shorten the hole under the cursor, or the next new hole."""
        self._resize(shorter)

    def action_remove_hole(self) -> None:
        """Remove the hole under the cursor."""
        if not self._idle():
            return
        mark = self.canvas.hole_at_cursor()
        if mark is None:
            self.notify("The cursor is not on a hole.", severity="warning", timeout=3)
        else:
            self.canvas.remove_hole(mark)

    def action_clear_holes(self) -> None:
        """Remove every hole."""
        if self._idle():
            self.canvas.clear_holes()

    # ------------------------------------------------------------------ fill keys

    def _model_available(self, verb: str) -> bool:
        if self.backend is None:
            self.notify(f"Cannot {verb}: {self.model_error or 'the model is still loading'}", severity="warning")
        return self.backend is not None

    def action_fill(self) -> None:
        """Fill all holes; with none, fill the selection or an insertion point at the cursor."""
        if not self._idle() or not self._model_available("fill"):
            return
        if not self.canvas.holes:
            self.canvas.add_hole_at_cursor(self.hole_length)
        self.start_fill()

    def action_revise(self) -> None:
        """Re-mask the least likely tokens of the selection and let the model rewrite them."""
        if not self._idle():
            return
        start, end = self.canvas.selection_offsets()
        if start == end:
            self.notify("Select the text to revise first.", severity="warning", timeout=3)
            return
        if not self._model_available("revise"):
            return
        fraction = self.settings.editor.revise_fraction
        self.canvas.add_hole(HoleMark(start, end, revise=fraction))
        self.start_fill()

    def action_accept(self) -> None:
        """Accept the pending fill."""
        self.accept_fill()

    def action_regenerate(self) -> None:
        """Fill the pending holes again with another seed."""
        if not self.regenerate_fill():
            self.notify("Nothing to regenerate: fill first.", severity="warning", timeout=3)

    def action_escape(self) -> None:
        """Leave the passes panel; else cancel a running fill, reject a pending one, or drop the selection."""
        if not self.canvas.has_focus:
            self.canvas.focus()
        elif self.cancel_fill() or self.reject_fill():
            return
        elif not self.canvas.selection.is_empty:
            self.canvas.move_cursor(self.canvas.selection.end)

    # ------------------------------------------------------------------ panels and dialogs

    def action_toggle_passes(self) -> None:
        """Show the passes panel and focus it, or hide it."""
        self.show_passes = not self.show_passes
        (self.passes if self.show_passes else self.canvas).focus()

    def action_help(self) -> None:
        """Show the key bindings."""
        self.app.push_screen(HelpScreen(self.key_rows()))

    def action_settings(self) -> None:
        """Edit the settings."""
        recipe = self.backend.recipe if self.backend is not None else None
        self.app.push_screen(SettingsScreen(self.settings, recipe), self.apply_settings)

    def apply_settings(self, settings: Settings | None) -> None:
        """Use and save new settings (None: the dialog was cancelled)."""
        if settings is None:
            return
        old = self.settings
        try:
            save_settings(settings)
        except ConfigError as exc:
            self.notify(f"{exc}\nThe settings apply to this session only.", title="Not saved", severity="error")
        self.canvasedit_app.settings = settings
        self.app.set_keymap(settings.keys)
        if settings.editor.hole_length != old.editor.hole_length:
            self.hole_length = settings.editor.hole_length
            self._show_holes()
        if settings.editor != old.editor:
            self._apply_theme()
            self._configure_canvas()
        if settings.model != old.model:
            self.load_model()
