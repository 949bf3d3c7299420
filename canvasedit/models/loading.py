"""Load a model folder in the Hugging Face layout: ``config.json`` + safetensors (sharded or not) + tokenizer.

The family's spec (``registry.resolve``) says how: the model is built on the meta device, every
tensor is read from safetensors (never a pickle), renamed through the spec's one ``TensorTable``,
shape-checked, and assigned without a copy. No code from the model repository is ever executed.
Usage::

    loaded = load_model(Path("~/models/LLaDA-8B-Instruct"), device="cuda", dtype=torch.bfloat16)
    logits = loaded.model(ids)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from canvasedit.models.errors import BadModelConfig, BadWeights, ModelNotFound
from canvasedit.models.registry import resolve, resolve_named
from canvasedit.models.spec import ConfigReader, FamilySpec


@dataclass(frozen=True)
class SpecialTokens:
    """The special ids the engine needs, found by the family's rules in config.json and the tokenizer."""

    mask: int
    stops: tuple[int, ...]
    """End, pad and end-of-turn tokens: a hole may end early with them, and none reaches the text."""
    ends: tuple[int, ...]
    """The end-of-turn tokens among them (``<|eot_id|>``): nothing after one is written."""
    banned: tuple[int, ...]
    """Every other special token and the mask: never chosen, so never written into a document."""
    begin: int | None = None
    """Token a canvas starts with (BOS, [CLS]), when the family's layout has one."""
    finish: int | None = None
    """Token a canvas ends with ([SEP])."""
    expand: int | None = None
    """DreamOn's ``<|expand|>``: a committed one becomes two masks."""


@dataclass
class LoadedModel:
    model: nn.Module
    tokenizer: Any
    """A transformers tokenizer (``AutoTokenizer``); the engine wraps it."""
    spec: FamilySpec
    args: Any
    config: dict[str, Any]
    path: Path
    tokens: SpecialTokens
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
    config = read_json_object(config_path)
    generation = path / "generation_config.json"
    if "mask_token_id" not in config and generation.is_file():
        # Open-dCoder keeps its mask id in the generation config, where its sampler reads it.
        mask = read_json_object(generation).get("mask_token_id")
        if mask is not None:
            config["mask_token_id"] = mask
    return config


def weight_files(path: Path) -> list[Path]:
    """The safetensors shards of a folder: from ``model.safetensors.index.json`` or a single file."""
    index = path / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError, UnicodeDecodeError) as exc:
            raise BadWeights(f"{index} is not a valid safetensors index: {exc}") from exc
        if not isinstance(weight_map, dict) or not all(isinstance(n, str) for n in weight_map.values()):
            raise BadWeights(f"{index}: weight_map must map tensor names to shard file names")
        shards = sorted({path / name for name in weight_map.values()})
        outside = [s.name for s in shards if s.resolve().parent != path.resolve()]
        if outside:
            raise BadWeights(f"{index} names shards outside the model folder: {', '.join(outside[:3])}")
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


def read_state_dict(files: list[Path], spec: FamilySpec) -> dict[str, torch.Tensor]:
    """Every tensor of the shards under its native name; experts named ``{e}`` are stacked in dim 0."""
    from safetensors import SafetensorError, safe_open

    table = spec.tensors.compiled()
    state: dict[str, torch.Tensor] = {}
    experts: dict[str, dict[int, torch.Tensor]] = {}
    unknown: list[str] = []
    for file in files:
        try:
            with safe_open(str(file), framework="pt", device="cpu") as fh:
                for name in fh.keys():
                    for pattern, native in table:
                        m = pattern.match(name)
                        if m:
                            break
                    else:
                        unknown.append(name)
                        continue
                    groups = m.groupdict()
                    target = native.format(i=groups.get("i"))
                    tensor = fh.get_tensor(name)
                    if not tensor.is_floating_point():
                        raise BadWeights(f"{file.name}: tensor {name} holds {tensor.dtype} values; weights must be floats")
                    if "e" in groups:
                        experts.setdefault(target, {})[int(groups["e"])] = tensor
                    else:
                        state[target] = tensor
        except (SafetensorError, OSError) as exc:
            raise BadWeights(f"{file} is not a readable safetensors file: {exc}") from exc
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise BadWeights(f"unexpected tensors for a {spec.title} checkpoint: {shown}")
    for target, parts in experts.items():
        if sorted(parts) != list(range(len(parts))):
            raise BadWeights(f"{target}: the checkpoint's experts are not numbered 0..{len(parts) - 1}")
        state[target] = torch.stack([parts[e] for e in range(len(parts))])
    return state


def load_tokenizer(path: Path, fallback: str | None = None) -> Any:
    """The folder's tokenizer through transformers, never running the repository's own code.

    A tokenizer that only exists as repository code (``auto_map``, e.g. Dream's ``DreamTokenizer``)
    is loaded as the family's ``fallback`` class (a Qwen2 BPE) from the same vocabulary files.
    """
    if not any((path / name).is_file() for name in ("tokenizer.json", "vocab.json", "tokenizer.model")):
        raise ModelNotFound(f"{path} has no tokenizer (tokenizer.json, vocab.json or tokenizer.model)")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # config.json's model_type is not a transformers class; that is expected
    try:
        # trust_remote_code stays False: a repository's own Python is never run.
        return transformers.AutoTokenizer.from_pretrained(str(path), trust_remote_code=False, local_files_only=True)
    except ValueError as exc:
        custom = "custom code" in str(exc) or "trust_remote_code" in str(exc)
        if not custom:
            raise BadModelConfig(f"cannot load the tokenizer in {path}: {_first_line(exc)}") from exc
        if fallback is None:
            raise BadModelConfig(
                f"the tokenizer in {path} exists only as the repository's own code, which CanvasEdit never runs"
            ) from None
    except (OSError, KeyError, TypeError) as exc:
        raise BadModelConfig(f"cannot load the tokenizer in {path}: {_first_line(exc)}") from exc
    try:
        return getattr(transformers, fallback).from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadModelConfig(f"cannot load the tokenizer in {path} as {fallback}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def special_tokens(spec: FamilySpec, config: dict[str, Any], tokenizer: Any, rows: int) -> SpecialTokens:
    """The family's special ids in this checkpoint; every id must fit the model's ``rows`` LM-head rows.

    Stops are the end and pad ids of ``config.json`` and the tokenizer plus the family's end-of-turn
    tokens (``<|eot_id|>``, ``<|im_end|>``) where the tokenizer has them. Every other special token
    of the tokenizer, and the mask, is banned: a reserved or header token would otherwise be written
    into the user's document as text.
    """
    vocab = tokenizer.get_vocab()
    mask = spec.mask.find(config, vocab, tokenizer)
    if mask is None:
        raise BadModelConfig(f"{spec.title} checkpoint names no mask token (config.json mask_token_id or the tokenizer)")
    ends = {int(vocab[name]) for name in spec.end_of_turn if name in vocab} - {mask}
    stops = {config.get("eos_token_id"), config.get("pad_token_id"), tokenizer.eos_token_id, tokenizer.pad_token_id}
    stops = ({i for i in stops if type(i) is int} | ends) - {mask}
    special = {int(i) for i, token in tokenizer.added_tokens_decoder.items() if token.special}
    special |= {int(i) for i in tokenizer.all_special_ids}

    def find(rule: Any) -> int | None:
        return rule.find(config, vocab, tokenizer) if rule is not None else None

    expand = find(spec.expand)
    tokens = SpecialTokens(
        mask=mask, stops=tuple(sorted(stops)), ends=tuple(sorted(ends)),
        banned=tuple(sorted((special - stops - {expand}) | {mask})),  # DreamOn must be able to choose <|expand|>
        begin=find(spec.begin), finish=find(spec.finish), expand=expand,
    )
    for name in ("mask", "begin", "finish", "expand"):
        value = getattr(tokens, name)
        if value is not None and not 0 <= value < rows:
            raise BadModelConfig(f"{spec.title} {name} token id {value} is outside the model's {rows} vocabulary rows")
    bad = [i for i in tokens.stops if not 0 <= i < rows]
    if bad:
        raise BadModelConfig(f"{spec.title} end/pad token id {bad[0]} is outside the model's {rows} vocabulary rows")
    return tokens


_INITIALISERS = ("normal_", "uniform_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_", "xavier_uniform_",
                 "xavier_normal_", "zeros_", "ones_", "constant_")


@contextmanager
def no_init() -> Iterator[None]:
    """Build modules without initialising their (meta) weights: the checkpoint replaces them anyway.

    Initialising a meta tensor runs through torch's reference ops, whose first use imports
    ``torch._dynamo``: 4 s and ~150 MB of resident memory for nothing.
    """
    saved = {name: getattr(nn.init, name) for name in _INITIALISERS}
    for name in saved:
        setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(nn.init, name, fn)


def load_model(
    path: Path | str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, family: str | None = None
) -> LoadedModel:
    """``family``: the registry name a catalog entry gives the model, for a variant its config.json
    cannot tell apart (a BD3LM-trained A2D model); None = decided by the config."""
    path = Path(path).expanduser()
    config = read_config(path)
    spec = resolve(config) if not family else resolve_named(family, config)
    args = spec.args_from_config(ConfigReader(config, f"expected the fields of {spec.repos[0] if spec.repos else spec.title}"))
    with torch.device("meta"), no_init():
        model = spec.model_class(args)
    state = read_state_dict(weight_files(path), spec)
    tied = args.tie_word_embeddings
    if tied and "lm_head.weight" not in state and "embed.weight" in state:
        state["lm_head.weight"] = state["embed.weight"]
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise BadWeights(f"checkpoint in {path} lacks tensors: {', '.join(missing[:5])}")
    for name, tensor in state.items():
        if name not in expected:
            raise BadWeights(f"checkpoint tensor {name} has no place in the {spec.title} model")
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
    tokenizer = load_tokenizer(path, spec.tokenizer_fallback)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        args=args,
        config=config,
        path=path,
        tokens=special_tokens(spec, config, tokenizer, model.lm_head.weight.shape[0]),
        max_length=min(args.max_length, spec.max_context or args.max_length),
    )
