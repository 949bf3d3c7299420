"""Bandwidth of the fused confidence kernel against its PyTorch reference, as GB/s of logits read.

The greedy step reads an ``R × V`` block of logits once (Triton) or several times (reference:
softmax, top-2, entropy); this prints both timings and the kernel's GB/s, next to the card's peak
when ``--peak`` is given (an H100 SXM reads ~3350 GB/s, an H200 ~4800). CUDA only; prints numbers.

    python benchmarks/kernel_bandwidth.py --rows 256 --vocab 126464 --dtype bfloat16 --peak 4800
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from canvasedit.kernels.confidence import confidence_reference, confidence_triton  # noqa: E402


def timed(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / repeats / 1000  # seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=256)
    p.add_argument("--vocab", type=int, default=126464)
    p.add_argument("--dtype", default="bfloat16", choices=["float32", "float16", "bfloat16"])
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--peak", type=float, default=0.0, help="the card's peak memory bandwidth in GB/s")
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("kernel_bandwidth: needs CUDA", file=sys.stderr)
        return 2
    dtype = getattr(torch, a.dtype)
    logits = (torch.randn(a.rows, a.vocab, device="cuda") * 4).to(dtype)
    banned = torch.zeros(a.vocab, dtype=torch.bool, device="cuda")
    banned[a.vocab - 115 :] = True
    t_ref = timed(lambda: confidence_reference(logits, banned), a.repeats)
    t_tri = timed(lambda: confidence_triton(logits, banned), a.repeats)
    gb = logits.numel() * logits.element_size() / 1e9
    peak = f" ({100 * gb / t_tri / a.peak:.0f} % of {a.peak:.0f} GB/s)" if a.peak else ""
    print(f"rows {a.rows} vocab {a.vocab} {a.dtype}: reference {1e3 * t_ref:.3f} ms, triton {1e3 * t_tri:.3f} ms "
          f"({t_ref / t_tri:.1f}x), triton reads {gb / t_tri:.0f} GB/s{peak}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
