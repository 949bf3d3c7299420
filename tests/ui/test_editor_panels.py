"""The model's life cycle, settings, keymap, command palette, help and passes panel, with real keys."""

from __future__ import annotations

from pathlib import Path

from canvasedit.config import Settings, load_settings
from canvasedit.models.errors import ModelNotFound
from canvasedit.ui.app import CanvasEditApp
from canvasedit.ui.screens.editor import EditorScreen
from canvasedit.ui.screens.help import HelpScreen
from canvasedit.ui.screens.settings import SettingsScreen
from tests.ui.conftest import SAMPLE, PacedBackend, wait_until


def missing_model(spec, device):
    raise ModelNotFound("the bundled model is missing from /nowhere; reinstall CanvasEdit or pass --model PATH")


async def test_editor_works_without_a_model_and_says_why_fill_cannot(sample_path: Path) -> None:
    from canvasedit.document import load_document

    app = CanvasEditApp(load_document(sample_path), opener=missing_model, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.status.model_state == "error", what="the model error")
        assert screen.status.part("model") == "no model"
        assert any(n.severity == "error" and "bundled model is missing" in n.message for n in app._notifications)
        await pilot.press("x", "ctrl+g")  # editing works; fill explains and does nothing
        assert screen.canvas.text == "x" + SAMPLE
        assert screen.fill_state == "idle"
        assert any(n.severity == "warning" and "Cannot fill" in n.message for n in app._notifications)


async def test_model_loads_in_the_background_then_fills(sample_path: Path, tiny_backend) -> None:
    from canvasedit.document import load_document

    requests = []

    def opener(spec, device):
        requests.append((spec, device))
        return PacedBackend(tiny_backend)

    app = CanvasEditApp(load_document(sample_path), opener=opener, model="/some/model", cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.backend is not None, what="the model to load")
        assert requests == [("/some/model", "auto")]
        assert screen.status.part("model") == "tiny-llada · native/cpu"
        await pilot.press("down", "down", "ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")


async def test_settings_dialog_validates_saves_and_applies(make_app, sample_path: Path, canvasedit_home: Path) -> None:
    app = make_app(sample_path, steps=8)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("backspace", "0", "ctrl+s")  # steps = 0 is refused, the dialog stays
        assert isinstance(app.screen, SettingsScreen)
        assert "steps must be an integer in [1, 1000000]" in str(app.screen.query_one("#settings-error").content)
        await pilot.press("backspace", "4", "ctrl+s")
        assert isinstance(app.screen, EditorScreen)
        assert app.settings.sampler == {"steps": 4}  # only the changed field becomes an override
        assert load_settings().sampler == {"steps": 4}  # written to config.toml
        assert (canvasedit_home / "config" / "config.toml").is_file()

        await pilot.press("down", "down", "ctrl+g")  # the next fill uses the new steps
        await wait_until(pilot, lambda: app.screen.fill_state == "pending")
        assert app.screen.pending.params.steps == 4


async def test_settings_dialog_chooses_the_cache_and_the_next_fill_uses_it(make_app, sample_path: Path) -> None:
    from textual.widgets import Select

    app = make_app(sample_path, steps=8)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        select = app.screen.query_one("#cache", Select)
        assert select.value == app.screen.shown["cache"] != "dual"  # the value in effect: recipe, then config
        select.value = "dual"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, EditorScreen)
        assert app.settings.sampler == {"steps": 8, "cache": "dual"}
        await pilot.press("down", "down", "ctrl+g")
        await wait_until(pilot, lambda: app.screen.fill_state == "pending")
        assert app.screen.pending.params.cache.value == "dual"


async def test_settings_cancel_changes_nothing(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, steps=8)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2", "backspace", "5", "escape")
        assert isinstance(app.screen, EditorScreen)
        assert app.settings.sampler == {"steps": 8}


async def test_user_keymap_rebinds_by_id(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, settings=Settings(keys={"mask": "f9"}))
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        await pilot.press("ctrl+b")
        assert not canvas.holes  # the default key no longer masks
        await pilot.press("f9")
        assert len(canvas.holes) == 1
        assert app.screen.key_for("mask") == "f9"


async def test_command_palette_lists_every_editor_action(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        titles = {command.title for command in app.get_system_commands(screen)}
        described = {b.description for b in screen._all_bindings() if b.id != "quit"}
        assert described <= titles
        assert {"Fill", "Mask", "Revise", "Accept", "Undo", "Grow selection", "Settings"} <= titles

        await pilot.press("down", "ctrl+b")
        assert len(screen.canvas.holes) == 1
        await pilot.press("ctrl+p", *"Clear holes")
        await wait_until(pilot, lambda: "Clear holes" in str(app.screen.query_one("CommandList").get_option_at_index(0).prompt))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EditorScreen) and not screen.canvas.holes)


async def test_help_lists_the_bindings_as_mapped(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, settings=Settings(keys={"fill": "f9"}))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rows = {action: keys for keys, action, _ in app.screen.rows}
        assert rows["Fill"] == "f9"
        assert rows["Save"] == "ctrl+s"
        assert rows["Accept"] == "tab"
        assert rows["Quit"] == "ctrl+q"
        await pilot.press("escape")
        assert isinstance(app.screen, EditorScreen)


async def test_the_hidden_passes_panel_is_drawn_when_shown_not_on_every_pass(make_app, sample_path: Path) -> None:
    from textual.widgets import Static

    app = make_app(sample_path, steps=6)
    async with app.run_test(size=(110, 30)) as pilot:
        screen = app.screen
        header = screen.passes.query_one("#passes-header", Static)
        updates: list[object] = []
        update = header.update
        header.update = lambda content="", **kw: (updates.append(content), update(content, **kw))[1]
        await pilot.press("down", "down", "ctrl+down", "ctrl+down", "ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        assert screen.steps_drawn >= 2 and not updates  # every pass reached the canvas, none the hidden panel
        await pilot.press("f3")
        await wait_until(pilot, lambda: bool(updates), what="the panel drawn once shown")
        assert str(header.content).startswith(f"pass {len(screen.passes.trace)}/{len(screen.passes.trace)}")


async def test_passes_panel_replays_every_pass_of_the_last_fill(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, steps=6)
    async with app.run_test(size=(110, 30)) as pilot:
        screen = app.screen
        panel = screen.passes
        assert not panel.display or not screen.has_class("-show-passes")
        await pilot.press("down", "down", "ctrl+down", "ctrl+down", "ctrl+down", "ctrl+down", "ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        await pilot.press("f3")
        assert screen.has_class("-show-passes") and panel.has_focus
        assert len(panel.trace) == screen.pending.steps == len(screen.pending.trace)
        last = panel.index
        assert last == len(panel.trace) - 1
        await pilot.press("left", "left")
        assert panel.index == last - 2
        header = str(panel.query_one("#passes-header").content)
        assert header.startswith(f"pass {last - 1}/{len(panel.trace)}")
        await pilot.press("home")
        assert panel.index == 0
        assert "░" in str(panel.query_one("#passes-body").content)  # the first pass still has masks
        await pilot.press("escape")  # back to the text; the result is still pending
        assert screen.canvas.has_focus and screen.fill_state == "pending"
        await pilot.press("tab")
        assert screen.canvas.text != SAMPLE


async def test_the_editor_fills_with_a_gguf_model(sample_path: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    from canvasedit.document import load_document
    from canvasedit.models.gguf_file import export_gguf

    gguf = export_gguf(tiny_model_dir, tmp_path / "tiny-q8_0.gguf", "q8_0").path
    app = CanvasEditApp(load_document(sample_path), model=str(gguf), cursor_blink=False)  # the real opener
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.backend is not None, what="the GGUF model to load")
        assert screen.status.part("model") == "tiny-q8_0.gguf · gguf/cpu"
        await pilot.press("down", "down", "ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the fill")
        await pilot.press("escape")  # reject: the text is as it was
        assert screen.canvas.text == SAMPLE


async def test_settings_refuse_a_model_that_is_not_downloaded_and_name_the_pull_command(
    make_app, sample_path: Path, canvasedit_home: Path
) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f2")
        app.screen.query_one("#active").value = "qwen2.5-coder-0.5b-mdlm"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, SettingsScreen)  # not accepted
        error = str(app.screen.query_one("#settings-error").content)
        assert "canvasedit models pull qwen2.5-coder-0.5b-mdlm" in error
        assert "--model" not in error
        app.screen.query_one("#active").value = "/no/such/folder"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, SettingsScreen)
        assert not (canvasedit_home / "config" / "config.toml").exists()


async def test_the_settings_buttons_stay_on_screen_in_common_terminal_sizes(make_app, sample_path: Path) -> None:
    for size in ((140, 40), (80, 24)):
        app = make_app(sample_path)
        async with app.run_test(size=size) as pilot:
            await pilot.press("f2")
            await pilot.pause()
            for button_id in ("#save", "#cancel"):
                button = app.screen.query_one(button_id)
                region = button.region
                assert app.screen.region.contains_region(region), (size, button_id)
                widget, _ = app.screen.get_widget_at(region.x + region.width // 2, region.y + 1)
                assert widget is button, (size, button_id)  # drawn there, not clipped by its dialog


async def test_the_bundled_model_is_marked_as_a_demo_with_the_command_for_a_real_one(
    make_app, sample_path: Path, tiny_backend
) -> None:
    app = make_app(sample_path, backend=PacedBackend(tiny_backend, model_name="canvasedit-tiny"), steps=4)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert screen.status.part("model").startswith("canvasedit-tiny (demo)")
        await pilot.press("down", "down", "ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        notes = [n.message for n in app._notifications if n.title == "Demo model"]
        assert len(notes) == 1 and "canvasedit models pull" in notes[0]
        await pilot.press("escape", "ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        assert len([n for n in app._notifications if n.title == "Demo model"]) == 1  # once a session


async def test_a_model_that_fails_to_load_points_at_f2(sample_path: Path) -> None:
    from canvasedit.document import load_document

    app = CanvasEditApp(load_document(sample_path), opener=missing_model, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.screen.status.model_state == "error")
        assert any("f2 chooses another" in n.message for n in app._notifications)
