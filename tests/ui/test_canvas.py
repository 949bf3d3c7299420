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


async def test_paging_through_a_long_file_colours_each_page_as_a_full_query_would(make_app, tmp_path: Path) -> None:
    from canvasedit.ui.widgets.canvas import HIGHLIGHT_MARGIN

    path = tmp_path / "long.py"
    path.write_text("".join(CHUNK.format(i=i) for i in range(FULL_HIGHLIGHT_LINES)), encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        queried: list[int] = []
        query_rows = canvas._query_rows
        canvas._query_rows = lambda top, bottom: (queried.append(bottom - top), query_rows(top, bottom))[1]
        for key in ["pagedown"] * 25 + ["pageup"] * 10:
            await pilot.press(key)
            await pilot.pause(0.05)
            first = canvas._first_visible_row()
            top, bottom = canvas._highlight_window
            assert top <= first and first + canvas.size.height <= bottom  # every visible row is coloured
            assert bottom - top <= 2 * (2 * HIGHLIGHT_MARGIN + canvas.size.height)  # the window stays bounded
            for row in range(first, first + canvas.size.height):
                assert sorted(canvas._highlights.get(row, [])) == sorted(query_rows(row, row + 1).get(row, []))
        # Each page scrolled in queries about a page of rows, never the whole window again.
        assert queried and max(queried) <= 2 * canvas.size.height


async def test_the_next_page_is_drawn_ahead_while_no_key_waits(make_app, tmp_path: Path) -> None:
    path = tmp_path / "long.py"
    path.write_text("".join(CHUNK.format(i=i) for i in range(FULL_HIGHLIGHT_LINES)), encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: canvas._prefetch_timer is None and canvas._prefetch_rows is None,
                         what="the pages around the view drawn ahead")
        drawn: list[int] = []
        render = canvas._render_line
        canvas._render_line = lambda y: (drawn.append(y), render(y))[1]
        await pilot.press("pagedown")
        await pilot.pause()
        # Only the rows the cursor left and entered are drawn when the page is shown; the rest come from the cache.
        on_screen = [y for y in drawn if 0 <= y < canvas.size.height]
        assert len(on_screen) <= 2, on_screen
        assert canvas.get_line(canvas.cursor_location[0]).plain == canvas.document[canvas.cursor_location[0]]


async def test_growing_on_a_long_file_after_typing_selects_nodes_of_the_text_as_it_is_now(make_app, tmp_path: Path) -> None:
    from canvasedit.syntax import syntax_tree_for

    path = tmp_path / "long.py"
    path.write_text("".join(CHUNK.format(i=i) for i in range(FULL_HIGHLIGHT_LINES)), encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        assert canvas.document.defer_parse  # edits only move the tree's nodes until typing pauses
        row = 3 * 1000 + 1  # "    return x + 1000  # comment"
        canvas.move_cursor((row, len("    return x + 1000")))
        await pilot.press("space", "*", "space", "y", "y", "left")  # x + 1000 * y|y
        assert canvas.document.stale
        parses: list[str] = []
        import tree_sitter

        parse = tree_sitter.Parser.parse
        tree_sitter.Parser.parse = lambda self, *a, **k: (
            parses.append("incremental" if len(a) > 1 or "old_tree" in k else "fresh"),
            parse(self, *a, **k),
        )[1]
        try:
            await pilot.press("alt+up")
        finally:
            tree_sitter.Parser.parse = parse
        assert parses == ["incremental"]  # one incremental parse from the editor's tree, no fresh one
        assert canvas.document.stale  # the highlighter's tree and colours wait for typing to pause
        fresh = syntax_tree_for(canvas.text, "python")
        cursor = canvas.offset_of((row, len("    return x + 1000 * y")))
        want = fresh.grow_node(cursor, cursor)
        assert canvas.selection_offsets() == want.range
        assert canvas.text[slice(*want.range)] == "yy"
        await pilot.press("alt+up")
        assert canvas.text[slice(*canvas.selection_offsets())] == "1000 * yy"
        await pilot.press("alt+up")
        assert canvas.text[slice(*canvas.selection_offsets())] == "x + 1000 * yy"


async def test_passes_wider_than_the_view_keep_one_virtual_width_instead_of_flipping_it(make_app, tmp_path: Path) -> None:
    from canvasedit.ui.holes import HoleMark

    path = tmp_path / "short.py"
    path.write_text("x = 1\ny = 2\n", encoding="utf-8")
    app = make_app(path, delay=0.02, steps=12)
    async with app.run_test(size=(40, 12)) as pilot:
        screen, canvas = app.screen, app.screen.canvas
        at = canvas.offset_of((1, 4))
        canvas.add_hole(HoleMark(at, at, length=48))  # its masked glyphs run past the 40-column view
        widths: list[int] = []
        watch = canvas.watch_virtual_size if hasattr(canvas, "watch_virtual_size") else None
        canvas.watch_virtual_size = lambda size: (widths.append(size.width), watch and watch(size))
        screen.start_fill()
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        # Each pass used to set the document's width and then the wider one: the horizontal scrollbar
        # went off and on, a layout of the whole screen each time. Now a width is set only when it changes.
        assert screen.steps_drawn >= 6
        assert len(widths) < screen.steps_drawn, widths


async def test_the_editor_exempts_what_it_has_loaded_from_garbage_collection(make_app, sample_path: Path) -> None:
    import gc

    gc.unfreeze()
    app = make_app(sample_path)
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        await wait_until(pilot, lambda: gc.get_freeze_count() > 0, what="the heap settled after loading")
        canvas = app.screen.canvas
        assert not any(o is canvas for o in gc.get_objects())  # frozen: full collections no longer walk it
    gc.unfreeze()


async def test_the_vertical_scrollbar_is_off_unless_asked_for_and_the_status_gives_the_line_of_the_total(
        make_app, tmp_path: Path) -> None:
    from canvasedit.config import EditorSettings, Settings

    path = tmp_path / "long.py"
    path.write_text("".join(CHUNK.format(i=i) for i in range(200)), encoding="utf-8")
    for wanted in (False, True):
        app = make_app(path, settings=Settings(editor=EditorSettings(scrollbar=wanted)))
        async with app.run_test(size=(100, 30)) as pilot:
            canvas = app.screen.canvas
            await pilot.press("pagedown")
            await pilot.pause()
            assert canvas.scrollbars_enabled[0] and canvas.scroll_y > 0  # it scrolls either way
            assert (canvas.vertical_scrollbar.size.width > 0) is wanted
            row = canvas.cursor_location[0]
            assert app.screen.status._parts["position"].startswith(f"Ln {row + 1}/{canvas.document.line_count}, Col 1")
