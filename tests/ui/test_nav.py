"""Moving around with real keys: go to line, find as you type, find and mask, path completion, selection size."""

from __future__ import annotations

from pathlib import Path

import pytest

from canvasedit.ui.screens.editor_nav import find_all
from canvasedit.ui.screens.path_input import PathScreen, complete_path
from canvasedit.ui.screens.prompt import PromptScreen
from tests.ui.conftest import SAMPLE


def test_find_is_smart_case_and_never_a_regular_expression() -> None:
    assert find_all("Width width WIDTH", "width") == [(0, 5), (6, 11), (12, 17)]
    assert find_all("Width width WIDTH", "Width") == [(0, 5)]
    assert find_all("a.b axb", "a.b") == [(0, 3)]
    assert find_all("abc", "") == []


async def test_go_to_line_and_column(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        await pilot.press("ctrl+l")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"6:9", "enter")
        assert canvas.cursor_location == (5, 8)
        await pilot.press("ctrl+l", *"99", "enter")  # past the end: refused, the dialog stays
        assert isinstance(app.screen, PromptScreen)
        assert "lines" in str(app.screen.query_one("#prompt-error").content)
        await pilot.press("escape")
        assert canvas.cursor_location == (5, 8)


async def test_find_as_you_type_step_and_mask_every_match(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await pilot.press("ctrl+f", *"height")
        assert canvas.selected_text == "height"
        first = canvas.selection_offsets()
        assert first[0] == SAMPLE.index("height")
        await pilot.press("enter")
        assert canvas.selection_offsets()[0] == SAMPLE.index("height", first[0] + 1)
        await pilot.press("up")
        assert canvas.selection_offsets() == first
        info = str(screen.find_bar.query_one("#find-info").content)
        assert info == f"1/{SAMPLE.count('height')}"
        await pilot.press("ctrl+b")  # mask every match
        assert [canvas.text[m.start : m.end] for m in canvas.holes] == ["height"] * SAMPLE.count("height")
        assert not screen.find_bar.is_open and canvas.has_focus
        assert canvas.text == SAMPLE


async def test_escape_closes_the_find_bar_and_keeps_the_match(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await pilot.press("ctrl+f", *"perimeter", "escape")
        assert not screen.find_bar.is_open
        assert screen.canvas.has_focus and screen.canvas.selected_text == "perimeter"
        await pilot.press("ctrl+f", *"nothing like it")
        assert str(screen.find_bar.query_one("#find-info").content) == "no match"


async def test_the_status_shows_the_selection_in_characters_and_tokens(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await pilot.press(*["down"] * 3, "shift+end")
        selected = "def area(width, height):"
        tokens = len(screen.backend.encode(selected))
        assert screen.status.part("position").endswith(f"{len(selected)} chars · {tokens} tok")


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "shapes.py").write_text("x\n")
    (tmp_path / "src" / "shades.txt").write_text("y\n")
    (tmp_path / "src" / ".hidden").write_text("z\n")
    (tmp_path / "notes.md").write_text("n\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_path_completion_completes_a_unique_name_and_the_common_prefix(tree: Path) -> None:
    assert complete_path("sr") == ("src/", ["src/"])
    assert complete_path("src/sha") == ("src/sha", ["shades.txt", "shapes.py"])
    assert complete_path("src/shap") == ("src/shapes.py", ["shapes.py"])
    assert complete_path("src/") == ("src/sha", ["shades.txt", "shapes.py"])  # hidden files only on request
    assert complete_path("src/.h") == ("src/.hidden", [".hidden"])
    assert complete_path("nowhere/x") == ("nowhere/x", [])


async def test_tab_completes_in_the_open_dialog(make_app, sample_path: Path, tree: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, PathScreen)
        await pilot.press("ctrl+u", *"src/sha", "tab")
        assert "shades.txt" in str(app.screen.query_one("#path-matches").content)
        await pilot.press("p", "tab", "enter")
        assert app.screen.canvas.text == "x\n"
        assert app.screen.document.path == tree / "src" / "shapes.py"
