"""Building blocks shared by every model family: RMSNorm, rotary embeddings, attention, SwiGLU.

Each family file (``llada.py``, later ``dream.py``, ``qwen3.py`` …) composes these; none of them
copies them. Shapes use the letters defined once for the whole project:

    B batch · T tokens · H query heads · K key/value heads · D head dim · C model width · V vocab

All attention here is *bidirectional* (diffusion LMs see the whole canvas); an optional boolean
key mask ``(B, T)`` hides padding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    """RMSNorm computed in float32 and cast back, then scaled (LLaDA ``RMSLayerNorm``, HF Llama)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return h.to(dtype) * self.weight


class RotaryEmbedding(nn.Module):
    """Non-interleaved ("rotate half") RoPE with a float32 cos/sin table, as LLaDA and HF Llama use."""

    def __init__(self, head_dim: int, max_positions: int, theta: float) -> None:
        super().__init__()
        self.head_dim = head_dim
        self.theta = theta
        self.max_positions = max_positions
        # Plain attributes, not buffers: checkpoints do not carry the table, and a model built on
        # the meta device must not hold it there. Built on first use on the activations' device.
        self.cos: torch.Tensor | None = None
        self.sin: torch.Tensor | None = None

    def ensure_tables(self, device: torch.device) -> None:
        if self.cos is not None and self.cos.device == device:
            return
        inv_freq = 1.0 / (
            self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32, device=device) / self.head_dim)
        )
        t = torch.arange(self.max_positions, dtype=torch.float32, device=device)
        freqs = torch.outer(t, inv_freq)  # (Tmax, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (Tmax, D)
        self.cos = emb.cos()
        self.sin = emb.sin()

    def forward(self, q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotate ``q (B, H, T, D)`` and ``k (B, K, T, D)`` at integer ``positions (B, T)``."""
        self.ensure_tables(q.device)
        assert self.cos is not None and self.sin is not None
        cos = self.cos[positions].unsqueeze(1)  # (B, 1, T, D)
        sin = self.sin[positions].unsqueeze(1)
        return _rotate(q, cos, sin), _rotate(k, cos, sin)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # RoPE in float32 ("rope_full_precision" in LLaDA's config), cast back to the activation dtype.
    xf = x.float()
    x1, x2 = xf.chunk(2, dim=-1)
    rotated = torch.cat((-x2, x1), dim=-1)
    return (xf * cos + rotated * sin).to(x.dtype)


class Attention(nn.Module):
    """Multi-head (or grouped-query) bidirectional attention without a causal mask."""

    def __init__(self, dim: int, n_heads: int, n_kv_heads: int, bias: bool = False) -> None:
        super().__init__()
        assert dim % n_heads == 0, f"model width {dim} is not a multiple of {n_heads} heads"
        assert n_heads % n_kv_heads == 0, f"{n_heads} heads cannot share {n_kv_heads} key/value heads"
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads
        self.head_dim = dim // n_heads
        self.q_proj = nn.Linear(dim, n_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(dim, n_kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(dim, n_kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(n_heads * self.head_dim, dim, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        rope: RotaryEmbedding,
        positions: torch.Tensor,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, K, T, D)
        v = self.v_proj(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = rope(q, k, positions)
        if self.n_kv_heads != self.n_heads:
            rep = self.n_heads // self.n_kv_heads
            k = k.repeat_interleave(rep, dim=1)  # (B, H, T, D)
            v = v.repeat_interleave(rep, dim=1)
        attn_mask = None
        if key_mask is not None:
            attn_mask = key_mask[:, None, None, :]  # (B, 1, 1, T): True = may attend
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=False)
        y = y.transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim)  # (B, T, C)
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


class Block(nn.Module):
    """Pre-norm transformer block: ``h = x + attn(norm(x))``, ``y = h + mlp(norm(h))``."""

    def __init__(self, dim: int, n_heads: int, n_kv_heads: int, hidden: int, eps: float, qkv_bias: bool = False) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(dim, eps)
        self.attn = Attention(dim, n_heads, n_kv_heads, bias=qkv_bias)
        self.mlp_norm = RMSNorm(dim, eps)
        self.mlp = SwiGLU(dim, hidden)

    def forward(
        self, x: torch.Tensor, rope: RotaryEmbedding, positions: torch.Tensor, key_mask: torch.Tensor | None
    ) -> torch.Tensor:
        h = x + self.attn(self.attn_norm(x), rope, positions, key_mask)
        return h + self.mlp(self.mlp_norm(h))
