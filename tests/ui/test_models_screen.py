"""The models screen with real keys: browse, pull with progress, cancel, delete, switch, a failed switch.

Pulls go through the real huggingface-hub client to the stand-in hub (``tests/hub_standin.py``);
the switch loads the pulled tiny model for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canvasedit.config import Settings, load_settings, save_settings
from canvasedit.models import download, store
from canvasedit.ui.screens.editor import EditorScreen
from canvasedit.ui.screens.models import ModelsScreen, PullProgress
from tests.models.test_download import NAME, REPO, WEIGHTS, entry, hub, served  # noqa: F401 — fixtures
from tests.ui.conftest import PacedBackend, wait_until


class ClosingBackend(PacedBackend):
    """The editor's model before a switch: records whether the switch freed it."""

    closed = False

    def close(self) -> None:
        self.closed = True


def settings_with_tiny() -> Settings:
    settings = Settings(sampler={"steps": 4}, models={NAME: {"repo": REPO, "family": "llada", "params": 60_000}})
    save_settings(settings)  # the app opens models by name through config.toml, as a user's would
    return settings


async def open_models(app, pilot) -> ModelsScreen:
    await pilot.press("f9")
    await wait_until(pilot, lambda: isinstance(app.screen, ModelsScreen) and app.screen.rows, what="the models list")
    return app.screen


async def select(pilot, screen: ModelsScreen, name: str) -> None:
    screen.table.move_cursor(row=[r["name"] for r in screen.rows].index(name))
    await pilot.pause()


async def test_browse_pull_with_progress_then_switch_keeps_document_and_holes(
        make_app, sample_path: Path, tiny_backend, served) -> None:  # noqa: F811
    progress: list[PullProgress] = []
    old = ClosingBackend(tiny_backend)
    app = make_app(sample_path, settings=settings_with_tiny(), backend=old)
    async with app.run_test(size=(120, 36), message_hook=lambda m: isinstance(m, PullProgress) and progress.append(m)) \
            as pilot:
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        await pilot.press("down", "down", "end", "ctrl+b")  # an insertion hole that must survive the switch
        holes = [(h.start, h.end) for h in editor.canvas.holes]
        assert len(holes) == 1
        screen = await open_models(app, pilot)
        rows = {r["name"]: r for r in screen.rows}
        assert rows["canvasedit-tiny"]["status"] == "bundled" and rows[NAME]["status"] == "not pulled"
        assert "llada-8b-instruct" in rows and screen.table.row_count == len(screen.rows)

        await select(pilot, screen, NAME)
        assert NAME in str(screen.query_one("#models-detail").content)
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.pulling is None and
                         {r["name"]: r for r in screen.rows}[NAME]["status"] == "pulled", what="the pull")
        assert progress and progress[-1].done == progress[-1].total > 0
        assert store.find_manifest(entry()).complete

        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is editor and editor.backend is not old, what="the switch")
        await wait_until(pilot, lambda: editor.backend is not None and editor.backend.model_name == NAME)
        assert old.closed
        assert editor.canvas.text == sample_path.read_text() and [(h.start, h.end) for h in editor.canvas.holes] == holes
        assert load_settings().model.active == NAME and app.settings.model.active == NAME


async def test_cancel_keeps_the_partial_for_the_next_pull(make_app, sample_path, tiny_backend, served, hub) -> None:  # noqa: F811
    hub.stall[(REPO, WEIGHTS)] = 100_000
    app = make_app(sample_path, settings=settings_with_tiny(), backend=PacedBackend(tiny_backend))
    partial = store.repo_folder(REPO) / "blobs" / f"{hub.repos[REPO].files[WEIGHTS].sha256}.incomplete"
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_models(app, pilot)
        await select(pilot, screen, NAME)
        await pilot.press("p")
        await wait_until(pilot, lambda: partial.exists() and partial.stat().st_size == 100_000, what="stalled bytes")
        await pilot.press("c")
        hub.release.set()  # the stand-in sends one more chunk, after which the pull sees the cancel
        await wait_until(pilot, lambda: screen.pulling is None, what="the cancel")
        assert "cancelled" in str(screen.query_one("#models-status").content)
        await wait_until(pilot, lambda: {r["name"]: r for r in screen.rows}[NAME]["status"] == "partial",
                         what="the list to show the partial download")
        assert partial.stat().st_size == 100_000
    del hub.stall[(REPO, WEIGHTS)]
    hub.requests.clear()
    download.pull(entry())
    assert [g.range for g in hub.bodies(WEIGHTS)] == ["bytes=100000-"]


async def test_delete_asks_then_frees_the_files(make_app, sample_path, tiny_backend, served) -> None:  # noqa: F811
    download.pull(entry())
    app = make_app(sample_path, settings=settings_with_tiny(), backend=PacedBackend(tiny_backend))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_models(app, pilot)
        await select(pilot, screen, NAME)
        await pilot.press("d")
        await pilot.press("y")
        await wait_until(pilot, lambda: {r["name"]: r for r in screen.rows}[NAME]["status"] == "not pulled",
                         what="the delete")
        assert not store.repo_folder(REPO).exists()
        await select(pilot, screen, "canvasedit-tiny")
        await pilot.press("d")  # the bundled model has nothing to delete: no question is asked
        assert app.screen is screen


async def test_a_model_that_fails_to_load_leaves_the_previous_one_active(
        make_app, sample_path, tiny_backend, tmp_path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"architectures": ["LLaDAModelLM"], "d_model": "wide"}))
    settings = Settings(models={"broken": {"path": str(broken), "family": "llada"}})
    save_settings(settings)
    old = ClosingBackend(tiny_backend)
    app = make_app(sample_path, settings=settings, backend=old)
    async with app.run_test(size=(120, 36)) as pilot:
        editor = app.screen
        screen = await open_models(app, pilot)
        await select(pilot, screen, "broken")
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.loading is None, what="the failed load")
        assert app.screen is screen and "did not load" in str(screen.query_one("#models-status").content)
        await pilot.press("escape")
        assert app.screen is editor and editor.backend is old and not old.closed
        assert load_settings().model.active == ""


@pytest.fixture(autouse=True)
def _no_real_cache(monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)  # the cache is $CANVASEDIT_HOME/hub, fresh per test
