"""The editor screen: one document in a canvas, its holes, the model, and the keys that drive them.

    app.push_screen(EditorScreen(load_document("example.py")))

The screen is assembled from mixins, one per concern: file commands, the model, the status bar,
help and settings live here; hole and result keys in ``editor_holes.HoleCommands``, the fill
cycle in ``editor_fill.FillControl``, moving around (go to line, find, find-and-mask) in
``editor_nav.NavCommands``. The model is loaded in a thread worker when the screen mounts
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
from canvasedit.document import (
    Document,
    DocumentError,
    FileChangedOnDisk,
    ReadOnlyFile,
    from_editor,
    load_document,
    save_document,
    to_editor,
)
from canvasedit.engine import EngineError
from canvasedit.models.catalog import CATALOG, DEFAULT_MODEL
from canvasedit.models.errors import ModelError
from canvasedit.runtime import settle_heap
from canvasedit.syntax import has_grammar
from canvasedit.ui.filetypes import file_type
from canvasedit.ui.holes import PENDING
from canvasedit.ui.messages import HolesChanged, ModelFailed, ModelLoaded
from canvasedit.ui.screens.confirm import ConfirmScreen
from canvasedit.ui.screens.editor_features import FEATURE_BINDINGS, FEATURE_EXPLANATIONS, FeatureCommands
from canvasedit.ui.screens.editor_holes import HoleCommands
from canvasedit.ui.screens.editor_nav import NavCommands
from canvasedit.ui.screens.editor_recovery import JOURNAL_SECONDS, RecoveryControl
from canvasedit.ui.screens.help import HelpScreen
from canvasedit.ui.screens.path_input import PathScreen
from canvasedit.ui.screens.settings import SettingsScreen
from canvasedit.ui.vim import VimLayer
from canvasedit.ui.widgets import CanvasArea, FindBar, PassesPanel, StatusBar
from canvasedit.ui.widgets.status import model_label

if TYPE_CHECKING:
    from canvasedit.ui.app import CanvasEditApp

REAL_MODEL = "qwen2.5-coder-0.5b-mdlm"
"""The catalog entry the demo notice suggests: a small code-infilling model a laptop can run."""


def pull_hint() -> str:
    """The one command that gets a real model."""
    name = REAL_MODEL if REAL_MODEL in CATALOG else next((n for n, e in CATALOG.items() if e.on_hub), None)
    return f"canvasedit models pull {name}" if name else "canvasedit models list"


# Explanations for the help screen and the command palette, by binding id.
EXPLANATIONS = {
    "save": "Write the file (atomically; encoding and line endings kept); results still waiting are left out",
    "save_as": "Write the buffer to another path (tab completes the path)",
    "open": "Open another file (tab completes the path)",
    "quit": "Quit; asks first when there are unsaved changes",
    "undo": "Undo the last edit (an accepted fill is one step, and its holes come back)",
    "redo": "Redo",
    "mask": "Turn the selection into a hole, or insert a hole of N tokens at the cursor",
    "grow": "Grow the selection to the enclosing syntax node",
    "shrink": "Shrink the selection back to what it was before the last grow",
    "hole_longer": "Make the hole under the cursor (or the next new hole) longer",
    "hole_shorter": "Make the hole under the cursor (or the next new hole) shorter",
    "remove_hole": "Remove the hole under the cursor (the text stays)",
    "clear_holes": "Remove every hole (the text stays); results waiting are kept",
    "fill": "Fill the marked holes together (none: the selection, or N tokens at the cursor); typing goes on",
    "revise": "Let the model rewrite its least likely tokens of the selection",
    "accept": "Accept every result waiting (Tab indents otherwise)",
    "reject": "Cancel the running fill, or reject the results waiting (old text back, holes kept)",
    "accept_hole": "Accept the result under the cursor",
    "reject_hole": "Reject the result under the cursor",
    "accept_word": "Accept the next word of the result under the cursor (moves a word otherwise)",
    "accept_line": "Accept the next line of the result under the cursor",
    "regenerate": "Fill again with the next seed: the result under the cursor, else all results, else the holes",
    "recall": "Bring back the last rejected result",
    "goto_line": "Go to LINE or LINE:COL",
    "find": "Find as you type; enter / down next, up previous, ctrl+b masks every match",
    "document_start": "Go to the start of the document",
    "document_end": "Go to the end of the document",
    "select_to_start": "Select to the start of the document",
    "select_to_end": "Select to the end of the document",
    "passes": "Show or hide the passes panel (←/→ step through the passes)",
    "help": "This help",
    "settings": "Sampler, hole length, theme and model",
    **FEATURE_EXPLANATIONS,
}


class EditorScreen(RecoveryControl, NavCommands, FeatureCommands, HoleCommands, Screen[None]):
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
        *FEATURE_BINDINGS,
        Binding("tab", "accept", "Accept", priority=True, id="accept"),
        Binding("escape", "escape", "Cancel/reject", priority=True, show=False, id="reject"),
        Binding("alt+a", "accept_hole", "Accept hole", show=False, id="accept_hole"),
        Binding("alt+r", "reject_hole", "Reject hole", show=False, id="reject_hole"),
        Binding("ctrl+right", "accept_word", "Accept word", show=False, priority=True, id="accept_word"),
        Binding("alt+right", "accept_line", "Accept line", show=False, priority=True, id="accept_line"),
        Binding("ctrl+r", "regenerate", "Again", id="regenerate"),
        Binding("alt+z", "recall", "Recall rejected", show=False, id="recall"),
        Binding("ctrl+l", "goto_line", "Go to line", show=False, id="goto_line"),
        Binding("ctrl+f", "find", "Find", show=False, id="find"),
        Binding("ctrl+home", "document_start", "Document start", show=False, id="document_start"),
        Binding("ctrl+end", "document_end", "Document end", show=False, id="document_end"),
        Binding("ctrl+shift+home", "document_start(True)", "Select to start", show=False, id="select_to_start"),
        Binding("ctrl+shift+end", "document_end(True)", "Select to end", show=False, id="select_to_end"),
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
        self.shown, self.line_map = to_editor(document.text, document.newline)
        """The document as the canvas holds it (``\\n`` breaks, stand-ins such as ␌), and how its
        lines map back to the file's own bytes (``newlines.from_editor``)."""
        self.backend = backend
        """The loaded model backend, or None while loading or after a failure."""
        self.model_error: str | None = None
        """Why the model is not available, when it is not."""
        self.hole_length = 32
        """Tokens in the next insertion hole."""
        self._demo_noticed = False
        self._offered = (False, False)
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
            yield CanvasArea(self.shown, id="canvas", soft_wrap=False)
            yield PassesPanel(id="passes")
        yield FindBar(id="find")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.canvas = self.query_one(CanvasArea)
        self.passes = self.query_one(PassesPanel)
        self.status = self.query_one(StatusBar)
        self.canvas.cursor_blink = self.canvasedit_app.cursor_blink
        self.canvas.on_cursor_moved = self._show_position
        self.hole_length = self.settings.editor.hole_length
        self._apply_theme()
        self._configure_canvas()
        self._configure_vim()
        self._show_file_state()
        self._show_holes()
        self._show_position()
        self.canvas.focus()
        if self.backend is not None:
            self._model_ready(self.backend)
        else:
            self.load_model()
        self.set_interval(JOURNAL_SECONDS, self.journal_now)
        self.start_journal()
        self.call_after_refresh(settle_heap)

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
        if not self.settings.editor.scrollbar:
            canvas.styles.scrollbar_size_vertical = 0

    def _configure_vim(self) -> None:
        if not self.settings.editor.vim:
            self.canvas.set_vim(None)
            self.status.set_mode("")
        elif self.canvas.vim is None:
            self.canvas.set_vim(VimLayer(
                self.canvas,
                on_mode=lambda mode: self.status.set_mode(mode.upper()),
                run_command=lambda name: self.call_next(self.run_action, name),
            ))

    def _apply_theme(self) -> None:
        try:
            self.canvas.theme = self.settings.editor.theme
        except ThemeDoesNotExist:
            self.canvas.theme = "css"
            self.notify(f"unknown theme {self.settings.editor.theme!r}; using the app's colours", severity="warning")

    # ------------------------------------------------------------------ status

    def _show_file_state(self) -> None:
        name = self.document.path.name if self.document.path else "untitled"
        self.sub_title = f"{name} ●" if self.dirty else name
        kind = file_type(self.document.path)
        read_only = " · read-only" if self.document.read_only else ""
        self.status.set_file(f"{kind.label} · {self.document.encoding_label} · {self.document.newline_label}{read_only}")
        self.status.dirty = self.dirty

    def _show_holes(self) -> None:
        count = len(self.canvas.holes)
        holes = "no holes" if count == 0 else "1 hole" if count == 1 else f"{count} holes"
        self.status.set_holes(f"{holes} · next ⟨{self.hole_length}⟩")

    def _show_position(self) -> None:
        row, column = self.canvas.cursor_location
        selected = self.selection_size()
        self.status.set_position(
            f"Ln {row + 1}/{self.canvas.document.line_count}, Col {column + 1}" + (f" · {selected}" if selected else "")
            + self.length_note()
        )

    def watch_dirty(self) -> None:
        self._show_file_state()

    def watch_show_passes(self, show: bool) -> None:
        self.set_class(show, "-show-passes")

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._update_dirty()
        self.text_changed_for_fill()

    def _update_dirty(self) -> None:
        # Against the text as shown when loaded or saved: one string comparison per keystroke,
        # where mapping back to the file's bytes (from_editor) would cost a pass over every line.
        self.dirty = self.canvas.committed_text() != self.shown

    def document_text(self) -> str:
        """What saving would write now: the canvas without the results waiting, in the file's own line breaks."""
        return from_editor(self.canvas.committed_text(), self.line_map)

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        self._show_position()

    def on_holes_changed(self, message: HolesChanged) -> None:
        self._show_holes()
        self._update_dirty()  # accepting a result changes what would be saved, not the text
        offered = (bool(self.canvas.holes), bool(self.canvas.holes.in_state(PENDING)))
        if offered != self._offered:  # what the footer offers (ctrl+r, tab) depends on these two
            self._offered = offered
            self.refresh_bindings()  # rebuilds the footer: not on every keystroke
        if message.removed_by_edit and not message.reason:
            self.set_summary(f"an edit changed the text of {message.removed_by_edit} hole(s); removed")
        self.fill_holes_changed(message)

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
        self.notify(
            f"{message.error}\nEditing works; filling needs a model: {self.key_for('settings')} chooses another.",
            title="Model not loaded",
            severity="error",
        )

    def _model_ready(self, backend: Any) -> None:
        self.backend = backend
        self.model_error = None
        encode = getattr(backend, "encode", None)  # a remote engine's model counts its tokens on the server
        self.canvas.token_counter = (lambda text: len(encode(text))) if encode is not None else None
        self.canvas.refresh_holes()
        self.status.model_state = "ready"
        self.status.set_model(model_label(backend, self.is_demo_model))
        self._show_position()
        self.call_after_refresh(settle_heap)

    @property
    def is_demo_model(self) -> bool:
        """Whether the model filling holes is the small bundled one, which makes rough fills."""
        return self.backend is not None and getattr(self.backend, "model_name", "") == DEFAULT_MODEL

    def first_fill_notice(self) -> None:
        """Once per session, after the demo model's first fill: say what it is and how to get a real one."""
        if self.is_demo_model and not self._demo_noticed:
            self._demo_noticed = True
            self.notify(
                f"{DEFAULT_MODEL} is a 6.9M-parameter demo model, so its fills are rough. "
                f"For real results, in a terminal: {pull_hint()}",
                title="Demo model",
                timeout=15,
            )

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
        if action in ("accept", "accept_word", "accept_line"):
            # Otherwise the key reaches the canvas: Tab indents, ctrl+right moves a word.
            return bool(self.canvas.holes.in_state(PENDING)) if self.is_mounted else False
        if action == "regenerate":
            return bool(self.canvas.holes) if self.is_mounted else False  # not offered without a hole
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
                lambda replace_it: self.save_to(path, allow_changed=True) if replace_it else None,
            )
        else:
            self.save_to(path)

    def save_to(self, path: Path, *, allow_changed: bool = False, allow_read_only: bool = False) -> bool:
        """Write the text to ``path`` atomically; errors become notifications, conflicts questions.

        Results still waiting for accept are not written: the file gets the text they stand in
        place of, as if they were rejected (they stay in the editor, waiting). A file another
        program changed since it was opened, or a read-only one, is replaced only after a yes.
        """
        document = replace(self.document, text=self.document_text(), path=path)
        try:
            save_document(document, allow_changed=allow_changed, allow_read_only=allow_read_only)
        except FileChangedOnDisk as exc:
            self.app.push_screen(
                ConfirmScreen(f"{exc}.\nReplace it with this buffer?", yes="Replace", no="Keep it"),
                lambda yes: self.save_to(path, allow_changed=True, allow_read_only=allow_read_only) if yes else None,
            )
            return False
        except ReadOnlyFile as exc:
            self.app.push_screen(
                ConfirmScreen(f"{exc}.\nWrite it anyway (it stays read-only)?", yes="Write", no="Cancel"),
                lambda yes: self.save_to(path, allow_changed=allow_changed, allow_read_only=True) if yes else None,
            )
            return False
        except DocumentError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return False
        renamed = path != self.document.path
        self.document = document
        self.shown, self.line_map = self.canvas.committed_text(), to_editor(document.text, document.newline)[1]
        self.dirty = False
        if renamed:
            self._configure_canvas()
        self._show_file_state()
        self.saved()
        waiting = len(self.canvas.holes.in_state(PENDING))
        note = f" (without the {waiting} result(s) waiting: accept them, then save)" if waiting else ""
        self.notify(f"saved {path.name}{note}", timeout=3 if waiting else 2)
        return True

    def action_open(self) -> None:
        """Ask for a file to open (first asking to discard unsaved changes)."""
        ask = partial(self.app.push_screen, PathScreen("Open file", f"{Path.cwd()}/"), self.open_path)
        if self.dirty:
            self.app.push_screen(
                ConfirmScreen("Discard the unsaved changes?", yes="Discard", no="Keep editing"),
                lambda discard: (self.forget_journal(), ask()) if discard else None,
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
        """Show ``document`` (holes, results, notes and undo history start empty)."""
        self.cancel_fill()
        self.document = document
        self.shown, self.line_map = to_editor(document.text, document.newline)
        self.canvas.load_text(self.shown)
        self._configure_canvas()
        self.canvas.move_cursor((0, 0))
        self.passes.start([])
        self._init_fill()
        self.dirty = False
        self._show_file_state()
        self._refresh_state()
        self.start_journal()
        self.call_after_refresh(settle_heap)

    def action_escape(self) -> None:
        """Leave a panel or the find bar; else cancel a running fill, reject the results, or drop the selection."""
        if not self.canvas.has_focus:
            if self.find_bar.has_focus_within:
                self.close_find()
            self.canvas.focus()
        elif self.canvas.vim_escape() or self.cancel_fill() or self.escape_features() or self.reject_fill():
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
            self._configure_vim()
        if settings.model != old.model:
            self.load_model()
