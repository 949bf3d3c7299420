"""Keys as real terminals send them: Meta as an ESC prefix (tmux, VTE, xterm, Terminal.app), CSI sequences.

``pilot.press("alt+x")`` makes a key event without a character, which no terminal sends; these
tests feed the bytes a terminal writes through Textual's own input parser instead.
"""

from __future__ import annotations

from pathlib import Path

from rich.color import ColorSystem

from canvasedit.ui.screens.path_input import PathScreen
from canvasedit.ui.widgets.canvas import HOLE_COLOURS
from tests.ui.conftest import SAMPLE, press_bytes


async def test_alt_x_and_alt_c_remove_holes_without_typing_a_letter(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        await pilot.press("down", "ctrl+b", "down", "down", "ctrl+b", "down", "ctrl+b")
        assert len(canvas.holes) == 3
        await pilot.press("up")
        await press_bytes(pilot, b"\x1bx")  # what alt+x is on the wire
        assert canvas.text == SAMPLE  # no "x" typed into the document
        assert [canvas.location_of(m.start)[0] for m in canvas.holes] == [1, 4]
        await press_bytes(pilot, b"\x1bc")
        assert canvas.text == SAMPLE
        assert not canvas.holes


async def test_alt_s_opens_save_as_and_types_nothing(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await press_bytes(pilot, b"\x1bs")
        assert isinstance(app.screen, PathScreen)
        await pilot.press("escape")
        assert app.screen.canvas.text == SAMPLE


async def test_unbound_alt_letters_type_nothing_either(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await press_bytes(pilot, b"\x1bq")  # one key press at a time, as a terminal writes them
        await press_bytes(pilot, b"\x1bk")
        assert app.screen.canvas.text == SAMPLE
        await press_bytes(pilot, b"Q")  # a plain letter still types
        assert app.screen.canvas.text == "Q" + SAMPLE


async def test_ctrl_home_and_end_from_csi_sequences(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        await press_bytes(pilot, b"\x1b[1;5F")  # ctrl+end
        assert canvas.cursor_location == canvas.document.end
        await press_bytes(pilot, b"\x1b[1;5H")  # ctrl+home
        assert canvas.cursor_location == (0, 0)
        await press_bytes(pilot, b"\x1b[1;6F")  # ctrl+shift+end selects to the end
        assert canvas.selected_text == SAMPLE


async def test_hole_colours_stay_distinct_in_a_256_colour_terminal(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)):
        canvas = app.screen.canvas
        colours = [canvas.get_component_rich_style(f"canvas--hole-{i}").bgcolor for i in range(HOLE_COLOURS)]
        assert len({c.downgrade(ColorSystem.EIGHT_BIT).number for c in colours}) == HOLE_COLOURS
        assert len({c.downgrade(ColorSystem.EIGHT_BIT).number for c in colours} - {60}) == HOLE_COLOURS
