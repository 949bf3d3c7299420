"""Loading and saving the user's files without losing a byte, and LINE:COL positions in them.

    doc = load_document("notes.md")            # Document(path, text, encoding, newline, disk_state)
    doc.text = new_text
    save_document(doc)                          # atomic: the old file survives any failure

Saving refuses, with a ``DocumentError`` subclass the editor catches to ask the user:

* ``FileChangedOnDisk`` — the file's bytes differ from what ``doc.disk_state`` recorded when it
  was loaded (or last saved): someone else wrote it. Checked again just before the rename, so a
  long fill cannot overwrite a change made while it ran. ``check_unchanged(doc)`` raises the same
  error without saving, ``disk_changed(doc)`` answers as a bool.
* ``ReadOnlyFile`` — the target exists and has no write permission. A rename only needs the
  folder's write bit, so without this check an atomic save would replace a 0444 file.
* ``NotARegularFile`` — the target is a directory, FIFO, device or socket. Never overridable.

After the user says yes, ``save_document(doc, allow_changed=True)`` or ``allow_read_only=True``
writes anyway (a read-only file stays read-only). A successful save records the new
``doc.disk_state``, so the next save compares against what this one wrote.

Text is decoded from bytes without newline translation, so CRLF and lone CR stay in
``Document.text`` verbatim and saving an unmodified document writes back the exact bytes it was
read from (BOM included). ``Document.newline`` is the file's most common line break, which is
the style for lines that are inserted: ``adapt_newlines(inserted, doc.newline)``.

Textual's ``TextArea`` splits lines the way ``str.splitlines`` does: it would save a mixed file
with one line break everywhere and turn ``\\f \\v \\x1c \\x85 U+2028`` into line breaks. The
editor shows ``to_editor(doc.text)`` instead and saves ``from_editor(area.text, line_map)``
(``canvasedit.newlines``, re-exported here):

    shown, line_map = to_editor(doc.text)      # "\\n" breaks only; \\f and friends as stand-ins (␌)
    doc.text = from_editor(edited, line_map)    # unedited lines keep their bytes, new ones doc.newline

Supported encodings are UTF-8 (with or without a BOM) and UTF-16 with a BOM. Anything else is
refused with a one-line ``DocumentError`` rather than guessed at: a wrong guess would corrupt the
file on save. A NUL character anywhere makes a file binary.

Saves go through a temporary file beside the target, created 0600 and given the target's mode
just before the rename. Its name holds the writer's process id, so the next load or save of the
same file removes one that a kill -9 left behind (``remove_stale_temporaries``).

Positions are 1-based ``LINE:COL`` counted in characters, as terminal editors and compilers
print them; ``\\r\\n``, ``\\n`` and ``\\r`` each end one line. ``LineIndex`` converts both ways
in O(log lines) once built; ``position_to_offset`` / ``offset_to_position`` build one per call.
"""

from __future__ import annotations

import bisect
import codecs
import glob
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from canvasedit.newlines import (  # noqa: F401  (re-exported: the editor and the CLI use them with documents)
    _LINE_BREAK,
    STAND_INS,
    LineMap,
    adapt_newlines,
    detect_newline,
    from_editor,
    normalize_newlines,
    to_editor,
)

DEFAULT_MAX_BYTES = 5_000_000

_BOMS: dict[str, bytes] = {
    "utf-8-sig": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
}
"""Encodings that carry a byte-order mark; the BOM is stripped on load and written back on save."""
_CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be"}
_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 BOM", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE"}
_NEWLINE_LABELS = {"\n": "LF", "\r\n": "CRLF", "\r": "CR"}


class DocumentError(Exception):
    """Base class for every failure to load, save or address a document."""


class FileAccessError(DocumentError, OSError):
    """The operating system refused to read or write the file."""


class NotARegularFile(FileAccessError):
    """The path is a directory, FIFO, device or socket: nothing to read as text or to replace."""


class ReadOnlyFile(FileAccessError, PermissionError):
    """The file to be replaced has no write permission; save with ``allow_read_only=True`` to replace it."""


class FileChangedOnDisk(DocumentError):
    """The file changed since it was loaded; save with ``allow_changed=True`` to overwrite it."""


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


@dataclass(frozen=True)
class DiskState:
    """What a file on disk held when a document was loaded from it or saved to it."""

    path: Path
    """The real path (symlinks resolved) the state belongs to; saving elsewhere does not compare."""
    exists: bool
    """False when the document was opened for a file that did not exist yet."""
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    """Hex digest of the bytes: what ``check_unchanged`` compares (a ``touch`` is not a change)."""
    read_only: bool = False
    """The file had no write permission (the editor shows it and asks before replacing it)."""

    @classmethod
    def of_bytes(cls, path: Path, info: os.stat_result, data: bytes) -> DiskState:
        return cls(path, True, info.st_size, info.st_mtime_ns, hashlib.sha256(data).hexdigest(), _read_only(path, info))


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
    """The file's most common line break (``\\n``, ``\\r\\n`` or ``\\r``); used for inserted lines."""
    disk_state: DiskState | None = field(default=None, compare=False)
    """The file as loaded or last saved; None for a document not read from disk (nothing to compare)."""

    @property
    def encoding_label(self) -> str:
        """A short name for the status bar, such as ``UTF-8 BOM``."""
        return _LABELS.get(self.encoding, self.encoding)

    @property
    def newline_label(self) -> str:
        """``LF``, ``CRLF`` or ``CR``."""
        return _NEWLINE_LABELS.get(self.newline, repr(self.newline))

    @property
    def read_only(self) -> bool:
        """Whether the file had no write permission when it was loaded or last saved."""
        return self.disk_state is not None and self.disk_state.read_only

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


# ------------------------------------------------------------------------------------------ load


def load_document(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read ``path`` as text; a missing file gives an empty new document for that path.

    Raises ``NotARegularFile`` for a directory, FIFO or device, ``FileAccessError`` for an
    unreadable file, ``FileTooLarge`` above ``max_bytes``, ``BinaryFile`` for a NUL byte,
    ``DecodeFailed`` otherwise.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    try:
        info = path.stat()
    except FileNotFoundError:
        return Document(path=path, text="", disk_state=DiskState(real, exists=False))
    except OSError as exc:
        raise FileAccessError(f"cannot open {path}: {exc.strerror or exc}") from exc
    _require_regular(path, info, "open")
    if info.st_size > max_bytes:
        raise FileTooLarge(_too_large(path, info.st_size, max_bytes))
    remove_stale_temporaries(real)
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            data = f.read(max_bytes + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise FileAccessError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise FileTooLarge(_too_large(path, len(data), max_bytes))
    text, encoding = decode_bytes(data, path)
    return Document(path=path, text=text, encoding=encoding, newline=detect_newline(text),
                    disk_state=DiskState.of_bytes(real, info, data))


def decode_bytes(data: bytes, path: str | os.PathLike[str] = "<bytes>") -> tuple[str, str]:
    """``(text, encoding)`` for the raw bytes of a file; ``path`` is only used in messages."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        # Checked before UTF-16: the UTF-32 LE BOM begins with the UTF-16 LE one.
        raise DecodeFailed(f"{path} is UTF-32 text, which is not supported; convert it with `iconv -f UTF-32 -t UTF-8`")
    encoding = next((name for name, bom in _BOMS.items() if data.startswith(bom)), "utf-8")
    # The whole file, not a prefix as git does: a NUL late in a file would be saved back as text
    # that no other tool treats as text, and `bytes.find` scans 5 MB in about a millisecond.
    if not encoding.startswith("utf-16") and b"\0" in data:
        raise BinaryFile(_binary(path, data.index(b"\0")))
    body = data[len(_BOMS.get(encoding, b"")) :]
    try:
        text = body.decode(_CODECS[encoding])
    except UnicodeDecodeError as exc:
        what = "UTF-8" if encoding.startswith("utf-8") else _LABELS[encoding]
        raise DecodeFailed(
            f"{path} is not {what} text (invalid byte at offset {exc.start + len(data) - len(body)}); "
            f"convert it to UTF-8 first, e.g. `iconv -f LATIN1 -t UTF-8`"
        ) from exc
    if "\0" in text:  # UTF-16 has NUL bytes in every ASCII character, but no NUL characters
        raise BinaryFile(_binary(path, len(_BOMS[encoding]) + 2 * text.index("\0")))
    return text, encoding


def _binary(path: str | os.PathLike[str], offset: int) -> str:
    return f"{path} looks binary (a NUL byte at offset {offset}); open a text file instead"


def _too_large(path: Path, size: int, max_bytes: int) -> str:
    return f"{path} is {size:,} bytes, over the {max_bytes:,}-byte limit; raise editor.max_file_bytes in config.toml"


def _require_regular(path: Path, info: os.stat_result, verb: str) -> None:
    if stat.S_ISREG(info.st_mode):
        return
    if stat.S_ISDIR(info.st_mode):
        raise NotARegularFile(f"{path} is a directory; {verb} a file inside it instead")
    kind = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
            else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file")
    raise NotARegularFile(f"{path} is {kind}, not a regular file; {verb} a text file instead")


def _read_only(path: Path, info: os.stat_result) -> bool:
    # No write bit at all counts even for root, who may write anything: a 0444 file says "keep".
    return not info.st_mode & 0o222 or not os.access(path, os.W_OK)


# ------------------------------------------------------------------------------------------ save


def disk_changed(doc: Document) -> bool:
    """Whether ``doc.path`` now holds other bytes than ``doc.disk_state`` recorded (False if untracked)."""
    try:
        check_unchanged(doc)
    except FileChangedOnDisk:
        return True
    return False


def check_unchanged(doc: Document) -> None:
    """Raise ``FileChangedOnDisk`` when the file was written, created or deleted since ``doc`` was loaded."""
    if doc.disk_state is not None:
        _check_state(doc.disk_state)


def _check_state(state: DiskState) -> None:
    path = state.path
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if state.exists:
            raise FileChangedOnDisk(f"{path} was deleted by another program since it was opened") from None
        return
    except OSError as exc:
        raise FileAccessError(f"cannot check {path}: {exc.strerror or exc}") from exc
    if not state.exists:
        raise FileChangedOnDisk(f"{path} was created by another program since this buffer was opened")
    if info.st_size == state.size:
        try:
            with open(path, "rb") as f:
                if hashlib.sha256(f.read()).hexdigest() == state.sha256:
                    return
        except OSError as exc:
            raise FileAccessError(f"cannot check {path}: {exc.strerror or exc}") from exc
    size = "" if info.st_size == state.size else f" ({state.size:,} bytes then, {info.st_size:,} now)"
    raise FileChangedOnDisk(f"{path} was changed by another program since it was opened{size}")


def save_document(
    doc: Document,
    path: str | os.PathLike[str] | None = None,
    *,
    allow_changed: bool = False,
    allow_read_only: bool = False,
) -> Path:
    """Write ``doc`` to ``path`` (default ``doc.path``) atomically and return where it went.

    The text is encoded before anything touches the disk, so an ``EncodeFailed`` leaves no trace.
    A symlink is followed, so the link stays and the file it points to is replaced. Refuses with
    ``NotARegularFile``, ``ReadOnlyFile`` or ``FileChangedOnDisk`` (see the module docstring);
    the last is checked once more just before the rename. Updates ``doc.disk_state``.
    """
    target = Path(path) if path is not None else doc.path
    if target is None:
        raise DocumentError("this buffer has no file name yet; save it with a path (save as)")
    data = doc.encoded()
    real = Path(os.path.realpath(target))
    expect = doc.disk_state if doc.disk_state is not None and doc.disk_state.path == real else None
    if allow_changed:
        expect = None
    if expect is not None:
        _check_state(expect)
    check_target(target, allow_read_only=allow_read_only)
    atomic_write(real, data, expect=expect)
    try:
        doc.disk_state = DiskState.of_bytes(real, os.stat(real), data)
    except OSError:
        doc.disk_state = None  # written, but gone again at once: nothing sensible to compare later
    return target


def check_target(path: str | os.PathLike[str], *, allow_read_only: bool = False) -> None:
    """Raise ``NotARegularFile`` or ``ReadOnlyFile`` if saving to ``path`` would be refused (before slow work)."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FileAccessError(f"cannot save {path}: {exc.strerror or exc}") from exc
    _require_regular(path, info, "save to")
    if not allow_read_only and _read_only(path, info):
        raise ReadOnlyFile(f"{path} is read-only (mode {stat.S_IMODE(info.st_mode):o}); save it under another name")


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # the portable way has to set it; put it straight back
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """Permission bits of a newly created file, as ``open()`` would give it: 0o666 minus the umask."""
    return 0o666 & ~current_umask()


def atomic_write(path: Path, data: bytes, *, expect: DiskState | None = None) -> None:
    """Replace ``path`` with ``data`` so that readers see either the old file or the new one.

    Writes a temporary file in the same directory (so ``os.replace`` is a rename on one file
    system), created 0600 so no one else can read the content while it is written, fsyncs it,
    gives it the old file's permission bits (a new file gets 0o666 minus the umask, like any
    editor), checks ``expect`` (``FileChangedOnDisk``), then renames it over ``path``. On any
    failure the temporary file is removed and the original is untouched. Ownership is not
    copied: only root could do that, and a file owned by someone else in a writable directory is
    rare enough.
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = new_file_mode()
    except OSError as exc:
        raise FileAccessError(f"cannot save {path}: {exc.strerror or exc}") from exc
    try:
        with temporary_beside(path, ".tmp") as temp:
            with open(temp, "wb", opener=_no_follow) as f:
                f.write(data)
                f.flush()
                if hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), mode)
                else:
                    os.chmod(temp, mode)
                os.fsync(f.fileno())
            if expect is not None:
                _check_state(expect)
            os.replace(temp, path)
    except OSError as exc:
        if isinstance(exc, DocumentError):
            raise
        raise FileAccessError(f"cannot save {path}: {exc.strerror or exc}; the file on disk is unchanged") from exc
    _fsync_directory(path.parent)


def _no_follow(path: str, flags: int) -> int:
    # The temporary was just created O_EXCL; never follow a link swapped in at its name since.
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o600)


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


# ------------------------------------------------------------------------------------------ temporaries

_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.canvasedit-(?P<pid>[0-9]+)-[0-9a-f]{8}\.(?:tmp|part)$")


@contextmanager
def temporary_beside(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """An empty 0600 file next to ``path`` for writing its replacement; removed unless renamed away.

    The name (``.NAME.canvasedit-PID-HEX.tmp``) says which process owns it, so the next load or
    save of ``path`` (``remove_stale_temporaries``) removes one that a kill -9 left behind.
    """
    temp = reserve_temporary(path, suffix)
    try:
        yield temp
    finally:
        temp.unlink(missing_ok=True)


def reserve_temporary(path: str | os.PathLike[str], suffix: str = ".tmp") -> Path:
    """Create the empty 0600 file ``temporary_beside`` yields; the caller renames or removes it."""
    path = Path(path)
    remove_stale_temporaries(path)
    temp = path.with_name(f".{path.name}.canvasedit-{os.getpid()}-{secrets.token_hex(4)}{suffix}")
    # O_EXCL: never write through a file or link someone else put at the temp name.
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600))
    return temp


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporaries for ``path`` whose process is gone; returns the ones removed."""
    path = Path(path)
    removed = []
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.canvasedit-*"))
    except OSError:
        return removed
    for temp in candidates:
        match = _TEMP_NAME.match(temp.name)
        if match and match.group("name") == path.name and not _alive(int(match.group("pid"))):
            try:
                temp.unlink()
            except FileNotFoundError:
                continue  # another process cleaned it up first
            except OSError:
                continue  # not ours to remove (a read-only folder): it stays, harmless
            removed.append(temp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's live process, or a pid we cannot ask about: leave its file
    return True


# ------------------------------------------------------------------------------------------ positions


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
