"""Fused greedy confidence: argmax token, its probability, top-1/top-2 margin and Σ p·log p per row.

The denoising step needs, for every masked row of ``logits (R, V)``, the most likely token and a
confidence. Done with plain PyTorch that is a softmax over V, a gather, a top-2 and an entropy —
several full passes over an ``R × V`` matrix (V = 126,464 for LLaDA-8B). The Triton kernel reads
each row once with an online softmax (running max, rescaled sums; Milakov & Gimelshein 2018) and
keeps the two largest logits as it goes.

    x0, p_x0, margin, neg_entropy = confidence_triton(logits)     # CUDA (or TRITON_INTERPRET=1)
    x0, p_x0, margin, neg_entropy = confidence_reference(logits)  # any device

Shapes and dtypes: ``logits (R, V)`` float32 / float16 / bfloat16, rows contiguous; outputs ``x0 (R,)``
int64 and three ``(R,)`` float32 tensors. ``-inf`` logits (banned tokens) are allowed; a row needs at
least two finite logits for the margin to be defined.
"""

from __future__ import annotations

import torch

from canvasedit.kernels._triton import tl, triton


def confidence_reference(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    probs = logits.float().softmax(-1)  # (R, V)
    top2 = torch.topk(probs, 2, dim=-1)
    x0 = top2.indices[:, 0]
    p_x0 = top2.values[:, 0]
    margin = top2.values[:, 0] - top2.values[:, 1]
    neg_entropy = torch.where(probs > 0, probs * torch.log(probs), torch.zeros_like(probs)).sum(-1)
    return x0, p_x0, margin, neg_entropy


@triton.jit
def _confidence_kernel(
    logits_ptr, stride_r, V,
    x0_ptr, p_ptr, margin_ptr, negent_ptr,
    BLOCK: tl.constexpr,
):
    row = tl.program_id(0)
    base = logits_ptr + row * stride_r
    offs = tl.arange(0, BLOCK)
    NEG_INF: tl.constexpr = float("-inf")
    m = tl.full([], NEG_INF, tl.float32)  # running max (= top-1 logit)
    s = tl.zeros([], tl.float32)  # Σ exp(l - m)
    t = tl.zeros([], tl.float32)  # Σ exp(l - m) · (l - m)
    top2 = tl.full([], NEG_INF, tl.float32)
    arg = tl.zeros([], tl.int32)
    for start in range(0, V, BLOCK):
        idx = start + offs
        x = tl.load(base + idx, mask=idx < V, other=NEG_INF).to(tl.float32)
        bmax = tl.max(x, axis=0)
        barg = tl.min(tl.where(x == bmax, idx, V), axis=0)  # first index of the block max
        bsecond = tl.max(tl.where(idx == barg, NEG_INF, x), axis=0)
        new_m = tl.maximum(m, bmax)
        # Rescale the running sums to the new max. While everything seen is -inf the sums stay 0
        # (exp(-inf - -inf) would be nan; tl.where discards it).
        empty = m == NEG_INF
        scale = tl.where(empty, 0.0, tl.exp(m - new_m))
        t = tl.where(empty, 0.0, scale * (t + (m - new_m) * s))
        finite = x != NEG_INF
        e = tl.where(finite, tl.exp(x - new_m), 0.0)
        t += tl.sum(tl.where(finite, e * (x - new_m), 0.0), axis=0)
        s = s * scale + tl.sum(e, axis=0)
        # Merge the top-2: when the block wins, the old max competes with the block's second.
        top2 = tl.where(bmax > m, tl.maximum(m, bsecond), tl.maximum(top2, bmax))
        arg = tl.where(bmax > m, barg, arg)
        m = new_m
    p = 1.0 / s
    tl.store(x0_ptr + row, arg.to(tl.int64))
    tl.store(p_ptr + row, p)
    tl.store(margin_ptr + row, p - tl.exp(top2 - m) / s)
    tl.store(negent_ptr + row, t / s - tl.log(s))


def confidence_triton(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    assert logits.dim() == 2, f"expected logits (R, V), got shape {tuple(logits.shape)}"
    assert logits.stride(-1) == 1, "logits rows must be contiguous (stride 1 along V)"
    assert logits.dtype in (torch.float32, torch.float16, torch.bfloat16), f"unsupported dtype {logits.dtype}"
    R, V = logits.shape
    x0 = torch.empty(R, dtype=torch.int64, device=logits.device)
    p, margin, negent = (torch.empty(R, dtype=torch.float32, device=logits.device) for _ in range(3))
    if R == 0:
        return x0, p, margin, negent
    block = min(4096, triton.next_power_of_2(V))
    _confidence_kernel[(R,)](logits, logits.stride(0), V, x0, p, margin, negent, BLOCK=block, num_warps=8)
    return x0, p, margin, negent
