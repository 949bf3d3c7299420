"""The native PyTorch backend: a ``canvasedit.models`` architecture on CUDA (bf16) or CPU (float32).

    backend = NativeBackend.load(Path("canvasedit/models/bundled/canvasedit-tiny"), device="cpu")
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path

import torch

from canvasedit.engine.canvas import CanvasLayout
from canvasedit.engine.device import resolve_device
from canvasedit.engine.session import BlockCausalSession, DualCacheSession, ExactSession, Session
from canvasedit.models.loading import LoadedModel, load_model
from canvasedit.params import SamplerParams, uses_dual_cache


class NativeBackend:
    name = "native"

    def __init__(self, loaded: LoadedModel, device: torch.device) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.spec = loaded.spec
        self.device = str(device)
        self._torch_device = device
        self.model_name = loaded.name
        tokens = loaded.tokens
        self.mask_id = tokens.mask
        self.stop_ids = tokens.stops
        self.end_ids = tokens.ends
        finish = tokens.finish
        if tokens.expand is not None and finish is None:
            # DreamOn's canvas is [bos] prefix masks suffix [eos]: the end of text it was trained on.
            finish = next((t for t in tokens.stops if t not in tokens.ends), None)
        self.layout = CanvasLayout.of(self.spec, tokens.begin, finish, loaded.args.block_size)
        self.expand_id = tokens.expand
        """DreamOn's ``<|expand|>``: holes grow when it is committed (None for fixed-length families)."""
        self.recipe = {**self.spec.recipe, **(self.spec.expand_recipe if tokens.expand is not None else {})}
        self.max_length = loaded.max_length
        self.shift_logits = self.spec.shift_logits
        # Never chosen: rows of the LM head that no token of the tokenizer can produce (LLaDA pads
        # its embedding to 126464 rows for 126349 tokens), the mask and every non-stop special token.
        vocab = len(self.tokenizer)
        rows = self.model.lm_head.weight.shape[0]
        banned = torch.zeros(rows, dtype=torch.bool)
        if vocab < rows:
            banned[vocab:] = True
        banned[list(tokens.banned)] = True
        self.banned = banned.to(device)
        self._token_text: dict[int, str] = {}

    def open_session(self, ids: torch.Tensor, params: SamplerParams | None = None,
                     window: torch.Tensor | None = None) -> Session:
        """The denoising session a fill of canvas ``ids`` uses (see ``engine/session.py``).

        Block-causal families always cache finished blocks (exact); bidirectional ones use the dual
        cache when ``params.cache`` asks for it (``auto``: for a window of up to 32 positions), over
        ``window``, the positions the fill may change.
        """
        block = self.layout.block_size
        if block:
            first = int(window.nonzero()[0]) if window is not None and bool(window.any()) else 0
            return BlockCausalSession(self.model, block, self.shift_logits, self._torch_device,
                                      self.layout.block_offset(first))
        if params is not None and window is not None and uses_dual_cache(params.cache, int(window.sum())):
            return DualCacheSession(self.model, window, params.cache_band, params.cache_refresh, self.shift_logits,
                                    self._torch_device)
        return ExactSession(self)

    @classmethod
    def load(cls, path: Path, device: str = "auto", family: str | None = None) -> NativeBackend:
        """``family``: the registry name a catalog entry gives the model (see ``load_model``)."""
        dev, dtype = resolve_device(device)
        return cls(load_model(path, device=dev, dtype=dtype, family=family), dev)

    def close(self) -> None:
        """Drop the weights; CUDA's cached blocks are returned to the device."""
        on_cuda = self._torch_device.type == "cuda"
        self.model = self.loaded = None  # type: ignore[assignment]
        gc.collect()
        if on_cuda:
            torch.cuda.empty_cache()

    def encode(self, text: str) -> list[int]:
        if not text:
            return []
        # split_special_tokens: a literal "<|mdm_mask|>" in a document is text, never a mask or an end token.
        return list(self.tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True))

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def token_text(self, token: int) -> str:
        text = self._token_text.get(token)
        if text is None:
            text = self.decode([token])
            self._token_text[token] = text
        return text

    @torch.inference_mode()
    def logits(self, ids: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        ids = ids.to(self._torch_device)
        h = self.model.hidden(ids)  # (B, T, C)
        if rows is not None:
            rows = rows.to(self._torch_device)
            if self.shift_logits:
                rows = (rows - 1).clamp_min(0)  # Dream: token i is read from position i-1
            h = h[:, rows]  # (B, R, C)
        elif self.shift_logits:
            h = torch.cat([h[:, :1], h[:, :-1]], dim=1)
        return self.model.lm_head(h).float()  # (B, R, V): every row, banned ones included
