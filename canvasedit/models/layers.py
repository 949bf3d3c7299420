"""Building blocks shared by every model family: RMSNorm, rotary embeddings, attention, SwiGLU, experts.

Family files compose these (through ``transformer.py`` for the LLaMA-style decoders LLaDA, Dream,
Qwen2/Qwen3 conversions and LLaDA-MoE, or directly as ModernBERT does); none of them copies them.
Shapes use the letters defined once for the whole project:

    B batch · T tokens (or rows being computed) · S key positions · H query heads · K key/value heads
    D head dim · C model width · V vocab · E experts

Attention is *bidirectional* unless a mask says otherwise: ``mask (B|1, 1, T, S)`` bool, True where
a query may attend to a key (padding, block-causal attention). A ``KVCache`` holds the keys and
values of positions a forward pass does not recompute; their rotary positions are already applied.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    """RMSNorm computed in float32 and cast back, then scaled (LLaDA ``RMSLayerNorm``, HF Llama/Qwen)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


class RotaryEmbedding(nn.Module):
    """Non-interleaved ("rotate half") RoPE with a float32 cos/sin table, as LLaDA, HF Llama and Qwen use."""

    def __init__(self, head_dim: int, max_positions: int, theta: float) -> None:
        super().__init__()
        self.head_dim = head_dim
        self.theta = theta
        self.max_positions = max_positions
        # Plain attributes, not buffers: checkpoints do not carry the table, and a model built on
        # the meta device must not hold it there. Built on first use on the activations' device.
        self.cos: torch.Tensor | None = None
        self.sin: torch.Tensor | None = None

    def ensure_tables(self, device: torch.device, length: int) -> None:
        """Tables for positions ``0 … length-1`` at least, grown on demand (a 131k-position table
        for a model that is given 2k tokens would cost 130 MB for nothing)."""
        if self.cos is not None and self.cos.device == device and self.cos.shape[0] >= length:
            return
        if length > self.max_positions:
            raise ValueError(f"position {length - 1} exceeds the model's {self.max_positions} positions")
        size = min(self.max_positions, max(length, 2 * (0 if self.cos is None else self.cos.shape[0]), 512))
        inv_freq = 1.0 / (
            self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32, device=device) / self.head_dim)
        )
        t = torch.arange(size, dtype=torch.float32, device=device)
        freqs = torch.outer(t, inv_freq)  # (Tmax, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (Tmax, D)
        self.cos = emb.cos()
        self.sin = emb.sin()

    def forward(self, q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotate ``q (B, H, T, D)`` and ``k (B, K, T, D)`` at integer ``positions (B, T)``.

        The caller has built the tables (``ensure_tables``) once for the whole forward pass.
        """
        assert self.cos is not None and self.sin is not None, "call ensure_tables before the forward pass"
        cos = self.cos[positions].unsqueeze(1)  # (B, 1, T, D)
        sin = self.sin[positions].unsqueeze(1)
        return _rotate(q, cos, sin), _rotate(k, cos, sin)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # RoPE in float32 ("rope_full_precision" in LLaDA's config), cast back to the activation dtype.
    xf = x.float()
    x1, x2 = xf.chunk(2, dim=-1)
    rotated = torch.cat((-x2, x1), dim=-1)
    return (xf * cos + rotated * sin).to(x.dtype)


class KVCache:
    """Per-layer keys and values ``(B, K, S, D)`` of positions that a forward pass reuses instead of recomputing.

    ``positions`` (B, S) records where they sit on the canvas; a session keeps one per canvas and
    decides when to refresh it.
    """

    def __init__(self, n_layers: int) -> None:
        self.k: list[torch.Tensor | None] = [None] * n_layers
        self.v: list[torch.Tensor | None] = [None] * n_layers
        self.positions: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return 0 if self.k[0] is None else int(self.k[0].shape[2])


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Scaled dot-product attention of ``q (B, H, T, D)`` over ``k, v (B, K, S, D)``; K may divide H (GQA)."""
    if k.shape[1] != q.shape[1]:
        rep = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(rep, dim=1)  # (B, H, S, D)
        v = v.repeat_interleave(rep, dim=1)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=False)


class Attention(nn.Module):
    """Multi-head or grouped-query attention, optional q/k/v biases (Qwen2) and per-head q/k RMSNorm (Qwen3)."""

    def __init__(
        self,
        dim: int,
        n_heads: int,
        n_kv_heads: int,
        head_dim: int,
        bias: bool = False,
        qk_norm_eps: float | None = None,
    ) -> None:
        super().__init__()
        assert n_heads % n_kv_heads == 0, f"{n_heads} heads cannot share {n_kv_heads} key/value heads"
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads
        self.head_dim = head_dim
        self.q_proj = nn.Linear(dim, n_heads * head_dim, bias=bias)
        self.k_proj = nn.Linear(dim, n_kv_heads * head_dim, bias=bias)
        self.v_proj = nn.Linear(dim, n_kv_heads * head_dim, bias=bias)
        self.o_proj = nn.Linear(n_heads * head_dim, dim, bias=False)
        self.q_norm = RMSNorm(head_dim, qk_norm_eps) if qk_norm_eps is not None else None
        self.k_norm = RMSNorm(head_dim, qk_norm_eps) if qk_norm_eps is not None else None

    def forward(
        self,
        x: torch.Tensor,
        rope: RotaryEmbedding,
        positions: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
        store: bool = False,
    ) -> torch.Tensor:
        """``x (B, T, C)`` at ``positions (B, T)``; keys are the cache's (if any) followed by these T.

        With ``store`` the keys and values of these T positions are appended to the cache.
        """
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.head_dim)
        k = self.k_proj(x).view(B, T, self.n_kv_heads, self.head_dim)
        v = self.v_proj(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, K, T, D)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)  # Qwen3 normalises each head before RoPE
        q, k = rope(q.transpose(1, 2), k.transpose(1, 2), positions)  # (B, H, T, D), (B, K, T, D)
        if cache is not None and cache.k[layer] is not None:
            k_all = torch.cat([cache.k[layer], k], dim=2)  # (B, K, S, D)
            v_all = torch.cat([cache.v[layer], v], dim=2)
        else:
            k_all, v_all = k, v
        if store and cache is not None:
            cache.k[layer], cache.v[layer] = k_all, v_all
        y = attend(q, k_all, v_all, mask)
        y = y.transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim)  # (B, T, H·D)
        return self.o_proj(y)


class SwiGLU(nn.Module):
    """``down(silu(gate(x)) * up(x))``."""

    def __init__(self, dim: int, hidden: int, bias: bool = False) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=bias)
        self.up_proj = nn.Linear(dim, hidden, bias=bias)
        self.down_proj = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class SparseMoE(nn.Module):
    """Top-k routed SwiGLU experts (OLMoE / LLaDA-MoE): softmax router in float32, top-k, optional renormalisation.

    Expert weights are stacked ``(E, hidden, C)`` / ``(E, C, hidden)``, the layout llama.cpp's
    ``ffn_*_exps`` tensors use; the loader stacks the hub's per-expert tensors into them.
    """

    def __init__(self, dim: int, hidden: int, n_experts: int, top_k: int, renormalise: bool) -> None:
        super().__init__()
        self.top_k = top_k
        self.renormalise = renormalise
        self.router = nn.Linear(dim, n_experts, bias=False)
        self.gate_proj = nn.Parameter(torch.empty(n_experts, hidden, dim))
        self.up_proj = nn.Parameter(torch.empty(n_experts, hidden, dim))
        self.down_proj = nn.Parameter(torch.empty(n_experts, dim, hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        flat = x.reshape(-1, C)  # (N, C)
        weights = self.router(flat).float().softmax(-1)  # (N, E)
        top_w, top_e = torch.topk(weights, self.top_k, dim=-1)  # (N, k)
        if self.renormalise:
            top_w = top_w / top_w.sum(-1, keepdim=True)
        top_w = top_w.to(x.dtype)
        out = torch.zeros_like(flat)
        # Group the (token, slot) pairs by expert so each expert runs once on all its tokens.
        for e in torch.unique(top_e).tolist():
            token, slot = (top_e == e).nonzero(as_tuple=True)
            h = flat[token]  # (n, C)
            y = F.linear(F.silu(F.linear(h, self.gate_proj[e])) * F.linear(h, self.up_proj[e]), self.down_proj[e])
            out.index_add_(0, token, y * top_w[token, slot, None])
        return out.view(B, T, C)


class Block(nn.Module):
    """Pre-norm transformer block: ``h = x + attn(norm(x))``, ``y = h + mlp(norm(h))``."""

    def __init__(self, dim: int, attn: Attention, mlp: nn.Module, eps: float) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(dim, eps)
        self.attn = attn
        self.mlp_norm = RMSNorm(dim, eps)
        self.mlp = mlp

    def forward(
        self,
        x: torch.Tensor,
        rope: RotaryEmbedding,
        positions: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
        store: bool = False,
    ) -> torch.Tensor:
        h = x + self.attn(self.attn_norm(x), rope, positions, mask, cache, layer, store)
        return h + self.mlp(self.mlp_norm(h))
