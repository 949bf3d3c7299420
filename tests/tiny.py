"""Tiny checkpoints in the real on-disk formats, built by the tests (no network, no hub).

``make_tiny_llada(folder)`` writes what a LLaDA repository on the hub holds — ``config.json``
with LLaDA's own fields, ``model.safetensors`` (or shards plus an index) with the
``model.transformer.*`` names, and a byte-level BPE ``tokenizer.json`` with its config — from a
randomly initialised ``LLaDAModel``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from canvasedit.models.llada import WEIGHT_MAP, LLaDAModel, ModelArgs

SPECIALS = ["<|endoftext|>", "<|pad|>", "<|mdm_mask|>"]
EOS, PAD, MASK = 0, 1, 2

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n",
    "The quick brown fox jumps over the lazy dog. Tabs\tand\r\nCRLF lines, café, naïve, 日本語.\n",
    "import os\nimport sys\n\ndef main(argv):\n    return len(argv)\n",
]


def train_tokenizer(folder: Path, vocab_size: int = 320) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 20, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=SPECIALS[EOS], pad_token=SPECIALS[PAD], mask_token=SPECIALS[MASK],
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(str(folder))


def tiny_config(vocab_size: int, **overrides) -> dict:
    config = {
        "architectures": ["LLaDAModelLM"], "model_type": "llada", "block_type": "llama",
        "d_model": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 4, "mlp_hidden_size": 96,
        "vocab_size": vocab_size, "embedding_size": vocab_size + 6, "max_sequence_length": 256,
        "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "weight_tying": False, "include_bias": False,
        "mask_token_id": MASK, "eos_token_id": EOS, "pad_token_id": PAD, "alibi": False,
    }
    config.update(overrides)
    return config


def hub_state_dict(model: LLaDAModel) -> dict[str, torch.Tensor]:
    inverse = {}
    for hub, native in WEIGHT_MAP.items():
        for i in range(model.args.n_layers):
            inverse[native.format(i=i)] = hub.format(i=i)
    return {inverse[k]: v.contiguous().clone() for k, v in model.state_dict().items() if k in inverse}


def make_tiny_llada(folder: Path, seed: int = 0, shards: int = 1, tokenizer_from: Path | None = None, **overrides) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    if tokenizer_from is None:
        train_tokenizer(folder)
    else:
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            src = tokenizer_from / name
            if src.exists():
                (folder / name).write_bytes(src.read_bytes())
    vocab = len(json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"])
    vocab += sum(1 for t in json.loads((folder / "tokenizer.json").read_text())["added_tokens"] if t["content"] not in json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"])
    config = tiny_config(vocab, **overrides)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    torch.manual_seed(seed)
    model = LLaDAModel(ModelArgs.from_config(config))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2 if p.dim() == 2 else 0.05).add_(1.0 if p.dim() == 1 else 0.0)
    tensors = hub_state_dict(model)
    if shards == 1:
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    else:
        names = sorted(tensors)
        weight_map = {}
        for s in range(shards):
            part = names[s::shards]
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            save_file({n: tensors[n] for n in part}, str(folder / fname), metadata={"format": "pt"})
            weight_map.update({n: fname for n in part})
        (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return folder
