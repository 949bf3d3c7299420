"""The settings dialog: sampler settings, hole length, theme and the active model.

    app.push_screen(SettingsScreen(settings, recipe), apply)   # apply(Settings | None)

The sampler fields show what a fill will use: the active model family's ``recipe`` overridden by
``config.toml``. Only a field the user changes becomes an override in ``[sampler]``; the others
keep following the recipe, so switching to a model of another family brings its own defaults.
Values are checked by the settings dataclasses themselves (``canvasedit.config``), so the dialog
accepts exactly what ``config.toml`` accepts; a bad value is shown under the form and the dialog
stays open. A newly chosen model must be there to load (a folder, a ``.gguf`` file, or a pulled
catalog entry): a name that is not downloaded is refused with the command that pulls it, so it
never becomes the saved model that every later launch fails to open. Enter or ctrl+s saves, Esc
cancels. Writing the file is the caller's job. The fields scroll; the buttons stay in view.
"""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from canvasedit.config import ConfigError, Settings
from canvasedit.models.catalog import find, resolve_model
from canvasedit.models.errors import ModelError
from canvasedit.params import ALGORITHMS, CACHES, ParamsError, SamplerParams

THEMES = ("monokai", "dracula", "vscode_dark", "github_light", "css")
"""TextArea's built-in syntax themes."""

# field id → (section, attribute, label, input type)
_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("sampler", "steps", "Steps", "integer"),
    ("sampler", "block_length", "Block length (0 = whole hole)", "integer"),
    ("sampler", "temperature", "Temperature (0 = greedy)", "number"),
    ("sampler", "top_k", "Top-k (0 = off)", "integer"),
    ("sampler", "top_p", "Top-p (1 = off)", "number"),
    ("sampler", "threshold", "Parallel threshold (0 = off)", "number"),
    ("sampler", "revise_below", "Revise below (0 = off)", "number"),
    ("sampler", "seed", "Seed", "integer"),
    ("editor", "hole_length", "New hole length (tokens)", "integer"),
    ("editor", "revise_fraction", "Revise: share re-masked (0-1]", "number"),
    ("editor", "suspicion_threshold", "Heatmap: mark tokens below p", "number"),
    ("model", "active", "Model (name/folder/.gguf; empty = bundled)", "text"),
    ("model", "device", "Device (auto, cpu, cuda, cuda:N)", "text"),
)


def check_model(spec: str) -> None:
    """Raise ``ConfigError`` unless ``spec`` names a model that is there to load, saying how to get it."""
    try:
        resolve_model(spec)
    except ModelError as exc:
        found = find(spec)
        if found is not None and found[0].on_hub:
            raise ConfigError(
                f"{spec} is not downloaded yet; in a terminal run: canvasedit models pull {spec} "
                "(or enter a model folder or .gguf file)"
            ) from None
        if found is None:
            raise ConfigError(
                f"no model folder, .gguf file or catalog entry named {spec!r} "
                "(canvasedit models list shows the catalog)"
            ) from None
        raise ConfigError(str(exc)) from None


class SettingsScreen(ModalScreen[Settings | None]):
    """Edit a copy of the settings; dismisses with the new settings, or None on cancel."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("ctrl+s", "save", "Save", show=False),
    ]

    def __init__(self, settings: Settings, recipe: dict | None = None) -> None:
        super().__init__(classes="dialog")
        self.settings = settings
        """The settings the dialog started from."""
        self.shown = SamplerParams.layered(recipe, settings.sampler).layer()
        """The sampler values shown: the family's recipe overridden by config.toml."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box settings-box"):
            yield Label("Settings", classes="dialog-question")
            with VerticalScroll(id="settings-fields"), Grid(id="settings-grid"):
                yield Label("Algorithm (which masks to commit first)")
                yield Select(
                    [(name.replace("_", " "), name) for name in ALGORITHMS],
                    value=self.shown["algorithm"],
                    allow_blank=False,
                    compact=True,
                    id="algorithm",
                )
                yield Label("Cache (auto: dual up to 32 hole tokens)")
                yield Select(
                    [(name, name) for name in CACHES],
                    value=self.shown["cache"],
                    allow_blank=False,
                    compact=True,
                    id="cache",
                )
                for section, name, label, kind in _FIELDS:
                    value = self.shown[name] if section == "sampler" else getattr(getattr(self.settings, section), name)
                    yield Label(label)
                    yield Input(str(value), type=kind, id=name, select_on_focus=False, compact=True)
                yield Label("Syntax theme")
                theme = self.settings.editor.theme
                yield Select(
                    [(t, t) for t in THEMES] + ([(theme, theme)] if theme not in THEMES else []),
                    value=theme,
                    allow_blank=False,
                    compact=True,
                    id="theme",
                )
                yield Label("Vim keys (normal / insert / visual)")
                yield Select(
                    [("off", False), ("on", True)],
                    value=self.settings.editor.vim,
                    allow_blank=False,
                    compact=True,
                    id="vim",
                )
                yield Label("Length search (fill at several lengths)")
                yield Select(
                    [("off", False), ("on", True)],
                    value=self.settings.editor.length_search,
                    allow_blank=False,
                    compact=True,
                    id="length_search",
                )
            yield Label("", id="settings-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False
        self.query_one("#steps", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def on_input_submitted(self) -> None:
        self.action_save()

    def read(self) -> Settings:
        """The settings as the form now says; raises ``ConfigError`` (a ValueError) for a bad value."""
        sections = {"editor": self.settings.editor, "model": self.settings.model}
        changes: dict[str, dict[str, object]] = {name: {} for name in (*sections, "sampler")}
        for section, name, label, kind in _FIELDS:
            raw = self.query_one(f"#{name}", Input).value.strip()
            try:
                value: object = int(raw) if kind == "integer" else float(raw) if kind == "number" else raw
            except ValueError:
                raise ConfigError(f"{label}: expected {'an integer' if kind == 'integer' else 'a number'}, found {raw!r}")
            changes[section][name] = value
        changes["sampler"]["algorithm"] = self.query_one("#algorithm", Select).value
        changes["sampler"]["cache"] = self.query_one("#cache", Select).value
        changes["editor"]["theme"] = self.query_one("#theme", Select).value
        changes["editor"]["vim"] = bool(self.query_one("#vim", Select).value)
        changes["editor"]["length_search"] = bool(self.query_one("#length_search", Select).value)
        sampler = dict(self.settings.sampler)
        for name, value in changes.pop("sampler").items():
            if value != self.shown[name]:  # only what the user changed becomes an override
                sampler[name] = value
        try:
            SamplerParams.layered(sampler)
        except ParamsError as exc:
            raise ConfigError(str(exc)) from None
        model = str(changes["model"]["active"])
        if model and model != self.settings.model.active:
            check_model(model)
        return replace(
            self.settings, sampler=sampler, **{name: replace(sections[name], **changes[name]) for name in sections}
        )

    def action_save(self) -> None:
        """Dismiss with the new settings, or show why they are not valid."""
        try:
            settings = self.read()
        except ConfigError as exc:
            self.query_one("#settings-error", Label).update(str(exc))
            self.add_class("-invalid")
            return
        self.dismiss(settings)

    def action_cancel(self) -> None:
        """Dismiss without changes."""
        self.dismiss(None)
