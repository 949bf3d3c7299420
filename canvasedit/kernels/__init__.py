"""Triton kernels for CUDA, each beside its plain PyTorch reference with the same signature.

This is the one place that chooses between them, once per process, from availability and the
``CANVASEDIT_KERNELS`` override (``reference`` | ``triton`` | ``auto``, the default): ``auto`` uses
Triton for CUDA tensors when Triton is installed, and the reference otherwise. Under
``TRITON_INTERPRET=1`` (CI) ``auto`` also runs the Triton kernels on CPU tensors.

    from canvasedit.kernels import greedy_confidence
    x0, p_x0, margin, neg_entropy = greedy_confidence(logits, banned)    # (R, V), (V,) -> four (R,)
"""

from __future__ import annotations

import functools
import os

import torch

from canvasedit.kernels._triton import HAS_TRITON, interpreting
from canvasedit.kernels.confidence import confidence_reference, confidence_triton

IMPLEMENTATIONS = ("reference", "triton", "auto")


@functools.cache
def kernel_choice() -> str:
    choice = os.environ.get("CANVASEDIT_KERNELS", "auto").strip().lower()
    if choice not in IMPLEMENTATIONS:
        raise ValueError(f"CANVASEDIT_KERNELS={choice!r}: expected one of {', '.join(IMPLEMENTATIONS)}")
    if choice == "triton" and not HAS_TRITON:
        raise ValueError("CANVASEDIT_KERNELS=triton but Triton is not installed (pip install triton)")
    return choice


def _use_triton(t: torch.Tensor) -> bool:
    choice = kernel_choice()
    if choice == "reference":
        return False
    runnable = HAS_TRITON and (t.is_cuda or interpreting())
    if choice == "triton" and not runnable:
        raise ValueError("CANVASEDIT_KERNELS=triton needs CUDA tensors (or TRITON_INTERPRET=1)")
    return runnable


def greedy_confidence(
    logits: torch.Tensor, banned: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best allowed token, its probability, top-1 − top-2 probability and Σ p·log p for each row of ``logits (R, V)``.

    ``banned (V,)`` rows are never chosen but stay in the softmax's normaliser (see ``confidence.py``).
    """
    if _use_triton(logits):
        return confidence_triton(logits.contiguous(), banned)
    return confidence_reference(logits, banned)


__all__ = ["HAS_TRITON", "greedy_confidence", "kernel_choice", "confidence_reference", "confidence_triton"]
