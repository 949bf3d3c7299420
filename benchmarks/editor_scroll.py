"""Keystroke-to-render latency of the editor on a 10,000-line Python file, headless, idle or while a fill streams.

    python benchmarks/editor_scroll.py                      # 10,000 lines, 120x40 terminal, idle
    python benchmarks/editor_scroll.py --during-fill        # the same keys while the bundled model fills a hole
    python benchmarks/editor_scroll.py --gap 0.04                 # keys 40 ms apart, as a held key repeats
    python benchmarks/editor_scroll.py --lines 25000 --no-highlight
    python benchmarks/editor_scroll.py --fill-cost          # the editor thread's CPU per pass of a fill

Opens the file in ``CanvasEditApp`` under Textual's test driver, presses keys and times each one
from the press to the next frame the screen composes (the moment the rows are re-rendered).
Prints, per kind of key, wall-clock mean / p95 / max and the CPU the app's thread spent on
it (mean and p95): on a shared machine wall time includes waiting for a core, CPU time does
not, so the two together say whether the editor or the machine is slow. This prints numbers;
it is not a test and asserts nothing.

``--during-fill`` loads the bundled model and keeps a 128-token hole filling (restarted when it
finishes), 30 rows above the cursor, so every pass redraws part of the screen while the keys
are pressed; the fill's thread competes for the interpreter with the keystrokes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CANVASEDIT_HOME", tempfile.mkdtemp(prefix="canvasedit-bench-"))

from canvasedit.config import Settings  # noqa: E402
from canvasedit.document import load_document  # noqa: E402
from canvasedit.ui.app import CanvasEditApp  # noqa: E402
from canvasedit.ui.holes import HoleMark  # noqa: E402

CHUNK = '''

def function_{i}(values, scale={i}):
    """Scale the positive values; chunk {i} of a generated benchmark file."""
    result = []
    for value in values:
        if value > 0:
            result.append(value * scale)  # keep only positives
    return sorted(result, reverse=True)
'''


class NoModel:
    """Stands in for a loaded backend so the editor skips model loading; never asked to fill."""

    name, device, model_name, max_length = "none", "cpu", "benchmark", 4096

    def encode(self, text: str) -> list[int]:
        return list(range(len(text.split())))


def make_file(folder: Path, lines: int) -> Path:
    chunk_lines = CHUNK.count("\n")
    text = "".join(CHUNK.format(i=i) for i in range(lines // chunk_lines + 1))
    text = "\n".join(text.splitlines()[:lines]) + "\n"
    path = folder / "big.py"
    path.write_text(text, encoding="utf-8")
    return path


def bundled_backend():
    from canvasedit.engine import open_backend
    from canvasedit.models.catalog import resolve_model

    return open_backend(resolve_model(None), device="cpu")


async def measure(
    path: Path, size: tuple[int, int], highlight: bool, during_fill: bool, scale: float = 1.0, gap: float = 0.0
) -> dict[str, list[tuple[float, float]]]:
    document = load_document(path)
    if not highlight:
        document.path = path.with_suffix(".txt")
    backend = bundled_backend() if during_fill else NoModel()
    settings = Settings(sampler={"steps": 128}) if during_fill else Settings()
    app = CanvasEditApp(document, backend=backend, settings=settings, cursor_blink=False)
    frames: list[tuple[float, float]] = []
    results: dict[str, list[tuple[float, float]]] = {}
    start = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        display = app._display

        def timed_display(screen, renderable) -> None:
            if renderable is not None:
                frames.append((time.perf_counter(), time.thread_time()))
            display(screen, renderable)

        app._display = timed_display  # every composed frame passes through here, headless too
        await pilot.pause()
        results["open (to first idle)"] = [(time.perf_counter() - start, 0.0)]
        screen = app.screen
        canvas = screen.canvas

        def keep_filling() -> None:
            if during_fill and screen.fill_state != "filling":
                if screen.fill_state == "pending":
                    screen.reject_fill()
                hole = canvas.offset_of((4970, 4))
                if not canvas.holes.at(hole):
                    canvas.add_hole(HoleMark(hole, hole, length=128))
                screen.start_fill()

        async def press(kind: str, key: str, times: int) -> None:
            for _ in range(max(1, round(times * scale))):
                keep_filling()
                seen = len(frames)
                t0, c0 = time.perf_counter(), time.thread_time()
                await pilot.press(key)
                deadline = t0 + 5
                while len(frames) <= seen and time.perf_counter() < deadline:
                    await asyncio.sleep(0.0005)
                if len(frames) > seen:
                    wall, cpu = frames[seen]
                    results.setdefault(kind, []).append((wall - t0, cpu - c0))
                if gap:
                    await asyncio.sleep(max(0.0, t0 + gap - time.perf_counter()))

        canvas.move_cursor((5000, 0), center=True)
        await pilot.pause()
        if during_fill:
            keep_filling()
            while screen.steps_drawn < 2:
                await asyncio.sleep(0.01)
        for _ in range(5):  # up and down inside the view: no scrolling
            await press("cursor move (in view)", "down", 15)
            await press("cursor move (in view)", "up", 15)
        canvas.move_cursor((5000, 0), center=True)
        await pilot.pause()
        await press("cursor down (scrolls)", "down", 100)
        await press("page down (scroll)", "pagedown", 60)
        await press("page up (scroll)", "pageup", 30)
        canvas.move_cursor((5000, 0), center=True)
        await pilot.pause()
        await press("type a character", "x", 40)
        await press("backspace", "backspace", 40)
        for row in (4990, 5010, 5030):  # with holes, every edit also moves them
            canvas.move_cursor((row, 4))
            canvas.add_hole_at_cursor(16)
        canvas.move_cursor((5000, 4))
        await pilot.pause()
        await press("type with 3 holes", "y", 30)
        await press("grow selection (alt+up)", "alt+up", 5)
        screen.cancel_fill()
    return results


async def fill_cost(path: Path, size: tuple[int, int], fills: int = 3, steps: int = 64) -> list[tuple[float, float, int]]:
    """What a fill's passes cost the editor's own thread: ``fills`` fills of a 64-token hole with the bundled
    model, one token per step; for each, the main thread's CPU seconds, the wall seconds and the passes drawn."""
    settings = Settings(sampler={"steps": steps, "threshold": 0.0, "cache": "exact"})
    app = CanvasEditApp(load_document(path), backend=bundled_backend(), settings=settings, cursor_blink=False)
    out = []
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen, canvas = app.screen, app.screen.canvas
        canvas.move_cursor((5000, 0), center=True)
        await pilot.pause()
        for _ in range(fills):
            if screen.fill_state == "pending":
                screen.reject_fill()
                await pilot.pause()
            hole = canvas.offset_of((4990, 4))
            canvas.add_hole(HoleMark(hole, hole, length=steps))
            c0, t0 = time.thread_time(), time.perf_counter()
            screen.start_fill()
            while screen.fill_state != "pending":
                await asyncio.sleep(0.005)
            out.append((time.thread_time() - c0, time.perf_counter() - t0, screen.steps_drawn))
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--no-highlight", action="store_true", help="open as plain text (no tree-sitter)")
    parser.add_argument("--during-fill", action="store_true", help="press the keys while the bundled model fills a hole")
    parser.add_argument("--gap", type=float, default=0.0,
                        help="seconds from one key press to the next, as a held key repeats (0.04 is 25 a second, "
                             "the X server's default); 0 presses each key as soon as the last one is drawn")
    parser.add_argument("--scale", type=float, default=None,
                        help="press each key this share of the usual times (default 1, or 0.25 with --during-fill)")
    parser.add_argument("--fill-cost", action="store_true",
                        help="instead: the editor thread's CPU per pass of three 64-step fills of the bundled model")
    args = parser.parse_args()
    if args.fill_cost:
        with tempfile.TemporaryDirectory() as folder:
            runs = asyncio.run(fill_cost(make_file(Path(folder), args.lines), (args.width, args.height)))
        for cpu, wall, passes in runs:
            print(f"fill of {passes} passes: editor thread CPU {cpu * 1000:.0f} ms ({cpu * 1000 / passes:.2f} ms per pass), "
                  f"wall {wall:.2f} s")
        return
    scale = args.scale if args.scale is not None else (0.25 if args.during_fill else 1.0)
    with tempfile.TemporaryDirectory() as folder:
        path = make_file(Path(folder), args.lines)
        results = asyncio.run(measure(path, (args.width, args.height), not args.no_highlight, args.during_fill, scale,
                                      args.gap))
    what = "plain text" if args.no_highlight else "python, tree-sitter highlighting"
    when = "while a fill streams" if args.during_fill else "idle"
    when += f", a key every {args.gap * 1000:.0f} ms" if args.gap else ", each key as soon as the last is drawn"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.lines:,} lines ({what}), {args.width}x{args.height}, headless, {when}; "
          f"{os.cpu_count()} CPUs, load average {load:.2f}; milliseconds")
    print(f"{'key':28} {'n':>4} {'mean':>8} {'p95':>8} {'max':>8} {'cpu mean':>9} {'cpu p95':>8}")
    for kind, samples in results.items():
        wall = [w * 1000 for w, _ in samples]
        cpu = [c * 1000 for _, c in samples]
        print(f"{kind:28} {len(wall):4d} {statistics.fmean(wall):8.1f} {p95(wall):8.1f} {max(wall):8.1f} "
              f"{statistics.fmean(cpu):9.1f} {p95(cpu):8.1f}")


if __name__ == "__main__":
    main()
