"""LLaDA-MoE: LLaDA's masked diffusion with routed experts (inclusionAI/LLaDA-MoE-7B-A1B-Base / -Instruct).

The checkpoint shares LLaDA-8B's ``model_type`` "llada" but not its layout: ``config.json`` uses
Hugging Face Llama keys plus ``num_experts`` (which is how it is told apart), and the tensors carry
transformers' Llama names with a per-head q/k RMSNorm, a router ``mlp.gate`` and 64 SwiGLU experts
per layer (``mlp.experts.{e}.{gate,up,down}_proj``), stacked by the loader into one tensor each.
Routing is OLMoE's: softmax over every expert in float32, the top 8, no renormalisation. The mask
``<|mask|>`` (156895) is not in ``config.json``; it is read from the tokenizer. Attention is
bidirectional and logits are not shifted. Usage::

    args = args_from_config(ConfigReader(config, hint))   # TransformerArgs with Experts
    model = Transformer(args)                              # then canvasedit.models.loading fills it

GGUF: llama.cpp's ``llada-moe`` architecture (stacked ``ffn_*_exps``, ``ffn_gate_inp``,
``attn_{q,k}_norm``, rotate-half RoPE, so no row permutation).
"""

from __future__ import annotations

from typing import Any

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
from canvasedit.models.transformer import Experts, Transformer, TransformerArgs
from canvasedit.models.transformer import write_gguf_hparams as write_transformer_hparams

ARCHITECTURES = ("LLaDAMoEModelLM", "LLaDAMoEModel")
"""The ``architectures`` strings llama.cpp's converter registers for LLaDA-MoE."""


def _refuse(c: ConfigReader, key: str, ok: bool, what: str) -> None:
    if not ok:
        raise BadModelConfig(f"config.json: {key}={c.config.get(key)!r}: {what} is not supported; {c.hint}")


def args_from_config(c: ConfigReader) -> TransformerArgs:
    """LLaDA-MoE's config keys (``hidden_size``, ``num_experts``, ``expert_intermediate_size`` …) as ``TransformerArgs``.

    Variants the hub model does not use — shared experts, dense layers between the MoE ones,
    partial rotary, scaled or biased routing, attention biases — are refused by name rather than
    run wrongly.
    """
    width = c.integer("hidden_size", high=MAX_WIDTH)
    n_heads, n_kv, head_dim = c.heads(width, "num_attention_heads", "num_key_value_heads", "head_dim")
    count = c.integer("num_experts", high=4096)
    top_k = c.integer("num_experts_per_tok", high=count)
    expert_hidden = c.integer("expert_intermediate_size", high=16 * MAX_WIDTH)
    _refuse(c, "shared_expert_intermediate_size", not c.config.get("shared_expert_intermediate_size"), "a shared expert")
    freq = c.config.get("moe_layer_freq", 1)
    _refuse(c, "moe_layer_freq", freq == 1 or (isinstance(freq, list) and all(f == 1 for f in freq)),
            "a dense layer between the expert layers")
    _refuse(c, "partial_rotary_factor", c.config.get("partial_rotary_factor") in (None, 1), "partial rotary embedding")
    _refuse(c, "routed_scaling_factor", c.config.get("routed_scaling_factor") in (None, 1), "scaled expert weights")
    _refuse(c, "moe_router_enable_expert_bias", not c.flag("moe_router_enable_expert_bias"), "a router bias")
    _refuse(c, "router_num_group", not c.config.get("router_num_group"), "grouped routing")
    _refuse(c, "attention_bias", not c.flag("attention_bias"), "attention biases")
    _refuse(c, "rope_scaling", not c.config.get("rope_scaling"), "RoPE scaling")
    vocab = c.integer("vocab_size", high=MAX_VOCAB)
    return TransformerArgs(
        width=width,
        n_layers=c.integer("num_hidden_layers", high=MAX_LAYERS),
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=head_dim,
        # Every layer is routed; the dense width is only written to a GGUF header.
        mlp_hidden=c.integer("dense_intermediate_size", default=expert_hidden, high=16 * MAX_WIDTH),
        vocab_size=vocab,
        rows=vocab,
        max_length=c.integer("max_position_embeddings", default=8192),
        rope_theta=c.number("rope_theta", 50000.0),
        norm_eps=c.number("rms_norm_eps", 1e-5),
        tie_word_embeddings=c.flag("tie_word_embeddings"),
        qk_norm=c.flag("qk_layernorm", True),
        # The hub modeling code hard-codes norm_topk_prob = False (OLMoE's default).
        experts=Experts(count=count, top_k=top_k, hidden=expert_hidden, renormalise=c.flag("norm_topk_prob")),
    )


# hub (transformers' Llama names + experts) · native · llama.cpp's ``llada-moe``
TENSORS = TensorTable((
    ("model.embed_tokens.weight", "embed.weight", "token_embd.weight"),
    ("model.layers.{i}.input_layernorm.weight", "blocks.{i}.attn_norm.weight", "blk.{i}.attn_norm.weight"),
    ("model.layers.{i}.self_attn.q_proj.weight", "blocks.{i}.attn.q_proj.weight", "blk.{i}.attn_q.weight"),
    ("model.layers.{i}.self_attn.k_proj.weight", "blocks.{i}.attn.k_proj.weight", "blk.{i}.attn_k.weight"),
    ("model.layers.{i}.self_attn.v_proj.weight", "blocks.{i}.attn.v_proj.weight", "blk.{i}.attn_v.weight"),
    ("model.layers.{i}.self_attn.q_norm.weight", "blocks.{i}.attn.q_norm.weight", "blk.{i}.attn_q_norm.weight"),
    ("model.layers.{i}.self_attn.k_norm.weight", "blocks.{i}.attn.k_norm.weight", "blk.{i}.attn_k_norm.weight"),
    ("model.layers.{i}.self_attn.o_proj.weight", "blocks.{i}.attn.o_proj.weight", "blk.{i}.attn_output.weight"),
    ("model.layers.{i}.post_attention_layernorm.weight", "blocks.{i}.mlp_norm.weight", "blk.{i}.ffn_norm.weight"),
    ("model.layers.{i}.mlp.gate.weight", "blocks.{i}.mlp.router.weight", "blk.{i}.ffn_gate_inp.weight"),
    ("model.layers.{i}.mlp.experts.{e}.gate_proj.weight", "blocks.{i}.mlp.gate_proj", "blk.{i}.ffn_gate_exps.weight"),
    ("model.layers.{i}.mlp.experts.{e}.up_proj.weight", "blocks.{i}.mlp.up_proj", "blk.{i}.ffn_up_exps.weight"),
    ("model.layers.{i}.mlp.experts.{e}.down_proj.weight", "blocks.{i}.mlp.down_proj", "blk.{i}.ffn_down_exps.weight"),
    ("model.norm.weight", "norm.weight", "output_norm.weight"),
    ("lm_head.weight", "lm_head.weight", "output.weight"),
))


def write_gguf_hparams(writer: Any, args: TransformerArgs) -> None:
    """The ``llada-moe.*`` keys of a GGUF header (``writer`` is a ``gguf.GGUFWriter``)."""
    experts = args.experts
    assert experts is not None
    if experts.renormalise:
        # llama.cpp's llada-moe graph never renormalises the chosen experts' weights.
        raise BadModelConfig("llama.cpp's llada-moe runs without norm_topk_prob; this checkpoint renormalises")
    if args.tie_word_embeddings:
        raise BadModelConfig("llama.cpp's llada-moe needs its own output matrix; this checkpoint ties it")
    write_transformer_hparams(writer, args)
    writer.add_expert_count(experts.count)
    writer.add_expert_used_count(experts.top_k)
    writer.add_expert_feed_forward_length(experts.hidden)


def _matches(config: Any) -> bool:
    names = architectures(config)
    return any(n in names for n in ARCHITECTURES) or (config.get("model_type") == "llada" and "num_experts" in config)


SPEC = FamilySpec(
    name="llada-moe",
    title="LLaDA-MoE",
    repos=("inclusionAI/LLaDA-MoE-7B-A1B-Instruct", "inclusionAI/LLaDA-MoE-7B-A1B-Base"),
    matches=_matches,
    args_from_config=args_from_config,
    model_class=Transformer,
    tensors=TENSORS,
    # Not in config.json: llama.cpp's converter hard-codes 156895; here it is the tokenizer's <|mask|>.
    mask=TokenRule(config=("mask_token_id",), tokens=("<|mask|>",), role="mask_token"),
    end_of_turn=("<|role_end|>",),
    # The model card's generate() is LLaDA's: blocks of 32, low-confidence remasking. dInfer serves it
    # with a 0.9 confidence threshold (Fast-dLLM parallel decoding), a candidate for a faster recipe.
    recipe={"schedule": "block", "algorithm": "low_confidence", "block_length": 32, "steps": 32},
    gguf=GGUFForm("llada-moe", write_gguf_hparams),
)
