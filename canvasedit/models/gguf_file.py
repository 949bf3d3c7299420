"""GGUF files: export a model folder for the llama.cpp backend, and read a GGUF's header.

``export_gguf`` turns a folder in the Hugging Face layout (config.json + safetensors + a byte-level
BPE ``tokenizer.json``) into one GGUF file that llama.cpp loads as its own architecture (``llada``):
tensors renamed through the GGUF column of the family's ``TensorTable``, q/k rows permuted to llama.cpp's
rotary layout, the tokenizer written as a ``gpt2`` BPE vocabulary with CanvasEdit's end / pad / mask
tokens, and weights stored as f32, f16, bf16 or a llama.cpp quantization (q8_0, q5_0, q4_0). It
streams one tensor at a time, so an 8B model needs memory for one tensor, not the whole model, and
writes to a temporary file that is renamed into place only when complete.

``read_gguf_info`` reads a GGUF's header (no tensor data) and names its family, so a backend can
refuse an architecture it does not run before handing the file to llama.cpp. Usage::

    report = export_gguf(Path("models/canvasedit-tiny"), Path("tiny-q8_0.gguf"), qtype="q8_0")
    info = read_gguf_info(Path("tiny-q8_0.gguf"))      # info.family.name == "llada"
"""

from __future__ import annotations

import collections
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from canvasedit.document import new_file_mode, reserve_temporary
from canvasedit.models.errors import BadModelConfig, BadWeights, ModelNotFound, UnsupportedArchitecture
from canvasedit.models.loading import read_config, read_json_object, weight_files
from canvasedit.models.registry import families, resolve, resolve_gguf
from canvasedit.models.spec import ConfigReader, FamilySpec

GGUF_MAGIC = b"GGUF"
EXPORT_TYPES = ("f32", "f16", "bf16", "q8_0", "q5_0", "q4_0")
"""Weight types ``export_gguf`` writes; norms and other 1-D tensors always stay f32."""

# The split GPT-2's byte-level BPE uses (tokenizers' ByteLevel with use_regex=True); llama.cpp's "gpt-2".
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


def gguf_vocabulary(tokenizer_json: Path, n_vocab: int) -> dict[str, Any]:
    """Tokens, token types, merges and the pre-tokenizer name of a byte-level BPE ``tokenizer.json``.

    Ids the tokenizer does not use (an embedding padded past the vocabulary) become UNUSED
    ``[PADn]`` tokens, as llama.cpp's own converter writes them, so they are never predicted.
    """
    import gguf

    if not tokenizer_json.is_file():
        raise ModelNotFound(f"{tokenizer_json.parent} has no tokenizer.json; GGUF export needs a fast tokenizer")
    data = read_json_object(tokenizer_json)
    model = data.get("model") or {}
    pre = data.get("pre_tokenizer") or {}
    if model.get("type") != "BPE" or pre.get("type") != "ByteLevel" or not pre.get("use_regex", True):
        raise BadModelConfig(
            f"{tokenizer_json}: GGUF export supports byte-level BPE tokenizers with the GPT-2 split; found model "
            f"{model.get('type')!r} with pre-tokenizer {pre.get('type')!r} (convert it with llama.cpp's converter)"
        )
    if pre.get("add_prefix_space"):
        raise BadModelConfig(f"{tokenizer_json}: a prefix space before the text has no GGUF equivalent")
    tokens: list[str | None] = [None] * n_vocab
    types = [gguf.TokenType.UNUSED] * n_vocab
    for text, i in model["vocab"].items():
        if i >= n_vocab:
            raise BadModelConfig(f"{tokenizer_json}: token id {i} is past the model's {n_vocab} embedding rows")
        tokens[i], types[i] = text, gguf.TokenType.NORMAL
    for added in data.get("added_tokens", []):
        i = added["id"]
        if i >= n_vocab:
            raise BadModelConfig(f"{tokenizer_json}: added token id {i} is past the model's {n_vocab} embedding rows")
        tokens[i] = added["content"]
        types[i] = gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED
    names = [t if t is not None else f"[PAD{i}]" for i, t in enumerate(tokens)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    return {"tokens": names, "types": types, "merges": merges, "pre": _GPT2_PRE}


# ---------------------------------------------------------------------------------------------------------------
# export


@dataclass(frozen=True)
class _Source:
    """Where one native tensor lives: one hub tensor, or one per expert to be stacked in dim 0."""

    parts: tuple[tuple[Path, str], ...]
    shape: tuple[int, ...]

    def load(self) -> torch.Tensor:
        from safetensors import safe_open

        tensors = []
        for file, name in self.parts:
            with safe_open(str(file), framework="pt", device="cpu") as fh:
                tensors.append(fh.get_tensor(name))
        return tensors[0] if len(tensors) == 1 else torch.stack(tensors)


def _sources(files: list[Path], spec: FamilySpec) -> dict[str, _Source]:
    """Native tensor name → where to read it; shapes come from the headers, no data is read."""
    from safetensors import SafetensorError, safe_open

    table = spec.tensors.compiled()
    found: dict[str, dict[int, tuple[Path, str, tuple[int, ...]]]] = {}
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
                    found.setdefault(native.format(i=groups.get("i")), {})[int(groups.get("e") or 0)] = (file, name, shape)
        except (SafetensorError, OSError) as exc:
            raise BadWeights(f"{file} is not a readable safetensors file: {exc}") from exc
    out = {}
    for native, parts in found.items():
        ordered = [parts[e] for e in sorted(parts)]
        shape = ordered[0][2] if len(ordered) == 1 else (len(ordered), *ordered[0][2])
        out[native] = _Source(tuple((f, n) for f, n, _ in ordered), shape)
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
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in spec.model_class(args).state_dict().items()}
    rows = expected["lm_head.weight"][0]
    vocab = gguf_vocabulary(model_dir / "tokenizer.json", rows)
    tokens = special_tokens(spec, config, load_tokenizer(model_dir, spec.tokenizer_fallback), rows)
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
        reader = gguf.GGUFReader(str(path))
    except (ValueError, OSError, IndexError, KeyError) as exc:
        raise BadWeights(
            f"{path.name} is a damaged or truncated GGUF file ({exc}); download or export it again"
        ) from exc

    def field(key: str) -> Any:
        f = reader.get_field(key)
        return None if f is None else f.contents()

    arch = field("general.architecture")
    if not isinstance(arch, str):
        raise BadWeights(f"{path.name} has no general.architecture")
    family = resolve_gguf(arch)
    shift = field("diffusion.shift_logits")
    # The reader maps every tensor's data, so a truncated file has already failed above.
    counts = collections.Counter(t.tensor_type.name for t in reader.tensors if len(t.shape) > 1)
    return GGUFInfo(
        path=path,
        arch=arch,
        family=family,
        shift_logits=family.shift_logits if shift is None else bool(shift),
        file_type=counts.most_common(1)[0][0] if counts else "F32",
    )
