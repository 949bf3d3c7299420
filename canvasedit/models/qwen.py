"""Qwen2 / Qwen3 checkpoints in the Hugging Face layout, read into the shared ``Transformer``.

Dream, DiffuCoder, Dream-Coder and DreamOn are Qwen2 weights (q/k/v biases) run bidirectionally;
the dllm A2D conversions are Qwen2 or Qwen3 weights (Qwen3: per-head q/k RMSNorm, an explicit
``head_dim``); SDAR is Qwen3 and Fast-dLLM v2 Qwen2 with block-causal attention. All of them keep
transformers' Qwen config keys and tensor names, so the family files (``dream.py``, ``a2d.py``,
``blockdiff.py``) share this reader and this table and differ in their specs:

    args = qwen_args(ConfigReader(config, hint), qwen3=False)      # TransformerArgs
    TENSORS.compiled()                                             # hub → native names
"""

from __future__ import annotations

from canvasedit.models.errors import BadModelConfig
from canvasedit.models.spec import MAX_LAYERS, MAX_VOCAB, MAX_WIDTH, ConfigReader, TensorTable
from canvasedit.models.transformer import TransformerArgs

# hub (transformers' Qwen2/Qwen3 names) · native · llama.cpp (the ``dream`` / ``qwen2`` / ``qwen3`` layouts)
TENSORS = TensorTable((
    ("model.embed_tokens.weight", "embed.weight", "token_embd.weight"),
    ("model.layers.{i}.input_layernorm.weight", "blocks.{i}.attn_norm.weight", "blk.{i}.attn_norm.weight"),
    ("model.layers.{i}.self_attn.q_proj.weight", "blocks.{i}.attn.q_proj.weight", "blk.{i}.attn_q.weight"),
    ("model.layers.{i}.self_attn.k_proj.weight", "blocks.{i}.attn.k_proj.weight", "blk.{i}.attn_k.weight"),
    ("model.layers.{i}.self_attn.v_proj.weight", "blocks.{i}.attn.v_proj.weight", "blk.{i}.attn_v.weight"),
    ("model.layers.{i}.self_attn.q_proj.bias", "blocks.{i}.attn.q_proj.bias", "blk.{i}.attn_q.bias"),
    ("model.layers.{i}.self_attn.k_proj.bias", "blocks.{i}.attn.k_proj.bias", "blk.{i}.attn_k.bias"),
    ("model.layers.{i}.self_attn.v_proj.bias", "blocks.{i}.attn.v_proj.bias", "blk.{i}.attn_v.bias"),
    ("model.layers.{i}.self_attn.q_norm.weight", "blocks.{i}.attn.q_norm.weight", "blk.{i}.attn_q_norm.weight"),
    ("model.layers.{i}.self_attn.k_norm.weight", "blocks.{i}.attn.k_norm.weight", "blk.{i}.attn_k_norm.weight"),
    ("model.layers.{i}.self_attn.o_proj.weight", "blocks.{i}.attn.o_proj.weight", "blk.{i}.attn_output.weight"),
    ("model.layers.{i}.post_attention_layernorm.weight", "blocks.{i}.mlp_norm.weight", "blk.{i}.ffn_norm.weight"),
    ("model.layers.{i}.mlp.gate_proj.weight", "blocks.{i}.mlp.gate_proj.weight", "blk.{i}.ffn_gate.weight"),
    ("model.layers.{i}.mlp.up_proj.weight", "blocks.{i}.mlp.up_proj.weight", "blk.{i}.ffn_up.weight"),
    ("model.layers.{i}.mlp.down_proj.weight", "blocks.{i}.mlp.down_proj.weight", "blk.{i}.ffn_down.weight"),
    ("model.norm.weight", "norm.weight", "output_norm.weight"),
    ("lm_head.weight", "lm_head.weight", "output.weight"),
))


def qwen_args(c: ConfigReader, qwen3: bool, block_size: int = 0) -> TransformerArgs:
    """A Qwen2 (``qwen3=False``: q/k/v biases) or Qwen3 (per-head q/k norms) config as ``TransformerArgs``.

    ``attention_bias`` overrides the Qwen2 default where a config states it; ``use_sliding_window``
    (Qwen2's windowed layers) is refused, since the diffusion conversions attend to the whole canvas.
    """
    width = c.integer("hidden_size", high=MAX_WIDTH)
    n_heads, n_kv, head_dim = c.heads(width, "num_attention_heads", "num_key_value_heads", "head_dim")
    if c.flag("use_sliding_window"):
        raise BadModelConfig("config.json: use_sliding_window is true; windowed attention is not supported")
    vocab = c.integer("vocab_size", high=MAX_VOCAB)
    return TransformerArgs(
        width=width,
        n_layers=c.integer("num_hidden_layers", high=MAX_LAYERS),
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=head_dim,
        mlp_hidden=c.integer("intermediate_size", high=16 * MAX_WIDTH),
        vocab_size=vocab,
        rows=vocab,
        max_length=c.integer("max_position_embeddings", default=32768),
        rope_theta=c.number("rope_theta", 1e6),
        norm_eps=c.number("rms_norm_eps", 1e-6),
        tie_word_embeddings=c.flag("tie_word_embeddings"),
        qkv_bias=c.flag("attention_bias", not qwen3),
        qk_norm=qwen3,
        block_size=block_size,
    )
