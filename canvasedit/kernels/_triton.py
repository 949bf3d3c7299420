"""Triton availability, and placeholders so kernel modules import on machines without Triton.

    from canvasedit.kernels._triton import HAS_TRITON, tl, triton

With Triton missing, ``triton.jit`` is a no-op decorator and ``tl`` a stub: the kernel functions
exist but are never launched, because the dispatcher (``kernels/__init__.py``) only picks them when
``HAS_TRITON`` and the tensors are on CUDA — or, in tests, under ``TRITON_INTERPRET=1`` on CPU.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

try:
    import triton
    import triton.language as tl

    HAS_TRITON = True
except ImportError:  # pragma: no cover - exercised on machines without triton
    HAS_TRITON = False

    def _jit(fn: Any = None, **_: Any) -> Any:
        return fn if fn is not None else (lambda f: f)

    triton = SimpleNamespace(jit=_jit, cdiv=lambda a, b: -(-a // b), next_power_of_2=lambda n: 1 << (n - 1).bit_length())
    tl = SimpleNamespace(constexpr=int)


def interpreting() -> bool:
    """True when Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``), as CI does."""
    return HAS_TRITON and os.environ.get("TRITON_INTERPRET", "0") == "1"
