"""Dream: Qwen2 weights run bidirectionally with *shifted* logits (Dream-org/Dream-v0-*-7B and its kin).

The same architecture carries Dream-v0 Base / Instruct, Dream-Coder-v0-Instruct, apple/DiffuCoder
and DreamOn: ``config.json`` names ``DreamModel`` (``model_type`` "Dream") with Qwen2's keys and
tensor names, the mask is ``<|mask|>`` 151666 (``mask_token_id``), and — inherited from its
autoregressive initialisation — the logit at position i predicts token i+1, so the backend reads
token i from row i−1 and the canvas always starts with BOS when a hole could be first. The
tokenizer ships as repository code (``DreamTokenizer``); it is a Qwen2 BPE, loaded as such.
DiffuCoder pads with ``<|dlm_pad|>`` (its tokenizer's pad token, so a stop); DreamOn adds
``<|expand|>``, which turns into two masks when committed (variable-length holes).
"""

from __future__ import annotations

from typing import Any

from canvasedit.models import qwen
from canvasedit.models.spec import ConfigReader, FamilySpec, GGUFForm, TokenRule, architectures
from canvasedit.models.transformer import Transformer, TransformerArgs, write_gguf_hparams


def args_from_config(c: ConfigReader) -> TransformerArgs:
    return qwen.qwen_args(c, qwen3=False)


def _matches(config: Any) -> bool:
    return "DreamModel" in architectures(config) or config.get("model_type") == "Dream"


SPEC = FamilySpec(
    name="dream",
    title="Dream",
    repos=(
        "Dream-org/Dream-v0-Instruct-7B", "Dream-org/Dream-v0-Base-7B", "Dream-org/Dream-Coder-v0-Instruct-7B",
        "apple/DiffuCoder-7B-Instruct", "apple/DiffuCoder-7B-cpGRPO", "Dream-org/DreamOn-v0-7B",
    ),
    matches=_matches,
    args_from_config=args_from_config,
    model_class=Transformer,
    tensors=qwen.TENSORS,
    mask=TokenRule(config=("mask_token_id",), tokens=("<|mask|>",), role="mask_token"),
    shift_logits=True,
    # Dream-Coder's bos is <|beginoftext|> 151665; Dream-v0's config names 151643.
    begin=TokenRule(config=("bos_token_id",), role="bos_token", tokens=("<|beginoftext|>", "<|endoftext|>")),
    end_of_turn=("<|im_end|>",),
    expand=TokenRule(config=("expand_token_id",), tokens=("<|expand|>",)),
    max_context=2048,  # Dream's README: 2048 tokens of input and output, though config.json says 131072
    tokenizer_fallback="Qwen2Tokenizer",
    # diffusion_generate(): timestep schedule, entropy ranking (the README's alg="entropy"); temperature 0
    # keeps a fill reproducible (the README samples at 0.2 with top-p 0.95).
    recipe={"schedule": "timestep", "algorithm": "entropy", "block_length": 0, "steps": 32},
    # DreamOn's generator: one token per step (number_transfer_tokens=1), entropy ranking.
    expand_recipe={"schedule": "block", "steps": 1_000_000, "expand_budget": 64},
    gguf=GGUFForm("dream", write_gguf_hparams),
)
