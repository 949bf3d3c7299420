"""Crash recovery: the journal on its own, the editor writing and removing it, and a real editor
process killed with SIGKILL whose unsaved text comes back in the next run."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from canvasedit.ui.holes import HoleMark
from canvasedit.ui.recovery import Journal, Snapshot, recovery_dir
from canvasedit.ui.screens.editor import EditorScreen
from canvasedit.ui.screens.recover import RecoverScreen
from tests.ui.conftest import SAMPLE, wait_until

ROOT = Path(__file__).parents[2]


def test_a_snapshot_survives_the_round_trip_and_a_bad_file_reads_as_none(tmp_path: Path) -> None:
    journal = Journal.for_path(tmp_path / "a.py")
    snapshot = Snapshot(str(tmp_path / "a.py"), "x = 1\n\u2028é\n", ((0, 1, None, None), (4, 4, 8, None)), (1, 2), "ab")
    journal.write(snapshot)
    assert journal.file.parent == recovery_dir()
    assert journal.read() == snapshot
    journal.file.write_text("{not json", encoding="utf-8")
    assert journal.read() is None
    journal.remove()
    journal.remove()  # twice is fine
    assert journal.read() is None
    assert Journal.for_path(tmp_path / "a.py").file == journal.file  # one journal per file
    assert Journal.for_path(tmp_path / "b.py").file != journal.file


async def test_unsaved_changes_are_journalled_and_a_save_removes_the_journal(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        journal = Journal.for_path(sample_path)
        screen.journal_now()
        assert journal.read() is None  # nothing unsaved, nothing journalled
        await pilot.press("down", "ctrl+b", "x")
        screen.journal_now()
        snapshot = journal.read()
        row1 = SAMPLE.index("\n") + 1  # typing at an insertion point goes after the hole
        assert snapshot is not None and snapshot.text == SAMPLE[:row1] + "x" + SAMPLE[row1:]
        assert [(h[0], h[1]) for h in snapshot.holes] == [(row1, row1)]
        assert snapshot.cursor == (1, 1)
        await pilot.press("ctrl+s")
        assert journal.read() is None


async def test_a_clean_quit_removes_the_journal(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x")
        app.screen.journal_now()
        assert Journal.for_path(sample_path).read() is not None
        await pilot.press("ctrl+q", "y")
        await wait_until(pilot, lambda: not app.is_running, timeout=10)
    assert Journal.for_path(sample_path).read() is None


async def test_reopening_offers_the_journal_with_a_diff_and_recovers_text_holes_and_cursor(
    make_app, sample_path: Path
) -> None:
    text = SAMPLE.replace("result = width * height", "result = width * height * depth")
    at = text.index("depth")
    Journal.for_path(sample_path).write(
        Snapshot(str(sample_path), text, ((at, at + 5, None, None),), (5, 10), pid=2**22 + 12345)
    )
    app = make_app(sample_path)
    async with app.run_test(size=(110, 34)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RecoverScreen), what="the recovery offer")
        assert "+    result = width * height * depth" in app.screen.diff
        assert "-    result = width * height" in app.screen.diff
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, EditorScreen)
        assert screen.canvas.text == text and screen.dirty
        assert list(screen.canvas.holes) == [HoleMark(at, at + 5)]
        assert screen.canvas.cursor_location == (5, 10)
        assert sample_path.read_text(encoding="utf-8") == SAMPLE  # on disk only after a save


async def test_discarding_the_offer_deletes_the_journal(make_app, sample_path: Path) -> None:
    Journal.for_path(sample_path).write(Snapshot(str(sample_path), "lost\n", pid=2**22 + 12345))
    app = make_app(sample_path)
    async with app.run_test(size=(110, 34)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RecoverScreen))
        await pilot.press("d")
        assert app.screen.canvas.text == SAMPLE
        assert Journal.for_path(sample_path).read() is None


def _run_editor_in_a_terminal(path: Path, home: Path) -> tuple[subprocess.Popen, int, list[bytes]]:
    """Start ``canvasedit PATH`` on a pseudo-terminal, as a user's terminal would run it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "CANVASEDIT_HOME": str(home), "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "canvasedit", str(path), "--model", str(home / "no-such-model")],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True,
    )
    os.close(slave)
    output: list[bytes] = []

    def drain() -> None:  # the editor blocks if nobody reads what it draws
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            output.append(data)

    threading.Thread(target=drain, daemon=True).start()
    return process, master, output


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


async def test_text_typed_before_a_kill_9_comes_back_in_the_next_run(
    make_app, sample_path: Path, canvasedit_home: Path
) -> None:
    process, master, output = _run_editor_in_a_terminal(sample_path, canvasedit_home)
    journal = Journal.for_path(sample_path)
    try:
        _wait_for(lambda: b"shapes.py" in b"".join(output), 120, "the editor to draw")
        time.sleep(1.0)  # let it settle, then type as a user would
        for key in (b"# crash me", b"\r", b"x = 42"):
            os.write(master, key)
            time.sleep(0.3)
        _wait_for(lambda: journal.read() is not None and "x = 42" in journal.read().text, 60, "the journal")
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # no clean exit: no chance to tidy up
        process.wait(timeout=30)
        os.close(master)
    assert process.returncode == -signal.SIGKILL
    assert sample_path.read_text(encoding="utf-8") == SAMPLE  # nothing was saved

    app = make_app(sample_path)  # the next run
    async with app.run_test(size=(110, 34)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RecoverScreen), what="the recovery offer")
        await pilot.press("r")
        screen = app.screen
        assert screen.canvas.text == "# crash me\nx = 42" + SAMPLE
        await pilot.press("ctrl+s")
    assert sample_path.read_text(encoding="utf-8") == "# crash me\nx = 42" + SAMPLE
    assert journal.read() is None
