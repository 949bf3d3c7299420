"""The suspicion heatmap: the tokens the model finds unlikely in place, shaded over the canvas's rows.

    heat = Heatmap(result.tokens, threshold=0.01, location_of=canvas.location_of)
    canvas.set_shading(heat.shade)      # drawn over the rows as they are painted; the document is untouched
    heat.marked                         # the tokens below the threshold
    heat.holes()                        # those tokens as replacement holes (touching ones merged)
    heat = heat.carried(start, old_end, new_end, canvas.location_of)   # after an edit (``holes.edit_region``)

Two shades: a token below the threshold is *marked* (the tokens that the mask key turns into
holes), one below ten times the threshold is *doubtful* and only dimly shaded, so the eye finds
the marked ones first and still sees where the model hesitated around them.

An edit keeps the heatmap: the scores after it move with their tokens, and only the tokens the
edit touched lose theirs (``touched``), since their scores were for text that is no longer there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from rich.style import Style
from rich.text import Text

from canvasedit.engine import Hole
from canvasedit.engine.score import TokenScore, holes_for

Location = tuple[int, int]

MARKED_STYLE = Style(color="#ffffff", bgcolor="#af0000", bold=True)
"""A token below the threshold (xterm colour 124, exact on 256-colour terminals)."""
DOUBTFUL_STYLE = Style(bgcolor="#5f0000")
"""A token below ten times the threshold (xterm colour 52)."""
DOUBTFUL_FACTOR = 10.0


class Heatmap:
    """Scored tokens laid out on the rows they cover, ready to shade each row as it is drawn."""

    def __init__(
        self, tokens: Sequence[TokenScore], threshold: float, location_of: Callable[[int], Location]
    ) -> None:
        self.tokens = tuple(tokens)
        self.threshold = threshold
        self.marked = tuple(t for t in self.tokens if t.probability < threshold)
        """The tokens less likely than ``threshold``, in document order."""
        self._rows: dict[int, list[tuple[int, int, Style]]] = {}
        for t in self.tokens:
            if t.probability < threshold:
                self._add(t, MARKED_STYLE, location_of)
            elif t.probability < threshold * DOUBTFUL_FACTOR:
                self._add(t, DOUBTFUL_STYLE, location_of)

    def _add(self, token: TokenScore, style: Style, location_of: Callable[[int], Location]) -> None:
        (r0, c0), (r1, c1) = location_of(token.start), location_of(token.end)
        for row in range(r0, r1 + 1):
            start = c0 if row == r0 else 0
            end = c1 if row == r1 else None  # to the end of the row
            self._rows.setdefault(row, []).append((start, -1 if end is None else end, style))

    @property
    def rows(self) -> tuple[int, ...]:
        """The document rows that have a shaded token."""
        return tuple(sorted(self._rows))

    def shade(self, line: Text, row: int) -> None:
        """Style ``row``'s text in place (the canvas's shading hook)."""
        for start, end, style in self._rows.get(row, ()):
            stop = len(line.plain) if end < 0 else min(end, len(line.plain))
            if stop > start:
                line.stylize(style, start, stop)

    def holes(self) -> list[Hole]:
        """The marked tokens as replacement holes; tokens whose ranges touch share one."""
        return holes_for(self.marked)

    def carried(self, start: int, old_end: int, new_end: int, location_of: Callable[[int], Location]) -> Heatmap:
        """The heatmap over the text after ``[start, old_end)`` became ``[start, new_end)``: the tokens the edit
        touched dropped, the ones after it moved by its length change, laid out on the new rows."""
        delta = new_end - old_end
        kept = []
        for t in self.tokens:
            if touched(t, start, old_end):
                continue
            kept.append(t if t.end <= start else replace(t, start=t.start + delta, end=t.end + delta))
        return Heatmap(kept, self.threshold, location_of)


def touched(token: TokenScore, start: int, end: int) -> bool:
    """Whether an edit of ``[start, end)`` (an insertion when they are equal) touches ``token``: it changed
    the token's characters or meets it at either end, where the tokenizer may join the new text to it."""
    return token.start <= end and token.end >= start
