"""The LLaMA-style decoder every non-BERT family here runs: embedding → blocks → RMSNorm → LM head.

LLaDA, Dream, the Qwen2/Qwen3 diffusion conversions, the block-diffusion models and LLaDA-MoE are
the same network with different switches — q/k/v biases (Qwen2), per-head q/k norms (Qwen3,
LLaDA-MoE), a head dimension that is not ``width / heads`` (Qwen3), tied embeddings, routed experts
— so each family file only reads its ``config.json`` into ``TransformerArgs`` and names its tensors.
Attention sees the whole canvas unless a mask restricts it. Usage::

    model = Transformer(args)                    # then canvasedit.models.loading fills the weights
    logits = model(ids)                          # (B, T) -> (B, T, V)
    h = model.hidden(ids, positions, mask, cache, store=True)   # (B, T, C), keys/values appended to cache
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from canvasedit.models.layers import Attention, Block, KVCache, RMSNorm, RotaryEmbedding, SparseMoE, SwiGLU


@dataclass(frozen=True)
class Experts:
    """Routed experts in place of every block's MLP (LLaDA-MoE)."""

    count: int
    """Experts per layer (64 for LLaDA-MoE-7B-A1B)."""
    top_k: int
    """Experts each token is routed to (8)."""
    hidden: int
    """Each expert's SwiGLU width (1024)."""
    renormalise: bool = False
    """Rescale the chosen experts' router weights to sum to 1 (OLMoE's ``norm_topk_prob``)."""


@dataclass(frozen=True)
class TransformerArgs:
    width: int
    """Model width C."""
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    mlp_hidden: int
    """SwiGLU hidden width of a dense block."""
    vocab_size: int
    """Tokens the config declares."""
    rows: int
    """Rows of the embedding and the LM head (LLaDA pads them past the tokenizer)."""
    max_length: int
    """RoPE table size and the longest canvas the model accepts."""
    rope_theta: float
    norm_eps: float
    tie_word_embeddings: bool
    """The LM head shares the embedding matrix."""
    qkv_bias: bool = False
    qk_norm: bool = False
    experts: Experts | None = None
    block_size: int = 0
    """Block-causal families: positions attend to their own block and earlier ones; 0 = bidirectional."""


class Transformer(nn.Module):
    """Embedding → ``n_layers`` pre-norm blocks → RMSNorm → LM head (row i scores token i)."""

    def __init__(self, args: TransformerArgs) -> None:
        super().__init__()
        self.args = args
        C = args.width
        self.embed = nn.Embedding(args.rows, C)
        self.rope = RotaryEmbedding(args.head_dim, args.max_length, args.rope_theta)
        qk_eps = args.norm_eps if args.qk_norm else None

        def mlp() -> nn.Module:
            e = args.experts
            return SparseMoE(C, e.hidden, e.count, e.top_k, e.renormalise) if e else SwiGLU(C, args.mlp_hidden)

        self.blocks = nn.ModuleList(
            Block(C, Attention(C, args.n_heads, args.n_kv_heads, args.head_dim, args.qkv_bias, qk_eps), mlp(),
                  args.norm_eps)
            for _ in range(args.n_layers)
        )
        self.norm = RMSNorm(C, args.norm_eps)
        self.lm_head = nn.Linear(C, args.rows, bias=False)
        if args.tie_word_embeddings:
            self.lm_head.weight = self.embed.weight

    @property
    def max_length(self) -> int:
        return self.args.max_length

    def hidden(
        self,
        ids: torch.Tensor,
        positions: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        store: bool = False,
    ) -> torch.Tensor:
        """Final normed hidden states ``(B, T, C)`` for ``ids (B, T)`` at ``positions (B, T)``.

        ``mask (B|1, 1, T, S)`` restricts attention (True = may attend) over the cache's S − T keys
        followed by these T; with ``store`` their keys and values are appended to ``cache``.
        """
        B, T = ids.shape
        if positions is None:
            if T > self.args.max_length:
                raise ValueError(f"canvas of {T} tokens exceeds the model's {self.args.max_length}")
            positions = torch.arange(T, device=ids.device).expand(B, T)
            self.rope.ensure_tables(ids.device, T)
        else:
            self.rope.ensure_tables(ids.device, int(positions.max()) + 1)  # raises past the model's positions
        x = self.embed(ids)  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, self.rope, positions, mask, cache, i, store)
        if store and cache is not None:
            cache.positions = positions if cache.positions is None else torch.cat([cache.positions, positions], 1)
        return self.norm(x)

    def forward(self, ids: torch.Tensor, positions: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, T, V)`` for the whole of ``ids (B, T)``."""
        return self.lm_head(self.hidden(ids, positions, mask))


def write_gguf_hparams(writer: Any, args: TransformerArgs) -> None:
    """The ``{arch}.*`` GGUF header keys every decoder family here shares (``writer``: a ``gguf.GGUFWriter``)."""
    writer.add_vocab_size(args.rows)
    writer.add_context_length(args.max_length)
    writer.add_embedding_length(args.width)
    writer.add_block_count(args.n_layers)
    writer.add_feed_forward_length(args.mlp_hidden)
    writer.add_head_count(args.n_heads)
    writer.add_head_count_kv(args.n_kv_heads)
    writer.add_rope_dimension_count(args.head_dim)
    writer.add_rope_freq_base(args.rope_theta)
    writer.add_layer_norm_rms_eps(args.norm_eps)
    writer.add_causal_attention(False)
