"""Results hole by hole: accept or reject one, partial accept, the preview is what Tab keeps, parse flags,
revision diffs, recalling a rejected result, and the status line telling the truth afterwards."""

from __future__ import annotations

from pathlib import Path

from canvasedit.document import load_document
from canvasedit.ui.holes import MARKED, PENDING, HoleMark, Proposal
from canvasedit.ui.screens.editor import EditorScreen
from tests.ui.conftest import SAMPLE, ScriptedBackend, wait_until

ROW3 = SAMPLE.index("def area")
ROW10_END = SAMPLE.index("(width + height)") + len("(width + height)")


async def fill_two(pilot, screen: EditorScreen) -> None:
    """Insertion holes at the start of row 3 and the end of row 10, filled by the scripted model."""
    canvas = screen.canvas
    canvas.add_hole(HoleMark(ROW3, ROW3, length=24))
    canvas.add_hole(HoleMark(ROW10_END, ROW10_END, length=24))
    await pilot.press("ctrl+g")
    await wait_until(pilot, lambda: screen.fill_state == "pending", what="the fill")


async def test_a_multi_line_result_waits_on_its_own_rows_exactly_as_tab_keeps_it(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, backend=ScriptedBackend(["import math\nimport sys\n", "  # x"]), steps=24)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await fill_two(pilot, screen)
        canvas = screen.canvas
        waiting = [canvas.get_line(row).plain for row in range(canvas.document.line_count)]
        assert waiting[3:6] == ["import math", "import sys", "def area(width, height):"]  # no ↵, no squeezing
        assert canvas.document[-2].endswith("(width + height)  # x")
        await pilot.press("tab")
        kept = [canvas.get_line(row).plain for row in range(canvas.document.line_count)]
        assert kept == waiting  # nothing moves when it is accepted
        assert screen.fill_state == "idle"


async def test_a_shorter_result_leaves_no_phantom_rows(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, backend=ScriptedBackend(["area"]), steps=8)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        body = SAMPLE.index('    """The area')
        canvas.add_hole(HoleMark(body, SAMPLE.index("    return result") + len("    return result")))  # three rows
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        assert canvas.document.line_count == SAMPLE.count("\n") + 1 - 2  # three rows became one
        assert canvas.document[4] == "area"


async def test_accept_one_hole_reject_another_then_fill_it_again(make_app, sample_path: Path) -> None:
    backend = ScriptedBackend(["# first\n", "  # second"])
    app = make_app(sample_path, backend=backend, steps=16)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await fill_two(pilot, screen)
        assert len(canvas.holes.in_state(PENDING)) == 2
        canvas.move_cursor(canvas.location_of(canvas.holes.slots[0].start))
        await pilot.press("alt+a")  # accept the first
        assert [s.state for s in canvas.holes.slots] == [PENDING]
        canvas.move_cursor(canvas.location_of(canvas.holes.slots[0].start))
        await pilot.press("alt+r")  # reject the second: its text goes, its hole stays
        assert canvas.text == SAMPLE.replace("def area", "# first\ndef area", 1)
        assert [s.state for s in canvas.holes.slots] == [MARKED]
        assert screen.fill_state == "idle"
        backend.answers = ["  # third"]
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        assert screen.pending.params.seed == 1  # a rejection moves the seed on
        await pilot.press("tab")
        assert canvas.text == SAMPLE.replace("def area", "# first\ndef area", 1).replace(
            "(width + height)\n", "(width + height)  # third\n"
        )


async def test_accept_the_next_word_then_the_next_line_then_reject_the_rest(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, backend=ScriptedBackend(["value = compute(x)\nnext line\nlast"]), steps=40)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        canvas.add_hole(HoleMark(ROW3, ROW3, length=40))
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        await pilot.press("ctrl+right")  # the next word
        slot = canvas.holes.slots[0]
        assert canvas.text[ROW3 : slot.start] == "value"
        assert canvas.cursor_location == canvas.location_of(slot.start)
        await pilot.press("ctrl+right")
        assert canvas.text[ROW3 : slot.start] == "value ="
        await pilot.press("alt+right")  # the rest of the line, its break included
        assert canvas.text[ROW3 : slot.start] == "value = compute(x)\n"
        await pilot.press("escape")  # reject what is left
        assert canvas.text == SAMPLE.replace("def area", "value = compute(x)\ndef area", 1)
        assert screen.fill_state == "idle"
        assert [m.start == m.end for m in canvas.holes] == [True]  # a hole stays where the rest was


async def test_ctrl_right_moves_a_word_when_nothing_waits(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        await pilot.press("down", "down", "down", "ctrl+right")
        assert canvas.cursor_location == (3, 3)
        assert canvas.text == SAMPLE


async def test_a_result_that_breaks_the_syntax_is_flagged_before_accepting(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, backend=ScriptedBackend(["(((", "  # fine"]), steps=16)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await fill_two(pilot, screen)
        first, second = canvas.holes.slots
        assert first.proposal.parse_error and not second.proposal.parse_error
        assert "⚠ does not parse" in canvas.get_line(3).plain
        assert "does not parse" in screen.status.part("progress")


async def test_a_revision_shows_only_what_changed(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        start = SAMPLE.index("width * height")
        slot, _ = canvas.holes.insert(HoleMark(start, start + 14, revise=0.3), "filling")
        original = canvas.text[start : start + 14]
        proposal = Proposal(original, slot.mark, 1, 0, changes=((6, 7),))  # only "*" became "+"
        canvas.write_proposals([(slot, "width + height", proposal)], fill_id=1)
        screen._refresh_state()
        await pilot.pause()
        line = canvas.get_line(5)
        underlined = {line.plain[s.start : s.end] for s in line.spans if s.style and "underline" in str(s.style)}
        assert underlined == {"+"}
        assert "⟨1 change⟩" in line.plain


async def test_the_last_rejected_result_comes_back_with_alt_z(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, backend=ScriptedBackend(["# kept for later\n", "  # and this"]), steps=20)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await fill_two(pilot, screen)
        filled = canvas.text
        await pilot.press("escape")
        assert canvas.text == SAMPLE and len(canvas.holes) == 2
        await pilot.press("ctrl+z")  # nothing of the rejected fill is in the history
        assert canvas.text == SAMPLE
        await pilot.press("alt+z")
        assert canvas.text == filled
        assert [s.state for s in canvas.holes.slots] == [PENDING, PENDING]
        await pilot.press("tab")
        assert canvas.text == filled and not canvas.holes


async def test_undo_while_a_result_waits_takes_it_back_and_marks_the_holes(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, backend=ScriptedBackend(["# a\n", " # b"]), steps=8)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await fill_two(pilot, screen)
        await pilot.press("ctrl+z")
        assert canvas.text == SAMPLE
        assert [s.state for s in canvas.holes.slots] == [MARKED, MARKED]
        assert screen.fill_state == "idle"


async def test_saving_while_results_wait_writes_the_file_without_them(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, backend=ScriptedBackend(["# a\n", " # b"]), steps=8)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await fill_two(pilot, screen)
        screen.canvas.move_cursor((0, 0))
        await pilot.press("x")  # typed while the results wait
        await pilot.press("ctrl+s")
        assert sample_path.read_text(encoding="utf-8") == "x" + SAMPLE
        assert screen.fill_state == "pending"  # still waiting in the editor
        await pilot.press("tab")
        assert screen.dirty


async def test_the_status_tells_the_truth_after_undo_and_in_a_newly_opened_file(
    make_app, sample_path: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.py"
    other.write_text("x = 1\n", encoding="utf-8")
    app = make_app(sample_path, backend=ScriptedBackend(["# a\n", " # b"]), steps=8)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await fill_two(pilot, screen)
        await pilot.press("tab")
        assert "accepted" in screen.status.part("progress")
        await pilot.press("ctrl+z")
        assert "accepted" not in screen.status.part("progress")
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        await pilot.press("escape")
        assert "rejected" in screen.status.part("progress")
        await pilot.press("x")  # any edit retires the note
        assert "rejected" not in screen.status.part("progress")
        await pilot.press("escape", "escape")
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        await pilot.press("escape")
        assert "rejected" in screen.status.part("progress")
        screen.open_document(load_document(other))
        await pilot.pause()
        assert screen.status.part("progress") == ""
        assert screen.canvas.text == "x = 1\n"
