"""ModernBERT: an encoder with a masked-LM head, used as a diffusion LM (answerdotai/ModernBERT-*, dLLM's BERT-chat).

``config.json`` names ``ModernBertForMaskedLM`` (``model_type`` "modernbert"); dLLM's chat tunings
(dllm-hub/ModernBERT-{base,large}-chat-v0.1) keep the architecture and tensor names. The network, as
transformers' ``modeling_modernbert.py`` defines it:

* embedding → LayerNorm (no position embedding; LayerNorms here are real, mean-subtracting ones,
  without bias unless ``norm_bias``);
* pre-norm layers; layer 0 has no attention norm (the embedding norm precedes it);
* fused ``Wqkv``; every ``global_attn_every_n_layers``-th layer from layer 0 attends to the whole
  canvas with RoPE θ = ``global_rope_theta``, the others to a window ``|q − k| <= local_attention // 2``
  with θ = ``local_rope_theta``;
* GeGLU MLP: ``Wi`` gives ``[input, gate]``, ``Wo(gelu(input) * gate)``;
* final LayerNorm, then the head: dense → gelu → LayerNorm → decoder, the decoder tied to the
  embedding and carrying its own bias.

Logits are not shifted; the canvas is laid out ``[CLS] … [SEP]`` and the mask is the tokenizer's
``[MASK]`` (50284). The model fits the backends' contract: ``hidden(ids)`` then ``lm_head(h)`` on the
rows wanted, ``lm_head.weight`` being the decoder (= embedding) matrix. Usage::

    args = args_from_config(ConfigReader(config, hint))   # ModernBertArgs
    model = ModernBert(args)                               # then canvasedit.models.loading fills it
    logits = model(ids)                                    # (B, T) -> (B, T, V)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from canvasedit.models.errors import BadModelConfig
from canvasedit.models.layers import KVCache, RotaryEmbedding, attend
from canvasedit.models.spec import (
    MAX_LAYERS,
    MAX_VOCAB,
    MAX_WIDTH,
    ConfigReader,
    FamilySpec,
    TensorTable,
    TokenRule,
    architectures,
)

# transformers' ACT2FN names a config may give, as plain torch functions.
ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "relu": F.relu,
}


@dataclass(frozen=True)
class ModernBertArgs:
    width: int
    """Model width C (768 base, 1024 large)."""
    n_layers: int
    n_heads: int
    head_dim: int
    """``width / n_heads``: ModernBERT has no separate head dimension."""
    mlp_hidden: int
    """GeGLU width; ``Wi`` produces twice this."""
    vocab_size: int
    rows: int
    """Rows of the embedding and the decoder (50368, past the tokenizer's 50285 tokens)."""
    max_length: int
    global_layers: tuple[bool, ...]
    """Per layer: True for whole-canvas attention, False for the local window."""
    window: int
    """A local layer's query sees keys at most this many positions away (``local_attention // 2``)."""
    global_theta: float
    local_theta: float
    norm_eps: float
    norm_bias: bool = False
    attention_bias: bool = False
    mlp_bias: bool = False
    head_bias: bool = False
    """Bias of the head's dense layer (``classifier_bias``)."""
    decoder_bias: bool = True
    activation: str = "gelu"
    head_activation: str = "gelu"
    tie_word_embeddings: bool = True
    block_size: int = 0
    """Always 0: an encoder attends to the whole canvas (the backends read it of every family's args)."""


def _layer_norm(args: ModernBertArgs) -> nn.LayerNorm:
    return nn.LayerNorm(args.width, eps=args.norm_eps, bias=args.norm_bias)


class EncoderAttention(nn.Module):
    """Bidirectional multi-head attention with fused q/k/v and RoPE."""

    def __init__(self, args: ModernBertArgs) -> None:
        super().__init__()
        self.n_heads, self.head_dim = args.n_heads, args.head_dim
        self.wqkv = nn.Linear(args.width, 3 * args.width, bias=args.attention_bias)
        self.wo = nn.Linear(args.width, args.width, bias=args.attention_bias)

    def forward(self, x: torch.Tensor, rope: RotaryEmbedding, positions: torch.Tensor, mask: torch.Tensor | None,
                cache: KVCache | None, layer: int, store: bool) -> torch.Tensor:
        B, T, _ = x.shape
        qkv = self.wqkv(x).view(B, T, 3, self.n_heads, self.head_dim)
        q, k, v = qkv.unbind(2)  # each (B, T, H, D)
        q, k = rope(q.transpose(1, 2), k.transpose(1, 2), positions)  # (B, H, T, D)
        v = v.transpose(1, 2)
        if cache is not None and cache.k[layer] is not None:
            k = torch.cat([cache.k[layer], k], dim=2)  # (B, H, S, D)
            v = torch.cat([cache.v[layer], v], dim=2)
        if store and cache is not None:
            cache.k[layer], cache.v[layer] = k, v
        y = attend(q, k, v, mask).transpose(1, 2).reshape(B, T, -1)  # (B, T, C)
        return self.wo(y)


class GeGLU(nn.Module):
    """``Wo(act(input) * gate)`` with ``input, gate = Wi(x).chunk(2)``: the first half is activated."""

    def __init__(self, args: ModernBertArgs) -> None:
        super().__init__()
        self.act = ACTIVATIONS[args.activation]
        self.wi = nn.Linear(args.width, 2 * args.mlp_hidden, bias=args.mlp_bias)
        self.wo = nn.Linear(args.mlp_hidden, args.width, bias=args.mlp_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, gate = self.wi(x).chunk(2, dim=-1)
        return self.wo(self.act(h) * gate)


class EncoderLayer(nn.Module):
    def __init__(self, args: ModernBertArgs, index: int) -> None:
        super().__init__()
        self.is_global = args.global_layers[index]
        # Layer 0 reads the embedding norm's output directly (transformers: nn.Identity).
        self.attn_norm = _layer_norm(args) if index else nn.Identity()
        self.attn = EncoderAttention(args)
        self.mlp_norm = _layer_norm(args)
        self.mlp = GeGLU(args)

    def forward(self, x: torch.Tensor, rope: RotaryEmbedding, positions: torch.Tensor, mask: torch.Tensor | None,
                cache: KVCache | None, layer: int, store: bool) -> torch.Tensor:
        h = x + self.attn(self.attn_norm(x), rope, positions, mask, cache, layer, store)
        return h + self.mlp(self.mlp_norm(h))


class MaskedLMHead(nn.Module):
    """dense → act → LayerNorm → decoder; ``weight`` is the decoder matrix (tied to the embedding)."""

    def __init__(self, args: ModernBertArgs) -> None:
        super().__init__()
        self.act = ACTIVATIONS[args.head_activation]
        self.dense = nn.Linear(args.width, args.width, bias=args.head_bias)
        self.norm = _layer_norm(args)
        self.weight = nn.Parameter(torch.empty(args.rows, args.width))
        self.bias = nn.Parameter(torch.zeros(args.rows)) if args.decoder_bias else None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(self.norm(self.act(self.dense(h))), self.weight, self.bias)  # (…, V)


class ModernBert(nn.Module):
    """Embedding → LayerNorm → ``n_layers`` encoder layers → LayerNorm; ``lm_head`` scores row i as token i."""

    def __init__(self, args: ModernBertArgs) -> None:
        super().__init__()
        self.args = args
        self.embed = nn.Embedding(args.rows, args.width)
        self.embed_norm = _layer_norm(args)
        self.global_rope = RotaryEmbedding(args.head_dim, args.max_length, args.global_theta)
        self.local_rope = RotaryEmbedding(args.head_dim, args.max_length, args.local_theta)
        self.layers = nn.ModuleList(EncoderLayer(args, i) for i in range(args.n_layers))
        self.norm = _layer_norm(args)
        self.lm_head = MaskedLMHead(args)
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
        """Final normed hidden states ``(B, T, C)`` for ``ids (B, T)``, with ``Transformer.hidden``'s contract.

        ``mask (B|1, 1, T, S)`` restricts attention over the cache's S − T keys followed by these T;
        local layers also keep to their window, measured between canvas positions.
        """
        B, T = ids.shape
        if positions is None:
            if T > self.args.max_length:
                raise ValueError(f"canvas of {T} tokens exceeds the model's {self.args.max_length}")
            positions = torch.arange(T, device=ids.device).expand(B, T)
        top = int(positions.max()) + 1
        self.global_rope.ensure_tables(ids.device, top)  # raises past the model's positions
        self.local_rope.ensure_tables(ids.device, top)
        keys = positions
        if cache is not None and cache.positions is not None:
            keys = torch.cat([cache.positions, positions], dim=1)  # (B, S)
        local = mask
        if int(keys.max() - keys.min()) > self.args.window:  # otherwise every key is inside every window
            near = (positions[:, :, None] - keys[:, None, :]).abs() <= self.args.window  # (B, T, S)
            local = near[:, None] if mask is None else mask & near[:, None]  # (B, 1, T, S)
        x = self.embed_norm(self.embed(ids))  # (B, T, C)
        for i, layer in enumerate(self.layers):
            if layer.is_global:
                x = layer(x, self.global_rope, positions, mask, cache, i, store)
            else:
                x = layer(x, self.local_rope, positions, local, cache, i, store)
        if store and cache is not None:
            cache.positions = keys
        return self.norm(x)

    def forward(self, ids: torch.Tensor, positions: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, T, V)`` for the whole of ``ids (B, T)``."""
        return self.lm_head(self.hidden(ids, positions, mask))


def _rope_thetas(c: ConfigReader) -> tuple[float, float]:
    """``(global, local)`` RoPE bases: transformers 5's ``rope_parameters`` or the hub's ``*_rope_theta`` keys."""
    params = c.config.get("rope_parameters")
    if c.config.get("rope_scaling"):
        raise BadModelConfig(f"config.json: rope_scaling is not supported for ModernBERT; {c.hint}")
    if isinstance(params, dict):
        thetas = []
        for kind, fallback in (("full_attention", "global_rope_theta"), ("sliding_attention", "local_rope_theta")):
            entry = params.get(kind) or {}
            if entry.get("rope_type", "default") != "default":
                raise BadModelConfig(f"config.json: rope_parameters.{kind} must use the default RoPE; {c.hint}")
            sub = ConfigReader({"rope_theta": entry.get("rope_theta", c.config.get(fallback))}, c.hint)
            thetas.append(sub.number("rope_theta", 160000.0 if kind == "full_attention" else 10000.0))
        return thetas[0], thetas[1]
    return c.number("global_rope_theta", 160000.0), c.number("local_rope_theta", 10000.0)


def args_from_config(c: ConfigReader) -> ModernBertArgs:
    """ModernBERT's ``config.json`` keys as ``ModernBertArgs``."""
    width = c.integer("hidden_size", high=MAX_WIDTH)
    n_heads, _, head_dim = c.heads(width, "num_attention_heads", "num_attention_heads")
    n_layers = c.integer("num_hidden_layers", high=MAX_LAYERS)
    types = c.config.get("layer_types")
    if types is not None:  # transformers 5 writes the per-layer list
        if not isinstance(types, list) or len(types) != n_layers or not set(types) <= {"full_attention",
                                                                                       "sliding_attention"}:
            raise BadModelConfig(f"config.json: layer_types must list full_attention or sliding_attention for each "
                                 f"of the {n_layers} layers; {c.hint}")
        global_layers = tuple(t == "full_attention" for t in types)
    else:
        every = c.integer("global_attn_every_n_layers", default=3, high=MAX_LAYERS)
        global_layers = tuple(i % every == 0 for i in range(n_layers))
    global_theta, local_theta = _rope_thetas(c)
    vocab = c.integer("vocab_size", high=MAX_VOCAB)
    return ModernBertArgs(
        width=width,
        n_layers=n_layers,
        n_heads=n_heads,
        head_dim=head_dim,
        mlp_hidden=c.integer("intermediate_size", high=16 * MAX_WIDTH),
        vocab_size=vocab,
        rows=vocab,
        max_length=c.integer("max_position_embeddings", default=8192),
        global_layers=global_layers,
        window=c.integer("local_attention", default=128, low=2) // 2,
        global_theta=global_theta,
        local_theta=local_theta,
        norm_eps=c.number("norm_eps", 1e-5),
        norm_bias=c.flag("norm_bias"),
        attention_bias=c.flag("attention_bias"),
        mlp_bias=c.flag("mlp_bias"),
        head_bias=c.flag("classifier_bias"),
        decoder_bias=c.flag("decoder_bias", True),
        activation=c.text("hidden_activation", "gelu", tuple(ACTIVATIONS)),
        head_activation=c.text("classifier_activation", "gelu", tuple(ACTIVATIONS)),
        tie_word_embeddings=c.flag("tie_word_embeddings", True),
    )


def _norm_rows(hub: str, native: str) -> tuple[tuple[str, str, None], ...]:
    return ((f"{hub}.weight", f"{native}.weight", None), (f"{hub}.bias", f"{native}.bias", None))


# hub (transformers' ModernBertForMaskedLM) · native · no GGUF form (llama.cpp's modern-bert is an embedder)
TENSORS = TensorTable((
    ("model.embeddings.tok_embeddings.weight", "embed.weight", None),
    *_norm_rows("model.embeddings.norm", "embed_norm"),
    *_norm_rows("model.layers.{i}.attn_norm", "layers.{i}.attn_norm"),
    *_norm_rows("model.layers.{i}.attn.Wqkv", "layers.{i}.attn.wqkv"),
    *_norm_rows("model.layers.{i}.attn.Wo", "layers.{i}.attn.wo"),
    *_norm_rows("model.layers.{i}.mlp_norm", "layers.{i}.mlp_norm"),
    *_norm_rows("model.layers.{i}.mlp.Wi", "layers.{i}.mlp.wi"),
    *_norm_rows("model.layers.{i}.mlp.Wo", "layers.{i}.mlp.wo"),
    *_norm_rows("model.final_norm", "norm"),
    *_norm_rows("head.dense", "lm_head.dense"),
    *_norm_rows("head.norm", "lm_head.norm"),
    ("decoder.weight", "lm_head.weight", None),
    ("decoder.bias", "lm_head.bias", None),
))


def _matches(config: Any) -> bool:
    names = architectures(config)
    return "ModernBertForMaskedLM" in names or (not names and config.get("model_type") == "modernbert")


SPEC = FamilySpec(
    name="modernbert",
    title="ModernBERT",
    repos=("dllm-hub/ModernBERT-large-chat-v0.1", "dllm-hub/ModernBERT-base-chat-v0.1",
           "answerdotai/ModernBERT-large", "answerdotai/ModernBERT-base"),
    matches=_matches,
    args_from_config=args_from_config,
    model_class=ModernBert,
    tensors=TENSORS,
    mask=TokenRule(config=("mask_token_id",), tokens=("[MASK]",), role="mask_token"),
    begin=TokenRule(config=("cls_token_id", "bos_token_id"), tokens=("[CLS]",), role="cls_token"),
    begin_always=True,  # trained on [CLS] … [SEP] sequences: a window cut from a long document gets them too
    finish=TokenRule(config=("sep_token_id", "eos_token_id"), tokens=("[SEP]",), role="sep_token"),
    # dLLM's BERT-chat eval: MDLMSampler, low-confidence remasking, the answer as one block
    # (max_new_tokens = steps = block_length = 256); a later eval script uses blocks of 32.
    recipe={"schedule": "mdlm", "algorithm": "low_confidence", "block_length": 0, "steps": 32},
)
