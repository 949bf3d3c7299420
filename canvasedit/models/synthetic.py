"""Random checkpoints in the real on-disk format, for tests and benchmarks (never for editing).

``write_random_checkpoint(folder, config)`` writes what a hub repository of ``config``'s family
holds: ``config.json`` and ``model.safetensors`` (or shards plus ``model.safetensors.index.json``)
under the family's hub tensor names (its ``TensorTable`` read backwards). ``write_random_llada``
adds a LLaDA config and tokenizer files copied from ``tokenizer_dir`` or a small byte-level BPE
trained on the spot; ``write_padded_tokenizer`` builds a tokenizer whose special tokens sit at a real
family's ids. Loading such a folder exercises the same code as a download.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from canvasedit.models import llada
from canvasedit.models.spec import ConfigReader, FamilySpec

SPECIAL_TOKENS = ("<|endoftext|>", "<|pad|>", "<|mdm_mask|>")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
_SAMPLE_TEXT = [
    "def add(a, b):\n    return a + b\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n",
    "The quick brown fox jumps over the lazy dog. Tabs\tand\r\nCRLF lines, café, naïve, 日本語.\n",
    "import os\nimport sys\n\ndef main(argv):\n    return len(argv)\n",
]


def train_small_tokenizer(folder: Path, vocab_size: int = 320) -> None:
    """A byte-level BPE with CanvasEdit's special tokens (end 0, pad 1, mask 2), saved in the HF layout."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(_SAMPLE_TEXT * 20, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=SPECIAL_TOKENS[0], pad_token=SPECIAL_TOKENS[1], mask_token=SPECIAL_TOKENS[2],
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(str(folder))


def write_padded_tokenizer(
    folder: Path,
    regular_size: int,
    added: dict[int, str],
    roles: dict[str, str],
    chat_template: str | None = None,
    base_vocab: int = 320,
) -> None:
    """A byte-level BPE whose ids sit where a real family's do, saved in the HF layout.

    A small BPE is trained on the sample text; the rest of the regular range ``0 … regular_size-1``
    is filled with unreachable ``<tN>`` entries, and the special tokens of ``added`` take their real
    ids (LLaDA's mask at 126336, Dream's at 151666 …), so a tiny model built on it has the real
    vocabulary size, special ids and banned rows. ``roles`` maps ``bos_token``/``eos_token``/
    ``pad_token``/``mask_token`` to added-token strings.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=base_vocab, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(_SAMPLE_TEXT * 20, trainer)
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    for i in range(len(vocab), regular_size):
        vocab[f"<t{i}>"] = i
    data["added_tokens"] = [
        {"id": i, "content": text, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, text in sorted(added.items())
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False,
        "add_bos_token": False, "add_eos_token": False, "model_max_length": 1_000_000, **roles,
        "added_tokens_decoder": {
            str(i): {"content": text, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True}
            for i, text in sorted(added.items())
        },
    }
    if chat_template is not None:
        config["chat_template"] = chat_template
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def tokenizer_size(folder: Path) -> int:
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    ids = set(data["model"]["vocab"].values()) | {t["id"] for t in data.get("added_tokens", [])}
    return max(ids) + 1


def llada_config(vocab_size: int, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "architectures": ["LLaDAModelLM"], "model_type": "llada", "block_type": "llama",
        "d_model": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 4, "mlp_hidden_size": 96,
        "vocab_size": vocab_size, "embedding_size": vocab_size, "max_sequence_length": 256,
        "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "weight_tying": False, "include_bias": False,
        "mask_token_id": 2, "eos_token_id": 0, "pad_token_id": 1, "alibi": False,
    }
    config.update(overrides)
    return config


def hub_state_dict(model: torch.nn.Module, spec: FamilySpec | None = None) -> dict[str, torch.Tensor]:
    """The model's tensors under their hub names: the spec's ``TensorTable`` read native → hub.

    A native tensor stacked from ``{e}``-numbered hub tensors is split back into one per expert.
    A tied LM head is left out, as the hub checkpoints of tied models leave it out.
    """
    spec = spec or llada.SPEC
    patterns = [(re.compile("^" + re.escape(native).replace(re.escape("{i}"), r"(?P<i>\d+)") + "$"), hub)
                for hub, native, _ in spec.tensors.rows]
    tied = bool(getattr(model.args, "tie_word_embeddings", False))
    out: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        if tied and name == "lm_head.weight":
            continue
        for pattern, hub in patterns:
            m = pattern.match(name)
            if m:
                break
        else:
            raise KeyError(f"{name} has no hub name in the {spec.name} tensor table")
        if "{e}" in hub:
            for e, part in enumerate(tensor):
                out[hub.format(i=m.groupdict().get("i"), e=e)] = part.detach().contiguous().clone()
        else:
            out[hub.format(i=m.groupdict().get("i"))] = tensor.detach().contiguous().clone()
    return out


def write_random_llada(
    folder: Path,
    seed: int = 0,
    shards: int = 1,
    tokenizer_dir: Path | None = None,
    dtype: torch.dtype = torch.float32,
    init_std: float = 0.2,
    **config_overrides: Any,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if tokenizer_dir is None:
        train_small_tokenizer(folder)
    else:
        copy_tokenizer(tokenizer_dir, folder)
    vocab = tokenizer_size(folder)
    config = llada_config(config_overrides.pop("vocab_size", vocab), **config_overrides)
    return write_random_checkpoint(folder, config, seed=seed, shards=shards, dtype=dtype, init_std=init_std)


def copy_tokenizer(source: Path, folder: Path) -> None:
    """Copy every tokenizer file a Hugging Face folder may hold (fast or slow, with its added tokens)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*TOKENIZER_FILES, "vocab.json", "merges.txt", "added_tokens.json"):
        if (source / name).exists():
            shutil.copyfile(source / name, folder / name)


def write_random_checkpoint(
    folder: Path,
    config: dict[str, Any],
    seed: int = 0,
    shards: int = 1,
    dtype: torch.dtype = torch.float32,
    init_std: float = 0.2,
    scale_rows: tuple[list[int], float] | None = None,
    spec: FamilySpec | None = None,
) -> Path:
    """``config.json`` and random weights under the hub names of ``config``'s family (``registry.resolve``).

    ``scale_rows=(rows, factor)`` shrinks those LM-head rows (padded rows, specials) so they hold
    probability mass without winning the argmax, as they rarely do in a trained model.
    """
    from safetensors.torch import save_file

    from canvasedit.models.registry import resolve

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    spec = spec or resolve(config)
    torch.manual_seed(seed)
    model = spec.model_class(spec.args_from_config(ConfigReader(config, f"a synthetic {spec.title}")))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, init_std / 4)
            elif p.dim() >= 2:
                p.normal_(0, init_std)
            else:
                p.normal_(1.0, 0.05)
        if scale_rows is not None:
            model.lm_head.weight[scale_rows[0]] *= scale_rows[1]
    tensors = {k: v.to(dtype) for k, v in hub_state_dict(model, spec).items()}
    if shards == 1:
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
        return folder
    names = sorted(tensors)
    weight_map = {}
    for s in range(shards):
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = names[s::shards]
        save_file({n: tensors[n] for n in part}, str(folder / fname), metadata={"format": "pt"})
        weight_map.update({n: fname for n in part})
    index = {"metadata": {"total_size": sum(t.numel() * t.element_size() for t in tensors.values())},
             "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
    return folder
