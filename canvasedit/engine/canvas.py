"""The canvas: a document's holes laid out as token ids, with the context that fits the model.

A ``Hole`` is a character range of the document plus a length in tokens:

* insertion — an empty range; ``length`` tokens are masked (default 32);
* replacement — the range's text is thrown away; ``length`` defaults to its token count;
* partial revision — ``revise=f``: the range's own tokens stay and a fraction ``f`` of them is
  re-masked (the fill chooses the ones the model finds least likely).

The text outside the holes is never decoded again: the document is cut into segments at the hole
boundaries, each segment is tokenized on its own, and a fill's result splices the original
segment strings around the new hole texts, so everything outside the holes comes back
byte-for-byte. When the document is longer than the model's context, the window keeps every hole
and all text between them and spends what is left evenly on the text before and after.

    canvas = build_canvas(text, [Hole(10, 10, 8), Hole(40, 52)], backend.encode, 4096, mask_id)
    canvas.ids            # (T,) tokens with masks in the holes
    canvas.spans[0]       # HoleSpan(start=.., stop=..) token positions of hole 0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from canvasedit.engine.errors import BadHole, ContextTooLong
from canvasedit.models.spec import FamilySpec

DEFAULT_HOLE_TOKENS = 32
# A character is at most a few byte-level tokens and a token rarely spans more than ~16 characters:
# cutting the outer context to this many characters per token of budget before tokenizing keeps
# very long documents cheap without ever running short of context.
_CHARS_PER_TOKEN_BOUND = 32


@dataclass(frozen=True)
class Hole:
    start: int
    """Character offset where the hole begins."""
    end: int
    """Character offset where it ends; equal to ``start`` for an insertion."""
    length: int | None = None
    """Length in tokens; None for the default (32 for an insertion, the range's own token count otherwise)."""
    revise: float | None = None
    """Fraction of the range's tokens to re-mask and refill (partial revision); None for a plain hole."""

    @property
    def kind(self) -> str:
        if self.revise is not None:
            return "revise"
        return "insert" if self.start == self.end else "replace"

    def contains(self, offset: int) -> bool:
        """Whether a cursor at ``offset`` is on this hole (its ends included)."""
        return self.start <= offset <= self.end

    def overlaps(self, other: Hole) -> bool:
        """Whether two holes cannot be filled together: shared ranges, or two insertions at one point.

        Holes that only touch (a range ending where another begins) do not overlap.
        """
        if self.start == self.end == other.start == other.end:
            return True
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class HoleSpan:
    hole: Hole
    start: int
    """First canvas position of the hole."""
    stop: int
    """One past its last canvas position."""
    original: tuple[int, ...]
    """The range's own tokens (revision keeps them; for other holes, kept only for reference)."""

    @property
    def length(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class CanvasLayout:
    """What a model family needs around the document's tokens (from its ``FamilySpec``)."""

    begin: int | None = None
    """A token the canvas starts with (BOS, [CLS]) when the window starts at the document's start."""
    begin_always: bool = False
    """Start every canvas with ``begin``, even a window cut out of a long document."""
    finish: int | None = None
    """A token every canvas ends with ([SEP])."""
    shifted: bool = False
    """The family reads token i's logits at position i−1, so no hole may start the canvas."""
    block_size: int = 0
    """Block-causal families: attention blocks of this many canvas positions, filled in order; 0 = bidirectional."""
    blocks_from_hole: bool = False
    """Block-causal: blocks are counted so that the first hole starts one, not from the canvas's start."""

    @property
    def sees_suffix(self) -> bool:
        """Whether a hole is filled seeing the text after it."""
        return self.block_size == 0

    def block_offset(self, first_hole: int) -> int:
        """What to add to a canvas position before dividing by ``block_size`` to get its block:
        0, or the shift that makes ``first_hole`` the start of a block."""
        return -first_hole % self.block_size if self.block_size and self.blocks_from_hole else 0

    @classmethod
    def of(cls, spec: FamilySpec, begin: int | None, finish: int | None, block_size: int = 0) -> CanvasLayout:
        return cls(begin=begin, begin_always=spec.begin_always, finish=finish, shifted=spec.shift_logits,
                   block_size=block_size, blocks_from_hole=spec.blocks_from_hole)


@dataclass(frozen=True)
class Canvas:
    ids: torch.Tensor
    """(T,) canvas tokens; hole positions hold the mask id (revision holes their own tokens)."""
    spans: tuple[HoleSpan, ...]
    segments: tuple[str, ...]
    """The document cut at the holes: ``len(spans) + 1`` strings, kept verbatim for the result."""
    context: tuple[int, int]
    """Tokens of text kept before the first hole and after the last one."""
    lead: int = 0
    """Layout tokens before the text (a BOS); the text's first kept token is at this position."""


def validate_holes(text: str, holes: Sequence[Hole]) -> list[Hole]:
    """Holes sorted by position; raises ``BadHole`` for ranges outside the text or overlapping ones."""
    if not holes:
        raise BadHole("no holes given: mark at least one range or insertion point to fill")
    ordered = sorted(holes, key=lambda h: (h.start, h.end))
    for hole in ordered:
        if not 0 <= hole.start <= hole.end <= len(text):
            raise BadHole(f"hole {hole.start}-{hole.end} lies outside the document (0-{len(text)} characters)")
        if hole.length is not None and hole.length < 1:
            raise BadHole(f"hole {hole.start}-{hole.end}: length must be at least 1 token, got {hole.length}")
        if hole.revise is not None:
            if hole.start == hole.end:
                raise BadHole(f"hole at {hole.start}: revising needs a non-empty range")
            if not 0.0 < hole.revise <= 1.0:
                raise BadHole(f"hole {hole.start}-{hole.end}: revise fraction must be in (0, 1], got {hole.revise}")
    for a, b in zip(ordered, ordered[1:]):
        if a.overlaps(b):
            raise BadHole(f"holes {a.start}-{a.end} and {b.start}-{b.end} overlap")
    return ordered


def build_canvas(
    text: str,
    holes: Sequence[Hole],
    encode: Callable[[str], list[int]],
    max_length: int,
    mask_id: int,
    default_length: int = DEFAULT_HOLE_TOKENS,
    layout: CanvasLayout = CanvasLayout(),
    context: int = 0,
) -> Canvas:
    """The canvas for ``holes`` in ``text``; ``context`` caps the document tokens kept around the holes
    (0: as many as the model reads), since every kept token costs compute on every exact step."""
    ordered = validate_holes(text, holes)
    cuts = [0]
    for hole in ordered:
        cuts += [hole.start, hole.end]
    cuts.append(len(text))
    segments = tuple(text[cuts[2 * i] : cuts[2 * i + 1]] for i in range(len(ordered) + 1))

    reserved = int(layout.begin is not None) + int(layout.finish is not None)
    room = max_length - reserved
    hole_ids: list[list[int]] = []
    originals: list[tuple[int, ...]] = []
    need = 0
    for hole in ordered:
        if hole.length is not None and hole.length > room:  # before any list of that length is built
            raise ContextTooLong(
                f"a hole of {hole.length} tokens does not fit: the model reads at most {max_length} tokens"
            )
        own = tuple(encode(text[hole.start : hole.end]))
        originals.append(own)
        if hole.revise is not None:
            hole_ids.append(list(own))
        else:
            n = hole.length if hole.length is not None else (len(own) if own else default_length)
            hole_ids.append([mask_id] * min(n, room + 1))
        need += len(hole_ids[-1])
        if need > room:
            break
    middle = [encode(s) for s in segments[1:-1]] if need <= room else []
    need += sum(len(m) for m in middle)
    if need > room:
        raise ContextTooLong(
            f"the holes and the text between them need more than {room} tokens but the model reads at most "
            f"{max_length}; fill fewer or shorter holes at a time"
        )
    budget = room - need if context <= 0 else min(room - need, context)
    char_cap = budget * _CHARS_PER_TOKEN_BOUND
    prefix = encode(segments[0][-char_cap:] if char_cap else "")
    suffix = encode(segments[-1][:char_cap] if char_cap else "")
    half = budget // 2
    n_left = min(len(prefix), max(half, budget - len(suffix)))
    n_right = min(len(suffix), budget - n_left)
    left = prefix[len(prefix) - n_left :]
    right = suffix[:n_right]

    ids: list[int] = []
    whole_start = n_left == len(prefix) and (not char_cap or len(segments[0]) <= char_cap)
    if layout.begin is not None and (layout.begin_always or whole_start or (layout.shifted and not left)):
        ids.append(layout.begin)
    if layout.shifted and not ids and not left:
        raise BadHole("this model reads each token from the one before it and has no start token for a hole "
                      "at the start of its context; give the hole some text before it")
    lead = len(ids)
    ids.extend(left)
    spans = []
    for i, hole in enumerate(ordered):
        start = len(ids)
        ids.extend(hole_ids[i])
        spans.append(HoleSpan(hole, start, len(ids), originals[i]))
        if i < len(middle):
            ids.extend(middle[i])
    ids.extend(right)
    if layout.finish is not None:
        ids.append(layout.finish)
    return Canvas(torch.tensor(ids, dtype=torch.long), tuple(spans), segments, (n_left, n_right), lead)
