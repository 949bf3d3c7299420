"""Load a model folder in the Hugging Face layout: ``config.json`` + safetensors (sharded or not) + tokenizer.

The model is built on the meta device, every tensor is read from safetensors (never a pickle),
renamed through the family's one ``WEIGHT_MAP`` table, shape-checked, and assigned without a
copy. No code from the model repository is ever executed. Usage::

    loaded = load_model(Path("~/models/LLaDA-8B-Instruct"), device="cuda", dtype=torch.bfloat16)
    logits = loaded.model(ids)
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from canvasedit.models.errors import BadModelConfig, BadWeights, ModelError, ModelNotFound
from canvasedit.models.registry import Family, resolve


@dataclass
class LoadedModel:
    model: nn.Module
    tokenizer: Any
    """A transformers tokenizer (``AutoTokenizer``); the engine wraps it."""
    family: Family
    config: dict[str, Any]
    path: Path
    mask_id: int
    stop_ids: tuple[int, ...]
    """End, pad and end-of-turn tokens: a hole may end early with them, and none reaches the text."""
    end_ids: tuple[int, ...]
    """The end-of-turn tokens among them (``<|eot_id|>``): nothing after one is written."""
    banned_ids: tuple[int, ...]
    """Every other special token (and the mask): never chosen, so never written into a document."""
    max_length: int

    @property
    def name(self) -> str:
        return self.path.name


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object (config.json, tokenizer.json); BadModelConfig otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadModelConfig(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadModelConfig(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


def read_config(path: Path) -> dict[str, Any]:
    config_path = path / "config.json"
    if not path.is_dir():
        raise ModelNotFound(f"model folder {path} does not exist")
    if not config_path.is_file():
        raise ModelNotFound(f"{path} is not a model folder: it has no config.json")
    return read_json_object(config_path)


def weight_files(path: Path) -> list[Path]:
    """The safetensors shards of a folder: from ``model.safetensors.index.json`` or a single file."""
    index = path / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError, UnicodeDecodeError) as exc:
            raise BadWeights(f"{index} is not a valid safetensors index: {exc}") from exc
        shards = sorted({path / name for name in weight_map.values()})
        missing = [s.name for s in shards if not s.is_file()]
        if missing:
            raise ModelNotFound(f"{path} lacks weight shards named in its index: {', '.join(missing)}")
        return shards
    single = path / "model.safetensors"
    if single.is_file():
        return [single]
    if any(path.glob("*.bin")) or any(path.glob("*.pt")) or any(path.glob("*.pth")):
        raise BadWeights(f"{path} holds only pickle weights (.bin/.pt); CanvasEdit loads safetensors only")
    raise ModelNotFound(f"{path} has no model.safetensors or model.safetensors.index.json")


def compile_weight_map(weight_map: dict[str, str]) -> list[tuple[re.Pattern[str], str]]:
    table = []
    for hub, native in weight_map.items():
        pattern = "^" + re.escape(hub).replace(re.escape("{i}"), r"(?P<i>\d+)") + "$"
        table.append((re.compile(pattern), native))
    return table


def rename(name: str, table: list[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, native in table:
        m = pattern.match(name)
        if m:
            return native.format(**m.groupdict())
    return None


def read_state_dict(files: list[Path], weight_map: dict[str, str]) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError, safe_open

    table = compile_weight_map(weight_map)
    state: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for file in files:
        try:
            with safe_open(str(file), framework="pt", device="cpu") as fh:
                for name in fh.keys():
                    native = rename(name, table)
                    if native is None:
                        unknown.append(name)
                        continue
                    state[native] = fh.get_tensor(name)
        except (SafetensorError, OSError) as exc:
            raise BadWeights(f"{file} is not a readable safetensors file: {exc}") from exc
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise BadWeights(f"unexpected tensors in the checkpoint: {shown}")
    return state


def load_tokenizer(path: Path) -> Any:
    if not any((path / name).is_file() for name in ("tokenizer.json", "vocab.json", "tokenizer.model")):
        raise ModelNotFound(f"{path} has no tokenizer (tokenizer.json, vocab.json or tokenizer.model)")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # config.json's model_type is not a transformers class; that is expected
    try:
        # trust_remote_code stays False: a repository's own Python is never run.
        return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadModelConfig(f"cannot load the tokenizer in {path}: {exc}") from exc


def special_token_rules(
    tokenizer: Any, args: Any, end_of_turn: tuple[str, ...]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """``(stop_ids, end_ids, banned_ids)``: which special tokens end a hole, and which may never be chosen.

    Stops are the end and pad ids of ``config.json`` and the tokenizer plus the family's end-of-turn
    tokens (``<|eot_id|>``, ``<|im_end|>``) where the tokenizer has them; the latter are ``end_ids``.
    Every other special token of the tokenizer, and the mask, is banned: a reserved or header token
    would otherwise be written into the user's document as text.
    """
    vocab = tokenizer.get_vocab()
    ends = {int(vocab[name]) for name in end_of_turn if name in vocab} - {args.mask_token_id}
    stops = {args.eos_token_id, args.pad_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}
    stops = ({int(i) for i in stops if i is not None} | ends) - {args.mask_token_id}
    special = {int(i) for i, token in tokenizer.added_tokens_decoder.items() if token.special}
    special |= {int(i) for i in tokenizer.all_special_ids}
    banned = (special - stops) | {args.mask_token_id}
    return tuple(sorted(stops)), tuple(sorted(ends)), tuple(sorted(banned))


def load_model(path: Path | str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> LoadedModel:
    path = Path(path).expanduser()
    config = read_config(path)
    family = resolve(config)
    try:
        args = family.args_from_config(config)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise BadModelConfig(f"{path / 'config.json'}: {exc}") from exc
    cls = family.model_class()
    with torch.device("meta"):
        model = cls(args)
    state = read_state_dict(weight_files(path), family.weight_map())
    tied = getattr(args, "weight_tying", False) or config.get("tie_word_embeddings", False)
    if tied and "lm_head.weight" not in state and "embed.weight" in state:
        state["lm_head.weight"] = state["embed.weight"]
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise BadWeights(f"checkpoint in {path} lacks tensors: {', '.join(missing[:5])}")
    for name, tensor in state.items():
        if name not in expected:
            raise BadWeights(f"checkpoint tensor {name} has no place in the {family.name} model")
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise BadWeights(
                f"tensor {name}: expected shape {tuple(expected[name].shape)} from config.json, "
                f"found {tuple(tensor.shape)}"
            )
    model.load_state_dict(state, strict=True, assign=True)
    if tied:
        model.lm_head.weight = model.embed.weight
    model.to(device=device, dtype=dtype)
    model.eval()
    tokenizer = load_tokenizer(path)
    stop_ids, end_ids, banned_ids = special_token_rules(tokenizer, args, family.end_of_turn)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        family=family,
        config=config,
        path=path,
        mask_id=args.mask_token_id,
        stop_ids=stop_ids,
        end_ids=end_ids,
        banned_ids=banned_ids,
        max_length=args.max_sequence_length,
    )
