"""GGUF files: export a model folder for the llama.cpp backend, and read a GGUF's header.

``export_gguf`` turns a folder in the Hugging Face layout (config.json + safetensors + a byte-level
BPE tokenizer) into one GGUF file that llama.cpp loads as the family's own architecture (``llada``,
``dream``, ``llada-moe``): tensors renamed through the GGUF column of the family's ``TensorTable``
(experts stacked, LLaDA's q/k rows permuted to llama.cpp's rotary layout), the tokenizer written as
a ``gpt2`` BPE vocabulary with llama.cpp's pre-tokenizer for its split (``gpt-2``, ``qwen2``,
``bailingmoe2``) and CanvasEdit's end / pad / mask tokens, and weights stored as f32, f16, bf16 or a
llama.cpp quantization (q8_0, q5_0, q4_0). The vocabulary is taken from the tokenizer as loaded for
the native backend, so slow-only files (Dream's ``vocab.json`` + ``merges.txt``) export too. It
streams one tensor at a time, so an 8B model needs memory for one tensor, not the whole model, and
writes to a temporary file that is renamed into place only when complete.

``read_gguf_info`` reads a GGUF's header (no tensor data) and names its family, so a backend can
refuse an architecture it does not run before handing the file to llama.cpp. Usage::

    report = export_gguf(Path("models/canvasedit-tiny"), Path("tiny-q8_0.gguf"), qtype="q8_0")
    info = read_gguf_info(Path("tiny-q8_0.gguf"))      # info.family.name == "llada"
"""

from __future__ import annotations

import collections
import dataclasses
import json
import mmap
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from canvasedit.document import new_file_mode, reserve_temporary
from canvasedit.models.errors import BadModelConfig, BadWeights, ModelNotFound, UnsupportedArchitecture
from canvasedit.models.loading import no_init, read_config, weight_files
from canvasedit.models.registry import families, resolve, resolve_gguf
from canvasedit.models.spec import ConfigReader, FamilySpec

GGUF_MAGIC = b"GGUF"
EXPORT_TYPES = ("f32", "f16", "bf16", "q8_0", "q5_0", "q4_0")
"""Weight types ``export_gguf`` writes; norms and other 1-D tensors always stay f32."""

# llama.cpp's pre-tokenizer for each split pattern a tokenizer.json may give before a non-splitting ByteLevel
# step (src/llama-vocab.cpp quotes each "original regex from tokenizer.json"). Plain ByteLevel with its own
# regex is GPT-2's split, llama.cpp's "gpt-2".
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
BAILING_SPLIT = (
    r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"
)
"""Ling 2.0's split, llama.cpp's ``bailingmoe2`` (which it also reads for ``llada-moe``)."""
SPLIT_PRE_TOKENIZERS = {QWEN2_SPLIT: "qwen2", BAILING_SPLIT: "bailingmoe2"}
_GPT2_PRE = "gpt-2"


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    arch: str
    """``general.architecture``, e.g. "llada"."""
    family: FamilySpec
    shift_logits: bool
    file_type: str
    """Most common weight type in the file, e.g. "Q8_0"."""
    never_text: np.ndarray | None = None
    """``(n_vocab,)`` bool: tokens the file types CONTROL or UNUSED, which no document may contain. Read from
    the file because llama.cpp retypes some at load time (Qwen2's ordinary ``</s>`` becomes a control token)."""


@dataclass(frozen=True)
class ExportReport:
    path: Path
    qtype: str
    tensors: int
    bytes: int
    quantized: int
    """Tensors stored in ``qtype``; the rest (norms, rows that do not fit its blocks) are f32/f16."""


def _types(qtype: str) -> tuple[Any, Any]:
    """``(GGML tensor type, GGUF file type)`` for an export type name."""
    import gguf

    Q, F = gguf.GGMLQuantizationType, gguf.LlamaFileType
    return {"f32": (Q.F32, F.ALL_F32), "f16": (Q.F16, F.MOSTLY_F16), "bf16": (Q.BF16, F.MOSTLY_BF16),
            "q8_0": (Q.Q8_0, F.MOSTLY_Q8_0), "q5_0": (Q.Q5_0, F.MOSTLY_Q5_0), "q4_0": (Q.Q4_0, F.MOSTLY_Q4_0)}[qtype]


# ---------------------------------------------------------------------------------------------------------------
# tokenizer


def gguf_vocabulary(tokenizer: Any, n_vocab: int) -> dict[str, Any]:
    """Tokens, token types, merges and llama.cpp's pre-tokenizer name of a loaded byte-level BPE tokenizer.

    ``tokenizer`` is the transformers tokenizer the native backend uses, so a checkpoint that ships
    only ``vocab.json`` + ``merges.txt`` (Dream) exports the same vocabulary as one with a
    ``tokenizer.json``. Ids the tokenizer does not use (an embedding padded past the vocabulary)
    become UNUSED ``[PADn]`` tokens, as llama.cpp's own converter writes them, so they are never predicted.
    """
    import gguf

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise BadModelConfig(f"GGUF export needs a tokenizer of the tokenizers library; found {type(tokenizer).__name__}")
    data = json.loads(backend.to_str())
    model = data.get("model") or {}
    pre = _pre_tokenizer(data)
    tokens: list[str | None] = [None] * n_vocab
    types = [gguf.TokenType.UNUSED] * n_vocab
    for text, i in model["vocab"].items():
        if i >= n_vocab:
            raise BadModelConfig(f"tokenizer: token id {i} is past the model's {n_vocab} embedding rows")
        tokens[i], types[i] = text, gguf.TokenType.NORMAL
    for added in data.get("added_tokens", []):
        i = added["id"]
        if i >= n_vocab:
            raise BadModelConfig(f"tokenizer: added token id {i} is past the model's {n_vocab} embedding rows")
        tokens[i] = added["content"]
        types[i] = gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED
    names = [t if t is not None else f"[PAD{i}]" for i, t in enumerate(tokens)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    return {"tokens": names, "types": types, "merges": merges, "pre": pre}


def _pre_tokenizer(data: dict[str, Any]) -> str:
    """llama.cpp's name for a tokenizer's split: GPT-2's ByteLevel regex, or a known Split before ByteLevel.

    Anything else (SentencePiece, a prefix space, an unknown split) has no faithful GGUF form here:
    exported as "gpt-2" it would tokenize documents differently from the model's own tokenizer.
    """
    model, pre = data.get("model") or {}, data.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    split = None
    if len(steps) == 2 and steps[0].get("type") == "Split" and steps[1].get("type") == "ByteLevel":
        first, steps = steps[0], steps[1:]
        ok = first.get("behavior") == "Isolated" and not first.get("invert")
        split = SPLIT_PRE_TOKENIZERS.get((first.get("pattern") or {}).get("Regex")) if ok else None
        if split is None:
            raise BadModelConfig(
                "GGUF export supports byte-level BPE tokenizers whose split llama.cpp knows (GPT-2, Qwen2, Ling); "
                f"this one splits with {first.get('pattern')!r} (convert it with llama.cpp's converter)"
            )
    level = steps[0] if len(steps) == 1 else {}
    if model.get("type") != "BPE" or level.get("type") != "ByteLevel" or level.get("use_regex", True) != (split is None):
        kinds = "+".join(str(s.get("type")) for s in steps) or "none"
        raise BadModelConfig(
            f"GGUF export supports byte-level BPE tokenizers with the GPT-2, Qwen2 or Ling split; found model "
            f"{model.get('type')!r} with pre-tokenizer {kinds} (convert it with llama.cpp's converter)"
        )
    if level.get("add_prefix_space"):
        raise BadModelConfig("tokenizer: a prefix space before the text has no GGUF equivalent")
    normalizer = (data.get("normalizer") or {}).get("type")
    if normalizer not in (None, "NFC"):
        # Qwen2's NFC leaves text that is already NFC, as nearly all text is, as it is; llama.cpp skips it.
        raise BadModelConfig(f"tokenizer: its {normalizer} normalizer has no GGUF equivalent")
    return split or _GPT2_PRE


# ---------------------------------------------------------------------------------------------------------------
# export


@dataclass(frozen=True)
class _Source:
    """Where one native tensor lives: one hub tensor, or one per expert to be stacked in dim 0."""

    parts: tuple[tuple[Path, str], ...]
    shape: tuple[int, ...]
    stacked: bool = False

    def load(self) -> torch.Tensor:
        from safetensors import safe_open

        tensors = []
        for file, name in self.parts:
            with safe_open(str(file), framework="pt", device="cpu") as fh:
                tensors.append(fh.get_tensor(name))
        return torch.stack(tensors) if self.stacked else tensors[0]


def _sources(files: list[Path], spec: FamilySpec) -> dict[str, _Source]:
    """Native tensor name → where to read it; shapes come from the headers, no data is read."""
    from safetensors import SafetensorError, safe_open

    table = spec.tensors.compiled()
    found: dict[str, dict[int, tuple[Path, str, tuple[int, ...]]]] = {}
    stacked: set[str] = set()
    for file in files:
        try:
            with safe_open(str(file), framework="pt", device="cpu") as fh:
                for name in fh.keys():
                    for pattern, native in table:
                        m = pattern.match(name)
                        if m:
                            break
                    else:
                        raise BadWeights(f"unexpected tensor {name} in {file.name}")
                    groups = m.groupdict()
                    shape = tuple(fh.get_slice(name).get_shape())
                    target = native.format(i=groups.get("i"))
                    if "e" in groups:
                        stacked.add(target)
                    found.setdefault(target, {})[int(groups.get("e") or 0)] = (file, name, shape)
        except (SafetensorError, OSError) as exc:
            raise BadWeights(f"{file} is not a readable safetensors file: {exc}") from exc
    out = {}
    for native, parts in found.items():
        if native in stacked and sorted(parts) != list(range(len(parts))):
            raise BadWeights(f"{native}: the checkpoint's experts are not numbered 0..{len(parts) - 1}")
        ordered = [parts[e] for e in sorted(parts)]
        shape = (len(ordered), *ordered[0][2]) if native in stacked else ordered[0][2]
        out[native] = _Source(tuple((f, n) for f, n, _ in ordered), shape, native in stacked)
    return out


def _storage(shape: tuple[int, ...], qtype: str) -> tuple[Any, int]:
    """The GGML type a tensor of ``shape`` is stored in, and its size in bytes."""
    import gguf

    Q = gguf.GGMLQuantizationType
    numel = int(np.prod(shape))
    if len(shape) == 1 or qtype == "f32":
        return Q.F32, 4 * numel
    wanted = _types(qtype)[0]
    block, type_size = gguf.GGML_QUANT_SIZES[wanted]
    if shape[-1] % block:
        return Q.F16, 2 * numel  # rows that do not fit the blocks stay f16, as llama.cpp's converter does
    return wanted, numel // block * type_size


def _encode(array: np.ndarray, ggml_type: Any) -> np.ndarray:
    import gguf

    Q = gguf.GGMLQuantizationType
    if ggml_type == Q.F32:
        return np.ascontiguousarray(array, dtype=np.float32)
    if ggml_type == Q.F16:
        return np.ascontiguousarray(array, dtype=np.float16)
    return gguf.quants.quantize(np.ascontiguousarray(array, dtype=np.float32), ggml_type)


def export_gguf(model_dir: Path, out: Path, qtype: str = "f16") -> ExportReport:
    """Write ``model_dir`` as one GGUF file at ``out`` (atomically); see the module docstring."""
    import gguf

    from canvasedit.models.loading import load_tokenizer, special_tokens

    if qtype not in EXPORT_TYPES:
        raise BadModelConfig(f"unknown GGUF type {qtype!r}; expected one of {', '.join(EXPORT_TYPES)}")
    model_dir = Path(model_dir).expanduser()
    config = read_config(model_dir)
    spec = resolve(config)
    if spec.gguf is None:
        runs = ", ".join(s.title for s in families() if s.gguf)
        raise UnsupportedArchitecture(f"llama.cpp has no {spec.title} architecture; GGUF export writes {runs}")
    args = spec.args_from_config(ConfigReader(config, f"expected the fields of {spec.repos[0]}"))
    with torch.device("meta"), no_init():
        expected = {k: tuple(v.shape) for k, v in spec.model_class(args).state_dict().items()}
    rows = expected["lm_head.weight"][0]
    tokenizer = load_tokenizer(model_dir, spec.tokenizer_fallback)
    vocab = gguf_vocabulary(tokenizer, rows)
    tokens = special_tokens(spec, config, tokenizer, rows)
    if spec.max_context is not None and spec.max_context < args.max_length:
        # The context the family is meant for (Dream: 2048 of config.json's 131072), as the native backend uses.
        args = dataclasses.replace(args, max_length=spec.max_context)
    sources = _sources(weight_files(model_dir), spec)
    if args.tie_word_embeddings:
        sources.pop("lm_head.weight", None)  # llama.cpp reuses token_embd when `output` is absent
        expected.pop("lm_head.weight")
    missing = sorted(set(expected) - set(sources))
    if missing:
        raise BadWeights(f"checkpoint in {model_dir} lacks tensors: {', '.join(missing[:5])}")
    for native, source in sources.items():
        if native not in expected:
            raise BadWeights(f"checkpoint tensor {native} has no place in the {spec.title} model")
        if source.shape != expected[native]:
            raise BadWeights(f"tensor {native}: expected shape {expected[native]} from config.json, found {source.shape}")
    natives = sorted(sources, key=_tensor_order)

    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    # 0600 while written, named for this process: the next export removes the leftover of a killed one.
    tmp = reserve_temporary(out, ".part")
    quantized = 0
    try:
        writer = gguf.GGUFWriter(str(tmp), spec.gguf.arch)
        writer.add_name(model_dir.name)
        writer.add_file_type(_types(qtype)[1])
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        spec.gguf.write_hparams(writer, args)
        if spec.gguf.shift_key:
            writer.add_diffusion_shift_logits(spec.shift_logits)
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(vocab["pre"])
        writer.add_token_list(vocab["tokens"])
        writer.add_token_types(vocab["types"])
        writer.add_token_merges(vocab["merges"])
        pads = [i for i in tokens.stops if i not in tokens.ends]
        end = pads[0] if pads else None
        if tokens.begin is not None or end is not None:
            # never prepended (add_bos False); set so that llama.cpp assumes no default id
            writer.add_bos_token_id(tokens.begin if tokens.begin is not None else end)
        if end is not None:
            writer.add_eos_token_id(end)
            writer.add_pad_token_id(pads[-1])
        if tokens.ends:
            writer.add_eot_token_id(tokens.ends[0])
        writer.add_mask_token_id(tokens.mask)
        writer.add_add_bos_token(False)
        writer.add_add_eos_token(False)

        # Header first (names, shapes, types, sizes), then the data one tensor at a time.
        storage = {}
        wanted = _types(qtype)[0]
        for native in natives:
            shape = sources[native].shape
            ggml_type, nbytes = _storage(shape, qtype)
            storage[native] = ggml_type
            quantized += int(ggml_type == wanted and len(shape) > 1)
            name = spec.tensors.gguf_name(native)
            if name is None:
                raise BadWeights(f"tensor {native} has no GGUF name")
            writer.add_tensor_info(name, shape, np.dtype(np.float32), nbytes, raw_dtype=ggml_type)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for native in natives:
            tensor = spec.gguf.tensor(native, sources[native].load().float(), args)
            writer.write_tensor_data(_encode(tensor.numpy(), storage[native]))
        writer.close()
        os.chmod(tmp, new_file_mode())  # a finished model is a normal file: 0o666 minus the umask
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportReport(out, qtype, len(natives), out.stat().st_size, quantized)


def _tensor_order(native: str) -> tuple[int, int, str]:
    """Embedding first, blocks in order, then the head: the order llama.cpp's converter writes."""
    m = re.match(r"^blocks\.(\d+)\.", native)
    if m:
        return (1, int(m.group(1)), native)
    return (0 if native.startswith("embed") else 2, 0, native)


# ---------------------------------------------------------------------------------------------------------------
# reading


# GGUF value types (gguf.GGUFValueType) that are fixed-size scalars, as numpy dtypes.
_SCALARS = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "<u1", 10: "<u8", 11: "<i8",
            12: "<f8"}
_STRING, _ARRAY, _BOOL = 8, 9, 7


class _Cursor:
    """Little-endian reads from a mapped file; a read past the end raises ``IndexError``."""

    def __init__(self, data: Any) -> None:
        self.data, self.pos = data, 0

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.pos + size > len(self.data):
            raise IndexError("the file ends inside its header")
        # A copy, so that no view of the map outlives it (closing a map with views raises BufferError).
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos).copy()
        self.pos += size
        return out

    def scalar(self, dtype: str) -> Any:
        return self.array(dtype, 1)[0].item()

    def string(self) -> str:
        n = self.scalar("<u8")
        raw = bytes(self.array("<u1", n))
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        data, pos, unpack = self.data, self.pos, struct.Struct("<Q").unpack_from
        try:
            for _ in range(count):  # the texts are not needed here, only where they end
                pos += 8 + unpack(data, pos)[0]
        except struct.error:
            raise IndexError("the file ends inside its header") from None
        if pos > len(data):
            raise IndexError("the file ends inside its header")
        self.pos = pos

    def value(self, kind: int) -> Any:
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, count = self.scalar("<u4"), self.scalar("<u8")
            if item == _STRING:
                self.skip_strings(count)  # token texts and merges: llama.cpp reads them, the header check does not
                return None
            if item not in _SCALARS:
                raise ValueError(f"array of value type {item}")
            return self.array(_SCALARS[item], count)
        if kind not in _SCALARS:
            raise ValueError(f"value type {kind}")
        value = self.scalar(_SCALARS[kind])
        return bool(value) if kind == _BOOL else value


def _read_header(path: Path) -> tuple[dict[str, Any], list[tuple[int, int, int]]]:
    """``(keys, tensors)`` of a GGUF: scalar and numeric-array values by key (string arrays as None), and per
    tensor ``(n_dims, ggml type, end of its data)``. Checks that every tensor's data lies inside the file.

    gguf's ``GGUFReader`` builds a Python object per token and merge (20 s for a 150k vocabulary on a slow
    CPU); this reads the same header in well under a second.
    """
    import gguf

    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        cur = _Cursor(mm)
        cur.pos = 4
        version = cur.scalar("<u4")
        if version not in (2, 3):
            raise ValueError(f"GGUF version {version}; llama.cpp writes version 3")
        n_tensors, n_keys = cur.scalar("<u8"), cur.scalar("<u8")
        keys: dict[str, Any] = {}
        for _ in range(n_keys):
            key = cur.string()
            keys[key] = cur.value(cur.scalar("<u4"))
        infos = []
        for _ in range(n_tensors):
            cur.skip_strings(1)
            n_dims = cur.scalar("<u4")
            dims = [int(d) for d in cur.array("<u8", n_dims)]
            ggml_type, offset = cur.scalar("<u4"), cur.scalar("<u8")
            block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ggml_type)]
            infos.append((n_dims, ggml_type, offset + int(np.prod(dims)) // block * type_size))
        alignment = int(keys.get("general.alignment") or 32)
        start = -(-cur.pos // alignment) * alignment
        ends = [end for _, _, end in infos]
        if ends and start + max(ends) > len(mm):
            raise ValueError(f"tensor data ends at byte {start + max(ends)} of a {len(mm)}-byte file")
        return keys, infos


def read_gguf_info(path: Path) -> GGUFInfo:
    """The header of a GGUF file: architecture, family, context, mask id. Raises a ModelError if unusable."""
    import gguf

    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelNotFound(f"GGUF file {path} does not exist")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise BadWeights(f"{path.name} is not a GGUF file (it does not start with 'GGUF')")
    try:
        keys, tensors = _read_header(path)
    except (ValueError, OSError, IndexError, KeyError) as exc:
        raise BadWeights(
            f"{path.name} is a damaged or truncated GGUF file ({exc}); download or export it again"
        ) from exc
    arch = keys.get("general.architecture")
    if not isinstance(arch, str):
        raise BadWeights(f"{path.name} has no general.architecture")
    family = resolve_gguf(arch)
    shift = keys.get("diffusion.shift_logits")
    counts = collections.Counter(gguf.GGMLQuantizationType(t).name for n_dims, t, _ in tensors if n_dims > 1)
    types = keys.get("tokenizer.ggml.token_type")
    never_text = None
    if isinstance(types, np.ndarray):
        never_text = np.isin(types, (gguf.TokenType.CONTROL, gguf.TokenType.UNUSED))
    return GGUFInfo(
        path=path,
        arch=arch,
        family=family,
        shift_logits=family.shift_logits if shift is None else bool(shift),
        file_type=counts.most_common(1)[0][0] if counts else "F32",
        never_text=never_text,
    )
