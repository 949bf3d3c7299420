"""Fixtures for the editor tests: an app around the tiny model, a paced backend, a waiting helper.

The tiny model (tests/conftest.py) has random weights, so its fills are gibberish: tests assert on
behaviour (passes arrive, the text changes exactly once, undo restores it), never on content.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from canvasedit.config import Settings
from canvasedit.document import load_document
from canvasedit.ui.app import CanvasEditApp

SAMPLE = '''"""Shapes."""


def area(width, height):
    """The area of a rectangle."""
    result = width * height
    return result


def perimeter(width, height):
    return 2 * (width + height)
'''


class PacedBackend:
    """A real backend whose forward passes take at least ``delay`` seconds.

    Stands in for a large model on a slow machine, so a test can watch passes arrive one by one
    and cancel between them. ``model_name`` is fixed so snapshots do not depend on a folder name.
    """

    def __init__(self, inner, delay: float = 0.0, model_name: str = "tiny-llada") -> None:
        self._inner = inner
        self.delay = delay
        self.model_name = model_name
        self.name = inner.name
        self.device = inner.device
        self.calls = 0

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def logits(self, ids, rows=None):
        self.calls += 1
        time.sleep(self.delay)
        return self._inner.logits(ids, rows)


@pytest.fixture
def sample_path(tmp_path: Path) -> Path:
    path = tmp_path / "shapes.py"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


@pytest.fixture
def make_app(tiny_backend) -> Callable[..., CanvasEditApp]:
    """``make_app(path, delay=0.0, steps=8, **app_kwargs)``: the editor on a file, with the tiny model."""

    def make(path: Path | None, delay: float = 0.0, steps: int = 8, **kwargs) -> CanvasEditApp:
        kwargs.setdefault("settings", Settings(sampler={"steps": steps}))
        kwargs.setdefault("backend", PacedBackend(tiny_backend, delay))
        document = load_document(path) if path is not None else None
        return CanvasEditApp(document, cursor_blink=False, **kwargs)

    return make


async def wait_until(pilot: Pilot, predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")
        await pilot.pause(0.02)
    await asyncio.sleep(0)

