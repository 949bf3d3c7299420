"""The vim layer: word motions on their own, then modes and commands with real keys in the editor."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from canvasedit.config import EditorSettings, Settings
from canvasedit.ui.vim import word_back, word_end, word_forward
from tests.ui.conftest import SAMPLE

LINES = ["def area(width, height):", "    return width*height", "", "x"]


@pytest.mark.parametrize(
    ("start", "w", "e", "b"),
    [
        ((0, 0), (0, 4), (0, 2), (0, 0)),  # "def" → "area"; end of "def"; already at the start
        ((0, 4), (0, 8), (0, 7), (0, 0)),  # "area" → "("; e ends "area"; b back to "def"
        ((0, 23), (1, 4), (1, 9), (0, 22)),  # ":" → next line's "return"; e "return"; b "):" is one word
        ((1, 15), (1, 16), (1, 16), (1, 11)),  # "*" is its own word between two names
    ],
)
def test_word_motions_follow_vims_word_classes(start, w, e, b) -> None:
    assert word_forward(LINES, start) == w
    assert word_end(LINES, start) == e
    assert word_back(LINES, start) == b


def vim_app(make_app, path: Path):
    return make_app(path, settings=Settings(sampler={"steps": 4}, editor=replace(EditorSettings(), vim=True)))


async def test_normal_mode_moves_and_edits_and_insert_mode_types(make_app, sample_path: Path) -> None:
    app = vim_app(make_app, sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        assert screen.status.part("mode") == "NORMAL"
        await pilot.press("3", "j", "w")  # row 3, second word
        assert canvas.cursor_location == (3, 4)
        assert canvas.text == SAMPLE  # nothing typed
        await pilot.press("d", "w")
        assert canvas.document[3] == "def (width, height):"
        await pilot.press("u")
        assert canvas.text == SAMPLE
        await pilot.press("d", "d")
        assert canvas.document[3] == '    """The area of a rectangle."""'
        await pilot.press("P")  # the deleted line comes back above
        assert canvas.text == SAMPLE
        await pilot.press("y", "y", "j", "p")
        assert canvas.document[5] == "def area(width, height):"
        await pilot.press("u", "x")
        assert canvas.document[4].startswith('   """')
        await pilot.press("u", "i", *"ok", "escape")
        assert screen.status.part("mode") == "NORMAL"
        assert canvas.document[4].startswith('ok    """')
        await pilot.press("g", "g")
        assert canvas.cursor_location == (0, 0)
        await pilot.press("G")
        assert canvas.cursor_location[0] == canvas.document.line_count - 1
        await pilot.press("k", "A", *"!", "escape")
        assert canvas.document[-2].endswith("height)!")


async def test_visual_selection_then_m_masks_it(make_app, sample_path: Path) -> None:
    app = vim_app(make_app, sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await pilot.press("5", "j", "w", "v", "e", "e", "e")  # vim's visual mode includes the last character
        assert screen.status.part("mode") == "VISUAL"
        assert canvas.selected_text == "result = width"
        await pilot.press("m")
        assert [canvas.text[m.start : m.end] for m in canvas.holes] == ["result = width"]
        assert screen.status.part("mode") == "NORMAL"
        await pilot.press("V", "j", "y")
        assert canvas.text == SAMPLE  # yanking changes nothing


async def test_escape_leaves_insert_mode_before_it_rejects_a_result(make_app, sample_path: Path) -> None:
    from tests.ui.conftest import wait_until

    app = vim_app(make_app, sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await pilot.press("j", "j", "ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        await pilot.press("i", "escape")
        assert screen.fill_state == "pending"  # that Esc only left insert mode
        await pilot.press("escape")
        assert screen.fill_state == "idle" and screen.canvas.text == SAMPLE


async def test_vim_is_off_unless_asked_for(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("j")
        assert app.screen.canvas.text == "j" + SAMPLE
        assert app.screen.status.part("mode") == ""
