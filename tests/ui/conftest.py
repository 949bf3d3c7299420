"""Fixtures for the editor tests: an app around the tiny model, a paced backend, a scripted backend,
real terminal key bytes, and a waiting helper.

The tiny model (tests/conftest.py) has random weights, so its fills are gibberish: tests with it
assert on behaviour (passes arrive, the text changes exactly once, undo restores it), never on
content. ``ScriptedBackend`` fills each hole with text the test chose, for tests about content
(multi-line results, partial accepts, results that do not parse).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from textual._xterm_parser import XTermParser
from textual.pilot import Pilot

from canvasedit.config import Settings
from canvasedit.document import load_document
from canvasedit.engine.canvas import CanvasLayout
from canvasedit.engine.session import ExactSession
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

    def open_session(self, ids, params=None, window=None):
        """Every pass through ``logits`` above (the inner backend's session would call its own)."""
        return ExactSession(self)

    def close(self) -> None:
        """Nothing: the inner backend is the test session's shared model."""


class ScriptedBackend:
    """A character-level backend whose every pass points at the text the test chose for each hole.

    ``answers[i]`` is what hole ``i`` (document order) becomes; a hole longer than its answer is
    padded with the end token, which the engine trims. Passes take ``delay`` seconds.
    """

    name, device, model_name, mask_id, end_id = "scripted", "cpu", "scripted", 1, 0
    stop_ids = (0,)
    end_ids: tuple[int, ...] = ()
    layout = CanvasLayout()
    recipe: dict = {}
    max_length = 4096

    def __init__(self, answers: list[str], delay: float = 0.0) -> None:
        self.answers = list(answers)
        self.delay = delay
        self.vocab = ["<end>", "<mask>", "\n", "\t"] + [chr(c) for c in range(32, 127)]
        self.index = {c: i for i, c in enumerate(self.vocab)}
        self.banned = torch.zeros(len(self.vocab), dtype=torch.bool)
        self.banned[self.mask_id] = True
        self.calls = 0
        self._spans: list[tuple[int, int]] = []

    def encode(self, text: str) -> list[int]:
        return [self.index.get(c, self.index["?"]) for c in text]

    def decode(self, ids) -> str:
        return "".join(self.vocab[i] for i in ids if i > 1)

    def token_text(self, token: int) -> str:
        return self.decode([token])

    def logits(self, ids: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        self.calls += 1
        time.sleep(self.delay)
        flat = ids[0]
        masked = set((flat == self.mask_id).nonzero().flatten().tolist())
        known = {p for a, b in self._spans for p in range(a, b)}
        if not masked <= known or masked == known:  # a new fill: its holes are the runs of masks
            self._spans = []
            for p in sorted(masked):
                if self._spans and self._spans[-1][1] == p:
                    self._spans[-1] = (self._spans[-1][0], p + 1)
                else:
                    self._spans.append((p, p + 1))
        rows = torch.arange(len(flat)) if rows is None else rows
        out = torch.zeros(1, len(rows), len(self.vocab))
        for r, pos in enumerate(rows.tolist()):
            target = self.end_id
            for i, (a, b) in enumerate(self._spans):
                if a <= pos < b and i < len(self.answers) and pos - a < len(self.answers[i]):
                    target = self.index.get(self.answers[i][pos - a], self.index["?"])
            out[0, r, target] = 5.0 + 0.01 * (len(flat) - pos)  # earlier positions a little surer
        return out


async def press_bytes(pilot: Pilot, data: bytes) -> None:
    """Send keys exactly as a terminal writes them (alt+x is ESC x), through Textual's own parser.

    ``pilot.press("alt+x")`` makes a key event with no character; a real terminal's ESC x
    becomes key ``alt+x`` *with* character ``x``, which is what a text widget may type.
    """
    app = pilot.app
    parser = XTermParser()
    events_ = [*parser.feed(data.decode("utf-8")), *parser.feed("")]
    for event in events_:
        event.set_sender(app)
        app._driver.send_message(event)
        await pilot.pause()


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



def screen_text(app) -> list[str]:
    """What the terminal shows, one string per row (the top screen over those below it)."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return ["".join(segment.text for segment in strip) for strip in update.strips]


def step_event(step: int, total_steps: int, pieces, nfe: int = 1, elapsed: float = 0.1):
    """A pass (``view.PassView``) for drawing tests: its event's other fields are empty."""
    from canvasedit.engine import StepEvent
    from canvasedit.engine.view import PassView

    pieces = tuple(pieces)
    event = StepEvent(step=step, total_steps=total_steps, committed=(), remasked=(), resized=(), nfe=nfe,
                      elapsed=elapsed)
    return PassView(event, pieces, tuple("".join(p.text for p in hole) for hole in pieces))
