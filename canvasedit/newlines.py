"""Line breaks: a document's style, text adapted to it, and a view Textual's TextArea keeps intact.

CanvasEdit keeps a file's line breaks verbatim (``\\r\\n``, ``\\n`` and ``\\r`` may be mixed);
``detect_newline`` names the most common one, the style of every line that is inserted:

    text = adapt_newlines(model_output, doc.newline)     # "a\\nb" -> "a\\r\\nb" in a CRLF file

Textual's ``TextArea`` splits lines as ``str.splitlines`` does and joins them with one break: a
mixed file would come back all ``\\r\\n``, and ``\\f \\v \\x1c \\x1d \\x1e \\x85 U+2028 U+2029``
would become line breaks. So the editor shows ``to_editor(text)`` — ``\\n`` breaks only, and a
visible stand-in (``STAND_INS``: ␌ for ``\\f`` …) for each of those characters — and turns what
it holds back into the document with ``from_editor``: lines the user did not edit come back byte
for byte with their own breaks; edited lines keep the break of the line they replace; added
lines get the document's style.

    shown, line_map = to_editor(doc.text)
    area.load_text(shown)
    ...
    doc.text = from_editor(area.text, line_map)
    shown, line_map = to_editor(doc.text)      # after a save, compare with what was saved

Line and column numbers are the same in both views (a stand-in is one character; ``\\r\\n`` is one
line break), so ``document.LineIndex`` positions need no translation. A stand-in character that
the file itself already contains is left alone in edited lines (``LineMap.literal``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

STAND_INS: dict[str, str] = {
    "\v": "\u240b", "\f": "\u240c", "\x1c": "\u241c", "\x1d": "\u241d", "\x1e": "\u241e",
    "\x85": "\u2424", "\u2028": "\u21b2", "\u2029": "\u204b",
}
"""Characters ``str.splitlines`` breaks lines at and CanvasEdit does not, each with the character
the editor shows instead (control pictures ␋ ␌ ␜ ␝ ␞ ␤; ↲ for LINE and ⁋ for PARAGRAPH SEPARATOR)."""
_FROM_STAND_IN = {v: k for k, v in STAND_INS.items()}
_SPLITLINES_ONLY = re.compile("[" + "".join(STAND_INS) + "]")


def detect_newline(text: str) -> str:
    """The most common line break in ``text`` (a tie goes to the one seen first); ``\\n`` when it has none."""
    crlf = text.count("\r\n")
    counts = {"\r\n": crlf, "\n": text.count("\n") - crlf, "\r": text.count("\r") - crlf}
    best = max(counts.values())
    if best == 0:
        return "\n"
    return next(m.group() for m in _LINE_BREAK.finditer(text) if counts[m.group()] == best)


def normalize_newlines(text: str, newline: str) -> str:
    """``text`` with every line break (``\\r\\n``, ``\\r``, ``\\n``) replaced by ``newline``."""
    return _LINE_BREAK.sub(newline, text)


def adapt_newlines(inserted: str, style: str) -> str:
    """Inserted text (a model's fill, a paste) with its line breaks in the document's ``style``."""
    return _LINE_BREAK.sub(style, inserted)


@dataclass(frozen=True)
class LineMap:
    """How the lines given to the editor (``to_editor``) stand for the document's own bytes."""

    shown: tuple[str, ...]
    """Each line as the editor shows it: no line break, stand-ins for ``STAND_INS``."""
    bodies: tuple[str, ...]
    """The same lines as the document has them, without their line breaks."""
    breaks: tuple[str, ...]
    """Each line's own line break; ``""`` for the last line."""
    newline: str
    """The line break of lines the editor added."""
    literal: frozenset[str]
    """Stand-in characters the document itself contains; edited lines keep them as they are."""


def to_editor(text: str, newline: str | None = None) -> tuple[str, LineMap]:
    """``(shown, line_map)``: ``text`` as a TextArea keeps it, and what ``from_editor`` needs.

    ``newline`` is the break for lines the editor adds (default: ``detect_newline(text)``).
    """
    bodies = tuple(_LINE_BREAK.split(text))
    breaks = tuple(m.group() for m in _LINE_BREAK.finditer(text)) + ("",)
    shown = tuple(_SPLITLINES_ONLY.sub(lambda m: STAND_INS[m.group()], body) for body in bodies)
    literal = frozenset(c for c in _FROM_STAND_IN if c in text)
    return "\n".join(shown), LineMap(shown, bodies, breaks, newline or detect_newline(text), literal)


def from_editor(editor_text: str, line_map: LineMap) -> str:
    """The document text for what the editor holds now; unedited lines come back byte for byte.

    Lines are matched to those ``to_editor`` gave (common prefix and suffix first, ``difflib`` on
    the rest, so a small edit in a long file stays cheap).
    """
    new = _LINE_BREAK.split(editor_text)
    old = line_map.shown
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    # Per output line: (the old line it stands for, or None; its edited text, or None when unedited).
    lines: list[tuple[int | None, str | None]] = [(i, None) for i in range(head)]
    matcher = difflib.SequenceMatcher(None, old[head : len(old) - tail], new[head : len(new) - tail], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(j2 - j1):
            old_index = head + i1 + k if k < i2 - i1 else None
            lines.append((old_index, None if tag == "equal" else new[head + j1 + k]))
    lines += [(len(old) - tail + k, None) for k in range(tail)]

    out = []
    for n, (i, edited) in enumerate(lines):
        if edited is None and i is not None:
            out.append(line_map.bodies[i])
        else:
            out.append("".join(c if c in line_map.literal else _FROM_STAND_IN.get(c, c) for c in edited or ""))
        if n < len(lines) - 1:
            out.append((line_map.breaks[i] if i is not None else "") or line_map.newline)
    return "".join(out)
