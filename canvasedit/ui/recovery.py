"""Crash recovery: unsaved buffers journalled to the platform state folder, offered back after a crash.

    journal = Journal.for_path(Path("notes.md"))      # state_dir()/recovery/<key>.json
    journal.write(Snapshot.of(path, text, marks, cursor, base))   # atomic: old journal or new, never half
    snapshot = journal.read()                          # None when there is none (or it is unreadable)
    journal.remove()                                   # after a save or a clean quit

The editor writes a snapshot every few seconds while the buffer has unsaved changes, and when
the terminal loses focus; a save or a clean quit removes it. A journal left behind means the
editor died (kill -9, a closed terminal, a crash): opening that file again offers its text back,
with a diff against the file. Untitled buffers are journalled under their process id.

A snapshot holds the text as the editor shows it (``newlines.to_editor``: ``\\n`` breaks), the
holes as ``(start, end, length, revise)``, the cursor, and the SHA-256 of the file it was edited
from, so the offer can say when the file changed on disk since. Results waiting for accept are
not journalled (they are not the user's text yet); their holes are. No Textual imports.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from canvasedit import paths
from canvasedit.document import DocumentError, atomic_write

VERSION = 1
"""Bumped when the file's layout changes; a journal of another version is ignored."""


@dataclass(frozen=True)
class Snapshot:
    """One journalled buffer."""

    path: str | None
    """The file the buffer belongs to (its real path), or None for an untitled buffer."""
    text: str
    """The text as the editor shows it."""
    holes: tuple[tuple[int, int, int | None, float | None], ...] = ()
    """``(start, end, length, revise)`` of every hole, offsets into ``text``."""
    cursor: tuple[int, int] = (0, 0)
    base_sha256: str = ""
    """SHA-256 of the file's bytes the buffer was loaded from or last saved as ("" if none)."""
    pid: int = field(default_factory=os.getpid)
    """The editor process that wrote it."""
    written: float = field(default_factory=time.time)
    """When (seconds since the epoch)."""

    def to_json(self) -> str:
        return json.dumps({"version": VERSION, **asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> Snapshot | None:
        """The snapshot in ``data``, or None when it is not one this version reads."""
        try:
            raw = json.loads(data)
            if not isinstance(raw, dict) or raw.get("version") != VERSION or not isinstance(raw.get("text"), str):
                return None
            holes = tuple(
                (int(h[0]), int(h[1]), None if h[2] is None else int(h[2]), None if h[3] is None else float(h[3]))
                for h in raw.get("holes", [])
            )
            row, column = raw.get("cursor", (0, 0))
            return cls(
                path=raw.get("path"), text=raw["text"], holes=holes, cursor=(int(row), int(column)),
                base_sha256=str(raw.get("base_sha256", "")), pid=int(raw.get("pid", 0)),
                written=float(raw.get("written", 0.0)),
            )
        except (ValueError, TypeError, IndexError, KeyError):
            return None

    def diff(self, current: str, name: str = "file") -> str:
        """A unified diff from ``current`` (the file as it is) to the journalled text."""
        lines = difflib.unified_diff(
            current.splitlines(keepends=True), self.text.splitlines(keepends=True),
            fromfile=f"{name} (on disk)", tofile=f"{name} (recovered)", n=2,
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def recovery_dir() -> Path:
    """Where journals live: ``paths.state_dir() / "recovery"``."""
    return paths.state_dir() / "recovery"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Journal:
    """The journal file of one buffer."""

    def __init__(self, file: Path, path: Path | None) -> None:
        self.file = file
        """The JSON file in the recovery folder."""
        self.path = path
        """The document's path (None: untitled)."""

    @classmethod
    def for_path(cls, path: Path | None, pid: int | None = None) -> Journal:
        """The journal of ``path``, or of this process's untitled buffer when ``path`` is None."""
        if path is None:
            return cls(recovery_dir() / f"untitled-{pid or os.getpid()}.json", None)
        real = os.path.realpath(path)
        key = hashlib.sha256(real.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        return cls(recovery_dir() / f"{key}.json", Path(real))

    def write(self, snapshot: Snapshot) -> None:
        """Replace the journal with ``snapshot`` (atomically; the folder is created)."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(self.file.parent, 0o700)  # unsaved text is as private as the file it came from
        except OSError:
            pass
        atomic_write(self.file, snapshot.to_json().encode("utf-8", "surrogatepass"))

    def read(self) -> Snapshot | None:
        """The journalled snapshot, or None when there is none or it cannot be read."""
        try:
            data = self.file.read_text(encoding="utf-8", errors="surrogatepass")
        except (OSError, UnicodeError):
            return None
        return Snapshot.from_json(data)

    def remove(self) -> None:
        """Forget the journal (the buffer was saved, discarded, or the editor quit cleanly)."""
        try:
            self.file.unlink()
        except FileNotFoundError:
            pass


def writer_alive(snapshot: Snapshot) -> bool:
    """Whether the process that wrote ``snapshot`` still runs (another editor has the file open)."""
    if snapshot.pid <= 0 or snapshot.pid == os.getpid():
        return False
    try:
        os.kill(snapshot.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def untitled_journals() -> list[Journal]:
    """Journals of untitled buffers whose editors are gone, newest first."""
    out = []
    for file in sorted(recovery_dir().glob("untitled-*.json"), key=lambda f: f.stat().st_mtime, reverse=True):
        journal = Journal(file, None)
        snapshot = journal.read()
        if snapshot is not None and not writer_alive(snapshot):
            out.append(journal)
    return out


def write_quietly(journal: Journal, snapshot: Snapshot) -> str | None:
    """Write a journal, returning why it could not be written instead of raising."""
    try:
        journal.write(snapshot)
    except (OSError, DocumentError) as exc:
        return str(exc)
    return None
