"""Suspicion scores: how likely the model finds each token of existing text when that token is masked.

A diffusion model reads the whole document at once, so it can judge every token in place: mask it,
ask for the distribution at its position, and read the probability of the token that is there.
Masking one token per forward pass would cost a pass per token; instead pass ``g`` of ``G`` masks
every token whose index is ``g`` modulo ``G`` (as the fill's revision pre-scoring does), so each
token is judged with its close neighbours visible, at ``G`` passes per window. The ``G`` masked
copies go to the backend as one ``(B, T)`` batch where the logits fit in memory. Documents longer
than the model's context are scored in overlapping windows; every token is scored in the window
where it has the most context on both sides.

    result = score(text, backend)                       # the whole document
    result = score(text, backend, start=120, end=480)   # the tokens that overlap a selection
    for t in result.tokens:
        shade(t.start, t.end, t.probability)            # the editor's heatmap overlay
    holes = result.holes(threshold=0.01)                # marked tokens as replacement holes to refill

``TokenScore.probability`` is softmax over the whole head (banned rows included, as the samplers
normalise); ``best`` is the most likely token the model could write there instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from canvasedit.engine.backends import Backend
from canvasedit.engine.canvas import Hole
from canvasedit.engine.denoise import check_finite
from canvasedit.engine.errors import BadHole, EngineError
from canvasedit.engine.session import ExactSession

SCORING_PASSES = 4
"""Forward passes per window: pass g masks every token at index g modulo this."""
MAX_SCORING_PASSES = 64
DEFAULT_THRESHOLD = 0.01
"""Tokens less likely than this are marked (the editor's setting overrides it)."""
LOGITS_BYTES = 1 << 28
"""Largest float32 logits tensor one batched call may return (256 MiB); more probes run in turn."""
_MAX_GROUP = 16
"""Tokens that may share one decoded piece (a character split over byte-level tokens)."""
_LOOKAHEAD = 4
"""Tokens read past a candidate character boundary: a UTF-8 character has at most 4 bytes."""


class TokenAlignmentError(EngineError, ValueError):
    """The tokenizer's pieces do not add up to the text, so tokens cannot be placed in it."""


@dataclass(frozen=True)
class TokenScore:
    index: int
    """Position of the token in the document's tokenization."""
    start: int
    """Character offsets of the token in the text (tokens of one split character share them)."""
    end: int
    token: int
    text: str
    probability: float
    """p(this token | the rest of the window, this token masked)."""
    best: int
    """The token the model finds most likely here (never a banned one)."""
    best_text: str
    best_probability: float

    @property
    def logprob(self) -> float:
        return math.log(self.probability) if self.probability > 0 else float("-inf")


@dataclass(frozen=True)
class ScoreResult:
    tokens: tuple[TokenScore, ...]
    """Every scored token, in document order."""
    start: int
    """The character range asked for."""
    end: int
    passes: int
    """Forward passes (masked copies of a window) run."""
    windows: int
    elapsed: float

    def below(self, threshold: float = DEFAULT_THRESHOLD) -> tuple[TokenScore, ...]:
        """The tokens less likely than ``threshold`` (the marked ones of the heatmap)."""
        return tuple(t for t in self.tokens if t.probability < threshold)

    def holes(self, threshold: float = DEFAULT_THRESHOLD) -> list[Hole]:
        """The marked tokens as replacement holes: runs of touching marks merge into one hole."""
        return holes_for(self.below(threshold))

    def mean_logprob(self) -> float:
        """Mean log-probability of the scored tokens (−inf if one is impossible, nan if none)."""
        if not self.tokens:
            return float("nan")
        return sum(t.logprob for t in self.tokens) / len(self.tokens)


def holes_for(tokens: Sequence[TokenScore]) -> list[Hole]:
    """Replacement holes over ``tokens``; tokens whose character ranges touch or overlap share one hole,
    whose length is its number of tokens (the fill may end early)."""
    runs: list[list[int]] = []  # [start, end, count]
    for t in sorted(tokens, key=lambda t: (t.start, t.end)):
        if runs and t.start <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], t.end)
            runs[-1][2] += 1
        else:
            runs.append([t.start, t.end, 1])
    return [Hole(a, b, length=n) for a, b, n in runs if b > a]


def align_tokens(text: str, backend: Backend) -> tuple[list[int], list[tuple[int, int]]]:
    """The document's tokens and each one's ``(start, end)`` character range in ``text``.

    Byte-level tokenizers may split one character over several tokens; those tokens share the
    character's range. Raises ``TokenAlignmentError`` when the decoded pieces do not rebuild the text.
    """
    ids = backend.encode(text)
    pieces = [backend.token_text(t) for t in ids]
    if "".join(pieces) == text and not any("\ufffd" in p for p in pieces):
        spans, cursor = [], 0  # the common case: every token decodes to its own piece of the text
        for piece in pieces:
            spans.append((cursor, cursor + len(piece)))
            cursor += len(piece)
        return ids, spans
    # Some token holds only part of a character's bytes: group tokens until a group ends on a
    # character boundary, which is where decoding the group and what follows separately changes nothing.
    spans = []
    cursor = 0
    first = 0
    for i in range(len(ids)):
        piece = backend.decode(ids[first : i + 1])
        after = ids[i + 1 : i + 1 + _LOOKAHEAD]
        whole = not after or backend.decode(ids[first : i + 1 + len(after)]) == piece + backend.decode(after)
        if whole and text.startswith(piece, cursor):
            spans.extend([(cursor, cursor + len(piece))] * (i + 1 - first))
            cursor += len(piece)
            first = i + 1
        elif i + 1 - first >= _MAX_GROUP:
            break
    if first != len(ids) or cursor != len(text):
        raise TokenAlignmentError(
            f"the tokenizer's pieces do not rebuild the text (lost at character {cursor} of {len(text)}), "
            f"so its tokens cannot be placed in it"
        )
    return ids, spans


def score(
    text: str,
    backend: Backend,
    start: int = 0,
    end: int | None = None,
    passes: int = SCORING_PASSES,
    window: int = 0,
    extend: int = 0,
) -> ScoreResult:
    """Score the tokens of ``text`` that overlap ``[start, end)`` (the whole text by default).

    ``passes`` masked copies per window (each token is masked in one of them); ``window`` caps the
    tokens one canvas holds (0: as many as the model reads); ``extend`` also scores that many
    tokens on each side of the range (the junctions of a filled hole).
    """
    begun = time.perf_counter()
    end = len(text) if end is None else end
    if not 0 <= start <= end <= len(text):
        raise BadHole(f"range {start}-{end} lies outside the document (0-{len(text)} characters)")
    if not 1 <= passes <= MAX_SCORING_PASSES:
        raise BadHole(f"scoring passes must be in [1, {MAX_SCORING_PASSES}], got {passes}")
    ids, spans = align_tokens(text, backend)
    chosen = [i for i, (a, b) in enumerate(spans) if a < end and b > start or (a == b == start)]
    if not chosen and start == end:
        chosen = [i for i, (a, b) in enumerate(spans) if a <= start < b][:1]
    if not chosen:
        return ScoreResult((), start, end, 0, 0, time.perf_counter() - begun)
    lo, hi = max(0, chosen[0] - extend), min(len(ids), chosen[-1] + 1 + extend)

    layout = backend.layout
    reserved = int(layout.begin is not None) + int(layout.finish is not None)
    room = backend.max_length - reserved
    if window > 0:
        room = min(room, window)
    if room < 2:
        raise EngineError(f"the model reads {backend.max_length} tokens: too few to score text in place")
    probability = torch.zeros(len(ids))
    best = torch.zeros(len(ids), dtype=torch.long)
    best_p = torch.zeros(len(ids))
    scored = torch.zeros(len(ids), dtype=torch.bool)
    n_passes = n_windows = 0
    for a, b, core_lo, core_hi in _windows(len(ids), lo, hi, room):
        canvas, lead = _canvas(ids[a:b], a, backend)
        rows = torch.arange(core_lo - a, core_hi - a) + lead  # canvas positions of the tokens to score
        if layout.shifted:
            rows = rows[rows > 0]  # token 0 of a shifted family has no row before it to be read from
        if len(rows) == 0:
            continue
        p, top, top_p, used = _masked_probabilities(backend, canvas, rows, passes)
        index = rows - lead + a
        probability[index], best[index], best_p[index] = p, top, top_p
        scored[index] = True
        n_passes += used
        n_windows += 1
    tokens = tuple(
        TokenScore(i, spans[i][0], spans[i][1], ids[i], backend.token_text(ids[i]), float(probability[i]),
                   int(best[i]), backend.token_text(int(best[i])), float(best_p[i]))
        for i in range(lo, hi) if scored[i]
    )
    return ScoreResult(tokens, start, end, n_passes, n_windows, time.perf_counter() - begun)


def _windows(n: int, lo: int, hi: int, room: int) -> list[tuple[int, int, int, int]]:
    """``(a, b, core_lo, core_hi)``: canvases over tokens ``[a, b)`` that score ``[core_lo, core_hi)``.

    Tokens ``[lo, hi)`` are to be scored out of ``n``. When they and their context fit in ``room``
    tokens, one window takes as much context as fits, split evenly between the sides; otherwise
    each window scores the middle of its span, a margin of context on either side.
    """
    if hi - lo <= room:
        spare = room - (hi - lo)
        left = min(lo, max(spare // 2, spare - (n - hi)))
        a = lo - left
        b = min(n, a + room)
        return [(a, b, lo, hi)]
    margin = room // 8
    core = room - 2 * margin
    out = []
    for c in range(lo, hi, core):
        c_hi = min(hi, c + core)
        a = max(0, c - margin)
        b = min(n, a + room)
        a = max(0, min(a, b - room))
        out.append((a, b, c, c_hi))
    return out


def _canvas(ids: list[int], offset: int, backend: Backend) -> tuple[torch.Tensor, int]:
    """The window's tokens with the family's layout tokens; returns the canvas and the lead (BOS) length."""
    layout = backend.layout
    out = []
    if layout.begin is not None and (layout.begin_always or offset == 0):
        out.append(layout.begin)
    lead = len(out)
    out.extend(ids)
    if layout.finish is not None:
        out.append(layout.finish)
    return torch.tensor(out, dtype=torch.long), lead


def _masked_probabilities(
    backend: Backend, canvas: torch.Tensor, rows: torch.Tensor, passes: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """For each of ``rows (R,)``: p(own token) with it masked, the best allowed token and its p; and the passes run."""
    groups = [rows[(torch.arange(len(rows)) % passes) == g] for g in range(min(passes, len(rows)))]
    V = int(backend.banned.shape[0])
    T = len(canvas)
    own = canvas[rows]
    p = torch.zeros(len(rows))
    top = torch.zeros(len(rows), dtype=torch.long)
    top_p = torch.zeros(len(rows))
    where = {int(r): i for i, r in enumerate(rows)}
    banned = backend.banned.cpu()
    block_causal = backend.layout.block_size > 0
    # Probes that go to the backend together: their logits over the union of their rows must fit.
    per_call = 1
    while per_call < len(groups):
        wider = per_call + 1
        largest = sum(sorted((len(g) for g in groups), reverse=True)[:wider])
        if wider * largest * V * 4 > LOGITS_BYTES:
            break
        per_call = wider
    for first in range(0, len(groups), per_call):
        batch = groups[first : first + per_call]
        probes = canvas.repeat(len(batch), 1)  # (b, T)
        for k, g in enumerate(batch):
            probes[k, g] = backend.mask_id
        if block_causal:  # attention is block-causal: only the family's own session knows the mask
            logits = [_session_logits(backend, probes[k], g) for k, g in enumerate(batch)]
        else:
            union = torch.cat(batch)
            out = backend.logits(probes, union).float().cpu()  # (b, R_union, V)
            logits, cursor = [], 0
            for k, g in enumerate(batch):
                logits.append(out[k, cursor : cursor + len(g)])
                cursor += len(g)
        for g, lg in zip(batch, logits):
            check_finite(lg)
            probs = lg.softmax(-1)  # (R_g, V)
            idx = torch.tensor([where[int(r)] for r in g])
            p[idx] = probs.gather(-1, own[idx][:, None]).squeeze(-1)
            choice = lg.masked_fill(banned, float("-inf")).argmax(-1)
            top[idx] = choice
            top_p[idx] = probs.gather(-1, choice[:, None]).squeeze(-1)
    del T
    return p, top, top_p, len(groups)


def _session_logits(backend: Backend, ids: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    opener = getattr(backend, "open_session", None)
    session = opener(ids, None, None) if opener is not None else ExactSession(backend)
    try:
        return session.logits(ids, rows).float().cpu()
    finally:
        session.close()
