"""Will a model fit this machine? Memory estimates from parameters × bytes per weight, plus the canvas.

    need = estimate(entry, device="cpu")          # Estimate(weights=…, activations=…, total=…)
    fit = judge(entry, machine())                 # Fit(label="fits RAM", device="cpu", …)

The native backend keeps weights in float32 on the CPU and in bf16 on CUDA
(``engine.device.resolve_device``); a GGUF file is mapped as it is stored, so its weights cost its
file size. Activations are those of one forward pass over a canvas of ``CANVAS_TOKENS`` tokens:
about 24 numbers per token per width unit live at once (residual, q/k/v, attention output, the
MLP's up and gate projections) plus float32 logits over the vocabulary for every row — an upper
bound, since the backends compute logits only for hole rows. ``RUNTIME_BYTES`` covers the Python
process, torch and the tokenizer. These are estimates, labelled so wherever they are shown; the
peak measured on this machine (``canvasedit models measure``) replaces them once known.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canvasedit.models.catalog import CatalogEntry

CANVAS_TOKENS = 2048
"""Canvas the estimate budgets for (the text around the holes plus the holes)."""
RUNTIME_BYTES = 600_000_000
"""Python, torch, the tokenizer and allocator slack."""
ACTIVATION_FACTOR = 24


@dataclass(frozen=True)
class Machine:
    """Memory this machine can give a model now."""

    ram_available: int
    ram_total: int
    gpu: str | None = None
    """Name of the first CUDA device, None without one."""
    vram_free: int = 0
    vram_total: int = 0


@dataclass(frozen=True)
class Estimate:
    weights: int
    activations: int
    runtime: int
    device: str
    """"cpu" or "cuda"."""
    dtype: str
    """How the weights are held ("float32", "bf16", or the GGUF quantization)."""

    @property
    def total(self) -> int:
        return self.weights + self.activations + self.runtime


@dataclass(frozen=True)
class Fit:
    label: str
    """"fits GPU", "fits RAM", "too large" or "unknown"."""
    device: str
    need: int
    have: int

    @property
    def ok(self) -> bool:
        return self.label in ("fits GPU", "fits RAM", "unknown")


def machine() -> Machine:
    """Available and total RAM (``/proc/meminfo``, else ``sysconf``) and the first CUDA device's memory."""
    available = total = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if line.split()[1:]}
        available, total = info.get("MemAvailable", info.get("MemFree", 0)), info.get("MemTotal", 0)
    except (OSError, ValueError, IndexError):
        try:
            page = os.sysconf("SC_PAGE_SIZE")
            total = page * os.sysconf("SC_PHYS_PAGES")
            available = page * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            pass
    gpu, free, vram = None, 0, 0
    import torch  # the models package depends on it; imported here so `models list --help` stays fast

    if torch.cuda.is_available():
        free, vram = torch.cuda.mem_get_info(0)
        gpu = torch.cuda.get_device_name(0)
    return Machine(ram_available=available, ram_total=total, gpu=gpu, vram_free=free, vram_total=vram)


def estimate(entry: CatalogEntry, device: str, gguf_bytes: int | None = None, quant: str | None = None) -> Estimate:
    """Memory to run ``entry`` on ``device`` ("cpu" or "cuda"); a GGUF's file size stands for its weights."""
    width = entry.hidden or 4096
    vocab = entry.vocab or 152064
    tokens = min(entry.context or CANVAS_TOKENS, CANVAS_TOKENS)
    if gguf_bytes is not None:
        weights, bytes_per, dtype, device = gguf_bytes, 4, quant or "gguf", "cpu"  # the GGUF backend runs on the CPU
    else:
        bytes_per, dtype = (2, "bf16") if device == "cuda" else (4, "float32")
        weights = entry.params * bytes_per
    activations = tokens * (width * ACTIVATION_FACTOR * bytes_per + vocab * 4)
    return Estimate(weights=weights, activations=activations, runtime=RUNTIME_BYTES, device=device, dtype=dtype)


def judge(entry: CatalogEntry, where: Machine, gguf_bytes: int | None = None, quant: str | None = None) -> Fit:
    """"fits GPU" when CUDA has room, else "fits RAM" when the CPU has, else "too large"."""
    if not entry.params and gguf_bytes is None:
        return Fit("unknown", "cpu", 0, where.ram_available)
    if gguf_bytes is None and where.gpu is not None:
        gpu = estimate(entry, "cuda")
        if gpu.total <= where.vram_free:
            return Fit("fits GPU", "cuda", gpu.total, where.vram_free)
    cpu = estimate(entry, "cpu", gguf_bytes, quant)
    if cpu.total <= where.ram_available:
        return Fit("fits RAM", "cpu", cpu.total, where.ram_available)
    return Fit("too large", "cpu", cpu.total, where.ram_available)


def explain(entry: CatalogEntry, fit: Fit, where: Machine, gguf_bytes: int | None = None, quant: str | None = None) -> str:
    """One line with the numbers behind a "too large" verdict."""
    cpu = estimate(entry, "cpu", gguf_bytes, quant)
    what = (f"{human_bytes(cpu.weights)} of {cpu.dtype} weights" if gguf_bytes is not None
            else f"{entry.params / 1e9:.2f}B parameters x 4 bytes = {human_bytes(cpu.weights)}")
    line = (f"{entry.name} needs about {human_bytes(cpu.total)} of RAM on the CPU ({what}, {human_bytes(cpu.activations)} for a "
            f"{min(entry.context or CANVAS_TOKENS, CANVAS_TOKENS)}-token canvas, {human_bytes(cpu.runtime)} runtime); "
            f"this machine has {human_bytes(where.ram_available)} available")
    if where.gpu is not None and gguf_bytes is None:
        line += f" and {human_bytes(where.vram_free)} free on {where.gpu} (needs {human_bytes(estimate(entry, 'cuda').total)} in bf16)"
    elif gguf_bytes is None:
        line += " and no CUDA GPU"
    return line


def human_bytes(n: float) -> str:
    """Bytes as "1.2 GB" (decimal units, as the hub shows sizes)."""
    n = float(n)
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"
