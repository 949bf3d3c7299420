"""Keystroke-to-render latency of the editor on a 10,000-line Python file, headless.

    python benchmarks/editor_scroll.py                 # 10,000 lines, 120x40 terminal
    python benchmarks/editor_scroll.py --lines 25000 --no-highlight

Opens the file in ``CanvasEditApp`` under Textual's test driver (no model: nothing here fills),
presses keys and times each one from the press to the next frame the screen composes (the
moment TextArea has re-rendered the rows). Prints mean and p95 per kind of key. This prints
numbers; it is not a test and asserts nothing.

Typing is the expensive case. TextArea alone re-highlights the whole file on every edit (Textual
issues #5642/#5645: ~0.3 s per keystroke here), which is why fill passes are drawn as an overlay
and why the canvas highlights only the rows near the view in files over 2,000 lines.
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


async def measure(path: Path, size: tuple[int, int], highlight: bool) -> dict[str, list[float]]:
    document = load_document(path)
    if not highlight:
        document.path = path.with_suffix(".txt")
    app = CanvasEditApp(document, backend=NoModel(), settings=Settings(), cursor_blink=False)
    frames: list[float] = []
    results: dict[str, list[float]] = {}
    start = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        display = app._display

        def timed_display(screen, renderable) -> None:
            if renderable is not None:
                frames.append(time.perf_counter())
            display(screen, renderable)

        app._display = timed_display  # every composed frame passes through here, headless too
        await pilot.pause()
        results["open (to first idle)"] = [time.perf_counter() - start]
        canvas = app.screen.canvas

        async def press(kind: str, key: str, times: int) -> None:
            for _ in range(times):
                seen = len(frames)
                t0 = time.perf_counter()
                await pilot.press(key)
                deadline = t0 + 5
                while len(frames) <= seen and time.perf_counter() < deadline:
                    await asyncio.sleep(0.0005)
                if len(frames) > seen:
                    results.setdefault(kind, []).append(frames[seen] - t0)

        await press("cursor down", "down", 200)
        await press("page down (scroll)", "pagedown", 60)
        await press("page up (scroll)", "pageup", 30)
        canvas.move_cursor((5000, 0))
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
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--no-highlight", action="store_true", help="open as plain text (no tree-sitter)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = make_file(Path(folder), args.lines)
        results = asyncio.run(measure(path, (args.width, args.height), not args.no_highlight))
    what = "plain text" if args.no_highlight else "python, tree-sitter highlighting"
    print(f"{args.lines:,} lines ({what}), {args.width}x{args.height}, headless; milliseconds")
    print(f"{'key':28} {'n':>4} {'mean':>8} {'p95':>8} {'max':>8}")
    for kind, times in results.items():
        ms = sorted(t * 1000 for t in times)
        p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
        print(f"{kind:28} {len(ms):4d} {statistics.fmean(ms):8.1f} {p95:8.1f} {ms[-1]:8.1f}")


if __name__ == "__main__":
    main()
