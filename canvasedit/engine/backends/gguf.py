"""The GGUF backend: a diffusion model in a (quantized) GGUF file, run on the CPU by llama.cpp.

llama-cpp-python's high-level ``Llama`` class assumes a KV cache, which llama.cpp's diffusion
architectures do not have, so this backend drives the low-level API as llama.cpp's own diffusion
example does: attention non-causal, one decode of the whole canvas per call. llama.cpp runs a model
without memory through its encoder path, which scores every row whatever the batch asks for, so
the backend copies out only the rows the sampler wants (not ``T × V`` floats per step).
Tokenization is llama.cpp's, from the GGUF's own vocabulary. This is the only module that imports
``llama_cpp``.

    backend = GGUFBackend.load(Path("canvasedit-tiny-q8_0.gguf"))
    logits = backend.logits(ids[None], rows)   # (1, R, V) float32, like every backend
"""

from __future__ import annotations

import collections
import ctypes
import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from canvasedit.engine.canvas import CanvasLayout
from canvasedit.engine.errors import BackendUnavailable, BadParams, ContextTooLong
from canvasedit.models.errors import BadWeights
from canvasedit.models.gguf_file import GGUFInfo, read_gguf_info

_LLAMA: Any = None
_LOG_LINES: collections.deque[str] = collections.deque(maxlen=32)
_LOG_CALLBACK: Any = None  # llama.cpp calls it from C: it must stay referenced for the life of the process
_INIT_LOCK = threading.Lock()
DEFAULT_MAX_CONTEXT = 4096
"""Longest canvas a GGUF context is sized for, unless the model was trained on less."""


def _has_amx(lib: Any) -> bool:
    """Whether this llama.cpp build runs quantized matmuls on Intel AMX tiles (Sapphire Rapids and later).

    Its AMX path crashes the process (SIGSEGV in ``ggml_backend_amx_mul_mat``, llama.cpp issue 20824)
    on the first q8_0 / q4_0 decode on such machines, so there the weights are not repacked into the
    extra buffer types (AMX and the CPU repack); every other machine keeps them.
    """
    return b"AMX_INT8 = 1" in (lib.llama_print_system_info() or b"")


def _llama() -> Any:
    """Import llama_cpp once, silence its log (kept for error messages) and initialise its backend."""
    global _LLAMA, _LOG_CALLBACK
    with _INIT_LOCK:
        if _LLAMA is not None:
            return _LLAMA
        try:
            import llama_cpp
        except ImportError as exc:
            raise BackendUnavailable(
                "GGUF models need llama-cpp-python: pip install 'canvasedit[gguf]' (it compiles llama.cpp, ~7 min)"
            ) from exc

        def log(level: int, text: bytes, user_data: Any) -> None:
            line = text.decode("utf-8", errors="replace").strip()
            if line:
                _LOG_LINES.append(line)

        _LOG_CALLBACK = llama_cpp.llama_log_callback(log)
        llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p())
        llama_cpp.llama_backend_init()
        _LLAMA = llama_cpp
        return _LLAMA


def build_info() -> dict[str, Any]:
    """How llama.cpp was built (CPU features, GPU offload), for ``canvasedit doctor``."""
    lib = _llama()
    return {
        "system_info": lib.llama_print_system_info().decode("utf-8", errors="replace").strip(" |"),
        "gpu_offload": bool(lib.llama_supports_gpu_offload()),
    }


def _last_log_error() -> str:
    for line in reversed(_LOG_LINES):
        if "error" in line.lower() or "failed" in line.lower():
            return line
    return _LOG_LINES[-1] if _LOG_LINES else "no message from llama.cpp"


class GGUFBackend:
    name = "gguf"
    device = "cpu"

    def __init__(
        self,
        info: GGUFInfo,
        threads: int | None = None,
        max_context: int = DEFAULT_MAX_CONTEXT,
        flash_attention: bool = True,
    ) -> None:
        lib = _llama()
        self._lib = lib
        self.info = info
        self.model_name = info.path.name
        self.shift_logits = info.shift_logits
        self._model = self._ctx = self._batch = None
        _LOG_LINES.clear()
        model_params = lib.llama_model_default_params()
        model_params.use_extra_bufts = not _has_amx(lib)
        model = lib.llama_model_load_from_file(str(info.path).encode(), model_params)
        if not model:
            raise BadWeights(f"llama.cpp could not load {info.path.name}: {_last_log_error()}")
        self._model = model
        if not lib.llama_model_is_diffusion(model):
            raise BadWeights(f"{info.path.name}: llama.cpp does not treat its {info.arch!r} model as a diffusion model")
        self._vocab = lib.llama_model_get_vocab(model)
        self.n_vocab = lib.llama_vocab_n_tokens(self._vocab)

        self.max_length = min(lib.llama_model_n_ctx_train(model) or max_context, max_context)
        params = lib.llama_context_default_params()
        # A non-causal decode longer than n_ubatch aborts the process, so the whole canvas is one ubatch.
        params.n_ctx = params.n_batch = params.n_ubatch = self.max_length
        params.n_seq_max = 1
        threads = threads or torch.get_num_threads()
        params.n_threads = params.n_threads_batch = threads
        # llama.cpp's CPU flash attention is ~2x faster at 512 tokens but rounds K and V to f16 (logits move
        # by ~1e-2); without it an f32 export gives the native model's logits to ~1e-5.
        params.flash_attn_type = (
            lib.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attention else lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        ctx = lib.llama_init_from_model(model, params)
        if not ctx:
            raise BadWeights(f"llama.cpp could not create a context for {info.path.name}: {_last_log_error()}")
        self._ctx = ctx
        lib.llama_set_causal_attn(ctx, False)

        mask = lib.llama_vocab_mask(self._vocab)
        if mask == lib.LLAMA_TOKEN_NULL:
            raise BadWeights(f"{info.path.name} names no mask token (tokenizer.ggml.mask_token_id)")
        self.mask_id = int(mask)
        stops = {lib.llama_vocab_eos(self._vocab), lib.llama_vocab_eot(self._vocab), lib.llama_vocab_pad(self._vocab)}
        self.stop_ids = tuple(sorted(int(t) for t in stops if t != lib.LLAMA_TOKEN_NULL and t != self.mask_id))
        spec = info.family
        bos = lib.llama_vocab_bos(self._vocab)
        begin = int(bos) if spec.begin is not None and bos != lib.LLAMA_TOKEN_NULL else None
        self.layout = CanvasLayout.of(spec, begin, None)
        self.recipe = dict(spec.recipe)
        eot = lib.llama_vocab_eot(self._vocab)
        self.end_ids = (int(eot),) if eot not in (lib.LLAMA_TOKEN_NULL, self.mask_id) else ()
        # Never chosen: unused ids (an embedding padded past the vocabulary), the mask, and every
        # control token that does not end a hole (reserved and header tokens would reach the text).
        if info.never_text is not None and len(info.never_text) == self.n_vocab:
            banned = info.never_text.copy()  # the file's own types: llama.cpp retypes some ordinary tokens
        else:
            attrs = np.array([lib.llama_vocab_get_attr(self._vocab, t) for t in range(self.n_vocab)], dtype=np.int64)
            banned = (attrs & (lib.LLAMA_TOKEN_ATTR_UNUSED | lib.LLAMA_TOKEN_ATTR_CONTROL)) != 0
        banned[list(self.stop_ids)] = False
        banned[self.mask_id] = True
        self.banned = torch.from_numpy(banned)

        # One batch for the life of the backend; positions and sequence ids never change.
        batch = lib.llama_batch_init(self.max_length, 0, 1)
        self._batch = batch
        n = self.max_length
        self._tokens = np.ctypeslib.as_array(batch.token, shape=(n,))
        self._wants = np.ctypeslib.as_array(batch.logits, shape=(n,))
        np.ctypeslib.as_array(batch.pos, shape=(n,))[:] = np.arange(n, dtype=np.int32)
        np.ctypeslib.as_array(batch.n_seq_id, shape=(n,))[:] = 1
        for i in range(n):
            batch.seq_id[i][0] = 0
        self._piece = ctypes.create_string_buffer(256)
        self._token_text: dict[int, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, path: Path, device: str = "auto", threads: int | None = None, flash_attention: bool = True
    ) -> GGUFBackend:
        if device not in ("auto", "cpu"):
            raise BadParams(f"GGUF models run on the CPU (asked for {device!r}); use a model folder for CUDA")
        return cls(read_gguf_info(path), threads=threads, flash_attention=flash_attention)

    # -- tokens ------------------------------------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        # parse_special=False: a literal "<|mdm_mask|>" in a document is text, never a mask.
        return self._tokenize(text, special=False)

    def encode_special(self, text: str) -> list[int]:
        """``text`` with its special-token strings read as those tokens: a chat template's output, never a document."""
        return self._tokenize(text, special=True)

    def _tokenize(self, text: str, special: bool) -> list[int]:
        if not text:
            return []
        data = text.encode("utf-8")
        size = len(data) + 16
        for _ in range(2):
            buf = (self._lib.llama_token * size)()
            n = self._lib.llama_tokenize(self._vocab, data, len(data), buf, size, False, special)
            if n >= 0:
                return list(buf[:n])
            size = -n
        raise BadParams("llama.cpp could not tokenize the text")

    @property
    def chat_template(self) -> str | None:
        """The model's own chat template (the file's ``tokenizer.chat_template``), or None for a base model."""
        raw = self._lib.llama_model_chat_template(self._model, None)
        return raw.decode("utf-8", errors="replace") if raw else None

    @property
    def special_names(self) -> dict[str, str]:
        """``bos_token`` / ``eos_token`` as the strings a chat template writes for them."""
        names = {}
        for key, token in (("bos_token", self._lib.llama_vocab_bos(self._vocab)),
                           ("eos_token", self._lib.llama_vocab_eos(self._vocab))):
            if token != self._lib.LLAMA_TOKEN_NULL:
                names[key] = self._piece_of(token, special=True)
        return names

    @functools.cached_property
    def special_strings(self) -> tuple[str, ...]:
        """The text of every token no document may contain (control and unused tokens)."""
        return tuple(self._piece_of(t, special=True) for t in np.flatnonzero(self.banned.numpy()).tolist()
                     if t < self.n_vocab) + tuple(self._piece_of(t, special=True) for t in self.stop_ids)

    def _piece_of(self, token: int, special: bool) -> str:
        n = self._lib.llama_token_to_piece(self._vocab, token, self._piece, len(self._piece), 0, special)
        return self._piece.raw[: max(n, 0)].decode("utf-8", errors="replace")

    def decode(self, ids: Sequence[int]) -> str:
        ids = list(ids)
        if not ids:
            return ""
        tokens = (self._lib.llama_token * len(ids))(*ids)
        size = 8 * len(ids) + 16
        for _ in range(2):
            buf = ctypes.create_string_buffer(size)
            n = self._lib.llama_detokenize(self._vocab, tokens, len(ids), buf, size, False, True)
            if n >= 0:
                return buf.raw[:n].decode("utf-8", errors="replace")
            size = -n + 1
        raise BadParams("llama.cpp could not detokenize the tokens")

    def token_text(self, token: int) -> str:
        text = self._token_text.get(token)
        if text is None:
            n = self._lib.llama_token_to_piece(self._vocab, token, self._piece, len(self._piece), 0, True)
            text = self._piece.raw[: max(n, 0)].decode("utf-8", errors="replace")
            self._token_text[token] = text
        return text

    # -- logits ------------------------------------------------------------------------------------------------

    def logits(self, ids: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        B, T = ids.shape
        if T > self.max_length:
            raise ContextTooLong(f"canvas of {T} tokens exceeds this GGUF context of {self.max_length} tokens")
        want = np.arange(T) if rows is None else rows.cpu().numpy().astype(np.int64)
        src = np.clip(want - 1, 0, None) if self.shift_logits else want  # Dream: token i is read from row i-1
        out = torch.empty(B, len(want), self.n_vocab, dtype=torch.float32)
        with self._lock:
            for b in range(B):
                self._tokens[:T] = ids[b].cpu().numpy().astype(np.int32)
                self._wants[:T] = 1  # every row is scored anyway (encoder path); say so, so the layout is (T, V)
                self._batch.n_tokens = T
                status = self._lib.llama_decode(self._ctx, self._batch)
                if status != 0:
                    raise BackendUnavailable(f"llama.cpp decode failed ({status}): {_last_log_error()}")
                raw = np.ctypeslib.as_array(self._lib.llama_get_logits(self._ctx), shape=(T, self.n_vocab))
                out[b] = torch.from_numpy(raw[src])
        return out

    def close(self) -> None:
        lib = self._lib
        if self._batch is not None:
            lib.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx is not None:
            lib.llama_free(self._ctx)
            self._ctx = None
        if self._model is not None:
            lib.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:
        try:
            self.close()
        except (AttributeError, TypeError):  # at interpreter exit llama_cpp may be gone; the OS frees the memory
            pass
