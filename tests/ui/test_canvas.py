"""The canvas widget on its own: windowed highlighting of long files, labels, offsets."""

from __future__ import annotations

from pathlib import Path

from canvasedit.ui.widgets.canvas import FULL_HIGHLIGHT_LINES
from tests.ui.conftest import step_event, wait_until

CHUNK = "def f{i}(x):\n    return x + {i}  # comment\n\n"


def names_on(canvas, row: int) -> set[tuple[int, int | None, str]]:
    return set(canvas._highlights.get(row, []))


async def test_long_files_highlight_the_rows_near_the_view(make_app, tmp_path: Path) -> None:
    path = tmp_path / "long.py"
    path.write_text("".join(CHUNK.format(i=i) for i in range(FULL_HIGHLIGHT_LINES)), encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        assert canvas.document.line_count > FULL_HIGHLIGHT_LINES
        assert (0, 3, "keyword.function") in names_on(canvas, 0) or (0, 3, "keyword") in names_on(canvas, 0)
        far = 3 * (FULL_HIGHLIGHT_LINES - 10)  # a `def` row far below the view
        assert not names_on(canvas, far)

        canvas.move_cursor((far, 0))  # scrolls there; the rows around it get their colours
        await wait_until(pilot, lambda: bool(names_on(canvas, far)), what="highlights near the new view")
        before = {name for _, _, name in names_on(canvas, far)}
        await pilot.press("x", "space")  # edits re-highlight the window, columns follow the text
        assert {(s, name) for s, _, name in names_on(canvas, far) if "keyword" in name} == {
            (2, name) for name in before if "keyword" in name
        }
        assert not names_on(canvas, 0)  # the top of the file is outside the window now


async def test_short_files_are_highlighted_whole(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 10)):
        canvas = app.screen.canvas
        row = canvas.document.lines.index("def perimeter(width, height):")
        assert row > canvas.size.height  # off screen, still coloured
        assert any("keyword" in name for _, _, name in names_on(canvas, row))
        assert canvas._highlight_window is None


async def test_offsets_and_locations_round_trip_and_crlf_stays_in_the_file(make_app, tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"ab\r\ncde\r\n\r\nf")
    app = make_app(path)
    async with app.run_test(size=(60, 12)):
        screen = app.screen
        canvas = screen.canvas
        text = canvas.text
        assert text == "ab\ncde\n\nf"  # the canvas holds \n breaks; the file's own come back on save
        for offset, location in [(0, (0, 0)), (2, (0, 2)), (3, (1, 0)), (7, (2, 0)), (8, (3, 0)), (9, (3, 1))]:
            assert canvas.location_of(offset) == location
            assert canvas.offset_of(location) == offset
        assert screen.document_text() == "ab\r\ncde\r\n\r\nf"


async def test_files_without_a_grammar_get_pygments_colours(make_app, tmp_path: Path) -> None:
    path = tmp_path / "app.ts"
    path.write_text("const answer: number = 42;\n", encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(60, 12)):
        canvas = app.screen.canvas
        assert canvas.language is None
        line = canvas.get_line(0)
        styled = {line.plain[span.start : span.end] for span in line.spans}
        assert {"const", "42"} <= styled
        assert "typescript" in app.screen.status.part("file")


async def test_holes_and_passes_draw_in_soft_wrapped_prose_with_tabs(make_app, tmp_path: Path) -> None:
    from canvasedit.engine import Piece
    from canvasedit.ui.holes import HoleMark

    path = tmp_path / "notes.md"
    long_line = "\t".join(["word"] * 30)
    path.write_text(f"# Title\n\n{long_line}\n\tindented\tline\n", encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(50, 20)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        assert canvas.soft_wrap
        text = canvas.text
        canvas.add_hole(HoleMark(text.index("word"), text.index("word") + 20))
        canvas.add_hole(HoleMark(text.index("line"), text.index("line"), length=8))
        await pilot.pause()
        strips = [canvas.render_line(y) for y in range(canvas.size.height)]  # marks and labels
        assert any("⟨8⟩" in strip.text for strip in strips)

        pieces = (
            (Piece("a\tb", "done", 0.9), Piece("\n", "new", 0.5), Piece("░", "masked")),
            (Piece("x\t\ty" * 10, "new", 0.2), Piece("\n\n", "done", 0.9)),
        )
        canvas.set_state(canvas.holes.slots, "filling")
        canvas.show_pass(step_event(1, 4, pieces), tuple(s.id for s in canvas.holes.slots))
        await pilot.pause()
        strips = [canvas.render_line(y) for y in range(canvas.size.height)]  # must not raise
        assert any("░" in strip.text for strip in strips)
        assert canvas.text == text
        canvas.clear_overlay()
