"""What a model family declares: one ``FamilySpec`` per family file, read by the registry, the loader,
the GGUF exporter and the engine.

A spec says how to recognise the family's ``config.json`` (``matches``), how to build its arguments
from it, which class implements it, how its tensors are named on the hub, natively and in GGUF (one
``TensorTable``), whether its logits are shifted, what attention it uses, where its special tokens
come from, how the canvas must be laid out for it, and the sampler *recipe* the engine uses while a
model of the family is active. Nothing here imports torch::

    SPEC = FamilySpec(
        name="llada", title="LLaDA", repos=("GSAI-ML/LLaDA-8B-Base",),
        matches=lambda c: "LLaDAModelLM" in architectures(c) and "num_experts" not in c,
        args_from_config=args_from_config, model_class=Transformer, tensors=TENSORS,
        mask=TokenRule(config=("mask_token_id",), tokens=("<|mdm_mask|>",)),
        recipe={"schedule": "block", "block_length": 32},
    )

``ConfigReader`` reads the fields a family needs with their types and ranges checked, so a bad
``config.json`` gives one line naming the field rather than a traceback later.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from canvasedit.models.errors import BadModelConfig

# Upper bounds no real checkpoint comes near; they stop a corrupt config from allocating terabytes.
MAX_WIDTH = 1 << 17
MAX_LAYERS = 1024
MAX_VOCAB = 1 << 24
MAX_CONTEXT = 1 << 21


class Attention(enum.Enum):
    BIDIRECTIONAL = "bidirectional"
    """Every canvas position sees every other: the model sees the text after a hole."""
    BLOCK_CAUSAL = "block_causal"
    """Bidirectional inside a block of ``block_size`` positions, causal across blocks: no suffix."""


def architectures(config: Mapping[str, Any]) -> list[str]:
    """The ``architectures`` list of a config, or [] when it is missing or not a list of strings."""
    names = config.get("architectures")
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


@dataclass(frozen=True)
class TokenRule:
    """Where one special token's id comes from; the first source that names a token wins."""

    config: tuple[str, ...] = ()
    """``config.json`` keys holding the id (``mask_token_id``)."""
    tokens: tuple[str, ...] = ()
    """Token strings looked up in the tokenizer's vocabulary (``<|mask|>``)."""
    role: str | None = None
    """A tokenizer role (``mask_token``, ``bos_token``, ``cls_token``)."""

    def find(self, config: Mapping[str, Any], vocab: Mapping[str, int], tokenizer: Any) -> int | None:
        for key in self.config:
            value = config.get(key)
            if isinstance(value, list) and value:  # eos_token_id may be a list in HF configs
                value = value[0]
            if value is not None:
                if type(value) is not int or not 0 <= value < MAX_VOCAB:
                    raise BadModelConfig(f"config.json: {key} must be a token id, found {value!r}")
                return value
        for token in self.tokens:
            if token in vocab:
                return int(vocab[token])
        if self.role is not None:
            value = getattr(tokenizer, f"{self.role}_id", None)
            if isinstance(value, int):
                return value
        return None


@dataclass(frozen=True)
class TensorTable:
    """One table of tensor names: ``(hub, native, gguf)`` per row; ``{i}`` is a layer, ``{e}`` an expert.

    The loader reads hub → native, the tests' checkpoint writer native → hub, the GGUF exporter
    native → GGUF. A hub pattern with ``{e}`` whose native name has none is *stacked*: every expert's
    tensor goes into dim 0 of one native tensor, in expert order.
    """

    rows: tuple[tuple[str, str, str | None], ...]

    def compiled(self) -> list[tuple[re.Pattern[str], str]]:
        out = []
        for hub, native, _ in self.rows:
            pattern = re.escape(hub).replace(re.escape("{i}"), r"(?P<i>\d+)").replace(re.escape("{e}"), r"(?P<e>\d+)")
            out.append((re.compile("^" + pattern + "$"), native))
        return out

    def gguf_name(self, native: str) -> str | None:
        """The GGUF name of a native tensor, or None when the table has no GGUF column for it."""
        for _, pattern, gguf in self.rows:
            m = re.fullmatch(re.escape(pattern).replace(re.escape("{i}"), r"(?P<i>\d+)"), native)
            if m:
                return gguf.format(**m.groupdict()) if gguf else None
        return None


@dataclass(frozen=True)
class GGUFForm:
    """How a family is written as llama.cpp's architecture ``arch``."""

    arch: str
    """``general.architecture`` ("llada", "dream", "llada-moe")."""
    write_hparams: Callable[[Any, Any], None]
    """``(gguf.GGUFWriter, args)``: the ``{arch}.*`` header keys."""
    tensor: Callable[[str, Any, Any], Any] = lambda native, tensor, args: tensor
    """``(native name, tensor, args) -> tensor`` as llama.cpp expects it (e.g. a RoPE permutation)."""
    shift_key: bool = True
    """Whether to write ``diffusion.shift_logits`` (llama.cpp's Dream converter writes none)."""


@dataclass(frozen=True)
class FamilySpec:
    name: str
    """Short family name shown to users ("llada", "dream")."""
    title: str
    """Human name ("LLaDA", "Dream")."""
    repos: tuple[str, ...]
    """Hugging Face repositories known to hold models of this family (shown in errors and README)."""
    matches: Callable[[Mapping[str, Any]], bool]
    """Whether a ``config.json`` is this family's (A2D conversions reuse AR ``architectures`` strings,
    LLaDA-MoE shares LLaDA's ``model_type``: look at the keys, never at folder names)."""
    args_from_config: Callable[[ConfigReader], Any]
    model_class: type
    tensors: TensorTable
    mask: TokenRule
    shift_logits: bool = False
    """True when the logit at position i predicts token i+1 (Dream); the backend realigns."""
    attention: Attention = Attention.BIDIRECTIONAL
    block_size_keys: tuple[str, ...] = ()
    """``config.json`` keys holding a block-causal family's block size (``block_size``, ``bd_size``)."""
    default_block_size: int = 0
    blocks_from_hole: bool = False
    """Block-causal: count attention blocks so that the first hole starts one (dllm's BD3LMSampler
    left-pads the prompt to whole blocks); otherwise they are counted from the canvas's first position."""
    detect: bool = True
    """Whether ``resolve`` may choose this family from ``config.json`` alone; False for a variant whose
    config is another family's (a BD3LM-trained A2D model), which a catalog or config.toml entry names."""
    begin: TokenRule | None = None
    """A token the canvas starts with when its window starts at the document's start (BOS, [CLS])."""
    begin_always: bool = False
    """Start every canvas with ``begin``, cut window or not (ModernBERT's [CLS])."""
    finish: TokenRule | None = None
    """A token every canvas ends with (ModernBERT's [SEP])."""
    end_of_turn: tuple[str, ...] = ()
    """Tokens that end an answer in the family's chat format; they close a hole."""
    expand: TokenRule | None = None
    """DreamOn's ``<|expand|>``: a committed one becomes two masks, so the hole grows."""
    expand_recipe: Mapping[str, Any] = field(default_factory=dict)
    """Recipe changes for a checkpoint that has the expand token (DreamOn commits one token per step)."""
    max_context: int | None = None
    """The longest canvas the family is meant for when ``config.json`` states more (Dream: 2048 of 131072)."""
    tokenizer_fallback: str | None = None
    """A transformers tokenizer class for repositories whose own tokenizer is custom code (DreamTokenizer
    is a Qwen2 BPE): it is loaded from the same vocabulary files instead of running that code."""
    recipe: Mapping[str, Any] = field(default_factory=dict)
    """Sampler settings (``canvasedit.params`` layer) the engine uses while a model of the family is active."""
    gguf: GGUFForm | None = None

    @property
    def sees_suffix(self) -> bool:
        """Whether a hole is filled seeing the text after it (bidirectional attention)."""
        return self.attention is Attention.BIDIRECTIONAL


class ConfigReader:
    """Typed, range-checked access to a ``config.json``, with one-line errors naming the field.

    ``spec_hint`` ends every message ("expected the fields of GSAI-ML/LLaDA-8B-Base").
    """

    def __init__(self, config: Mapping[str, Any], spec_hint: str) -> None:
        self.config = config
        self.hint = spec_hint

    def _fail(self, key: str, expected: str, value: object) -> BadModelConfig:
        return BadModelConfig(f"config.json: {key} must be {expected}, found {_describe(value)}; {self.hint}")

    def has(self, key: str) -> bool:
        return self.config.get(key) is not None

    def integer(self, key: str, default: int | None = None, low: int = 1, high: int = MAX_CONTEXT) -> int:
        value = self.config.get(key, default)
        if value is None:
            raise BadModelConfig(f"config.json lacks {key!r}; {self.hint}")
        if type(value) is float and value.is_integer():
            value = int(value)
        if type(value) is not int or not low <= value <= high:
            raise self._fail(key, f"an integer in [{low}, {high}]", value)
        return value

    def optional_integer(self, key: str, low: int = 0, high: int = MAX_VOCAB) -> int | None:
        return self.integer(key, low=low, high=high) if self.has(key) else None

    def number(self, key: str, default: float | None = None, low: float = 0.0, high: float = math.inf,
               low_open: bool = True) -> float:
        value = self.config.get(key, default)
        if value is None:
            raise BadModelConfig(f"config.json lacks {key!r}; {self.hint}")
        ok = type(value) in (int, float) and math.isfinite(value) and value <= high
        ok = ok and (value > low if low_open else value >= low)
        if not ok:
            bound = f"> {low}" if low_open else f">= {low}"
            raise self._fail(key, f"a finite number {bound}", value)
        return float(value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.config.get(key, default)
        if value is None:
            return default
        if type(value) is not bool:
            raise self._fail(key, "true or false", value)
        return value

    def text(self, key: str, default: str, choices: Sequence[str] | None = None) -> str:
        value = self.config.get(key, default)
        if value is None:
            return default
        if type(value) is not str or (choices is not None and value not in choices):
            raise self._fail(key, f"one of {', '.join(choices)}" if choices else "a string", value)
        return value

    def token_id(self, key: str, vocab_size: int) -> int | None:
        """An optional token id, which must lie inside the vocabulary."""
        value = self.config.get(key)
        if isinstance(value, list) and value and all(type(v) is int for v in value):
            value = value[0]
        if value is None:
            return None
        if type(value) is not int or not 0 <= value < vocab_size:
            raise self._fail(key, f"a token id in [0, {vocab_size})", value)
        return value

    def heads(self, width: int, heads_key: str, kv_key: str, head_dim_key: str | None = None) -> tuple[int, int, int]:
        """``(n_heads, n_kv_heads, head_dim)``, checked to divide as attention needs."""
        n_heads = self.integer(heads_key, high=4096)
        n_kv = self.integer(kv_key, default=n_heads, high=4096)
        if n_heads % n_kv:
            raise BadModelConfig(f"config.json: {heads_key}={n_heads} is not a multiple of {kv_key}={n_kv}; {self.hint}")
        if head_dim_key is not None and self.has(head_dim_key):
            head_dim = self.integer(head_dim_key, high=4096)
        else:
            if width % n_heads:
                raise BadModelConfig(f"config.json: width {width} is not a multiple of {heads_key}={n_heads}; {self.hint}")
            head_dim = width // n_heads
        if head_dim % 2:
            raise BadModelConfig(f"config.json: head dimension {head_dim} must be even for rotary embeddings; {self.hint}")
        return n_heads, n_kv, head_dim


_KIND = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", dict: "a table", list: "a list"}


def _describe(value: object) -> str:
    kind = _KIND.get(type(value), type(value).__name__)
    return kind if isinstance(value, (dict, list)) else f"{kind} ({value!r})"
