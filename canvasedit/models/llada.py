"""LLaDA: a LLaMA-style masked-diffusion LM with bidirectional attention (GSAI-ML/LLaDA-8B-*).

Reads the hub's ``config.json`` (``architectures: ["LLaDAModelLM"]``) and its
``model.transformer.*`` tensors; never runs the repository's own ``modeling_llada.py``.
The logits at position ``i`` predict token ``i`` (no shift). Usage::

    args = args_from_config(ConfigReader(json.load(open("config.json")), hint))   # TransformerArgs
    model = Transformer(args)           # then canvasedit.models.loading fills the weights
    logits = model(ids)                 # (B, T) -> (B, T, V)

The CanvasEdit default model is this architecture too, trained by ``training/default_model.py``.
"""

from __future__ import annotations

from typing import Any

import torch

from canvasedit.models.errors import BadModelConfig
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
from canvasedit.models.transformer import Transformer, TransformerArgs, write_gguf_hparams


def args_from_config(c: ConfigReader) -> TransformerArgs:
    """LLaDA's own config keys (``d_model``, ``n_layers``, ``mlp_hidden_size`` …) as ``TransformerArgs``."""
    if c.flag("alibi") or c.text("block_type", "llama") != "llama" or not c.flag("rope", True):
        raise BadModelConfig("only LLaDA's llama block type with rotary embeddings is supported")
    width = c.integer("d_model", high=MAX_WIDTH)
    n_heads, n_kv, head_dim = c.heads(width, "n_heads", "n_kv_heads")
    if c.has("mlp_hidden_size"):  # 12288 for LLaDA-8B, i.e. not mlp_ratio * d_model
        hidden = c.integer("mlp_hidden_size", high=16 * MAX_WIDTH)
    else:
        hidden = int(c.number("mlp_ratio", 4) * width)
    vocab = c.integer("vocab_size", high=MAX_VOCAB)
    return TransformerArgs(
        width=width,
        n_layers=c.integer("n_layers", high=MAX_LAYERS),
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=head_dim,
        mlp_hidden=hidden,
        vocab_size=vocab,
        rows=c.integer("embedding_size", default=vocab, low=vocab, high=MAX_VOCAB),
        max_length=c.integer("max_sequence_length", default=4096),
        rope_theta=c.number("rope_theta", 10000.0),
        norm_eps=c.number("rms_norm_eps", 1e-5),
        tie_word_embeddings=c.flag("weight_tying"),
        qkv_bias=c.flag("include_bias") or c.flag("include_qkv_bias"),
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


def gguf_tensor(native: str, tensor: torch.Tensor, args: TransformerArgs) -> torch.Tensor:
    """A native tensor as llama.cpp's ``llada`` expects it."""
    if native.endswith(("attn.q_proj.weight", "attn.q_proj.bias")):
        return _interleave_rotary(tensor, args.n_heads)
    if native.endswith(("attn.k_proj.weight", "attn.k_proj.bias")):
        return _interleave_rotary(tensor, args.n_kv_heads)
    return tensor


def _matches(config: Any) -> bool:
    # LLaDA-MoE shares model_type "llada"; its experts tell it apart.
    return "LLaDAModelLM" in architectures(config) and "num_experts" not in config


SPEC = FamilySpec(
    name="llada",
    title="LLaDA",
    repos=("GSAI-ML/LLaDA-8B-Instruct", "GSAI-ML/LLaDA-8B-Base", "GSAI-ML/LLaDA-1.5"),
    matches=_matches,
    args_from_config=args_from_config,
    model_class=Transformer,
    tensors=TENSORS,
    # iLLaDA reuses LLaDA's code with mask_token_id 5, so the config's id always wins.
    mask=TokenRule(config=("mask_token_id",), tokens=("<|mdm_mask|>",), role="mask_token"),
    end_of_turn=("<|eot_id|>",),
    # ML-GSAI/LLaDA generate(): block schedule, low-confidence remasking, blocks of 32 (chat.py).
    recipe={"schedule": "block", "algorithm": "low_confidence", "block_length": 32, "steps": 32},
    gguf=GGUFForm("llada", write_gguf_hparams, gguf_tensor),
)
