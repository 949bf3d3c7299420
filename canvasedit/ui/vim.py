"""A vim-like modal layer for the canvas: normal, insert and visual modes. Opt-in: ``[editor] vim = true``.

    layer = VimLayer(canvas, on_mode=show)      # canvas: a TextArea (CanvasArea)
    layer.key("d", "d")                         # True: consumed (here: the first half of dd)
    layer.escape()                              # insert / visual → normal; False in normal mode

Normal mode: ``h j k l`` (and the arrows), ``w b e``, ``0 ^ $``, ``gg G``, counts (``3j``,
``2dd``), ``x``, ``dd`` ``yy`` ``D``, ``d``/``c``/``y`` with a motion (``dw``, ``ce``, ``y$``),
``p P``, ``u`` (undo; redo stays ctrl+y), ``i a I A o O`` to insert, ``v``/``V`` for visual,
``/`` to find, ``n``/``N`` for the next/previous match. Visual mode: the motions extend the
selection; ``m`` masks it (a hole, ready to fill), ``y`` yanks, ``d``/``x`` deletes, ``c``
changes. Keys that are not vim's (ctrl+g, F-keys, Tab to accept) keep their editor meaning.

The layer has no Textual imports: it drives the TextArea through its public methods and asks
the screen for editor commands by name (``run_command("mask")``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NORMAL, INSERT, VISUAL, VISUAL_LINE = "normal", "insert", "visual", "visual line"
Location = tuple[int, int]


def char_class(c: str) -> int:
    """0 for blanks (and the line break), 1 for word characters, 2 for other non-blanks: vim's word classes."""
    if c.isspace() or c == "":
        return 0
    return 1 if c.isalnum() or c == "_" else 2


class _Cursor:
    """Walks a document's characters across lines; a line break reads as "\\n"."""

    def __init__(self, lines: list[str], location: Location) -> None:
        self.lines = lines
        self.row, self.col = location

    def char(self) -> str:
        line = self.lines[self.row]
        return line[self.col] if self.col < len(line) else "\n"

    def forward(self) -> bool:
        if self.col < len(self.lines[self.row]):
            self.col += 1
        elif self.row + 1 < len(self.lines):
            self.row, self.col = self.row + 1, 0
        else:
            return False
        return True

    def back(self) -> bool:
        if self.col > 0:
            self.col -= 1
        elif self.row > 0:
            self.row -= 1
            self.col = len(self.lines[self.row])
        else:
            return False
        return True

    @property
    def location(self) -> Location:
        return self.row, self.col


def word_forward(lines: list[str], at: Location) -> Location:
    """``w``: the start of the next word."""
    c = _Cursor(lines, at)
    kind = char_class(c.char())
    if kind:
        while char_class(c.char()) == kind and c.forward():
            pass
    while char_class(c.char()) == 0 and c.forward():
        pass
    return c.location


def word_end(lines: list[str], at: Location) -> Location:
    """``e``: the last character of this word, or of the next one when already there."""
    c = _Cursor(lines, at)
    c.forward()
    while char_class(c.char()) == 0 and c.forward():
        pass
    kind = char_class(c.char())
    while True:
        probe = _Cursor(lines, c.location)
        if not probe.forward() or char_class(probe.char()) != kind:
            return c.location
        c.forward()


def word_back(lines: list[str], at: Location) -> Location:
    """``b``: the start of this word, or of the previous one when already there."""
    c = _Cursor(lines, at)
    if not c.back():
        return c.location
    while char_class(c.char()) == 0 and c.back():
        pass
    kind = char_class(c.char())
    while True:
        probe = _Cursor(lines, c.location)
        if not probe.back() or char_class(probe.char()) != kind:
            return c.location
        c.back()


class VimLayer:
    """Modal key handling on top of a TextArea."""

    def __init__(self, area: Any, on_mode: Callable[[str], None] | None = None,
                 run_command: Callable[[str], None] | None = None) -> None:
        self.area = area
        """The TextArea the keys edit."""
        self.on_mode = on_mode
        """Called with the new mode's name whenever it changes."""
        self.run_command = run_command
        """Runs an editor command by action name (``mask``, ``find``, ``find_next``…)."""
        self.mode = NORMAL
        self.register = ("", False)
        """The unnamed register: text and whether it holds whole lines."""
        self._count = ""
        self._pending = ""
        self._anchor: Location = (0, 0)
        """Visual mode: the character where it began; the cursor's character is the other end."""
        self._head: Location = (0, 0)

    # ------------------------------------------------------------------ modes

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self._count = self._pending = ""
        if self.on_mode is not None:
            self.on_mode(mode)

    def escape(self) -> bool:
        """Back to normal mode; False when already there (Esc then means the editor's cancel/reject)."""
        if self.mode == NORMAL:
            if self._pending or self._count:
                self._count = self._pending = ""
                return True
            return False
        area = self.area
        if self.mode == INSERT:
            row, col = area.cursor_location
            area.move_cursor((row, max(0, col - 1)))
        else:
            area.move_cursor(area.selection.end)
        self.set_mode(NORMAL)
        return True

    @property
    def consumes_text(self) -> bool:
        """Whether printable keys are commands (normal, visual) rather than text (insert)."""
        return self.mode != INSERT

    # ------------------------------------------------------------------ keys

    def key(self, key: str, character: str | None) -> bool:
        """Handle one key; True when it was a vim command (the TextArea must not see it)."""
        if self.mode == INSERT:
            return False
        char = character if character and character.isprintable() else None
        name = char or {"enter": "\n", "backspace": "\b", "tab": "\t", "delete": "x"}.get(key)
        if name is None:
            return False  # arrows, ctrl+… and F-keys keep their editor meaning
        if name.isdigit() and (name != "0" or self._count):
            self._count += name
            return True
        count = int(self._count or "1")
        pending, self._pending, self._count = self._pending, "", ""
        if self.mode in (VISUAL, VISUAL_LINE):
            self._visual(name, count)
        else:
            self._normal(pending + name, count)
        return True

    def _motion(self, name: str, count: int, at: Location | None = None) -> Location | None:
        area = self.area
        lines = list(area.document.lines)
        row, col = area.cursor_location if at is None else at
        target: Location | None = (row, col)
        for _ in range(count):
            row, col = target  # type: ignore[misc]
            if name in ("h", "\b"):
                target = (row, max(0, col - 1))
            elif name == "l":
                target = (row, min(len(lines[row]), col + 1))
            elif name in ("j", "\n"):
                target = (min(len(lines) - 1, row + 1), col)
            elif name == "k":
                target = (max(0, row - 1), col)
            elif name == "w":
                target = word_forward(lines, (row, col))
            elif name == "b":
                target = word_back(lines, (row, col))
            elif name == "e":
                target = word_end(lines, (row, col))
            elif name == "0":
                target = (row, 0)
            elif name == "^":
                target = (row, len(lines[row]) - len(lines[row].lstrip()))
            elif name == "$":
                target = (row, max(0, len(lines[row]) - (0 if self.mode != NORMAL else 1)))
            elif name == "G":
                target = (len(lines) - 1 if count == 1 else min(count, len(lines)) - 1, 0)
                break
            elif name == "gg":
                target = (0 if count == 1 else min(count, len(lines)) - 1, 0)
                break
            else:
                return None
        if target is not None and name in ("j", "k", "\n"):
            r, c = target
            target = (r, min(c, len(lines[r])))
        return target

    def _normal(self, keys: str, count: int) -> None:
        area = self.area
        if keys in ("g", "d", "y", "c") or keys in ("dg", "yg", "cg"):
            self._pending = keys
            if count > 1:
                self._count = str(count)
            return
        if keys[:1] in ("d", "y", "c") and len(keys) >= 2:
            self._operate(keys[0], keys[1:], count)
            return
        target = self._motion(keys, count)
        if target is not None:
            area.move_cursor(target)
            return
        row, col = area.cursor_location
        line = area.document[row]
        if keys == "i":
            self.set_mode(INSERT)
        elif keys == "a":
            area.move_cursor((row, min(len(line), col + 1)))
            self.set_mode(INSERT)
        elif keys == "I":
            area.move_cursor((row, len(line) - len(line.lstrip())))
            self.set_mode(INSERT)
        elif keys == "A":
            area.move_cursor((row, len(line)))
            self.set_mode(INSERT)
        elif keys == "o":
            area.insert("\n", (row, len(line)))
            area.move_cursor((row + 1, 0))
            self.set_mode(INSERT)
        elif keys == "O":
            area.insert("\n", (row, 0))
            area.move_cursor((row, 0))
            self.set_mode(INSERT)
        elif keys == "v":
            self._anchor = self._head = (row, col)
            self._select_chars()
            self.set_mode(VISUAL)
        elif keys == "V":
            self._anchor = self._head = (row, col)
            self._select_lines(row, row)
            self.set_mode(VISUAL_LINE)
        elif keys == "x" and line:
            end = min(len(line), col + count)
            self.register = (line[col:end], False)
            area.delete((row, col), (row, end))
        elif keys == "D":
            self.register = (line[col:], False)
            area.delete((row, col), (row, len(line)))
        elif keys in ("p", "P"):
            self._put(after=keys == "p", count=count)
        elif keys == "u":
            for _ in range(count):
                area.undo()
        elif keys == "/":
            self._command("find")
        elif keys in ("n", "N"):
            self._command("find_next" if keys == "n" else "find_previous")

    def _operate(self, op: str, motion: str, count: int) -> None:
        """``dd``/``yy``/``cc`` on ``count`` lines, or an operator with a motion (``dw``, ``y$``)."""
        area = self.area
        lines = list(area.document.lines)
        row, col = area.cursor_location
        if motion in (op, "j", "k"):
            if motion == op:
                first, last = row, min(len(lines) - 1, row + count - 1)
            elif motion == "j":
                first, last = row, min(len(lines) - 1, row + count)
            else:
                first, last = max(0, row - count), row
            text = "\n".join(lines[first : last + 1]) + "\n"
            self.register = (text, True)
            if op == "y":
                return
            if op == "c":
                area.delete((first, 0), (last, len(lines[last])))
                area.move_cursor((first, 0))
                self.set_mode(INSERT)
                return
            if last + 1 < len(lines):
                area.delete((first, 0), (last + 1, 0))
            elif first > 0:
                area.delete((first - 1, len(lines[first - 1])), (last, len(lines[last])))
            else:
                area.delete((0, 0), (last, len(lines[last])))
            new_row = min(first, area.document.line_count - 1)
            area.move_cursor((new_row, 0))
            return
        if op == "c" and motion == "w":
            motion = "e"  # vim: cw changes to the end of the word
        target = self._motion(motion, count)
        if target is None:
            return
        if motion == "e":
            target = (target[0], target[1] + 1)  # e is inclusive
        start, end = sorted(((row, col), target))
        self.register = (area.get_text_range(start, end), False)
        if op == "y":
            return
        area.delete(start, end)
        area.move_cursor(start)
        if op == "c":
            self.set_mode(INSERT)

    def _put(self, after: bool, count: int) -> None:
        area = self.area
        text, whole_lines = self.register
        if not text:
            return
        row, col = area.cursor_location
        text = text * count
        if whole_lines:
            if after:
                line = area.document[row]
                area.insert("\n" + text.removesuffix("\n"), (row, len(line)))
                area.move_cursor((row + 1, 0))
            else:
                area.insert(text, (row, 0))
                area.move_cursor((row, 0))
        else:
            at = (row, min(len(area.document[row]), col + 1)) if after else (row, col)
            area.insert(text, at)

    # ------------------------------------------------------------------ visual

    def _select_lines(self, first: int, last: int) -> None:
        area = self.area
        area.move_cursor((first, 0))
        end = (last + 1, 0) if last + 1 < area.document.line_count else (last, len(area.document[last]))
        area.move_cursor(end, select=True)

    def _select_chars(self) -> None:
        """Select from the anchor's character to the head's, both included, as vim shows it."""
        area = self.area
        Selection = type(area.selection)  # TextArea's own, without importing Textual here
        (ar, ac), (hr, hc) = self._anchor, self._head
        if (hr, hc) >= (ar, ac):
            area.selection = Selection((ar, ac), (hr, min(len(area.document[hr]), hc + 1)))
        else:
            area.selection = Selection((ar, min(len(area.document[ar]), ac + 1)), (hr, hc))

    def _visual(self, name: str, count: int) -> None:
        area = self.area
        if name == "g" and not self._pending:
            self._pending = "g"
            return
        if self._pending == "g":
            name, self._pending = "g" + name, ""
        target = self._motion(name, count, at=self._head)
        if target is not None:
            if self.mode == VISUAL_LINE:
                anchor = self._anchor[0]
                self._head = target
                self._select_lines(min(anchor, target[0]), max(anchor, target[0]))
            else:
                self._head = target
                self._select_chars()
            return
        if name == "m":
            self._command("mask")
            self.set_mode(NORMAL)
        elif name in ("y", "d", "x", "c"):
            start, end = sorted(area.selection)
            self.register = (area.selected_text, self.mode == VISUAL_LINE)
            if name != "y":
                area.delete(start, end)
            area.move_cursor(start)
            self.set_mode(INSERT if name == "c" else NORMAL)
        elif name in ("v", "V"):
            area.move_cursor(area.selection.end)
            self.set_mode(NORMAL)

    def _command(self, name: str) -> None:
        if self.run_command is not None:
            self.run_command(name)
