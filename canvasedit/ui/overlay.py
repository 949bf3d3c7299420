"""Where hole text goes on screen while a fill streams, without touching the document.

The canvas draws each denoising pass over the document: ``layout_rows`` takes the document's
lines and, per hole, the range it covers plus the text to show there, and returns for each row
it touches the segments to draw — document text (with its row and column, so syntax colours can
follow it) and virtual text with a style name. No Textual imports.

    spans = [VirtualSpan((3, 4), (3, 4), (("░░", "masked"), ("foo", "new")))]
    rows = layout_rows(lines, spans)      # {3: [Seg("    ", None, 3, 0), Seg("░░", "masked"), …]}

The document keeps its rows: a hole that covers k line breaks may start k new rows; further line
breaks in its text are drawn as ``↵`` on the last row, and unused rows stay empty. That way the
text after a hole stays on its own row and nothing below it moves while the passes stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canvasedit.engine import Piece

Location = tuple[int, int]
"""``(row, column)`` in the document, as TextArea counts them."""

LOW_CONFIDENCE = 0.3
"""Committed tokens below this probability are drawn dimmed ("low")."""
NEWLINE_GLYPH = "↵"
"""Drawn for a line break in hole text that has no document row of its own."""

_CONTROL = {c: chr(0x2400 + c) for c in range(32) if chr(c) not in "\t\n"} | {0x7F: "\u2421"}


def visible(text: str) -> str:
    """``text`` with control characters shown as their Unicode control pictures (␕), tabs and newlines kept.

    A random or badly trained model can produce any token, and a raw control character would
    corrupt the terminal's output.
    """
    return text.translate(_CONTROL)


def piece_state(piece: Piece) -> str:
    """How a piece of hole text is drawn: its engine state, or ``low`` for a doubtful committed token."""
    if piece.state == "done" and piece.confidence is not None and piece.confidence < LOW_CONFIDENCE:
        return "low"
    return piece.state


@dataclass(frozen=True)
class Seg:
    """One run of characters on a row of the overlay."""

    text: str
    style: str | None
    """Style name of virtual text (``masked``, ``new`` …); None for document text."""
    row: int = -1
    """For document text: the row it comes from."""
    col: int = 0
    """For document text: the column of its first character in that row."""


@dataclass(frozen=True)
class VirtualSpan:
    """The text to show in place of one hole's range."""

    start: Location
    end: Location
    """Equal to ``start`` for an insertion point."""
    parts: tuple[tuple[str, str], ...]
    """``(text, style)`` runs; text may hold line breaks."""


def layout_rows(lines: Sequence[str], spans: Sequence[VirtualSpan]) -> dict[int, list[Seg]]:
    """Segments for every row a span touches; rows not in the result show the document as it is.

    ``spans`` must be in document order and must not overlap (the engine's holes never do).
    """
    rows: dict[int, list[Seg]] = {}
    for cluster in _clusters(spans):
        first_row = cluster[0].start[0]
        last_row = max(span.end[0] for span in cluster)
        row, current = first_row, []
        position: Location = (first_row, 0)

        def flush() -> None:
            nonlocal row, current
            rows[row] = current
            row, current = row + 1, []

        def emit_document(start: Location, end: Location) -> None:
            for r in range(start[0], end[0] + 1):
                c0 = start[1] if r == start[0] else 0
                c1 = end[1] if r == end[0] else len(lines[r])
                if c1 > c0:
                    current.append(Seg(lines[r][c0:c1], None, r, c0))
                if r < end[0]:
                    flush()

        for span in cluster:
            emit_document(position, span.start)
            breaks = span.end[0] - span.start[0]
            for text, style in span.parts:
                for i, piece in enumerate(text.split("\n")):
                    if i:
                        if breaks:
                            breaks -= 1
                            flush()
                        else:
                            current.append(Seg(NEWLINE_GLYPH, style))
                    if piece:
                        current.append(Seg(visible(piece), style))
            for _ in range(breaks):
                flush()
            position = span.end
        emit_document(position, (last_row, len(lines[last_row])))
        flush()
    return rows


def _clusters(spans: Sequence[VirtualSpan]) -> list[list[VirtualSpan]]:
    """Group spans that share rows, so each group is laid out in one pass."""
    clusters: list[list[VirtualSpan]] = []
    for span in spans:
        if clusters and span.start[0] <= max(s.end[0] for s in clusters[-1]):
            clusters[-1].append(span)
        else:
            clusters.append([span])
    return clusters
