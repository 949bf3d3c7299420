"""Loading and saving the user's files without losing a byte, and LINE:COL positions in them.

    doc = load_document("notes.md")            # Document(path, text, encoding, newline)
    doc = dataclasses.replace(doc, text=new_text)
    save_document(doc)                          # atomic: the old file survives any failure

Text is decoded from bytes without newline translation, so CRLF and lone CR stay in
``Document.text`` verbatim and saving an unmodified document writes back the exact bytes it was
read from (BOM included). ``Document.newline`` is the first line break seen, which the editor
uses for lines it inserts.

Supported encodings are UTF-8 (with or without a BOM) and UTF-16 with a BOM. Anything else is
refused with a one-line ``DocumentError`` rather than guessed at: a wrong guess would corrupt the
file on save.

Positions are 1-based ``LINE:COL`` counted in characters, as terminal editors and compilers
print them; ``\\r\\n``, ``\\n`` and ``\\r`` each end one line. ``LineIndex`` converts both ways
in O(log lines) once built; ``position_to_offset`` / ``offset_to_position`` build one per call.
"""

from __future__ import annotations

import bisect
import codecs
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_BYTES = 5_000_000
BINARY_SNIFF_BYTES = 8192
"""How much of the file is searched for NUL bytes to call it binary (git and grep use 8000)."""

_BOMS: dict[str, bytes] = {
    "utf-8-sig": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
}
"""Encodings that carry a byte-order mark; the BOM is stripped on load and written back on save."""
_CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be"}
_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 BOM", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE"}
_NEWLINE_LABELS = {"\n": "LF", "\r\n": "CRLF", "\r": "CR"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class DocumentError(Exception):
    """Base class for every failure to load, save or address a document."""


class FileAccessError(DocumentError, OSError):
    """The path is not a regular file, or the operating system refused to read or write it."""


class BinaryFile(DocumentError, ValueError):
    """The file holds NUL bytes, so it is not text the editor can show."""


class FileTooLarge(DocumentError, ValueError):
    """The file is bigger than the configured ``max_file_bytes``."""


class DecodeFailed(DocumentError, UnicodeError):
    """The bytes are not valid UTF-8, or not valid UTF-16 after a UTF-16 BOM."""


class EncodeFailed(DocumentError, UnicodeError):
    """The text holds a character the document's encoding cannot represent (a lone surrogate)."""


class BadPosition(DocumentError, ValueError):
    """A LINE:COL position or character offset lies outside the text, or is malformed."""


@dataclass
class Document:
    """One text file held in memory, with what is needed to write it back unchanged."""

    path: Path | None
    """Where the document is saved; None for a buffer that has never been saved."""
    text: str
    """The full text with its original line breaks (``\\r\\n`` and ``\\r`` are kept) and no BOM."""
    encoding: str = "utf-8"
    """One of ``utf-8``, ``utf-8-sig`` (UTF-8 with BOM), ``utf-16-le`` or ``utf-16-be`` (both with BOM)."""
    newline: str = "\n"
    """The first line break in the file (``\\n``, ``\\r\\n`` or ``\\r``); used for inserted lines."""

    @property
    def encoding_label(self) -> str:
        """A short name for the status bar, such as ``UTF-8 BOM``."""
        return _LABELS.get(self.encoding, self.encoding)

    @property
    def newline_label(self) -> str:
        """``LF``, ``CRLF`` or ``CR``."""
        return _NEWLINE_LABELS.get(self.newline, repr(self.newline))

    def encoded(self) -> bytes:
        """The bytes ``save_document`` would write, BOM included."""
        if self.encoding not in _CODECS:
            raise EncodeFailed(f"unknown encoding {self.encoding!r}; expected one of {', '.join(_CODECS)}")
        try:
            body = self.text.encode(_CODECS[self.encoding])
        except UnicodeEncodeError as exc:
            line, col = offset_to_position(self.text, exc.start)
            raise EncodeFailed(
                f"{self.path or 'buffer'}:{line}:{col}: character {self.text[exc.start]!r} cannot be "
                f"written as {self.encoding_label}; delete or replace it"
            ) from exc
        return _BOMS.get(self.encoding, b"") + body


def detect_newline(text: str) -> str:
    """The first line break in ``text``, or ``\\n`` when it has none."""
    match = _LINE_BREAK.search(text)
    return match.group() if match else "\n"


def normalize_newlines(text: str, newline: str) -> str:
    """``text`` with every line break (``\\r\\n``, ``\\r``, ``\\n``) replaced by ``newline``."""
    return _LINE_BREAK.sub(newline, text)


def load_document(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read ``path`` as text; a missing file gives an empty new document for that path.

    Raises ``FileAccessError`` for a directory or unreadable file, ``FileTooLarge`` above
    ``max_bytes``, ``BinaryFile`` when a NUL byte appears early, ``DecodeFailed`` otherwise.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        return Document(path=path, text="")
    except OSError as exc:
        raise FileAccessError(f"cannot open {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise FileAccessError(f"{path} is a directory; open a file inside it instead")
    if not stat.S_ISREG(info.st_mode):
        raise FileAccessError(f"{path} is not a regular file (a device, FIFO or socket); open a text file")
    if info.st_size > max_bytes:
        raise FileTooLarge(_too_large(path, info.st_size, max_bytes))
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise FileAccessError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise FileTooLarge(_too_large(path, len(data), max_bytes))
    text, encoding = decode_bytes(data, path)
    return Document(path=path, text=text, encoding=encoding, newline=detect_newline(text))


def decode_bytes(data: bytes, path: str | os.PathLike[str] = "<bytes>") -> tuple[str, str]:
    """``(text, encoding)`` for the raw bytes of a file; ``path`` is only used in messages."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        # Checked before UTF-16: the UTF-32 LE BOM begins with the UTF-16 LE one.
        raise DecodeFailed(f"{path} is UTF-32 text, which is not supported; convert it with `iconv -f UTF-32 -t UTF-8`")
    encoding = next((name for name, bom in _BOMS.items() if data.startswith(bom)), "utf-8")
    if not encoding.startswith("utf-16") and b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise BinaryFile(f"{path} looks binary (it contains NUL bytes); open a text file instead")
    body = data[len(_BOMS.get(encoding, b"")) :]
    try:
        text = body.decode(_CODECS[encoding])
    except UnicodeDecodeError as exc:
        what = "UTF-8" if encoding.startswith("utf-8") else _LABELS[encoding]
        raise DecodeFailed(
            f"{path} is not {what} text (invalid byte at offset {exc.start + len(data) - len(body)}); "
            f"convert it to UTF-8 first, e.g. `iconv -f LATIN1 -t UTF-8`"
        ) from exc
    return text, encoding


def _too_large(path: Path, size: int, max_bytes: int) -> str:
    return f"{path} is {size:,} bytes, over the {max_bytes:,}-byte limit; raise editor.max_file_bytes in config.toml"


def save_document(doc: Document, path: str | os.PathLike[str] | None = None) -> Path:
    """Write ``doc`` to ``path`` (default ``doc.path``) atomically and return where it went.

    The text is encoded before anything touches the disk, so an ``EncodeFailed`` leaves no trace.
    A symlink is followed, so the link stays and the file it points to is replaced.
    """
    target = Path(path) if path is not None else doc.path
    if target is None:
        raise DocumentError("this buffer has no file name yet; save it with a path (save as)")
    atomic_write(Path(os.path.realpath(target)), doc.encoded())
    return target


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see either the old file or the new one.

    Writes a temporary file in the same directory (so ``os.replace`` is a rename on one file
    system), flushes and fsyncs it, gives it the old file's permission bits (a new file gets
    0o666 minus the umask, like any editor), then renames it over ``path``. On any failure the
    temporary file is removed and the original is untouched. Ownership is not copied: only root
    could do that, and a file owned by someone else in a writable directory is rare enough.
    """
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise FileAccessError(f"cannot save {path}: {exc.strerror or exc}") from exc
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # O_EXCL: never write through a file or link someone else put at the temp name.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise FileAccessError(f"cannot save {path}: {exc.strerror or exc}") from exc
    try:
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FileAccessError(f"cannot save {path}: {exc.strerror or exc}; the file on disk is unchanged") from exc
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable. Windows cannot open a directory, and some file systems
    # (network mounts) refuse to fsync one; the data is already safe in either case.
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # see above: the rename happened, only its durability on power loss is unknown
    finally:
        os.close(fd)


class LineIndex:
    """Where each line of a text starts and ends, for fast LINE:COL ⇄ offset conversion."""

    def __init__(self, text: str) -> None:
        breaks = list(_LINE_BREAK.finditer(text))
        self.text_length = len(text)
        """Length of the indexed text in characters."""
        self.starts = [0] + [m.end() for m in breaks]
        """Offset of the first character of each line."""
        self.ends = [m.start() for m in breaks] + [len(text)]
        """Offset just past the last character of each line, before its line break."""

    @property
    def line_count(self) -> int:
        """Number of lines; a text ending in a line break has an empty last line."""
        return len(self.starts)

    def offset(self, line: int, col: int) -> int:
        """The character offset of 1-based ``line``:``col``; ``col`` may be one past the line's end."""
        if not 1 <= line <= self.line_count:
            raise BadPosition(f"line {line} is outside the text, which has lines 1..{self.line_count}")
        start, end = self.starts[line - 1], self.ends[line - 1]
        if not 1 <= col <= end - start + 1:
            raise BadPosition(f"column {col} is outside line {line}, which has columns 1..{end - start + 1}")
        return start + col - 1

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based ``(line, col)`` of a character offset (``len(text)`` is the end of file)."""
        if not 0 <= offset <= self.text_length:
            raise BadPosition(f"offset {offset} is outside the text, which has offsets 0..{self.text_length}")
        index = bisect.bisect_right(self.starts, offset) - 1
        if offset > self.ends[index]:
            raise BadPosition(f"offset {offset} falls between the \\r and \\n of a CRLF line break")
        return index + 1, offset - self.starts[index] + 1


def position_to_offset(text: str, line: int, col: int) -> int:
    """The character offset of 1-based ``line``:``col`` in ``text``; see ``LineIndex.offset``."""
    return LineIndex(text).offset(line, col)


def offset_to_position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based ``(line, col)`` of ``offset`` in ``text``; see ``LineIndex.position``."""
    return LineIndex(text).position(offset)


_POSITION = re.compile(r"\s*([0-9]+)(?::([0-9]+))?\s*")


def parse_position(spec: str) -> tuple[int, int]:
    """``"12:5"`` → ``(12, 5)``; a bare ``"12"`` means column 1. Both numbers are 1-based."""
    match = _POSITION.fullmatch(spec)
    if match is None:
        raise BadPosition(f"expected a position LINE:COL such as 12:5, found {spec!r}")
    line, col = int(match.group(1)), int(match.group(2) or 1)
    if line < 1 or col < 1:
        raise BadPosition(f"positions are 1-based, found {spec!r}; the first character is 1:1")
    return line, col


def parse_range(spec: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``"3:1-4:7"`` → ``((3, 1), (4, 7))``; the end must not come before the start."""
    start_spec, dash, end_spec = spec.partition("-")
    if not dash:
        raise BadPosition(f"expected a range LINE:COL-LINE:COL such as 3:1-4:7, found {spec!r}")
    start, end = parse_position(start_spec), parse_position(end_spec)
    if end < start:
        raise BadPosition(f"range {spec!r} ends before it starts; write the earlier position first")
    return start, end
