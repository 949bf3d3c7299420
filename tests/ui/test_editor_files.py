"""Files and quitting with real keys: open, save, save as, refusals, line endings, unsaved changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from canvasedit.ui.app import CanvasEditApp, run_editor
from canvasedit.ui.screens.confirm import ConfirmScreen
from canvasedit.ui.screens.editor import EditorScreen
from canvasedit.ui.screens.path_input import PathScreen
from tests.ui.conftest import SAMPLE, wait_until


def notifications(app: CanvasEditApp) -> list[tuple[str, str]]:
    return [(n.severity, n.message) for n in app._notifications]


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # so dialogs can be typed short relative paths


async def type_path(pilot, path: Path) -> None:
    await pilot.press("ctrl+u")  # clear the field left of the cursor
    await pilot.press(*str(path.relative_to(Path.cwd())))
    await pilot.press("enter")


async def test_open_a_file_through_the_dialog(make_app, sample_path: Path, tmp_path: Path) -> None:
    other = tmp_path / "notes.md"
    other.write_text("# Notes\n\nSome prose.\n", encoding="utf-8")
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await pilot.press("down", "ctrl+b")
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, PathScreen)
        await type_path(pilot, other)
        assert app.screen is screen
        assert screen.canvas.text == "# Notes\n\nSome prose.\n"
        assert screen.sub_title == "notes.md"
        assert screen.canvas.language == "markdown" and screen.canvas.soft_wrap  # prose wraps
        assert not screen.canvas.holes and not screen.dirty
        assert "markdown" in screen.status.part("file")


async def test_open_asks_before_discarding_changes(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x", "ctrl+o")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert isinstance(app.screen, EditorScreen) and app.screen.dirty
        assert app.screen.canvas.text == "x" + SAMPLE


async def test_binary_and_missing_folder_files_are_refused_with_a_message(
    make_app, sample_path: Path, tmp_path: Path
) -> None:
    binary = tmp_path / "image.bin"
    binary.write_bytes(b"\x89PNG\x00\x00\x01")
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+o")
        await type_path(pilot, binary)
        assert app.screen.canvas.text == SAMPLE  # the open file stays
        assert any(sev == "error" and "binary" in msg for sev, msg in notifications(app))

        await pilot.press("x", "alt+s")  # save as, into a folder that does not exist
        assert isinstance(app.screen, PathScreen)
        await type_path(pilot, tmp_path / "no" / "such" / "dir.py")
        assert app.screen.dirty
        assert any(sev == "error" and "cannot save" in msg for sev, msg in notifications(app))
        assert sample_path.read_text(encoding="utf-8") == SAMPLE


async def test_save_as_writes_the_new_path_and_switches_to_it(make_app, sample_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.md"
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x", "f12")
        await type_path(pilot, target)
        screen = app.screen
        assert target.read_text(encoding="utf-8") == "x" + SAMPLE
        assert sample_path.read_text(encoding="utf-8") == SAMPLE
        assert screen.document.path == target and screen.sub_title == "copy.md"
        assert screen.canvas.language == "markdown"


async def test_save_as_asks_before_replacing_another_file(make_app, sample_path: Path, tmp_path: Path) -> None:
    existing = tmp_path / "existing.py"
    existing.write_text("keep me\n", encoding="utf-8")
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x", "f12")
        await type_path(pilot, existing)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert existing.read_text(encoding="utf-8") == "keep me\n"
        await pilot.press("f12")
        await type_path(pilot, existing)
        await pilot.press("y")
        assert existing.read_text(encoding="utf-8") == "x" + SAMPLE


async def test_crlf_and_bom_survive_an_edit_and_save(make_app, tmp_path: Path) -> None:
    path = tmp_path / "dos.txt"
    path.write_bytes(b"\xef\xbb\xbfone\r\ntwo\r\n")
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert "UTF-8 BOM · CRLF" in app.screen.status.part("file")
        await pilot.press("down", "end", "!", "ctrl+s")
        assert path.read_bytes() == b"\xef\xbb\xbfone\r\ntwo!\r\n"


async def test_quit_with_unsaved_changes_asks_first(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x", "ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        assert "shapes.py" in app.screen.question
        await pilot.press("n")
        assert isinstance(app.screen, EditorScreen)
        assert app.is_running
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, what="the app to exit", timeout=10)
    assert app.return_code == 0
    assert sample_path.read_text(encoding="utf-8") == SAMPLE  # quitting never saves


async def test_quit_without_changes_does_not_ask(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running, what="the app to exit", timeout=10)
    assert app.return_code == 0


def test_run_editor_refuses_a_binary_file_with_exit_code_2(tmp_path: Path, capsys) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"abc\x00def")
    assert run_editor(binary) == 2
    err = capsys.readouterr().err
    assert err.startswith("canvasedit: ") and "binary" in err and err.count("\n") == 1


async def test_a_file_changed_on_disk_is_not_overwritten_without_asking(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x")
        sample_path.write_text("written by someone else\n", encoding="utf-8")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        assert "changed by another program" in app.screen.question
        await pilot.press("n")
        assert sample_path.read_text(encoding="utf-8") == "written by someone else\n"
        assert app.screen.dirty
        await pilot.press("ctrl+s", "y")
        assert sample_path.read_text(encoding="utf-8") == "x" + SAMPLE
        assert not app.screen.dirty


async def test_a_read_only_file_is_not_replaced_by_ctrl_s_without_asking(make_app, sample_path: Path) -> None:
    sample_path.chmod(0o444)
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert "read-only" in app.screen.status.part("file")
        await pilot.press("x", "ctrl+s")
        assert isinstance(app.screen, ConfirmScreen) and "read-only" in app.screen.question
        await pilot.press("n")
        assert sample_path.read_text(encoding="utf-8") == SAMPLE
        await pilot.press("ctrl+s", "y")
        assert sample_path.read_text(encoding="utf-8") == "x" + SAMPLE
        assert sample_path.stat().st_mode & 0o777 == 0o444  # still read-only


async def test_mixed_line_endings_and_line_separators_survive_an_edit_byte_for_byte(make_app, tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    original = "one\r\ntwo\nthree\rfour\f five\v six\x1c seven\x85 eight\u2028 nine\r\n".encode()
    path.write_bytes(original)
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        canvas = app.screen.canvas
        assert canvas.document.line_count == 5  # \f \v \x1c \x85 U+2028 are not line breaks here
        await pilot.press("down", "end", "!", "ctrl+s")  # edit line 2 only
    assert path.read_bytes() == original.replace(b"two\n", b"two!\n")
