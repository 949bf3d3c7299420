"""Autoregressive-to-diffusion conversions: Qwen2 / Qwen3 weights with bidirectional attention.

* dllm's A2D models (dllm-hub/Qwen3-0.6B-diffusion-mdlm-v0.1, dllm-hub/Qwen2.5-Coder-0.5B-Instruct-
  diffusion-mdlm-v0.1 …): ``architectures`` ``A2DQwen3LMHeadModel`` / ``A2DQwen2LMHeadModel``
  (``model_type`` ``a2d-qwen3`` / ``a2d-qwen2``), transformers' Qwen tensor names, no logit shift,
  ``<|mask|>`` added to the tokenizer (151669 after Qwen3's ``</think>``, 151665 after
  Qwen2.5-Coder's ``<|file_sep|>``), end of turn ``<|im_end|>``. Sampled by dllm's ``MDLMSampler``:
  blocks, and per step ``round(remaining / steps_left)`` tokens (``Schedule.MDLM``).
* BD3LM-trained A2D models (dllm-hub/Qwen3-0.6B-diffusion-bd3lm-v0.1, the Qwen2.5-Coder bd3lm
  conversion): the same classes and ``config.json`` as the MDLM ones, trained and sampled with
  block-causal ("staircase") attention in blocks of 32. Nothing in the config says so, so this
  family is never picked from it: the catalog entry (or a config.toml entry's ``family``) names it.
  dllm's ``BD3LMSampler`` left-pads the prompt to whole blocks, so the answer starts a block, and
  commits with the MDLM schedule inside each block; pads are neither keys nor positions, so a canvas
  without them whose blocks are counted from the hole is the same computation. No suffix is seen.
* Open-dCoder (fredzzp/open-dcoder-0.5B): Qwen2.5-Coder-0.5B trained as a masked diffusion model
  *with* the logit shift; its config keeps ``Qwen2ForCausalLM`` and adds a ``mask_token_id`` (a plain
  autoregressive Qwen2 has none, and is refused).
"""

from __future__ import annotations

from typing import Any

from canvasedit.models import qwen
from canvasedit.models.spec import Attention, ConfigReader, FamilySpec, TokenRule, architectures
from canvasedit.models.transformer import Transformer, TransformerArgs

_QWEN3 = ("A2DQwen3LMHeadModel", "a2d-qwen3")
_QWEN2 = ("A2DQwen2LMHeadModel", "a2d-qwen2")
_MASK = TokenRule(config=("mask_token_id",), tokens=("<|mask|>", "<M>"), role="mask_token")
# dllm's MDLMSampler: blocks of the hole filled left to right, low-confidence commits, rounded counts.
_RECIPE = {"schedule": "mdlm", "algorithm": "low_confidence", "block_length": 32, "steps": 32}


def _is(config: Any, names: tuple[str, str]) -> bool:
    return names[0] in architectures(config) or config.get("model_type") == names[1]


def args_from_config(c: ConfigReader) -> TransformerArgs:
    qwen3 = _is(c.config, _QWEN3) or c.config.get("model_type") == "qwen3"
    return qwen.qwen_args(c, qwen3=qwen3)


SPEC = FamilySpec(
    name="a2d",
    title="A2D (Qwen2/Qwen3 diffusion conversion)",
    repos=(
        "dllm-hub/Qwen3-0.6B-diffusion-mdlm-v0.1", "dllm-hub/Qwen2.5-Coder-0.5B-Instruct-diffusion-mdlm-v0.1",
    ),
    matches=lambda config: _is(config, _QWEN3) or _is(config, _QWEN2),
    args_from_config=args_from_config,
    model_class=Transformer,
    tensors=qwen.TENSORS,
    mask=_MASK,
    end_of_turn=("<|im_end|>",),
    recipe=_RECIPE,
)


def bd3lm_args(c: ConfigReader) -> TransformerArgs:
    qwen3 = _is(c.config, _QWEN3) or c.config.get("model_type") == "qwen3"
    # BD3LMSamplerConfig.block_size (32, the size these models were trained with) unless the config says.
    return qwen.qwen_args(c, qwen3=qwen3, block_size=c.integer("block_size", default=32, high=4096))


BD3LM = FamilySpec(
    name="a2d-bd3lm",
    title="A2D BD3LM (Qwen2/Qwen3 block-diffusion conversion)",
    repos=(
        "dllm-hub/Qwen3-0.6B-diffusion-bd3lm-v0.1", "dllm-hub/Qwen2.5-Coder-0.5B-Instruct-diffusion-bd3lm-v0.1",
    ),
    matches=SPEC.matches,
    detect=False,
    args_from_config=bd3lm_args,
    model_class=Transformer,
    tensors=qwen.TENSORS,
    mask=_MASK,
    attention=Attention.BLOCK_CAUSAL,
    blocks_from_hole=True,
    end_of_turn=("<|im_end|>",),
    # BD3LMSampler: blocks of 32 left to right, each ceil(steps / blocks) steps of linear-α counts.
    recipe=_RECIPE,
)


def _is_open_dcoder(config: Any) -> bool:
    # A Qwen2 causal LM with a mask token is a masked-diffusion model; without one it is autoregressive.
    return "Qwen2ForCausalLM" in architectures(config) and config.get("mask_token_id") is not None


OPEN_DCODER = FamilySpec(
    name="open-dcoder",
    title="Open-dCoder",
    repos=("fredzzp/open-dcoder-0.5B",),
    matches=_is_open_dcoder,
    args_from_config=lambda c: qwen.qwen_args(c, qwen3=False),
    model_class=Transformer,
    tensors=qwen.TENSORS,
    mask=_MASK,
    shift_logits=True,
    begin=TokenRule(config=("bos_token_id",), role="bos_token", tokens=("<|endoftext|>",)),
    end_of_turn=("<|im_end|>",),
    recipe={"schedule": "timestep", "algorithm": "entropy", "block_length": 0, "steps": 32},
)


SPECS = (SPEC, OPEN_DCODER, BD3LM)
