"""Block-diffusion models: Qwen weights with block-causal attention, filled one block after another.

Attention is bidirectional inside a block of the model's own size and causal across blocks, so a
block never sees the text after it — these models do not see a hole's suffix — and the keys and
values of finished blocks are exact to cache (``engine/session.py``). Blocks are counted on the
canvas from its first position, as the authors' samplers count them.

* SDAR (JetLM/SDAR-1.7B-Chat, -4B-Chat, -8B-Chat): Qwen3 blocks, ``architectures``
  ``SDARForCausalLM``, mask ``<|MASK|>`` 151669, no logit shift; ``block_size`` from the config
  (4 in SDAR's own runs). Its sampler commits, per step, every masked position above a confidence
  threshold (0.85) if there are at least the step's count of them, else the top ones — CanvasEdit's
  top-k ∪ threshold rule gives the same set.
* Fast-dLLM v2 (Efficient-Large-Model/Fast_dLLM_v2_1.5B, _7B): Qwen2.5 blocks, ``architectures``
  ``Fast_dLLM_QwenForCausalLM``, ``bd_size`` 32, mask ``|<MASK>|`` 151665, *shifted* logits; each
  block's first token comes from the previous block's last row, then sub-blocks of 8 are filled
  left to right with threshold 0.9 (at least one token per step).
"""

from __future__ import annotations

from typing import Any

from canvasedit.models import qwen
from canvasedit.models.spec import Attention, ConfigReader, FamilySpec, TokenRule, architectures
from canvasedit.models.transformer import Transformer, TransformerArgs

_ONE_AT_A_TIME = 1_000_000
"""``steps`` in a recipe that commits one token per step (plus whatever clears the threshold)."""


def _sdar_args(c: ConfigReader) -> TransformerArgs:
    return qwen.qwen_args(c, qwen3=True, block_size=c.integer("block_size", default=4, high=4096))


def _fast_dllm_args(c: ConfigReader) -> TransformerArgs:
    return qwen.qwen_args(c, qwen3=False, block_size=c.integer("bd_size", default=32, high=4096))


def _is(config: Any, architecture: str, model_type: str) -> bool:
    return architecture in architectures(config) or config.get("model_type") == model_type


SDAR = FamilySpec(
    name="sdar",
    title="SDAR",
    repos=("JetLM/SDAR-1.7B-Chat", "JetLM/SDAR-4B-Chat", "JetLM/SDAR-8B-Chat"),
    matches=lambda config: _is(config, "SDARForCausalLM", "sdar"),
    args_from_config=_sdar_args,
    model_class=Transformer,
    tensors=qwen.TENSORS,
    mask=TokenRule(config=("mask_token_id",), tokens=("<|MASK|>",), role="mask_token"),
    attention=Attention.BLOCK_CAUSAL,
    end_of_turn=("<|im_end|>",),
    # block_diffusion_generate(): blocks of the model's size, one step per token, dynamic threshold 0.85.
    recipe={"schedule": "block", "algorithm": "low_confidence", "block_length": 0, "steps": _ONE_AT_A_TIME,
            "threshold": 0.85},
)

FAST_DLLM = FamilySpec(
    name="fast-dllm",
    title="Fast-dLLM v2",
    repos=("Efficient-Large-Model/Fast_dLLM_v2_1.5B", "Efficient-Large-Model/Fast_dLLM_v2_7B"),
    matches=lambda config: _is(config, "Fast_dLLM_QwenForCausalLM", "Fast_dLLM_Qwen"),
    args_from_config=_fast_dllm_args,
    model_class=Transformer,
    tensors=qwen.TENSORS,
    mask=TokenRule(config=("mask_token_id",), tokens=("|<MASK>|",), role="mask_token"),
    shift_logits=True,
    attention=Attention.BLOCK_CAUSAL,
    begin=TokenRule(config=("bos_token_id",), role="bos_token", tokens=("<|endoftext|>",)),
    end_of_turn=("<|im_end|>",),
    # batch_sample(): sub-blocks of 8 inside blocks of 32, threshold 0.9, at least one token per step.
    recipe={"schedule": "block", "algorithm": "low_confidence", "block_length": 8, "steps": _ONE_AT_A_TIME,
            "threshold": 0.9},
)

SPECS = (SDAR, FAST_DLLM)
