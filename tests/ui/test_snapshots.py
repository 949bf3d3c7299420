"""Snapshots of the main screens (pytest-textual-snapshot); regenerate with ``--snapshot-update``.

The passes shown mid-fill and the pending result are built here rather than sampled from the tiny
model: a random model's argmax can differ between CPUs, and a snapshot must not.
"""

from __future__ import annotations

from pathlib import Path

from canvasedit.config import Settings
from canvasedit.document import load_document
from canvasedit.engine import FilledHole, FillResult, Piece, SamplerParams, StepEvent
from canvasedit.ui.app import CanvasEditApp
from tests.ui.conftest import PacedBackend

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
        event = StepEvent(3, 8, (), (), ("", ""), (replace, insert), nfe=3, elapsed=0.25)
        screen.fill_state = "filling"
        screen.canvas.show_pass(event)
        screen.status.set_progress("step 3/8 · NFE 3 · 24 tok/s · escape stops")
        await pilot.pause()

    assert snap_compare(example_app(tiny_backend), terminal_size=SIZE, run_before=run_before)


def test_editor_pending_result(snap_compare, tiny_backend) -> None:
    async def run_before(pilot) -> None:
        await mark_two_holes(pilot)
        screen = pilot.app.screen
        canvas = screen.canvas
        old = canvas.text
        (a0, a1), (b0, _) = [(m.start, m.end) for m in canvas.holes]
        first = "sorted(stats.counts.items(), key=lambda kv: (-kv[1], kv[0]))"
        second = "\n    assert len(ranked) <= len(stats.counts)"
        text = old[:a0] + first + old[a1:b0] + second + old[b0:]
        shift = len(first) - (a1 - a0)
        holes = (
            FilledHole(0, "replace", first, a0, a0 + len(first), a0, a1, ()),
            FilledHole(1, "insert", second, b0 + shift, b0 + shift + len(second), b0, b0, ()),
        )
        result = FillResult(text, holes, nfe=8, steps=8, elapsed=0.5, tokens_committed=40, trace=(), params=SamplerParams())
        screen.fill_state = "pending"
        screen.pending = result
        canvas.show_result(result)
        screen.status.set_progress("tab accept · escape reject · ctrl+r again · 8 steps · NFE 8 · 80 tok/s")
        await pilot.pause()

    assert snap_compare(example_app(tiny_backend), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, tiny_backend) -> None:
    assert snap_compare(example_app(tiny_backend), terminal_size=(110, 40), press=["f1"])


def test_settings_screen(snap_compare, tiny_backend) -> None:
    assert snap_compare(example_app(tiny_backend), terminal_size=(100, 44), press=["f2"])


def test_confirm_quit_dialog(snap_compare, tiny_backend) -> None:
    assert snap_compare(example_app(tiny_backend), terminal_size=SIZE, press=["x", "ctrl+q"])
