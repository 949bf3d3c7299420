"""The CanvasEdit terminal app: settings, global keys, and the editor screen.

    canvasedit notes.md                 # the CLI calls run_editor(Path("notes.md"))
    run_editor(None, model="~/models/LLaDA-8B", device="cuda")

Tests build the app directly with an already loaded backend, so no weights are read twice:

    app = CanvasEditApp(load_document(path), backend=tiny_backend, cursor_blink=False)
    async with app.run_test() as pilot: ...

Everything the user does happens on ``EditorScreen``; the app only holds what all screens share
(settings, the engine) and asks before quitting with unsaved changes. The engine is one
``EngineService`` that loads, switches and closes the model and runs the fills, or, with
``[engine] url`` in config.toml or ``--engine URL``, a ``RemoteEngine`` with the same face: the
editor never opens a backend or runs a fill by itself. The app closes the engine when it exits,
however it exits; a backend handed to it (as the tests do) stays the caller's and is not freed.
SIGTERM journals the unsaved buffer for crash recovery and exits with 143, the terminal restored;
SIGHUP (the terminal closed) does the same and exits with 129.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from canvasedit.config import ConfigError, Settings, load_settings
from canvasedit.document import Document, DocumentError, load_document
from canvasedit.ui.screens.confirm import ConfirmScreen
from canvasedit.ui.screens.editor import EditorScreen

EXIT_TERMINATED = 128 + signal.SIGTERM
"""The editor's exit code after SIGTERM, as a shell reports a process that SIGTERM ended."""
EXIT_HANGUP = 128 + getattr(signal, "SIGHUP", 1)
"""After SIGHUP (the terminal window closed)."""

ModelOpener = Callable[[str | None, str], Any]
"""``(model name or path or None, device) -> Backend``; slow, so the engine calls it from a worker thread."""


def open_model(spec: str | None, device: str) -> Any:
    """Resolve a model name or folder (None: the bundled default) and load it (the engine service's opener)."""
    from canvasedit.engine.service import open_model as open_for_service  # imports torch: only in the loading thread

    return open_for_service(spec, device)


class CanvasEditApp(App[int]):
    """A terminal editor in which a diffusion language model fills holes in the text."""

    CSS_PATH = "canvasedit.tcss"
    TITLE = "CanvasEdit"
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True, id="quit"),
        Binding("f9", "models", "Models", show=False, id="models"),
    ]

    def __init__(
        self,
        document: Document | None = None,
        *,
        settings: Settings | None = None,
        backend: Any = None,
        opener: ModelOpener = open_model,
        model: str | None = None,
        device: str | None = None,
        engine_url: str | None = None,
        cursor_blink: bool = True,
        startup_warning: str | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else Settings()
        """Settings in force (the settings screen replaces them)."""
        self.document = document or Document(path=None, text="")
        self.opener = opener
        """How the engine service opens a model when none was given, or when the settings change it."""
        self.engine_url = engine_url
        """A remote engine named on the command line; wins over ``settings.engine.url``."""
        self.engine: Any = self._local_engine(backend)
        """The ``EngineService`` (or, once loaded, the ``RemoteEngine``) every fill of the editor goes through."""
        self.lent_backend = backend
        """The backend the caller handed in: the caller's to free, so the engine is not closed over it on exit."""
        self.model_override = model
        """A model named on the command line; wins over ``settings.model.active``."""
        self.device_override = device
        """A device named on the command line; wins over ``settings.model.device``."""
        self.cursor_blink = cursor_blink
        """Whether text cursors blink (tests turn it off for stable snapshots)."""
        self.startup_warning = startup_warning
        self.kept_for_recovery = False
        """Whether SIGTERM (or SIGHUP) left the unsaved buffer in the recovery journal."""
        self._signals_before: dict[int, Any] = {}
        """SIGTERM's and SIGHUP's handlers before the app took them over (restored on exit)."""

    def _local_engine(self, backend: Any = None) -> Any:
        from canvasedit.engine.service import EngineService  # no torch import: the opener loads it

        return EngineService(opener=self.opener, backend=backend)

    @property
    def remote_url(self) -> str:
        """The remote engine's URL in force ("" for a local model)."""
        return self.engine_url or self.settings.engine.url

    def on_mount(self) -> None:
        self.set_keymap(self.settings.keys)
        self.push_screen(EditorScreen(self.document, backend=self.engine.backend))
        if self.startup_warning:
            self.notify(self.startup_warning, severity="error", timeout=10)
        self._take_sigterm()

    def on_unmount(self) -> None:
        """The app has exited (quit, SIGTERM or an error): give the signals back, then close the engine."""
        for signum, before in self._signals_before.items():
            signal.signal(signum, before)
        self._signals_before = {}
        self.close_engine()

    def _take_sigterm(self) -> None:
        """Handle SIGTERM, and SIGHUP (the terminal window closed), on the event loop (``terminate``) while
        the app runs; Python sees signals only in the main thread, so an app run elsewhere leaves them alone."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if signum is None:
                continue  # Windows has no SIGHUP
            previous = signal.signal(signum, lambda got, frame: loop.call_soon_threadsafe(self.terminate, got))
            self._signals_before[signum] = signal.SIG_DFL if previous is None else previous

    def terminate(self, signum: int = signal.SIGTERM) -> None:
        """SIGTERM or SIGHUP: keep the unsaved buffer in the recovery journal, stop the fill, exit with
        128 + the signal's number (``EXIT_TERMINATED`` for SIGTERM), as a shell reports it.

        Unlike a quit, the journal stays: opening the file again offers the text back.
        """
        editor = self.editor
        if editor is not None:
            editor.journal_now()
            editor.cancel_fill()
            self.kept_for_recovery = editor.dirty
        code = 128 + int(signum)
        self.exit(code, return_code=code)

    def close_engine(self) -> None:
        """Free the engine's model once its fill has stopped (the screens' workers are cancelled by now).

        A backend the caller lent is left loaded; only its running fill is waited for.
        """
        engine = self.engine
        if self.lent_backend is not None and engine.backend is self.lent_backend:
            engine.wait_idle()
            return
        engine.close()

    @property
    def editor(self) -> EditorScreen | None:
        """The editor screen, wherever it is in the stack."""
        return next((s for s in self.screen_stack if isinstance(s, EditorScreen)), None)

    def open_model(self) -> Any:
        """Load the model the command line or the settings ask for into the engine (blocking; call from a thread).

        With a remote engine URL the server is asked what it serves instead; its backend describes it.
        """
        url = self.remote_url
        if url:
            from canvasedit.engine.remote import connect_for

            old, self.engine = self.engine, connect_for(url, self.settings.engine, self.model_override)
            old.close()
            return self.engine.backend
        from canvasedit.engine.remote import RemoteEngine

        if isinstance(self.engine, RemoteEngine):  # the settings dropped the URL: back to a local model
            self.engine = self._local_engine()
        spec = self.model_override if self.model_override is not None else (self.settings.model.active or None)
        device = self.device_override or self.settings.model.device
        return self.engine.load(spec, device)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        editor = self.editor
        if editor is not None and screen is editor:
            yield from editor.system_commands()

    def action_models(self) -> None:
        """Open the models screen: browse, pull, delete, and switch the editor's model."""
        from canvasedit.ui.screens.models import ModelsScreen

        editor = self.editor
        if editor is None or self.screen is not editor:
            return
        if editor.fill_state == "filling":
            self.notify("A fill is running: cancel it (Esc) or let it finish before switching models.",
                        severity="warning")
            return
        if self.remote_url:
            self.notify(f"Fills run on the remote engine at {self.remote_url}; its model is chosen there "
                        "([engine] model in config.toml).", severity="warning")
            return
        if editor.backend is None and editor.model_error is None:  # its own load would land after a switch
            self.notify("The model is still loading; open the models screen when it is ready.", severity="warning")
            return
        spec = self.model_override if self.model_override is not None else (self.settings.model.active or None)
        device = self.device_override or self.settings.model.device
        self.push_screen(
            ModelsScreen(active=spec or "canvasedit-tiny", engine=self.engine, device=device,
                         current_spec=spec, settings=self.settings),
            self._adopt_model,
        )

    def _adopt_model(self, switch: Any) -> None:
        """Give the editor the model the models screen loaded into the engine, and remember the choice."""
        from dataclasses import replace

        from canvasedit.config import save_settings
        from canvasedit.ui.messages import ModelFailed, ModelLoaded

        editor = self.editor
        if switch is None or editor is None:
            return
        if switch.backend is None:
            editor.backend = None
            editor.post_message(ModelFailed("the previous model could not be loaded again"))
            return
        editor.post_message(ModelLoaded(switch.backend, 0.0))  # the document and its holes stay as they are
        self.model_override = None  # from now on the saved choice is the one in force
        self.settings = replace(self.settings, model=replace(self.settings.model, active=switch.spec or ""))
        try:
            save_settings(self.settings)
        except ConfigError as exc:
            self.notify(f"{exc}\nThe model applies to this session only.", title="Not saved", severity="error")

    def action_request_quit(self) -> None:
        """Quit, first asking when there are unsaved changes."""
        editor = self.editor
        if editor is None or not editor.dirty:
            self._quit()
            return
        if isinstance(self.screen, ConfirmScreen):
            return  # already asking
        name = editor.document.path.name if editor.document.path else "this buffer"
        self.push_screen(
            ConfirmScreen(f"Quit without saving {name}?", yes="Quit", no="Keep editing"),
            lambda confirmed: self._quit() if confirmed else None,
        )

    def on_app_blur(self, event: events.AppBlur) -> None:
        """The terminal lost focus: journal unsaved changes now, not in a few seconds."""
        editor = self.editor
        if editor is not None:
            editor.journal_now()

    def _quit(self) -> None:
        editor = self.editor
        if editor is not None:
            editor.cancel_fill()  # the worker stops before its next pass
            editor.forget_journal()  # a clean quit: saved, or the user chose to drop the changes
        self.exit(0)


def run_editor(path: Path | None, model: str | None = None, device: str = "auto", engine: str | None = None) -> int:
    """Open ``path`` (or an empty buffer) in the editor; returns the exit code for the CLI.

    A file that cannot be opened (binary, too large, not UTF-8/UTF-16) is refused before the
    screen opens, with one line on stderr and exit code 2. A broken ``config.toml`` does not stop
    the editor: it starts with the default settings and says why.
    """
    warning = None
    try:
        settings = load_settings()
    except ConfigError as exc:
        settings, warning = Settings(), f"{exc}\nUsing the default settings."
    document = None
    if path is not None:
        try:
            document = load_document(path, max_bytes=settings.editor.max_file_bytes)
        except DocumentError as exc:
            print(f"canvasedit: {exc}", file=sys.stderr)
            return 2
    app = CanvasEditApp(
        document,
        settings=settings,
        model=model,
        device=None if device == "auto" else device,
        engine_url=engine,
        startup_warning=warning,
    )
    app.run()
    if app.return_code in (EXIT_TERMINATED, EXIT_HANGUP):
        kept = "; the unsaved changes are kept for recovery (open the file again)" if app.kept_for_recovery else ""
        what = "terminated" if app.return_code == EXIT_TERMINATED else "the terminal closed"
        print(f"canvasedit: {what}{kept}", file=sys.stderr)
    return app.return_code or 0
