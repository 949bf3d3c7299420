"""Plain-text screen captures of the editor's diffusion features, driven with real keys on the bundled model.

The editor opens a copy of ``samples/example.py`` (fixed seed, one CPU thread) in Textual's
headless Pilot and each feature is run by its key: instruction revise (alt+i: the bundled model
has no chat template, so the capture shows what the editor says and which catalog models offer
it), the suspicion heatmap (alt+h), a fill and the same fill again longer and shorter (ctrl+b,
ctrl+g, alt+l, alt+k), and outline expand (alt+o, on a copy of the sample whose two functions
keep only their docstrings). Each capture is printed as a Markdown fenced text block, ready to
paste into the README, with the wall time the feature took::

    python benchmarks/feature_captures.py                    # about 20 s on one core
    python benchmarks/feature_captures.py --width 120 --height 32 --steps 16 --seed 0 --threshold 0.001

A capture is the screen's text as the terminal would show it: every visible widget's rendered
lines (``Widget.render_lines``) painted where the screen placed it (``Screen.find_widget``), back
to front. Colour cannot be pasted as text, so under every row of the heatmap capture that has a
shaded token, a row that is not on the screen marks the tokens: ``^`` under a marked one (red,
below the threshold), ``.`` under a doubtful one (dark red, below ten times the threshold).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from canvasedit.runtime import apply_threads  # torch is not imported yet: apply_threads comes first

SAMPLE = ROOT / "samples" / "example.py"


def outline_of(source: str, names: tuple[str, ...]) -> str:
    """``source`` with the functions ``names`` cut down to their docstrings: an outline to expand."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    cuts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in names and len(node.body) > 1:
            doc = node.body[0]
            assert isinstance(doc, ast.Expr) and doc.end_lineno is not None and node.end_lineno is not None
            cuts.append((doc.end_lineno, node.end_lineno))
    for first, last in sorted(cuts, reverse=True):  # 1-based lines after the docstring, to the function's end
        del lines[first:last]
    return "".join(lines)


# -- the screen as text ---------------------------------------------------------------------------------------

Cell = tuple[str, object]


def screen_cells(app) -> list[list[Cell]]:
    """Every cell of the screen as ``(character, rich style)``: each visible widget's lines, back to front."""
    from rich.segment import Segment
    from textual.errors import NoWidget
    from textual.geometry import Region

    screen = app.screen
    width, height = app.size
    grid: list[list[Cell]] = [[(" ", None)] * width for _ in range(height)]
    widgets = [screen, *screen.walk_children(with_self=False)]
    for widget in list(widgets):  # scrollbars are drawn by the screen, not children of their widget
        for bar in ("vertical_scrollbar", "horizontal_scrollbar", "scrollbar_corner"):
            if getattr(widget, f"show_{bar}", False) or (bar == "scrollbar_corner" and getattr(
                    widget, "show_vertical_scrollbar", False) and getattr(widget, "show_horizontal_scrollbar", False)):
                widgets.append(getattr(widget, bar))
    placed = []
    for widget in widgets:
        try:
            geometry = screen.find_widget(widget)
        except NoWidget:
            continue
        placed.append((geometry.order, id(widget), widget, geometry))
    for _, _, widget, geometry in sorted(placed, key=lambda p: p[:2]):
        region, clip = geometry.region, geometry.clip
        visible = region.intersection(clip)
        if not visible.area:
            continue
        crop = Region(visible.x - region.x, visible.y - region.y, visible.width, visible.height)
        for dy, strip in enumerate(widget.render_lines(crop)):
            y, x = visible.y + dy, visible.x
            if not 0 <= y < height:
                continue
            for segment in strip:
                if segment.control:
                    continue
                for char in segment.text:
                    if x >= visible.right or x >= width:
                        break
                    grid[y][x] = (char, segment.style)
                    x += Segment(char).cell_length or 1
    return grid


def screen_text(cells: list[list[Cell]], marks: Callable[[object], str] | None = None) -> str:
    """The cells as lines (trailing spaces cut); with ``marks``, a row under each row that has a marked cell."""
    out = []
    for row in cells:
        out.append("".join(char for char, _ in row).rstrip())
        if marks is not None:
            under = "".join(marks(style) or " " for _, style in row).rstrip()
            if under:
                out.append(under)
    return "\n".join(out)


def heat_mark(style: object) -> str:
    from canvasedit.ui.widgets.heatmap import DOUBTFUL_STYLE, MARKED_STYLE

    bg = getattr(style, "bgcolor", None)
    if bg is not None and bg == MARKED_STYLE.bgcolor:
        return "^"
    if bg is not None and bg == DOUBTFUL_STYLE.bgcolor:
        return "."
    return ""


# -- driving the editor ---------------------------------------------------------------------------------------


async def until(pilot, condition: Callable[[], bool], what: str, seconds: float = 600.0) -> None:
    begun = time.perf_counter()
    while not condition():
        if time.perf_counter() - begun > seconds:
            raise TimeoutError(f"waited {seconds:.0f} s for {what}")
        await pilot.pause(0.05)
    await pilot.pause()


async def timed(pilot, keys: tuple[str, ...], condition: Callable[[], bool], what: str) -> float:
    """Press ``keys`` and wait for ``condition``; the seconds from the first key to it."""
    begun = time.perf_counter()
    await pilot.press(*keys)
    await until(pilot, condition, what)
    return time.perf_counter() - begun


async def on_results(pilot, app) -> int:
    """The view on the waiting results and the cursor on the first, so the status line says its length;
    notifications (the demo model's note after the first fill) cleared. Returns the results waiting."""
    canvas = app.screen.canvas
    slots = [s for s in canvas.holes.slots if s.proposal is not None]
    canvas.move_cursor(canvas.location_of(slots[-1].end))
    canvas.move_cursor(canvas.location_of(slots[0].start))
    app.clear_notifications()
    await pilot.pause(0.3)
    return len(slots)


def lengths(screen) -> str:
    """What the status line says of the result under the cursor (cut off on a narrow screen)."""
    return "status line: " + screen.length_note().strip(" ·").split(" · ")[0]


async def captures(args: argparse.Namespace, backend, folder: Path) -> list[tuple[str, str, str]]:
    """``(title, note, capture)`` for every feature, in the order the README shows them."""
    from canvasedit.config import EditorSettings, ModelSettings, Settings
    from canvasedit.document import load_document
    from canvasedit.ui.app import CanvasEditApp
    from canvasedit.ui.screens.editor_features import instruct_models

    source = SAMPLE.read_text(encoding="utf-8")
    settings = Settings(sampler={"steps": args.steps, "seed": args.seed},
                        editor=EditorSettings(suspicion_threshold=args.threshold), model=ModelSettings(threads=1))
    path = folder / "example.py"
    path.write_text(source, encoding="utf-8")
    size = (args.width, args.height)
    out: list[tuple[str, str, str]] = []
    app = CanvasEditApp(load_document(path), settings=settings, backend=backend, cursor_blink=False)
    async with app.run_test(size=size, notifications=True) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await until(pilot, lambda: screen.backend is not None, "the model")

        await timed(pilot, ("alt+i",), lambda: bool(app.screen.query("Toast")), "the editor's answer")
        await pilot.pause(0.3)
        note = (f"{backend.model_name} has no chat template, so the editor says so and names instruct models; "
                f"the catalog's instruct models are {', '.join(instruct_models())}")
        out.append(("Instruction revise (alt+i)", note, screen_text(screen_cells(app))))
        app.clear_notifications()

        canvas.move_cursor(canvas.location_of(source.index("def read_stats")))
        took = await timed(pilot, ("alt+h",), lambda: screen.heatmap is not None, "the heatmap")
        note = (f"{len(screen.heatmap.marked)} of {len(screen.heatmap.tokens)} tokens below p={args.threshold:g}, "
                f"the document scored in {took:.1f} s")
        out.append(("Suspicion heatmap (alt+h)", note, screen_text(screen_cells(app), heat_mark)))
        await pilot.press("escape")

        body = source.index("    ranked = sorted(")
        end = source.index("return ranked[:n]") + len("return ranked[:n]")
        canvas.select_offsets(body, end)
        took = await timed(pilot, ("ctrl+b", "ctrl+g"), lambda: screen.fill_state == "pending", "the fill")
        await on_results(pilot, app)
        out.append(("A fill (ctrl+b on the body of top_words, ctrl+g)",
                    f"filled in {took:.1f} s; {lengths(screen)}", screen_text(screen_cells(app))))
        for key, what in (("alt+l", "again longer"), ("alt+k", "again shorter")):
            took = await timed(pilot, (key,), lambda: screen.fill_state == "pending", f"the fill {what}")
            await on_results(pilot, app)
            out.append((f"Fill {what} ({key})", f"filled in {took:.1f} s; {lengths(screen)}",
                        screen_text(screen_cells(app))))
        await pilot.press("escape")

    outline = outline_of(source, ("read_stats", "top_words"))
    path = folder / "outline.py"
    path.write_text(outline, encoding="utf-8")
    app = CanvasEditApp(load_document(path), settings=settings, backend=backend, cursor_blink=False)
    async with app.run_test(size=size, notifications=True) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await until(pilot, lambda: screen.backend is not None, "the model")
        took = await timed(pilot, ("alt+o",), lambda: screen.fill_state == "pending", "the outline's bodies")
        bodies = await on_results(pilot, app)
        note = f"read_stats and top_words cut to their docstrings; {bodies} bodies written in one fill in {took:.1f} s"
        out.append(("Outline expand (alt+o)", note, screen_text(screen_cells(app))))
        await pilot.press("escape")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=32)
    parser.add_argument("--steps", type=int, default=16, help="denoising steps of every fill")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.001,
                        help="the heatmap's suspicion threshold (the editor's default, 0.01, marks half the "
                             "bundled model's tokens)")
    args = parser.parse_args(argv)
    if args.width < 40 or args.height < 10 or args.steps < 1 or not 0.0 < args.threshold < 1.0:
        print("feature_captures: --width >= 40, --height >= 10, --steps >= 1 and a --threshold in (0, 1)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="canvasedit-captures-") as home:
        os.environ["CANVASEDIT_HOME"] = home  # no user config, no recovery journal of theirs
        apply_threads(1)
        from canvasedit.engine import open_backend
        from canvasedit.models.catalog import resolve_model

        backend = open_backend(resolve_model(None), device="cpu")
        shots = asyncio.run(captures(args, backend, Path(home)))
    print(f"<!-- benchmarks/feature_captures.py --width {args.width} --height {args.height} --steps {args.steps} "
          f"--seed {args.seed} --threshold {args.threshold:g}; {backend.model_name} on CPU, 1 thread -->")
    for title, note, text in shots:
        print(f"\n**{title}** — {note}\n\n```text\n{text}\n```")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
