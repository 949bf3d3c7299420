"""The backend interface: token ids in, aligned logits out. Samplers never see a model directly.

A backend tokenizes (``encode``/``decode``), knows its model's special tokens and context, and
returns float32 logits for chosen canvas rows, already realigned so that row ``i`` scores token
``i`` (families with shifted logits, like Dream, shift inside the backend). Backends:

* ``native`` — the PyTorch architectures of ``canvasedit.models`` on CUDA or CPU (``native.py``).
* ``gguf`` — a (quantized) GGUF file through llama-cpp-python on the CPU (``gguf.py``).

    backend = open_backend(Path("models/llada"), device="auto")
    rows = torch.tensor([5, 6, 7]); logits = backend.logits(ids[None], rows)   # (1, 3, V)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from canvasedit.engine.canvas import CanvasLayout
from canvasedit.engine.errors import BackendUnavailable
from canvasedit.models.errors import UnsupportedArchitecture
from canvasedit.runtime import missing_extra


@runtime_checkable
class Backend(Protocol):
    name: str
    """Backend kind: "native" or "gguf"."""
    device: str
    """Where it runs, e.g. "cpu" or "cuda:0"."""
    model_name: str
    mask_id: int
    stop_ids: tuple[int, ...]
    """End / pad / end-of-turn tokens: a hole may end early with them; none reaches the text."""
    end_ids: tuple[int, ...]
    """The end-of-turn tokens among them: nothing after one is written."""
    banned: torch.Tensor
    """``(V,)`` bool on the backend's device: tokens never chosen (the mask, other special tokens, padded rows)."""
    max_length: int
    layout: CanvasLayout
    """Tokens the model family needs around the text (BOS, [CLS] … [SEP])."""
    recipe: Mapping[str, Any]
    """Sampler settings of the model's family (a ``canvasedit.params`` layer), used unless the user overrides them."""

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def token_text(self, token: int) -> str:
        """Display text of one token (for streaming views; multi-byte characters may split)."""
        ...

    def close(self) -> None:
        """Free the model's memory (RAM, VRAM, llama.cpp context); the backend is unusable afterwards."""
        ...

    def logits(self, ids: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Float32 logits ``(B, R, V)`` for canvas ``ids (B, T)`` at ``rows (R,)`` (all rows when None).

        Every row of the LM head is returned as the model computed it, banned ones included: the
        sampler normalises over all of them, as the reference samplers do, and only bans the choice.
        """
        ...


def open_backend(
    model: Path | str, device: str = "auto", kind: str = "auto", recipe: Mapping[str, Any] | None = None
) -> Backend:
    """Open a model folder (native PyTorch) or a ``.gguf`` file (llama.cpp on the CPU).

    ``recipe`` is a catalog entry's sampler layer over the family's; when None and the path is a
    model pulled for a catalog entry, that entry's recipe and name are used.
    """
    path = Path(model).expanduser()
    from canvasedit.models import catalog

    entry = catalog.entry_of(path) if recipe is None else None
    if kind == "gguf" or (kind == "auto" and path.suffix.lower() == ".gguf"):
        try:
            from canvasedit.engine.backends.gguf import GGUFBackend

            backend: Backend = GGUFBackend.load(path, device=device)
        except ImportError as exc:  # the `gguf` reader is an optional extra: say how to install it
            hint = missing_extra(exc)
            if hint is None:
                raise
            raise BackendUnavailable(hint) from exc
    elif kind not in ("auto", "native"):
        raise BackendUnavailable(f"unknown backend {kind!r}; expected auto, native or gguf")
    else:
        from canvasedit.engine.backends.native import NativeBackend

        # The entry's family decides only for a variant config.json cannot tell apart (a BD3LM A2D model).
        backend = NativeBackend.load(path, device=device, family=_variant(entry))
    if entry is not None:
        recipe = entry.recipe
        backend.model_name = entry.name  # not the snapshot's commit hash
    if recipe:
        backend.recipe = {**backend.recipe, **recipe}  # the family's recipe, overridden by the entry's
    return backend


def _variant(entry: Any) -> str | None:
    """The family a catalog entry names when it is one ``resolve`` never picks from a config alone."""
    if entry is None or not entry.family:
        return None
    from canvasedit.models import registry

    try:
        spec = registry.family(entry.family)
    except UnsupportedArchitecture:
        return None  # an entry of a family this version lacks: the config decides, and names what it runs
    return spec.name if not spec.detect else None
