"""Snapshots of the main screens (pytest-textual-snapshot); regenerate with ``--snapshot-update``.

The passes shown mid-fill and the pending result are built here rather than sampled from the tiny
model: a random model's argmax can differ between CPUs, and a snapshot must not.
"""

from __future__ import annotations

from pathlib import Path

from canvasedit.config import Settings
from canvasedit.document import load_document
from canvasedit.engine import Piece
from canvasedit.ui.app import CanvasEditApp
from canvasedit.ui.holes import Proposal
from tests.ui.conftest import PacedBackend, step_event

EXAMPLE = Path(__file__).parents[2] / "samples" / "example.py"
SIZE = (100, 32)


def example_app(tiny_backend) -> CanvasEditApp:
    return CanvasEditApp(
        load_document(EXAMPLE), backend=PacedBackend(tiny_backend), settings=Settings(), cursor_blink=False
    )


async def mark_two_holes(pilot) -> None:
    """Mask the body of `top_words` (grown from inside) and add a 12-token insertion point after it."""
    pilot.app.screen.canvas.move_cursor((49, 20))  # into `top_words` (placing the cursor is not under test)
    await pilot.press("alt+up", "alt+up", "alt+up", "ctrl+b")
    await pilot.press("down", "end", "ctrl+down", "ctrl+down", "ctrl+down", "ctrl+b")


def test_editor_with_holes(snap_compare, tiny_backend) -> None:
    assert snap_compare(example_app(tiny_backend), terminal_size=SIZE, run_before=mark_two_holes)


def test_editor_mid_fill(snap_compare, tiny_backend) -> None:
    async def run_before(pilot) -> None:
        await mark_two_holes(pilot)
        screen = pilot.app.screen
        replace = (
            Piece("sorted", "done", 0.9),
            Piece("(", "done", 0.8),
            Piece("░", "masked"),
            Piece("░", "masked"),
            Piece(".items", "new", 0.7),
            Piece("()", "done", 0.1),
            Piece("░", "masked"),
        )
        insert = (Piece("\n", "done", 0.6), Piece("    ", "new", 0.9)) + (Piece("░", "masked"),) * 14
        event = step_event(3, 8, (replace, insert), nfe=3, elapsed=0.25)
        slots = screen.canvas.holes.slots
        screen.canvas.set_state(slots, "filling")
        # What start_fill and on_fill_step set for a running fill, without a model thread.
        screen._active_fill, screen._fill_slots = 1, tuple(s.id for s in slots)
        screen.canvas.show_pass(event, screen._fill_slots)
        screen._progress = "step 3/8 · NFE 3 · 24 tok/s · escape stops"
        screen._refresh_state()
        await pilot.pause()

    assert snap_compare(example_app(tiny_backend), terminal_size=SIZE, run_before=run_before)


def test_editor_pending_result(snap_compare, tiny_backend) -> None:
    async def run_before(pilot) -> None:
        await mark_two_holes(pilot)
        screen = pilot.app.screen
        canvas = screen.canvas
        first = "sorted(stats.counts.items(), key=lambda kv: (-kv[1], kv[0]))"
        second = "\n    assert len(ranked) <= len(stats.counts)"
        writes = [
            (slot, text, Proposal(canvas.text[slot.start : slot.end], slot.mark, 1, i))
            for i, (slot, text) in enumerate(zip(canvas.holes.slots, (first, second)))
        ]
        canvas.write_proposals(writes, fill_id=1)
        screen._refresh_state()
        await pilot.pause()

    assert snap_compare(example_app(tiny_backend), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, tiny_backend) -> None:
    assert snap_compare(example_app(tiny_backend), terminal_size=(110, 40), press=["f1"])


def test_settings_screen(snap_compare, tiny_backend) -> None:
    assert snap_compare(example_app(tiny_backend), terminal_size=(100, 44), press=["f2"])


def test_confirm_quit_dialog(snap_compare, tiny_backend) -> None:
    assert snap_compare(example_app(tiny_backend), terminal_size=SIZE, press=["x", "ctrl+q"])
