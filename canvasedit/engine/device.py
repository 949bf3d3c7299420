"""Choose the device and dtype a model runs on: CUDA with bf16 when available, else CPU float32.

    device, dtype = resolve_device("auto")     # or "cpu", "cuda", "cuda:1"
"""

from __future__ import annotations

import torch

from canvasedit.engine.errors import BackendUnavailable


def resolve_device(spec: str | None = "auto") -> tuple[torch.device, torch.dtype]:
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BackendUnavailable(f"device {spec!r} requested but CUDA is not available here; use --device cpu")
        device = torch.device(spec)
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return device, dtype
    if spec == "cpu":
        return torch.device("cpu"), torch.float32
    raise BackendUnavailable(f"unknown device {spec!r}; expected auto, cpu, cuda or cuda:N")
