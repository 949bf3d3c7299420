"""Denoising sessions: what a backend computes for one fill, step after step, and what it keeps between steps.

The denoising loop asks its session for the logits of some canvas rows after every change; how much
of the canvas that costs is the session's business, never the loop's:

* ``ExactSession`` — the whole canvas, every step (any backend; LLaDA's and Dream's reference code).
* ``DualCacheSession`` — bidirectional models with ``cache="dual"``: the keys and values of every
  position outside the holes (the user's document) are computed once, with the holes masked, and
  reused; each step runs the model only over the holes' rows (plus ``band`` context tokens on each
  side), attending to those cached keys. Approximate — the document's keys would shift a little as
  the holes fill — so the whole canvas is recomputed whenever a new block of rows begins (Fast-dLLM's
  refresh) and every ``refresh`` steps if asked; ``canvasedit bench`` measures token agreement with
  the exact session.
* ``BlockCausalSession`` — block-diffusion models (SDAR, Fast-dLLM v2): attention is bidirectional
  inside a block of ``block_size`` positions and causal across blocks, so the keys and values of
  finished blocks never change. They are computed once and kept (an exact KV cache); each step runs
  the model only over the blocks that hold the rows asked for, and the text after them is never
  read. Should anything before the cache's end change (a revision), the cache is rebuilt.

    session = backend.open_session(ids, params, window)   # window: the positions the fill may change
    logits = session.logits(ids, rows)          # (R, V) float32, row i scores token i
    session.rows_computed                       # canvas rows run through the model so far
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from canvasedit.models.layers import KVCache


class Session(Protocol):
    rows_computed: int
    """Canvas positions run through the model so far in this fill (a cost measure for benchmarks)."""

    def logits(self, ids: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Float32 logits ``(R, V)`` for canvas ``ids (T,)`` at ``rows (R,)``, aligned so row i scores token i."""
        ...

    def close(self) -> None: ...


class ExactSession:
    """Every call scores the whole canvas through ``backend.logits`` (no state kept)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.rows_computed = 0

    def logits(self, ids: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        self.rows_computed += int(ids.shape[-1])
        return self.backend.logits(ids[None], rows)[0]

    def close(self) -> None:
        pass


def block_causal_mask(q_pos: torch.Tensor, k_pos: torch.Tensor, block_size: int, offset: int = 0) -> torch.Tensor:
    """``(1, 1, Q, K)`` bool: a query may attend to a key in its own block or an earlier one; position
    p lies in block ``(p + offset) // block_size``."""
    return (((k_pos[None, :] + offset) // block_size) <= ((q_pos[:, None] + offset) // block_size))[None, None]


class DualCacheSession:
    """Holes recomputed every step against cached context keys and values, refreshed on a schedule.

    ``window (T,)`` bool marks the canvas positions the fill may change (the holes); ``model``
    follows the ``Transformer`` contract. Rows outside the window, or a canvas whose length changed
    (a growing hole), are answered by a full refresh, so the session never answers from a stale shape.
    """

    def __init__(self, model: Any, window: torch.Tensor, band: int, refresh: int, shift: bool,
                 device: torch.device) -> None:
        self.model = model
        self.shift = shift
        self.device = device
        self.refresh = refresh
        self.rows_computed = 0
        self.refreshes = 0
        if shift:  # a shifted family reads token i from row i−1: the row before each hole is read too
            window = window | torch.cat([window[1:], torch.zeros(1, dtype=torch.bool)])
        self._window = self._widen(window, band)
        self._cache: KVCache | None = None
        self._since = 0
        self._seen = torch.zeros(len(window), dtype=torch.bool)

    @staticmethod
    def _widen(window: torch.Tensor, band: int) -> torch.Tensor:
        if band <= 0 or not window.any():
            return window.clone()
        grown = torch.nn.functional.max_pool1d(window[None, None].float(), 2 * band + 1, 1, band)[0, 0] > 0
        return grown

    @torch.inference_mode()
    def logits(self, ids: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        src = (rows - 1).clamp_min(0) if self.shift else rows  # the canvas rows whose outputs are read
        if len(ids) != len(self._window):  # a hole grew or shrank: the window no longer fits the canvas
            self._window = self._widen(torch.zeros(len(ids), dtype=torch.bool), 0)
            self._seen = torch.zeros(len(ids), dtype=torch.bool)
            self._cache = None
        new_rows = bool((~self._seen[src]).any())  # a new block began: Fast-dLLM refreshes here
        self._seen[src] = True
        stale = self.refresh > 0 and self._since >= self.refresh
        if self._cache is None or new_rows or stale or not bool(self._window[src].all()):
            return self._full(ids, src)
        self._since += 1
        window = self._window.nonzero().flatten()
        index = torch.full((len(ids),), -1, dtype=torch.long)
        index[window] = torch.arange(len(window))
        self.rows_computed += len(window)
        h = self.model.hidden(ids[window].to(self.device)[None], window.to(self.device)[None], None, self._cache)
        return self.model.lm_head(h[0, index[src].to(self.device)]).float()

    def _full(self, ids: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        """One exact pass over the whole canvas that also refills the context cache (outside the window)."""
        self.refreshes += 1
        self._since = 0
        full = KVCache(len(self.model.blocks))
        T = len(ids)
        positions = torch.arange(T, device=self.device)[None]
        h = self.model.hidden(ids.to(self.device)[None], positions, None, full, store=True)
        self.rows_computed += T
        context = (~self._window).nonzero().flatten().to(self.device)
        cache = KVCache(len(self.model.blocks))
        for i in range(len(full.k)):
            cache.k[i] = full.k[i][:, :, context]
            cache.v[i] = full.v[i][:, :, context]
        self._cache = cache
        return self.model.lm_head(h[0, src.to(self.device)]).float()

    def close(self) -> None:
        self._cache = None


class BlockCausalSession:
    """Exact block-causal denoising with the keys and values of finished blocks cached.

    ``model`` follows the ``Transformer`` contract (``hidden(ids, positions, mask, cache, store)``,
    ``lm_head``). ``shift``: the family reads token i's logits at position i−1 (Fast-dLLM v2).
    ``offset``: position p lies in block ``(p + offset) // block_size`` (``CanvasLayout.block_offset``).
    """

    def __init__(self, model: Any, block_size: int, shift: bool, device: torch.device, offset: int = 0) -> None:
        self.model = model
        self.block_size = block_size
        self.offset = offset
        self.shift = shift
        self.device = device
        self.rows_computed = 0
        self._cache = KVCache(len(model.blocks))
        self._cached_ids = torch.zeros(0, dtype=torch.long)
        """The tokens whose keys and values the cache holds (canvas positions 0 … len − 1)."""

    @torch.inference_mode()
    def logits(self, ids: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        bs, off = self.block_size, self.offset
        src = (rows - 1).clamp_min(0) if self.shift else rows  # the canvas rows whose outputs are read
        start = max(0, (int(src.min()) + off) // bs * bs - off)  # first block to compute: it holds a row asked for
        end = min(len(ids), (int(src.max()) + off + bs) // bs * bs - off)  # later blocks are invisible to these rows
        cached = len(self._cached_ids)
        if cached > start or not torch.equal(self._cached_ids, ids[:cached]):
            self._cache, self._cached_ids, cached = KVCache(len(self.model.blocks)), ids[:0], 0
        if cached < start:  # blocks finished since the last call: their keys and values are final
            self._run(ids, cached, start, store=True)
            self._cached_ids = ids[:start].clone()
        h = self._run(ids, start, end, store=False)  # (1, end - start, C)
        out = self.model.lm_head(h[0, src - start]).float()  # (R, V)
        return out

    def _run(self, ids: torch.Tensor, lo: int, hi: int, store: bool) -> torch.Tensor:
        positions = torch.arange(lo, hi, device=self.device)
        keys = torch.arange(0, hi, device=self.device)
        mask = block_causal_mask(positions, keys, self.block_size, self.offset)
        self.rows_computed += hi - lo
        return self.model.hidden(ids[lo:hi].to(self.device)[None], positions[None], mask, self._cache, store)

    def close(self) -> None:
        self._cache = KVCache(len(self.model.blocks))
        self._cached_ids = torch.zeros(0, dtype=torch.long)
