"""LLaDA: a LLaMA-style masked-diffusion LM with bidirectional attention (GSAI-ML/LLaDA-8B-*).

Reads the hub's ``config.json`` (``architectures: ["LLaDAModelLM"]``) and its
``model.transformer.*`` tensors; never runs the repository's own ``modeling_llada.py``.
The logits at position ``i`` predict token ``i`` (no shift). Usage::

    args = SPEC.args_from_config(ConfigReader(json.load(open("config.json")), hint))
    model = LLaDAModel(args)            # then canvasedit.models.loading fills the weights
    logits = model(ids)                 # (B, T) -> (B, T, V)

The CanvasEdit default model is this architecture too, trained by ``training/default_model.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from canvasedit.models.errors import BadModelConfig
from canvasedit.models.layers import Block, RMSNorm, RotaryEmbedding
from canvasedit.models.spec import (
    MAX_LAYERS,
    MAX_VOCAB,
    MAX_WIDTH,
    ConfigReader,
    FamilySpec,
    GGUFForm,
    TensorTable,
    TokenRule,
    architectures,
)


@dataclass(frozen=True)
class ModelArgs:
    d_model: int
    """Model width C."""
    n_layers: int
    n_heads: int
    n_kv_heads: int
    """Key/value heads; equal to ``n_heads`` for LLaDA-8B (plain MHA)."""
    mlp_hidden_size: int
    """SwiGLU hidden width (12288 for LLaDA-8B, i.e. not ``mlp_ratio * d_model``)."""
    vocab_size: int
    embedding_size: int
    """Rows of the embedding and the LM head; may exceed ``vocab_size`` (126464 vs 126464 for LLaDA)."""
    max_sequence_length: int
    """RoPE table size and the longest canvas the model accepts."""
    rope_theta: float
    rms_norm_eps: float
    tie_word_embeddings: bool
    """LM head shares the embedding matrix (``weight_tying`` in LLaDA's config)."""
    include_bias: bool
    """q/k/v biases (``include_bias`` / ``include_qkv_bias``); LLaDA-8B has none."""

    @property
    def max_length(self) -> int:
        return self.max_sequence_length

    @classmethod
    def from_config(cls, c: ConfigReader) -> ModelArgs:
        if c.flag("alibi") or c.text("block_type", "llama") != "llama" or not c.flag("rope", True):
            raise BadModelConfig("only LLaDA's llama block type with rotary embeddings is supported")
        d_model = c.integer("d_model", high=MAX_WIDTH)
        n_heads, n_kv, _ = c.heads(d_model, "n_heads", "n_kv_heads")
        if c.has("mlp_hidden_size"):
            hidden = c.integer("mlp_hidden_size", high=16 * MAX_WIDTH)
        else:
            hidden = int(c.number("mlp_ratio", 4) * d_model)
        vocab = c.integer("vocab_size", high=MAX_VOCAB)
        return cls(
            d_model=d_model,
            n_layers=c.integer("n_layers", high=MAX_LAYERS),
            n_heads=n_heads,
            n_kv_heads=n_kv,
            mlp_hidden_size=hidden,
            vocab_size=vocab,
            embedding_size=c.integer("embedding_size", default=vocab, low=vocab, high=MAX_VOCAB),
            max_sequence_length=c.integer("max_sequence_length", default=4096),
            rope_theta=c.number("rope_theta", 10000.0),
            rms_norm_eps=c.number("rms_norm_eps", 1e-5),
            tie_word_embeddings=c.flag("weight_tying"),
            include_bias=c.flag("include_bias") or c.flag("include_qkv_bias"),
        )


# One table for every name of every tensor: hub (read by the loader), native, llama.cpp's ``llada``.
TENSORS = TensorTable((
    ("model.transformer.wte.weight", "embed.weight", "token_embd.weight"),
    ("model.transformer.blocks.{i}.attn_norm.weight", "blocks.{i}.attn_norm.weight", "blk.{i}.attn_norm.weight"),
    ("model.transformer.blocks.{i}.q_proj.weight", "blocks.{i}.attn.q_proj.weight", "blk.{i}.attn_q.weight"),
    ("model.transformer.blocks.{i}.k_proj.weight", "blocks.{i}.attn.k_proj.weight", "blk.{i}.attn_k.weight"),
    ("model.transformer.blocks.{i}.v_proj.weight", "blocks.{i}.attn.v_proj.weight", "blk.{i}.attn_v.weight"),
    ("model.transformer.blocks.{i}.q_proj.bias", "blocks.{i}.attn.q_proj.bias", "blk.{i}.attn_q.bias"),
    ("model.transformer.blocks.{i}.k_proj.bias", "blocks.{i}.attn.k_proj.bias", "blk.{i}.attn_k.bias"),
    ("model.transformer.blocks.{i}.v_proj.bias", "blocks.{i}.attn.v_proj.bias", "blk.{i}.attn_v.bias"),
    ("model.transformer.blocks.{i}.attn_out.weight", "blocks.{i}.attn.o_proj.weight", "blk.{i}.attn_output.weight"),
    ("model.transformer.blocks.{i}.ff_norm.weight", "blocks.{i}.mlp_norm.weight", "blk.{i}.ffn_norm.weight"),
    ("model.transformer.blocks.{i}.ff_proj.weight", "blocks.{i}.mlp.gate_proj.weight", "blk.{i}.ffn_gate.weight"),
    ("model.transformer.blocks.{i}.up_proj.weight", "blocks.{i}.mlp.up_proj.weight", "blk.{i}.ffn_up.weight"),
    ("model.transformer.blocks.{i}.ff_out.weight", "blocks.{i}.mlp.down_proj.weight", "blk.{i}.ffn_down.weight"),
    ("model.transformer.ln_f.weight", "norm.weight", "output_norm.weight"),
    ("model.transformer.ff_out.weight", "lm_head.weight", "output.weight"),
))


def _interleave_rotary(w: torch.Tensor, heads: int) -> torch.Tensor:
    """Rows of q/k reordered from rotate-half pairs (i, i + D/2) to adjacent pairs (2i, 2i + 1).

    llama.cpp's ``llada`` graph applies "normal" RoPE to adjacent pairs; these weights, like
    LLaDA's hub weights, are trained for rotate-half, so export permutes rows as llama.cpp's own
    converter does.
    """
    rows = w.shape[0]
    return w.reshape(heads, 2, rows // heads // 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


def gguf_tensor(native: str, tensor: torch.Tensor, args: ModelArgs) -> torch.Tensor:
    """A native tensor as llama.cpp's ``llada`` expects it."""
    if native.endswith(("attn.q_proj.weight", "attn.q_proj.bias")):
        return _interleave_rotary(tensor, args.n_heads)
    if native.endswith(("attn.k_proj.weight", "attn.k_proj.bias")):
        return _interleave_rotary(tensor, args.n_kv_heads)
    return tensor


def write_gguf_hparams(writer: Any, args: ModelArgs) -> None:
    """The ``llada.*`` keys of a GGUF header (``writer`` is a ``gguf.GGUFWriter``)."""
    writer.add_vocab_size(args.embedding_size)
    writer.add_context_length(args.max_sequence_length)
    writer.add_embedding_length(args.d_model)
    writer.add_block_count(args.n_layers)
    writer.add_feed_forward_length(args.mlp_hidden_size)
    writer.add_head_count(args.n_heads)
    writer.add_head_count_kv(args.n_kv_heads)
    writer.add_rope_dimension_count(args.d_model // args.n_heads)
    writer.add_rope_freq_base(args.rope_theta)
    writer.add_layer_norm_rms_eps(args.rms_norm_eps)
    writer.add_causal_attention(False)


class LLaDAModel(nn.Module):
    """Embedding → ``n_layers`` bidirectional blocks → RMSNorm → LM head."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.args = args
        C = args.d_model
        self.embed = nn.Embedding(args.embedding_size, C)
        self.rope = RotaryEmbedding(C // args.n_heads, args.max_sequence_length, args.rope_theta)
        self.blocks = nn.ModuleList(
            Block(C, args.n_heads, args.n_kv_heads, args.mlp_hidden_size, args.rms_norm_eps, args.include_bias)
            for _ in range(args.n_layers)
        )
        self.norm = RMSNorm(C, args.rms_norm_eps)
        self.lm_head = nn.Linear(C, args.embedding_size, bias=False)
        if args.tie_word_embeddings:
            self.lm_head.weight = self.embed.weight

    @property
    def max_length(self) -> int:
        return self.args.max_sequence_length

    def hidden(
        self,
        ids: torch.Tensor,
        key_mask: torch.Tensor | None = None,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Final normed hidden states ``(B, T, C)`` for token ``ids (B, T)``."""
        B, T = ids.shape
        if T > self.args.max_sequence_length:
            raise ValueError(f"canvas of {T} tokens exceeds the model's {self.args.max_sequence_length}")
        if positions is None:
            positions = torch.arange(T, device=ids.device).expand(B, T)
        x = self.embed(ids)  # (B, T, C)
        for block in self.blocks:
            x = block(x, self.rope, positions, key_mask)
        return self.norm(x)

    def forward(
        self,
        ids: torch.Tensor,
        key_mask: torch.Tensor | None = None,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits ``(B, T, V)``; ``key_mask (B, T)`` is True where a token may be attended to."""
        return self.lm_head(self.hidden(ids, key_mask, positions))


def _matches(config: Any) -> bool:
    # LLaDA-MoE shares model_type "llada"; its experts tell it apart.
    return "LLaDAModelLM" in architectures(config) and "num_experts" not in config


SPEC = FamilySpec(
    name="llada",
    title="LLaDA",
    repos=("GSAI-ML/LLaDA-8B-Instruct", "GSAI-ML/LLaDA-8B-Base", "GSAI-ML/LLaDA-1.5"),
    matches=_matches,
    args_from_config=ModelArgs.from_config,
    model_class=LLaDAModel,
    tensors=TENSORS,
    # iLLaDA reuses LLaDA's code with mask_token_id 5, so the config's id always wins.
    mask=TokenRule(config=("mask_token_id",), tokens=("<|mdm_mask|>",), role="mask_token"),
    end_of_turn=("<|eot_id|>",),
    # ML-GSAI/LLaDA generate(): block schedule, low-confidence remasking, blocks of 32 (chat.py).
    recipe={"schedule": "block", "algorithm": "low_confidence", "block_length": 32, "steps": 32},
    gguf=GGUFForm("llada", write_gguf_hparams, gguf_tensor),
)
