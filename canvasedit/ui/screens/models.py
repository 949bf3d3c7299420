"""The models screen: browse the catalog, pull with progress (and cancel), delete, and switch models.

    app.push_screen(ModelsScreen(active="canvasedit-tiny", engine=app.engine, device="auto",
                                 current_spec=None), app._adopt_model)

One row per catalog entry (built-in and the user's): family, parameters, size on disk or to
download, status, whether it fits this machine, and the peak memory and speed measured here. The
row under the cursor is described below the table. Keys: Enter (or u) switches to the model,
p pulls it (P pulls even when it will not fit), c cancels the pull, d deletes its files, Esc goes
back. Pulls, listing and loading run in thread workers that post the messages defined here.

Switching loads the new model in a worker while the old one keeps working; only when the new
one would not fit beside it is the old one freed first, and reloaded if the new one fails. The
screen then dismisses with a ``ModelSwitch`` (the editor adopts the backend; the engine service
has freed the old one); a model that fails to load leaves the previous one active and the screen open with the error.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from canvasedit.config import ConfigError
from canvasedit.engine import EngineError
from canvasedit.models.errors import ModelError
from canvasedit.ui.screens.confirm import ConfirmScreen

COLUMNS = ("", "Name", "Family", "Params", "Size", "Status", "Fit", "Measured")
LISTING = "listing the models…"
LOAD_ERRORS = (ModelError, EngineError, ConfigError, OSError, ValueError, RuntimeError, ImportError, MemoryError)
"""What loading a model can raise (torch and tokenizer failures included); each is shown, none hidden."""


@dataclass
class ModelSwitch:
    """What the screen dismisses with after a successful switch."""

    spec: str | None
    """The name (``name[:quant]``) now active (None: the bundled default)."""
    backend: Any
    """The loaded backend of the model now active (None when even the previous one could not come back)."""
    previous_closed: bool = False
    """The old backend was freed first (to make room) rather than after the new one loaded."""


@dataclass
class RowsReady(Message, bubble=False):
    """The catalog rows, described in a worker (stat calls, this machine's memory)."""

    rows: list[dict[str, Any]]


@dataclass
class PullProgress(Message, bubble=False):
    """Bytes of the running pull present so far; a newer report replaces one not yet drawn."""

    name: str
    phase: str
    file: str
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PullProgress) and message.name == self.name


@dataclass
class PullEnded(Message, bubble=False):
    """A pull finished, failed or was cancelled (``error`` is None on success)."""

    name: str
    error: str | None
    fetched: int = 0


@dataclass
class LoadFailed(Message, bubble=False):
    """A switch failed; the previous model stays active."""

    spec: str
    error: str
    restored: bool = False
    """The previous model had been freed to make room and was loaded again."""


def _size(n: int) -> str:
    from canvasedit.models.fit import human_bytes

    return human_bytes(n)


class ModelsScreen(Screen[ModelSwitch | None]):
    """Browse, pull, delete and switch models."""

    BINDINGS = [
        Binding("enter,u", "use", "Use", priority=True),
        Binding("p", "pull", "Pull"),
        Binding("P", "pull(True)", "Pull anyway", show=False),
        Binding("c", "cancel_pull", "Cancel pull"),
        Binding("d,delete", "delete", "Delete"),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("escape", "back", "Back", priority=True),
    ]

    DEFAULT_CSS = """
    ModelsScreen #models-table { height: 1fr; }
    ModelsScreen #models-detail { height: auto; max-height: 9; padding: 0 1; border-top: solid $primary; }
    ModelsScreen #models-progress { height: 1; padding: 0 1; display: none; }
    ModelsScreen.pulling #models-progress { display: block; }
    ModelsScreen #models-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, active: str, engine: Any, device: str, current_spec: str | None = None,
                 settings: Any = None) -> None:
        super().__init__()
        self.active = active
        """Name of the active model (``name[:quant]``)."""
        self.engine = engine
        """The editor's ``EngineService``: a switch loads the model into it (the old one goes when the new one is in)."""
        self.device = device
        self.current_spec = current_spec
        self.settings = settings
        """Settings whose ``[models]`` tables add user entries (None: read config.toml)."""
        self.rows: list[dict[str, Any]] = []
        self.pulling: str | None = None
        """Name of the model being pulled, if any."""
        self.loading: str | None = None
        self.reloaded = False
        """The previous model was freed and loaded again after a failed switch: the editor must adopt it."""
        self._cancel = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable[str] = DataTable(id="models-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="models-detail")
        yield ProgressBar(id="models-progress", show_eta=True)
        yield Static(LISTING, id="models-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Models"
        self.query_one(DataTable).focus()
        self.action_refresh()

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#models-table", DataTable)

    def status(self, text: str) -> None:
        self.query_one("#models-status", Static).update(text)

    # ------------------------------------------------------------------ rows

    def action_refresh(self) -> None:
        """Describe every entry again (local state, fit, measurements) in a worker."""
        self._describe()

    @work(thread=True, exclusive=True, group="models-rows", exit_on_error=False)
    def _describe(self) -> None:
        from canvasedit.models import catalog, fit, overview, store

        try:
            machine, measured = fit.machine(), store.measurements()
            rows = [overview.describe(e, machine, measured) for e in catalog.entries(self.settings).values()]
        except (ModelError, ConfigError, OSError) as exc:
            self.app.call_from_thread(self.status, f"cannot list the models: {exc}")
            return
        self.post_message(RowsReady(rows))

    def on_rows_ready(self, message: RowsReady) -> None:
        table = self.table
        keep = table.cursor_row
        self.rows = message.rows
        table.clear()
        active = self.active.partition(":")[0]
        for r in self.rows:
            size = _size(r["disk_bytes"]) if r["disk_bytes"] else (
                "~" + _size(r["quants"][0]["bytes"] if r["quants"] else r["download_bytes"])
                if (r["quants"] or r["download_bytes"]) else "?")
            status = r["status"] + (f" {_size(r['partial_bytes'])}" if r["status"] == "partial" and r["partial_bytes"]
                                    else "")
            m = r["measured"]
            seen = f"{_size(m['peak_bytes'])} · {m['tokens_per_s']:.0f} tok/s" if m else ""
            params = f"{r['params'] / 1e9:.2f}B" if r["params"] >= 1e8 else f"{r['params'] / 1e6:.0f}M"
            family = r["family"] + ("" if r["runs"] else " (not yet)")
            table.add_row("●" if r["name"] == active else "", r["name"], family, params, size, status,
                          r["fit"]["label"], seen, key=r["name"])
        if self.rows:
            table.move_cursor(row=min(max(keep, 0), len(self.rows) - 1))
        if str(self.query_one("#models-status", Static).content) == LISTING:  # the first listing
            self.status("Enter: use · p: pull · c: cancel · d: delete · Esc: back")
        self._show_detail()

    def selected(self) -> dict[str, Any] | None:
        if not self.rows:
            return None
        row = self.table.cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        r = self.selected()
        if r is None:
            return
        where = f"{r['repo']} @ {r['revision']}" + ("" if r["pinned"] or not r["repo"] else " (unpinned)")
        lines = [f"[b]{r['name']}[/b] — {r['description']}",
                 f"{where if r['repo'] else (r['path'] or '')}   licence {r['licence']}   context {r['context'] or '?'}",
                 (f"good for {', '.join(r['uses']) or '?'}; {'sees' if r['sees_suffix'] else 'does not see'} "
                  f"the text after a hole   recipe {r['effective_recipe']}"),
                 (f"fit: {r['fit']['label']} (estimated {_size(r['fit']['need_bytes'])}, "
                  f"{_size(r['fit']['have_bytes'])} available)")]
        if r["quants"]:
            lines.append("quantizations: " + ", ".join(f"{q['name']} ~{_size(q['bytes'])}" for q in r["quants"]))
        lines.append(f"[dim]checked: {r['verified']}[/dim]")
        self.query_one("#models-detail", Static).update("\n".join(lines))

    # ------------------------------------------------------------------ pull

    def action_pull(self, force: bool = False) -> None:
        """Pull the selected model into the Hugging Face cache, verifying every file."""
        r = self.selected()
        if r is None:
            return
        if self.pulling:
            self.notify(f"{self.pulling} is being pulled; cancel it (c) or wait", severity="warning")
            return
        if r["kind"] in ("bundled", "folder"):
            self.notify(f"{r['name']} is {r['status']}: there is nothing to pull")
            return
        self.pulling = r["name"]
        self._cancel.clear()
        self.add_class("pulling")
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.status(f"pulling {r['name']}…")
        self._pull(r["name"], force)

    @work(thread=True, exclusive=True, group="models-pull", exit_on_error=False)
    def _pull(self, name: str, force: bool) -> None:
        from canvasedit.models import catalog, download

        def progress(p: Any) -> None:
            self.post_message(PullProgress(name, p.phase, p.file, p.done, p.total))

        try:
            entry, quant = catalog.find(name, self.settings) or (None, None)
            if entry is None:
                raise ModelError(f"no catalog entry named {name!r}")
            report = download.pull(entry, quant=quant, force=force, progress=progress, cancel=self._cancel)
        except download.PullCancelled as exc:
            self.post_message(PullEnded(name, f"cancelled: {exc}"))
        except (ModelError, ConfigError, OSError) as exc:
            self.post_message(PullEnded(name, str(exc)))
        else:
            self.post_message(PullEnded(name, None, report.fetched))

    def on_pull_progress(self, message: PullProgress) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=message.total or None, progress=message.done)
        what = "verifying" if message.phase == "verify" else "pulling"
        self.status(f"{what} {message.name}: {message.file} — {_size(message.done)} of {_size(message.total)}")

    def on_pull_ended(self, message: PullEnded) -> None:
        self.pulling = None
        self.remove_class("pulling")
        if message.error is None:
            self.status(f"pulled {message.name} ({_size(message.fetched)} downloaded, every file verified)")
            self.notify(f"{message.name} is ready; Enter switches to it", title="Pulled")
        else:
            self.status(message.error)
            self.notify(message.error, title=f"{message.name} not pulled",
                        severity="warning" if message.error.startswith("cancelled") else "error")
        self.action_refresh()

    def action_cancel_pull(self) -> None:
        """Stop the running pull; what arrived is kept, and the next pull continues from it."""
        if self.pulling:
            self._cancel.set()
            self.status(f"cancelling the pull of {self.pulling}…")

    # ------------------------------------------------------------------ delete

    def action_delete(self) -> None:
        """Delete the selected model's files from the cache (after asking)."""
        r = self.selected()
        if r is None:
            return
        if r["kind"] == "bundled" or not r["repo"]:
            self.notify(f"{r['name']} has no downloaded files to delete")
            return
        if r["name"] == self.active.partition(":")[0]:
            self.notify(f"{r['name']} is the active model; switch to another one first", severity="warning")
            return
        if r["status"] == "not pulled":
            self.notify(f"{r['name']} is not downloaded")
            return
        if self.pulling == r["name"]:
            self.notify("cancel its pull first (c)", severity="warning")
            return
        size = r["disk_bytes"] + r["partial_bytes"]
        self.app.push_screen(ConfirmScreen(f"Delete {r['name']} ({_size(size)}) from the cache?", yes="Delete"),
                             lambda yes: self._delete(r["name"]) if yes else None)

    def _delete(self, name: str) -> None:
        from canvasedit.models import catalog, download

        found = catalog.find(name, self.settings)
        if found is None:
            return
        try:
            report = download.remove(found[0], found[1])
        except (ModelError, OSError) as exc:
            self.notify(str(exc), title="Not deleted", severity="error")
            return
        self.status(f"deleted {name}: {report.files} files, {_size(report.freed)} freed")
        self.action_refresh()

    # ------------------------------------------------------------------ switch

    def action_use(self) -> None:
        """Switch the editor to the selected model (loaded in a worker; the document and holes stay)."""
        r = self.selected()
        if r is None or self.loading:
            return
        if r["name"] == self.active.partition(":")[0] and self.engine.backend is not None:
            self.notify(f"{r['name']} is already the active model")
            return
        if r["status"] not in ("pulled", "bundled", "local"):
            self.notify(f"{r['name']} is {r['status']}; pull it first (p)", severity="warning")
            return
        if not r["runs"]:
            self.notify(f"this CanvasEdit cannot run {r['family']} models yet", severity="warning")
            return
        self.loading = r["name"]
        self.status(f"loading {r['name']}…")
        self._load(r["name"], r["fit"])

    @work(thread=True, exclusive=True, group="models-load", exit_on_error=False)
    def _load(self, spec: str, fitted: dict[str, Any]) -> None:
        from canvasedit.models import fit

        # Beside the old model when there is room (the old one keeps working if this fails);
        # otherwise free it first and bring it back if the new one cannot be loaded.
        room = fit.machine().vram_free if fitted["device"] == "cuda" else fit.machine().ram_available
        make_room = self.engine.backend is not None and fitted["need_bytes"] > room
        if make_room:
            self.app.call_from_thread(self.status, f"freeing {self.current_spec or 'the current model'} to make room…")
            self.engine.close()
        start = time.perf_counter()
        try:
            backend = self.engine.load(spec, self.device)  # on failure the engine keeps the model it had
        except LOAD_ERRORS as exc:
            error = str(exc) if isinstance(exc, (ModelError, EngineError, ConfigError)) else f"{type(exc).__name__}: {exc}"
            if make_room:
                try:
                    self.engine.load(self.current_spec, self.device)
                except LOAD_ERRORS as again:
                    error += f"; reloading the previous model failed too: {again}"
            self.post_message(LoadFailed(spec, error, restored=make_room))
            return
        seconds = time.perf_counter() - start
        self.app.call_from_thread(self._switched, ModelSwitch(spec, backend, previous_closed=make_room), seconds)

    def _switched(self, switch: ModelSwitch, seconds: float) -> None:
        self.loading = None
        self.notify(f"{switch.spec} loaded in {seconds:.1f}s", title="Model switched")
        self.dismiss(switch)

    def on_load_failed(self, message: LoadFailed) -> None:
        self.loading = None
        self.reloaded = self.reloaded or message.restored
        self.status(f"{message.spec} did not load; the previous model stays active")
        self.notify(message.error, title=f"{message.spec} not loaded", severity="error")

    # ------------------------------------------------------------------ leave

    def action_back(self) -> None:
        """Back to the editor; a running pull is cancelled (what arrived is kept)."""
        if self.loading:
            self.notify(f"{self.loading} is loading; wait a moment", severity="warning")
            return
        self._cancel.set()
        if self.reloaded:  # the editor's old backend was freed; hand it the reloaded one
            self.dismiss(ModelSwitch(self.current_spec, self.engine.backend, previous_closed=True))
        else:
            self.dismiss(None)
