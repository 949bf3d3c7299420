"""How a file is shown, from its name: highlighting (tree-sitter or Pygments) and soft wrap. No Textual imports.

    file_type(Path("notes.md"))   # FileType(language="markdown", pygments=None, prose=True)
    file_type(Path("app.ts"))     # FileType(language=None, pygments="typescript", prose=False)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from canvasedit.syntax import language_for_path, pygments_lexer_for_path

PROSE_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text", ".rst", ""})
"""Files that soft-wrap (when ``editor.soft_wrap_prose`` is on); code never does."""


@dataclass(frozen=True)
class FileType:
    """How a file is shown."""

    language: str | None
    """Tree-sitter / TextArea language, or None."""
    pygments: str | None
    """Pygments lexer for files without a grammar, or None."""
    prose: bool
    """Whether it reads as prose (soft wrap)."""

    @property
    def label(self) -> str:
        """Name for the status bar."""
        return self.language or self.pygments or "plain text"


def file_type(path: Path | None) -> FileType:
    """The ``FileType`` of a path (None: an unnamed buffer, shown as plain text)."""
    if path is None:
        return FileType(None, None, True)
    language = language_for_path(path)
    lexer = None if language else pygments_lexer_for_path(path)
    return FileType(language, None if lexer == "text" else lexer, path.suffix.lower() in PROSE_SUFFIXES)
