"""How the editor ends: it closes its engine on exit, and SIGTERM or SIGHUP keeps the unsaved buffer for recovery.

The engine tests run the app under Pilot with a backend that counts its ``close`` calls; the
SIGTERM and SIGHUP tests start the real ``canvasedit FILE`` on a pseudo-terminal, type, and signal it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from canvasedit.document import load_document
from canvasedit.ui.app import EXIT_TERMINATED, CanvasEditApp
from canvasedit.ui.recovery import Journal
from tests.ui.conftest import SAMPLE, PacedBackend, wait_until
from tests.ui.test_recovery import _run_editor_in_a_terminal, _wait_for


class CountingBackend(PacedBackend):
    """The tiny model, slowed down, counting the engine's ``close`` calls and any pass asked for after one."""

    def __init__(self, inner, delay: float = 0.0) -> None:
        super().__init__(inner, delay)
        self.closes = 0
        self.passes_after_close = 0

    def close(self) -> None:  # the inner backend is the session's: it is not freed here
        self.closes += 1

    def open_session(self, ids, params=None, window=None):
        from canvasedit.engine.session import ExactSession

        return ExactSession(self)  # every pass through logits below, so each one is paced and counted

    def logits(self, ids, rows=None):
        if self.closes:
            self.passes_after_close += 1
        return super().logits(ids, rows)


def app_opening(backend, path: Path, steps: int = 8) -> CanvasEditApp:
    """The editor on ``path``, loading ``backend`` itself (through its opener), as ``canvasedit FILE`` does."""
    from canvasedit.config import Settings

    return CanvasEditApp(load_document(path), settings=Settings(sampler={"steps": steps}),
                         opener=lambda spec, device: backend, cursor_blink=False)


async def test_the_engine_is_closed_once_when_the_app_quits(sample_path: Path, tiny_backend) -> None:
    backend = CountingBackend(tiny_backend)
    app = app_opening(backend, sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.screen.backend is backend, what="the model to load")
        assert backend.closes == 0
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running, timeout=10)
    assert backend.closes == 1 and app.engine.backend is None


async def test_a_fill_running_at_exit_stops_before_the_model_is_freed(sample_path: Path, tiny_backend) -> None:
    backend = CountingBackend(tiny_backend, delay=0.2)
    app = app_opening(backend, sample_path, steps=64)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.screen.backend is backend, what="the model to load")
        await pilot.press("down", "down", "ctrl+g")
        await wait_until(pilot, lambda: backend.calls >= 2, what="the fill to run")
        app.exit(0)  # mid-fill, with no question asked
    assert backend.closes == 1 and backend.passes_after_close == 0
    assert app.engine.wait_idle(timeout=0)  # no fill holds the engine any more


async def test_a_backend_handed_to_the_app_stays_the_callers(make_app, sample_path: Path, tiny_backend) -> None:
    lent = CountingBackend(tiny_backend)
    app = make_app(sample_path, backend=lent)
    async with app.run_test(size=(100, 30)):
        pass
    assert lent.closes == 0 and app.engine.backend is lent


async def test_terminate_journals_the_unsaved_buffer_and_exits_143(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x")
        app.terminate()
        await wait_until(pilot, lambda: not app.is_running, timeout=10)
    assert app.return_code == EXIT_TERMINATED == 143 and app.kept_for_recovery
    snapshot = Journal.for_path(sample_path).read()
    assert snapshot is not None and snapshot.text == "x" + SAMPLE  # unlike a quit, the journal stays
    assert sample_path.read_text(encoding="utf-8") == SAMPLE


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_or_sighup_to_the_running_editor_keeps_the_typed_text_and_restores_the_terminal(
    sample_path: Path, canvasedit_home: Path, signum: int, code: int
) -> None:
    process, master, output = _run_editor_in_a_terminal(sample_path, canvasedit_home)
    journal = Journal.for_path(sample_path)
    try:
        _wait_for(lambda: b"shapes.py" in b"".join(output), 120, "the editor to draw")
        time.sleep(1.0)  # let it settle, then type as a user would
        os.write(master, b"# terminated")
        _wait_for(lambda: b"terminated" in b"".join(output), 30, "the typed text to be drawn")
        process.send_signal(signum)
        got = process.wait(timeout=60)
        _wait_for(lambda: b"kept for recovery" in b"".join(output), 10, "the last line")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        os.close(master)
    shown = b"".join(output)
    assert got == code, shown[-2000:]
    assert b"Traceback" not in shown
    end = shown.rindex(b"\x1b[?1049l")  # the terminal left the editor's screen, cursor shown again
    assert b"\x1b[?25h" in shown[end:]
    snapshot = journal.read()
    assert snapshot is not None and snapshot.text == "# terminated" + SAMPLE
    assert sample_path.read_text(encoding="utf-8") == SAMPLE  # nothing was saved
