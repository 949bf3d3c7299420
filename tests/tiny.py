"""Tiny random checkpoints for the tests, in the real on-disk format (see ``canvasedit.models.synthetic``)."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from canvasedit.models.synthetic import write_padded_tokenizer, write_random_llada

EOS, PAD, MASK = 0, 1, 2

# GSAI-ML/LLaDA-8B-Instruct's special tokens at their real ids (tokenizer_config.json of the hub files).
LLADA_SPECIALS = {
    126080: "<|startoftext|>", 126081: "<|endoftext|>", 126082: "[CLS]", 126083: "[gMASK]",
    **{126084 + i: f"<|reserved_token_{i}|>" for i in range(252)},
    126336: "<|mdm_mask|>",
    **{126337 + i: f"<|reserved_token_{253 + i}|>" for i in range(3)},
    126340: "<role>", 126341: "</role>", 126342: "<|arithmetic_start|>", 126343: "<|arithmetic_end|>",
    126344: "<|number_start|>", 126345: "<|number_end|>",
    126346: "<|start_header_id|>", 126347: "<|end_header_id|>", 126348: "<|eot_id|>",
}
LLADA_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' "
    "+ message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 "
    "== 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>"
    "assistant<|end_header_id|>\\n\\n' }}"
)


def make_tiny_llada(folder: Path, seed: int = 0, shards: int = 1, tokenizer_from: Path | None = None, **overrides) -> Path:
    """A 2-layer, 64-wide LLaDA with a 320-token BPE (or the tokenizer of ``tokenizer_from``)."""
    return write_random_llada(folder, seed=seed, shards=shards, tokenizer_dir=tokenizer_from, **overrides)


def scale_head_rows(folder: Path, tensor: str, rows: list[int], factor: float) -> None:
    """Shrink some LM-head rows so they carry probability mass but (almost) never win the argmax."""
    path = folder / "model.safetensors"
    state = load_file(str(path))
    w = state[tensor].float()
    w[rows] *= factor
    state[tensor] = w.to(state[tensor].dtype).contiguous()
    save_file(state, str(path), metadata={"format": "pt"})


def make_llada_real_layout(folder: Path, seed: int = 0) -> Path:
    """A tiny LLaDA-8B-Instruct: the real 126,464-row vocabulary and special ids, bf16 weights, chat template.

    The rows no document token may take (padded rows, the mask, the specials) keep random logits at
    a third of the scale, so they hold softmax mass, as in the real model, without being the argmax.
    """
    tok = folder.parent / f"{folder.name}-tokenizer"
    write_padded_tokenizer(
        tok, 126080, LLADA_SPECIALS,
        {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
         "mask_token": "<|mdm_mask|>"},
        chat_template=LLADA_CHAT_TEMPLATE,
    )
    write_random_llada(
        folder, seed=seed, tokenizer_dir=tok, dtype=torch.bfloat16, init_std=0.2,
        vocab_size=126464, embedding_size=126464, mask_token_id=126336, eos_token_id=126081, pad_token_id=126081,
        max_sequence_length=4096, rope_theta=500000.0, d_model=64, n_heads=4, n_kv_heads=4, mlp_hidden_size=192,
    )
    banned = sorted(set(range(126080, 126464)) - {126081, 126348})
    scale_head_rows(folder, "model.transformer.ff_out.weight", banned, 1 / 3)
    return folder
