"""End to end with real keys: grow, mask, fill, watch passes, accept, undo, save; typing during a fill."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import TextArea

from canvasedit.ui.messages import FillFinished, FillStep
from canvasedit.ui.screens.editor import EditorScreen
from canvasedit.ui.widgets import CanvasArea
from tests.ui.conftest import SAMPLE, ScriptedBackend, wait_until


def editor(app) -> EditorScreen:
    assert isinstance(app.screen, EditorScreen)
    return app.screen


async def test_grow_mask_fill_accept_undo_save(make_app, sample_path: Path) -> None:
    steps: list[FillStep] = []
    finished: list[FillFinished] = []
    seen_rows: set[str] = set()  # row 5 as drawn when each pass arrives (so: after the previous one)

    def hook(message) -> None:
        if isinstance(message, FillStep):
            steps.append(message)
            seen_rows.add(app.screen.canvas.get_line(5).plain)
        elif isinstance(message, FillFinished):
            finished.append(message)

    app = make_app(sample_path, delay=0.05, steps=8)
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        screen = editor(app)
        canvas = screen.canvas
        assert canvas.text == SAMPLE
        assert screen.sub_title == "shapes.py"

        # Cursor into `width` of "    result = width * height" (row 5), then grow along the tree.
        await pilot.press(*["down"] * 5, *["right"] * 14)
        assert canvas.cursor_location == (5, 14)
        await pilot.press("alt+up")
        assert canvas.selected_text == "width"
        await pilot.press("alt+up")
        assert canvas.selected_text == "width * height"
        await pilot.press("alt+up")
        assert canvas.selected_text == "result = width * height"
        await pilot.press("alt+down")
        assert canvas.selected_text == "width * height"

        await pilot.press("ctrl+b")  # mask the selection
        masked = (SAMPLE.index("width * height"), SAMPLE.index("width * height") + len("width * height"))
        assert [(m.start, m.end, m.length) for m in canvas.holes] == [(*masked, None)]
        # An insertion point of 12 tokens at the end of "    return result".
        await pilot.press("down", "end", "ctrl+down", "ctrl+down", "ctrl+down")
        assert screen.hole_length == 12
        await pilot.press("ctrl+b")
        assert len(canvas.holes) == 2
        marks = list(canvas.holes)
        assert marks[1].length == 12
        assert "2 holes" in screen.status.part("holes")
        assert "⟨12⟩" in canvas.get_line(6).plain  # the insertion hole's label

        await pilot.press("ctrl+g")
        assert screen.fill_state in ("filling", "pending")
        assert not canvas.read_only  # editing goes on while the fill runs
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the fill to finish")

        # Passes arrived one by one and were drawn over the text, which did not change meanwhile.
        assert len(steps) >= 2
        assert all(s.fill_id == steps[0].fill_id for s in steps)
        masked_views = [row for row in seen_rows if "░" in row]
        assert len(masked_views) >= 1 and len(seen_rows) >= 2
        result = finished[-1].result
        assert result.steps == len(result.trace) >= len(steps)
        assert steps[-1].event.total_steps == steps[-1].event.step == result.steps  # the total was true
        # The result waits in the document itself, exactly as accepting it will leave it.
        assert canvas.text == result.text
        assert canvas.committed_text() == SAMPLE
        assert not screen.dirty  # results waiting are not changes yet

        await pilot.press("tab")  # accept
        assert screen.fill_state == "idle"
        assert canvas.text == result.text != SAMPLE
        assert not canvas.holes
        assert screen.dirty and screen.sub_title == "shapes.py ●"
        assert "accepted" in screen.status.part("progress")

        await pilot.press("ctrl+z")  # the whole fill is one undo step, and its holes come back
        assert canvas.text == SAMPLE
        assert list(canvas.holes) == marks
        assert "accepted" not in screen.status.part("progress")
        assert "undone" in screen.status.part("progress")
        await pilot.press("ctrl+y")
        assert canvas.text == result.text
        assert not canvas.holes

        await pilot.press("ctrl+s")
        assert sample_path.read_text(encoding="utf-8") == result.text
        assert not screen.dirty


async def test_escape_cancels_between_passes_and_leaves_the_text(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, delay=0.15, steps=32)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = editor(app)
        canvas = screen.canvas
        backend = screen.backend
        await pilot.press("down", "down", "down", "ctrl+b")  # a 32-token insertion at row 3
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.steps_drawn >= 1, what="the first pass")
        assert "░" in canvas.get_line(3).plain

        await pilot.press("escape")
        assert screen.fill_state == "idle"
        assert not canvas.overlay_active and not canvas.read_only
        assert canvas.text == SAMPLE
        assert len(canvas.holes) == 1  # kept for another try
        assert "cancelled" in screen.status.part("progress")

        await wait_until(pilot, lambda: not app.workers, what="the fill thread to stop")
        calls, drawn = backend.calls, screen.steps_drawn
        await pilot.pause(0.5)
        assert backend.calls == calls  # the engine stopped between passes
        assert calls < 32  # long before the 32 planned passes
        assert screen.steps_drawn == drawn and screen.pending is None
        assert canvas.text == SAMPLE
        assert canvas.get_line(3).plain.startswith(canvas.document[3])  # drawn as a hole again, no overlay


async def test_typing_goes_on_while_a_fill_runs_and_the_result_lands_where_the_hole_moved(
    make_app, sample_path: Path
) -> None:
    backend = ScriptedBackend(["import math\n"], delay=0.3)
    app = make_app(sample_path, backend=backend, steps=20)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = editor(app)
        canvas = screen.canvas
        await pilot.press("down", "down", "down", "ctrl+down", "ctrl+down", "ctrl+b")  # row 3: 16 tokens
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.steps_drawn >= 1, what="the first pass")
        await pilot.press("up", "up", "up", "home", *"# typed", "enter")  # above the hole, while it fills
        assert screen.fill_state == "filling"
        assert canvas.text == "# typed\n" + SAMPLE
        assert canvas.location_of(canvas.holes[0].start) == (4, 0)  # the hole moved down a row
        assert "░" in canvas.get_line(4).plain  # and its passes are drawn there
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the fill")
        assert canvas.text == "# typed\n" + SAMPLE.replace("def area", "import math\ndef area", 1)
        await pilot.press("tab")
        assert canvas.committed_text() == canvas.text and screen.dirty


async def test_an_edit_inside_a_hole_being_filled_drops_it_from_the_fill(make_app, sample_path: Path) -> None:
    backend = ScriptedBackend(["NEW", "OTHER"], delay=0.1)
    app = make_app(sample_path, backend=backend, steps=16)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = editor(app)
        canvas = screen.canvas
        await pilot.press(*["down"] * 5, "home", "shift+end", "ctrl+b")  # row 5, a range hole
        await pilot.press(*["down"] * 5, "end", "ctrl+b")  # row 10: an insertion point
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.steps_drawn >= 1, what="the first pass")
        await pilot.press(*["up"] * 5, "end", "left", "x")  # type inside the first hole
        assert len(canvas.holes) == 1 and screen.fill_state == "filling"
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the fill")
        assert canvas.document[5] == "    result = width * heighxt"  # the typed text, no result
        assert canvas.document[10].endswith("OTHER")
        assert any("changed while the fill ran" in n.message for n in app._notifications)


async def test_reject_keeps_text_and_holes_and_the_next_fill_rolls_again(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, steps=8)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = editor(app)
        canvas = screen.canvas
        await pilot.press("down", "down", "down", "ctrl+down", "ctrl+down", "ctrl+down", "ctrl+down", "ctrl+b")
        assert canvas.holes[0].length == 8
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        first = screen.pending
        assert first is not None and first.params.seed == 0

        await pilot.press("ctrl+r")  # regenerate: next seed, sampling
        await wait_until(pilot, lambda: screen.fill_state == "pending" and screen.pending is not first)
        second = screen.pending
        assert second.params.seed == 1 and second.params.temperature > 0

        await pilot.press("escape")  # reject
        assert screen.fill_state == "idle" and screen.pending is None
        assert canvas.text == SAMPLE
        assert len(canvas.holes) == 1
        assert "rejected" in screen.status.part("progress")

        await pilot.press("ctrl+g")  # after a reject, a plain fill does not hand back the same text
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        assert screen.pending.params.seed == 2  # one regeneration and one rejection so far
        await pilot.press("tab")
        await pilot.press("escape")  # nothing to reject any more
        assert not canvas.holes


async def test_ctrl_r_fills_marked_holes_with_the_next_seed_and_is_not_offered_without_holes(
    make_app, sample_path: Path
) -> None:
    app = make_app(sample_path, steps=4)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = editor(app)
        assert "ctrl+r" not in app.active_bindings  # so the footer does not offer it
        await pilot.press("ctrl+r")
        assert screen.fill_state == "idle" and screen.canvas.text == SAMPLE
        await pilot.press("down", "down", "ctrl+b")
        assert "ctrl+r" in app.active_bindings
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        assert screen.pending.params.seed == 1


async def test_tab_indents_when_no_fill_is_pending(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = editor(app).canvas
        await pilot.press("down", "down", "tab")
        assert canvas.document[2] == "    "
        assert canvas.text != SAMPLE


async def test_revise_selection_rewrites_only_inside_it(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, steps=8)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = editor(app)
        canvas = screen.canvas
        await pilot.press(*["down"] * 10, "end", "alt+up")  # "2 * (width + height)" … or its enclosing node
        start, end = canvas.selection_offsets()
        assert start < end
        await pilot.press("ctrl+t")
        assert screen.fill_state in ("filling", "pending")
        assert [m.kind for m in canvas.holes] == ["revise"]
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        result = screen.pending
        assert result.holes[0].kind == "revise"
        slot = canvas.holes.slots[0]
        assert slot.proposal.changes is not None  # a revision shows only what changed
        await pilot.press("tab")
        text = canvas.text
        assert text[:start] == SAMPLE[:start]
        assert text.endswith(SAMPLE[end:])


async def test_holes_follow_edits_before_them_and_vanish_when_their_text_changes(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = editor(app)
        canvas = screen.canvas
        await pilot.press(*["down"] * 10, "home", "shift+end", "ctrl+b")  # a range hole on row 10
        row10 = SAMPLE.index("return 2 *")  # home goes to the first non-blank column
        assert (canvas.holes[0].start, canvas.holes[0].end) == (row10, len(SAMPLE) - 1)
        await pilot.press("ctrl+up", "ctrl+up")  # resize the hole under the cursor
        assert canvas.holes[0].length is not None

        await pilot.press(*["up"] * 10, "home", "#", "space")  # two characters typed on row 0
        assert (canvas.holes[0].start, canvas.holes[0].end) == (row10 + 2, len(SAMPLE) + 1)

        await pilot.press("ctrl+z", "ctrl+z")  # undo restores the text, and the hole follows it back
        await wait_until(pilot, lambda: canvas.text == SAMPLE, what="undo")
        assert (canvas.holes[0].start, canvas.holes[0].end) == (row10, len(SAMPLE) - 1)

        await pilot.press(*["down"] * 10, "end", "left", "x")  # typing inside the hole removes it
        assert not canvas.holes
        assert "removed" in screen.status.part("progress")


async def test_remove_hole_under_cursor_and_clear_all(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas: CanvasArea = editor(app).canvas
        await pilot.press("down", "ctrl+b", "down", "down", "ctrl+b", "down", "ctrl+b")
        assert len(canvas.holes) == 3
        await pilot.press("up", "alt+x")
        assert [canvas.location_of(m.start)[0] for m in canvas.holes] == [1, 4]
        await pilot.press("alt+c")
        assert not canvas.holes
        assert canvas.text == SAMPLE


async def test_fill_without_holes_uses_the_cursor(make_app, sample_path: Path) -> None:
    app = make_app(sample_path, steps=4)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = editor(app)
        await pilot.press("down", "down", "ctrl+down", "ctrl+down", "ctrl+down", "ctrl+down", "ctrl+down", "ctrl+g")
        assert [(m.start, m.length) for m in screen.canvas.holes] == [(SAMPLE.index("\n\n") + 2, 4)]  # row 2 starts after two line breaks
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        assert isinstance(screen.focused, TextArea)
